"""The audit log: every successful write records who, what, on which entry, when, and the
fields written; the network office reads it."""

from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import models
from hub.keys import hash_key
from models import Role
from tests import factories
from tests.factories import add_key
from tests.writes import gid, mutate, send

LOG = """query ($filter: AuditFilter) {
  auditLog(filter: $filter) {
    totalCount
    edges { node { subject role operation entityType entityId changes recordedAt } }
  }
}"""


async def audit_log(client: httpx.AsyncClient, key: str, **conditions: Any) -> list[dict[str, Any]]:
    """The audit entries the office reads, newest first."""
    body = await send(client, LOG, {"filter": conditions}, key)
    return [edge["node"] for edge in body["data"]["auditLog"]["edges"]]


async def key_id(db: AsyncSession, key: str) -> int:
    """The ID of a key's row: its subject is `key:<id>`."""
    found = select(models.ApiKey.id).where(models.ApiKey.key_hash == hash_key(key))
    return (await db.execute(found)).scalar_one()


async def test_a_write_records_who_wrote_what_on_which_entry(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await add_key(db, Role.ADMIN)
    theme = await factories.add(db, models.Theme(slug="bildung", name_de="Bildung", name_en="Ed"))
    update = {"id": gid(theme), "input": {"nameEn": "Education", "nameDe": "Bildung"}}
    await mutate(client, "updateTheme", update, admin)
    [entry] = await audit_log(client, admin)
    assert entry | {"recordedAt": None} == {
        "subject": f"key:{await key_id(db, admin)}",
        "role": "ADMIN",
        "operation": "updateTheme",
        "entityType": "Theme",
        "entityId": gid(theme),
        "changes": {"name_en": "Education"},
        "recordedAt": None,
    }


async def test_a_refused_write_records_nothing(client: httpx.AsyncClient, db: AsyncSession) -> None:
    admin = await add_key(db, Role.ADMIN)
    theme = {"slug": "Kein Slug", "nameDe": "Bildung", "nameEn": "Education"}
    assert (await mutate(client, "createTheme", {"input": theme}, admin))["errors"]
    assert await audit_log(client, admin) == []


async def test_the_log_is_newest_first_and_filtered(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await add_key(db, Role.ADMIN)
    for slug in ("erstes", "zweites"):
        theme = {"slug": slug, "nameDe": slug, "nameEn": slug}
        await mutate(client, "createTheme", {"input": theme}, admin)
    group = {"slug": "ag", "name": "AG"}
    created = await mutate(client, "createWorkingGroup", {"input": group}, admin)
    entries = await audit_log(client, admin)
    assert [entry["entityType"] for entry in entries] == ["WorkingGroup", "Theme", "Theme"]
    assert [entry["changes"]["slug"] for entry in entries] == ["ag", "zweites", "erstes"]
    themes = await audit_log(client, admin, entityType="Theme")
    assert len(themes) == 2
    [entry] = await audit_log(client, admin, entityId=created["result"]["id"])
    assert entry["operation"] == "createWorkingGroup"
    assert await audit_log(client, admin, subject="key:0") == []


async def test_personal_data_and_secrets_stay_out_of_the_log(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    admin = await add_key(db, Role.ADMIN)
    await factories.add_state(db, "NW")
    application = {
        "kind": "CITY",
        "organisationName": "Bad Honnef",
        "stateCode": "NW",
        "cityKind": "CITY",
        "contact": {"fullName": "Erika Mustermann", "email": "erika@example.org"},
    }
    await mutate(client, "submitApplication", {"input": application}, selection="")
    entries = {entry["entityType"]: entry for entry in await audit_log(client, admin)}
    assert entries["ContactPerson"]["changes"] == {
        "full_name": "(withheld)",
        "email": "(withheld)",
    }
    assert entries["Application"]["changes"]["withdraw_token_hash"] == "(withheld)"
    assert entries["Application"]["subject"] == "public"
    assert "Mustermann" not in str(entries)


async def test_only_the_office_reads_the_log(client: httpx.AsyncClient, db: AsyncSession) -> None:
    coordinator = await add_key(db, Role.COORDINATOR, city_id=(await factories.add_city(db)).id)
    for key in (coordinator, None):
        body = await send(client, LOG, {}, key)
        assert body["data"] == {"auditLog": None}
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
