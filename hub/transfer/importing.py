"""Importing a file: every row checked first, then all of it written in one transaction, or
nothing at all."""

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.database import engine_for
from hub.seeding import SEED_LOCK_KEY
from hub.transfer.entities import ENTITIES
from hub.transfer.files import Source, read_source
from hub.transfer.problems import ImportRefused, Problem
from hub.transfer.storage import Plan, RowsRefused, read_stored, write_plan
from hub.transfer.validation import validate


@dataclass(frozen=True)
class Tally:
    """What an import did with one entity's rows."""

    created: int
    updated: int
    unchanged: int


Summary = dict[str, Tally]


async def import_path(url: str, path: Path) -> Summary:
    """Import the file or directory at `path` into the database at `url`, all or nothing."""
    source = read_source(path)
    async with engine_for(url) as engine, engine.begin() as connection:
        return await import_source(connection, source)


async def import_source(connection: AsyncConnection, source: Source) -> Summary:
    """Check and write `source` in the caller's transaction, which must end with a rollback
    when this raises ImportRefused: then part of it may be written already."""
    # One bulk load at a time: imports wait for each other and for seeding.
    await connection.execute(select(func.pg_advisory_xact_lock(SEED_LOCK_KEY)))
    stored = await read_stored(connection)
    plan = validate(source, stored)
    try:
        await write_plan(connection, plan, stored)
    except RowsRefused as refusal:
        reason = f"the database refused the {refusal.entity}: {refusal.reason}"
        raise ImportRefused(
            [Problem(refusal.entity, None, None, reason)], source.row_unit
        ) from None
    return summary(plan)


def summary(plan: Plan) -> Summary:
    """How many of each entity's rows are new, changed and unchanged."""
    return {
        entity.name: Tally(
            created=sum(row.stored is None for row in rows),
            updated=sum(row.stored is not None and bool(row.changed) for row in rows),
            unchanged=sum(row.stored is not None and not row.changed for row in rows),
        )
        for entity in ENTITIES
        if (rows := plan.get(entity.name)) is not None
    }
