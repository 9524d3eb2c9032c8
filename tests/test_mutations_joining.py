"""Joining: anyone applies, the network office reviews, the applicant may withdraw."""

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from models import Role
from tests import factories
from tests.factories import add_key
from tests.writes import codes, mutate, paths, send, snapshot

CONTACT = {"fullName": "Erika Mustermann", "email": "erika@example.org"}
STATUS = "result { status }"


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    """The network office's key; the states NW and BY exist."""
    for code in ("NW", "BY"):
        await factories.add_state(db, code)
    return await add_key(db, Role.ADMIN)


async def apply(client: httpx.AsyncClient, **fields: Any) -> tuple[str, str]:
    """Submit a city's application (unless `fields` say otherwise); its ID and token."""
    application = {
        "kind": "CITY",
        "organisationName": "Bad Honnef",
        "stateCode": "NW",
        "cityKind": "CITY",
        "contact": CONTACT,
    }
    selection = "application { id } withdrawToken"
    payload = await mutate(
        client, "submitApplication", {"input": application | fields}, selection=selection
    )
    assert payload["errors"] == []
    return payload["application"]["id"], payload["withdrawToken"]


async def review(client: httpx.AsyncClient, admin: str, application_id: str) -> None:
    """Take the application into review."""
    step = {"input": {"applicationId": application_id}}
    payload = await mutate(client, "startApplicationReview", step, admin, STATUS)
    assert payload["result"] == {"status": "IN_REVIEW"}


async def test_an_anonymous_application_accepted_by_the_office_becomes_a_city(
    client: httpx.AsyncClient, admin: str
) -> None:
    submitted = await mutate(
        client,
        "submitApplication",
        {
            "input": {
                "kind": "CITY",
                "organisationName": "Bad Honnef",
                "stateCode": "NW",
                "cityKind": "CITY",
                "motivation": "Engagement braucht Netzwerke.",
                "contact": CONTACT | {"phone": "+49 2224 184-0"},
            }
        },
        selection="application { id status contact { email } } withdrawToken",
    )
    application = submitted["application"]
    assert (application["status"], application["contact"]) == ("SUBMITTED", None)
    assert len(submitted["withdrawToken"]) > 40
    await review(client, admin, application["id"])
    accepted = await mutate(
        client,
        "acceptApplication",
        {
            "input": {
                "applicationId": application["id"],
                "latitude": 50.64,
                "longitude": 7.22,
                "population": 25_000,
                "note": "Willkommen!",
            }
        },
        admin,
        "result { status city { slug } contact { email } "
        "statusChanges { fromStatus toStatus changedBy note } }",
    )
    result = accepted["result"]
    assert (result["status"], result["city"]) == ("ACCEPTED", {"slug": "bad-honnef"})
    assert result["contact"] == {"email": "erika@example.org"}
    steps = [(s["fromStatus"], s["toStatus"], s["note"]) for s in result["statusChanges"]]
    assert steps == [
        (None, "SUBMITTED", ""),
        ("SUBMITTED", "IN_REVIEW", ""),
        ("IN_REVIEW", "ACCEPTED", "Willkommen!"),
    ]
    assert [s["changedBy"][:4] for s in result["statusChanges"]] == ["publ", "key:", "key:"]
    city = """{ city(slug: "bad-honnef") {
      name kind status latitude population state { code } localNetwork { name }
    } }"""
    assert (await send(client, city))["data"]["city"] == {
        "name": "Bad Honnef",
        "kind": "CITY",
        "status": "MEMBER",
        "latitude": 50.64,
        "population": 25_000,
        "state": {"code": "NW"},
        "localNetwork": {"name": "Engagierte Stadt Bad Honnef"},
    }


async def test_an_accepted_state_partner_becomes_the_states_partnership(
    client: httpx.AsyncClient, admin: str
) -> None:
    application_id, _ = await apply(
        client, kind="STATE_PARTNER", organisationName="Staatskanzlei Bayern", stateCode="BY"
    )
    await review(client, admin, application_id)
    accept = {"applicationId": application_id, "startsOn": "2026-01-01", "focus": "Ländlicher Raum"}
    payload = await mutate(client, "acceptApplication", {"input": accept}, admin)
    assert payload["errors"] == []
    state = '{ state(code: "BY") { partnership { institution focus startsOn } } }'
    assert (await send(client, state))["data"]["state"]["partnership"] == {
        "institution": "Staatskanzlei Bayern",
        "focus": "Ländlicher Raum",
        "startsOn": "2026-01-01",
    }


async def test_accepting_a_partner_needs_the_kind_of_funder(
    client: httpx.AsyncClient, admin: str
) -> None:
    application_id, _ = await apply(
        client, kind="PARTNER", organisationName="Stiftung Mitmachen", stateCode=None
    )
    await review(client, admin, application_id)
    accept = {"applicationId": application_id}
    refused = await mutate(client, "acceptApplication", {"input": accept}, admin, STATUS)
    assert (codes(refused), paths(refused)) == (["INVALID"], [["input", "funderKind"]])
    accept |= {"funderKind": "FOUNDATION"}
    accepted = await mutate(
        client, "acceptApplication", {"input": accept}, admin, "result { funder { slug kind } }"
    )
    funder = {"slug": "stiftung-mitmachen", "kind": "FOUNDATION"}
    assert accepted["result"]["funder"] == funder


async def test_a_withdrawn_application_cannot_be_accepted(
    client: httpx.AsyncClient, connection: AsyncConnection, admin: str
) -> None:
    application_id, token = await apply(client)
    withdraw = {"applicationId": application_id, "withdrawToken": token}
    withdrawn = await mutate(client, "withdrawApplication", {"input": withdraw}, None, STATUS)
    assert withdrawn["result"] == {"status": "WITHDRAWN"}
    before = await snapshot(connection)
    accept = {"input": {"applicationId": application_id}}
    refused = await mutate(client, "acceptApplication", accept, admin, STATUS)
    assert refused["errors"] == [
        {
            "__typename": "InvalidTransitionError",
            "code": "INVALID_TRANSITION",
            "message": "The application is withdrawn: it cannot be accepted.",
            "path": ["input", "applicationId"],
        }
    ]
    assert await snapshot(connection) == before


async def test_a_wrong_token_is_refused_like_an_unknown_application(
    client: httpx.AsyncClient, admin: str
) -> None:
    application_id, _ = await apply(client)
    wrong_token = {"applicationId": application_id, "withdrawToken": "guessed"}
    unknown = {"applicationId": "QXBwbGljYXRpb246OTk5OQ==", "withdrawToken": "guessed"}
    refusals = [
        await mutate(client, "withdrawApplication", {"input": attempt})
        for attempt in (wrong_token, unknown)
    ]
    assert refusals[0] == refusals[1]
    assert codes(refusals[0]) == ["NOT_FOUND"]


async def test_a_rejection_follows_review_and_gives_a_reason(
    client: httpx.AsyncClient, admin: str
) -> None:
    application_id, _ = await apply(client)
    reject = {"applicationId": application_id, "rejectionReason": "Nicht im Programm."}
    early = await mutate(client, "rejectApplication", {"input": reject}, admin)
    assert codes(early) == ["INVALID_TRANSITION"]
    await review(client, admin, application_id)
    blank = await mutate(
        client, "rejectApplication", {"input": reject | {"rejectionReason": " "}}, admin
    )
    assert (codes(blank), paths(blank)) == (["INVALID"], [["input", "rejectionReason"]])
    rejected = await mutate(
        client, "rejectApplication", {"input": reject}, admin, "result { status rejectionReason }"
    )
    assert rejected["result"] == {"status": "REJECTED", "rejectionReason": "Nicht im Programm."}


async def test_only_the_office_reviews_and_others_learn_nothing_of_applications(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    coordinator = await add_key(db, Role.COORDINATOR, city_id=(await factories.add_city(db)).id)
    application_id, _ = await apply(client)
    for application in (application_id, "QXBwbGljYXRpb246OTk5OQ=="):
        step = {"input": {"applicationId": application}}
        for key in (coordinator, None):
            refused = await mutate(client, "startApplicationReview", step, key)
            assert codes(refused) == ["FORBIDDEN"]


async def test_a_submission_names_what_its_kind_needs_and_a_valid_contact(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    application = {
        "kind": "CITY",
        "organisationName": "Bad Honnef",
        "contact": CONTACT | {"email": "erika(at)example.org"},
    }
    payload = await mutate(client, "submitApplication", {"input": application}, selection="")
    assert paths(payload) == [["input", "contact", "email"]]
    application["contact"] = CONTACT
    payload = await mutate(client, "submitApplication", {"input": application}, selection="")
    assert sorted(paths(payload)) == [["input", "cityKind"], ["input", "stateCode"]]
    application |= {"stateCode": "XX", "cityKind": "CITY"}
    payload = await mutate(client, "submitApplication", {"input": application}, selection="")
    assert paths(payload) == [["input", "stateCode"]]
    assert await db.scalar(select(func.count()).select_from(models.Application)) == 0


async def test_accepting_with_a_taken_slug_creates_nothing(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    await factories.add_city(db, slug="bad-honnef")
    application_id, _ = await apply(client)
    await review(client, admin, application_id)
    refused = await mutate(
        client, "acceptApplication", {"input": {"applicationId": application_id}}, admin
    )
    assert (codes(refused), paths(refused)) == (["CONFLICT"], [["input", "slug"]])
    accepted = await mutate(
        client,
        "acceptApplication",
        {"input": {"applicationId": application_id, "slug": "bad-honnef-am-rhein"}},
        admin,
        "result { city { slug } }",
    )
    assert accepted["result"]["city"] == {"slug": "bad-honnef-am-rhein"}


LIST = "{ applications(filter: {statuses: [SUBMITTED]}) { totalCount edges { node { id } } } }"


async def test_only_the_office_reads_applications(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    first, _ = await apply(client)
    second, _ = await apply(client, organisationName="Königswinter")
    listed = await send(client, LIST, key=admin)
    assert listed["data"]["applications"]["totalCount"] == 2
    assert {edge["node"]["id"] for edge in listed["data"]["applications"]["edges"]} == {
        first,
        second,
    }
    funder = await add_key(db, Role.FUNDER, funder_id=(await factories.add_funder(db)).id)
    for key in (None, funder):
        body = await send(client, LIST, key=key)
        assert body["data"] == {"applications": None}
        assert body["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    node = await send(client, "query ($id: ID!) { node(id: $id) { id } }", {"id": first}, admin)
    assert node.get("data") is None or node["data"]["node"] is None
