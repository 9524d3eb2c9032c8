"""Incremental answers read as a client reads them: the payloads of multipart/mixed and SSE
bodies, merged into one answer; and the deferred variants of queries."""

from dataclasses import replace
from typing import Any

import httpx
import orjson
from graphql import (
    ArgumentNode,
    DirectiveNode,
    FieldNode,
    InlineFragmentNode,
    IntValueNode,
    NameNode,
    SelectionSetNode,
    parse,
    print_ast,
)

from hub.http_protocol import in_document_order

MULTIPART = "multipart/mixed; deferSpec=20220824, application/json"
EVENT_STREAM = "text/event-stream"
DEFER = DirectiveNode(name=NameNode(value="defer"))
STREAM_ONE = DirectiveNode(
    name=NameNode(value="stream"),
    arguments=(ArgumentNode(name=NameNode(value="initialCount"), value=IntValueNode(value="1")),),
)


def multipart_payloads(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of an Apollo multipart/mixed body (boundary `-`)."""
    assert body.startswith(b"\r\n---\r\n") and body.endswith(b"\r\n-----\r\n"), body[-40:]
    parts = body[: -len(b"\r\n-----\r\n")].split(b"\r\n---\r\n")[1:]
    payloads = []
    for part in parts:
        headers, _, json = part.partition(b"\r\n\r\n")
        assert headers == b"Content-Type: application/json; charset=utf-8", headers
        payloads.append(orjson.loads(json))
    return payloads


def event_payloads(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of server-sent `next` events, which a `complete` event ends."""
    events = body.decode().split("\n\n")
    assert events[-2:] == ["event: complete\ndata:", ""], events[-2:]
    payloads = []
    for event in events[:-2]:
        kind, data = event.split("\n")
        assert kind == "event: next" and data.startswith("data: "), event
        payloads.append(orjson.loads(data.removeprefix("data: ")))
    return payloads


async def incremental_answer(
    client: httpx.AsyncClient, query: str, headers: dict[str, str], accept: str = MULTIPART
) -> list[dict[str, Any]]:
    """The payloads of an incremental answer, read as they stream."""
    request = {"query": query}
    async with client.stream(
        "POST", "/graphql", json=request, headers=headers | {"Accept": accept}
    ) as response:
        body = await response.aread()
    assert response.status_code == 200, body
    if accept == EVENT_STREAM:
        assert response.headers["content-type"].startswith("text/event-stream")
        return event_payloads(body)
    assert response.headers["content-type"].startswith("multipart/mixed"), body
    return multipart_payloads(body)


def merged(payloads: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer the payloads add up to, as a client merges them (`hasNext` on all but the
    last); its errors in document order, as the hub orders an answer's, without extensions."""
    first, *rest = payloads
    assert [p["hasNext"] for p in payloads] == [True] * len(rest) + [False], payloads
    answer = {"data": first["data"]}
    errors = list(first.get("errors", []))
    for payload in rest:
        for entry in payload.get("incremental", []):
            errors += entry.get("errors", [])
            if "items" in entry:
                *to_list, index = entry["path"]
                items = at(answer["data"], to_list)
                assert len(items) == index, (entry["path"], len(items))
                items.extend(entry["items"])
            elif entry["data"] is not None:
                merge(at(answer["data"], entry["path"]), entry["data"])
    if errors:
        answer["errors"] = in_document_order(errors)
    return answer


def at(data: Any, path: list[Any]) -> Any:
    """The value a path leads to."""
    for step in path:
        data = data[step]
    return data


def merge(target: dict[str, Any], data: dict[str, Any]) -> None:
    """Merge a deferred fragment's data into the object it is on."""
    for key, value in data.items():
        if isinstance(target.get(key), dict) and isinstance(value, dict):
            merge(target[key], value)
        elif isinstance(target.get(key), list) and isinstance(value, list):
            assert len(target[key]) == len(value), key
            for mine, theirs in zip(target[key], value, strict=True):
                merge(mine, theirs)
        else:
            target[key] = value


def deferred_variant(query: str) -> str:
    """The query with every related object deferred (below the root, nested deferred
    fragments included), its plain fields, connections' edges and nodes left in place, and
    every `edges` list outside deferred fragments streamed from its second item on."""
    document = parse(query)
    operation = document.definitions[0]
    selections = tuple(deferring(each, stream=True) for each in operation.selection_set.selections)  # type: ignore[attr-defined]
    made = replace(operation, selection_set=SelectionSetNode(selections=selections))  # type: ignore[type-var]
    return print_ast(replace(document, definitions=(made,)))


def is_related(selection: Any) -> bool:
    """Whether a selection asks for related objects (a connection's edges and nodes are its
    own: they stay where they are, so that pages are streamed and nodes' relations deferred)."""
    if not isinstance(selection, FieldNode) or selection.selection_set is None:
        return False
    return selection.name.value not in {"edges", "node"}


def deferring(selection: Any, stream: bool) -> Any:
    """A field whose related objects are deferred, its selections alike."""
    if selection.selection_set is None:
        return selection
    plain, related = [], []
    for each in selection.selection_set.selections:
        if is_related(each):
            related.append(deferring(each, stream=False))
        else:
            plain.append(deferring(each, stream))
    if related:
        fragment = InlineFragmentNode(
            directives=(DEFER,), selection_set=SelectionSetNode(selections=tuple(related))
        )
        plain.append(fragment)
    directives = selection.directives
    if stream and isinstance(selection, FieldNode) and selection.name.value == "edges":
        directives = (*(directives or ()), STREAM_ONE)
    inner = SelectionSetNode(selections=tuple(plain))
    return replace(selection, selection_set=inner, directives=directives)
