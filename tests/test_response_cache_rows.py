"""The response cache by columns and rows (hub/response_cache.py): what the triggers announce
(alembic revision e81f4c2b9a63), what a write drops and keeps, and that the answers the cache
serves after random writes are the ones computed without it."""

import asyncio
import re
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any
from uuid import uuid4

import asyncpg
import httpx
import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import String, Text, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker, create_async_engine

from hub.database import asyncpg_dsn
from hub.response_cache import SLOTS, MemoryStore, ResponseCache, announced, dependencies
from models import Base
from resolvers.sources import SOURCE, Lookup
from schema import schema
from server import create_app
from tests.conftest import demo_database, drop_database
from tests.generated_queries import queries
from tests.helpers import property_settings
from tests.test_response_cache import (
    REDIS_URL,
    answer_of,
    ask,
    cached_settings,
    following,
    read_path,
    without_debug,
)

PAGE = "query City($slug: String!) { city(slug: $slug) { slug name website } }"
# A funder's portal, as the benchmark asks it: it reads the cities' slugs and names.
PORTAL = """
query FunderPortal($slug: String!) {
  funder(slug: $slug) {
    id slug name kind scope
    fundings(first: 20) {
      totalCount
      edges { node { id title startsOn city { slug name state { code name } } } }
    }
  }
}
"""
# A page of cities with its count and whether more follow (an EXISTS, whose select list
# decides nothing): it reads the cities' slugs and names, and which rows exist.
NAMES = """
{
  cities(first: 20) {
    totalCount pageInfo { hasNextPage hasPreviousPage } edges { node { slug name } }
  }
}
"""
WEBSITES = "{ cities(first: 100) { edges { node { slug website } } } }"
ROW_TRIGGERS = {
    "announce_inserted_rows",
    "announce_updated_rows",
    "announce_deleted_rows",
    "announce_truncation",
}


@pytest.fixture(scope="module")
async def committed_url(server_url: str) -> AsyncIterator[str]:
    """A demo database of this module's own, which its tests commit to."""
    url = await demo_database(server_url)
    yield url
    await drop_database(server_url, url)


async def committed(url: str, *statements: str) -> None:
    """Run `statements` in one transaction on `url`, and commit."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            for statement in statements:
                await connection.execute(statement)
    finally:
        await connection.close()


# --- What the triggers announce ------------------------------------------------------------


async def announcements(
    url: str, write: Callable[[asyncpg.Connection], Awaitable[Any]]
) -> list[dict[str, Any]]:
    """What `write` (committed in one transaction) announces on hub_row_changes, in order."""
    heard: list[str] = []
    done = asyncio.Event()
    end = f"#end {uuid4().hex}"

    def hear(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload == end:
            done.set()
        heard.append(payload)

    listener = await asyncpg.connect(asyncpg_dsn(url))
    writer = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await listener.add_listener("hub_row_changes", hear)
        async with writer.transaction():
            await write(writer)
        await writer.execute(f"NOTIFY hub_row_changes, '{end}'")
        await asyncio.wait_for(done.wait(), 5)
    finally:
        await writer.close()
        await listener.close()
    return [orjson.loads(payload) for payload in heard if not payload.startswith("#")]


def of_table(heard: list[dict[str, Any]], table: str) -> list[dict[str, Any]]:
    """The announcements of `table`."""
    return [change for change in heard if change["t"] == table]


def executing(*statements: str, copy: list[tuple[Any, ...]] | None = None) -> Any:
    """A write running `statements`, then a COPY of `copy`'s rows into themes."""

    async def write(connection: asyncpg.Connection) -> None:
        for statement in statements:
            await connection.execute(statement)
        if copy:
            columns = ["slug", "name_de", "name_en"]
            await connection.copy_records_to_table("themes", records=copy, columns=columns)

    return write


async def theme_ids(url: str, *slugs: str) -> list[int]:
    """The ids of the themes of `slugs`, in their order."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        rows = await connection.fetch("SELECT id, slug FROM themes WHERE slug = ANY($1)", slugs)
    finally:
        await connection.close()
    ids = {row["slug"]: row["id"] for row in rows}
    return [ids[slug] for slug in slugs]


async def test_writes_announce_their_columns_and_the_keys_of_their_rows(
    committed_url: str,
) -> None:
    insert = (
        "INSERT INTO themes (slug, name_de, name_en) VALUES ('t-a', 'A', 'A'), ('t-b', 'B', 'B')"
    )
    heard = of_table(await announcements(committed_url, executing(insert)), "themes")
    a, b = await theme_ids(committed_url, "t-a", "t-b")
    keys = sorted([f"id={a}", f"id={b}", "slug=t-a", "slug=t-b"])
    assert heard == [{"t": "themes", "c": None, "k": keys}]

    update = "UPDATE themes SET name_en = 'Ah' WHERE slug = 't-a'"
    heard = of_table(await announcements(committed_url, executing(update)), "themes")
    assert heard == [{"t": "themes", "c": ["name_en"], "k": sorted([f"id={a}", "slug=t-a"])}]

    # Two rows swapping their values: the set of values stays, each row's changed.
    swap = (
        "UPDATE themes SET name_de = CASE slug WHEN 't-a' THEN 'B' ELSE 'A' END "
        "WHERE slug IN ('t-a', 't-b')"
    )
    heard = of_table(await announcements(committed_url, executing(swap)), "themes")
    assert heard == [{"t": "themes", "c": ["name_de"], "k": keys}]

    unchanged = "UPDATE themes SET name_de = name_de WHERE slug IN ('t-a', 't-b')"
    assert of_table(await announcements(committed_url, executing(unchanged)), "themes") == []

    # A new primary key: a row went and another came.
    moved = f"UPDATE themes SET id = {a + 100_000} WHERE id = {a}"
    heard = of_table(await announcements(committed_url, executing(moved)), "themes")
    assert heard == [
        {"t": "themes", "c": None, "k": sorted([f"id={a}", f"id={a + 100_000}", "slug=t-a"])}
    ]

    delete = "DELETE FROM themes WHERE slug IN ('t-a', 't-b')"
    heard = of_table(await announcements(committed_url, executing(delete)), "themes")
    keys = sorted([f"id={a + 100_000}", f"id={b}", "slug=t-a", "slug=t-b"])
    assert heard == [{"t": "themes", "c": None, "k": keys}]


async def test_a_cascade_announces_the_rows_it_changed(committed_url: str) -> None:
    """A foreign key's ON DELETE SET NULL writes the rows that referred to the deleted one."""
    await committed(
        committed_url,
        "INSERT INTO themes (slug, name_de, name_en) VALUES ('t-gone', 'G', 'G')",
        "INSERT INTO working_groups (slug, name, theme_id) "
        "SELECT 'wg-orphan', 'W', id FROM themes WHERE slug = 't-gone'",
    )
    delete = "DELETE FROM themes WHERE slug = 't-gone'"
    heard = of_table(await announcements(committed_url, executing(delete)), "working_groups")
    assert [change["c"] for change in heard] == [["theme_id"]]
    assert "slug=wg-orphan" in heard[0]["k"]
    await committed(committed_url, "DELETE FROM working_groups WHERE slug = 'wg-orphan'")


async def test_copy_truncate_and_large_writes_announce_their_tables(committed_url: str) -> None:
    heard = of_table(
        await announcements(committed_url, executing(copy=[("t-copied", "C", "C")])), "themes"
    )
    (copied,) = await theme_ids(committed_url, "t-copied")
    assert heard == [{"t": "themes", "c": None, "k": [f"id={copied}", "slug=t-copied"]}]

    # More than 100 rows: any row.
    many = (
        "INSERT INTO themes (slug, name_de, name_en) "
        "SELECT 't-many-' || n, 'M', 'M' FROM generate_series(1, 101) n"
    )
    heard = of_table(await announcements(committed_url, executing(many)), "themes")
    assert heard == [{"t": "themes", "c": None, "k": None}]

    # 100 rows, but keys past what NOTIFY carries: any row.
    long_slugs = (
        "INSERT INTO themes (slug, name_de, name_en) "
        "SELECT 't-long-' || repeat('x', 60) || '-' || n, 'L', 'L' "
        "FROM generate_series(1, 100) n"
    )
    heard = of_table(await announcements(committed_url, executing(long_slugs)), "themes")
    assert heard == [{"t": "themes", "c": None, "k": None}]
    await committed(committed_url, "DELETE FROM themes WHERE slug LIKE 't-%'")

    truncate = "TRUNCATE statistics_stale"
    heard = of_table(await announcements(committed_url, executing(truncate)), "statistics_stale")
    assert heard == [{"t": "statistics_stale", "c": None, "k": None}]


async def test_every_table_announces_its_rows(demo_connection: AsyncConnection) -> None:
    """A table without the triggers would leave answers that read it stale forever."""
    rows = await demo_connection.execute(
        text(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE 'announce_%'"
        )
    )
    triggers: dict[str, set[str]] = {}
    for table, trigger in rows:
        triggers.setdefault(table, set()).add(trigger)
    for table in Base.metadata.tables:
        assert triggers.get(table, set()) >= ROW_TRIGGERS, table


async def test_every_lookup_finds_its_rows_by_an_announced_key(
    demo_connection: AsyncConnection,
) -> None:
    """A root lookup by a column the triggers do not announce would read any row's change
    as none of its own: a later lookup needs the triggers made anew for its column."""
    rows = await demo_connection.execute(
        text(
            "SELECT c.relname, encode(t.tgargs, 'escape') FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = 'announce_updated_rows'"
        )
    )
    keys = {table: set(arguments.split("\\000")[1].split(",")) for table, arguments in rows}
    lookups = list(schema_lookups())
    assert {"cities", "funders", "states"} <= {column.table.name for column in lookups}
    for column in lookups:
        assert column.name in keys[column.table.name], column


async def test_every_lookup_s_column_compares_as_its_text(demo_connection: AsyncConnection) -> None:
    """A row key is the column's value as text: a lookup finds the rows whose key is the
    value's text only where `=` compares the text as it is (integers, or text of a
    deterministic collation; not citext, char(n) or a case-insensitive collation)."""
    for column in schema_lookups():
        kind, collation = (
            await demo_connection.execute(
                text(
                    "SELECT a.atttypid::regtype::text, coalesce(l.collisdeterministic, true) "
                    "FROM pg_attribute a LEFT JOIN pg_collation l ON l.oid = a.attcollation "
                    "WHERE a.attrelid = CAST(:table AS regclass) AND a.attname = :column"
                ),
                {"table": column.table.name, "column": column.name},
            )
        ).one()
        assert kind in {"integer", "bigint", "text", "character varying"}, column
        assert collation, column


def schema_lookups() -> Any:
    """The columns the schema's root lookups find rows by."""
    for definition in schema.schema_converter.type_map.values():
        for field in getattr(definition.definition, "fields", ()):
            source = field.metadata.get(SOURCE) if field.metadata else None
            if isinstance(source, Lookup):
                yield source.column.__clause_element__()


# --- What a write drops and keeps ----------------------------------------------------------


def test_an_announcement_changes_what_reads_its_columns_at_its_rows() -> None:
    """Names meet where a reader of columns (at rows) meets a change of them (at rows)."""
    website_of_x = dependencies({"cities": (frozenset({"website", "slug"}), frozenset({"slug=x"}))})
    names_of_all = dependencies({"cities": (frozenset({"slug", "name"}), None)})
    websites = dependencies({"cities": (frozenset({"slug", "website"}), None)})
    cases = [
        ('{"t": "cities", "c": ["website"], "k": ["id=2", "slug=y"]}', [False, False, True]),
        ('{"t": "cities", "c": ["website"], "k": ["id=1", "slug=x"]}', [True, False, True]),
        ('{"t": "cities", "c": ["website"], "k": null}', [True, False, True]),
        ('{"t": "cities", "c": null, "k": ["id=3", "slug=z"]}', [False, True, True]),
        ('{"t": "cities", "c": null, "k": null}', [True, True, True]),
        ('{"t": "cities", "c": ["slug"], "k": ["id=1", "slug=w", "slug=x"]}', [True, True, True]),
        ('{"t": "funders", "c": null, "k": null}', [False, False, False]),
    ]
    for payload, expected in cases:
        changed = announced(payload)
        dropped = [bool(changed & reader) for reader in (website_of_x, names_of_all, websites)]
        assert dropped == expected, payload
    assert "#epoch" in announced("not an announcement")


async def test_names_sharing_a_slot_only_refuse_to_keep() -> None:
    names = {}
    for number in range(10_000):
        name = f"cities.website@id={number}"
        twin = names.setdefault(zlib.crc32(name.encode()) % SLOTS, name)
        if twin != name:
            break
    store = MemoryStore(10_000, 0)
    _nothing, before = await store.get("a")
    reader = frozenset({name})
    await store.changed([twin])
    await store.put("a", answer_of("{}"), reader, before)
    assert (await store.get("a"))[0] is None
    _nothing, after = await store.get("a")
    await store.put("a", answer_of("{}"), reader, after)
    assert (await store.get("a"))[0] is not None


@asynccontextmanager
async def hub_of(url: str, **changes: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    """A client of the app on `url` (its lifespan opened), and the app's response cache."""
    app = create_app(settings=cached_settings(database_url=url, **changes))
    async with app.router.lifespan_context(app):
        await following(app.state.answers)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            yield client, app.state.answers


async def until(client: httpx.AsyncClient, query: str, seen: Any, **variables: Any) -> Any:
    """The first answer to `query` in which `seen` holds (within 5 seconds)."""
    for _attempt in range(500):
        body = await ask(client, query, **variables)
        if seen(body):
            return body
        await asyncio.sleep(0.01)
    raise AssertionError(f"never seen: {body}")


async def cached_twice(client: httpx.AsyncClient, query: str, **variables: Any) -> None:
    """Ask `query` until the cache serves it."""
    await ask(client, query, **variables)
    assert read_path(await ask(client, query, **variables)) == "cached", query


async def is_cached(client: httpx.AsyncClient, query: str, **variables: Any) -> bool:
    """Whether the cache serves `query` now."""
    return read_path(await ask(client, query, **variables)) == "cached"


async def demo_slugs(url: str) -> tuple[str, str, str]:
    """Two cities' slugs, and the slug of a funder with fundings."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        cities = await connection.fetch("SELECT slug FROM cities ORDER BY id LIMIT 2")
        funder = await connection.fetchval(
            "SELECT f.slug FROM funders f WHERE EXISTS "
            "(SELECT FROM fundings g WHERE g.funder_id = f.id) ORDER BY f.id LIMIT 1"
        )
    finally:
        await connection.close()
    return cities[0]["slug"], cities[1]["slug"], funder


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
async def test_a_city_s_website_drops_its_page_and_keeps_the_others(
    committed_url: str, shared: bool
) -> None:
    x, y, funder = await demo_slugs(committed_url)
    website = f"https://{uuid4().hex}.example"
    async with hub_of(committed_url, redis_url=REDIS_URL if shared else None) as (client, _):
        for slug in (x, y):
            await cached_twice(client, PAGE, slug=slug)
        await cached_twice(client, PORTAL, slug=funder)
        await cached_twice(client, NAMES)
        await cached_twice(client, WEBSITES)
        await committed(
            committed_url, f"UPDATE cities SET website = '{website}' WHERE slug = '{y}'"
        )
        await until(client, PAGE, lambda body: body["data"]["city"]["website"] == website, slug=y)
        assert await is_cached(client, PAGE, slug=x)
        assert await is_cached(client, PORTAL, slug=funder)
        assert await is_cached(client, NAMES)
        assert not await is_cached(client, WEBSITES)


@pytest.mark.parametrize("shared", [False, True], ids=["in-process", "redis"])
async def test_a_new_city_and_a_new_slug_drop_the_pages_that_found_none(
    committed_url: str, shared: bool
) -> None:
    x, _y, _funder = await demo_slugs(committed_url)
    new, renamed = f"neu-{uuid4().hex[:8]}", f"umbenannt-{uuid4().hex[:8]}"
    cities = Base.metadata.tables["cities"].columns
    columns = [c.name for c in cities if not c.primary_key and c.computed is None]
    copied = ", ".join(f"'{new}'" if name == "slug" else name for name in columns)
    async with hub_of(committed_url, redis_url=REDIS_URL if shared else None) as (client, _):
        for slug in (x, new, renamed):
            await cached_twice(client, PAGE, slug=slug)
        await committed(
            committed_url,
            f"INSERT INTO cities ({', '.join(columns)}) "
            f"SELECT {copied} FROM cities WHERE slug = '{x}'",
        )
        await until(client, PAGE, lambda body: body["data"]["city"] is not None, slug=new)
        assert await is_cached(client, PAGE, slug=x)
        assert await is_cached(client, PAGE, slug=renamed)
        await cached_twice(client, PAGE, slug=new)
        await committed(committed_url, f"UPDATE cities SET slug = '{renamed}' WHERE slug = '{new}'")
        await until(client, PAGE, lambda body: body["data"]["city"] is None, slug=new)
        assert (await ask(client, PAGE, slug=renamed))["data"]["city"]["slug"] == renamed
        assert await is_cached(client, PAGE, slug=x)
    await committed(committed_url, f"DELETE FROM cities WHERE slug = '{renamed}'")


# --- After random writes, the answers computed ----------------------------------------------

# The tables the random writes change, and their columns a write may set.
WRITTEN = [
    "cities",
    "funders",
    "fundings",
    "states",
    "themes",
    "actors",
    "measures",
    "local_networks",
    "state_partnerships",
    "sectors",
    "working_groups",
    "contact_persons",
]


@pytest.fixture(scope="module", params=["in-process", "redis"])
async def two_hubs(
    committed_url: str, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[Any, ...]]:
    """A hub with the cache (in the process, or in Redis with the process's copies in front)
    and one without on the module's database, sessions on it, and the portals' queries of its
    cities, funders and states."""
    engine = create_async_engine(committed_url)
    portals = await portal_queries(committed_url)
    redis_url = REDIS_URL if request.param == "redis" else None
    async with (
        hub_of(committed_url, redis_url=redis_url) as (cached, answers),
        hub_of(committed_url, response_cache_bytes=0) as (plain, _none),
    ):
        sessions = async_sessionmaker(engine, expire_on_commit=False)
        yield cached, plain, answers, sessions, portals
    await engine.dispose()


async def portal_queries(url: str) -> list[tuple[str, dict[str, Any]]]:
    """City pages, funder portals and state pages of the demo data, found by their keys as
    literals (as `looked_up` reads them), and lists of cities, beside a city's page too."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        cities = await connection.fetch("SELECT slug FROM cities ORDER BY id LIMIT 8")
        funders = await connection.fetch("SELECT slug FROM funders ORDER BY id LIMIT 4")
        states = await connection.fetch("SELECT code FROM states ORDER BY code LIMIT 4")
    finally:
        await connection.close()
    city = '{ city(slug: "%s") { slug name website population state { code name } } }'
    funder = PORTAL.replace("($slug: String!)", "").replace("$slug", '"%s"')
    state = '{ state(code: "%s") { code name cities(first: 5) { edges { node { slug } } } } }'
    # A lookup beside a list of its table: the table is read at every row.
    beside = '{ city(slug: "%s") { slug } cities(first: 100) { edges { node { website } } } }'
    return [
        *((city % row["slug"], {}) for row in cities),
        *((funder % row["slug"], {}) for row in funders),
        *((state % row["code"].lower(), {}) for row in states),
        *((beside % row["slug"], {}) for row in cities[:2]),
        (NAMES, {}),
        (WEBSITES, {}),
    ]


def looked_up(generated: list[tuple[str, dict[str, Any]]]) -> list[tuple[str, str]]:
    """The columns and values the generated queries' root lookups find rows by."""
    found = re.findall(r'\b(slug|code): "([^"\\]*)"', " ".join(query for query, _ in generated))
    return [(column, value.upper() if column == "code" else value) for column, value in found]


def quoted(value: str) -> str:
    """`value` as an SQL string."""
    return "'" + value.replace("'", "''") + "'"


async def random_write(
    data: st.DataObject,
    sessions: async_sessionmaker[Any],
    answers: ResponseCache,
    lookups: list[tuple[str, str]],
) -> None:
    """Set a column of a row to another row's value, or append to a text, or delete the row;
    at times the row or the value is one the `lookups` look for. Committed, and heard by
    `answers` before it returns (a write the database refuses, as of a row others refer to,
    is none)."""
    table = Base.metadata.tables[data.draw(st.sampled_from(WRITTEN))]
    (key,) = [column.name for column in table.primary_key]
    written = [c for c in table.columns if not c.primary_key and c.computed is None]
    column = data.draw(st.sampled_from(written))
    row, other = data.draw(st.integers(0, 30)), data.draw(st.integers(0, 30))
    nth = f"(SELECT {key} FROM {table.name} ORDER BY {key} OFFSET {{}} LIMIT 1)"
    where = f"{key} = {nth.format(row)}"
    value = f"(SELECT {column.name} FROM {table.name} WHERE {key} = {nth.format(other)})"
    if isinstance(column.type, String | Text) and data.draw(st.booleans()):
        value = f"{column.name} || 'x'"
    targets = [(name, found) for name, found in lookups if name in table.columns]
    if targets and data.draw(st.booleans()):
        name, found = data.draw(st.sampled_from(targets))
        if name == column.name and data.draw(st.booleans()):
            value = quoted(found)
        else:
            where = f"{name} = {quoted(found)}"
    sql = f"UPDATE {table.name} SET {column.name} = {value} WHERE {where}"
    if data.draw(st.integers(0, 9)) == 0:
        sql = f"DELETE FROM {table.name} WHERE {where}"
    async with sessions() as session:
        token = None
        try:
            await session.execute(text(sql))
            token = await answers.announce_commit(session)
            await session.commit()
        except DBAPIError:
            await session.rollback()
            if token is not None:
                answers.forget_write(token)
            return
    if token is not None:
        await answers.heard_commit(token)


@property_settings(80)
@given(
    generated=st.lists(queries(schema._schema), min_size=3, max_size=3),
    data=st.data(),
)
async def test_answers_kept_across_random_writes_are_the_ones_computed(
    two_hubs: tuple[Any, ...], generated: list[tuple[str, dict[str, Any]]], data: st.DataObject
) -> None:
    """Kept answers of generated queries, then random single-row writes of random columns
    (and a deletion at times):
    every answer the cache then serves is the one a hub without the cache computes."""
    cached, plain, answers, sessions, portals = two_hubs
    generated = [*generated, *data.draw(st.lists(st.sampled_from(portals), min_size=1, max_size=3))]
    for query, variables in generated:
        await ask(cached, query, **variables)
    for _write in range(3):
        await random_write(data, sessions, answers, looked_up(generated))
        for query, variables in generated:
            served = await ask(cached, query, **variables)
            if read_path(served) != "cached":
                # Computed afresh: no business of the cache's (the resolver path may report
                # the errors of fields cut short by an error above them in another order).
                continue
            computed = await ask(plain, query, **variables)
            assert without_debug(served) == without_debug(computed), query
