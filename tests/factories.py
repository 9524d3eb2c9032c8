"""Small factories: plain functions that add one valid entity and flush it."""

import itertools
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

import models
from hub.keys import hash_key, new_key

_numbers = itertools.count(1)


def unique(prefix: str) -> str:
    """A slug-shaped name not used before in this test run."""
    return f"{prefix}-{next(_numbers)}"


async def add(session: AsyncSession, entity: Any) -> Any:
    """Add `entity`, flush it so the database checks it now, and return it."""
    session.add(entity)
    await session.flush()
    return entity


async def add_state(session: AsyncSession, code: str = "NW", **fields: Any) -> models.State:
    """A federal state (its rows are reference data: one per code)."""
    existing = await session.get(models.State, code)
    if existing is not None:
        return existing
    values = {"iso_code": f"DE-{code}", "name": f"Land {code}", "name_en": f"State {code}"}
    return await add(session, models.State(code=code, capital="Hauptstadt", **values | fields))


async def add_sector(session: AsyncSession, code: str = "civil_society") -> models.Sector:
    """A sector (reference data: one per code)."""
    existing = await session.get(models.Sector, code)
    if existing is not None:
        return existing
    position = next(_numbers)
    return await add(
        session,
        models.Sector(
            code=code, label_de=f"Sektor {code}", label_en=f"Sector {code}", position=position
        ),
    )


async def add_city(session: AsyncSession, **fields: Any) -> models.City:
    """A member city in North Rhine-Westphalia, near Königswinter unless told otherwise."""
    state = await add_state(session, fields.pop("state_code", "NW"))
    slug = fields.pop("slug", None) or unique("stadt")
    values = {
        "name": slug.replace("-", " ").title(),
        "kind": models.CityKind.CITY,
        "status": models.MembershipStatus.MEMBER,
        "latitude": 50.68,
        "longitude": 7.19,
        "population": 42_000,
    }
    return await add(session, models.City(slug=slug, state_code=state.code, **values | fields))


async def add_network(
    session: AsyncSession, city: models.City | None = None
) -> models.LocalNetwork:
    """The local network of `city` (of a new city if none is given)."""
    city = city or await add_city(session)
    return await add(session, models.LocalNetwork(city_id=city.id, name=f"Netzwerk {city.name}"))


async def add_actor(
    session: AsyncSession, network: models.LocalNetwork | None = None, **fields: Any
) -> models.Actor:
    """An actor of `network` (of a new network if none is given), a plain member."""
    network = network or await add_network(session)
    sector = await add_sector(session, fields.pop("sector_code", "civil_society"))
    values = {
        "slug": unique("akteur"),
        "name": "Freiwilligenagentur",
        "organisation_type": "Verein",
        "role": models.ActorRole.MEMBER,
    }
    return await add(
        session, models.Actor(network_id=network.id, sector_code=sector.code, **values | fields)
    )


async def add_measure(
    session: AsyncSession, network: models.LocalNetwork | None = None, **fields: Any
) -> models.Measure:
    """A measure of `network` (of a new network if none is given)."""
    network = network or await add_network(session)
    values = {
        "slug": unique("massnahme"),
        "title": "Engagementbörse",
        "starts_on": date(2024, 1, 1),
    }
    return await add(session, models.Measure(network_id=network.id, **values | fields))


async def add_funder(session: AsyncSession, **fields: Any) -> models.Funder:
    """A nationwide foundation."""
    values = {
        "slug": unique("stiftung"),
        "name": "Beispielstiftung",
        "kind": models.FunderKind.FOUNDATION,
        "scope": models.FunderScope.NATIONWIDE,
    }
    return await add(session, models.Funder(**values | fields))


async def add_funding(session: AsyncSession, **fields: Any) -> models.Funding:
    """A financial funding of 10,000 € to a new local network, unless told otherwise."""
    if "funder_id" not in fields:
        fields["funder_id"] = (await add_funder(session)).id
    if "recipient_kind" not in fields:
        fields["recipient_kind"] = models.RecipientKind.LOCAL_NETWORK
        fields["network_id"] = (await add_network(session)).id
    values = {
        "contribution_type": models.ContributionType.FINANCIAL,
        "amount_eur": Decimal("10000.00"),
        "title": "Förderung",
        "starts_on": date(2024, 1, 1),
    }
    return await add(session, models.Funding(**values | fields))


async def add_contact(session: AsyncSession, **fields: Any) -> models.ContactPerson:
    """A contact person of whatever `fields` name (`city_id=`, `actor_id=`, ...)."""
    values = {"full_name": "Erika Mustermann", "email": "erika@example.org"}
    return await add(session, models.ContactPerson(**values | fields))


async def add_application(
    session: AsyncSession, withdraw_token: str = "never sent"
) -> models.Application:
    """A city's application in review, which `withdraw_token` withdraws."""
    application = models.Application(
        kind=models.ApplicationKind.CITY,
        status=models.ApplicationStatus.IN_REVIEW,
        organisation_name="Bad Honnef",
        state_code="NW",
        city_kind=models.CityKind.CITY,
        withdraw_token_hash=hash_key(withdraw_token),
    )
    return await add(session, application)


async def add_key(session: AsyncSession, role: models.Role, **scope: Any) -> str:
    """An API key with `role` and its `scope` (e.g. `city_id=`); the key to send as bearer."""
    key = new_key()
    await add(
        session,
        models.ApiKey(name="test", role=role, key_prefix=key[:12], key_hash=hash_key(key), **scope),
    )
    return key
