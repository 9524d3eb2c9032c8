"""Concurrent writes of one row run one after the other, in real transactions that commit.

Two review steps of one application sent at once end as if one had come after the other: where
only one can be taken (two acceptances, accepting and withdrawing, ...) exactly one is, the other
is refused with `InvalidTransitionError`, and the history records one step and one city.
Two replacements of one list sent at once both succeed, the later one's list stays; of two
removals of one row, one removes it and the other finds nothing (one audit entry). Of two
endings of one state partnership or one city's membership, one ends it and the other is
refused; of two coordinators named for one network at once, the later one coordinates; of two
erasures of one person, one erases and the other finds nothing.
"""

import asyncio
import itertools
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any, TypeVar

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession
from strawberry.relay import GlobalID

import models
from hub.database import create_engine, session_factory
from hub.features import detect
from models import ApplicationStatus as Status
from models.geography import STATE_CODES
from resolvers.mutations.joining import TRANSITIONS
from server import create_app
from tests import factories
from tests.factories import add_key
from tests.test_personal_data import ADDRESS, ERASURE, scatter
from tests.writes import codes, gid, mutate

T = TypeVar("T")
# How much later the second of two writes starts, in seconds, race after race: its statements
# meet the first's at every point of the first's transaction.
DELAYS = [milliseconds / 1000 for milliseconds in range(12)]


@dataclass(frozen=True)
class Step:
    """A review step as a mutation: its name, the status it leads to, its input (of the
    application's ID, its withdraw token and a slug of the step's own)."""

    mutation: str
    status: Status
    input: Callable[[str, str, str], dict[str, Any]]

    @property
    def starts_from(self) -> set[Status]:
        """The statuses the step can be taken from."""
        return {start for start, steps in TRANSITIONS.items() if self.status in steps}


STEPS = {
    "review": Step(
        "startApplicationReview",
        Status.IN_REVIEW,
        lambda application, token, slug: {"applicationId": application},
    ),
    # Each with a slug of its own, so that two acceptances race on the status alone.
    "accept": Step(
        "acceptApplication",
        Status.ACCEPTED,
        lambda application, token, slug: {"applicationId": application, "slug": slug},
    ),
    "reject": Step(
        "rejectApplication",
        Status.REJECTED,
        lambda application, token, slug: {"applicationId": application, "rejectionReason": "Nein."},
    ),
    "withdraw": Step(
        "withdrawApplication",
        Status.WITHDRAWN,
        lambda application, token, slug: {"applicationId": application, "withdrawToken": token},
    ),
}
# Every pair of steps that can both be taken from one status, a step with itself included.
PAIRS = [
    (first, second)
    for first, second in itertools.combinations_with_replacement(STEPS, 2)
    if STEPS[first].starts_from & STEPS[second].starts_from
]


def one_after_the_other(
    steps: tuple[Step, Step], start: Status, order: tuple[int, int]
) -> tuple[list[bool], list[Status]]:
    """Which of `steps` are taken, and the statuses recorded, when they come in `order`."""
    status, taken, history = start, [False, False], []
    for index in order:
        if status in steps[index].starts_from:
            status = steps[index].status
            taken[index] = True
            history.append(status)
    return taken, history


async def later(delay: float, write: Awaitable[T]) -> T:
    """`write`'s result, sent `delay` seconds from now."""
    await asyncio.sleep(delay)
    return await write


@dataclass
class Hub:
    """The app on a database of the test's own, and the network office's key."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    office: str


@pytest.fixture
async def hub(empty_url: str) -> AsyncIterator[Hub]:
    engine = create_engine(empty_url, pool_size=4)
    async with session_factory(engine)() as session:
        await factories.add_state(session, "NW")
        office = await add_key(session, models.Role.ADMIN)
        await session.commit()
    async with engine.connect() as connection:
        features = await detect(connection)
    app = create_app(session_factory(engine), features=features)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield Hub(client, engine, office)
    await engine.dispose()


async def application_in(hub: Hub, status: Status, name: str) -> tuple[str, str]:
    """A city's application, submitted and taken to `status`; its ID and withdraw token."""
    submission = {
        "kind": "CITY",
        "organisationName": name,
        "stateCode": "NW",
        "cityKind": "CITY",
        "contact": {"fullName": "Erika Muster", "email": "erika@example.org"},
    }
    selection = "application { id } withdrawToken"
    submitted = await mutate(
        hub.client, "submitApplication", {"input": submission}, None, selection
    )
    application = submitted["application"]["id"]
    if status is Status.IN_REVIEW:
        review = {"input": {"applicationId": application}}
        assert (await mutate(hub.client, "startApplicationReview", review, hub.office))[
            "errors"
        ] == []
    return application, submitted["withdrawToken"]


async def counts(hub: Hub, application: str) -> dict[str, Any]:
    """The application's status and history, and how many cities and networks there are."""
    key = int(GlobalID.from_id(application).node_id)
    async with session_factory(hub.engine)() as session:
        stored = await session.get(models.Application, key)
        assert stored is not None
        history = await session.scalars(
            select(models.ApplicationStatusChange.to_status)
            .where(models.ApplicationStatusChange.application_id == key)
            .order_by(models.ApplicationStatusChange.id)
        )
        return {
            "status": stored.status,
            "history": list(history),
            "cities": await session.scalar(select(func.count()).select_from(models.City)),
            "networks": await session.scalar(select(func.count()).select_from(models.LocalNetwork)),
        }


@pytest.mark.parametrize(("first", "second"), PAIRS)
async def test_two_review_steps_at_once_are_taken_one_after_the_other(
    hub: Hub, first: str, second: str
) -> None:
    steps = (STEPS[first], STEPS[second])
    start = min(steps[0].starts_from & steps[1].starts_from, key=list(Status).index)
    for round_, delay in enumerate(DELAYS[::2]):
        race = f"race-{first}-{second}-{round_}"
        application, token = await application_in(hub, start, f"Stadt {race}")
        before = await counts(hub, application)

        payloads = await asyncio.gather(
            *(
                later(
                    delay * index,
                    mutate(
                        hub.client,
                        step.mutation,
                        {"input": step.input(application, token, f"{race}-{index}")},
                        None if step.mutation == "withdrawApplication" else hub.office,
                    ),
                )
                for index, step in enumerate(steps)
            )
        )
        taken = [not payload["errors"] for payload in payloads]
        refusals = [error["__typename"] for payload in payloads for error in payload["errors"]]
        assert refusals == ["InvalidTransitionError"] * taken.count(False), payloads
        after = await counts(hub, application)
        history = after["history"][len(before["history"]) :]
        serial = [one_after_the_other(steps, start, order) for order in ((0, 1), (1, 0))]
        assert (taken, history) in serial
        assert after["status"] is (history or [start])[-1]
        accepted = history.count(Status.ACCEPTED)
        assert after["cities"] == before["cities"] + accepted
        assert after["networks"] == before["networks"] + accepted


async def test_two_replacements_of_one_list_at_once_both_succeed(hub: Hub) -> None:
    async with session_factory(hub.engine)() as session:
        await factories.add_sector(session)
        network = await factories.add_network(session)
        actors = [await factories.add_actor(session, network) for _ in range(3)]
        measure = await factories.add_measure(session, network)
        await session.commit()
    # Overlapping lists: unlocked, the later insert of the shared actor met the earlier one's.
    lists = ([gid(actors[0]), gid(actors[1])], [gid(actors[1]), gid(actors[2])])

    for delay in DELAYS:
        payloads = await asyncio.gather(
            *(
                later(
                    delay * index,
                    mutate(
                        hub.client,
                        "updateMeasure",
                        {"id": gid(measure), "input": {"actorIds": listed}},
                        hub.office,
                    ),
                )
                for index, listed in enumerate(lists)
            )
        )
        assert [payload["errors"] for payload in payloads] == [[], []]
        async with session_factory(hub.engine)() as session:
            stored = await session.scalars(
                select(models.measure_actors.c.actor_id).where(
                    models.measure_actors.c.measure_id == measure.id
                )
            )
            assert sorted(stored) in ([a.id for a in actors[:2]], [a.id for a in actors[1:]])


async def removals(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """Removal mutations and their arguments, each of a row of its own (committed later)."""
    await factories.add_sector(session)
    network = await factories.add_network(session)
    partner = await factories.add_city(session)
    theme = await factories.add(session, models.Theme(slug="thema", name_de="T", name_en="T"))
    group = await factories.add(session, models.WorkingGroup(slug="ag", name="AG"))
    city = network.city_id
    low, high = sorted((city, partner.id))
    await factories.add(session, models.CityPartnership(city_id=low, partner_city_id=high))
    await factories.add(
        session, models.WorkingGroupMembership(working_group_id=group.id, city_id=city)
    )
    city_gid = gid(await session.get(models.City, city))
    contact = await factories.add_contact(session, city_id=city)
    return {
        "removeContactPerson": {"id": gid(contact)},
        "removeActor": {"id": gid(await factories.add_actor(session, network))},
        "removeGoal": {
            "id": gid(await factories.add(session, models.Goal(network_id=network.id, title="Z")))
        },
        "removeMeasure": {"id": gid(await factories.add_measure(session, network))},
        "removeTheme": {"id": gid(theme)},
        "removePartnerCity": {"input": {"cityId": city_gid, "partnerCityId": gid(partner)}},
        "leaveWorkingGroup": {"input": {"cityId": city_gid, "workingGroupId": gid(group)}},
    }


async def test_of_two_removals_of_one_row_at_once_one_removes_it(hub: Hub) -> None:
    async with session_factory(hub.engine)() as session:
        cases = await removals(session)
        await session.commit()
    for mutation, arguments in cases.items():
        payloads = await asyncio.gather(
            *(
                later(0.001 * index, mutate(hub.client, mutation, arguments, hub.office))
                for index in range(2)
            )
        )
        outcomes = sorted(codes(payload) for payload in payloads)
        assert outcomes == [[], ["NOT_FOUND"]], (mutation, payloads)
        async with session_factory(hub.engine)() as session:
            audited = select(func.count()).where(models.AuditEntry.operation == mutation)
            assert await session.scalar(audited) == 1, mutation


async def ending(session: AsyncSession, mutation: str) -> str:
    """The ID of a new entry `mutation` ends: a state partnership or a member city."""
    if mutation == "endCityMembership":
        return gid(await factories.add_city(session, joined_on=date(2020, 1, 1)))
    code = await session.scalar(
        select(models.State.code).where(
            models.State.code.not_in(select(models.StatePartnership.state_code))
        )
    )
    assert code is not None, "no state without a partnership left"
    partnership = models.StatePartnership(
        state_code=code, institution="Staatskanzlei", starts_on=date(2020, 1, 1)
    )
    return gid(await factories.add(session, partnership))


# The mutations that end an entry, and the input field of the day it ends.
ENDINGS = {"endStatePartnership": "endsOn", "endCityMembership": "leftOn"}


@pytest.mark.parametrize("mutation", ENDINGS)
async def test_of_two_endings_of_one_entry_at_once_one_ends_it(hub: Hub, mutation: str) -> None:
    async with session_factory(hub.engine)() as session:
        for code in sorted(STATE_CODES):
            await factories.add_state(session, code)
        ids = [await ending(session, mutation) for _ in DELAYS[::2]]
        await session.commit()
    for entry, delay in zip(ids, DELAYS[::2], strict=True):
        payloads = await asyncio.gather(
            *(
                later(
                    delay * index,
                    mutate(
                        hub.client,
                        mutation,
                        {"id": entry, "input": {ENDINGS[mutation]: f"2025-0{index + 1}-01"}},
                        hub.office,
                    ),
                )
                for index in range(2)
            )
        )
        outcomes = sorted(codes(payload) for payload in payloads)
        assert outcomes == [[], ["INVALID_TRANSITION"]], (mutation, payloads)
        async with session_factory(hub.engine)() as session:
            audited = select(func.count()).where(
                models.AuditEntry.operation == mutation,
                models.AuditEntry.entity_id == GlobalID.from_id(entry).node_id,
            )
            assert await session.scalar(audited) == 1, mutation


async def test_of_two_coordinators_named_at_once_the_later_one_coordinates(hub: Hub) -> None:
    async with session_factory(hub.engine)() as session:
        await factories.add_sector(session)
        network = await factories.add_network(session)
        actors = [await factories.add_actor(session, network) for _ in range(2)]
        await session.commit()
    for delay in DELAYS:
        payloads = await asyncio.gather(
            *(
                later(
                    delay * index,
                    mutate(
                        hub.client,
                        "updateLocalNetwork",
                        {"id": gid(network), "input": {"coordinatorId": gid(actor)}},
                        hub.office,
                    ),
                )
                for index, actor in enumerate(actors)
            )
        )
        assert [payload["errors"] for payload in payloads] == [[], []]
        async with session_factory(hub.engine)() as session:
            coordinators = await session.scalars(
                select(models.Actor.id).where(
                    models.Actor.network_id == network.id,
                    models.Actor.role == models.ActorRole.COORDINATOR,
                )
            )
            assert len(list(coordinators)) == 1


async def test_two_erasures_of_one_person_at_once_erase_once(hub: Hub) -> None:
    """The second waits for the first's locks, then finds nothing left to erase."""
    once = {"contactPersons": 2, "applicationContacts": 1, "auditEntries": 2, "otherEntries": 5}
    erasure = {"input": {"email": ADDRESS}}
    for delay in DELAYS[::3]:
        async with session_factory(hub.engine).begin() as session:
            await scatter(session)
        payloads = await asyncio.gather(
            *(
                later(
                    delay * index,
                    mutate(hub.client, "erasePersonalData", erasure, hub.office, ERASURE),
                )
                for index in range(2)
            )
        )
        assert [payload["errors"] for payload in payloads] == [[], []]
        results = [payload["result"] for payload in payloads]
        assert {name: sum(result[name] for result in results) for name in once} == once
