"""Alembic's migrations build exactly the models' schema, and take it down again."""

import asyncio

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

import models
from hub import migrations
from hub.database import engine_for
from tests.test_cli import environment, hub


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


def previous_revision() -> str:
    """The revision before the newest one."""
    scripts = ScriptDirectory.from_config(migrations.alembic_config(""))
    [head] = scripts.get_revisions("head")
    assert isinstance(head.down_revision, str), "the newest revision follows one other"
    return head.down_revision


async def test_migrate_goes_down_only_when_asked_to(fresh_database: str) -> None:
    previous = previous_revision()
    await asyncio.to_thread(migrations.migrate, fresh_database, "head", False)
    head = await migrations.current_revision(fresh_database)

    with pytest.raises(migrations.WrongDirection, match=rf"{previous} is older than .* --down"):
        await asyncio.to_thread(migrations.migrate, fresh_database, previous, False)
    assert await migrations.current_revision(fresh_database) == head

    await asyncio.to_thread(migrations.migrate, fresh_database, previous, True)
    assert await migrations.current_revision(fresh_database) == previous

    with pytest.raises(migrations.WrongDirection, match=r"head is newer than .* without --down"):
        await asyncio.to_thread(migrations.migrate, fresh_database, "head", True)
    assert await migrations.current_revision(fresh_database) == previous

    await asyncio.to_thread(migrations.migrate, fresh_database, "head", False)
    assert await migrations.current_revision(fresh_database) == head


async def test_migrate_refuses_an_unknown_revision(fresh_database: str) -> None:
    before = await migrations.current_revision(fresh_database)
    with pytest.raises(migrations.WrongDirection, match="nonexistent"):
        await asyncio.to_thread(migrations.migrate, fresh_database, "nonexistent", False)
    assert await migrations.current_revision(fresh_database) == before


def test_migrate_down_without_down_is_one_line_and_exit_1(fresh_database: str) -> None:
    migrations.upgrade(fresh_database)
    result = hub("migrate", previous_revision(), env=environment(DATABASE_URL=fresh_database))
    assert result.returncode == 1
    # alembic's own lines come first; the refusal is one line, however long.
    refusal = result.stderr.strip().splitlines()[-1]
    assert refusal.startswith(f"error: {previous_revision()} is older than the database's")
    assert refusal.endswith("add --down to do so")
