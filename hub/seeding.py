"""Filling a database with a data set: in one transaction, under a lock, never over real data."""

from collections.abc import Callable

import asyncpg

import models
from hub.database import asyncpg_dsn
from hub.demo.dataset import Dataset
from hub.demo.loader import is_empty, load_dataset, quote_identifier
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
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """Load the data set `build` makes; with `reset`, empty every table first.

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
            await load_dataset(connection, build(), progress)
    finally:
        await connection.close()


async def seed_if_empty(url: str, build: Callable[[], Dataset]) -> bool:
    """Load the data set `build` makes when the database is empty; say whether it did."""
    try:
        await seed(url, build)
    except DatabaseNotEmpty:
        return False
    return True


async def truncate_all(connection: asyncpg.Connection) -> None:
    """Empty every table of the models and restart their identities."""
    tables = ", ".join(quote_identifier(table.name) for table in models.Base.metadata.sorted_tables)
    await connection.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
