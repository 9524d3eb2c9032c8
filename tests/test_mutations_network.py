"""Writes of local networks: a coordinator edits its own city's, the network office any."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from models import Role
from tests import factories
from tests.factories import add_key
from tests.writes import codes, gid, mutate, paths, send, snapshot


@dataclass
class Town:
    """A city with its local network, and its coordinator's key."""

    city: models.City
    network: models.LocalNetwork
    key: str


async def add_town(db: AsyncSession) -> Town:
    """A city with a network and a coordinator key."""
    network = await factories.add_network(db)
    key = await add_key(db, Role.COORDINATOR, city_id=network.city_id)
    city = await db.get(models.City, network.city_id)
    assert city is not None
    return Town(city, network, key)


@pytest.fixture
async def own(db: AsyncSession) -> Town:
    await factories.add_sector(db)
    return await add_town(db)


@pytest.fixture
async def foreign(db: AsyncSession) -> Town:
    return await add_town(db)


def actor_input(network: models.LocalNetwork, **fields: Any) -> dict[str, Any]:
    """A complete input for a new actor of `network`."""
    values = {
        "networkId": gid(network),
        "slug": factories.unique("buergerstiftung"),
        "name": "Bürgerstiftung",
        "organisationType": "Stiftung",
        "sectorCode": "CIVIL_SOCIETY",
        "role": "CORE_MEMBER",
    }
    return values | fields


async def test_coordinator_creates_an_actor_in_its_own_network(
    client: httpx.AsyncClient, own: Town
) -> None:
    payload = await mutate(
        client,
        "createActor",
        {"input": actor_input(own.network, slug="buergerstiftung")},
        own.key,
        "result { slug name role localNetwork { city { slug } } }",
    )
    assert payload["errors"] == []
    assert payload["result"] == {
        "slug": "buergerstiftung",
        "name": "Bürgerstiftung",
        "role": "CORE_MEMBER",
        "localNetwork": {"city": {"slug": own.city.slug}},
    }


async def test_coordinator_cannot_edit_foreign_city(
    client: httpx.AsyncClient, connection: AsyncConnection, own: Town, foreign: Town
) -> None:
    before = await snapshot(connection)
    payload = await mutate(client, "createActor", {"input": actor_input(foreign.network)}, own.key)
    assert payload == {"result": None, "errors": [forbidden()]}
    assert await snapshot(connection) == before


def forbidden() -> dict[str, Any]:
    """The one user error of a write into another's part of the network."""
    return {
        "__typename": "ForbiddenError",
        "code": "FORBIDDEN",
        "message": "You may not change this: it belongs to another part of the network.",
        "path": [],
    }


async def test_creating_needs_every_required_field(client: httpx.AsyncClient, own: Town) -> None:
    payload = await mutate(client, "createActor", {"input": {"name": " "}}, own.key)
    assert payload["result"] is None
    assert {tuple(path) for path in paths(payload)} == {
        ("input", field)
        for field in ("networkId", "slug", "name", "organisationType", "sectorCode", "role")
    }
    assert set(codes(payload)) == {"INVALID"}


async def test_an_update_changes_only_the_fields_given(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    actor = await factories.add_actor(db, own.network, website="https://example.org")
    payload = await mutate(
        client,
        "updateActor",
        {"id": gid(actor), "input": {"name": "Neuer Name", "website": None}},
        own.key,
        "result { name organisationType website }",
    )
    assert payload["result"] == {
        "name": "Neuer Name",
        "organisationType": "Verein",
        "website": None,
    }


async def test_an_actor_does_not_move_to_another_network(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    actor = await factories.add_actor(db, own.network)
    other = await factories.add_network(db)
    payload = await mutate(
        client, "updateActor", {"id": gid(actor), "input": {"networkId": gid(other)}}, own.key
    )
    assert paths(payload) == [["input", "networkId"]]
    assert payload["errors"][0]["message"] == "Cannot be changed."


async def test_a_taken_slug_is_a_conflict(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    taken = await factories.add_actor(db, own.network)
    payload = await mutate(
        client, "createActor", {"input": actor_input(own.network, slug=taken.slug)}, own.key
    )
    assert payload["errors"] == [
        {
            "__typename": "ConflictError",
            "code": "CONFLICT",
            "message": "Another Actor has this slug already.",
            "path": ["input", "slug"],
        }
    ]


async def test_a_network_has_one_coordinator(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    await factories.add_actor(db, own.network, role=models.ActorRole.COORDINATOR)
    payload = await mutate(
        client, "createActor", {"input": actor_input(own.network, role="COORDINATOR")}, own.key
    )
    assert codes(payload) == ["CONFLICT"]
    assert paths(payload) == [["input", "role"]]


async def test_a_removed_actor_is_gone(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    actor = await factories.add_actor(db, own.network)
    payload = await mutate(client, "removeActor", {"id": gid(actor)}, own.key)
    assert payload == {"removedId": gid(actor), "errors": []}
    body = await send(client, "query ($id: ID!) { node(id: $id) { id } }", {"id": gid(actor)})
    assert body["data"]["node"] is None


async def test_an_unknown_id_is_not_found_and_a_malformed_one_invalid(
    client: httpx.AsyncClient, own: Town
) -> None:
    unknown = await mutate(client, "removeActor", {"id": "QWN0b3I6OTk5OTk5"}, own.key)
    assert (codes(unknown), paths(unknown)) == (["NOT_FOUND"], [["id"]])
    malformed = await mutate(client, "removeActor", {"id": "not an id"}, own.key)
    assert (codes(malformed), paths(malformed)) == (["INVALID"], [["id"]])
    wrong_type = await mutate(client, "removeActor", {"id": gid(own.city)}, own.key)
    assert codes(wrong_type) == ["INVALID"]


async def test_a_goal_refers_to_an_existing_theme(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    theme = await factories.add(db, models.Theme(slug="bildung", name_de="Bildung", name_en="Ed"))
    goal = {"networkId": gid(own.network), "title": "Mehr Beteiligung"}
    created = await mutate(
        client,
        "createGoal",
        {"input": goal | {"themeId": gid(theme)}},
        own.key,
        "result { title theme { slug } }",
    )
    assert created["result"] == {"title": "Mehr Beteiligung", "theme": {"slug": "bildung"}}
    missing = await mutate(
        client, "createGoal", {"input": goal | {"themeId": "VGhlbWU6OTk5OTk="}}, own.key
    )
    assert (codes(missing), paths(missing)) == (["NOT_FOUND"], [["input", "themeId"]])


async def test_a_measure_is_carried_by_actors_of_its_own_network(
    client: httpx.AsyncClient, db: AsyncSession, own: Town, foreign: Town
) -> None:
    ours = await factories.add_actor(db, own.network, name="Verein A")
    theirs = await factories.add_actor(db, foreign.network)
    measure = {
        "networkId": gid(own.network),
        "slug": "engagementboerse",
        "title": "Engagementbörse",
        "startsOn": "2025-03-01",
    }
    refused = await mutate(
        client, "createMeasure", {"input": measure | {"actorIds": [gid(theirs)]}}, own.key
    )
    assert refused["errors"] == [
        {
            "__typename": "ValidationError",
            "code": "INVALID",
            "message": "Must be an actor of the same local network.",
            "path": ["input", "actorIds", "0"],
        }
    ]
    created = await mutate(
        client,
        "createMeasure",
        {"input": measure | {"actorIds": [gid(ours), gid(ours)]}},
        own.key,
        "result { id actors { totalCount edges { node { name } } } }",
    )
    assert created["result"]["actors"] == {
        "totalCount": 1,
        "edges": [{"node": {"name": "Verein A"}}],
    }
    emptied = await mutate(
        client,
        "updateMeasure",
        {"id": created["result"]["id"], "input": {"actorIds": []}},
        own.key,
        "result { actors { totalCount } }",
    )
    assert emptied["result"]["actors"]["totalCount"] == 0


async def test_a_period_ends_after_it_starts_also_when_only_its_end_changes(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    measure = await factories.add_measure(db, own.network, starts_on=date(2025, 1, 1))
    payload = await mutate(
        client, "updateMeasure", {"id": gid(measure), "input": {"endsOn": "2024-12-31"}}, own.key
    )
    assert payload["errors"] == [
        {
            "__typename": "ValidationError",
            "code": "INVALID",
            "message": "Must not lie before the start.",
            "path": ["input", "endsOn"],
        }
    ]


async def test_a_funded_measure_stays(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    measure = await factories.add_measure(db, own.network)
    await factories.add_funding(
        db, recipient_kind=models.RecipientKind.MEASURE, measure_id=measure.id
    )
    payload = await mutate(client, "removeMeasure", {"id": gid(measure)}, own.key)
    assert (payload["removedId"], codes(payload)) == (None, ["CONFLICT"])


async def test_partner_cities_are_named_once_from_either_side(
    client: httpx.AsyncClient, own: Town, foreign: Town
) -> None:
    pair = {"cityId": gid(own.city), "partnerCityId": gid(foreign.city)}
    selection = "result { partnerCities { edges { node { slug } } } }"
    named = await mutate(client, "addPartnerCity", {"input": pair}, own.key, selection)
    partners = named["result"]["partnerCities"]["edges"]
    assert partners == [{"node": {"slug": foreign.city.slug}}]
    reverse = {"cityId": gid(foreign.city), "partnerCityId": gid(own.city)}
    again = await mutate(client, "addPartnerCity", {"input": reverse}, foreign.key)
    assert codes(again) == ["CONFLICT"]
    ended = await mutate(client, "removePartnerCity", {"input": reverse}, foreign.key, selection)
    assert ended["result"]["partnerCities"]["edges"] == []


async def test_a_city_is_no_partner_of_itself_nor_named_by_others(
    client: httpx.AsyncClient, own: Town, foreign: Town
) -> None:
    itself = {"cityId": gid(own.city), "partnerCityId": gid(own.city)}
    assert codes(await mutate(client, "addPartnerCity", {"input": itself}, own.key)) == ["INVALID"]
    for_others = {"cityId": gid(foreign.city), "partnerCityId": gid(own.city)}
    refused = await mutate(client, "addPartnerCity", {"input": for_others}, own.key)
    assert codes(refused) == ["FORBIDDEN"]


async def test_a_city_joins_and_leaves_a_working_group(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    group = await factories.add(db, models.WorkingGroup(slug="ag-digital", name="AG Digital"))
    membership = {"cityId": gid(own.city), "workingGroupId": gid(group)}
    selection = "result { workingGroups { totalCount } }"
    joined = await mutate(client, "joinWorkingGroup", {"input": membership}, own.key, selection)
    assert joined["result"]["workingGroups"]["totalCount"] == 1
    twice = await mutate(client, "joinWorkingGroup", {"input": membership}, own.key)
    assert codes(twice) == ["CONFLICT"]
    left = await mutate(client, "leaveWorkingGroup", {"input": membership}, own.key, selection)
    assert left["result"]["workingGroups"]["totalCount"] == 0
    again = await mutate(client, "leaveWorkingGroup", {"input": membership}, own.key)
    assert codes(again) == ["NOT_FOUND"]
    members = select(func.count()).select_from(models.WorkingGroupMembership)
    assert await db.scalar(members) == 0


async def test_null_for_a_required_field_is_a_validation_error(
    client: httpx.AsyncClient, db: AsyncSession, own: Town
) -> None:
    actor = await factories.add_actor(db, own.network)
    payload = await mutate(
        client, "updateActor", {"id": gid(actor), "input": {"name": None, "role": None}}, own.key
    )
    assert sorted(paths(payload)) == [["input", "name"], ["input", "role"]]
    assert {error["message"] for error in payload["errors"]} == {"Must not be null."}


async def test_each_mutation_of_an_operation_is_a_transaction_of_its_own(
    client: httpx.AsyncClient, own: Town
) -> None:
    goal = f'networkId: "{gid(own.network)}"'
    operation = f"""mutation {{
      first: createGoal(input: {{{goal}, title: "Erstes Ziel"}}) {{ errors {{ code }} }}
      refused: createGoal(input: {{{goal}, title: " "}}) {{ errors {{ code }} }}
      third: createGoal(input: {{{goal}, title: "Drittes Ziel"}}) {{ errors {{ code }} }}
    }}"""
    body = await send(client, operation, key=own.key)
    assert [codes(payload) for payload in body["data"].values()] == [[], ["INVALID"], []]
    network = "query ($id: ID!) { node(id: $id) { ... on LocalNetwork { goals { totalCount } } } }"
    body = await send(client, network, {"id": gid(own.network)})
    assert body["data"]["node"]["goals"]["totalCount"] == 2


async def test_a_measure_serves_a_goal_of_its_own_network_only(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    own: Town,
    foreign: Town,
) -> None:
    theirs = await factories.add(db, models.Goal(network_id=foreign.network.id, title="Fremd"))
    ours = await factories.add(db, models.Goal(network_id=own.network.id, title="Eigen"))
    measure = await factories.add_measure(db, own.network)
    admin = await add_key(db, Role.ADMIN)
    new = {"networkId": gid(own.network), "slug": "boerse", "title": "Börse"}
    before = await snapshot(connection)
    for key in (own.key, admin):
        created = await mutate(
            client,
            "createMeasure",
            {"input": new | {"startsOn": "2025-03-01", "goalId": gid(theirs)}},
            key,
        )
        updated = await mutate(
            client, "updateMeasure", {"id": gid(measure), "input": {"goalId": gid(theirs)}}, key
        )
        for payload in (created, updated):
            assert payload["errors"] == [
                {
                    "__typename": "ValidationError",
                    "code": "INVALID",
                    "message": "Must be a goal of the same local network.",
                    "path": ["input", "goalId"],
                }
            ]
    assert await snapshot(connection) == before
    served = await mutate(
        client, "updateMeasure", {"id": gid(measure), "input": {"goalId": gid(ours)}}, own.key
    )
    assert served["errors"] == []


async def test_a_no_op_update_writes_nothing(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession, own: Town
) -> None:
    actor = await factories.add_actor(db, own.network)
    measure = await factories.add_measure(db, own.network)
    await db.execute(
        models.measure_actors.insert().values(
            measure_id=measure.id, actor_id=actor.id, network_id=own.network.id
        )
    )
    before = await snapshot(connection)
    same = {"title": measure.title, "slug": measure.slug, "actorIds": [gid(actor)]}
    payload = await mutate(
        client, "updateMeasure", {"id": gid(measure), "input": same}, own.key, "result { id }"
    )
    assert payload == {"result": {"id": gid(measure)}, "errors": []}
    # No audit entry of an empty change, no new `updated_at`, no links written again.
    assert await snapshot(connection) == before
