"""@defer and @stream over HTTP: a query's parts (schema.deferred) run as queries of their own,
and their answers go out as incremental payloads (Apollo's `deferSpec=20220824`: `incremental`
entries with their `path`, and `hasNext`), in multipart/mixed or as server-sent events."""

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSyntaxError,
    SourceLocation,
    get_operation_ast,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_variable_values
from strawberry.types import ExecutionResult

import schema.limits as limits
from hub.http_protocol import in_document_order, media_ranges
from resolvers.compiler import RawJSON
from schema import schema
from schema.deferred import Deferred, Printed, Split, Streamed, split, without_placeholders
from schema.extensions import NoNulInStrings
from schema.limits import Cost, ShapeLimit, refuse_over_limit

MULTIPART = "multipart/mixed"
EVENT_STREAM = "text/event-stream"
# Apollo's boundary: parts are delimited by `---`, the body ends with `-----`.
BOUNDARY = "-"
MULTIPART_TYPE = f'multipart/mixed; boundary="{BOUNDARY}"; deferSpec=20220824'
RULES = (*specified_rules, NoNulInStrings, ShapeLimit)

# Runs a query text as the request's operation; `fresh` asks for a context of its own.
Run = Callable[[str, bool], Awaitable[ExecutionResult]]


async def run_printed(run: Run, part: Printed, fresh: bool) -> ExecutionResult:
    """Run a part; its errors point into the client's document."""
    result = await run(part.text, fresh)
    for error in result.errors or ():
        if error.locations:
            error.locations = [
                SourceLocation(*part.original(each.line, each.column)) for each in error.locations
            ]
    return result


def transport_of(accept: str | None) -> str | None:
    """The incremental transport the `Accept` header asks for, the one it likes more
    (multipart/mixed on a tie); None: it asks for neither."""
    ranges = media_ranges(accept or "")
    multipart, events = ranges.get(MULTIPART, 0.0), ranges.get(EVENT_STREAM, 0.0)
    if multipart > 0 and multipart >= events:
        return MULTIPART
    return EVENT_STREAM if events > 0 else None


@dataclass
class Answer:
    """The initial result, and the payloads that follow it (None: there are none to send,
    the client takes one answer)."""

    initial: ExecutionResult
    later: AsyncIterator[dict[str, Any]] | None


async def answer(
    query: str,
    operation_name: str | None,
    variables: Mapping[str, Any],
    transport: str | None,
    run: Run,
) -> Answer | None:
    """Answer an operation asking for @defer or @stream: whole where the client takes one
    answer, else its initial part now and the rest later. None where the normal way answers
    it better: its syntax, validity or variables are wrong (it says how), or it subscribes."""
    document = valid_document(query)
    operation = get_operation_ast(document, operation_name) if document else None
    if document is None or operation is None:
        return None
    definitions = operation.variable_definitions or ()
    coerced = get_variable_values(schema._schema, definitions, dict(variables or {}))
    if not isinstance(coerced, VariableValues):
        return None
    taken = split(document, operation, coerced)
    if taken is None:
        return None
    refusal = cost_refusal(taken.whole, operation_name, coerced)
    if refusal is not None:
        return Answer(ExecutionResult(data=None, errors=[refusal]), None)
    if transport is None or (not taken.deferred and not taken.streamed):
        return Answer(await run_printed(run, taken.whole, False), None)
    return await incremental(taken, run)


def valid_document(query: str) -> DocumentNode | None:
    """The parsed document, if it is valid, within the token and shape limits."""
    try:
        document = parse(query, max_tokens=limits.LIMITS.max_tokens)
    except GraphQLSyntaxError:
        return None
    return None if validate(schema._schema, document, RULES) else document


def cost_refusal(
    whole: Printed, operation_name: str | None, variables: VariableValues
) -> GraphQLError | None:
    """The refusal of an operation costing more than the limit as a whole, however its
    parts are cut (each part is charged to the rate budget as it runs)."""
    document = parse(whole.text)
    operation = get_operation_ast(document, operation_name)
    assert operation is not None, "the whole has the operation it was made of"
    cost = Cost(schema._schema, document, operation, variables, limits.LIMITS.max_page_size)
    try:
        refuse_over_limit(cost.total())
    except GraphQLError as error:
        return error
    return None


async def incremental(taken: Split, run: Run) -> Answer:
    """The initial part's result, its streamed lists cut to their initial items, and the
    payloads of the rest: those items, then each deferred fragment."""
    initial = await run_printed(run, taken.initial, False)
    if initial.data is None:
        return Answer(initial, None)
    data = without_placeholders(decoded(initial.data))
    streamed = [entry for each in taken.streamed for entry in cut(data, each)]
    initial.data = data
    return Answer(initial, payloads(streamed, taken.deferred, run))


def decoded(data: Any) -> Any:
    """Response data as Python values (the compiled path's JSON is handed on as bytes)."""
    return orjson.loads(data.json) if isinstance(data, RawJSON) else data


def cut(data: Any, streamed: Streamed) -> list[dict[str, Any]]:
    """Cut each list `streamed` names to its initial items; the others as incremental
    entries (`items` and the path of the first of them)."""
    entries = []
    *parents, key = streamed.keys
    for parent_path, parent in found_at(data, tuple(parents)):
        items, path = parent.get(key), [*parent_path, key]
        if not isinstance(items, list) or len(items) <= streamed.initial_count:
            continue
        rest = items[streamed.initial_count :]
        del items[streamed.initial_count :]
        entry = {"items": rest, "path": [*path, streamed.initial_count]}
        entries.append(entry | ({"label": streamed.label} if streamed.label else {}))
    return entries


async def payloads(
    streamed: list[dict[str, Any]], deferred: list[Deferred], run: Run
) -> AsyncIterator[dict[str, Any]]:
    """The streamed items, then each deferred fragment as it is answered (one query each),
    and a last payload saying nothing follows."""
    if streamed:
        yield {"incremental": streamed, "hasNext": True}
    for part in deferred:
        result = await run_printed(run, part.query, True)
        entries = deferred_entries(part, result)
        if entries:
            payload: dict[str, Any] = {"incremental": entries, "hasNext": True}
            yield payload | ({"extensions": result.extensions} if result.extensions else {})
    yield {"hasNext": False}


def deferred_entries(part: Deferred, result: ExecutionResult) -> list[dict[str, Any]]:
    """A deferred fragment's answer as incremental entries, one per object it is on (those
    it matched); the errors within the fragment go with the first. Errors above it are the
    initial payload's, which reported them already."""
    label = {"label": part.label} if part.label else {}
    data = without_placeholders(decoded(result.data))
    entries = [
        {"data": value, "path": path, **label}
        for path, value in found_at(data, part.keys)
        if isinstance(value, dict) and value
    ]
    errors = in_document_order(
        [error.formatted for error in result.errors or () if within(error, part.depth)]
    )
    if errors and entries:
        entries[0]["errors"] = errors
    elif errors:
        entries.append({"data": None, "path": [], "errors": errors, **label})
    return entries


def within(error: GraphQLError, depth: int) -> bool:
    """Whether an error lies within a fragment whose objects are `depth` fields deep (or
    concerns the part as a whole)."""
    if error.path is None:
        return True
    return sum(isinstance(step, str) for step in error.path) > depth


def found_at(data: Any, keys: tuple[str, ...], path: tuple[Any, ...] = ()) -> Iterator[Any]:
    """The values the response keys lead to, with their paths: through every item of the
    lists on the way, past nulls."""
    if isinstance(data, list):
        for index, item in enumerate(data):
            yield from found_at(item, keys, (*path, index))
        return
    if not keys:
        yield list(path), data
        return
    if isinstance(data, dict) and data.get(keys[0]) is not None:
        yield from found_at(data[keys[0]], keys[1:], (*path, keys[0]))


def framed(transport: str, bodies: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The payloads' JSON bodies, framed for the transport."""
    return multipart(bodies) if transport == MULTIPART else events(bodies)


def media_type(transport: str) -> str:
    """The media type of a response in the transport."""
    return MULTIPART_TYPE if transport == MULTIPART else EVENT_STREAM


async def multipart(bodies: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Apollo's multipart/mixed body: each payload a JSON part after `---`, the body closed
    by `-----`."""
    async for body in bodies:
        yield b"\r\n---\r\nContent-Type: application/json; charset=utf-8\r\n\r\n" + body
    yield b"\r\n-----\r\n"


async def events(bodies: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Server-sent events (GraphQL over SSE): each payload a `next` event, then `complete`."""
    async for body in bodies:
        yield b"event: next\ndata: " + body + b"\n\n"
    yield b"event: complete\ndata:\n\n"
