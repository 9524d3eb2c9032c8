"""The GraphQL schema, assembled in one place."""

import strawberry
from strawberry.extensions import AddValidationRules, MaskErrors

from resolvers.executor import CompilingExecutor
from schema.extensions import CloseSession, DebugFigures, NoNulInStrings, is_unexpected
from schema.labels import LabelsQuery
from schema.query import NetworkQuery
from schema.search import SearchQuery
from schema.statistics import StatisticsQuery


@strawberry.type(description="Read access to the Engagierte Stadt network.")
class Query(
    # One base class per area of the API.
    NetworkQuery,
    StatisticsQuery,
    LabelsQuery,
    SearchQuery,
):
    pass


schema = strawberry.Schema(
    query=Query,
    execution_context_class=CompilingExecutor,
    extensions=[
        CloseSession,
        DebugFigures,
        lambda: AddValidationRules([NoNulInStrings]),
        lambda: MaskErrors(should_mask_error=is_unexpected),
    ],
)
