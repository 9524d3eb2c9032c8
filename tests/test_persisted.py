"""Persisted queries: Apollo's automatic persisted queries over POST and GET, the hash check,
the allowlist mode, and the Redis store shared by processes."""

import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import ConfigurationError, Settings
from hub.features import detect
from hub.persisted import REDIS_KEY_PREFIX
from server import create_app
from tests.conftest import asgi_client, sessions_on
from tests.helpers import counting_statements
from tests.test_cli import free_port

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "queries"
EXAMPLES = sorted(EXAMPLES_DIR.glob("*.graphql"))
QUERY = 'query Koenigswinter { city(slug: "koenigswinter") { name state { code } } }'
KOENIGSWINTER = {"city": {"name": "Königswinter", "state": {"code": "NW"}}}
LOCAL_REDIS = "redis://127.0.0.1:6379/0"
NOT_FOUND = {
    "message": "PersistedQueryNotFound",
    "extensions": {"code": "PERSISTED_QUERY_NOT_FOUND"},
}
NO_CACHE = "private, no-cache, must-revalidate"
BASE = "http://hub.test"


def answer(response: httpx.Response) -> dict[str, Any]:
    """The response's body without its extensions (the cost every answer carries)."""
    body = response.json()
    body.pop("extensions", None)
    return body


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(text: str) -> dict[str, Any]:
    """The `extensions` of a request naming `text` by its hash, as Apollo's clients send them."""
    return {"persistedQuery": {"version": 1, "sha256Hash": sha256(text)}}


@asynccontextmanager
async def hub(connection: AsyncConnection, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app inside the test's transaction, with its settings changed by `changes`."""
    async for client in asgi_client(connection, replace(Settings.from_env(), **changes)):
        yield client


async def send(client: httpx.AsyncClient, method: str, **request: Any) -> httpx.Response:
    """A GraphQL request over POST (a JSON body) or GET (parameters, objects JSON-encoded)."""
    if method == "POST":
        return await client.post("/graphql", json=request)
    params = {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in request.items()
    }
    # httpx's default Accept is */*, which strawberry takes for a browser without this hub's rule.
    return await client.get("/graphql", params=params)


@pytest.mark.parametrize("method", ["POST", "GET"])
@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
async def test_a_hash_unknown_then_registered_is_answered_by_hash_alone(
    demo_connection: AsyncConnection, method: str, compiled: bool
) -> None:
    async with hub(demo_connection, compiled=compiled) as client:
        unknown = await send(client, method, extensions=persisted(QUERY))
        registered = await send(client, method, query=QUERY, extensions=persisted(QUERY))
        by_hash = await send(client, method, extensions=persisted(QUERY))

    assert unknown.status_code == 200
    assert unknown.json()["errors"] == [NOT_FOUND]
    assert unknown.headers["cache-control"] == NO_CACHE
    assert answer(registered) == {"data": KOENIGSWINTER}
    assert by_hash.status_code == 200
    assert answer(by_hash) == {"data": KOENIGSWINTER}


async def test_a_persisted_query_takes_variables_and_an_operation_name(
    demo_connection: AsyncConnection,
) -> None:
    document = (
        "query One($slug: String!) { city(slug: $slug) { name } } query Other { states { code } }"
    )
    request = {"variables": {"slug": "koenigswinter"}, "operationName": "One"}
    async with hub(demo_connection) as client:
        await send(client, "POST", query=document, extensions=persisted(document), **request)
        response = await send(client, "GET", extensions=persisted(document), **request)
    assert answer(response) == {"data": {"city": {"name": "Königswinter"}}}


async def test_a_hash_that_is_not_the_querys_is_a_400_and_registers_nothing(
    demo_connection: AsyncConnection,
) -> None:
    other = "{ states { code } }"
    async with hub(demo_connection) as client:
        with counting_statements(demo_connection.engine) as statements:
            mismatch = await send(client, "POST", query=QUERY, extensions=persisted(other))
        by_hash = await send(client, "POST", extensions=persisted(other))

    assert mismatch.status_code == 400
    (error,) = mismatch.json()["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "sha256Hash" in error["message"]
    assert statements.count == 0
    assert by_hash.json()["errors"] == [NOT_FOUND]


@pytest.mark.parametrize(
    "extension",
    [
        {"version": 2, "sha256Hash": sha256(QUERY)},
        {"sha256Hash": sha256(QUERY)},
        {"version": 1, "sha256Hash": "not-a-hash"},
        {"version": 1},
        "a string",
    ],
    ids=["version-2", "no-version", "not-hex", "no-hash", "not-an-object"],
)
async def test_a_malformed_persisted_query_extension_is_a_clear_400(
    demo_connection: AsyncConnection, extension: object
) -> None:
    async with hub(demo_connection) as client:
        response = await send(client, "POST", extensions={"persistedQuery": extension})
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"


async def test_hashes_in_capitals_name_the_same_query(demo_connection: AsyncConnection) -> None:
    capitals = {"persistedQuery": {"version": 1, "sha256Hash": sha256(QUERY).upper()}}
    async with hub(demo_connection) as client:
        await send(client, "POST", query=QUERY, extensions=capitals)
        response = await send(client, "POST", extensions=persisted(QUERY))
    assert answer(response) == {"data": KOENIGSWINTER}


async def test_with_persisted_queries_off_clients_are_told_to_send_text(
    demo_connection: AsyncConnection,
) -> None:
    async with hub(demo_connection, persisted_queries="off") as client:
        by_hash = await send(client, "POST", extensions=persisted(QUERY))
        with_text = await send(client, "POST", query=QUERY, extensions=persisted(QUERY))
        plain = await send(client, "POST", query=QUERY)

    for response in (by_hash, with_text):
        assert response.status_code == 200
        assert response.json()["errors"] == [
            {
                "message": "PersistedQueryNotSupported",
                "extensions": {"code": "PERSISTED_QUERY_NOT_SUPPORTED"},
            }
        ]
    assert answer(plain) == {"data": KOENIGSWINTER}


# Allowlist mode


def allowlisted(connection: AsyncConnection, **changes: Any) -> Any:
    """The app in allowlist mode, the example queries of docs/queries/ registered."""
    return hub(connection, persisted_queries="allowlist", allowlist=EXAMPLES_DIR, **changes)


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
async def test_registered_operations_run_by_text_and_by_hash(
    demo_connection: AsyncConnection, compiled: bool
) -> None:
    async with allowlisted(demo_connection, compiled=compiled) as client:
        for path in EXAMPLES:
            text = path.read_bytes().decode()
            by_text = await send(client, "POST", query=text)
            by_hash = await send(client, "GET", extensions=persisted(text))
            assert "errors" not in by_text.json(), (path.name, by_text.text)
            assert answer(by_hash) == answer(by_text), path.name


async def test_a_registered_operation_takes_any_variables(demo_connection: AsyncConnection) -> None:
    text = (EXAMPLES_DIR / "funder-portal.graphql").read_text()
    variables = {"funder": "no-such-funder"}
    async with allowlisted(demo_connection) as client:
        response = await send(client, "POST", query=text, variables=variables)
    assert response.json()["data"] == {"funder": None}


@pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])
@pytest.mark.parametrize(
    "request_body",
    [
        {"query": QUERY},
        {"query": QUERY, "extensions": persisted(QUERY)},
        {"query": "{ __schema { queryType { name } } }"},
        # Its one error is the refusal: validation's would describe the schema.
        {"query": "{ states { mayr } }"},
        # A registered operation, but not its exact text: the text is what was registered.
        {"query": (EXAMPLES_DIR / "search.graphql").read_text() + "\n"},
    ],
    ids=["text", "registering", "introspection", "invalid", "changed-text"],
)
async def test_unregistered_operations_are_refused_without_running_sql(
    demo_connection: AsyncConnection, compiled: bool, request_body: dict[str, Any]
) -> None:
    async with allowlisted(demo_connection, compiled=compiled) as client:
        with counting_statements(demo_connection.engine) as statements:
            response = await send(client, "POST", **request_body)
        by_hash = await send(client, "POST", extensions=persisted(request_body["query"]))

    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"
    assert sha256(request_body["query"]) in error["message"]
    assert statements.count == 0
    # Nor did the refused request register anything.
    assert by_hash.json()["errors"] == [NOT_FOUND]


def manifest(*operations: tuple[str, str]) -> dict[str, Any]:
    """An Apollo persisted query manifest of (id, body) pairs."""
    return {
        "format": "apollo-persisted-query-manifest",
        "version": 1,
        "operations": [
            {"id": key, "body": body, "name": "Koenigswinter", "type": "query"}
            for key, body in operations
        ],
    }


async def test_an_apollo_manifest_registers_its_operations(
    demo_connection: AsyncConnection, tmp_path: Path
) -> None:
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps(manifest((sha256(QUERY), QUERY))))
    async with hub(demo_connection, persisted_queries="allowlist", allowlist=path) as client:
        by_hash = await send(client, "GET", extensions=persisted(QUERY))
        by_text = await send(client, "POST", query=QUERY)
        other = await send(client, "POST", query="{ states { code } }")
    assert answer(by_hash) == answer(by_text) == {"data": KOENIGSWINTER}
    assert other.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_ALLOWED"


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (manifest(("an-id-of-its-own", QUERY)), "is not the SHA-256 of its operation"),
        ({"format": "apollo-persisted-query-manifest", "version": 2}, "no Apollo persisted"),
        (["not", "a", "manifest"], "no Apollo persisted"),
    ],
    ids=["own-ids", "version-2", "not-a-manifest"],
)
def test_a_manifest_the_hub_cannot_use_stops_it_starting(
    tmp_path: Path, content: object, reason: str
) -> None:
    path = tmp_path / "persisted-query-manifest.json"
    path.write_text(json.dumps(content))
    settings = replace(Settings.from_env(), persisted_queries="allowlist", allowlist=path)
    with pytest.raises(ConfigurationError, match=reason):
        create_app(settings=settings)


def test_allowlist_mode_needs_registered_operations(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HUB_PERSISTED_QUERIES", "allowlist")
    monkeypatch.delenv("HUB_ALLOWLIST", raising=False)
    with pytest.raises(ConfigurationError, match="needs HUB_ALLOWLIST"):
        Settings.from_env()
    monkeypatch.setenv("HUB_ALLOWLIST", str(tmp_path / "missing"))
    with pytest.raises(ConfigurationError, match="does not exist"):
        Settings.from_env()
    monkeypatch.setenv("HUB_ALLOWLIST", str(tmp_path))
    with pytest.raises(ConfigurationError, match=r"holds no \.graphql file"):
        create_app()
    monkeypatch.setenv("HUB_PERSISTED_QUERIES", "everything")
    with pytest.raises(ConfigurationError, match="apq, allowlist, off"):
        Settings.from_env()


# The Redis store


async def redis_reachable() -> bool:
    client = redis.from_url(LOCAL_REDIS, socket_connect_timeout=1)
    try:
        return bool(await client.ping())
    except (redis.RedisError, OSError):
        return False
    finally:
        await client.aclose()


@asynccontextmanager
async def processes_sharing(
    connection: AsyncConnection, url: str
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Two apps, as two processes run them, both keeping persisted queries in Redis at `url`."""
    settings = replace(Settings.from_env(), redis_url=url)
    features = await detect(connection)
    apps = [create_app(sessions_on(connection), settings=settings, features=features) for _ in "12"]
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[0]), base_url=BASE) as one,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=apps[1]), base_url=BASE) as other,
    ):
        try:
            yield one, other
        finally:
            for app in apps:
                await app.state.persisted.close()


async def test_processes_share_persisted_queries_through_redis(
    demo_connection: AsyncConnection,
) -> None:
    if not await redis_reachable():
        pytest.skip(f"no Redis answers at {LOCAL_REDIS}")
    # A text of its own, so that no earlier run registered it.
    text = (
        f'query Run{uuid.uuid4().hex} {{ city(slug: "koenigswinter") {{ name state {{ code }} }} }}'
    )
    async with processes_sharing(demo_connection, LOCAL_REDIS) as (one, other):
        unknown = await send(other, "POST", extensions=persisted(text))
        await send(one, "POST", query=text, extensions=persisted(text))
        by_hash = await send(other, "GET", extensions=persisted(text))

    assert unknown.json()["errors"] == [NOT_FOUND]
    assert answer(by_hash) == {"data": KOENIGSWINTER}
    client = redis.from_url(LOCAL_REDIS)
    try:
        assert 0 < await client.ttl(REDIS_KEY_PREFIX + sha256(text)) <= 24 * 3600
        await client.delete(REDIS_KEY_PREFIX + sha256(text))
    finally:
        await client.aclose()


async def test_an_unreachable_redis_makes_clients_send_text_that_runs(
    demo_connection: AsyncConnection,
) -> None:
    nobody = f"redis://127.0.0.1:{free_port()}/0"
    async with processes_sharing(demo_connection, nobody) as (one, _):
        registered = await send(one, "POST", query=QUERY, extensions=persisted(QUERY))
        by_hash = await send(one, "POST", extensions=persisted(QUERY))
    assert answer(registered) == {"data": KOENIGSWINTER}
    assert by_hash.json()["errors"] == [NOT_FOUND]
