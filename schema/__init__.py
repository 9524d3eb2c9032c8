"""The GraphQL schema, assembled in one place."""

import strawberry
from strawberry.extensions import AddValidationRules, MaskErrors

from schema.extensions import CloseSession, DebugFigures, NoNulInStrings, is_unexpected
from schema.query import NetworkQuery


@strawberry.type(description="Read access to the Engagierte Stadt network.")
class Query(
    # One base class per area of the API.
    NetworkQuery,
):
    pass


schema = strawberry.Schema(
    query=Query,
    extensions=[
        CloseSession,
        DebugFigures,
        lambda: AddValidationRules([NoNulInStrings]),
        lambda: MaskErrors(should_mask_error=is_unexpected),
    ],
)
