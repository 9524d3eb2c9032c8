"""The rights of data subjects (DSGVO): access to and erasure of everything the hub holds about
a person, by mutation and on the command line, and the end of keeping applicants' contacts.

The erasure is proved on a dump: `pg_dump` of the whole database holds the person's address,
name and phone nowhere afterwards.
"""

import asyncio
import csv
import io
import json
import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from hub.config import ConfigurationError, Settings
from hub.database import asyncpg_dsn, engine_for, session_factory
from hub.embedded import find_binaries
from hub.keys import hash_key, new_key
from models import ApplicationStatus, Role
from server import create_app
from tests import factories
from tests.conftest import demo_database, drop_database, sessions_on
from tests.factories import add_key
from tests.test_audit import audit_log, key_id
from tests.test_cli import COMMAND, environment, hub
from tests.writes import codes, gid, mutate, paths, snapshot

ADDRESS = "Wiebke.Erasmus@example.org"
NAME = "Wiebke Erasmus-Tönnies"
PHONE = "+49 228 5550199"
PERSON = {"full_name": NAME, "function": "Koordinatorin", "email": ADDRESS, "phone": PHONE}
REPORT = "result { document }"
ERASURE = "result { contactPersons applicationContacts auditEntries otherEntries }"
# Texts naming a longer address that ends or begins with the person's: not theirs.
NEAR_MISSES = ("jo" + ADDRESS, ADDRESS + ".uk")


@dataclass
class Scattered:
    """Where the person's data was put."""

    city: models.City
    actor: models.Actor
    application: models.Application
    contacts: list[models.ContactPerson]


async def scatter(session: AsyncSession) -> Scattered:
    """The person's data everywhere it can be: contact of a city, an actor and an
    application; the address in texts of every kind (in other cases, too), in a token's
    subject, and in the audit log's values, as a write that kept them would have left them."""
    city = await factories.add_city(session)
    description = f"Ansprechpartnerin: {ADDRESS.upper()}."
    actor = await factories.add_actor(
        session, await factories.add_network(session, city), description=description
    )
    application = await factories.add_application(session)
    application.motivation = f"Erreichbar unter {ADDRESS}, gern auch telefonisch."
    owners = [{"city_id": city.id}, {"actor_id": actor.id}, {"application_id": application.id}]
    contacts = [
        await factories.add(session, models.ContactPerson(**PERSON | owner)) for owner in owners
    ]
    contacts[1].email = ADDRESS.lower()
    token_subject = f"oidc:{ADDRESS}"
    entries = [
        models.AuditEntry(
            subject="key:1",
            role=Role.ADMIN,
            operation="createContactPerson",
            entity_type="ContactPerson",
            entity_id=str(contacts[0].id),
            changes={"full_name": NAME, "email": ADDRESS, "phone": PHONE, "city_id": city.id},
        ),
        models.AuditEntry(
            subject=token_subject,
            role=Role.COORDINATOR,
            operation="updateActor",
            entity_type="Actor",
            entity_id=str(actor.id),
            changes={"description": description},
        ),
        models.ApplicationStatusChange(
            application_id=application.id,
            from_status=ApplicationStatus.SUBMITTED,
            to_status=ApplicationStatus.IN_REVIEW,
            changed_by=token_subject,
            note=f"Rückruf an {ADDRESS} erbeten",
        ),
        models.ApiKey(
            name=f"Skript von {ADDRESS}",
            role=Role.ADMIN,
            key_prefix="ehk_skript",
            key_hash=hash_key(new_key()),
        ),
        models.SavedView(
            name=factories.unique("ansicht"),
            query="{ states { code } }",
            description=f"Für {ADDRESS}",
        ),
    ]
    for entry in entries:
        await factories.add(session, entry)
    return Scattered(city, actor, application, contacts)


async def add_near_misses(session: AsyncSession, city: models.City) -> list[models.ContactPerson]:
    """Contacts of longer addresses that contain the person's."""
    return [
        await factories.add(
            session, models.ContactPerson(full_name="Jo", email=email, city_id=city.id)
        )
        for email in NEAR_MISSES
    ]


async def test_the_report_holds_everything_about_the_person(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession
) -> None:
    held = await scatter(db)
    await add_near_misses(db, held.city)
    admin = await add_key(db, Role.ADMIN)
    submitted = {"kind": "PARTNER", "organisationName": "Stiftung Erasmus", "contact": {
        "fullName": NAME, "email": ADDRESS, "phone": PHONE}}  # fmt: skip
    await mutate(client, "submitApplication", {"input": submitted}, selection="")
    before = await snapshot(connection)
    payload = await mutate(
        client, "reportPersonalData", {"input": {"email": ADDRESS.lower()}}, admin, REPORT
    )
    assert payload["errors"] == []
    assert await snapshot(connection) == before
    document = payload["result"]["document"]
    assert document["email"] == ADDRESS.lower()

    contacts = document["contactPersons"]
    assert [contact["contactOf"]["type"] for contact in contacts] == [
        "City", "Actor", "Application", "Application"]  # fmt: skip
    assert contacts[0]["contactOf"] == {
        "type": "City",
        "id": gid(held.city),
        "name": held.city.name,
    }
    assert {contact["fullName"] for contact in contacts} == {NAME}
    assert contacts[0] | {"createdAt": None, "updatedAt": None} == {
        "id": gid(held.contacts[0]), "fullName": NAME, "function": "Koordinatorin",
        "email": ADDRESS, "phone": PHONE, "createdAt": None, "updatedAt": None,
        "contactOf": contacts[0]["contactOf"]}  # fmt: skip

    applications = document["applications"]
    assert [a["organisationName"] for a in applications] == ["Bad Honnef", "Stiftung Erasmus"]
    assert "withdrawTokenHash" not in applications[0]
    assert applications[0]["statusChanges"][0]["note"] == f"Rückruf an {ADDRESS} erbeten"
    assert [step["toStatus"] for step in applications[1]["statusChanges"]] == ["submitted"]

    audit = {(entry["entityType"], entry["operation"]) for entry in document["auditEntries"]}
    assert audit == {
        ("ContactPerson", "createContactPerson"),  # its values
        ("Actor", "updateActor"),  # its writer's subject
        ("ContactPerson", "submitApplication"),  # withheld, yet about the person
    }
    mentions = {(mention["type"], *mention["fields"]) for mention in document["mentions"]}
    assert mentions == {
        ("Actor", "description"),
        ("Application", "motivation"),
        ("ApplicationStatusChange", "changedBy", "note"),
        ("ApiKey", "name"),
        ("SavedView", "description"),
    }
    assert not any(miss in json.dumps(document) for miss in NEAR_MISSES)


async def test_an_erasure_keeps_that_changes_happened_not_the_values(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession
) -> None:
    held = await scatter(db)
    misses = await add_near_misses(db, held.city)
    admin = await add_key(db, Role.ADMIN)
    variables = {"input": {"email": ADDRESS.upper()}}
    payload = await mutate(client, "erasePersonalData", variables, admin, ERASURE)
    assert payload == {"result": {"contactPersons": 2, "applicationContacts": 1,
                                  "auditEntries": 2, "otherEntries": 5}, "errors": []}  # fmt: skip

    remaining = await db.scalars(select(models.ContactPerson.email))
    assert sorted(remaining) == sorted(miss.email for miss in misses)
    await db.refresh(held.actor)
    assert held.actor.description == "Ansprechpartnerin: (erased)."
    entries = await audit_log(client, admin)
    old = [entry for entry in entries if entry["operation"] != "erasePersonalData"]
    assert [entry["changes"] for entry in old] == [
        {"description": "Ansprechpartnerin: (erased)."},
        {"full_name": "(erased)", "email": "(erased)", "phone": "(erased)",
         "city_id": held.city.id},
    ]  # fmt: skip
    assert old[0]["subject"] == "oidc:(erased)"
    erasure = [entry for entry in entries if entry["operation"] == "erasePersonalData"]
    assert {entry["subject"] for entry in erasure} == {f"key:{await key_id(db, admin)}"}
    removals = [entry["changes"] for entry in erasure if entry["entityType"] == "ContactPerson"]
    assert len(removals) == 3 and all(set(change.values()) == {None} for change in removals)
    others = [entry for entry in erasure if entry["entityType"] != "ContactPerson"]
    assert all(set(entry["changes"].values()) == {"(erased)"} for entry in others)
    assert {(entry["entityType"], *sorted(entry["changes"])) for entry in others} == {
        ("AuditEntry", "changes"),
        ("AuditEntry", "changes", "subject"),
        ("Actor", "description"),
        ("Application", "motivation"),
        ("ApplicationStatusChange", "changed_by", "note"),
        ("ApiKey", "name"),
        ("SavedView", "description"),
    }
    assert ADDRESS.lower() not in json.dumps(entries).lower()

    again = await mutate(client, "erasePersonalData", variables, admin, ERASURE)
    assert set(again["result"].values()) == {0}


async def test_an_address_unknown_or_malformed(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession
) -> None:
    admin = await add_key(db, Role.ADMIN)
    before = await snapshot(connection)
    unknown = {"input": {"email": "niemand@example.org"}}
    report = await mutate(client, "reportPersonalData", unknown, admin, REPORT)
    assert report["result"]["document"] == {
        "email": "niemand@example.org", "contactPersons": [], "applications": [],
        "auditEntries": [], "mentions": []}  # fmt: skip
    erasure = await mutate(client, "erasePersonalData", unknown, admin, ERASURE)
    assert set(erasure["result"].values()) == {0}
    for mutation in ("reportPersonalData", "erasePersonalData"):
        # A word would match in every text: only an address is one person's.
        refused = await mutate(client, mutation, {"input": {"email": "de"}}, admin)
        assert (codes(refused), paths(refused)) == (["INVALID"], [["input", "email"]])
    assert await snapshot(connection) == before


@pytest.fixture
async def own_demo_url(server_url: str) -> AsyncIterator[str]:
    """A database of the test's own with the demo data, for commands and dumps."""
    url = await demo_database(server_url)
    yield url
    await drop_database(server_url, url)


def dump(url: str) -> str:
    """The whole database as `pg_dump` writes it, lower-cased."""
    binaries = find_binaries(os.environ.get("HUB_PG_BINARIES", "auto"))
    result = subprocess.run(
        [binaries.bindir / "pg_dump", asyncpg_dsn(url)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return result.stdout.lower()


async def erase_by_mutation(url: str) -> None:
    async with engine_for(url) as engine:
        async with session_factory(engine).begin() as session:
            admin = await add_key(session, Role.ADMIN)
        transport = httpx.ASGITransport(app=create_app(sessions=session_factory(engine)))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            variables = {"input": {"email": ADDRESS}}
            payload = await mutate(client, "erasePersonalData", variables, admin, ERASURE)
    assert payload["errors"] == []


async def erase_by_command(url: str) -> None:
    result = await asyncio.to_thread(
        hub, "privacy", "erase", ADDRESS, "--yes", env=environment(DATABASE_URL=url)
    )
    assert result.returncode == 0, result.stderr
    assert "contact persons removed: 2" in result.stdout


@pytest.mark.parametrize("erase", [erase_by_mutation, erase_by_command])
async def test_after_an_erasure_a_dump_holds_the_person_nowhere(
    own_demo_url: str, erase: Any
) -> None:
    async with engine_for(own_demo_url) as engine, session_factory(engine).begin() as session:
        await scatter(session)
    traces = [ADDRESS.lower(), NAME.lower(), PHONE]
    assert all(trace in dump(own_demo_url) for trace in traces)
    await erase(own_demo_url)
    after = dump(own_demo_url)
    assert [trace for trace in traces if trace in after] == []


async def test_the_command_reports_what_the_mutation_reports(own_demo_url: str) -> None:
    async with engine_for(own_demo_url) as engine, session_factory(engine).begin() as session:
        await scatter(session)
        admin = await add_key(session, Role.ADMIN)
    result = await asyncio.to_thread(
        hub, "privacy", "access", ADDRESS, env=environment(DATABASE_URL=own_demo_url)
    )
    assert result.returncode == 0, result.stderr
    async with engine_for(own_demo_url) as engine:
        transport = httpx.ASGITransport(app=create_app(sessions=session_factory(engine)))
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            variables = {"input": {"email": ADDRESS}}
            payload = await mutate(client, "reportPersonalData", variables, admin, REPORT)
    assert json.loads(result.stdout) == payload["result"]["document"]


async def test_the_commands_refuse_with_one_line(database_url: str) -> None:
    env = environment(DATABASE_URL=database_url)
    for command in (("access", "kein-name"), ("erase", "kein-name", "--yes")):
        result = await asyncio.to_thread(hub, "privacy", *command, env=env)
        assert (result.returncode, result.stderr) == (
            1,
            "error: Must be an e-mail address, e.g. `name@example.org`.\n",
        )
    declined = await asyncio.to_thread(
        subprocess.run,
        [COMMAND, "privacy", "erase", ADDRESS],
        input="n\n",
        env=env,
        capture_output=True,
        text=True,
    )
    assert declined.returncode == 1 and "Aborted" in declined.stdout + declined.stderr


# --- Retention: the contacts of applications that ended -----------------------------------


async def application_with_contact(
    session: AsyncSession, status: ApplicationStatus, days_ago: int, email: str
) -> models.Application:
    """An application that took the step to `status` `days_ago` days ago, with a contact of
    the address `email`."""
    application = await factories.add_application(session)
    application.status = status
    if status is ApplicationStatus.REJECTED:
        application.rejection_reason = "Passt nicht."
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    step = models.ApplicationStatusChange(
        application_id=application.id,
        from_status=ApplicationStatus.SUBMITTED,
        to_status=status,
        changed_at=moment,
        changed_by="key:1",
    )
    await factories.add(session, step)
    person = models.ContactPerson(full_name="Antrag", email=email, application_id=application.id)
    await factories.add(session, person)
    return application


async def contact_emails(url: str) -> set[str]:
    async with engine_for(url) as engine, session_factory(engine)() as session:
        return set(await session.scalars(select(models.ContactPerson.email)))


async def purge(url: str, **env: str) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        hub, "privacy", "purge", env=environment(DATABASE_URL=url, **env)
    )


async def test_the_purge_erases_the_contacts_of_applications_ended_long_ago(
    empty_url: str,
) -> None:
    Status = ApplicationStatus
    cases = {
        "rejected-old@example.org": (Status.REJECTED, 200),
        "withdrawn-old@example.org": (Status.WITHDRAWN, 181),
        "rejected-recently@example.org": (Status.REJECTED, 10),
        "in-review@example.org": (Status.IN_REVIEW, 400),
    }
    async with engine_for(empty_url) as engine, session_factory(engine).begin() as session:
        await factories.add_state(session, "NW")
        for email, (status, days_ago) in cases.items():
            await application_with_contact(session, status, days_ago, email)
    before = await contact_emails(empty_url)

    first = await purge(empty_url)
    assert first.returncode == 0, first.stderr
    assert first.stdout == (
        "Erased the contacts of 1 rejected and 1 withdrawn applications ended over 180 days ago.\n"
    )
    assert before - await contact_emails(empty_url) == {
        "rejected-old@example.org", "withdrawn-old@example.org"}  # fmt: skip
    again = await purge(empty_url)
    assert "of 0 rejected and 0 withdrawn applications" in again.stdout

    shorter = await purge(empty_url, HUB_APPLICATION_CONTACT_RETENTION_DAYS="7")
    assert "of 1 rejected and 0 withdrawn applications ended over 7 days ago" in shorter.stdout
    assert "in-review@example.org" in await contact_emails(empty_url)

    async with engine_for(empty_url) as engine, session_factory(engine)() as session:
        audited = await session.execute(
            select(models.AuditEntry.subject, models.AuditEntry.entity_type, func.count())
            .where(models.AuditEntry.operation == "purgeApplicationContacts")
            .group_by(models.AuditEntry.subject, models.AuditEntry.entity_type)
        )
        assert audited.all() == [("cli", "ContactPerson", 3)]


async def test_the_retention_period_is_a_number_of_days(database_url: str) -> None:
    for value in ("0", "180d"):
        result = await purge(database_url, HUB_APPLICATION_CONTACT_RETENTION_DAYS=value)
        assert (result.returncode, result.stderr) == (
            1,
            "error: HUB_APPLICATION_CONTACT_RETENTION_DAYS must be a whole number of days, "
            f"at least 1, not {value!r}\n",
        )


def test_the_retention_period_defaults_to_180_days(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HUB_APPLICATION_CONTACT_RETENTION_DAYS", raising=False)
    assert Settings.from_env().application_contact_retention_days == 180
    monkeypatch.setenv("HUB_APPLICATION_CONTACT_RETENTION_DAYS", "30")
    assert Settings.from_env().application_contact_retention_days == 30
    for value in ("thirty", "-3", "½", "0"):
        monkeypatch.setenv("HUB_APPLICATION_CONTACT_RETENTION_DAYS", value)
        with pytest.raises(ConfigurationError):
            Settings.from_env()


# --- Personal data stays in its scope, in views and the export too ------------------------

OWN_CITY = "dessau-rosslau"
CONTACTS_OF_A_STATE = """query ContactsOfAState($state: String!) {
  state(code: $state) { cities(first: 100) { edges { node { slug contacts { email } } } } }
}"""


async def test_a_view_as_csv_shows_contacts_only_in_the_viewer_s_scope(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    async with sessions_on(demo_connection)() as session:
        session.add(models.SavedView(name="contacts-of-a-state", query=CONTACTS_OF_A_STATE))
        own = await session.scalar(select(models.City.id).where(models.City.slug == OWN_CITY))
        coordinator = await add_key(session, Role.COORDINATOR, city_id=own)
        await session.commit()

    async def contacts_by_city(key: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        url = "/views/contacts-of-a-state?state=ST&format=csv"
        response = await demo_client.get(url, headers=headers)
        return {row["slug"]: row["contacts"] for row in csv.DictReader(io.StringIO(response.text))}

    public = await contacts_by_city(None)
    assert len(public) > 1 and set(public.values()) == {""}
    coordinated = await contacts_by_city(coordinator)
    assert public.keys() == coordinated.keys()
    assert [city for city, contacts in coordinated.items() if contacts] == [OWN_CITY]
    assert "@" in coordinated[OWN_CITY]
