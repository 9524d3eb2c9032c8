"""Writes of cities and their local networks: the office creates a city and keeps its
membership, the city's coordinator keeps its description and its network."""

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry.relay import to_base64

import models
from models import Role
from tests import factories
from tests.factories import add_key
from tests.test_audit import audit_log
from tests.writes import codes, gid, mutate, paths, snapshot

NEW_CITY = {
    "slug": "koenigswinter",
    "name": "Königswinter",
    "kind": "CITY",
    "stateCode": "NW",
    "status": "MEMBER",
    "joinedOn": "2024-05-01",
    "latitude": 50.67,
    "longitude": 7.19,
}


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    await factories.add_state(db, "NW")
    return await add_key(db, Role.ADMIN)


@pytest.fixture
async def city(db: AsyncSession) -> models.City:
    return await factories.add_city(db, joined_on=date(2020, 1, 1))


@pytest.fixture
async def coordinator(db: AsyncSession, city: models.City) -> str:
    return await add_key(db, Role.COORDINATOR, city_id=city.id)


async def test_the_office_creates_a_city_with_its_local_network(
    client: httpx.AsyncClient, admin: str
) -> None:
    selection = "result { slug status joinedOn state { code } localNetwork { name } }"
    created = await mutate(client, "createCity", {"input": NEW_CITY}, admin, selection)
    assert created["result"] == {
        "slug": "koenigswinter",
        "status": "MEMBER",
        "joinedOn": "2024-05-01",
        "state": {"code": "NW"},
        "localNetwork": {"name": "Engagierte Stadt Königswinter"},
    }
    operations = {
        (entry["operation"], entry["entityType"]) for entry in await audit_log(client, admin)
    }
    assert operations == {("createCity", "City"), ("createCity", "LocalNetwork")}


async def test_a_new_city_needs_what_makes_it_one(client: httpx.AsyncClient, admin: str) -> None:
    refused = await mutate(client, "createCity", {"input": {"name": "Irgendwo"}}, admin)
    assert set(codes(refused)) == {"INVALID"}
    assert sorted(paths(refused)) == [
        ["input", "kind"],
        ["input", "slug"],
        ["input", "stateCode"],
        ["input", "status"],
    ]


async def test_a_coordinator_keeps_its_citys_description_but_not_its_membership(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    city: models.City,
    coordinator: str,
) -> None:
    described = {"description": "Engagiert am Rhein.", "population": 41_000, "latitude": 50.7}
    kept = await mutate(
        client,
        "updateCity",
        {"id": gid(city), "input": described},
        coordinator,
        "result { description population latitude }",
    )
    assert kept["result"] == described

    before = await snapshot(connection)
    membership = {"status": "CANDIDATE", "joinedOn": "2021-01-01", "name": "Anders"}
    refused = await mutate(
        client, "updateCity", {"id": gid(city), "input": membership | described}, coordinator
    )
    assert set(codes(refused)) == {"FORBIDDEN"}
    assert sorted(paths(refused)) == [["input", "joinedOn"], ["input", "name"], ["input", "status"]]
    assert refused["errors"][0]["message"] == "Only the network office changes this."
    assert await snapshot(connection) == before
    # Given as stored, the office's fields change nothing and are no refusal.
    unchanged = {"status": "MEMBER", "name": city.name, "website": "https://example.org"}
    assert (await mutate(client, "updateCity", {"id": gid(city), "input": unchanged}, coordinator))[
        "errors"
    ] == []


async def test_a_city_never_moves_to_another_state(
    client: httpx.AsyncClient, admin: str, city: models.City
) -> None:
    refused = await mutate(
        client, "updateCity", {"id": gid(city), "input": {"stateCode": "BY"}}, admin
    )
    assert (codes(refused), paths(refused)) == (["INVALID"], [["input", "stateCode"]])


async def test_a_member_leaves_the_network_once_on_the_day_it_left(
    client: httpx.AsyncClient, admin: str, city: models.City
) -> None:
    selection = "result { status leftOn }"
    left = {"id": gid(city), "input": {"leftOn": "2025-06-30"}}
    ended = await mutate(client, "endCityMembership", left, admin, selection)
    assert ended["result"] == {"status": "FORMER_MEMBER", "leftOn": "2025-06-30"}
    again = await mutate(client, "endCityMembership", left, admin)
    assert (codes(again), paths(again)) == (["INVALID_TRANSITION"], [["id"]])
    assert again["errors"][0]["message"] == (
        "The city is a former member: only a member leaves the network."
    )
    [entry, *_] = await audit_log(client, admin, entityId=gid(city))
    assert entry["changes"] == {"status": "former_member", "left_on": "2025-06-30"}


async def test_a_city_leaves_today_unless_told(
    client: httpx.AsyncClient, admin: str, city: models.City
) -> None:
    ended = await mutate(
        client, "endCityMembership", {"id": gid(city), "input": {}}, admin, "result { leftOn }"
    )
    assert ended["result"] == {"leftOn": date.today().isoformat()}


@pytest.mark.parametrize(
    ("mutation", "changes", "path"),
    [
        ("endCityMembership", {"leftOn": "2019-12-31"}, ["input", "leftOn"]),
        ("endCityMembership", {"leftOn": "1850-01-01"}, ["input", "leftOn"]),
        ("updateCity", {"leftOn": "2025-01-01"}, ["input", "leftOn"]),
        ("updateCity", {"status": "FORMER_MEMBER", "leftOn": "2019-01-01"}, ["input", "leftOn"]),
        ("updateCity", {"population": -1}, ["input", "population"]),
        ("updateCity", {"latitude": 7.19, "longitude": 50.67}, ["input", "latitude"]),
    ],
)
async def test_membership_dates_and_places_out_of_order_are_refused(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    admin: str,
    city: models.City,
    mutation: str,
    changes: dict[str, Any],
    path: list[str],
) -> None:
    before = await snapshot(connection)
    refused = await mutate(client, mutation, {"id": gid(city), "input": changes}, admin)
    assert set(codes(refused)) == {"INVALID"}
    assert path in paths(refused)
    assert await snapshot(connection) == before


async def test_a_former_member_rejoins_without_its_leaving_day(
    client: httpx.AsyncClient, admin: str, city: models.City
) -> None:
    await mutate(client, "endCityMembership", {"id": gid(city), "input": {}}, admin)
    rejoined = {"status": "MEMBER", "joinedOn": "2026-01-01", "leftOn": None}
    updated = await mutate(
        client,
        "updateCity",
        {"id": gid(city), "input": rejoined},
        admin,
        "result { status leftOn }",
    )
    assert updated["result"] == {"status": "MEMBER", "leftOn": None}


async def coordinator_of(db: AsyncSession, network: models.LocalNetwork) -> list[str]:
    """The slugs of the network's actors in the role of coordinator."""
    actors = await db.scalars(
        select(models.Actor.slug).where(
            models.Actor.network_id == network.id,
            models.Actor.role == models.ActorRole.COORDINATOR,
        )
    )
    return list(actors)


async def test_a_coordinator_keeps_its_network_and_names_who_coordinates_it(
    client: httpx.AsyncClient, db: AsyncSession, city: models.City, coordinator: str
) -> None:
    network = await factories.add_network(db, city)
    before = await factories.add_actor(db, network, role=models.ActorRole.COORDINATOR)
    after = await factories.add_actor(db, network)
    changes = {
        "name": "Netzwerk Engagement",
        "foundedOn": "2019-03-01",
        "coordinatorId": gid(after),
    }
    selection = "result { name foundedOn coordinator { slug } }"
    updated = await mutate(
        client, "updateLocalNetwork", {"id": gid(network), "input": changes}, coordinator, selection
    )
    assert updated["result"] == {
        "name": "Netzwerk Engagement",
        "foundedOn": "2019-03-01",
        "coordinator": {"slug": after.slug},
    }
    await db.refresh(before)
    assert before.role is models.ActorRole.CORE_MEMBER
    cleared = {"id": gid(network), "input": {"coordinatorId": None}}
    assert (await mutate(client, "updateLocalNetwork", cleared, coordinator))["errors"] == []
    assert await coordinator_of(db, network) == []


async def test_the_coordinator_of_a_network_is_one_of_its_actors(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    admin: str,
    city: models.City,
) -> None:
    network = await factories.add_network(db, city)
    foreign = await factories.add_actor(db)
    before = await snapshot(connection)
    for coordinator_id, code in (
        (gid(foreign), "INVALID"),
        (gid(city), "INVALID"),
        ("kein-id", "INVALID"),
        (to_base64("Actor", 99_999), "NOT_FOUND"),
        (gid(foreign) + "!", "INVALID"),  # decodes, but is not an id the hub writes
    ):
        changes = {"id": gid(network), "input": {"coordinatorId": coordinator_id}}
        refused = await mutate(client, "updateLocalNetwork", changes, admin)
        assert (codes(refused), paths(refused)) == ([code], [["input", "coordinatorId"]])
    assert await snapshot(connection) == before
