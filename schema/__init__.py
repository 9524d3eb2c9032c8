"""The GraphQL schema, assembled in one place."""

import strawberry
from strawberry.extensions import AddValidationRules, ParserCache, ValidationCache

from resolvers.executor import CompilingExecutor
from schema.extensions import CloseSession, DebugFigures, MaskUnexpectedErrors, NoNulInStrings
from schema.labels import LabelsQuery
from schema.limits import QueryCost, ShapeLimit, TokenLimit
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
        # The safety limits (schema/limits.py), all before anything runs.
        TokenLimit,
        lambda: AddValidationRules([NoNulInStrings, ShapeLimit]),
        QueryCost,
        MaskUnexpectedErrors,
    ],
)
