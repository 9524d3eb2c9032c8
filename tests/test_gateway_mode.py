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
from tests.test_federation import gateway, global_id
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
    with pytest.raises(ConfigurationError, match="^HUB_GATEWAY_SECRET must be at least 32 "):
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
