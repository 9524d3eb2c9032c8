"""Contact persons of cities, actors, funders and state partnerships: personal data, written by
the network office and by whoever the entry they are a contact of belongs to."""

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import models as m
from resolvers.access import OFFICE, Owner
from resolvers.mutations.entries import Kind, of_network
from resolvers.mutations.problems import INPUT, Problem, invalid
from resolvers.mutations.validation import Values

# What a contact person is a contact of; an applicant's contact comes with its application.
OWNERS = ("city_id", "actor_id", "funder_id", "state_partnership_id")
ONE_OWNER = "Must name exactly one of cityId, actorId, funderId and statePartnershipId."


async def of_contact(session: AsyncSession, entry: Any) -> Owner:
    """A contact person belongs to whom what it is a contact of belongs to; an applicant's
    contact to the office, which reviews the application."""
    if entry.city_id is not None:
        return Owner(city_id=entry.city_id)
    if entry.actor_id is not None:
        return await of_network(session, await session.get(m.Actor, entry.actor_id))
    if entry.funder_id is not None:
        return Owner(funder_id=entry.funder_id)
    if entry.state_partnership_id is not None:
        partnership = m.StatePartnership
        state_code = await session.scalar(
            select(partnership.state_code).where(partnership.id == entry.state_partnership_id)
        )
        return Owner(state_code=state_code)
    return OFFICE


def one_owner_problems(values: Values) -> list[Problem]:
    """A contact person is a contact of exactly one entry."""
    named = [name for name in (*OWNERS, "application_id") if values.get(name) is not None]
    return [] if len(named) == 1 else [invalid(INPUT, ONE_OWNER)]


CONTACT_PERSONS = Kind(
    m.ContactPerson,
    of_contact,
    fixed=OWNERS,
    rules=(one_owner_problems,),
    private=True,
)
