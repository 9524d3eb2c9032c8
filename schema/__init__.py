"""The GraphQL schema, assembled in one place."""

import strawberry
from strawberry.extensions import AddValidationRules, MaskErrors, ParserCache, ValidationCache

from resolvers.executor import CompilingExecutor
from schema.extensions import CloseSession, DebugFigures, NoNulInStrings, is_unexpected
from schema.federation import SCALARS, FederatedSchema, FederationQuery
from schema.labels import LabelsQuery
from schema.query import NetworkQuery
from schema.search import SearchQuery
from schema.statistics import StatisticsQuery
from schema.subscriptions import Subscription


@strawberry.type(description="Read access to the Engagierte Stadt network.")
class Query(
    # One base class per area of the API.
    NetworkQuery,
    StatisticsQuery,
    LabelsQuery,
    SearchQuery,
    FederationQuery,
):
    pass


# An Apollo Federation v2 subgraph (schema/federation.py), and a plain GraphQL API to clients.
schema = FederatedSchema(
    query=Query,
    subscription=Subscription,
    execution_context_class=CompilingExecutor,
    scalar_overrides=SCALARS,
    extensions=[
        # Parsing and validating a document is done once, not per request.
        lambda: ParserCache(maxsize=1000),
        lambda: ValidationCache(maxsize=1000),
        CloseSession,
        DebugFigures,
        lambda: AddValidationRules([NoNulInStrings]),
        lambda: MaskErrors(should_mask_error=is_unexpected),
    ],
)
