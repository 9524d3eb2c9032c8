"""A hub in allowlist mode behind a federation gateway: the gateway's secret (`hub.gateway`)
lets its operations past the allowlist, grants no role, and has the public charged by the
client address the gateway forwards."""

import hmac
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from starlette.applications import Starlette
from starlette.requests import Request

from hub.config import ConfigurationError, Settings
from hub.gateway import from_gateway
from tests.conftest import asgi_client, demo_database, drop_database, sessions_on
from tests.test_cli import environment, free_port, serving
from tests.test_federation import gateway, global_id, node_project  # noqa: F401
from tests.test_persisted import EXAMPLES_DIR
from tests.test_ratelimit import add_admin_key

SECRET = "s3cret-of-the-gateway-0123456789abcdef"
UNREGISTERED = '{ city(slug: "apolda") { slug contacts { fullName } } }'
SERVICE = "{ _service { sdl } }"
ENTITIES = """{ _entities(representations: [{__typename: "State", code: "TH"}]) {
  ... on State { name } } }"""
CITIES = "{ cities(first: 100) { edges { node { slug } } } }"  # costs 100
BUDGET = 350  # three such queries, and 50 points left
REGISTERED = (EXAMPLES_DIR / "statistics.graphql").read_text()
NOT_ALLOWED = "PERSISTED_QUERY_NOT_ALLOWED"


def codes(body: dict[str, Any]) -> list[str]:
    """The codes of the errors in a GraphQL response's body."""
    return [error["extensions"]["code"] for error in body.get("errors", [])]


# The setting and the comparison


def test_a_gateway_secret_shorter_than_32_characters_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_GATEWAY_SECRET", "x" * 31)
    with pytest.raises(ConfigurationError, match=r"^HUB_GATEWAY_SECRET must be at least 32 "):
        Settings.from_env()
    monkeypatch.setenv("HUB_GATEWAY_SECRET", "x" * 32)
    assert Settings.from_env().gateway_secret == "x" * 32
    monkeypatch.setenv("HUB_GATEWAY_SECRET", "")
    assert Settings.from_env().gateway_secret is None


def request_with(secret: str | None, sent: str | None) -> Request:
    """A request to an app whose gateway secret is `secret`, sending `sent` as the secret."""
    app = Starlette()
    app.state.settings = replace(Settings.from_env(), gateway_secret=secret)
    headers = [(b"hub-gateway-secret", sent.encode())] if sent is not None else []
    return Request({"type": "http", "headers": headers, "app": app})


def test_the_secret_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[bytes, bytes]] = []
    constant_time = hmac.compare_digest

    def compare_digest(sent: bytes, secret: bytes) -> bool:
        compared.append((sent, secret))
        return constant_time(sent, secret)

    monkeypatch.setattr("hub.gateway.hmac.compare_digest", compare_digest)
    assert from_gateway(request_with(SECRET, SECRET))
    wrong = SECRET[:-1] + "X"
    assert not from_gateway(request_with(SECRET, wrong))
    assert compared == [(SECRET.encode(), SECRET.encode()), (wrong.encode(), SECRET.encode())]
    assert not from_gateway(request_with(None, SECRET))
    assert not from_gateway(request_with(SECRET, None))
    assert len(compared) == 2


# The real app, in allowlist mode, with a gateway secret


async def allowlisted(
    connection: AsyncConnection, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in allowlist mode (docs/queries/ registered) with the gateway's SECRET."""
    settings = replace(
        Settings.from_env(),
        persisted_queries="allowlist",
        allowlist=EXAMPLES_DIR,
        gateway_secret=SECRET,
        **changes,
    )
    async for client in asgi_client(connection, settings):
        yield client


async def post(
    client: httpx.AsyncClient, query: str, headers: dict[str, str] | None = None
) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers=headers or {})


@pytest.mark.parametrize(
    "query", [UNREGISTERED, SERVICE, ENTITIES], ids=["operation", "service", "entities"]
)
async def test_only_the_gateway_runs_unregistered_operations_in_allowlist_mode(
    demo_connection: AsyncConnection, query: str
) -> None:
    async for client in allowlisted(demo_connection):
        unsent = await post(client, query)
        wrong = await post(client, query, {"Hub-Gateway-Secret": SECRET[:-1] + "X"})
        sent = await post(client, query, {"Hub-Gateway-Secret": SECRET})
    assert codes(unsent.json()) == codes(wrong.json()) == [NOT_ALLOWED]
    assert NOT_ALLOWED not in codes(sent.json())
    assert sent.json()["data"]


async def test_the_gateway_secret_grants_no_role(demo_connection: AsyncConnection) -> None:
    async with sessions_on(demo_connection)() as session:
        _, key = await add_admin_key(session)
    gateway_headers = {"Hub-Gateway-Secret": SECRET}
    async for client in allowlisted(demo_connection):
        public = await post(client, UNREGISTERED, gateway_headers)
        office = await post(
            client, UNREGISTERED, gateway_headers | {"Authorization": f"Bearer {key}"}
        )
        forged = await post(
            client, UNREGISTERED, gateway_headers | {"Authorization": "Bearer forged"}
        )
    assert public.json()["data"]["city"]["contacts"] is None
    assert office.json()["data"]["city"]["contacts"]
    assert forged.status_code == 401


async def test_behind_the_gateway_the_public_is_charged_by_the_forwarded_address(
    demo_connection: AsyncConnection,
) -> None:
    def through_gateway(client: str) -> dict[str, str]:
        return {"Hub-Gateway-Secret": SECRET, "X-Forwarded-For": f"203.0.113.9, {client}"}

    budgets = {"rate_limit_public": BUDGET, "max_query_cost": BUDGET}
    async for client in allowlisted(demo_connection, **budgets):
        for _ in range(3):
            assert (await post(client, CITIES, through_gateway("192.0.2.1"))).status_code == 200
        spent = await post(client, CITIES, through_gateway("192.0.2.1"))
        other = await post(client, CITIES, through_gateway("192.0.2.2"))
        # Without the secret, X-Forwarded-For is the client's word: its own address pays, not
        # 192.0.2.1, whose 50 points left would not pay for the statistics (160).
        unproven = await post(client, REGISTERED, {"X-Forwarded-For": "192.0.2.1"})
    assert spent.status_code == 429
    assert other.status_code == 200
    assert unproven.status_code == 200


# A real Apollo Gateway in front of a served hub in allowlist mode


async def office_key_and_city(url: str, slug: str) -> tuple[str, str]:
    """A new network office key in the database of `url`, and the global ID of city `slug`."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            async with sessions_on(connection)() as session:
                _, key = await add_admin_key(session)
            query = text("SELECT id FROM cities WHERE slug = :slug")
            city_id = (await connection.execute(query, {"slug": slug})).scalar_one()
    finally:
        await engine.dispose()
    return key, global_id("City", city_id)


def client_from(url: str, address: str) -> httpx.AsyncClient:
    """A client of the gateway at `url`, calling from the loopback address `address`."""
    transport = httpx.AsyncHTTPTransport(local_address=address)
    return httpx.AsyncClient(base_url=url.removesuffix("/"), transport=transport, timeout=30)


async def ask(client: httpx.AsyncClient, query: str, key: str | None = None) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body: dict[str, Any] = (await client.post("/", json={"query": query}, headers=headers)).json()
    return body


@pytest.mark.slow
async def test_a_gateway_in_front_of_an_allowlist_mode_hub(
    server_url: str,
    node_project: Path,  # noqa: F811
) -> None:
    url = await demo_database(server_url)
    try:
        key, apolda = await office_key_and_city(url, "apolda")
        env = environment(
            DATABASE_URL=url,
            HUB_PERSISTED_QUERIES="allowlist",
            HUB_ALLOWLIST=str(EXAMPLES_DIR),
            HUB_GATEWAY_SECRET=SECRET,
            HUB_RATE_LIMIT_PUBLIC=str(BUDGET),
            HUB_MAX_QUERY_COST=str(BUDGET),
            # uvicorn would take X-Forwarded-For from 127.0.0.1 by itself: here only the
            # gateway's secret makes the hub believe it.
            FORWARDED_ALLOW_IPS="192.0.2.254",
        )
        port = free_port()
        with serving(port, env):
            hub_url = f"http://127.0.0.1:{port}/graphql"
            async with (
                gateway(node_project, hub_url, [apolda], SECRET) as gateway_url,
                client_from(gateway_url, "127.0.0.1") as first,
                client_from(gateway_url, "127.0.0.2") as second,
                httpx.AsyncClient(timeout=30) as direct,
            ):
                spanning = await ask(first, '{ city(slug: "apolda") { name events { title } } }')
                public = await ask(first, UNREGISTERED)
                office = await ask(first, UNREGISTERED, key)
                first_budget = [await ask(first, CITIES) for _ in range(4)]
                second_budget = await ask(second, CITIES)
                refused = [
                    (await direct.post(hub_url, json={"query": query})).json()
                    for query in (UNREGISTERED, SERVICE, ENTITIES)
                ]
    finally:
        await drop_database(server_url, url)
    assert spanning == {
        "data": {
            "city": {
                "name": "Apolda",
                "events": [
                    {"title": f"Ehrenamtsmesse ({apolda})"},
                    {"title": f"Freiwilligentag ({apolda})"},
                ],
            }
        }
    }
    assert public["data"]["city"]["contacts"] is None
    assert office["data"]["city"]["contacts"]
    assert ["errors" in body for body in first_budget] == [False, False, False, True]
    assert first_budget[-1]["errors"][0]["message"] == "429: Too Many Requests"
    assert "errors" not in second_budget
    assert [codes(body) for body in refused] == [[NOT_ALLOWED]] * 3
