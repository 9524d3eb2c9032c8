"""The demo and synthetic data sets: deterministic, true to the facts, and loadable as they are."""

import hashlib
import os
import subprocess
import sys
from collections import Counter
from decimal import Decimal
from pathlib import Path

import asyncpg
from sqlalchemy import case, distinct, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

import models
from hub.demo.dataset import Dataset, read_facts
from hub.demo.demo import LAND_RP_AMOUNT, PHASE_I, PHASE_II, STATE_PARTNERSHIPS, build_demo
from hub.demo.loader import is_empty, load_dataset
from hub.demo.synthetic import build_synthetic

PROJECT_ROOT = Path(__file__).resolve().parent.parent


async def raw_connection(db: AsyncSession) -> asyncpg.Connection:
    """The asyncpg connection under the test's session, inside the test's transaction."""
    return (await (await db.connection()).get_raw_connection()).driver_connection


async def load(db: AsyncSession, dataset: Dataset) -> None:
    """Load `dataset` within the test's transaction; it is rolled back after the test."""
    await load_dataset(await raw_connection(db), dataset)


def digest(dataset: Dataset) -> str:
    """A fingerprint of every row of a data set."""
    return hashlib.sha256(repr(dataset).encode()).hexdigest()


def demo_digest_in_new_process(hash_seed: str) -> str:
    """The demo's fingerprint as a fresh interpreter with another string-hash seed builds it."""
    code = (
        "import hashlib; from hub.demo.demo import build_demo; "
        "print(hashlib.sha256(repr(build_demo()).encode()).hexdigest())"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONHASHSEED": hash_seed},
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_the_demo_is_the_same_on_every_build() -> None:
    expected = digest(build_demo())
    assert build_demo() == build_demo()
    # Set and dict order of strings change with the hash seed; the demo must not depend on it.
    assert demo_digest_in_new_process("1") == expected
    assert demo_digest_in_new_process("2") == expected


async def test_the_demo_loads_into_an_empty_database(db: AsyncSession) -> None:
    connection = await raw_connection(db)
    assert await is_empty(connection)
    await load_dataset(connection, build_demo())
    assert not await is_empty(connection)
    for model, expected in (
        (models.State, 16),
        (models.Sector, 5),
        (models.City, 104),
        (models.LocalNetwork, 104),
        (models.StatePartnership, 5),
        (models.Application, 6),
    ):
        assert await db.scalar(select(func.count()).select_from(model)) == expected


async def test_new_rows_get_ids_after_the_loaded_ones(db: AsyncSession) -> None:
    await load(db, build_demo())
    largest = await db.scalar(select(func.max(models.Theme.id)))
    new_id = await db.scalar(
        insert(models.Theme)
        .values(slug="neues-thema", name_de="Neues Thema", name_en="New theme")
        .returning(models.Theme.id)
    )
    assert new_id == largest + 1


async def test_every_demo_city_has_one_network_with_one_coordinator(db: AsyncSession) -> None:
    await load(db, build_demo())
    coordinators = func.count().filter(models.Actor.role == "coordinator")
    per_network = (
        select(
            models.LocalNetwork.city_id,
            coordinators.label("coordinators"),
            func.count().label("actors"),
        )
        .join(models.Actor, models.Actor.network_id == models.LocalNetwork.id)
        .group_by(models.LocalNetwork.city_id)
    )
    rows = (await db.execute(per_network)).all()
    assert len(rows) == 104
    assert all(row.coordinators == 1 for row in rows)
    assert all(8 <= row.actors <= 25 for row in rows)


async def composition_shares(db: AsyncSession) -> dict[str, float]:
    """The share of loaded networks per sector composition, from the sectors of their actors."""
    sectors = func.count(distinct(models.Actor.sector_code))
    composition = case(
        (sectors == 2, "bisectoral"), (sectors == 3, "trisectoral"), else_="multisectoral"
    )
    networks = select(composition.label("composition")).group_by(models.Actor.network_id).subquery()
    by_composition = select(networks.c.composition, func.count()).group_by(networks.c.composition)
    counts = dict((await db.execute(by_composition)).all())
    return {name: count / sum(counts.values()) for name, count in counts.items()}


async def test_about_three_quarters_of_the_demo_networks_are_trisectoral(
    db: AsyncSession,
) -> None:
    await load(db, build_demo())
    shares = await composition_shares(db)
    assert 0.70 <= shares["trisectoral"] <= 0.80
    assert 0.10 <= shares["bisectoral"] <= 0.15
    assert 0.10 <= shares["multisectoral"] <= 0.15


async def test_demo_measures_lie_within_their_city_s_membership(db: AsyncSession) -> None:
    await load(db, build_demo())
    early = (
        select(func.count())
        .select_from(models.Measure)
        .join(models.LocalNetwork, models.LocalNetwork.id == models.Measure.network_id)
        .join(models.City, models.City.id == models.LocalNetwork.city_id)
        .where(models.Measure.starts_on < models.City.joined_on)
    )
    assert await db.scalar(early) == 0


def test_demo_state_partnerships_start_when_the_facts_say() -> None:
    for fact in read_facts("network_facts.json")["state_partners"]:
        starts_on = STATE_PARTNERSHIPS[fact["state"]][1]
        assert starts_on.isoformat().startswith(fact["since"])


async def test_each_rhineland_palatinate_member_gets_10000_euros_from_the_land(
    db: AsyncSession,
) -> None:
    await load(db, build_demo())
    from_the_land = (
        select(models.City.name, func.sum(models.Funding.amount_eur))
        .join(models.LocalNetwork, models.LocalNetwork.city_id == models.City.id)
        .join(models.Funding, models.Funding.network_id == models.LocalNetwork.id)
        .join(models.Funder, models.Funder.id == models.Funding.funder_id)
        .where(models.Funder.slug == "land-rheinland-pfalz")
        .group_by(models.City.name)
    )
    amounts = dict((await db.execute(from_the_land)).all())
    rp_members = await db.scalars(
        select(models.City.name).where(
            models.City.state_code == "RP", models.City.status == "member"
        )
    )
    assert amounts == dict.fromkeys(rp_members, LAND_RP_AMOUNT)


async def test_demo_programme_phases_add_up_to_the_facts(db: AsyncSession) -> None:
    await load(db, build_demo())
    for phase in (PHASE_I, PHASE_II):
        in_phase = models.Funding.starts_on.between(phase.starts_on, phase.ends_on)
        total = await db.scalar(select(func.sum(models.Funding.amount_eur)).where(in_phase))
        assert total == phase.total
    per_city_in_phase_i = (
        select(func.sum(models.Funding.amount_eur).label("total"))
        .where(
            models.Funding.starts_on < PHASE_II.starts_on, models.Funding.network_id.is_not(None)
        )
        .group_by(models.Funding.network_id)
        .subquery()
    )
    assert await db.scalar(select(func.max(per_city_in_phase_i.c.total))) == Decimal(50_000)


async def test_demo_contact_persons_are_fictional(db: AsyncSession) -> None:
    await load(db, build_demo())
    people = (
        await db.execute(select(models.ContactPerson.full_name, models.ContactPerson.email))
    ).all()
    assert len(people) == 104 + 17 + 5 + 6
    assert all(email.endswith("@example.org") for _, email in people)
    facts = (PROJECT_ROOT / "hub/demo/facts/network_facts.json").read_text(encoding="utf-8")
    assert not [name for name, _ in people if name in facts]


async def test_demo_applications_record_what_acceptance_created(db: AsyncSession) -> None:
    await load(db, build_demo())
    applications = (await db.scalars(select(models.Application))).all()
    kinds = Counter(application.kind.value for application in applications)
    assert kinds == {"city": 2, "state_partner": 2, "partner": 2}
    for application in applications:
        created = (application.city_id, application.state_partnership_id, application.funder_id)
        accepted = application.status == models.ApplicationStatus.ACCEPTED
        assert sum(value is not None for value in created) == (1 if accepted else 0)
        last = await db.scalar(
            select(models.ApplicationStatusChange.to_status)
            .where(models.ApplicationStatusChange.application_id == application.id)
            .order_by(models.ApplicationStatusChange.changed_at.desc())
            .limit(1)
        )
        assert last == application.status


def test_a_synthetic_data_set_depends_on_its_seed_only() -> None:
    assert build_synthetic(200, seed=7) == build_synthetic(200, seed=7)
    assert digest(build_synthetic(200, seed=7)) != digest(build_synthetic(200, seed=8))


async def test_a_synthetic_data_set_loads(db: AsyncSession) -> None:
    await load(db, build_synthetic(200, seed=3))
    assert await db.scalar(select(func.count()).select_from(models.City)) == 200
    networks = await db.scalar(
        select(func.count(distinct(models.Actor.network_id))).where(
            models.Actor.role == "coordinator"
        )
    )
    assert networks == 200
    assert 0.60 <= (await composition_shares(db))["trisectoral"] <= 0.90
