"""graphql-core's executor, trying the compiled read path before per-field execution."""

import logging
from collections.abc import Hashable
from functools import cached_property
from typing import Any

import orjson
from graphql import DirectiveNode, ExecutionResult, GraphQLError, Node, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.compiler import Compiler, NotCompilable, RawJSON
from resolvers.errors import BAD_USER_INPUT, bad_input, coded
from resolvers.permissions import FORBIDDEN_MARKER, without_forbidden
from resolvers.plans import CompiledOperation, Plan, PlanCache, RefusedValue

logger = logging.getLogger(__name__)

PLANS = PlanCache()
INCREMENTAL_DIRECTIVES = frozenset({"defer", "stream"})
INCREMENTAL_OVER_WEBSOCKET = (
    "@defer and @stream are delivered over HTTP (Accept: multipart/mixed or "
    "text/event-stream), not over a WebSocket."
)


class CompilingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Answers a query with one SQL statement when the compiler can plan it.

    Parsing, validation, variables and every schema extension run as usual; only the
    execution differs. Mutations, subscriptions and whatever the compiler cannot plan go
    through the resolvers. The context decides whether to try (`context.compiled`).
    """

    @classmethod
    def build(cls, *args: Any, **kwargs: Any) -> Any:
        """graphql-core's execution context, or the errors of variables whose values do not
        fit their types: the client's mistake (BAD_USER_INPUT), though graphql-core gives them
        no code."""
        built = super().build(*args, **kwargs)
        if isinstance(built, list):
            return [coded(error, BAD_USER_INPUT) for error in built]
        return built

    def execute_operation(self, serially: bool | None = None) -> Any:
        context = self.context_value
        if self.asks_incremental_delivery():
            return ExecutionResult(None, [bad_input(INCREMENTAL_OVER_WEBSOCKET)])
        if self.operation.operation is not OperationType.QUERY:
            return super().execute_operation(serially)
        context.answered_query = True
        context.read_from_replica()
        if not context.compiled:
            return super().execute_operation(serially)
        plan = self.plan()
        if plan is None:
            return super().execute_operation(serially)
        try:
            arguments = plan.arguments(self.variable_values.coerced)
        except RefusedValue:
            return super().execute_operation(serially)
        return self.run_compiled(plan, arguments)

    def asks_incremental_delivery(self) -> bool:
        """Whether the operation carries @defer or @stream: only a WebSocket's can, as HTTP
        takes them apart before execution (hub/incremental.py)."""
        source = self.operation.loc.source.body if self.operation.loc else ""
        if "@defer" not in source and "@stream" not in source:
            return False
        fragments = (each.definition for each in self.fragments.values())
        return holds_incremental_directive((self.operation, *fragments))

    def plan(self) -> Plan | None:
        """The plan of this operation, cached or newly made (None: the compiler cannot plan
        it). The cache key is the document, the operation, the page limit, the database's
        features (search plans differ with pg_trgm), the viewer's role and scope (guarded
        fields differ), and the values
        of those variables that shape the SQL; the others are bind values of each run."""
        document = self.plan_key
        variables = self.variable_values.coerced
        found, plan = PLANS.get(document, variables)
        if found:
            return plan
        compiler = Compiler(self, self.context_value.max_page_size)
        try:
            dialect = self.context_value.dialect
            statement = compiler.statement()
            plan = Plan.of(
                statement,
                compiler.parameters,
                dialect,
                compiler.marks_forbidden,
                compiler.lookups,
            )
        except NotCompilable as reason:
            logger.debug("resolver path: %s", reason)
            plan = None
        PLANS.put(document, variables, compiler.bound_variables(), plan)
        return plan

    @cached_property
    def plan_key(self) -> Hashable:
        """The key of this operation's plans in PLANS."""
        return (
            self.operation.loc.source.body if self.operation.loc else id(self.operation),
            self.operation.name.value if self.operation.name else None,
            self.context_value.max_page_size,
            self.context_value.features,
            self.context_value.viewer.access,
        )

    async def run_compiled(self, plan: Plan, arguments: tuple[Any, ...]) -> ExecutionResult:
        """Run the plan's statement; its JSON is the response data. Only a plan that may
        mark forbidden fields has its JSON searched for markers (a search through large
        JSON costs as much as a tenth of the request)."""
        context = self.context_value
        context.read_path = "compiled"
        context.answer_reads = plan.reads(arguments)
        try:
            json = await context.read_json(plan.sql, arguments)
        except Exception as error:  # masked for the client, logged with its traceback
            return ExecutionResult(None, [GraphQLError(str(error), original_error=error)])
        if not plan.marks_forbidden:
            context.compiled_operation = CompiledOperation(
                self.plan_key,
                self.operation.name.value if self.operation.name else None,
                tuple(self.operation.variable_definitions or ()),
            )
        if not plan.marks_forbidden or FORBIDDEN_MARKER not in json:
            return ExecutionResult(RawJSON(json), None)  # type: ignore[arg-type]
        assert self.operation.loc is not None, "the markers come from a parsed document"
        data, errors = without_forbidden(orjson.loads(json), self.operation.loc.source)
        return ExecutionResult(data, errors)


def holds_incremental_directive(node: Any) -> bool:
    """Whether an AST node, or any node inside it, is @defer or @stream."""
    if isinstance(node, DirectiveNode):
        return node.name.value in INCREMENTAL_DIRECTIVES
    if isinstance(node, tuple | list):
        return any(holds_incremental_directive(each) for each in node)
    if isinstance(node, Node):
        keys = (key for key in node.keys if key != "loc")
        return any(holds_incremental_directive(getattr(node, key)) for key in keys)
    return False
