"""Keyset cursors, on both read paths: pages follow each other without repeating or skipping
a row whatever is added or removed between them, and no cursor a client sends is more than
its own mistake (BAD_USER_INPUT)."""

import base64
import itertools
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

import models
from hub.config import Settings
from hub.features import detect
from server import create_app
from tests.conftest import sessions_on
from tests.generated_queries import cursor

_numbers = itertools.count(1)

PAGE = """pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
          edges { cursor node { id } }"""


async def ask(
    connection: AsyncConnection, compiled: bool, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The response body of the app, on the compiled path or on the resolvers only."""
    settings = replace(Settings.from_env(), compiled=compiled, debug=True)
    app = create_app(sessions_on(connection), settings=settings, features=await detect(connection))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


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
