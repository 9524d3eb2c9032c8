"""Keyset cursors, on both read paths: pages follow each other without repeating or skipping
a row whatever is added or removed between them, and no cursor a client sends is more than
its own mistake (BAD_USER_INPUT)."""

import base64
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

import models
from hub.config import Settings
from hub.features import detect
from resolvers.executor import PLANS
from server import create_app
from tests.conftest import sessions_on
from tests.factories import add_key
from tests.generated_queries import cursor
from tests.helpers import property_settings

_numbers = itertools.count(1)

PAGE = """pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { id } }"""


@asynccontextmanager
async def client_of(
    connection: AsyncConnection, compiled: bool
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app, answering on the compiled path or on the resolvers only."""
    settings = replace(Settings.from_env(), compiled=compiled)
    app = create_app(sessions_on(connection), settings=settings, features=await detect(connection))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def post(client: httpx.AsyncClient, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    """The response body of a query."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def ask(
    connection: AsyncConnection, compiled: bool, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The response body of the app, on the compiled path or on the resolvers only."""
    async with client_of(connection, compiled) as client:
        return await post(client, query, variables)


async def add_city(connection: AsyncConnection, name: str, **fields: Any) -> int:
    """A new city named `name` in North Rhine-Westphalia; its id."""
    number = next(_numbers)
    values = {
        "slug": f"stadt-{number}",
        "name": name,
        "kind": models.CityKind.CITY,
        "status": models.MembershipStatus.MEMBER,
        "state_code": "NW",
    }
    statement = insert(models.City).values(values | fields).returning(models.City.id)
    return int((await connection.execute(statement)).scalar_one())


BOTH_PATHS = pytest.mark.parametrize("compiled", [True, False], ids=["compiled", "resolvers"])


@BOTH_PATHS
async def test_a_row_added_before_the_cursor_is_not_repeated(
    demo_connection: AsyncConnection, compiled: bool
) -> None:
    """Finding 13: offset cursors counted the new row and repeated the last one."""
    query = "query($after: String) { cities(first: 3, after: $after) { " + PAGE + " } }"
    first = (await ask(demo_connection, compiled, query, {"after": None}))["data"]["cities"]
    await add_city(demo_connection, "AAA Vorneweg")
    end = first["pageInfo"]["endCursor"]
    second = (await ask(demo_connection, compiled, query, {"after": end}))["data"]["cities"]
    seen = [edge["node"]["id"] for edge in first["edges"] + second["edges"]]
    assert len(seen) == len(set(seen)) == 6


@BOTH_PATHS
async def test_before_earlier_than_after_is_an_empty_page(
    demo_connection: AsyncConnection, compiled: bool
) -> None:
    """Finding 7: the compiled path's LIMIT went negative ("Unexpected error.")."""
    query = "{ cities(first: 10) { edges { cursor } } }"
    edges = (await ask(demo_connection, compiled, query, {}))["data"]["cities"]["edges"]
    late, early = edges[8]["cursor"], edges[2]["cursor"]
    query = """query($after: String, $before: String) {
        cities(first: 3, after: $after, before: $before) { totalCount
          pageInfo { hasNextPage hasPreviousPage } edges { node { id } } } }"""
    body = await ask(demo_connection, compiled, query, {"after": late, "before": early})
    assert "errors" not in body, body
    page = body["data"]["cities"]
    assert page["edges"] == [] and page["totalCount"] == 104
    assert page["pageInfo"]["hasPreviousPage"] and page["pageInfo"]["hasNextPage"]


def encoded(text: str) -> str:
    """Base64 of a text, as a cursor would be."""
    return base64.b64encode(text.encode()).decode()


# (connection field, its orderBy, the cursor)
BAD_CURSORS = {
    "an offset cursor of old": ("cities", None, encoded("arrayconnection:5")),
    "an offset beyond int64": ("cities", None, encoded("arrayconnection:99999999999999999999999")),
    "not base64": ("cities", None, "not a cursor!"),
    "base64 of no JSON": ("cities", None, encoded("nope")),
    "JSON nested deeply": ("cities", None, encoded("[" * 5000)),
    "another version": ("cities", None, encoded('[2, "Query.cities", "A", "1"]')),
    "another connection": ("cities", None, cursor("State.cities", "A", "1")),
    "another order": ("cities", None, cursor("Query.cities:population_desc", "1", "A", "1")),
    "too few values": ("cities", None, cursor("Query.cities", "A")),
    "an id beyond int4": ("cities", None, cursor("Query.cities", "A", "99999999999999999999")),
    "an id in other digits": ("cities", None, cursor("Query.cities", "A", "\u0665\u0668")),
    "a number for text": ("cities", None, encoded('[1, "Query.cities", 5, "1"]')),
    "a NUL in text": ("cities", None, cursor("Query.cities", "A\x00", "1")),
    "a lone surrogate": ("cities", None, encoded('[1, "Query.cities", "\\ud800", "1"]')),
    "a date no date": (
        "cities",
        "JOINED_ON",
        cursor("Query.cities:joined_on", "2020-13-45", "A", "1"),
    ),
    "an amount no number": (
        "fundings",
        "AMOUNT_DESC",
        cursor("Query.fundings:amount_desc", "1e5", "2020-01-01", "1"),
    ),
}


@BOTH_PATHS
@pytest.mark.parametrize("argument", ["after", "before"])
@pytest.mark.parametrize(("field", "order", "value"), BAD_CURSORS.values(), ids=BAD_CURSORS.keys())
async def test_a_cursor_not_of_the_connection_is_the_clients_mistake(
    demo_connection: AsyncConnection,
    compiled: bool,
    argument: str,
    field: str,
    order: str | None,
    value: str,
) -> None:
    """Finding 7 and the class: old, forged, malformed, foreign and out-of-range cursors."""
    ordered = f"orderBy: {order}, " if order else ""
    query = f"query($cursor: String) {{ {field}({ordered}{argument}: $cursor) {{ totalCount }} }}"
    body = await ask(demo_connection, compiled, query, {"cursor": value})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    assert f"Argument '{argument}'" in error["message"]


# Connections to walk: the field (with its parent, for nested ones), its orders, and its table.
WALKS = [
    ("{field}", "cities", ["NAME", "POPULATION_DESC", "JOINED_ON", "JOINED_ON_DESC", None]),
    ('state(code: "NW") {{ {field} }}', "cities", ["POPULATION_DESC", "JOINED_ON", None]),
    ("{field}", "fundings", ["STARTS_ON", "AMOUNT_DESC", None]),
    ('funder(slug: "bmfsfj") {{ {field} }}', "fundings", ["AMOUNT_DESC", None]),
]
NAMES = ["Aachen", "Bonn", "Köln", "Zwickau", "AAA", "zzz", "Mitte"]
DAYS = [None, date(2019, 1, 1), date(2022, 6, 30), date(2024, 1, 1)]
CHANGES = st.one_of(
    st.tuples(
        st.just("city"),
        st.sampled_from(NAMES),
        st.sampled_from([None, 0, 50_000, 1_000_000]),
        st.sampled_from(DAYS),
    ),
    st.tuples(
        st.just("funding"),
        st.integers(0, 30),
        st.sampled_from(["0", "5000", "1000000"]),
        st.booleans(),
        st.sampled_from([date(2019, 1, 1), date(2022, 6, 30), date(2024, 1, 1)]),
    ),
    st.tuples(st.just("delete"), st.integers(0, 10)),
)


@st.composite
def walks(draw: st.DrawFn) -> dict[str, Any]:
    """A connection in an order, a direction and page size, and changes between its pages."""
    parent, field, orders = draw(st.sampled_from(WALKS))
    return {
        "parent": parent,
        "field": field,
        "order": draw(st.sampled_from(orders)),
        "forward": draw(st.booleans()),
        "size": draw(st.integers(5, 25)),
        "compiled": draw(st.booleans()),
        "changes": draw(st.lists(st.lists(CHANGES, max_size=3), max_size=12)),
    }


def walk_query(walk: dict[str, Any]) -> str:
    """The query of one page of the walk's connection."""
    ordered = f"orderBy: {walk['order']}, " if walk["order"] else ""
    field = (
        f"{walk['field']}({ordered}first: $first, last: $last, after: $after, before: $before)"
        f" {{ totalCount {PAGE} }}"
    )
    body = walk["parent"].format(field=field)
    return f"query($first: Int, $last: Int, $after: String, $before: String) {{ {body} }}"


async def pages(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    walk: dict[str, Any],
    size: int,
    changes: list[Any],
) -> list[str]:
    """The node ids of the walk's connection, page by page in its direction, in the
    connection's order, with the changes of each step made before the next page."""
    query, forward, seen = walk_query(walk), walk["forward"], []
    variables: dict[str, Any] = {"first": size} if forward else {"last": size}
    added: list[tuple[Any, int]] = []
    for step in itertools.count():
        body = await post(client, query, variables)
        assert "errors" not in body, body
        page = body["data"]
        while "edges" not in page:
            (page,) = page.values()
        ids = [edge["node"]["id"] for edge in page["edges"]]
        seen = seen + ids if forward else ids + seen
        info = page["pageInfo"]
        if not (info["hasNextPage"] if forward else info["hasPreviousPage"]):
            return seen
        cursor = info["endCursor"] if forward else info["startCursor"]
        variables |= {"after": cursor} if forward else {"before": cursor}
        for change in changes[step] if step < len(changes) else ():
            await make(connection, change, added)
        assert step < 200, "the walk does not end"
    raise AssertionError("unreachable")


async def make(connection: AsyncConnection, change: tuple[Any, ...], added: list[Any]) -> None:
    """Add a city or a funding (a copy of a demo one, its sort keys changed), or delete one
    added before: rows that come and go between pages."""
    kind = change[0]
    if kind == "city":
        _, name, population, joined_on = change
        city = await add_city(connection, name, population=population, joined_on=joined_on)
        added.append((models.City, city))
    elif kind == "funding":
        _, offset, amount, confidential, starts_on = change
        table = models.Funding.__table__
        row = (
            (await connection.execute(select(table).order_by(table.c.id).offset(offset).limit(1)))
            .one()
            ._asdict()
        )
        del row["id"]
        financial = row["contribution_type"] == models.ContributionType.FINANCIAL
        row |= {
            "amount_eur": amount if financial else None,
            "amount_confidential": confidential,
            "starts_on": starts_on,
            "ends_on": None,
        }
        new_id = (
            await connection.execute(insert(table).values(row).returning(table.c.id))
        ).scalar_one()
        added.append((models.Funding, new_id))
    elif added:
        model, row_id = added.pop(change[1] % len(added))
        await connection.execute(delete(model).where(model.id == row_id))


@property_settings(25)
@given(walk=walks())
async def test_pages_neither_repeat_nor_skip_rows_whatever_changes_between_them(
    demo_connection: AsyncConnection, walk: dict[str, Any]
) -> None:
    """Walking a connection page by page (any of several, nested too, in any order and either
    direction, on either read path) while rows are added and deleted between the pages: every
    row that stays is seen once, in order, and no row twice."""
    savepoint = await demo_connection.begin_nested()
    try:
        async with client_of(demo_connection, walk["compiled"]) as client:
            stable = await pages(client, demo_connection, walk, 100, [])
            assert len(stable) == len(set(stable))
            seen = await pages(client, demo_connection, walk, walk["size"], walk["changes"])
    finally:
        await savepoint.rollback()
    assert len(seen) == len(set(seen)), "a row repeated"
    assert [node for node in seen if node in set(stable)] == stable, "a row skipped or misplaced"


async def test_a_page_after_a_cursor_reads_the_index_from_there(
    demo_connection: AsyncConnection,
) -> None:
    """The compiled page after a cursor of cities by name is a range of the index in that
    order (a row comparison), read in order up to the page's end, not all rows counted
    or sorted; pageInfo asks the index for a row each side. The demo's table is small
    enough for PostgreSQL to prefer reading all of it, so the test tells it not to."""
    query = """query($after: String) { cities(first: 10, after: $after) {
        edges { node { name } } pageInfo { hasNextPage hasPreviousPage endCursor } } }"""
    PLANS.documents.clear()
    body = await ask(demo_connection, True, query, {"after": cursor("Query.cities", "K", "0")})
    assert "errors" not in body
    ((plan,),) = (entry.plans.values() for entry in PLANS.documents.values())
    raw = (await demo_connection.get_raw_connection()).driver_connection
    await raw.execute("SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off")
    explained = "\n".join(row[0] for row in await raw.fetch("EXPLAIN " + plan.sql, *plan.values))
    assert explained.count("Index Cond: (ROW(name, id) > ROW('K'::text, 0))") >= 2, explained
    assert "Index Cond: (ROW(name, id) <= ROW('K'::text, 0))" in explained
    assert "Sort" not in explained and "count(" not in explained


JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(["0", "-1", "2147483648", "2020-02-30", "1e5", "5000.00", "Köln", "\x00"]),
)
# (field with its order, the name its cursors hold, how many key values they hold)
KEYS = [
    ("cities", "Query.cities", 2),
    ("cities(orderBy: POPULATION_DESC)", "Query.cities:population_desc", 3),
    ('state(code: "NW") { cities(orderBy: JOINED_ON)', "State.cities:joined_on", 3),
    ("fundings(orderBy: AMOUNT_DESC)", "Query.fundings:amount_desc", 3),
]


@st.composite
def hostile_cursors(draw: st.DrawFn, name: str, size: int) -> str:
    """Cursors of a connection's form holding any values, and anything else base64 holds."""
    values = draw(st.lists(JSON_SCALARS, min_size=size - 1, max_size=size + 1))
    arrays = [[1, name, *values], [draw(JSON_SCALARS), name, *values], values]
    text = draw(st.one_of(st.sampled_from(arrays).map(json.dumps), st.text(max_size=40)))
    return draw(st.sampled_from([encoded(text), text]))


@property_settings(60)
@given(
    key=st.sampled_from(KEYS),
    data=st.data(),
    argument=st.sampled_from(["after", "before"]),
    compiled=st.booleans(),
)
async def test_no_cursor_is_more_than_the_clients_mistake(
    demo_connection: AsyncConnection,
    key: tuple[str, str, int],
    data: st.DataObject,
    argument: str,
    compiled: bool,
) -> None:
    """Whatever a cursor holds, the answer is a page or BAD_USER_INPUT, on both paths."""
    field, name, size = key
    value = data.draw(hostile_cursors(name, size))
    arguments = f"first: 3, {argument}: $cursor"
    opened = f"{field[:-1]}, {arguments})" if field.endswith(")") else f"{field}({arguments})"
    closing = " }" if "{" in field else ""
    query = f"query($cursor: String) {{ {opened} {{ totalCount }}{closing} }}"
    body = await ask(demo_connection, compiled, query, {"cursor": value})
    codes = {error.get("extensions", {}).get("code") for error in body.get("errors", [])}
    assert codes <= {"BAD_USER_INPUT"}, body


@BOTH_PATHS
async def test_search_refuses_an_offset_beyond_any_list(
    demo_connection: AsyncConnection, compiled: bool
) -> None:
    """Finding 7 for search, which keeps offset cursors: an offset beyond int64 was an
    internal error."""
    query = 'query($c: String) { search(text: "Familie", after: $c) { totalCount } }'
    huge = encoded("arrayconnection:99999999999999999999999")
    body = await ask(demo_connection, compiled, query, {"c": huge})
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT", error
    body = await ask(demo_connection, compiled, query, {"c": encoded("arrayconnection:3")})
    assert "errors" not in body


async def test_the_audit_log_pages_by_its_timestamps(demo_connection: AsyncConnection) -> None:
    """An office list ordered by a timestamp (newest first, ties by id) pages without repeats
    or gaps while entries are written between its pages."""
    key = await add_key(sessions_on(demo_connection)(), models.Role.ADMIN)
    entry = {"subject": "test", "role": models.Role.ADMIN, "operation": "o", "entity_type": "T"}
    moments = [datetime(2026, 1, day % 4 + 1, 12, 0, day, 250, tzinfo=UTC) for day in range(9)]
    for number, moment in enumerate(moments):
        values = entry | {"entity_id": str(number), "recorded_at": moment}
        await demo_connection.execute(insert(models.AuditEntry).values(values))
    query = """query($after: String) { auditLog(first: 4, after: $after) {
        pageInfo { hasNextPage endCursor } edges { node { entityId } } } }"""
    seen: list[str] = []
    async with client_of(demo_connection, compiled=True) as client:
        variables: dict[str, Any] = {"after": None}
        while True:
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": variables},
                headers={"Authorization": f"Bearer {key}"},
            )
            page = response.json()["data"]["auditLog"]
            ids = (edge["node"]["entityId"] for edge in page["edges"])  # global IDs of `T:<id>`
            seen += [base64.b64decode(id_).decode().removeprefix("T:") for id_ in ids]
            newest = datetime(2027, 1, 1, tzinfo=UTC)  # before the cursor: offsets shifted
            late = entry | {"entity_id": f"late-{len(seen)}", "recorded_at": newest}
            await demo_connection.execute(insert(models.AuditEntry).values(late))
            if not page["pageInfo"]["hasNextPage"]:
                break
            variables = {"after": page["pageInfo"]["endCursor"]}
    newest_first = sorted(range(9), key=lambda number: (moments[number], number), reverse=True)
    assert [name for name in seen if not name.startswith("late")] == [
        str(number) for number in newest_first
    ]
    assert len(seen) == len(set(seen))
