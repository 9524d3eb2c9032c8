"""Saved views as mutations: the network office saves, replaces, lists and removes them; the
saved view answers at /views/<name>; others are refused; bad views are user errors."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from models import Role
from tests import factories
from tests.factories import add_key
from tests.test_audit import audit_log
from tests.writes import codes, mutate, paths, send, snapshot

STATE = "query ($code: String!) { state(code: $code) { name } }"
CAPITAL = "query ($code: String!) { state(code: $code) { code capital } }"
VIEW = "result { id name description query savedAt }"
LISTED = "{ savedViews { totalCount edges { node { id name description query } } } }"


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    """The network office's key; the state NW exists."""
    await factories.add_state(db, "NW")
    return await add_key(db, Role.ADMIN)


async def save(client: httpx.AsyncClient, key: str | None, **view: str) -> dict[str, Any]:
    """The payload of saving `view` (name, query, description) with `key`."""
    return await mutate(client, "saveView", {"input": view}, key, VIEW)


async def test_the_office_saves_replaces_lists_and_removes_a_view(
    client: httpx.AsyncClient, admin: str
) -> None:
    saved = await save(client, admin, name="land", query=STATE, description="Ein Land")
    assert saved["errors"] == []
    assert saved["result"] | {"id": None, "savedAt": None} == {
        "id": None,
        "name": "land",
        "description": "Ein Land",
        "query": STATE,
        "savedAt": None,
    }
    answer = await client.get("/views/land?code=NW")
    assert answer.json() == {"data": {"state": {"name": "Land NW"}}}

    replaced = await save(client, admin, name="land", query=CAPITAL)
    assert replaced["result"]["id"] == saved["result"]["id"]
    assert replaced["result"]["description"] == ""
    answer = await client.get("/views/land?code=NW")
    assert answer.json() == {"data": {"state": {"code": "NW", "capital": "Hauptstadt"}}}

    listed = (await send(client, LISTED, key=admin))["data"]["savedViews"]
    assert listed["totalCount"] == 1
    assert listed["edges"][0]["node"] == {
        "id": saved["result"]["id"],
        "name": "land",
        "description": "",
        "query": CAPITAL,
    }

    removed = await mutate(client, "removeView", {"input": {"name": "land"}}, admin)
    assert removed == {"removedId": saved["result"]["id"], "errors": []}
    assert (await client.get("/views/land?code=NW")).status_code == 404
    assert (await send(client, LISTED, key=admin))["data"]["savedViews"]["totalCount"] == 0


async def test_each_write_of_a_view_is_audited(client: httpx.AsyncClient, admin: str) -> None:
    saved = await save(client, admin, name="land", query=STATE)
    await save(client, admin, name="land", query=CAPITAL, description="Hauptstädte")
    await mutate(client, "removeView", {"input": {"name": "land"}}, admin)
    entries = await audit_log(client, admin, entityType="SavedView")
    assert [(entry["operation"], entry["entityId"]) for entry in entries] == [
        ("removeView", saved["result"]["id"]),
        ("saveView", saved["result"]["id"]),
        ("saveView", saved["result"]["id"]),
    ]
    removal, replacement, creation = (entry["changes"] for entry in entries)
    assert creation == {"name": "land", "query": STATE, "description": ""}
    assert replacement == {"query": CAPITAL, "description": "Hauptstädte"}
    assert set(removal) == {"id", "name", "description", "query", "saved_at"}
    assert set(removal.values()) == {None}


async def test_only_the_office_writes_and_reads_views(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession, admin: str
) -> None:
    await save(client, admin, name="land", query=STATE)
    city = await factories.add_city(db)
    funder = await factories.add_funder(db)
    others = [
        await add_key(db, Role.COORDINATOR, city_id=city.id),
        await add_key(db, Role.FUNDER, funder_id=funder.id),
        await add_key(db, Role.STATE_PARTNER, state_code="NW"),
        None,
    ]
    before = await snapshot(connection)
    for key in others:
        for name in ("land", "neu"):
            refused = await save(client, key, name=name, query=CAPITAL)
            assert refused["errors"] == [
                {
                    "__typename": "ForbiddenError",
                    "code": "FORBIDDEN",
                    "message": "Only the network office saves and removes views.",
                    "path": [],
                }
            ]
            removal = await mutate(client, "removeView", {"input": {"name": name}}, key)
            assert codes(removal) == ["FORBIDDEN"]
        listed = await send(client, LISTED, key=key)
        assert listed["data"]["savedViews"] is None
        assert listed["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    assert await snapshot(connection) == before
    answer = await client.get("/views/land?code=NW")
    assert answer.json() == {"data": {"state": {"name": "Land NW"}}}


@pytest.mark.parametrize(
    ("name", "query", "problems"),
    [
        ("Land NW", STATE, {"name": "Must be lower-case letters and digits in words joined"}),
        (" ", STATE, {"name": "Must not be blank."}),
        ("l" * 121, STATE, {"name": "Must not be longer than 120 characters."}),
        ("land", "{ states { code ", {"query": "Must be GraphQL: Syntax Error"}),
        ("land", "{ states { mayor } }", {"query": "Must be valid in the schema: Cannot query"}),
        ("land", "query A { states { code } } query B { states { name } }", {
            "query": "Must be exactly one query operation"}),
        ("land", 'mutation { removeView(input: {name: "x"}) { removedId } }', {
            "query": "Must be exactly one query operation"}),
        ("land", "subscription { fundingRecorded { id } }", {
            "query": "Must be exactly one query operation"}),
        ("Land", "", {"name": "Must be lower-case", "query": "Must not be blank."}),
    ],
)  # fmt: skip
async def test_a_bad_view_is_a_validation_error_and_writes_nothing(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    admin: str,
    name: str,
    query: str,
    problems: dict[str, str],
) -> None:
    before = await snapshot(connection)
    refused = await save(client, admin, name=name, query=query)
    assert refused["result"] is None
    assert paths(refused) == [["input", field] for field in problems]
    assert set(codes(refused)) == {"INVALID"}
    for error, start in zip(refused["errors"], problems.values(), strict=True):
        assert error["__typename"] == "ValidationError"
        assert error["message"].startswith(start), error["message"]
    assert await snapshot(connection) == before


async def test_a_bad_query_does_not_replace_a_saved_view(
    client: httpx.AsyncClient, admin: str
) -> None:
    await save(client, admin, name="land", query=STATE)
    refused = await save(client, admin, name="land", query="{ states { mayor } }")
    assert paths(refused) == [["input", "query"]]
    answer = await client.get("/views/land?code=NW")
    assert answer.json() == {"data": {"state": {"name": "Land NW"}}}


async def test_removing_an_unknown_view_is_not_found(
    client: httpx.AsyncClient, connection: AsyncConnection, admin: str
) -> None:
    before = await snapshot(connection)
    refused = await mutate(client, "removeView", {"input": {"name": "nichts"}}, admin)
    assert refused["errors"] == [
        {
            "__typename": "NotFoundError",
            "code": "NOT_FOUND",
            "message": "No view has this name.",
            "path": ["input", "name"],
        }
    ]
    assert await snapshot(connection) == before
