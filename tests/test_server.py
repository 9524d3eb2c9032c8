"""The HTTP surface: health, readiness, GraphiQL, and requests that are not GraphQL at all."""

import httpx
import pytest
from graphql import get_introspection_query

from hub.database import create_engine, session_factory
from hub.http_protocol import contains_nul
from server import create_app


async def test_healthz_says_the_process_is_alive(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_readyz_says_ready_when_the_database_answers(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


async def test_readyz_says_unavailable_without_the_database() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@/nowhere?host=/nonexistent-socket-dir")
    app = create_app(sessions=session_factory(engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.get("/readyz")
    await engine.dispose()
    assert (response.status_code, response.json()) == (503, {"status": "unavailable"})


async def test_graphiql_answers_a_browser(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_malformed_json_is_a_clear_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ states', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_a_lone_surrogate_is_malformed_json(client: httpx.AsyncClient) -> None:
    # "\ud800" names half a character: no text can hold it, so the body is refused whole.
    body = b'{"query": "query ($s: String!) { city(slug: $s) { name } }", "variables": '
    response = await client.post(
        "/graphql",
        content=body + b'{"s": "\\ud800"}}',
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert "Unable to parse request body as JSON" in response.text


async def test_unknown_field_is_a_graphql_error_not_a_crash(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ states { mayor } }"})
    body = response.json()
    assert response.status_code == 200
    assert body["data"] is None
    assert "Cannot query field 'mayor' on type 'State'" in body["errors"][0]["message"]


async def test_database_failures_reach_clients_masked() -> None:
    engine = create_engine("postgresql+asyncpg://postgres@/secret_db?host=/nonexistent-socket-dir")
    app = create_app(sessions=session_factory(engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.post("/graphql", json={"query": "{ states { code } }"})
    await engine.dispose()
    assert response.json()["errors"][0]["message"] == "Unexpected error."
    assert "secret_db" not in response.text
    assert "nonexistent-socket-dir" not in response.text


@pytest.mark.parametrize(
    "request_body",
    [
        {"query": "query($s: String!) { city(slug: $s) { name } }", "variables": {"s": "a\x00b"}},
        {"query": '{ city(slug: "a\\u0000b") { name } }'},
    ],
    ids=["variable", "literal"],
)
async def test_nul_characters_are_refused_clearly(
    client: httpx.AsyncClient, request_body: dict[str, object]
) -> None:
    response = await client.post("/graphql", json=request_body)
    assert "Text must not contain the NUL character (U+0000)." in response.text
    assert "Unexpected error" not in response.text


@pytest.mark.parametrize(
    ("value", "has_nul"),
    [
        ([{"__typename": "City", "id": "Q2l0eTox"}] * 3, False),
        ({"deep": [{"key\x00": "value"}]}, True),
        (["a backslash, then u0000: \\u0000"], False),
        (["\\u0000 and a NUL\x00"], True),
        ([2**70, "too large for orjson, searched instead\x00"], True),
        ([2**70, "too large for orjson, searched instead"], False),
    ],
)
def test_nul_characters_are_found_wherever_they_stand(value: object, has_nul: bool) -> None:
    assert contains_nul(value) is has_nul


@pytest.mark.parametrize("body", [b"null", b"42", b'"text"', b"[]"])
async def test_bodies_that_are_not_graphql_requests_are_a_clear_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400


async def test_graphiql_introspection_query_answers(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": get_introspection_query()})
    body = response.json()
    assert "errors" not in body
    assert body["data"]["__schema"]["queryType"]["name"] == "Query"
