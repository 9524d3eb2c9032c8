"""Schema extensions: session lifecycle, input hygiene, error masking and debug figures."""

import logging
import time
from collections import Counter, OrderedDict
from collections.abc import AsyncIterator, Hashable, Iterator
from typing import Any

from graphql import (
    ASTValidationRule,
    GraphQLError,
    OperationDefinitionNode,
    StringValueNode,
    ValidationRule,
    get_operation_ast,
)
from starlette.requests import Request
from strawberry.extensions import MaskErrors, SchemaExtension, ValidationCache
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.schema.schema import validate_document
from strawberry.types import ExecutionContext
from strawberry.types.graphql import OperationType

from hub.http_protocol import NUL_MESSAGE
from hub.observability import FIELDS
from hub.observability import OperationFigures as Figures
from hub.persisted import PersistedQueries, query_hash
from resolvers.errors import BAD_USER_INPUT, VALIDATION_FAILED, coded

logger = logging.getLogger(__name__)

UNEXPECTED_MESSAGE = "Unexpected error."
TIMEOUT_MESSAGE = (
    "The query ran longer than the statement timeout and was cancelled; "
    "ask for less (smaller pages, fewer nested connections)."
)
# SQLSTATEs: a statement cancelled (by the statement timeout, or an administrator), and one
# refused because its transaction failed before.
QUERY_CANCELED = "57014"
IN_FAILED_TRANSACTION = "25P02"
# The code by which the request's log line and metrics count unexpected errors (Apollo's).
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class CloseSession(SchemaExtension):
    """Return the request's database connection to the pool when the operation ends.

    The answer is computed by then: a connection that fails to close is the pool's concern
    (it discards it) and the log's, never the client's.
    """

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        await close_session(self.execution_context.context)


async def close_session(context: Any) -> None:
    """Close the request's session; a failure goes to the log."""
    try:
        await context.close()
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
        result = execution.result
        errors = (result.errors if result else execution.pre_execution_errors) or []
        has_data = result is not None and result.data is not None
        name = defined_name(execution)
        record_figures(execution.context, name, execution.query, errors, has_data)
        return debug_report(execution.context, self.started)


def defined_name(execution: ExecutionContext) -> str | None:
    """The name of the operation the request runs, as its document defines it; never the
    `operationName` the client sent, which may be any text, personal data included."""
    document = execution.graphql_document
    if document is None:
        return None
    operation = get_operation_ast(document, execution.operation_name)
    return operation.name.value if operation is not None and operation.name else None


def record_figures(
    context: Any,
    operation_name: str | None,
    query: str | None,
    errors: list[GraphQLError],
    has_data: bool,
) -> None:
    """Leave the operation's figures where the request's log line and metrics find them;
    WebSocket messages log no request line. The query is named by its hash (its literals
    may hold personal data), and is `registered` if the allowlist holds it."""
    request = context.request
    if isinstance(request, Request):
        document_hash = query_hash(query) if query is not None else None
        persisted: PersistedQueries = request.app.state.persisted
        request.scope.setdefault("state", {})["operation"] = Figures(
            name=operation_name,
            document_hash=document_hash,
            registered=document_hash is not None and persisted.registered(document_hash),
            error_codes=dict(Counter(error_code(error) for error in errors)),
            statements=context.statements,
            read_path=context.read_path,
            has_data=has_data,
        )


def debug_report(context: Any, started: float) -> dict[str, Any]:
    """`extensions.debug` with debugging on: SQL statements, server time and read path."""
    if not context.debug:
        return {}
    elapsed_ms = round((time.perf_counter() - started) * 1000, 2)
    figures = {"sqlStatements": context.statements, "serverTimeMs": elapsed_ms}
    return {"debug": figures | {"readPath": context.read_path}}


def error_code(error: GraphQLError) -> str:
    """An error's `extensions.code`; for those without, INTERNAL_SERVER_ERROR if unexpected
    (masked or not), else GRAPHQL_ERROR (client errors all carry codes: `resolvers.errors`)."""
    code = (error.extensions or {}).get("code")
    if code is not None:
        return str(code)
    if isinstance(error, UnexpectedError) or is_unexpected(error):
        return INTERNAL_SERVER_ERROR
    return "GRAPHQL_ERROR"


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
            errors = [
                coded(error, VALIDATION_FAILED)
                for error in validate_document(key[0], context.graphql_document, key[2])
            ]
            VALIDATED[key] = errors
            if len(VALIDATED) > self.maxsize:
                VALIDATED.popitem(last=False)
        else:
            VALIDATED.move_to_end(key)
        context.pre_execution_errors = errors
        check_operation_over_http(context)
        yield


def check_operation_over_http(context: ExecutionContext) -> None:
    """Refuse, over HTTP, what strawberry would run there though GraphQL over HTTP does not:
    the first of several operations when the request names none (GraphQL's "GetOperation"
    asks for an error), and a subscription but where the request streams its answer
    (Server-Sent Events, multipart: `request.state.streamed`). The view answers both as
    request errors (server.py)."""
    request = getattr(context.context, "request", None)
    if not isinstance(request, Request):
        return
    document = context.graphql_document
    assert document is not None, "validation follows parsing"
    operations = sum(isinstance(each, OperationDefinitionNode) for each in document.definitions)
    # Strawberry's `operation_name` is the first operation's where the request names none.
    if context._provided_operation_name is None and operations > 1:
        raise CannotGetOperationTypeError(None)
    streamed = getattr(request.state, "streamed", False)
    if context.operation_type is OperationType.SUBSCRIPTION and not streamed:
        raise InvalidOperationTypeError(OperationType.SUBSCRIPTION)


# The errors of each validated (schema, query text, rules), least recently used first.
VALIDATED: OrderedDict[Hashable, list[GraphQLError]] = OrderedDict()


class NoNulInStrings(ValidationRule):
    """Refuse string literals holding U+0000, which no text column can store.

    Variables are checked where the request is parsed (server.py); literals only exist here.
    """

    def enter_string_value(self, node: StringValueNode, *_: object) -> None:
        if "\x00" in node.value:
            self.report_error(GraphQLError(NUL_MESSAGE, node, extensions={"code": BAD_USER_INPUT}))


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's error masking, of unexpected errors only (`masked`)."""

    def _process_result(self, result: object) -> None:
        # Strawberry's first asks whether the result has errors by a runtime protocol check,
        # which costs more than the rest of a result without errors (most of them).
        if getattr(result, "errors", None):
            super()._process_result(result)

    def _process_errors(self, errors: list[GraphQLError]) -> list[GraphQLError]:
        return masked(errors)


def masked(errors: list[GraphQLError]) -> list[GraphQLError]:
    """The errors as clients see them: unexpected ones (`is_unexpected`) say only
    "Unexpected error.", except that a statement that ran out of time
    (HUB_STATEMENT_TIMEOUT_MS) says so, as do the statements after it that its transaction
    then refused (the resolver path runs all statements of a request in one transaction):
    the client can ask for less."""
    any_timed_out = any(has_sqlstate(error.original_error, QUERY_CANCELED) for error in errors)
    return [anonymised(error, any_timed_out) if is_unexpected(error) else error for error in errors]


def anonymised(error: GraphQLError, any_timed_out: bool) -> GraphQLError:
    """An unexpected error without its text; `any_timed_out`: whether a statement of the
    operation ran out of time."""
    original = error.original_error
    if has_sqlstate(original, QUERY_CANCELED) or (
        any_timed_out and has_sqlstate(original, IN_FAILED_TRANSACTION)
    ):
        return GraphQLError(
            TIMEOUT_MESSAGE, error.nodes, path=error.path, extensions={"code": "TIMEOUT"}
        )
    return UnexpectedError(
        UNEXPECTED_MESSAGE, error.nodes, error.source, error.positions, error.path
    )


class UnexpectedError(GraphQLError):
    """What a client sees of an unexpected error: "Unexpected error." and where it happened.
    Its own class, so that the request's log line counts it (INTERNAL_SERVER_ERROR)."""


def log_unexpected(errors: list[GraphQLError], context: Any) -> None:
    """Log the errors a bug or the database caused (those `masked` says only "Unexpected
    error." of) at ERROR, with their tracebacks, each kind once (a failing loader fails every
    field it serves). Client errors, statement timeouts among them, get no record of their
    own: the request's log line counts them by code (hub/observability.py).

    Not strawberry's logging, which logs every error at ERROR, client errors included, each
    as `str(error)`: graphql-core's rendering, which quotes the query's text around the
    error's location, literals and all.
    """
    shown = zip(errors, masked(errors), strict=True)
    internal = [error for error, seen in shown if isinstance(seen, UnexpectedError)]
    kinds = Counter(kind_of(error) for error in internal)
    for error in internal:
        count = kinds.pop(kind_of(error), 0)
        if count:
            place = ".".join(map(str, error.path or ())) or "the operation"
            logger.error(
                "unexpected error at %s (%d of this kind in the operation)",
                place,
                count,
                exc_info=error.original_error,
                extra={FIELDS: {"request_id": request_id_of(context)}},
            )


def kind_of(error: GraphQLError) -> tuple[type, str]:
    """What tells one unexpected error from another: its exception's type and message."""
    return type(error.original_error), str(error.original_error)


def request_id_of(context: Any) -> str | None:
    """The id of the request an operation runs for (hub/observability.py), if any."""
    request = getattr(context, "request", None)
    return getattr(request, "scope", {}).get("state", {}).get("request_id")


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
