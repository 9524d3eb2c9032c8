"""Random bad input always gets typed user errors and leaves the database as it was.

Each example takes a valid input and spoils one to three of its fields with values of the
right GraphQL type that the hub must refuse: blank or overlong texts, malformed slugs, e-mail
addresses and web addresses, foreign or unknown IDs, amounts, coordinates and populations out
of range, periods ending before they start, dates from other centuries, null where a value
is required.
"""

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry.relay import to_base64

import models
from hub.slugs import SLUG_PATTERN
from models import Role
from models.contacts import EMAIL_PATTERN
from models.geography import LATITUDE_RANGE, LONGITUDE_RANGE, STATE_CODES
from resolvers.mutations.validation import MAX_TEXT_LENGTH, WEBSITE_PATTERN
from tests import factories
from tests.factories import add_key
from tests.helpers import property_settings
from tests.writes import gid, mutate, snapshot

USER_ERRORS = {"ValidationError", "NotFoundError", "ConflictError", "ForbiddenError"}
# Any text JSON and PostgreSQL carry (no lone surrogates; NUL is refused with 400 before).
CHARACTERS = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def text(min_size: int = 0, max_size: int = 40) -> st.SearchStrategy[str]:
    return st.text(CHARACTERS, min_size=min_size, max_size=max_size)


def blank() -> st.SearchStrategy[str]:
    return st.text(" \t\r\n", max_size=3)


def longer_than(length: int) -> st.SearchStrategy[str]:
    """Random text repeated beyond `length` characters."""
    return text(1, 20).map(lambda piece: piece * (length // len(piece) + 1))


def unlike(pattern: str) -> st.SearchStrategy[str]:
    return text().filter(lambda value: not re.fullmatch(pattern, value))


def bad_id(type_name: str) -> st.SearchStrategy[str]:
    """Text that is no global ID, an ID of another type, or one of no existing row."""
    return st.one_of(
        text(max_size=20),
        st.builds(to_base64, st.sampled_from(["City", "Nothing", ""]), st.integers(1, 99)),
        st.builds(to_base64, st.just(type_name), st.integers(10**6, 10**13)),
    )


def outside(low: float, high: float) -> st.SearchStrategy[float]:
    return st.floats(allow_nan=False, allow_infinity=False).filter(
        lambda value: not low <= value <= high
    )


def other_century() -> st.SearchStrategy[str]:
    return st.one_of(
        st.dates(max_value=date(1899, 12, 31)), st.dates(min_value=date(2101, 1, 1))
    ).map(date.isoformat)


BAD_AMOUNTS = st.one_of(
    st.sampled_from(["NaN", "sNaN", "Infinity", "-Infinity", "1E+999999", "-0.01", "0.001"]),
    st.decimals(max_value=Decimal("-0.01"), places=2, allow_nan=False).map(str),
    st.decimals(min_value=Decimal(10) ** 12, max_value=Decimal(10) ** 18, places=2).map(str),
    st.decimals(min_value=0, max_value=10**6, places=4)
    .filter(lambda amount: amount != amount.quantize(Decimal("0.01")))
    .map(str),
)


def spoiled(valid: dict[str, Any], bad: dict[str, st.SearchStrategy[Any]]) -> Any:
    """`valid` with one to three of its fields replaced by values `bad` draws."""
    fields = st.lists(st.sampled_from(sorted(bad)), min_size=1, max_size=3, unique=True)
    return fields.flatmap(
        lambda names: st.fixed_dictionaries({name: bad[name] for name in names}).map(
            lambda values: valid | values
        )
    )


@dataclass
class World:
    network: models.LocalNetwork
    funder: models.Funder
    application: models.Application
    keys: dict[Role, str | None]


@pytest.fixture
async def world(db: AsyncSession) -> World:
    await factories.add_sector(db)
    network = await factories.add_network(db)
    funder = await factories.add_funder(db)
    keys: dict[Role, str | None] = {
        Role.ADMIN: await add_key(db, Role.ADMIN),
        Role.COORDINATOR: await add_key(db, Role.COORDINATOR, city_id=network.city_id),
        Role.FUNDER: await add_key(db, Role.FUNDER, funder_id=funder.id),
        Role.PUBLIC: None,
    }
    return World(network, funder, await factories.add_application(db), keys)


async def refused_without_a_trace(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    key: str | None,
    mutation: str,
    arguments: dict[str, Any],
) -> None:
    """The mutation answers with user errors only, and every table is as it was."""
    before = await snapshot(connection)
    payload = await mutate(client, mutation, arguments, key, selection="__typename")
    assert payload["errors"], arguments
    assert {error["__typename"] for error in payload["errors"]} <= USER_ERRORS
    assert await snapshot(connection) == before


PROPERTY = property_settings(40)


@PROPERTY
@given(data=st.data())
async def test_bad_actors_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, data: st.DataObject
) -> None:
    valid = {
        "networkId": gid(world.network),
        "slug": "buergerstiftung",
        "name": "Bürgerstiftung",
        "organisationType": "Stiftung",
        "sectorCode": "CIVIL_SOCIETY",
        "role": "MEMBER",
        "website": "https://example.org",
    }
    bad = {
        "networkId": bad_id("LocalNetwork"),
        "slug": st.one_of(unlike(SLUG_PATTERN), st.just("a" * 121)),
        "name": st.one_of(blank(), longer_than(200), st.none()),
        "organisationType": st.one_of(blank(), longer_than(80), st.none()),
        "website": unlike(WEBSITE_PATTERN),
        "description": longer_than(MAX_TEXT_LENGTH),
    }
    actor = data.draw(spoiled(valid, bad))
    key = world.keys[Role.COORDINATOR]
    await refused_without_a_trace(client, connection, key, "createActor", {"input": actor})


@PROPERTY
@given(data=st.data())
async def test_bad_fundings_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, data: st.DataObject
) -> None:
    valid = {
        "funderId": gid(world.funder),
        "recipientId": gid(world.network),
        "contributionType": "FINANCIAL",
        "amountEur": "1000.00",
        "title": "Förderung",
        "startsOn": "2025-01-01",
        "endsOn": "2025-12-31",
    }
    bad = {
        "funderId": bad_id("Funder"),
        "recipientId": bad_id("Measure"),
        "amountEur": st.one_of(BAD_AMOUNTS, st.none()),
        "title": st.one_of(blank(), longer_than(200), st.none()),
        "startsOn": st.one_of(other_century(), st.just("2026-01-01"), st.none()),
        "endsOn": st.one_of(other_century(), st.just("2024-12-31")),
    }
    funding = data.draw(spoiled(valid, bad))
    key = world.keys[Role.FUNDER]
    await refused_without_a_trace(client, connection, key, "recordFunding", {"input": funding})


@PROPERTY
@given(data=st.data())
async def test_bad_applications_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, data: st.DataObject
) -> None:
    contact = {"fullName": "Erika Mustermann", "email": "erika@example.org", "phone": "0228 1"}
    valid = {
        "kind": "CITY",
        "organisationName": "Königswinter",
        "stateCode": "NW",
        "cityKind": "CITY",
        "contact": contact,
    }
    bad_contact = {
        "fullName": st.one_of(blank(), longer_than(200)),
        "email": st.one_of(unlike(EMAIL_PATTERN), st.just("e" * 250 + "@example.org")),
        "phone": unlike(r"\+?[0-9][0-9 ()/-]{2,38}"),
    }
    bad = {
        "organisationName": st.one_of(blank(), longer_than(200)),
        "stateCode": text(max_size=3).filter(lambda code: code not in STATE_CODES),
        "motivation": longer_than(MAX_TEXT_LENGTH),
        "plannedStartOn": other_century(),
        "contact": spoiled(contact, bad_contact),
    }
    application = data.draw(spoiled(valid, bad))
    await refused_without_a_trace(
        client, connection, None, "submitApplication", {"input": application}
    )


@PROPERTY
@given(data=st.data())
async def test_bad_acceptances_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, data: st.DataObject
) -> None:
    valid = {"applicationId": to_base64("Application", world.application.id), "slug": "honnef"}
    bad = {
        "applicationId": bad_id("Application"),
        "slug": unlike(SLUG_PATTERN),
        "name": st.one_of(blank(), longer_than(120)),
        "latitude": outside(*LATITUDE_RANGE),
        "longitude": outside(*LONGITUDE_RANGE),
        "population": st.one_of(st.integers(-(2**31), -1), st.integers(5_000_001, 2**31 - 1)),
        "joinedOn": other_century(),
    }
    acceptance = data.draw(spoiled(valid, bad))
    key = world.keys[Role.ADMIN]
    await refused_without_a_trace(
        client, connection, key, "acceptApplication", {"input": acceptance}
    )


@PROPERTY
@given(data=st.data())
async def test_bad_contact_persons_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, data: st.DataObject
) -> None:
    valid = {
        "cityId": to_base64("City", world.network.city_id),
        "fullName": "Erika Mustermann",
        "email": "erika@example.org",
        "phone": "0228 1",
    }
    bad = {
        "cityId": st.one_of(bad_id("City"), st.none()),
        "actorId": bad_id("Actor"),
        "fullName": st.one_of(blank(), longer_than(200), st.none()),
        "function": longer_than(200),
        "email": st.one_of(unlike(EMAIL_PATTERN), st.just("e" * 250 + "@example.org"), st.none()),
        "phone": unlike(r"\+?[0-9][0-9 ()/-]{2,38}"),
    }
    person = data.draw(spoiled(valid, bad))
    key = world.keys[Role.COORDINATOR]
    await refused_without_a_trace(client, connection, key, "createContactPerson", {"input": person})


@PROPERTY
@given(data=st.data())
async def test_bad_cities_are_refused(
    client: httpx.AsyncClient, connection: AsyncConnection, world: World, data: st.DataObject
) -> None:
    valid = {
        "slug": "bad-honnef",
        "name": "Bad Honnef",
        "kind": "CITY",
        "stateCode": "NW",
        "status": "MEMBER",
        "joinedOn": "2024-01-01",
    }
    bad = {
        "slug": st.one_of(unlike(SLUG_PATTERN), st.none()),
        "name": st.one_of(blank(), longer_than(120), st.none()),
        "stateCode": text(max_size=3).filter(lambda code: code not in STATE_CODES),
        "latitude": outside(*LATITUDE_RANGE),
        "longitude": outside(*LONGITUDE_RANGE),
        "population": st.one_of(st.integers(-(2**31), -1), st.integers(5_000_001, 2**31 - 1)),
        "joinedOn": other_century(),
        "leftOn": st.one_of(other_century(), st.just("2025-01-01")),
        "website": unlike(WEBSITE_PATTERN),
    }
    city = data.draw(spoiled(valid, bad))
    key = world.keys[Role.ADMIN]
    await refused_without_a_trace(client, connection, key, "createCity", {"input": city})
