"""Alembic's migrations build exactly the models' schema, and take it down again."""

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect

import models
from hub import migrations
from hub.database import engine_for


def differences(connection: Connection) -> list[object]:
    """What alembic's autogenerate would change to make the database match the models."""
    context = MigrationContext.configure(
        connection,
        opts={
            "compare_type": True,
            "compare_server_default": True,
            "include_object": migrations.include_object,
        },
    )
    return list(compare_metadata(context, models.Base.metadata))


def table_names(connection: Connection) -> set[str]:
    """The tables in the database's public schema."""
    return set(inspect(connection).get_table_names())


async def test_upgrade_matches_models_and_downgrade_removes_everything(
    fresh_database: str,
) -> None:
    await asyncio.to_thread(migrations.upgrade, fresh_database)
    async with engine_for(fresh_database) as engine, engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        assert models.Base.metadata.tables.keys() <= await connection.run_sync(table_names)

    await asyncio.to_thread(migrations.downgrade, fresh_database, "base")
    async with engine_for(fresh_database) as engine, engine.connect() as connection:
        assert await connection.run_sync(table_names) == {"alembic_version"}

    await asyncio.to_thread(migrations.upgrade, fresh_database)
    async with engine_for(fresh_database) as engine, engine.connect() as connection:
        assert await connection.run_sync(differences) == []
