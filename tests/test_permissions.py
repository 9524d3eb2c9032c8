"""Who may write what: every role, every mutation, in its own part or in another's.

The network office writes everything; a coordinator its own city (not its membership), its
network and their contact persons, a funder its own fundings, its states and themes and its
contact persons, a state partner its own state's partnership and its contact persons; the
public none of it (it may only apply, see test_mutations_joining). A refused write changes
nothing.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from models import Role
from schema import schema
from tests import factories
from tests.factories import add_key
from tests.writes import codes, gid, mutate, snapshot


@dataclass
class Part:
    """One side of every scope: a city with its network's entries, a funder with a funding,
    a state with its partnership."""

    city: models.City
    network: models.LocalNetwork
    actor: models.Actor
    goal: models.Goal
    measure: models.Measure
    funder: models.Funder
    funding: models.Funding
    partnership: models.StatePartnership
    contacts: dict[str, models.ContactPerson]


@dataclass
class World:
    """Two parts (the viewer's own and another's) and what the office manages."""

    own: Part
    foreign: Part
    partner_city: models.City
    group_to_join: models.WorkingGroup
    group_to_leave: models.WorkingGroup
    theme: models.Theme
    idle_funder: models.Funder
    submitted: models.Application
    in_review: models.Application
    keys: dict[Role, str | None]


async def add_part(db: AsyncSession, state_code: str, group: models.WorkingGroup) -> Part:
    """A city in the state with its network's entries, taking part in `group`; a funder
    funding the network; the state's partnership."""
    city = await factories.add_city(db, state_code=state_code)
    network = await factories.add_network(db, city)
    await factories.add(
        db, models.WorkingGroupMembership(working_group_id=group.id, city_id=city.id)
    )
    funder = await factories.add_funder(db)
    funding = await factories.add_funding(
        db,
        funder_id=funder.id,
        recipient_kind=models.RecipientKind.LOCAL_NETWORK,
        network_id=network.id,
    )
    partnership = await factories.add(
        db,
        models.StatePartnership(
            state_code=state_code, institution="Staatskanzlei", starts_on=date(2024, 1, 1)
        ),
    )
    actor = await factories.add_actor(db, network)
    owners = {"city": city, "actor": actor, "funder": funder, "state_partnership": partnership}
    return Part(
        city=city,
        network=network,
        actor=actor,
        goal=await factories.add(db, models.Goal(network_id=network.id, title="Ziel")),
        measure=await factories.add_measure(db, network),
        funder=funder,
        funding=funding,
        partnership=partnership,
        contacts={
            owner: await factories.add_contact(db, **{f"{owner}_id": entry.id})
            for owner, entry in owners.items()
        },
    )


@pytest.fixture
async def world(db: AsyncSession) -> World:
    await factories.add_sector(db)
    group_to_leave = await factories.add(db, models.WorkingGroup(slug="ag-alt", name="AG Alt"))
    own = await add_part(db, "NW", group_to_leave)
    foreign = await add_part(db, "BY", group_to_leave)
    partner_city = await factories.add_city(db)
    for part in (own, foreign):
        pair = sorted((part.city.id, partner_city.id))
        await factories.add(db, models.CityPartnership(city_id=pair[0], partner_city_id=pair[1]))
    await factories.add_state(db, "HB")
    await factories.add(db, models.SavedView(name="staaten", query="{ states { code } }"))
    applications = [
        models.Application(
            kind=models.ApplicationKind.PARTNER,
            status=status,
            organisation_name=f"Stiftung {status.value}",
            withdraw_token_hash="0" * 64,
        )
        for status in (models.ApplicationStatus.SUBMITTED, models.ApplicationStatus.IN_REVIEW)
    ]
    keys: dict[Role, str | None] = {
        Role.ADMIN: await add_key(db, Role.ADMIN),
        Role.COORDINATOR: await add_key(db, Role.COORDINATOR, city_id=own.city.id),
        Role.FUNDER: await add_key(db, Role.FUNDER, funder_id=own.funder.id),
        Role.STATE_PARTNER: await add_key(db, Role.STATE_PARTNER, state_code="NW"),
        Role.PUBLIC: None,
    }
    submitted = await factories.add(db, applications[0])
    applicant = models.ContactPerson(full_name="A", email=APPLICANT, application_id=submitted.id)
    await factories.add(db, applicant)
    return World(
        own=own,
        foreign=foreign,
        partner_city=partner_city,
        group_to_join=await factories.add(db, models.WorkingGroup(slug="ag-neu", name="AG Neu")),
        group_to_leave=group_to_leave,
        theme=await factories.add(db, models.Theme(slug="t", name_de="T", name_en="T")),
        idle_funder=await factories.add_funder(db),
        submitted=submitted,
        in_review=await factories.add(db, applications[1]),
        keys=keys,
    )


# Whose an entry is decides who may write it: the role that owns that kind of entry, in its
# own part; the office may write everything, and only the office what is the office's.
CITY, FUNDER, STATE, OFFICE = "city", "funder", "state", "office"
OWNING_ROLE = {CITY: Role.COORDINATOR, FUNDER: Role.FUNDER, STATE: Role.STATE_PARTNER}
Arguments = Callable[[World, Part], dict[str, Any]]


def new_actor(world: World, part: Part) -> dict[str, Any]:
    actor = {"networkId": gid(part.network), "slug": "neu", "name": "Neu", "role": "MEMBER"}
    return {"input": actor | {"organisationType": "Verein", "sectorCode": "CIVIL_SOCIETY"}}


def new_measure(world: World, part: Part) -> dict[str, Any]:
    measure = {"networkId": gid(part.network), "slug": "neu", "title": "Neu"}
    return {"input": measure | {"startsOn": "2025-01-01", "actorIds": [gid(part.actor)]}}


def new_funding(world: World, part: Part) -> dict[str, Any]:
    funding = {"funderId": gid(part.funder), "recipientId": gid(world.foreign.network)}
    funding |= {"contributionType": "EXPERTISE", "title": "Beratung", "startsOn": "2025-01-01"}
    return {"input": funding}


def new_pair(world: World, part: Part) -> dict[str, Any]:
    other = world.foreign if part is world.own else world.own
    return {"input": {"cityId": gid(part.city), "partnerCityId": gid(other.city)}}


def pair(world: World, part: Part) -> dict[str, Any]:
    return {"input": {"cityId": gid(part.city), "partnerCityId": gid(world.partner_city)}}


def step(application: str, **fields: Any) -> Arguments:
    return lambda world, part: {
        "input": {"applicationId": gid(getattr(world, application))} | fields
    }


def membership(group: str) -> Arguments:
    return lambda world, part: {
        "input": {"cityId": gid(part.city), "workingGroupId": gid(getattr(world, group))}
    }


def changing(entry: str, **fields: Any) -> Arguments:
    return lambda world, part: {"id": gid(getattr(part, entry)), "input": fields}


def removing(entry: str) -> Arguments:
    return lambda world, part: {"id": gid(getattr(part, entry))}


def new_contact(owner: str) -> Arguments:
    """A contact person of the part's `owner` (`city`, `actor`, `funder`, `partnership`)."""
    field = "statePartnershipId" if owner == "partnership" else f"{owner}Id"
    return lambda world, part: {
        "input": {field: gid(getattr(part, owner)), "fullName": "Neu", "email": "n@example.org"}
    }


def contact(owner: str, **fields: Any) -> Arguments:
    """The part's contact person of `owner` (`city`, `actor`, `funder`, `state_partnership`),
    changed by `fields` (none: removed)."""

    def arguments(world: World, part: Part) -> dict[str, Any]:
        named = {"id": gid(part.contacts[owner])}
        return named | {"input": fields} if fields else named

    return arguments


def own_city(**fields: Any) -> Arguments:
    """The own part's city, changed by `fields` (an office mutation: no foreign part)."""
    return lambda world, part: {"id": gid(world.own.city), "input": fields}


def of_office(name: str, fields: dict[str, Any] | None = None) -> Arguments:
    """The arguments of an office mutation on the world's entry `name` (none: create)."""

    def arguments(world: World, part: Part) -> dict[str, Any]:
        named = {} if name == "" else {"id": gid(getattr(world, name))}
        return named if fields is None else named | {"input": fields}

    return arguments


THEME = {"slug": "neu", "nameDe": "Neu", "nameEn": "New"}
APPLICANT = "antrag@example.org"
CASES: dict[str, tuple[str, Arguments]] = {
    "createActor": (CITY, new_actor),
    "updateActor": (CITY, changing("actor", name="Umbenannt")),
    "removeActor": (CITY, removing("actor")),
    "createGoal": (CITY, lambda w, p: {"input": {"networkId": gid(p.network), "title": "Neu"}}),
    "updateGoal": (CITY, changing("goal", title="Umbenannt")),
    "removeGoal": (CITY, removing("goal")),
    "createMeasure": (CITY, new_measure),
    "updateMeasure": (CITY, changing("measure", title="Umbenannt")),
    "removeMeasure": (CITY, removing("measure")),
    "addPartnerCity": (CITY, new_pair),
    "removePartnerCity": (CITY, pair),
    "joinWorkingGroup": (CITY, membership("group_to_join")),
    "leaveWorkingGroup": (CITY, membership("group_to_leave")),
    "recordFunding": (FUNDER, new_funding),
    "updateFunding": (FUNDER, changing("funding", title="Umbenannt")),
    "endFunding": (FUNDER, changing("funding")),
    "updateStatePartnership": (STATE, changing("partnership", focus="Neu")),
    "endStatePartnership": (STATE, changing("partnership")),
    "updateCity": (CITY, changing("city", description="Neu", population=43_000)),
    "updateCity/status": (OFFICE, own_city(status="CANDIDATE")),
    "updateCity/name": (OFFICE, own_city(name="Umbenannt")),
    "endCityMembership": (OFFICE, own_city()),
    "createCity": (OFFICE, of_office("", {"slug": "neu", "name": "Neu", "kind": "CITY",
                                         "stateCode": "HB", "status": "CANDIDATE"})),
    "updateLocalNetwork": (CITY, changing("network", name="Umbenannt")),
    "updateLocalNetwork/coordinator": (CITY, lambda w, p: {
        "id": gid(p.network), "input": {"coordinatorId": gid(p.actor)}}),
    "createContactPerson/city": (CITY, new_contact("city")),
    "createContactPerson/actor": (CITY, new_contact("actor")),
    "createContactPerson/funder": (FUNDER, new_contact("funder")),
    "createContactPerson/partnership": (STATE, new_contact("partnership")),
    "updateContactPerson/city": (CITY, contact("city", phone="0228 1")),
    "updateContactPerson/actor": (CITY, contact("actor", phone="0228 1")),
    "updateContactPerson/funder": (FUNDER, contact("funder", phone="0228 1")),
    "updateContactPerson/partnership": (STATE, contact("state_partnership", phone="0228 1")),
    "removeContactPerson/city": (CITY, contact("city")),
    "removeContactPerson/actor": (CITY, contact("actor")),
    "removeContactPerson/funder": (FUNDER, contact("funder")),
    "removeContactPerson/partnership": (STATE, contact("state_partnership")),
    "createStatePartnership": (OFFICE, of_office("", {"stateCode": "HB", "institution": "Senat",
                                                     "startsOn": "2025-01-01"})),
    "createFunder": (OFFICE, of_office("", {"slug": "neu", "name": "Neu", "kind": "COMPANY",
                                           "scope": "NATIONWIDE"})),
    "updateFunder": (FUNDER, changing("funder", description="Neu", stateCodes=["NW"])),
    "updateFunder/name": (OFFICE, of_office("idle_funder", {"name": "Umbenannt"})),
    "removeFunder": (OFFICE, of_office("idle_funder")),
    "createTheme": (OFFICE, of_office("", THEME)),
    "updateTheme": (OFFICE, of_office("theme", {"nameEn": "Renamed"})),
    "removeTheme": (OFFICE, of_office("theme")),
    "createWorkingGroup": (OFFICE, of_office("", {"slug": "neu", "name": "Neu"})),
    "updateWorkingGroup": (OFFICE, of_office("group_to_join", {"name": "Umbenannt"})),
    "removeWorkingGroup": (OFFICE, of_office("group_to_join")),
    "startApplicationReview": (OFFICE, step("submitted")),
    "acceptApplication": (OFFICE, step("in_review", funderKind="COMPANY")),
    "rejectApplication": (OFFICE, step("in_review", rejectionReason="Passt nicht.")),
    "saveView": (OFFICE, of_office("", {"name": "neu", "query": "{ states { name } }"})),
    "removeView": (OFFICE, of_office("", {"name": "staaten"})),
    "reportPersonalData": (OFFICE, of_office("", {"email": APPLICANT})),
    "erasePersonalData": (OFFICE, of_office("", {"email": APPLICANT})),
}  # fmt: skip
# Mutations that write nothing, allowed or not.
READS = {"reportPersonalData"}
# An office mutation has no own or foreign part: it runs once per role.
MATRIX = [
    (role, case, scope)
    for case, (owner, _) in CASES.items()
    for scope in (("own", "foreign") if owner != OFFICE else ("any",))
    for role in Role
]
# Contact persons are not public: one the viewer may not write is not found (its ID tells
# nothing), as one that does not exist.
PRIVATE = {"updateContactPerson", "removeContactPerson"}


def mutation_of(case: str) -> str:
    """The mutation a case runs: `updateCity/status` runs `updateCity`."""
    return case.split("/")[0]


def allowed(role: Role, owner: str, scope: str) -> bool:
    """The expected outcome: the office may everything, the owning role its own part."""
    return role is Role.ADMIN or (scope == "own" and OWNING_ROLE.get(owner) is role)


@pytest.mark.parametrize(
    ("role", "case", "scope"),
    MATRIX,
    ids=[f"{role.value}-{case}-{scope}" for role, case, scope in MATRIX],
)
async def test_permission_matrix(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    world: World,
    role: Role,
    case: str,
    scope: str,
) -> None:
    owner, arguments = CASES[case]
    mutation = mutation_of(case)
    part = world.foreign if scope == "foreign" else world.own
    before = await snapshot(connection)
    payload = await mutate(client, mutation, arguments(world, part), world.keys[role])
    if allowed(role, owner, scope):
        assert payload["errors"] == []
        assert (await snapshot(connection) != before) is (mutation not in READS)
    else:
        assert codes(payload) == ["NOT_FOUND" if mutation in PRIVATE else "FORBIDDEN"]
        assert await snapshot(connection) == before


def test_the_matrix_covers_every_mutation_but_the_applicants() -> None:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    covered = {mutation_of(case) for case in CASES}
    assert set(mutation_type.fields) - covered == {"submitApplication", "withdrawApplication"}
