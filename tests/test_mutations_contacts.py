"""Contact persons: personal data, written by the office and by whoever the entry they are a
contact of belongs to; the audit log names their fields without values."""

from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry.relay import to_base64

import models
from models import Role
from tests import factories
from tests.factories import add_key
from tests.test_audit import audit_log
from tests.writes import codes, gid, mutate, paths, send, snapshot

PERSON = {"fullName": "Erika Mustermann", "email": "erika@example.org", "function": "Koordination"}
SELECTION = "result { id fullName email function phone }"


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    return await add_key(db, Role.ADMIN)


async def test_a_funder_keeps_its_own_contact_persons(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    funder = await factories.add_funder(db)
    key = await add_key(db, Role.FUNDER, funder_id=funder.id)
    created = await mutate(
        client, "createContactPerson", {"input": PERSON | {"funderId": gid(funder)}}, key, SELECTION
    )
    person = created["result"]
    assert person | {"id": None} == PERSON | {"id": None, "phone": None}

    changed = {"id": person["id"], "input": {"phone": "0228 12345", "function": None}}
    updated = await mutate(client, "updateContactPerson", changed, key, SELECTION)
    assert updated["result"] == person | {"phone": "0228 12345", "function": None}
    query = "query ($slug: String!) { funder(slug: $slug) { contacts { id phone } } }"
    body = await send(client, query, {"slug": funder.slug}, key)
    assert body["data"]["funder"]["contacts"] == [{"id": person["id"], "phone": "0228 12345"}]

    removed = await mutate(client, "removeContactPerson", {"id": person["id"]}, key)
    assert removed == {"removedId": person["id"], "errors": []}
    assert await db.scalar(select(func.count()).select_from(models.ContactPerson)) == 0


async def test_the_audit_log_names_a_contacts_fields_without_their_values(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    city = await factories.add_city(db)
    created = await mutate(
        client, "createContactPerson", {"input": PERSON | {"cityId": gid(city)}}, admin
    )
    person = created["result"]["id"]
    await mutate(
        client, "updateContactPerson", {"id": person, "input": {"email": "e@x.org"}}, admin
    )
    await mutate(client, "removeContactPerson", {"id": person}, admin)
    removal, update, creation = await audit_log(client, admin)
    assert creation["changes"] == {
        "full_name": "(withheld)",
        "email": "(withheld)",
        "function": "(withheld)",
        "city_id": city.id,
    }
    assert update["changes"] == {"email": "(withheld)"}
    assert set(removal["changes"].values()) == {None}
    logged = str([creation, update, removal])
    assert "erika" not in logged and "e@x.org" not in logged


@pytest.mark.parametrize(
    ("owners", "path"),
    [
        ({}, ["input"]),
        ({"cityId": "city", "funderId": "funder"}, ["input"]),
        ({"cityId": "funder"}, ["input", "cityId"]),
        ({"actorId": "kein-id"}, ["input", "actorId"]),
    ],
)
async def test_a_contact_person_is_a_contact_of_exactly_one_entry(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    admin: str,
    owners: dict[str, str],
    path: list[str],
) -> None:
    entries = {
        "city": gid(await factories.add_city(db)),
        "funder": gid(await factories.add_funder(db)),
    }
    named = {field: entries.get(entry, entry) for field, entry in owners.items()}
    before = await snapshot(connection)
    refused = await mutate(client, "createContactPerson", {"input": PERSON | named}, admin)
    assert (codes(refused), paths(refused)) == (["INVALID"], [path])
    assert await snapshot(connection) == before


async def test_a_contact_person_stays_the_contact_of_its_entry(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    city, other = await factories.add_city(db), await factories.add_city(db)
    person = await factories.add_contact(db, city_id=city.id)
    moved = {"id": gid(person), "input": {"cityId": gid(other)}}
    refused = await mutate(client, "updateContactPerson", moved, admin)
    assert (codes(refused), paths(refused)) == (["INVALID"], [["input", "cityId"]])


async def test_a_contact_person_not_ones_own_is_not_found_as_if_there_were_none(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession
) -> None:
    city = await factories.add_city(db)
    person = await factories.add_contact(db, city_id=city.id)
    funder = await add_key(db, Role.FUNDER, funder_id=(await factories.add_funder(db)).id)
    before = await snapshot(connection)
    answers = [
        await mutate(client, "removeContactPerson", {"id": id_}, key)
        for id_ in (gid(person), to_base64("ContactPerson", person.id + 1000))
        for key in (funder, None)
    ]
    assert {(error["message"], tuple(error["path"])) for a in answers for error in a["errors"]} == {
        ("No ContactPerson has this ID.", ("id",))
    }
    assert await snapshot(connection) == before


async def test_a_state_partner_keeps_the_contacts_of_its_partnership(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    for code in ("NW", "BY"):
        await factories.add_state(db, code)
    partnerships = [
        await factories.add(
            db,
            models.StatePartnership(state_code=code, institution="SK", starts_on=date(2024, 1, 1)),
        )
        for code in ("NW", "BY")
    ]
    key = await add_key(db, Role.STATE_PARTNER, state_code="NW")
    own, foreign = ({"statePartnershipId": gid(partnership)} for partnership in partnerships)
    created = await mutate(client, "createContactPerson", {"input": PERSON | own}, key)
    assert created["errors"] == []
    refused = await mutate(client, "createContactPerson", {"input": PERSON | foreign}, key)
    assert (codes(refused), paths(refused)) == (["FORBIDDEN"], [[]])


async def test_an_applicants_contact_is_a_contact_person_the_office_corrects(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    await factories.add_state(db, "NW")
    application = await factories.add_application(db)
    person = await factories.add_contact(db, application_id=application.id)
    query = "{ applications { edges { node { contact { id fullName } } } } }"
    body = await send(client, query, key=admin)
    [edge] = body["data"]["applications"]["edges"]
    assert edge["node"]["contact"] == {"id": gid(person), "fullName": person.full_name}
    corrected = {"id": gid(person), "input": {"fullName": "Erika Muster"}}
    updated = await mutate(client, "updateContactPerson", corrected, admin, "result { fullName }")
    assert updated["result"] == {"fullName": "Erika Muster"}


def actor_contact(actor: models.Actor, **fields: Any) -> dict[str, Any]:
    return {"input": PERSON | {"actorId": gid(actor)} | fields}


async def test_a_coordinator_keeps_the_contacts_of_its_networks_actors_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await factories.add_sector(db)
    network = await factories.add_network(db)
    own, foreign = await factories.add_actor(db, network), await factories.add_actor(db)
    key = await add_key(db, Role.COORDINATOR, city_id=network.city_id)
    assert (await mutate(client, "createContactPerson", actor_contact(own), key))["errors"] == []
    refused = await mutate(client, "createContactPerson", actor_contact(foreign), key)
    assert codes(refused) == ["FORBIDDEN"]
