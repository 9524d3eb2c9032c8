"""graphql-core's executor, trying the compiled read path before per-field execution."""

import logging
from typing import Any

from graphql import ExecutionResult, GraphQLError, OperationType
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from resolvers.compiler import Compiler, NotCompilable, RawJSON

logger = logging.getLogger(__name__)


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
        try:
            statement = Compiler(self, context.max_page_size).statement()
        except NotCompilable as reason:
            logger.debug("resolver path: %s", reason)
            return super().execute_operation(serially)
        return self.run_compiled(statement)

    async def run_compiled(self, statement: Any) -> ExecutionResult:
        """Run the statement; its text is the response data."""
        context = self.context_value
        context.read_path = "compiled"
        try:
            text = await context.scalar(statement)
        except Exception as error:  # masked for the client, logged with its traceback
            return ExecutionResult(None, [GraphQLError(str(error), original_error=error)])
        return ExecutionResult(RawJSON(text), None)  # type: ignore[arg-type]
