"""Writes whose IDs reach out of the writer's scope are refused, with typed errors, and leave
every table as it was: for every mutation that takes an ID and every role.

The world has two of each scope: two cities with their networks (actors, goals, measures,
partner cities, working groups), two funders with a funding each, two state partnerships and
two applications. Each example picks a role, a mutation and, for each ID it takes, the
viewer's side or the other: the entry it writes (its owner) and the rows that entry links
to, which must be of the same network (a measure's goal and actors).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from graphql import GraphQLID, GraphQLInputObjectType, get_named_type
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from models import Role
from schema import schema
from tests import factories
from tests.factories import add_key
from tests.helpers import property_settings
from tests.writes import gid, mutate, snapshot

OWN, OTHER = 0, 1


@dataclass
class World:
    """Two of each scope, by kind: `ids[kind][OWN]` is the viewer's, `[OTHER]` another's."""

    ids: dict[str, tuple[str, str]]
    shared: dict[str, str]
    token: str
    keys: dict[Role, str | None]


async def add_town(db: AsyncSession, name: str) -> dict[str, Any]:
    """A city with its network, an actor, a goal, a measure and a contact person."""
    network = await factories.add_network(db, await factories.add_city(db, slug=name))
    contact = models.ContactPerson(full_name="K", email="k@example.org", city_id=network.city_id)
    return {
        "city": await db.get(models.City, network.city_id),
        "network": network,
        "actor": await factories.add_actor(db, network),
        "goal": await factories.add(db, models.Goal(network_id=network.id, title="Ziel")),
        "measure": await factories.add_measure(db, network),
        "contact": await factories.add(db, contact),
    }


@pytest.fixture
async def world(db: AsyncSession) -> World:
    await factories.add_sector(db)
    await factories.add_state(db, "BY")
    towns = [await add_town(db, "eigenstadt"), await add_town(db, "fremdstadt")]
    third = await factories.add_city(db, slug="drittstadt")
    theme = await factories.add(db, models.Theme(slug="bildung", name_de="B", name_en="E"))
    group = await factories.add(db, models.WorkingGroup(slug="ag", name="AG", theme_id=theme.id))
    funders = [await factories.add_funder(db), await factories.add_funder(db)]
    partnerships = [
        await factories.add(
            db,
            models.StatePartnership(state_code=code, institution="SK", starts_on=date(2024, 1, 1)),
        )
        for code in ("NW", "BY")
    ]
    for town in towns:
        # Partner city and working group of both, so that ending them fails only on scope.
        low, high = sorted((town["city"].id, third.id))
        await factories.add(db, models.CityPartnership(city_id=low, partner_city_id=high))
        await factories.add(
            db, models.WorkingGroupMembership(working_group_id=group.id, city_id=town["city"].id)
        )
    fundings = [
        await factories.add_funding(
            db,
            funder_id=funder.id,
            recipient_kind=models.RecipientKind.LOCAL_NETWORK,
            network_id=town["network"].id,
        )
        for funder, town in zip(funders, towns, strict=True)
    ]
    token = "mein-token"
    applications = [
        await factories.add_application(db, token),
        await factories.add_application(db, "fremd"),
    ]
    pairs = {kind: (gid(towns[0][kind]), gid(towns[1][kind])) for kind in towns[0]}
    pairs |= {
        "funder": (gid(funders[0]), gid(funders[1])),
        "funding": (gid(fundings[0]), gid(fundings[1])),
        "partnership": (gid(partnerships[0]), gid(partnerships[1])),
        "application": (gid(applications[0]), gid(applications[1])),
    }
    keys: dict[Role, str | None] = {
        Role.ADMIN: await add_key(db, Role.ADMIN),
        Role.COORDINATOR: await add_key(db, Role.COORDINATOR, city_id=towns[0]["city"].id),
        Role.FUNDER: await add_key(db, Role.FUNDER, funder_id=funders[0].id),
        Role.STATE_PARTNER: await add_key(db, Role.STATE_PARTNER, state_code="NW"),
        Role.PUBLIC: None,
    }
    shared = {"theme": gid(theme), "group": gid(group), "third": gid(third)}
    return World(pairs, shared, token, keys)


# The kinds of entry each role writes (of its own side only); the office writes every kind,
# and whoever holds an application's withdraw token withdraws it.
WRITES: dict[Role, set[str]] = {
    Role.COORDINATOR: {"city", "network", "actor", "goal", "measure", "contact"},
    Role.FUNDER: {"funder", "funding"},
    Role.STATE_PARTNER: {"partnership"},
}
ANYONE = {"withdrawal"}
# The kinds of entry only the office writes, of the shared rows; any other role is refused.
OFFICE = "office"
# Mutations of entries outside the public read API: one not the viewer's is not found.
PRIVATE = {"updateContactPerson", "removeContactPerson"}


@dataclass(frozen=True)
class Pick:
    """The IDs one example writes: the owner's side and, per linked kind, its side."""

    world: World
    owner: int
    links: dict[str, int]

    def owned(self, kind: str) -> str:
        return self.world.ids[kind][self.owner]

    def linked(self, kind: str) -> str:
        """A row of `kind` of the owner's network (`OWN` link) or of the other (`OTHER`)."""
        return self.world.ids[kind][self.owner ^ self.links[kind]]

    def shared(self, name: str) -> str:
        return self.world.shared[name]


@dataclass(frozen=True)
class Write:
    """A mutation that takes IDs: the kind of entry whose owner decides, the kinds it links
    to (of the same network), and its arguments."""

    owner: str
    links: tuple[str, ...]
    arguments: Callable[[Pick], dict[str, Any]]


MEASURE = {"slug": "boerse", "title": "Börse", "startsOn": "2025-01-01"}
ACTOR = {"slug": "verein", "name": "V", "organisationType": "Verein", "sectorCode": "CIVIL_SOCIETY"}
WRITES_BY_MUTATION: dict[str, Write] = {
    "createActor": Write(
        "network",
        (),
        lambda p: {"input": ACTOR | {"role": "MEMBER", "networkId": p.owned("network")}},
    ),
    "updateActor": Write("actor", (), lambda p: {"id": p.owned("actor"), "input": {"name": "N"}}),
    "removeActor": Write("actor", (), lambda p: {"id": p.owned("actor")}),
    "createGoal": Write(
        "network",
        (),
        lambda p: {
            "input": {"networkId": p.owned("network"), "title": "Z", "themeId": p.shared("theme")}
        },
    ),
    "updateGoal": Write("goal", (), lambda p: {"id": p.owned("goal"), "input": {"title": "Z"}}),
    "removeGoal": Write("goal", (), lambda p: {"id": p.owned("goal")}),
    "createMeasure": Write(
        "network",
        ("goal", "actor"),
        lambda p: {
            "input": MEASURE
            | {
                "networkId": p.owned("network"),
                "goalId": p.linked("goal"),
                "actorIds": [p.linked("actor")],
                "themeId": p.shared("theme"),
            }
        },
    ),
    "updateMeasure": Write(
        "measure",
        ("goal", "actor"),
        lambda p: {
            "id": p.owned("measure"),
            "input": {"goalId": p.linked("goal"), "actorIds": [p.linked("actor")]},
        },
    ),
    "removeMeasure": Write("measure", (), lambda p: {"id": p.owned("measure")}),
    "addPartnerCity": Write(
        "city",
        (),
        lambda p: {"input": {"cityId": p.owned("city"), "partnerCityId": p.shared("third")}},
    ),
    "removePartnerCity": Write(
        "city",
        (),
        lambda p: {"input": {"cityId": p.owned("city"), "partnerCityId": p.shared("third")}},
    ),
    "joinWorkingGroup": Write(
        "city",
        (),
        lambda p: {"input": {"cityId": p.owned("city"), "workingGroupId": p.shared("group")}},
    ),
    "leaveWorkingGroup": Write(
        "city",
        (),
        lambda p: {"input": {"cityId": p.owned("city"), "workingGroupId": p.shared("group")}},
    ),
    "recordFunding": Write(
        "funder",
        (),
        lambda p: {
            "input": {
                "funderId": p.owned("funder"),
                "recipientId": p.world.ids["network"][OWN],
                "contributionType": "EXPERTISE",
                "title": "Beratung",
                "startsOn": "2025-01-01",
                "themeId": p.shared("theme"),
            }
        },
    ),
    "updateFunding": Write(
        "funding", (), lambda p: {"id": p.owned("funding"), "input": {"title": "T"}}
    ),
    "endFunding": Write("funding", (), lambda p: {"id": p.owned("funding"), "input": {}}),
    "updateStatePartnership": Write(
        "partnership", (), lambda p: {"id": p.owned("partnership"), "input": {"focus": "F"}}
    ),
    "withdrawApplication": Write(
        "withdrawal",
        (),
        lambda p: {
            "input": {
                "applicationId": p.world.ids["application"][p.owner],
                "withdrawToken": p.world.token,
            }
        },
    ),
    "startApplicationReview": Write(
        OFFICE, (), lambda p: {"input": {"applicationId": p.world.ids["application"][OWN]}}
    ),
    "acceptApplication": Write(
        OFFICE, (), lambda p: {"input": {"applicationId": p.world.ids["application"][OWN]}}
    ),
    "rejectApplication": Write(
        OFFICE,
        (),
        lambda p: {
            "input": {"applicationId": p.world.ids["application"][OWN], "rejectionReason": "R"}
        },
    ),
    "updateTheme": Write(OFFICE, (), lambda p: {"id": p.shared("theme"), "input": {"nameEn": "T"}}),
    "removeTheme": Write(OFFICE, (), lambda p: {"id": p.shared("theme")}),
    "createWorkingGroup": Write(
        OFFICE,
        (),
        lambda p: {"input": {"slug": "ag-neu", "name": "AG", "themeId": p.shared("theme")}},
    ),
    "updateWorkingGroup": Write(
        OFFICE, (), lambda p: {"id": p.shared("group"), "input": {"name": "AG 2"}}
    ),
    "removeWorkingGroup": Write(OFFICE, (), lambda p: {"id": p.shared("group")}),
    "createFunder": Write(
        OFFICE,
        (),
        lambda p: {
            "input": {
                "slug": "neu",
                "name": "Neu",
                "kind": "COMPANY",
                "scope": "THEMATIC",
                "themeIds": [p.shared("theme")],
            }
        },
    ),
    "updateFunder": Write(
        "funder",
        (),
        lambda p: {"id": p.owned("funder"), "input": {"themeIds": [p.shared("theme")]}},
    ),
    "updateCity": Write("city", (), lambda p: {"id": p.owned("city"), "input": {"website": None}}),
    "endCityMembership": Write(OFFICE, (), lambda p: {"id": p.world.ids["city"][OWN], "input": {}}),
    "updateLocalNetwork": Write(
        "network",
        ("actor",),
        lambda p: {"id": p.owned("network"), "input": {"coordinatorId": p.linked("actor")}},
    ),
    "endStatePartnership": Write(
        "partnership", (), lambda p: {"id": p.owned("partnership"), "input": {}}
    ),
    "createContactPerson": Write(
        "city",
        (),
        lambda p: {"input": {"cityId": p.owned("city"), "fullName": "E", "email": "e@example.org"}},
    ),
    "updateContactPerson": Write(
        "contact", (), lambda p: {"id": p.owned("contact"), "input": {"phone": "0228 1"}}
    ),
    "removeContactPerson": Write("contact", (), lambda p: {"id": p.owned("contact")}),
    "removeFunder": Write(OFFICE, (), lambda p: {"id": p.world.ids["funder"][OTHER]}),
}


def takes_ids(field: Any) -> bool:
    """Whether a mutation's arguments (their input objects' fields too) hold an ID."""
    seen: set[str] = set()

    def holds(type_: Any) -> bool:
        named = get_named_type(type_)
        if named is GraphQLID:
            return True
        if not isinstance(named, GraphQLInputObjectType) or named.name in seen:
            return False
        seen.add(named.name)
        return any(holds(inner.type) for inner in named.fields.values())

    return any(holds(argument.type) for argument in field.args.values())


def test_every_mutation_that_takes_an_id_is_generated() -> None:
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    taking = {name for name, field in mutation_type.fields.items() if takes_ids(field)}
    assert taking == set(WRITES_BY_MUTATION)


@st.composite
def out_of_scope(draw: st.DrawFn, role: Role) -> tuple[str, int, dict[str, int]]:
    """A mutation and the sides of its IDs such that the write of `role` must be refused."""
    if role is Role.ADMIN:
        # The office writes every scope; what it must not do is link two networks.
        names = [name for name, write in WRITES_BY_MUTATION.items() if write.links]
    else:
        names = list(WRITES_BY_MUTATION)
    name = draw(st.sampled_from(sorted(names)))
    write = WRITES_BY_MUTATION[name]
    owner = draw(st.sampled_from([OWN, OTHER]))
    links = {kind: draw(st.sampled_from([OWN, OTHER])) for kind in write.links}
    if not refused(role, write, owner, links):
        # Move the write out of scope: to the other side, or to the other network.
        if role is Role.ADMIN:
            links[draw(st.sampled_from(write.links))] = OTHER
        else:
            owner = OTHER
    return name, owner, links


def refused(role: Role, write: Write, owner: int, links: dict[str, int]) -> bool:
    """Whether the write reaches out of the role's scope."""
    if OTHER in links.values():
        return True
    if role is Role.ADMIN:
        return False
    return owner == OTHER or write.owner not in WRITES.get(role, set()) | ANYONE


@pytest.mark.parametrize("role", list(Role))
@property_settings(30)
@given(data=st.data())
async def test_writes_out_of_scope_are_refused_without_a_trace(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    world: World,
    role: Role,
    data: st.DataObject,
) -> None:
    name, owner, links = data.draw(out_of_scope(role))
    write = WRITES_BY_MUTATION[name]
    arguments = write.arguments(Pick(world, owner, links))
    before = await snapshot(connection)
    payload = await mutate(client, name, arguments, world.keys[role], selection="__typename")
    assert await snapshot(connection) == before
    crossing = {link_path(name, kind) for kind, side in links.items() if side == OTHER}
    kinds = {(error["__typename"], tuple(error["path"])) for error in payload["errors"]}
    assert kinds, (role, name, arguments)
    # A link to another network is invalid where it is named; a write of another's entry is
    # forbidden (the office may write any), a withdrawal without the token unknown.
    allowed = {("ValidationError", path) for path in crossing}
    if role is not Role.ADMIN:
        allowed.add(("NotFoundError", ("id",)) if name in PRIVATE else ("ForbiddenError", ()))
    if name == "withdrawApplication":
        allowed = {("NotFoundError", ("input",))}
    assert kinds <= allowed, (role, name, payload["errors"])


def link_path(mutation: str, kind: str) -> tuple[str, ...]:
    """Where the error of a linked row of another network points."""
    if kind == "goal":
        return ("input", "goalId")
    if mutation == "updateLocalNetwork":
        return ("input", "coordinatorId")
    return ("input", "actorIds", "0")
