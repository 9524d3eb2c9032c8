"""graphql-core's executor, trying the compiled read path before per-field execution."""

import logging
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.compiler import Compiler, NotCompilable, RawJSON

logger = logging.getLogger(__name__)

# Planned statements by (document, operation, variables, page limit), least recently used
# first; SQLAlchemy caches each statement's SQL text in turn, so a repeated query is neither
# planned nor rendered again. Variable values stay bind parameters either way.
MAX_PLANS = 500
PLANS: OrderedDict[Hashable, Any] = OrderedDict()


class CompilingExecutor(StrawberryGraphQLCoreExecutionContext):
    """Answers a query with one SQL statement when the compiler can plan it.

    Parsing, validation, variables and every schema extension run as usual; only the
    execution differs. Mutations, subscriptions and whatever the compiler cannot plan go
    through the resolvers. The context decides whether to try (`context.compiled`).
    """

    def execute_operation(self, serially: bool | None = None) -> Any:
        context = self.context_value
        if self.operation.operation is not OperationType.QUERY or not context.compiled:
            return super().execute_operation(serially)
        statement = self.plan(context.max_page_size)
        if statement is None:
            return super().execute_operation(serially)
        return self.run_compiled(statement)

    def plan(self, max_page_size: int) -> Any:
        """The statement of this operation, from the plan cache or newly planned (None: the
        compiler cannot plan it)."""
        key = (
            self.operation.loc.source.body if self.operation.loc else id(self.operation),
            self.operation.name.value if self.operation.name else None,
            repr(sorted(self.variable_values.coerced.items())),
            max_page_size,
        )
        if key in PLANS:
            PLANS.move_to_end(key)
            return PLANS[key]
        try:
            statement = Compiler(self, max_page_size).statement()
        except NotCompilable as reason:
            logger.debug("resolver path: %s", reason)
            statement = None
        PLANS[key] = statement
        if len(PLANS) > MAX_PLANS:
            PLANS.popitem(last=False)
        return statement

    async def run_compiled(self, statement: Any) -> ExecutionResult:
        """Run the statement; its text is the response data."""
        context = self.context_value
        context.read_path = "compiled"
        try:
            text = await context.scalar(statement)
        except Exception as error:  # masked for the client, logged with its traceback
            return ExecutionResult(None, [GraphQLError(str(error), original_error=error)])
        return ExecutionResult(RawJSON(text), None)  # type: ignore[arg-type]
