"""Schema extensions: session lifecycle, input hygiene, error masking and debug figures."""

import logging
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable, Iterator
from functools import cached_property
from typing import Any

from graphql import ASTValidationRule, GraphQLError, StringValueNode, ValidationRule
from starlette.requests import Request
from strawberry.extensions import MaskErrors, SchemaExtension, ValidationCache
from strawberry.schema.schema import validate_document

from hub.observability import OperationFigures as Figures

logger = logging.getLogger(__name__)

NUL_MESSAGE = "Text must not contain the NUL character (U+0000)."
TIMEOUT_MESSAGE = (
    "The query ran longer than the statement timeout and was cancelled; "
    "ask for less (smaller pages, fewer nested connections)."
)
# SQLSTATEs: a statement cancelled (by the statement timeout, or an administrator), and one
# refused because its transaction failed before.
QUERY_CANCELED = "57014"
IN_FAILED_TRANSACTION = "25P02"


class CloseSession(SchemaExtension):
    """Return the request's database connection to the pool when the operation ends.

    The answer is computed by then: a connection that fails to close is the pool's concern
    (it discards it) and the log's, never the client's.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        try:
            await self.execution_context.context.close()
        except Exception:
            logger.warning("closing the request's database session failed", exc_info=True)


class OperationFigures(SchemaExtension):
    """What the operation did (its name, error codes, SQL statements, the read path that
    answered): for the request's log line and metrics (hub/observability.py), and with
    debugging on (`HUB_DEBUG=1`) in `extensions.debug`, with the server time."""

    def on_operation(self) -> Any:
        self.started = time.perf_counter()
        yield

    def get_results(self) -> dict[str, Any]:
        execution = self.execution_context
        context = execution.context
        request = context.request
        if isinstance(request, Request):  # over HTTP; WebSocket messages log no request line
            result = execution.result
            errors = (result.errors if result else execution.pre_execution_errors) or []
            request.scope.setdefault("state", {})["operation"] = Figures(
                name=execution.operation_name,
                error_codes=[
                    (error.extensions or {}).get("code", "GRAPHQL_ERROR") for error in errors
                ],
                statements=context.statements,
                read_path=context.read_path,
                has_data=result is not None and result.data is not None,
            )
        if not context.debug:
            return {}
        elapsed_ms = round((time.perf_counter() - self.started) * 1000, 2)
        figures = {"sqlStatements": context.statements, "serverTimeMs": elapsed_ms}
        return {"debug": figures | {"readPath": context.read_path}}


def error_code(error: GraphQLError) -> str:
    """An error's `extensions.code`; GraphQL_ERROR for those without (syntax, validation)."""
    return str((error.extensions or {}).get("code", "GRAPHQL_ERROR"))


class ValidationCacheByText(ValidationCache):
    """Strawberry's validation cache, keyed by the query's text instead of its document, that
    validates with the hub's own `rules` as well as GraphQL's.

    graphql-core's documents are dataclasses hashed field by field, so strawberry's cache
    walked the whole syntax tree for every lookup (5% of a small query's CPU). The parser
    cache maps each text to one document, so the text identifies it as well; a string's hash
    is one pass in C. The rules are added here rather than by strawberry's AddValidationRules:
    each extension costs every request the same hook set-up, whatever it does.
    """

    def __init__(self, maxsize: int, rules: tuple[type[ASTValidationRule], ...]) -> None:
        super().__init__(maxsize)
        self.maxsize = maxsize
        self.rules = rules

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        context.validation_rules = (*context.validation_rules, *self.rules)
        if context.query is None:  # a document without a text: strawberry's own cache
            yield from super().on_validate()
            return
        key = (context.schema._schema, context.query, context.validation_rules)
        errors = VALIDATED.get(key)
        if errors is None:
            assert context.graphql_document is not None, "validation follows parsing"
            errors = validate_document(key[0], context.graphql_document, key[2])
            VALIDATED[key] = errors
            if len(VALIDATED) > self.maxsize:
                VALIDATED.popitem(last=False)
        else:
            VALIDATED.move_to_end(key)
        context.pre_execution_errors = errors
        yield


# The errors of each validated (schema, query text, rules), least recently used first.
VALIDATED: OrderedDict[Hashable, list[GraphQLError]] = OrderedDict()


class NoNulInStrings(ValidationRule):
    """Refuse string literals holding U+0000, which no text column can store.

    Variables are checked where the request is parsed (server.py); literals only exist here.
    """

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        if "\x00" in node.value:
            self.report_error(
                GraphQLError("Text must not contain the NUL character (U+0000).", node)
            )


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's error masking of unexpected errors (is_unexpected), where a statement that
    ran out of time (HUB_STATEMENT_TIMEOUT_MS) says so: the client can ask for less.

    So do the statements after it that its transaction then refused: the resolver path runs
    all statements of a request in one transaction.
    """

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected)

    def _process_result(self, result: object) -> None:
        # Strawberry's first asks whether the result has errors by a runtime protocol check,
        # which costs more than the rest of a result without errors (most of them).
        if getattr(result, "errors", None):
            super()._process_result(result)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        if not self.timed_out(error):
            return super().anonymise_error(error)
        return GraphQLError(
            TIMEOUT_MESSAGE, error.nodes, path=error.path, extensions={"code": "TIMEOUT"}
        )

    def timed_out(self, error: GraphQLError) -> bool:
        """Whether `error` comes from the statement timeout."""
        if has_sqlstate(error.original_error, QUERY_CANCELED):
            return True
        return has_sqlstate(error.original_error, IN_FAILED_TRANSACTION) and self.any_timed_out

    @cached_property
    def any_timed_out(self) -> bool:
        """Whether a statement of the operation ran out of time."""
        result = self.execution_context.result
        errors = getattr(result, "errors", None) or ()
        return any(has_sqlstate(error.original_error, QUERY_CANCELED) for error in errors)


def has_sqlstate(error: BaseException | None, sqlstate: str) -> bool:
    """Whether PostgreSQL's SQLSTATE behind `error` is `sqlstate`, however SQLAlchemy wrapped
    it."""
    while error is not None:
        if getattr(error, "sqlstate", None) == sqlstate:
            return True
        error = error.__cause__
    return False


def is_unexpected(error: GraphQLError) -> bool:
    """An error raised by a bug or the database, not by the request itself.

    Its text may hold SQL, connection details or data of others: clients get "Unexpected error."
    while strawberry logs the original with its traceback. Syntax and validation errors, which
    carry no original exception, reach the client as they are.
    """
    original = error.original_error
    return original is not None and not isinstance(original, GraphQLError)
