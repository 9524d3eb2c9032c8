"""The figures the writes keep (statistics_figures) equal a fresh count after every write that
changes a counted thing, one after the other and at once: no write is missed, none is lost."""

import asyncio
import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import Boolean, Date, DateTime, Enum, Integer, Numeric, String, Text, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from strawberry.relay import GlobalID

import models
from hub.database import create_engine, session_factory
from server import create_app
from tests import factories
from tests.factories import add_key
from tests.writes import gid, mutate

FIGURES = text(
    "SELECT region, figure, key, number, amount_eur, funding_count FROM statistics_figures"
    " ORDER BY region, figure, key"
)
RECOUNT = text(
    "SELECT refresh_statistics(region) FROM (SELECT code FROM states UNION SELECT '') AS r(region)"
)


@dataclass
class Hub:
    """The app on a database of the test's own (its writes commit), the office's key, and a
    local network in North Rhine-Westphalia with its funder."""

    client: httpx.AsyncClient
    engine: AsyncEngine
    office: str
    network: str
    city: str
    funder: str


@pytest.fixture
async def hub(empty_url: str) -> AsyncIterator[Hub]:
    engine = create_engine(empty_url, pool_size=6)
    async with session_factory(engine)() as session:
        await factories.add_state(session, "BY")
        await factories.add_sector(session, "business")
        network = await factories.add_network(session)
        await factories.add_actor(session, network)
        funder = await factories.add_funder(session)
        office = await add_key(session, models.Role.ADMIN)
        city = await session.get(models.City, network.city_id)
        ids = gid(network), gid(city), gid(funder)
        await session.commit()
    app = create_app(session_factory(engine))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield Hub(client, engine, office, *ids)
    await engine.dispose()


async def kept(engine: AsyncEngine) -> list[Any]:
    """The figures as the writes kept them."""
    async with engine.connect() as connection:
        return list(await connection.execute(FIGURES))


async def recounted(engine: AsyncEngine) -> list[Any]:
    """The figures counted afresh from the data (in a transaction rolled back)."""
    async with engine.connect() as connection, connection.begin() as transaction:
        await connection.execute(text("DELETE FROM statistics_figures"))
        await connection.execute(RECOUNT)
        figures = list(await connection.execute(FIGURES))
        await transaction.rollback()
        return figures


async def write(hub: Hub, mutation: str, **arguments: Any) -> dict[str, Any]:
    """Run a mutation as the office; it must succeed."""
    payload = await mutate(hub.client, mutation, arguments, hub.office)
    assert payload["errors"] == [], payload["errors"]
    return payload


async def created(hub: Hub, mutation: str, **arguments: Any) -> str:
    """Run a creating mutation as the office; the new entity's ID."""
    payload = await mutate(hub.client, mutation, arguments, hub.office, "result { id }")
    assert payload["errors"] == [], payload["errors"]
    return payload["result"]["id"]


def funding(hub: Hub, recipient: str, amount: str = "1000.00") -> dict[str, Any]:
    """A financial funding of the hub's funder for `recipient`."""
    return {
        "funderId": hub.funder,
        "recipientId": recipient,
        "contributionType": "FINANCIAL",
        "amountEur": amount,
        "title": "Förderung",
        "startsOn": "2025-01-01",
    }


async def test_every_counted_write_keeps_the_figures_equal_to_a_fresh_count(hub: Hub) -> None:
    async def check() -> None:
        assert await kept(hub.engine) == await recounted(hub.engine)

    await check()
    city = {"slug": "bamberg", "name": "Bamberg", "kind": "CITY", "stateCode": "BY"}
    await created(hub, "createCity", input=city | {"status": "MEMBER"})
    await check()
    await write(hub, "updateCity", id=hub.city, input={"kind": "COUNTY"})
    await check()
    actor = {
        "networkId": hub.network,
        "slug": "ihk",
        "name": "IHK",
        "organisationType": "Kammer",
        "sectorCode": "CIVIL_SOCIETY",
        "role": "MEMBER",
    }
    actor_id = await created(hub, "createActor", input=actor)
    await check()
    await write(hub, "updateActor", id=actor_id, input={"sectorCode": "BUSINESS"})
    await check()
    funding_id = await created(hub, "recordFunding", input=funding(hub, hub.network))
    await check()
    await write(hub, "updateFunding", id=funding_id, input={"amountConfidential": True})
    await check()
    measure = {
        "networkId": hub.network,
        "slug": "boerse",
        "title": "Börse",
        "startsOn": "2025-01-01",
    }
    measure_id = await created(hub, "createMeasure", input=measure)
    measure_funding = await created(hub, "recordFunding", input=funding(hub, measure_id, "50.00"))
    await check()
    await write(hub, "updateFunding", id=measure_funding, input={"amountEur": "70.00"})
    await check()
    measure["slug"] = "leer"
    await write(hub, "removeMeasure", id=await created(hub, "createMeasure", input=measure))
    await check()
    await write(hub, "removeActor", id=actor_id)
    await check()
    await write(hub, "endCityMembership", id=hub.city, input={"leftOn": "2026-01-01"})
    await check()

    figures = {(row.figure, row.key): row for row in await kept(hub.engine) if row.region == "NW"}
    assert figures["cities_by_kind", "county"].number == 1
    by_funder = figures["fundings_by_funder", GlobalID.from_id(hub.funder).node_id]
    # The network's funding is confidential now: its amount counts in the number only.
    assert (by_funder.funding_count, by_funder.amount_eur) == (2, 70)


async def test_fundings_recorded_at_once_are_all_counted(hub: Hub) -> None:
    recorded = 12
    await asyncio.gather(
        *(
            created(hub, "recordFunding", input=funding(hub, hub.network, "10.00"))
            for _ in range(recorded)
        )
    )

    figures = await kept(hub.engine)
    assert figures == await recounted(hub.engine)
    [by_state] = [row for row in figures if row.figure == "fundings_by_state"]
    assert (by_state.funding_count, by_state.amount_eur) == (recorded, 10 * recorded)


async def test_two_writers_to_two_states_in_opposite_orders_both_commit(hub: Hub) -> None:
    async with session_factory(hub.engine)() as session:
        bavarian_city = await factories.add_city(session, state_code="BY")
        bavarian = await factories.add_network(session, bavarian_city)
        networks = {"NW": GlobalID.from_id(hub.network).node_id, "BY": str(bavarian.id)}
        await session.commit()
    add_actor = text(
        "INSERT INTO actors (network_id, slug, name, organisation_type, sector_code, role)"
        " VALUES (:network, :slug, 'Verein', 'Verein', 'civil_society', 'member')"
    )
    async with hub.engine.connect() as first, hub.engine.connect() as second:
        for writer in (first, second):
            await writer.begin()
        for number, (writer, state) in enumerate(
            ((first, "NW"), (second, "BY"), (first, "BY"), (second, "NW"))
        ):
            values = {"network": int(networks[state]), "slug": f"verein-{number}"}
            await writer.execute(add_actor, values)
        # Each refreshes both states when it commits: in one order, neither waits for the other
        # crosswise (a deadlock would fail one of them).
        await asyncio.gather(first.commit(), second.commit())

    assert await kept(hub.engine) == await recounted(hub.engine)


# --- Every column of every counted table --------------------------------------------------

STALE_REGIONS = text("SELECT count(*) FROM statistics_stale")
# Columns no figure counts: changing them marks no region stale (nothing is counted again).
UNCOUNTED = {("cities", "website"), ("cities", "name"), ("actors", "name"), ("fundings", "title")}


async def counted_tables(connection: AsyncConnection) -> list[str]:
    """The tables whose writes mark regions stale (their triggers, as the migrations made)."""
    rows = await connection.execute(
        text(
            "SELECT DISTINCT event_object_table FROM information_schema.triggers"
            " WHERE trigger_name = 'statistics_stale_on_update' ORDER BY 1"
        )
    )
    return list(rows.scalars())


def other_values(table: str, column: Any) -> list[str]:
    """SQL expressions giving `column` another value than `row`'s (a row of `table` aliased
    `row`), to try in turn: another value of the column, a key nothing refers to yet, and as
    its type allows each label, the opposite, a little more or less, a year later or earlier,
    a longer text."""
    name = column.name
    values = [
        f"(SELECT other.{name} FROM {table} AS other WHERE other.{name} IS DISTINCT FROM"
        f" row.{name} ORDER BY 1 {order} LIMIT 1)"
        for order in ("ASC", "DESC")
    ]
    for key in column.foreign_keys:
        target = key.column
        values.append(
            f"(SELECT {target.name} FROM {target.table.name} WHERE {target.name} NOT IN"
            f" (SELECT {name} FROM {table} WHERE {name} IS NOT NULL) ORDER BY 1 LIMIT 1)"
        )
    kind = column.type
    if isinstance(kind, Enum):
        values += [f"'{label}'" for label in kind.enums]
    elif isinstance(kind, Boolean):
        values.append(f"coalesce(NOT row.{name}, true)")
    elif isinstance(kind, Integer | Numeric):
        values += [f"coalesce(row.{name} + {step}, 1)" for step in ("0.01", "-0.01", "1")]
    elif isinstance(kind, Date | DateTime):
        values += [
            f"coalesce(row.{name} {step} interval '1 year', date '2020-01-01')"
            for step in ("+", "-")
        ]
    elif isinstance(kind, String | Text):
        values.append(f"coalesce(row.{name} || '-x', 'x')")
    return values


async def changed_alone(connection: AsyncConnection, table: str, column: Any) -> bool:
    """Change `column` of one of the first rows of `table` (those with a value first) to
    another value; whether one that its constraints allow was found."""
    name = column.name
    for order, offset in itertools.product(("ASC", "DESC"), range(3)):
        for value in other_values(table, column):
            try:
                async with connection.begin_nested():
                    written = await connection.execute(
                        text(
                            f"UPDATE {table} AS t SET {name} = changed.value FROM ("
                            f" SELECT row.id, {value} AS value FROM {table} AS row"
                            f" ORDER BY row.{name} IS NULL, row.{name} {order}, row.id"
                            f" OFFSET {offset} LIMIT 1) AS changed"
                            " WHERE t.id = changed.id AND changed.value IS NOT NULL"
                        )
                    )
            except DBAPIError:
                continue
            if written.rowcount:
                return True
    return False


async def test_a_change_of_any_column_keeps_the_figures_equal_to_a_fresh_count(
    demo_connection: AsyncConnection,
) -> None:
    changed: list[tuple[str, str]] = []
    for table in await counted_tables(demo_connection):
        for column in models.Base.metadata.tables[table].columns:
            if column.primary_key:
                continue
            write = await demo_connection.begin_nested()
            if not await changed_alone(demo_connection, table, column):
                await write.rollback()
                continue
            stale = await demo_connection.scalar(STALE_REGIONS)
            if (table, column.name) in UNCOUNTED:
                assert stale == 0, f"{table}.{column.name} marked {stale} regions stale"
            # The refreshes at commit, now.
            await demo_connection.execute(text("SET CONSTRAINTS ALL IMMEDIATE"))
            figures = list(await demo_connection.execute(FIGURES))
            recount = await demo_connection.begin_nested()
            await demo_connection.execute(text("DELETE FROM statistics_figures"))
            await demo_connection.execute(RECOUNT)
            assert figures == list(await demo_connection.execute(FIGURES)), (table, column.name)
            await recount.rollback()
            await write.rollback()
            changed.append((table, column.name))

    assert set(changed) >= UNCOUNTED
    assert len(changed) >= 40, changed
