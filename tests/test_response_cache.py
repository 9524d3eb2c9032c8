"""The response cache (hub/response_cache.py): answers kept per viewer, dropped by the writes
that change what they read, in the process that wrote and in every other."""

import asyncio
import re
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine

from hub.config import Settings
from hub.events import Events
from hub.features import detect
from hub.observability import REGISTRY
from hub.response_cache import (
    EPOCH,
    Answer,
    MemoryStore,
    RedisStore,
    ResponseCache,
    TieredStore,
    dependencies,
)
from models import Base, Role
from resolvers.executor import PLANS
from schema import schema
from server import create_app
from tests.conftest import demo_database, drop_database, sessions_on
from tests.factories import add_key
from tests.generated_queries import queries
from tests.helpers import property_settings
from tests.test_cli import environment, free_port, serving
from tests.test_compiled_path import key_of_role

CITY = '{ city(slug: "bitburg") { id name description } }'
CONTACTS = '{ city(slug: "bitburg") { name contacts { fullName } } }'
REDIS_URL = "redis://127.0.0.1:6379/0"
# An answer reading the cities' names at any row, and one reading anything.
CITY_NAMES = dependencies({"cities": (frozenset({"name"}), None)})
ANYTHING = dependencies(None)
CHANGED_CITIES = '{"t": "cities", "c": null, "k": null}'
# Read-your-writes in every other process: the bound the issue sets.
OTHER_PROCESS_SECONDS = 0.1


def cached_settings(**changes: Any) -> Settings:
    """The settings of a hub whose answers say how they were read."""
    return replace(Settings.from_env(), **({"debug": True, "redis_url": None} | changes))


@pytest.fixture(scope="module")
async def committed_url(server_url: str) -> AsyncIterator[str]:
    """A demo database of this module's own, which its tests commit to."""
    url = await demo_database(server_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="module")
async def office_key(committed_url: str) -> str:
    """An API key of the network office on the module's database."""
    engine = create_async_engine(committed_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with engine.begin() as connection, sessions_on(connection)() as session:
            key = await add_key(session, Role.ADMIN)
            await session.commit()
    finally:
        await engine.dispose()
    return key


@asynccontextmanager
async def hub(url: str, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app on `url`, opened by its own lifespan (database, events, cache)."""
    app = create_app(settings=cached_settings(database_url=url, **changes))
    async with app.router.lifespan_context(app):
        await following(app.state.answers)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client


async def following(answers: ResponseCache | None) -> None:
    """Wait until `answers` hears the writes (its listening connection is up)."""
    for _attempt in range(200):
        if answers is None or answers.trusted:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the response cache never started following the writes")


async def ask(
    client: httpx.AsyncClient, query: str, key: str | None = None, **variables: Any
) -> dict[str, Any]:
    """The body of a query's answer, asked as the holder of `key` (None: the public)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"query": query, "variables": variables}
    response = await client.post("/graphql", json=body, headers=headers)
    return dict(response.json())


def read_path(body: dict[str, Any]) -> str:
    """How the answer was read: compiled, prepared, resolvers or cached."""
    return str(body["extensions"]["debug"]["readPath"])


def without_debug(body: dict[str, Any]) -> dict[str, Any]:
    """The body as a client without debugging sees it."""
    extensions = {name: value for name, value in body["extensions"].items() if name != "debug"}
    return {**body, "extensions": extensions}


async def describe_bitburg(client: httpx.AsyncClient, key: str, description: str) -> None:
    """Change Bitburg's description through the API, as the office."""
    city = await ask(client, CITY, key)
    mutation = """mutation($id: ID!, $description: String) {
      updateCity(id: $id, input: {description: $description}) { errors { message } } }"""
    variables = {"id": city["data"]["city"]["id"], "description": description}
    body = await ask(client, mutation, key, **variables)
    assert body["data"]["updateCity"]["errors"] == [], body


# --- Every write announces its tables --------------------------------------------------


async def test_every_table_announces_its_writes(demo_connection: AsyncConnection) -> None:
    """A table without the trigger would leave answers that read it stale forever."""
    announcing = await demo_connection.scalars(
        text(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname = 'announce_change'"
        )
    )
    assert set(Base.metadata.tables) <= set(announcing)


# --- Kept and served ---------------------------------------------------------------------


async def test_an_answer_asked_again_comes_from_the_cache_alike(committed_url: str) -> None:
    hits = REGISTRY.get_sample_value("hub_response_cache_hits_total") or 0
    async with hub(committed_url) as client:
        first = await ask(client, CITY)
        again = await ask(client, CITY)
        metrics = (await client.get("/metrics")).text
    assert REGISTRY.get_sample_value("hub_response_cache_hits_total") == hits + 1
    for name in ("hits_total", "misses_total", "invalidations_total", "evictions_total", "bytes"):
        assert f"hub_response_cache_{name} " in metrics
    assert read_path(first) in {"compiled", "prepared"}
    assert read_path(again) == "cached"
    assert again["extensions"]["debug"]["sqlStatements"] == 0
    assert without_debug(again) == without_debug(first)


async def test_a_write_through_the_api_is_read_at_once(committed_url: str, office_key: str) -> None:
    async with hub(committed_url) as client:
        await ask(client, CITY)
        for description in ("Erste Fassung.", "Zweite Fassung."):
            await describe_bitburg(client, office_key, description)
            body = await ask(client, CITY)
            assert body["data"]["city"]["description"] == description
            assert read_path(body) != "cached"


async def test_a_write_by_anyone_else_drops_what_it_changed(committed_url: str) -> None:
    """psql, an import: any committed write, not only the API's."""
    async with hub(committed_url) as client:
        await ask(client, CITY)
        assert read_path(await ask(client, CITY)) == "cached"
        engine = create_async_engine(
            committed_url.replace("postgresql://", "postgresql+asyncpg://")
        )
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE cities SET description = 'Von außen.' WHERE slug = 'bitburg'")
            )
        await engine.dispose()
        body = await eventually(client, CITY, lambda body: body["data"]["city"]["description"])
        assert body["data"]["city"]["description"] == "Von außen."


async def eventually(
    client: httpx.AsyncClient, query: str, seen: Any, expected: Any = "Von außen."
) -> dict[str, Any]:
    """The first answer to `query` in which `seen` finds `expected` (within 5 seconds)."""
    deadline = time.monotonic() + 5
    while True:
        body = await ask(client, query)
        if seen(body) == expected or time.monotonic() > deadline:
            return body
        await asyncio.sleep(0.005)


async def test_a_write_to_a_table_the_answer_does_not_read_keeps_it(
    committed_url: str,
) -> None:
    async with hub(committed_url) as client:
        await ask(client, CITY)
        engine = create_async_engine(
            committed_url.replace("postgresql://", "postgresql+asyncpg://")
        )
        async with engine.begin() as connection:
            await connection.execute(text("UPDATE themes SET name_de = name_de"))
        await engine.dispose()
        await asyncio.sleep(0.2)
        assert read_path(await ask(client, CITY)) == "cached"


async def test_every_viewer_gets_its_own_answer(committed_url: str, office_key: str) -> None:
    """The office's answer holds contact persons; the public asking the same gets its own."""
    async with hub(committed_url) as client:
        office = await ask(client, CONTACTS, office_key)
        public = await ask(client, CONTACTS)
        public_again = await ask(client, CONTACTS)
    assert office["data"]["city"]["contacts"]
    assert "errors" not in office
    assert public["data"]["city"]["contacts"] is None
    assert [error["extensions"]["code"] for error in public["errors"]] == ["FORBIDDEN"]
    # An answer with errors is never kept: it is computed each time.
    assert read_path(public_again) != "cached"
    assert without_debug(public_again) == without_debug(public)


async def test_mutations_are_never_kept(committed_url: str, office_key: str) -> None:
    async with hub(committed_url) as client:
        for description in ("Eins.", "Eins."):
            await describe_bitburg(client, office_key, description)
        mutation = """mutation { updateCity(id: "x", input: {}) { errors { message } } }"""
        paths = [read_path(await ask(client, mutation, office_key)) for _ in range(2)]
    assert "cached" not in paths


async def test_an_answer_from_the_cache_costs_what_computing_it_would(
    committed_url: str,
) -> None:
    query = "{ cities(first: 20) { edges { node { slug } } } }"
    for charged, expected in (("computed", [20, 20]), ("free", [20, 0])):
        settings = {"response_cache_charge": charged == "computed", "rate_limit_public": 3600}
        async with hub(committed_url, **settings) as client:
            spent = []
            for _ in range(2):
                response = await client.post("/graphql", json={"query": query})
                left = int(response.headers["X-RateLimit-Remaining"])
                spent.append(int(response.headers["X-RateLimit-Limit"]) - left)
                assert response.json()["extensions"]["cost"]["requested"] == 20
        assert [spent[0], spent[1] - spent[0]] == expected, charged


async def test_without_the_cache_nothing_is_kept(committed_url: str) -> None:
    async with hub(committed_url, response_cache_bytes=0) as client:
        paths = [read_path(await ask(client, CITY)) for _ in range(3)]
    assert "cached" not in paths


async def test_a_process_that_stops_hearing_the_writes_serves_nothing_kept(
    committed_url: str,
) -> None:
    app = create_app(settings=cached_settings(database_url=committed_url))
    async with app.router.lifespan_context(app):
        answers: ResponseCache = app.state.answers
        await following(answers)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            await ask(client, CITY)
            answers.following(False)
            await asyncio.sleep(0.05)
            assert read_path(await ask(client, CITY)) != "cached"
            answers.following(True)
            await following(answers)
            # Everything kept before may be stale: it is asked anew.
            assert read_path(await ask(client, CITY)) != "cached"
            assert read_path(await ask(client, CITY)) == "cached"


# --- Two processes -------------------------------------------------------------------------


@contextmanager
def two_hubs(url: str, **settings: str) -> Iterator[tuple[str, str]]:
    """Two hub processes on `url` (with these settings), as their GraphQL addresses."""
    env = environment(DATABASE_URL=url, HUB_DEBUG="1", **settings)
    ports = free_port(), free_port()
    with serving(ports[0], env), serving(ports[1], env):
        yield tuple(f"http://127.0.0.1:{port}/graphql" for port in ports)  # type: ignore[misc]


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
def test_a_write_in_one_process_is_read_in_the_other_within_100_ms(
    committed_url: str, office_key: str, shared: bool
) -> None:
    settings = {"HUB_REDIS_URL": REDIS_URL} if shared else {}
    with two_hubs(committed_url, **settings) as (writer, reader), httpx.Client() as client:
        city = client.post(writer, json={"query": CITY}).json()["data"]["city"]
        for round_ in range(5):
            client.post(reader, json={"query": CITY})
            cached = client.post(reader, json={"query": CITY}).json()
            assert read_path(cached) == "cached"
            description = f"Runde {round_} ({'redis' if shared else 'local'})."
            variables = {"id": city["id"], "description": description}
            mutation = """mutation($id: ID!, $description: String) {
              updateCity(id: $id, input: {description: $description}) { errors { message } } }"""
            written = client.post(
                writer,
                json={"query": mutation, "variables": variables},
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
            # Read-your-writes in the process that wrote: at once.
            own = client.post(writer, json={"query": CITY}).json()
            assert own["data"]["city"]["description"] == description


# --- The stores ----------------------------------------------------------------------------


def answer_of(data: str) -> Answer:
    """An answer holding `data`."""
    return Answer(data.encode(), {"cost": {"requested": 1}}, "Named")


@asynccontextmanager
async def store_of(kind: str, max_bytes: int = 10_000, max_age: float = 0) -> AsyncIterator[Any]:
    """A store of `kind` (memory, redis, or tiered: the process's in front of Redis), emptied
    of what earlier tests kept."""
    if kind == "memory":
        yield MemoryStore(max_bytes, max_age)
        return
    async with shared_store(f"hub:answers:test-{time.monotonic_ns()}:", max_age) as shared:
        yield shared if kind == "redis" else TieredStore(MemoryStore(max_bytes, max_age), shared)


@asynccontextmanager
async def shared_store(prefix: str, max_age: float = 0) -> AsyncIterator[RedisStore]:
    """A store in Redis under `prefix`, its sequence and slots deleted afterwards."""
    store = RedisStore(REDIS_URL, prefix, max_age)
    try:
        yield store
    finally:
        await store.client.delete(store.sequence_key, store.slots_key)
        await store.close()


@pytest.mark.parametrize("kind", ["memory", "redis", "tiered"])
async def test_a_store_keeps_answers_until_a_name_they_depend_on_changes(kind: str) -> None:
    async with store_of(kind) as store:
        _nothing, sequence = await store.get("city")
        await store.put("city", answer_of('{"city": 1}'), CITY_NAMES, sequence)
        await store.put("any", answer_of('{"_service": 1}'), ANYTHING, sequence)
        assert (await store.get("city"))[0] == answer_of('{"city": 1}')
        await store.changed(["themes.name", "cities.website", "#any"])
        assert (await store.get("city"))[0] is not None
        assert (await store.get("any"))[0] is None
        await store.changed(["cities.name"])
        assert (await store.get("city"))[0] is None


@pytest.mark.parametrize("kind", ["memory", "redis", "tiered"])
async def test_an_answer_computed_while_what_it_read_changed_is_not_kept(kind: str) -> None:
    async with store_of(kind) as store:
        _nothing, before = await store.get("city")
        await store.changed(["cities.#row"])
        await store.put("city", answer_of("{}"), CITY_NAMES, before)
        assert (await store.get("city"))[0] is None
        _nothing, after = await store.get("city")
        await store.put("city", answer_of("{}"), CITY_NAMES, after)
        assert (await store.get("city"))[0] is not None


@pytest.mark.parametrize("kind", ["memory", "redis", "tiered"])
async def test_a_lost_track_of_the_writes_forgets_everything(kind: str) -> None:
    async with store_of(kind) as store:
        _nothing, sequence = await store.get("city")
        await store.put("city", answer_of("{}"), CITY_NAMES, sequence)
        await store.changed([EPOCH])
        assert (await store.get("city"))[0] is None


async def test_a_process_keeps_a_copy_of_what_redis_holds_until_it_hears_a_change() -> None:
    prefix = f"hub:answers:test-{time.monotonic_ns()}:"
    async with shared_store(prefix) as shared, shared_store(prefix) as other_shared:
        computing = TieredStore(MemoryStore(10_000, 0), shared)
        asking = TieredStore(MemoryStore(10_000, 0), other_shared)
        _nothing, sequence = await computing.get("city")
        await computing.put("city", answer_of('{"city": 1}'), CITY_NAMES, sequence)
        assert (await asking.get("city"))[0] == answer_of('{"city": 1}')
        await shared.client.delete(shared.prefix + "city")  # gone from Redis: the copy stays
        assert (await asking.get("city"))[0] == answer_of('{"city": 1}')
        await asking.changed(["themes.name"])
        assert (await asking.get("city"))[0] is not None
        await asking.changed(["cities.name"])
        assert (await asking.get("city"))[0] is None


async def test_a_request_while_a_change_is_heard_keeps_no_stale_copy() -> None:
    """A request that asks between the change's two stores (whichever comes first) finds no
    answer, or copies one the change then drops."""
    async with shared_store(f"hub:answers:test-{time.monotonic_ns()}:") as shared:
        tiered = TieredStore(MemoryStore(10_000, 0), shared)
        await shared.put("city", answer_of('{"city": "old"}'), CITY_NAMES, 0)
        asked: list[Answer | None] = []

        def then_ask(changed: Any) -> Any:
            async def changed_then_ask(names: Any) -> None:
                await changed(names)
                if not asked:
                    asked.append((await tiered.get("city"))[0])

            return changed_then_ask

        tiered.local.changed = then_ask(tiered.local.changed)  # type: ignore[method-assign]
        tiered.shared.changed = then_ask(tiered.shared.changed)  # type: ignore[method-assign]
        await tiered.changed(["cities.name"])
        assert len(asked) == 1
        assert (await tiered.get("city"))[0] is None


async def test_a_copy_from_redis_is_as_old_as_the_answer_there() -> None:
    prefix = f"hub:answers:test-{time.monotonic_ns()}:"
    async with shared_store(prefix, max_age=0.3) as shared:
        tiered = TieredStore(MemoryStore(10_000, max_age=0.3), shared)
        await shared.put("city", answer_of("{}"), CITY_NAMES, 0)
        await asyncio.sleep(0.2)
        assert (await tiered.get("city"))[0] is not None
        await asyncio.sleep(0.15)
        assert (await tiered.get("city"))[0] is None


async def test_an_answer_redis_holds_without_its_names_is_served_but_not_copied() -> None:
    async with shared_store(f"hub:answers:test-{time.monotonic_ns()}:") as shared:
        local = MemoryStore(10_000, 0)
        tiered = TieredStore(local, shared)
        await shared.put("city", answer_of("{}"), CITY_NAMES, 0)
        await shared.client.hdel(shared.prefix + "city", "names")  # as an earlier release kept it
        assert (await tiered.get("city"))[0] == answer_of("{}")
        assert local.entries == {}


async def test_the_memory_store_holds_its_bytes_least_recently_used_first_out() -> None:
    size = len(answer_of("x" * 100).packed())
    store = MemoryStore(max_bytes=3 * size, max_age=0)
    for name in "abc":
        await store.put(name, answer_of("x" * 100), CITY_NAMES, 0)
    await store.get("a")
    await store.put("d", answer_of("x" * 100), CITY_NAMES, 0)
    assert [name for name in "abcd" if (await store.get(name))[0] is not None] == ["a", "c", "d"]
    assert store.bytes == 3 * size
    await store.changed(["cities.#row"])
    assert store.bytes == 0 and not store.by_name.get("cities.#row")
    await store.put("huge", answer_of("x" * 10 * size), CITY_NAMES, 0)
    assert (await store.get("huge"))[0] is None


async def test_an_answer_older_than_the_maximum_age_is_not_served() -> None:
    store = MemoryStore(max_bytes=10_000, max_age=0.05)
    await store.put("a", answer_of("{}"), ANYTHING, 0)
    assert (await store.get("a"))[0] is not None
    await asyncio.sleep(0.1)
    assert (await store.get("a"))[0] is None


# --- Many asking at once for what is being computed --------------------------------------


@dataclass
class StoreReads:
    """How many reads of a store have returned."""

    count: int = 0


@asynccontextmanager
async def cache_of(kind: str) -> AsyncIterator[tuple[ResponseCache, StoreReads]]:
    """A response cache on a store of `kind`, trusted as if it heard the writes, and the
    count of its store's reads."""
    async with store_of(kind) as store:
        reads = StoreReads()
        read = store.get

        async def counted(key: str) -> Any:
            found = await read(key)
            reads.count += 1
            return found

        store.get = counted
        answers = ResponseCache(store, charge=True)
        answers.trusted = True
        yield answers, reads


async def waiting(answers: ResponseCache, reads: StoreReads, key: str) -> asyncio.Task[Any]:
    """A lookup of `key` started, its store read, and waiting (for an answer under way)."""
    before = reads.count
    task = asyncio.ensure_future(answers.lookup(key))
    for _attempt in range(5000):
        if reads.count > before:
            break
        await asyncio.sleep(0.001)
    await asyncio.sleep(0)
    assert not task.done(), "it did not wait"
    return task


@pytest.mark.parametrize("kind", ["memory", "redis", "tiered"])
async def test_requests_asking_for_an_answer_under_way_wait_for_it(kind: str) -> None:
    async with cache_of(kind) as (answers, reads):
        answer, ticket = await answers.lookup("city")
        assert answer is None and ticket is not None
        twins = [await waiting(answers, reads, "city") for _ in range(3)]
        coalesced = REGISTRY.get_sample_value("hub_response_cache_coalesced_total") or 0
        twins[0].cancel()  # one gives up: the others still get the answer
        answers.settle(ticket, answer_of('{"city": 1}'))
        assert await asyncio.gather(*twins[1:]) == [(answer_of('{"city": 1}'), None)] * 2
        assert REGISTRY.get_sample_value("hub_response_cache_coalesced_total") == coalesced + 2
        assert answers.computing == {}


@pytest.mark.parametrize("kind", ["memory", "redis", "tiered"])
async def test_nobody_waits_for_an_answer_begun_before_a_change_was_heard(kind: str) -> None:
    async with cache_of(kind) as (answers, reads):
        _answer, before = await answers.lookup("city")
        await answers.store.changed(["cities.website"])
        _answer, after = await asyncio.wait_for(answers.lookup("city"), 5)
        assert after is not None and after.sequence > before.sequence  # type: ignore[union-attr]
        answers.settle(before, answer_of('{"city": "old"}'))  # type: ignore[arg-type]
        twin = await waiting(answers, reads, "city")
        answers.settle(after, answer_of('{"city": "new"}'))
        assert await twin == (answer_of('{"city": "new"}'), None)


async def test_a_computation_that_keeps_nothing_lets_its_waiters_compute() -> None:
    async with cache_of("memory") as (answers, reads):
        _answer, ticket = await answers.lookup("city")
        twin = await waiting(answers, reads, "city")
        answers.settle(ticket, None)  # type: ignore[arg-type]
        answer, own = await twin
        assert answer is None and own is not None and answers.computing == {"city": own}


async def test_twenty_clients_asking_at_once_cost_one_statement(committed_url: str) -> None:
    query = '{ city(slug: "bitburg") { name localNetwork { actors(first: 5) { totalCount } } } }'
    async with hub(committed_url) as client:
        bodies = await asyncio.gather(*(ask(client, query) for _ in range(20)))
    assert sum(body["extensions"]["debug"]["sqlStatements"] for body in bodies) == 1
    assert sorted(read_path(body) for body in bodies).count("cached") == 19
    assert len({orjson.dumps(without_debug(body)) for body in bodies}) == 1


async def test_a_cache_whose_redis_is_down_answers_nothing_kept_and_fails_nothing() -> None:
    refusing = RedisStore(f"redis://127.0.0.1:{free_port()}/0", "hub:answers:down:", 0)
    answers = ResponseCache(refusing, charge=True)
    answers.following(True)
    await asyncio.sleep(0.1)
    assert not answers.trusted
    assert await answers.lookup("key") == (None, None)
    answers.changed(CHANGED_CITIES)
    await asyncio.sleep(0.1)
    assert not answers.trusted
    await answers.close()
    # Closed, it tries no more (a retry after the test would log into another's records).
    assert answers.retry is not None and answers.retry.cancelled()
    answers.changed(CHANGED_CITIES)
    assert answers.heard.empty()


# --- Over the whole schema -------------------------------------------------------------------


async def explained_reads(
    connection: AsyncConnection, sql: str, values: tuple[Any, ...]
) -> dict[str, set[str]]:
    """The tables PostgreSQL's plan of `sql` scans, with the columns it shows of each as
    `alias.column` anywhere in the plan (a whole row, `alias.*`: all of them). A scan that
    emits every column of its table (a physical target list: PostgreSQL saves a projection,
    whatever the statement uses) shows them in its output: that output is left out, the
    nodes above show what they use."""
    raw = await connection.get_raw_connection()
    plan = await raw.driver_connection.fetchval(f"EXPLAIN (VERBOSE, FORMAT JSON) {sql}", *values)
    if isinstance(plan, str | bytes):
        plan = orjson.loads(plan)
    aliases: dict[str, str] = {}
    texts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if "Relation Name" in node:
                aliases[node["Alias"]] = node["Relation Name"]
                emits_all = physical(node)
                node = {
                    name: value for name, value in node.items() if name != "Output" or not emits_all
                }
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            texts.append(node)

    def physical(scan: dict[str, Any]) -> bool:
        columns = Base.metadata.tables[scan["Relation Name"]].columns.keys()
        emitted = {shown.replace('"', "") for shown in scan.get("Output", ())}
        return emitted == {f"{scan['Alias']}.{name}" for name in columns}

    walk(plan)
    found: dict[str, set[str]] = {table: set() for table in aliases.values()}
    for alias, table in aliases.items():
        shown = re.compile(rf'(?<![\w."]){re.escape(alias)}\.(\*|"[^"]+"|\w+)')
        for text_ in texts:
            for match in shown.finditer(text_):
                column = match.group(1).strip('"')
                whole = column == "*"
                found[table] |= (
                    set(Base.metadata.tables[table].columns.keys()) if whole else {column}
                )
    return found


@property_settings(60)
@given(
    generated=queries(schema._schema),
    roles=st.lists(st.sampled_from(list(Role)), min_size=2, max_size=2),
)
async def test_generated_queries_answer_alike_from_the_cache_for_every_viewer(
    demo_connection: AsyncConnection, generated: tuple[str, dict[str, Any]], roles: list[Role]
) -> None:
    """A query asked by one viewer, then twice by another: the other's answers are its own,
    as computed without the cache; and every plan knows every table PostgreSQL reads for it,
    and every column it shows of each."""
    query, variables = generated
    savepoint = await demo_connection.begin_nested()
    try:
        keys = [await key_of_role(demo_connection, role) for role in roles]
        bodies = []
        async with cached_and_plain(demo_connection, cached_settings()) as (cached, plain):
            await ask(cached, query, keys[0], **variables)
            for _ in range(2):
                bodies.append(await ask(cached, query, keys[1], **variables))
            reference = await ask(plain, query, keys[1], **variables)
        for body in bodies:
            assert without_debug(body) == without_debug(reference)
        for key, entry in PLANS.documents.items():
            if key[0] == query:
                for plan in entry.plans.values():
                    if plan is not None:
                        read = await explained_reads(demo_connection, plan.sql, plan.values)
                        assert set(read) <= plan.tables
                        for table, columns in read.items():
                            assert columns <= plan.columns[table], (table, query)
    finally:
        await savepoint.rollback()


@asynccontextmanager
async def cached_and_plain(
    connection: AsyncConnection, settings: Settings
) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    """Clients of two apps in the test's transaction, one with the response cache and one
    without; no write commits there, so the cache may trust it hears them all."""
    features = await detect(connection)
    events = Events("postgresql://unused")
    cached_app = create_app(
        sessions_on(connection), events=events, settings=settings, features=features
    )
    cached_app.state.answers.trusted = True
    plain_app = create_app(sessions_on(connection), settings=settings, features=features)
    async with client_of(cached_app) as cached, client_of(plain_app) as plain:
        yield cached, plain


@asynccontextmanager
async def client_of(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client of `app`, without its lifespan."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client
