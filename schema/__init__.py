"""The GraphQL schema, assembled in one place."""

import strawberry
from strawberry.extensions.tracing import OpenTelemetryExtension
from strawberry.schema.config import StrawberryConfig

from hub import tracing
from hub.config import LOWEST_FEDERATION_VERSION
from resolvers.executor import CompilingExecutor
from schema.audit import AuditQuery
from schema.extensions import (
    CloseSession,
    MaskUnexpectedErrors,
    NoNulInStrings,
    OperationFigures,
    ValidationCacheByText,
)
from schema.federation import SCALARS, FederatedSchema, FederationQuery
from schema.joining import ApplicationsQuery
from schema.labels import LabelsQuery
from schema.limits import QueryCost, ShapeLimit, TokenLimitedParsing
from schema.mutations import Mutation
from schema.mutations.payloads import ERROR_TYPES
from schema.policy import DeploymentPolicy
from schema.query import NetworkQuery
from schema.search import SearchQuery
from schema.statistics import StatisticsQuery
from schema.subscriptions import Subscription
from schema.views import ViewsQuery


@strawberry.type(description="Read access to the Engagierte Stadt network.")
class Query(
    # One base class per area of the API.
    NetworkQuery,
    StatisticsQuery,
    LabelsQuery,
    SearchQuery,
    ApplicationsQuery,
    AuditQuery,
    ViewsQuery,
    FederationQuery,
):
    pass


# An Apollo Federation v2 subgraph (schema/federation.py), and a plain GraphQL API to clients.
schema = FederatedSchema(
    query=Query,
    subscription=Subscription,
    mutation=Mutation,
    # Payloads list their errors by interface; the concrete types are named here.
    types=list(ERROR_TYPES.values()),
    execution_context_class=CompilingExecutor,
    # Declares @defer and @stream; the hub takes them apart itself (schema/deferred.py), so
    # that each part is planned like any query. graphql-core refuses a schema declaring them
    # unless its incremental execution runs (the same executor, for any other document).
    config=StrawberryConfig(enable_experimental_incremental_execution=True),
    scalar_overrides=SCALARS,
    # `_service { sdl }` declares the version a gateway asks for (HUB_FEDERATION_VERSION).
    federation_version=LOWEST_FEDERATION_VERSION,
    extensions=[
        # Parsing and validating a document is done once, not per request, both with the
        # safety limits (schema/limits.py) on tokens and shape; the cost is charged before
        # anything runs. Few extensions: each costs every request its hooks' set-up.
        lambda: TokenLimitedParsing(maxsize=1000),
        lambda: ValidationCacheByText(maxsize=1000, rules=(NoNulInStrings, ShapeLimit)),
        CloseSession,
        OperationFigures,
        QueryCost,
        # After ValidationCache: it replaces that one's errors for operations it refuses.
        DeploymentPolicy,
        MaskUnexpectedErrors,
        # Spans per resolver, only when tracing is on (hub/tracing.py): otherwise free.
        *([OpenTelemetryExtension] if tracing.enabled() else []),
    ],
)
