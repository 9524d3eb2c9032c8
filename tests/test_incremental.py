"""@defer and @stream over HTTP: Apollo's multipart/mixed and SSE framing, one statement per
payload, the whole answer for clients that take one, the cost limit on the whole operation,
and privacy and error locations in deferred parts. The differential test
(tests/test_schema_differential.py) asks deferred variants of its queries on both paths."""

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

import schema.limits as schema_limits
from hub.config import Settings
from resolvers.executor import INCREMENTAL_OVER_WEBSOCKET
from schema import schema
from schema.federation import federation_sdl
from tests.conftest import asgi_client
from tests.incremental import EVENT_STREAM, MULTIPART, incremental_answer, merged
from tests.test_subscriptions import hub_app, init, websocket_exchange

CITIES = """{
  cities(first: 3) {
    totalCount
    edges {
      node {
        name
        ... @defer(label: "state") { state { name } }
      }
    }
  }
}"""


@pytest.fixture
async def debug_client(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data, reporting each payload's statements (`HUB_DEBUG=1`)."""
    settings = replace(Settings.from_env(), debug=True)
    async for client in asgi_client(demo_connection, settings):
        yield client


async def whole(client: httpx.AsyncClient, query: str) -> dict[str, Any]:
    """The answer in one JSON response, without extensions."""
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 200, response.text
    body = response.json()
    body.pop("extensions", None)
    return body


async def test_multipart_sends_the_initial_part_then_each_deferred_fragment_by_its_paths(
    debug_client: httpx.AsyncClient,
) -> None:
    initial, deferred, last = await incremental_answer(debug_client, CITIES, {})
    names = [edge["node"] for edge in initial["data"]["cities"]["edges"]]
    assert all(set(node) == {"name"} for node in names) and len(names) == 3
    assert initial["hasNext"] is True and last == {"hasNext": False}
    entries = deferred["incremental"]
    assert [entry["path"] for entry in entries] == [
        ["cities", "edges", i, "node"] for i in range(3)
    ]
    assert all(set(entry["data"]) == {"state"} and entry["label"] == "state" for entry in entries)
    assert merged([initial, deferred, last]) == await whole(debug_client, CITIES)


async def test_the_initial_part_and_each_deferred_fragment_are_one_statement_each(
    debug_client: httpx.AsyncClient,
) -> None:
    query = CITIES.replace("name\n", "name ... @defer { localNetwork { name } }\n", 1)
    payloads = await incremental_answer(debug_client, query, {})
    reads = [payload["extensions"]["debug"] for payload in payloads if "extensions" in payload]
    assert len(reads) == 3  # the initial part and two deferred fragments, for all cities
    assert all(read == read | {"sqlStatements": 1, "readPath": "compiled"} for read in reads)


async def test_server_sent_events_carry_the_same_payloads(demo_client: httpx.AsyncClient) -> None:
    over_sse = await incremental_answer(demo_client, CITIES, {}, EVENT_STREAM)
    over_multipart = await incremental_answer(demo_client, CITIES, {}, MULTIPART)
    assert over_sse == over_multipart


async def test_a_client_taking_one_answer_gets_the_whole_answer_at_once(
    demo_client: httpx.AsyncClient,
) -> None:
    response = await demo_client.post(
        "/graphql", json={"query": CITIES}, headers={"Accept": "application/json"}
    )
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    body.pop("extensions")
    undeferred = CITIES.replace('... @defer(label: "state") {', "").replace("} }", "}")
    assert body == await whole(demo_client, undeferred)


async def test_stream_sends_the_initial_items_first_and_the_rest_after(
    demo_client: httpx.AsyncClient,
) -> None:
    query = "{ cities(first: 4) { edges @stream(initialCount: 1) { node { name } } } }"
    initial, streamed, last = await incremental_answer(demo_client, query, {})
    assert len(initial["data"]["cities"]["edges"]) == 1
    [entry] = streamed["incremental"]
    assert entry["path"] == ["cities", "edges", 1] and len(entry["items"]) == 3
    assert merged([initial, streamed, last]) == await whole(demo_client, query)


async def test_the_whole_operation_is_held_to_the_cost_limit_however_it_is_deferred(
    demo_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(schema_limits, "LIMITS", replace(schema_limits.LIMITS, max_query_cost=60))
    cities = "cities(first: 50) { edges { node { name } } }"  # 50 each, within the limit
    query = f"{{ a: {cities} ... @defer {{ b: {cities} }} }}"
    response = await demo_client.post(
        "/graphql", json={"query": query}, headers={"Accept": MULTIPART}
    )
    body = response.json()
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COSTLY"]


async def test_a_deferred_fragment_withholds_what_the_viewer_may_not_see(
    demo_client: httpx.AsyncClient,
) -> None:
    query = "{ funders(first: 2) { edges { node { name ... @defer { contacts { fullName } } } } } }"
    payloads = await incremental_answer(demo_client, query, {})
    entries = payloads[1]["incremental"]
    assert [entry["data"] for entry in entries] == [{"contacts": None}] * 2
    errors = [error for entry in entries for error in entry.get("errors", [])]
    assert {error["extensions"]["code"] for error in errors} == {"FORBIDDEN"}
    assert merged(payloads) == await whole(demo_client, query)


async def test_errors_of_deferred_fragments_point_into_the_clients_document(
    demo_client: httpx.AsyncClient,
) -> None:
    query = "{ funders(first: 1) {\n  edges { node { ... @defer {\n      contacts { email }"
    query += " } } } } }"
    payloads = await incremental_answer(demo_client, query, {})
    [error] = payloads[1]["incremental"][0]["errors"]
    assert error["locations"] == [{"line": 3, "column": 7}]
    assert error["path"] == ["funders", "edges", 0, "node", "contacts"]


def test_the_schema_declares_defer_and_stream_to_clients_and_not_to_gateways() -> None:
    for directive in ("directive @defer(", "directive @stream("):
        assert directive in schema.as_str()
        assert directive not in federation_sdl(schema)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
async def test_defer_over_a_websocket_is_refused_saying_where_it_is_delivered(
    demo_connection: AsyncConnection, compiled: bool
) -> None:
    query = {"query": '{ city(slug: "koenigswinter") { name ... @defer { state { name } } } }'}
    messages = [init({}), {"id": "1", "type": "subscribe", "payload": query}]
    app = hub_app(demo_connection, compiled=compiled)
    sent = await websocket_exchange(app, messages)
    answers = [json.loads(frame["text"]) for frame in sent if frame["type"] == "websocket.send"]
    payload = answers[1]["payload"]
    assert payload["data"] is None
    error = {"message": INCREMENTAL_OVER_WEBSOCKET, "extensions": {"code": "BAD_USER_INPUT"}}
    assert payload["errors"] == [error]
