"""Filling a database with a data set: in one transaction, under a lock, never over real data."""

from collections.abc import Callable

import asyncpg

import models
from hub.database import asyncpg_dsn
from hub.demo.dataset import Dataset
from hub.demo.loader import LoadProgress, is_empty, load_dataset, quote_identifier
from hub.failures import Refused

# Two hub processes starting on one empty database must not both load the demo data.
SEED_LOCK_KEY = 0x45_48_55_42  # "EHUB"


class DatabaseNotEmpty(Refused, RuntimeError):
    """Seeding was asked for a database that already holds network data."""


async def seed(
    url: str,
    build: Callable[[], Dataset],
    *,
    reset: bool = False,
    progress: LoadProgress | None = None,
) -> Dataset:
    """Load the data set `build` makes and return it; with `reset`, empty every table first.

    Without `reset` the database must be empty; the data set is only built once that is known.
    """
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        async with connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock($1)", SEED_LOCK_KEY)
            if reset:
                await truncate_all(connection)
            elif not await is_empty(connection):
                raise DatabaseNotEmpty("the database already holds data; seed --reset replaces it")
            dataset = build()
            await load_dataset(connection, dataset, progress)
    finally:
        await connection.close()
    return dataset


async def seed_if_empty(url: str, build: Callable[[], Dataset]) -> Dataset | None:
    """Load the data set `build` makes when the database is empty and return it; None when
    the database holds data already."""
    try:
        return await seed(url, build)
    except DatabaseNotEmpty:
        return None


async def truncate_all(connection: asyncpg.Connection) -> None:
    """Empty every table of the models and restart their identities."""
    tables = ", ".join(quote_identifier(table.name) for table in models.Base.metadata.sorted_tables)
    await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
