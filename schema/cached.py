"""Answers from the response cache (hub.response_cache), reported as computed ones are.

A kept answer is served with the extensions it was computed with (its cost among them) and
charged to the client's rate budget as if computed (unless HUB_RESPONSE_CACHE_CHARGE=free);
the request's log line and metrics name its operation, `readPath: cached` and no SQL.
"""

import time
from typing import Any

import orjson
from graphql import GraphQLError
from starlette.requests import Request
from strawberry.types import ExecutionResult

from hub.response_cache import Answer
from resolvers.compiler import RawJSON, fragment_of
from resolvers.context import Context
from schema.extensions import debug_report, record_figures
from schema.limits import charge_or_refuse, cost_report


async def served(answer: Answer, query: str, context: Context, charge: bool) -> ExecutionResult:
    """The result of a request that `answer` answers."""
    started = time.perf_counter()
    context.read_path = "cached"
    errors: list[GraphQLError] = []
    if answer.cost is not None:
        # Free answers are charged nothing, so that their headers still show the budget.
        try:
            await charge_or_refuse(context.request, context.viewer, answer.cost if charge else 0)
        except GraphQLError as refusal:
            errors.append(refusal)
    data = None if errors else RawJSON(answer.data)
    record_figures(context, answer.name, query, errors, data is not None)
    if errors:
        extensions = debug_report(context, started) | cost_report(answer.cost)
        return ExecutionResult(data=None, errors=errors, extensions=extensions)
    extensions = dict(answer.extensions) | debug_report(context, started)
    return ExecutionResult(data=data, errors=None, extensions=extensions)  # type: ignore[arg-type]


def keepable(result: ExecutionResult, context: Context) -> Answer | None:
    """The answer to keep of a query's `result`; None for one with errors, or no query's."""
    if result.errors or result.data is None or not context.answered_query:
        return None
    data = result.data
    json = data.json if isinstance(data, RawJSON) else orjson.dumps(data, default=fragment_of)
    if isinstance(json, str):
        json = json.encode()
    extensions = {
        name: value for name, value in (result.extensions or {}).items() if name != "debug"
    }
    return Answer(json, extensions, operation_name(context))


def operation_name(context: Context) -> str | None:
    """The name the document gave the operation, as the request's figures hold it."""
    request = context.request
    figures: Any = (
        request.scope.get("state", {}).get("operation") if isinstance(request, Request) else None
    )
    return getattr(figures, "name", None)
