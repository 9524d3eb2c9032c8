"""Requests asked before, answered ahead of routing and strawberry (hub/shortcut.py): the
same responses as the full path gives, and only where the full path would give them."""

import logging
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from hub.config import Settings
from hub.keys import hash_key
from hub.observability import FIELDS, REGISTRY, OperationFigures
from hub.persisted import query_hash
from hub.response_cache import Answer
from hub.shortcut import KnownRequests, Recorded
from models import ApiKey, City, Role
from schema import schema
from tests.conftest import sessions_on
from tests.factories import add_key
from tests.generated_queries import queries
from tests.helpers import property_settings
from tests.test_cli import environment, free_port, serving
from tests.test_compiled_path import key_of_role
from tests.test_response_cache import (
    CITY,
    CONTACTS,
    OTHER_PROCESS_SECONDS,
    REDIS_URL,
    cached_and_plain,
    committed_url,
    describe_bitburg,
    hub,
    office_key,
)

__all__ = ["committed_url", "office_key"]  # the fixtures, shared with the cache's tests

# The headers each request's own charge and its arrival set.
OWN_HEADERS = {"x-request-id", "date", "x-ratelimit-remaining", "x-ratelimit-reset"}
FORMS = ["post", "post-graphql-response", "get"]


def shortcut_settings(**changes: Any) -> Settings:
    """A hub that records requests: debugging off, as in production."""
    return replace(Settings.from_env(), **({"debug": False, "redis_url": None} | changes))


def shortcuts() -> float:
    """Answers the shortcut has given so far, in this process."""
    return REGISTRY.get_sample_value("hub_response_cache_shortcuts_total") or 0


async def send(
    client: httpx.AsyncClient,
    query: str,
    form: str = "post",
    key: str | None = None,
    headers: dict[str, str] | None = None,
    **variables: Any,
) -> httpx.Response:
    """A query, sent as `form` says, as the holder of `key` (None: the public)."""
    sent = dict(headers or {})
    if key:
        sent["Authorization"] = f"Bearer {key}"
    if form == "get":
        params = {"query": query, "variables": orjson.dumps(variables).decode()}
        return await client.get("/graphql", params=params, headers=sent)
    if form == "post-graphql-response":
        sent["Accept"] = "application/graphql-response+json"
    return await client.post(
        "/graphql", json={"query": query, "variables": variables}, headers=sent
    )


def comparable(response: httpx.Response) -> tuple[int, bytes, list[tuple[str, str]]]:
    """A response as two requests alike get it: its status, body and headers, the values of
    each request's own headers left out."""
    headers = sorted(
        (name, "(own)" if name in OWN_HEADERS else value)
        for name, value in response.headers.items()
    )
    return response.status_code, response.content, headers


# --- The same responses as the full path -------------------------------------------------


@property_settings(60)
@given(
    generated=queries(schema._schema),
    roles=st.lists(st.sampled_from(list(Role)), min_size=2, max_size=2),
    form=st.sampled_from(FORMS),
)
async def test_generated_requests_answer_alike_ahead_of_the_full_path(
    demo_connection: AsyncConnection,
    generated: tuple[str, dict[str, Any]],
    roles: list[Role],
    form: str,
) -> None:
    """A request asked by one viewer, then three times by another: each response is the one
    the hub without a cache gives, byte for byte but for each request's own headers; and from
    the second time on, a successful answer comes ahead of the full path."""
    query, variables = generated
    savepoint = await demo_connection.begin_nested()
    try:
        keys = [await key_of_role(demo_connection, role) for role in roles]
        async with cached_and_plain(demo_connection, shortcut_settings()) as (cached, plain):
            await send(cached, query, form, keys[0], **variables)
            before = shortcuts()
            responses = [await send(cached, query, form, keys[1], **variables) for _ in range(3)]
            given_ahead = shortcuts() - before
            reference = await send(plain, query, form, keys[1], **variables)
        for response in responses:
            assert comparable(response) == comparable(reference)
        successful = reference.status_code == 200 and "errors" not in reference.json()
        assert given_ahead == (2 if successful else 0)
    finally:
        await savepoint.rollback()


# --- Only where the full path would give them ----------------------------------------------


async def test_a_write_drops_the_recorded_answer(committed_url: str, office_key: str) -> None:
    async with hub(committed_url, debug=False) as client:
        for _ in range(3):
            await send(client, CITY)
        for description in ("Neu.", "Neuer."):
            await describe_bitburg(client, office_key, description)
            before = shortcuts()
            first, again = [await send(client, CITY) for _ in range(2)]
            assert first.json()["data"]["city"]["description"] == description
            assert comparable(again) == comparable(first)
            # The first answer after the write is computed, the next one recorded anew.
            assert shortcuts() == before + 1


async def test_a_credential_is_checked_as_the_full_path_checks_it(committed_url: str) -> None:
    """Only while the authentication's cache holds it; a revoked key is then refused."""
    engine = create_async_engine(committed_url.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as connection, sessions_on(connection)() as session:
        key = await add_key(session, Role.ADMIN)  # its own: the module's office key stays
        await session.commit()
    async with hub(committed_url, debug=False) as client:
        answers = [await send(client, CITY, key=key) for _ in range(2)]
        before = shortcuts()
        assert comparable(await send(client, CITY, key=key)) == comparable(answers[1])
        assert shortcuts() == before + 1
        async with engine.begin() as connection:
            await connection.execute(delete(ApiKey).where(ApiKey.key_hash == hash_key(key)))
        await engine.dispose()
        client_app: Any = client._transport.app  # type: ignore[attr-defined]
        client_app.state.authentication.cache.entries.clear()
        refused = await send(client, CITY, key=key)
    assert refused.status_code == 401
    assert shortcuts() == before + 1


async def test_a_credential_whose_access_changed_gets_its_own_answer(
    committed_url: str,
) -> None:
    """A key made a coordinator's elsewhere no longer reads the contact persons it read as
    the office, once the authentication's cache has let go of it."""
    engine = create_async_engine(committed_url.replace("postgresql://", "postgresql+asyncpg://"))
    async with engine.begin() as connection, sessions_on(connection)() as session:
        key = await add_key(session, Role.ADMIN)
        await session.commit()
    async with hub(committed_url, debug=False) as client:
        for _ in range(2):
            office = await send(client, CONTACTS, key=key)
        async with engine.begin() as connection:
            elsewhere = select(City.id).where(City.slug != "bitburg").limit(1).scalar_subquery()
            await connection.execute(
                update(ApiKey)
                .where(ApiKey.key_hash == hash_key(key))
                .values(role=Role.COORDINATOR, city_id=elsewhere)
            )
        await engine.dispose()
        client_app: Any = client._transport.app  # type: ignore[attr-defined]
        client_app.state.authentication.cache.entries.clear()
        before = shortcuts()
        # The first resolves the key again; the second finds it in the cache.
        coordinator = [await send(client, CONTACTS, key=key) for _ in range(2)]
    assert shortcuts() == before
    assert office.json()["data"]["city"]["contacts"]
    assert [answer.json()["data"]["city"]["contacts"] for answer in coordinator] == [None, None]


async def test_a_client_over_its_budget_is_refused_as_the_full_path_refuses(
    committed_url: str,
) -> None:
    query = "{ cities(first: 20) { edges { node { slug } } } }"
    async with hub(committed_url, debug=False, rate_limit_public=50) as client:
        before = shortcuts()
        statuses = []
        for _ in range(3):
            response = await send(client, query)
            statuses.append(response.status_code)
        body = response.json()
    assert statuses == [200, 200, 429]
    assert [error["extensions"]["code"] for error in body["errors"]] == ["RATE_LIMITED"]
    assert response.headers["Retry-After"]
    assert shortcuts() == before + 1


@pytest.mark.parametrize(
    "headers",
    [{"Origin": "https://portal.example"}, {"If-None-Match": '"x"'}],
    ids=["cross-origin", "conditional"],
)
async def test_cross_origin_and_conditional_requests_take_the_full_path(
    committed_url: str, headers: dict[str, str]
) -> None:
    origins = ("https://portal.example",)
    async with hub(committed_url, debug=False, cors_origins=origins) as client:
        before = shortcuts()
        responses = [await send(client, CITY, "get", headers=headers) for _ in range(3)]
    assert shortcuts() == before
    if "Origin" in headers:
        assert all(r.headers["access-control-allow-origin"] == origins[0] for r in responses)


async def test_batches_and_registrations_of_persisted_queries_take_the_full_path(
    committed_url: str,
) -> None:
    extensions = {"persistedQuery": {"version": 1, "sha256Hash": query_hash(CITY)}}
    async with hub(committed_url, debug=False) as client:
        before = shortcuts()
        for _ in range(3):
            batch = await client.post("/graphql", json=[{"query": CITY}, {"query": CITY}])
            registered = await client.post(
                "/graphql", json={"query": CITY, "extensions": extensions}
            )
        assert shortcuts() == before
        for _ in range(3):
            by_hash = await client.get(
                "/graphql", params={"extensions": orjson.dumps(extensions).decode()}
            )
    # The registration kept the answer; the first GET records its request.
    assert shortcuts() == before + 2
    assert batch.status_code == 400  # the hub takes no batches
    assert registered.json() == by_hash.json()


async def test_a_body_arriving_in_parts_or_over_the_limit_is_answered_as_before(
    committed_url: str,
) -> None:
    body = orjson.dumps({"query": CITY})

    async def parts() -> AsyncIterator[bytes]:
        for start in range(0, len(body), 7):
            yield body[start : start + 7]

    headers = {"Content-Type": "application/json"}
    async with hub(committed_url, debug=False, max_body_bytes=len(body)) as client:
        answers = [
            await client.post("/graphql", content=parts(), headers=headers) for _ in range(3)
        ]
        too_large = await client.post("/graphql", content=body + b" ", headers=headers)
    assert all(answer.json()["data"]["city"] for answer in answers)
    assert too_large.status_code == 413


async def test_an_answer_ahead_of_the_full_path_logs_its_line(
    committed_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="engagement_hub.requests")
    query = 'query Bitburg { city(slug: "bitburg") { name } }'
    async with hub(committed_url, debug=False) as client:
        for _ in range(3):
            await send(client, query)
    lines = [getattr(record, FIELDS) for record in caplog.records if hasattr(record, FIELDS)]
    last = lines[-1]
    assert {name: last[name] for name in ("path", "status", "operation", "outcome")} == {
        "path": "/graphql",
        "status": 200,
        "operation": "Bitburg",
        "outcome": "ok",
    }
    assert (last["read_path"], last["sql_statements"]) == ("cached", 0)
    assert last["document_hash"] == lines[-2]["document_hash"]


def test_the_records_hold_their_bytes_least_recently_used_first_out() -> None:
    """10,000 distinct requests answered from the cache hold no more than the bound."""
    answer = Answer(b'{"city": null}', {"cost": {"requested": 1}}, None)
    known = KnownRequests(max_bytes=5_000)
    for number in range(10_000):
        recorded = Recorded(f"key {number}", answer, (), 200, (), b"x" * 100, OperationFigures())
        known.put(number.to_bytes(4, "big"), recorded)
        assert known.bytes <= known.max_bytes
    assert known.get((9_999).to_bytes(4, "big")) is not None
    assert known.get((0).to_bytes(4, "big")) is None
    assert known.bytes == sum(entry.size for entry in known.entries.values())


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
def test_a_write_in_one_process_is_read_in_the_other_within_100_ms(
    committed_url: str, office_key: str, shared: bool
) -> None:
    """Two real hub processes without debugging, the reader answering ahead of its full path
    until the writer's write: then the new answer within 100 ms of the commit."""
    settings = {"HUB_REDIS_URL": REDIS_URL} if shared else {}
    env = environment(DATABASE_URL=committed_url, **settings)
    ports = free_port(), free_port()
    writer, reader = (f"http://127.0.0.1:{port}/graphql" for port in ports)
    with serving(ports[0], env), serving(ports[1], env), httpx.Client() as client:
        city = client.post(writer, json={"query": CITY}).json()["data"]["city"]
        for round_ in range(3):
            before = shortcuts_of(client, reader)
            for _ in range(3):
                client.post(reader, json={"query": CITY})
            assert shortcuts_of(client, reader) > before
            description = f"Kurzweg {round_} ({'redis' if shared else 'local'})."
            mutation = """mutation($id: ID!, $description: String) {
              updateCity(id: $id, input: {description: $description}) { errors { message } } }"""
            written = client.post(
                writer,
                json={
                    "query": mutation,
                    "variables": {"id": city["id"], "description": description},
                },
                headers={"Authorization": f"Bearer {office_key}"},
            )
            committed = time.monotonic()
            assert written.json()["data"]["updateCity"]["errors"] == []
            while True:
                body = client.post(reader, json={"query": CITY}).json()
                waited = time.monotonic() - committed
                if body["data"]["city"]["description"] == description:
                    break
                assert waited < OTHER_PROCESS_SECONDS, f"stale after {waited:.3f} s"


def shortcuts_of(client: httpx.Client, graphql: str) -> float:
    """Answers a hub process has given ahead of its full path (its /metrics)."""
    metrics = client.get(graphql.removesuffix("/graphql") + "/metrics").text
    for family in text_string_to_metric_families(metrics):
        if family.name == "hub_response_cache_shortcuts":
            return float(sum(sample.value for sample in family.samples))
    raise AssertionError("no hub_response_cache_shortcuts_total in /metrics")
