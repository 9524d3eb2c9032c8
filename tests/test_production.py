"""Production mode (HUB_ENV=production): no introspection and no GraphiQL unless allowed, CORS
and WebSocket origins from an allowlist, errors that reveal nothing of the hub's insides."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import ConfigurationError, Settings
from tests.conftest import asgi_client
from tests.helpers import counting_statements
from tests.test_cli import environment, free_port, serving
from tests.test_subscriptions import hub_app, init, websocket_exchange

PORTAL = "https://portal.engagiertestadt.de"
STRANGER = "https://elsewhere.example"
INTROSPECTION = "{ __schema { queryType { name } } }"
INTROSPECTION_REFUSED = "introspection has been disabled"
TYPE_INTROSPECTION = '{ __type(name: "City") { fields { name } } }'
# What an error must never show a client: the database's or Python's insides.
INTERNALS = ("Traceback", "SELECT", "relation", "asyncpg", "sqlalchemy", "LookupError", ".py")


def answer(response: httpx.Response) -> dict[str, Any]:
    """The response's body without its extensions (the cost every answer carries)."""
    body = response.json()
    body.pop("extensions", None)
    return body


def production_settings(monkeypatch: pytest.MonkeyPatch, **variables: str) -> Settings:
    """The settings of `HUB_ENV=production` with the environment `variables`."""
    for name in ("HUB_ALLOW_INTROSPECTION", "HUB_GRAPHIQL", "HUB_CORS_ORIGINS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HUB_ENV", "production")
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env()


@asynccontextmanager
async def hub(connection: AsyncConnection, settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The real app inside the test's transaction, with `settings`."""
    async for client in asgi_client(connection, settings):
        yield client


async def post(client: httpx.AsyncClient, query: str, **headers: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers)


def test_production_turns_introspection_and_graphiql_off_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    production = production_settings(monkeypatch)
    assert (production.introspection, production.graphiql, production.cors_origins) == (
        False,
        False,
        (),
    )
    allowed = production_settings(
        monkeypatch, HUB_ALLOW_INTROSPECTION="1", HUB_GRAPHIQL="1", HUB_CORS_ORIGINS=" a, b ,"
    )
    assert (allowed.introspection, allowed.graphiql, allowed.cors_origins) == (
        True,
        True,
        ("a", "b"),
    )
    monkeypatch.setenv("HUB_ENV", "development")
    assert Settings.from_env().introspection
    monkeypatch.setenv("HUB_ENV", "staging")
    with pytest.raises(ConfigurationError, match="HUB_ENV must be one of development, production"):
        Settings.from_env()


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
@pytest.mark.parametrize("query", [INTROSPECTION, TYPE_INTROSPECTION], ids=["schema", "type"])
async def test_introspection_is_refused_in_production(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch, compiled: bool, query: str
) -> None:
    settings = production_settings(monkeypatch, HUB_COMPILED="1" if compiled else "0")
    async with hub(demo_connection, settings) as client:
        with counting_statements(demo_connection.engine) as statements:
            response = await post(client, query)
    body = response.json()
    assert body["data"] is None
    assert INTROSPECTION_REFUSED in body["errors"][0]["message"]
    assert statements.count == 0


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
async def test_typenames_are_no_introspection(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch, compiled: bool
) -> None:
    settings = production_settings(monkeypatch, HUB_COMPILED="1" if compiled else "0")
    async with hub(demo_connection, settings) as client:
        response = await post(client, '{ __typename city(slug: "koenigswinter") { __typename } }')
    assert answer(response) == {"data": {"__typename": "Query", "city": {"__typename": "City"}}}


async def test_introspection_runs_in_production_when_allowed(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = production_settings(monkeypatch, HUB_ALLOW_INTROSPECTION="1")
    async with hub(demo_connection, settings) as client:
        response = await post(client, INTROSPECTION)
    assert answer(response) == {"data": {"__schema": {"queryType": {"name": "Query"}}}}


async def test_apps_of_both_settings_in_one_process_keep_their_own_rule(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Parsing and validation are cached per process; the rule stays each app's own."""
    allowing = production_settings(monkeypatch, HUB_ALLOW_INTROSPECTION="1")
    refusing = production_settings(monkeypatch)
    answers = []
    for settings in (allowing, refusing, allowing):
        async with hub(demo_connection, settings) as client:
            answers.append((await post(client, TYPE_INTROSPECTION)).json())
    assert [answer["data"] is not None for answer in answers] == [True, False, True]


# Near misses of the schema's names, each answered with graphql-core's suggestion of the right
# one, and the message that is left without it.
NEAR_MISSES = [
    pytest.param(
        '{ city(slug: "koenigswinter") { nme } }',
        None,
        "Cannot query field 'nme' on type 'City'.",
        id="field",
    ),
    pytest.param(
        '{ city(slg: "koenigswinter") { name } }',
        None,
        "Unknown argument 'slg' on field 'Query.city'.",
        id="argument",
    ),
    pytest.param(
        "query ($kinds: [CityKnd!]) { cities(filter: {kinds: $kinds}) { totalCount } }",
        None,
        "Unknown type 'CityKnd'.",
        id="type",
    ),
    pytest.param(
        "{ cities(filter: {knd: CITY}) { totalCount } }",
        None,
        "Expected value of type 'CityFilter' not to include unknown field 'knd'. "
        "Found: { knd: CITY }.",
        id="input-field",
    ),
    pytest.param(
        "{ cities(filter: {kinds: [CTY]}) { totalCount } }",
        None,
        "Value 'CTY' does not exist in 'CityKind' enum.",
        id="enum-value",
    ),
    pytest.param(
        "query ($filter: CityFilter) { cities(filter: $filter) { totalCount } }",
        {"filter": {"kinds": ["CTY"]}},
        "Variable '$filter' has invalid value at .kinds[0]: "
        "Value 'CTY' does not exist in 'CityKind' enum.",
        id="variable",
    ),
]


async def messages(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None
) -> list[str]:
    """The error messages of `query` with `variables`."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    return [error["message"] for error in response.json()["errors"]]


@pytest.mark.parametrize(("query", "variables", "message"), NEAR_MISSES)
async def test_production_suggests_no_names_of_the_schema(
    demo_connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    variables: dict[str, Any] | None,
    message: str,
) -> None:
    async with hub(demo_connection, production_settings(monkeypatch)) as client:
        refused = await messages(client, query, variables)
    allowing = production_settings(monkeypatch, HUB_ALLOW_INTROSPECTION="1")
    async with hub(demo_connection, allowing) as client:
        suggested = await messages(client, query, variables)
    assert message in refused
    assert not any("Did you mean" in text for text in refused)
    assert message not in suggested
    assert any("Did you mean" in text for text in suggested)


async def test_suggestions_come_back_where_introspection_is_allowed_in_the_same_process(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Validation is cached per process, errors included: hiding them must not change those."""
    allowing = production_settings(monkeypatch, HUB_ALLOW_INTROSPECTION="1")
    refusing = production_settings(monkeypatch)
    answers = []
    for settings in (allowing, refusing, allowing):
        async with hub(demo_connection, settings) as client:
            answers.append(await messages(client, "{ states { nme } }", None))
    assert answers == [
        ["Cannot query field 'nme' on type 'State'. Did you mean 'name'?"],
        ["Cannot query field 'nme' on type 'State'."],
        ["Cannot query field 'nme' on type 'State'. Did you mean 'name'?"],
    ]


async def test_production_suggests_no_names_over_websocket(
    connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    production_settings(monkeypatch)
    subscribe = {
        "id": "1",
        "type": "subscribe",
        "payload": {"query": "subscription { fundingRecorded { titel } }"},
    }
    sent = await websocket_exchange(hub_app(connection), [init({}), subscribe])
    answer = json.loads(sent[-1]["text"])
    assert answer["type"] == "error"
    assert [error["message"] for error in answer["payload"]] == [
        "Cannot query field 'titel' on type 'Funding'."
    ]


async def test_graphiql_is_absent_in_production_unless_allowed(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    browser = {"Accept": "text/html"}
    async with hub(demo_connection, production_settings(monkeypatch)) as client:
        absent = await client.get("/graphql", headers=browser)
    settings = production_settings(monkeypatch, HUB_GRAPHIQL="1")
    async with hub(demo_connection, settings) as client:
        allowed = await client.get("/graphql", headers=browser)
    assert absent.status_code == 404
    assert "graphiql" not in absent.text.lower()
    assert allowed.status_code == 200
    assert "graphiql" in allowed.text.lower()


def preflight(origin: str) -> dict[str, str]:
    """The headers of a browser's CORS preflight for a POST with a bearer credential."""
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization, content-type",
    }


async def test_cors_admits_listed_origins_only(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = production_settings(monkeypatch, HUB_CORS_ORIGINS=f"{PORTAL},https://other.example")
    async with hub(demo_connection, settings) as client:
        listed = await client.options("/graphql", headers=preflight(PORTAL))
        stranger = await client.options("/graphql", headers=preflight(STRANGER))
        listed_post = await post(client, "{ __typename }", Origin=PORTAL)
        stranger_post = await post(client, "{ __typename }", Origin=STRANGER)
        # Refusals carry the header too, so that the portal can read why.
        refused = await post(client, "{ __typename }", Origin=PORTAL, Authorization="Bearer x")

    assert listed.status_code == 200
    assert listed.headers["access-control-allow-origin"] == PORTAL
    assert "authorization" in listed.headers["access-control-allow-headers"].lower()
    assert stranger.status_code == 400
    assert "access-control-allow-origin" not in stranger.headers
    assert listed_post.headers["access-control-allow-origin"] == PORTAL
    assert "access-control-allow-origin" not in stranger_post.headers
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == PORTAL


async def test_without_listed_origins_no_browser_page_may_call(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with hub(demo_connection, production_settings(monkeypatch)) as client:
        response = await client.options("/graphql", headers=preflight(PORTAL))
    # Without origins there is no CORS at all: the preflight's method is not allowed.
    assert response.status_code == 405
    assert "access-control-allow-origin" not in response.headers


async def break_the_database(connection: AsyncConnection) -> None:
    """A table gone, inside the test's transaction (rolled back afterwards)."""
    await connection.execute(text("ALTER TABLE states RENAME TO states_elsewhere"))


async def break_a_value(connection: AsyncConnection) -> None:
    """A stored value the code does not know: the resolvers fail converting it."""
    await connection.execute(text("ALTER TABLE cities DROP CONSTRAINT ck_cities_citykind"))
    await connection.execute(text("UPDATE cities SET kind = 'spaceport'"))


@pytest.mark.parametrize(
    ("damage", "query", "compiled"),
    [
        (break_the_database, "{ states { code name } }", True),
        (break_the_database, "{ states { code name } }", False),
        # The compiled path does not convert values in Python: nothing to fail there.
        (break_a_value, '{ city(slug: "koenigswinter") { name kind } }', False),
    ],
    ids=["database-error-compiled", "database-error-resolvers", "internal-error-resolvers"],
)
async def test_errors_reveal_nothing_of_the_hubs_insides(
    demo_connection: AsyncConnection,
    monkeypatch: pytest.MonkeyPatch,
    damage: Any,
    query: str,
    compiled: bool,
) -> None:
    await damage(demo_connection)
    settings = production_settings(monkeypatch, HUB_COMPILED="1" if compiled else "0")
    async with hub(demo_connection, settings) as client:
        response = await post(client, query)
    assert response.status_code == 200
    errors = response.json()["errors"]
    assert [error["message"] for error in errors] == ["Unexpected error."]
    assert set(errors[0]) <= {"message", "locations", "path"}
    for internal in (*INTERNALS, "states_elsewhere", "spaceport", "ck_cities"):
        assert internal not in response.text


# A real server: the rules hold on WebSockets too.


async def websocket_answer(port: int, query: str, origin: str | None = None) -> dict[str, Any]:
    """The first message the server sends about `query` subscribed over graphql-transport-ws."""
    url = f"ws://127.0.0.1:{port}/graphql"
    headers = {"Origin": origin} if origin else None
    async with websockets.connect(
        url, subprotocols=["graphql-transport-ws"], additional_headers=headers
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        message = {"id": "1", "type": "subscribe", "payload": {"query": query}}
        await socket.send(json.dumps(message))
        try:
            return json.loads(await asyncio.wait_for(socket.recv(), 1.0))
        except TimeoutError:
            return {"type": "nothing yet: subscribed"}


@pytest.mark.slow
async def test_a_production_server_applies_its_rules_to_websockets(
    demo_database_url: str, tmp_path: Path
) -> None:
    subscription = "subscription Recorded { fundingRecorded { title } }"
    (tmp_path / "recorded.graphql").write_text(subscription)
    env = environment(
        DATABASE_URL=demo_database_url,
        HUB_ENV="production",
        HUB_PERSISTED_QUERIES="allowlist",
        HUB_ALLOWLIST=str(tmp_path),
        HUB_CORS_ORIGINS=PORTAL,
    )
    port = free_port()
    with serving(port, env):
        registered = await websocket_answer(port, subscription, origin=PORTAL)
        unregistered = await websocket_answer(port, "subscription { fundingRecorded { id } }")
        with pytest.raises(websockets.InvalidStatus) as stranger:
            await websocket_answer(port, subscription, origin=STRANGER)

    assert registered == {"type": "nothing yet: subscribed"}
    assert unregistered["type"] == "error"
    assert unregistered["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert stranger.value.response.status_code == 403
