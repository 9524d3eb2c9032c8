"""The database itself rejects every kind of bad row, and deletes go where they were meant to."""

from collections.abc import Awaitable, Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import models
from tests.factories import (
    add,
    add_actor,
    add_city,
    add_funder,
    add_funding,
    add_measure,
    add_network,
    add_state,
)


async def violation(db: AsyncSession, write: Callable[[], Awaitable[Any]]) -> str:
    """Run `write` in a savepoint; return the database's message for the rule it broke."""
    with pytest.raises(IntegrityError) as error:
        async with db.begin_nested():
            await write()
    return str(error.value.orig)


async def test_city_slug_is_unique(db: AsyncSession) -> None:
    await add_city(db, slug="koenigswinter")
    message = await violation(db, lambda: add_city(db, slug="koenigswinter"))
    assert "uq_cities_slug" in message


@pytest.mark.parametrize("slug", ["Königswinter", "koenigswinter-", "dessau--rosslau", "a b"])
async def test_city_slug_must_be_lower_case_ascii_words(db: AsyncSession, slug: str) -> None:
    message = await violation(db, lambda: add_city(db, slug=slug))
    assert "ck_cities_slug_format" in message


@pytest.mark.parametrize(
    ("fields", "constraint"),
    [
        ({"latitude": 7.19, "longitude": 50.68}, "ck_cities_latitude_range"),
        ({"latitude": 91.0}, "ck_cities_latitude_range"),
        ({"longitude": -7.19}, "ck_cities_longitude_range"),
        ({"population": -1}, "ck_cities_population_range"),
        ({"population": 50_000_000}, "ck_cities_population_range"),
        ({"name": "   "}, "ck_cities_name_not_blank"),
    ],
)
async def test_city_values_must_be_within_range(
    db: AsyncSession, fields: dict[str, Any], constraint: str
) -> None:
    message = await violation(db, lambda: add_city(db, **fields))
    assert constraint in message


async def test_city_kind_must_be_a_known_value(db: AsyncSession) -> None:
    city = await add_city(db)
    statement = text("UPDATE cities SET kind = 'village' WHERE id = :id")
    message = await violation(db, lambda: db.execute(statement, {"id": city.id}))
    assert "ck_cities_citykind" in message


async def test_city_must_lie_in_a_known_state(db: AsyncSession) -> None:
    await add_state(db, "NW")
    city = await add_city(db)
    statement = text("UPDATE cities SET state_code = 'XX' WHERE id = :id")
    message = await violation(db, lambda: db.execute(statement, {"id": city.id}))
    assert "fk_cities_state_code_states" in message


async def test_a_city_has_one_local_network(db: AsyncSession) -> None:
    network = await add_network(db)
    city = await db.get(models.City, network.city_id)
    message = await violation(db, lambda: add_network(db, city))
    assert "uq_local_networks_city_id" in message


async def test_a_network_has_at_most_one_coordinator(db: AsyncSession) -> None:
    network = await add_network(db)
    await add_actor(db, network, role=models.ActorRole.COORDINATOR)
    message = await violation(db, lambda: add_actor(db, network, role=models.ActorRole.COORDINATOR))
    assert "uq_actors_one_coordinator_per_network" in message


async def test_an_actor_needs_a_known_sector(db: AsyncSession) -> None:
    actor = await add_actor(db)
    statement = text("UPDATE actors SET sector_code = 'sport' WHERE id = :id")
    message = await violation(db, lambda: db.execute(statement, {"id": actor.id}))
    assert "fk_actors_sector_code_sectors" in message


async def test_a_measure_is_carried_only_by_actors_of_its_own_network(db: AsyncSession) -> None:
    measure = await add_measure(db)
    own = await add_actor(db, await db.get(models.LocalNetwork, measure.network_id))
    foreign = await add_actor(db)
    row = {"measure_id": measure.id, "network_id": measure.network_id}
    await db.execute(insert(models.measure_actors).values(actor_id=own.id, **row))
    message = await violation(
        db, lambda: db.execute(insert(models.measure_actors).values(actor_id=foreign.id, **row))
    )
    assert "fk_measure_actors_actor_id_network_id_actors" in message


async def test_a_period_cannot_end_before_it_starts(db: AsyncSession) -> None:
    start, end = date(2024, 5, 1), date(2024, 4, 30)
    message = await violation(db, lambda: add_measure(db, starts_on=start, ends_on=end))
    assert "ck_measures_period_ends_after_start" in message
    message = await violation(db, lambda: add_funding(db, starts_on=start, ends_on=end))
    assert "ck_fundings_period_ends_after_start" in message


async def test_a_one_day_period_is_allowed(db: AsyncSession) -> None:
    measure = await add_measure(db, starts_on=date(2024, 5, 1), ends_on=date(2024, 5, 1))
    assert measure.id is not None


@pytest.mark.parametrize(
    ("contribution", "amount"),
    [
        (models.ContributionType.FINANCIAL, None),
        (models.ContributionType.FINANCIAL, Decimal("-0.01")),
        (models.ContributionType.EXPERTISE, Decimal("100")),
        (models.ContributionType.OWN_OFFER, Decimal("0")),
    ],
)
async def test_only_financial_fundings_have_an_amount_and_never_a_negative_one(
    db: AsyncSession, contribution: models.ContributionType, amount: Decimal | None
) -> None:
    message = await violation(
        db, lambda: add_funding(db, contribution_type=contribution, amount_eur=amount)
    )
    assert "ck_fundings_amount_only_when_financial" in message


async def test_non_financial_funding_without_amount_is_allowed(db: AsyncSession) -> None:
    funding = await add_funding(
        db, contribution_type=models.ContributionType.EXPERTISE, amount_eur=None
    )
    assert funding.id is not None


async def test_a_funding_has_exactly_one_recipient_of_its_kind(db: AsyncSession) -> None:
    network = await add_network(db)
    measure = await add_measure(db, network)
    kinds = models.RecipientKind
    bad_recipients = [
        {"recipient_kind": kinds.LOCAL_NETWORK, "network_id": None, "measure_id": measure.id},
        {"recipient_kind": kinds.MEASURE, "network_id": network.id, "measure_id": measure.id},
        {"recipient_kind": kinds.NETWORK_WIDE, "network_id": network.id},
        {"recipient_kind": kinds.STATE_PARTNERSHIP},
    ]
    for recipient in bad_recipients:
        message = await violation(db, lambda recipient=recipient: add_funding(db, **recipient))
        assert "ck_fundings_one_recipient_of_its_kind" in message, recipient
    network_wide = await add_funding(db, recipient_kind=kinds.NETWORK_WIDE)
    assert network_wide.network_id is None


async def test_partner_cities_are_stored_once_per_pair(db: AsyncSession) -> None:
    first, second = await add_city(db), await add_city(db)
    low, high = sorted([first.id, second.id])
    await add(db, models.CityPartnership(city_id=low, partner_city_id=high))
    for pair in [(high, low), (low, low)]:
        partnership = models.CityPartnership(city_id=pair[0], partner_city_id=pair[1])
        message = await violation(db, lambda partnership=partnership: add(db, partnership))
        assert "ck_city_partnerships_ordered_pair" in message


async def test_contact_person_belongs_to_exactly_one_entity(db: AsyncSession) -> None:
    city = await add_city(db)
    funder = await add_funder(db)
    person = {"full_name": "Erika Beispiel", "email": "erika.beispiel@example.org"}
    both = models.ContactPerson(city_id=city.id, funder_id=funder.id, **person)
    assert "ck_contact_persons_belongs_to_exactly_one" in await violation(db, lambda: add(db, both))
    nobody = models.ContactPerson(**person)
    assert "ck_contact_persons_belongs_to_exactly_one" in await violation(
        db, lambda: add(db, nobody)
    )


async def test_contact_person_email_must_look_like_one(db: AsyncSession) -> None:
    city = await add_city(db)
    person = models.ContactPerson(city_id=city.id, full_name="Erika Beispiel", email="erika@")
    assert "ck_contact_persons_email_format" in await violation(db, lambda: add(db, person))


async def test_an_accepted_application_names_what_it_created(db: AsyncSession) -> None:
    await add_state(db, "RP")
    fields = {
        "kind": models.ApplicationKind.CITY,
        "organisation_name": "Stadt Beispielstadt",
        "state_code": "RP",
        "city_kind": models.CityKind.CITY,
        "withdraw_token_hash": "0" * 64,
    }
    accepted = models.Application(status=models.ApplicationStatus.ACCEPTED, **fields)
    assert "ck_applications_result_matches_kind" in await violation(db, lambda: add(db, accepted))
    rejected = models.Application(status=models.ApplicationStatus.REJECTED, **fields)
    assert "ck_applications_reason_exactly_when_rejected" in await violation(
        db, lambda: add(db, rejected)
    )


async def test_deleting_a_city_takes_its_network_actors_and_fundings_along(
    db: AsyncSession,
) -> None:
    network = await add_network(db)
    await add_actor(db, network)
    await add_funding(db, network_id=network.id, recipient_kind=models.RecipientKind.LOCAL_NETWORK)
    await db.execute(delete(models.City).where(models.City.id == network.city_id))
    for model in (models.LocalNetwork, models.Actor, models.Funding):
        assert await db.scalar(select(func.count()).select_from(model)) == 0


async def test_a_funder_with_fundings_cannot_be_deleted(db: AsyncSession) -> None:
    funding = await add_funding(db)
    statement = delete(models.Funder).where(models.Funder.id == funding.funder_id)
    assert "fk_fundings_funder_id_funders" in await violation(db, lambda: db.execute(statement))


async def test_a_state_with_cities_cannot_be_deleted(db: AsyncSession) -> None:
    city = await add_city(db)
    statement = delete(models.State).where(models.State.code == city.state_code)
    assert "fk_cities_state_code_states" in await violation(db, lambda: db.execute(statement))


async def test_every_foreign_key_leads_an_index(db: AsyncSession) -> None:
    """Traversal follows foreign keys; each must be the first column of some index."""
    unindexed = await db.execute(
        text(
            """
            SELECT c.conrelid::regclass::text, c.conname
            FROM pg_constraint c
            WHERE c.contype = 'f'
              AND NOT EXISTS (
                SELECT FROM pg_index i
                WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1]
              )
            """
        )
    )
    assert unindexed.all() == []
