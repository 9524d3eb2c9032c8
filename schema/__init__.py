"""The GraphQL schema, assembled in one place."""

import strawberry
from strawberry.extensions import AddValidationRules, MaskErrors, ParserCache, ValidationCache

from resolvers.executor import CompilingExecutor
from schema.extensions import CloseSession, DebugFigures, NoNulInStrings, is_unexpected
from schema.labels import LabelsQuery
from schema.policy import DeploymentPolicy
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
):
    pass


schema = strawberry.Schema(
    query=Query,
    subscription=Subscription,
    execution_context_class=CompilingExecutor,
    extensions=[
        # Parsing and validating a document is done once, not per request.
        lambda: ParserCache(maxsize=1000),
        lambda: ValidationCache(maxsize=1000),
        CloseSession,
        DebugFigures,
        lambda: AddValidationRules([NoNulInStrings]),
        # After ValidationCache: it replaces that one's errors for operations it refuses.
        DeploymentPolicy,
        lambda: MaskErrors(should_mask_error=is_unexpected),
    ],
)
