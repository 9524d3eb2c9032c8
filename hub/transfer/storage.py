"""The database side of the format: reading every entity's rows as typed rows with their
natural keys, and writing the rows an import creates or changes."""

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    Column,
    Enum,
    FromClause,
    Integer,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as upsert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

import models
from hub.demo.dataset import Dataset, add_reference_rows
from hub.transfer.entities import ENTITIES, ENTITIES_BY_NAME, Entity, table_of
from hub.transfer.fields import NAMES, Field, Row

Key = tuple[Any, ...]
# The tables of the rows every data set shares; an import adds those missing.
REFERENCE_TABLES = (models.State, models.Sector)


@dataclass(frozen=True)
class StoredRow:
    """A row the database holds, as the format sees it, with the ids behind it."""

    id: int
    reference_id: int | None  # what other rows store to point at it (a city: its network)
    values: Row


@dataclass
class StoredRows:
    """An entity's stored rows, found by natural key."""

    rows: list[StoredRow] = dataclasses.field(default_factory=list)
    by_key: dict[Key, StoredRow] = dataclasses.field(default_factory=dict)
    # Keys more than one stored row has (the database does not enforce a funding's key).
    ambiguous: set[Key] = dataclasses.field(default_factory=set)


Stored = dict[str, StoredRows]


@dataclass(frozen=True)
class PlannedRow:
    """A row of a file, complete with stored values for the fields it leaves out."""

    number: int  # its CSV line or JSON index
    key: Key
    values: Row
    stored: StoredRow | None
    changed: frozenset[str]  # the fields that differ from the stored row (all, for a new row)


# The file's rows per entity name.
Plan = dict[str, list[PlannedRow]]


class RowsRefused(Exception):
    """The database refused an entity's rows, for a rule no check caught before."""

    def __init__(self, entity: str, reason: str) -> None:
        super().__init__(reason)
        self.entity = entity
        self.reason = reason


# --- Reading -------------------------------------------------------------------------------


async def read_stored(connection: AsyncConnection) -> Stored:
    """Every entity's stored rows."""
    return {entity.name: await read_entity(connection, entity) for entity in ENTITIES}


async def read_entity(connection: AsyncConnection, entity: Entity) -> StoredRows:
    """One entity's stored rows: one statement, references read as their targets' keys."""
    statement = select(
        entity.table.c.id.label("_id"),
        entity.reference_column.label("_reference_id"),
        *(expression(entity, field).label(field.name) for field in entity.fields),
    ).select_from(from_clause(entity))
    stored = StoredRows()
    for row in (await connection.execute(statement)).mappings():
        values = {field.name: normalized(field, row[field.name]) for field in entity.fields}
        found = StoredRow(row["_id"], row["_reference_id"], values)
        stored.rows.append(found)
        key = entity.key_of(values)
        if key in stored.by_key:
            stored.ambiguous.add(key)
        stored.by_key[key] = found
    return stored


def from_clause(entity: Entity) -> FromClause:
    """The entity's table, with its companion's row when it has one."""
    if entity.companion is None:
        return entity.table
    return entity.table.outerjoin(entity.companion, entity.companion_parent == entity.table.c.id)


def expression(entity: Entity, field: Field) -> ColumnElement[Any]:
    """The SQL that reads `field` of the entity's rows as the format writes it."""
    if field.link_parent is not None:
        members = key_column(field.target) if field.target else field.column
        statement = select(func.array_agg(members)).where(field.link_parent == entity.table.c.id)
        if field.target:
            target = ENTITIES_BY_NAME[field.target]
            statement = statement.select_from(from_clause(target)).where(
                target.reference_column == field.column
            )
        return statement.scalar_subquery()
    if field.target:
        target = ENTITIES_BY_NAME[field.target]
        return (
            select(key_column(field.target))
            .select_from(from_clause(target))
            .where(target.reference_column == field.column)
            .scalar_subquery()
        )
    if isinstance(field.column.type, Enum):
        return type_coerce(field.column, String)  # the stored text, not the Python enum
    return field.column


def key_column(entity_name: str) -> Column[Any]:
    """The column of an entity's one-field natural key (only those are pointed at)."""
    entity = ENTITIES_BY_NAME[entity_name]
    [name] = entity.key
    return entity.fields_by_name[name].column


def normalized(field: Field, value: Any) -> Any:
    """A stored value as reading a file makes it (a set sorted, an empty set not null)."""
    if field.kind is NAMES:
        return tuple(sorted(value or ()))
    return value


# --- Writing -------------------------------------------------------------------------------


async def write_plan(connection: AsyncConnection, plan: Plan, stored: Stored) -> None:
    """Write the new and changed rows of `plan`, entity by entity in dependency order."""
    ids = {
        entity.name: {key: row.reference_id for key, row in stored[entity.name].by_key.items()}
        for entity in ENTITIES
    }
    written = {name: [row for row in rows if row.changed] for name, rows in plan.items()}
    await add_reference_rows_missing(connection)
    # Old links go before any row moves: a measure's links must move with its network.
    for entity in ENTITIES:
        with refusals_of(entity):
            await clear_links(connection, entity, written.get(entity.name, []))
    for entity in ENTITIES:
        with refusals_of(entity):
            await write_entity(connection, entity, written.get(entity.name, []), ids)


@contextmanager
def refusals_of(entity: Entity) -> Iterator[None]:
    """Turn the database refusing the entity's rows into RowsRefused: its message in one
    line, never the statement."""
    try:
        yield
    except DBAPIError as error:
        cause = getattr(error, "orig", None) or error
        raise RowsRefused(entity.name, str(cause).splitlines()[0]) from None


async def add_reference_rows_missing(connection: AsyncConnection) -> None:
    """Add the states and sectors the hub's data sets share, where they are missing."""
    dataset = Dataset.empty()
    add_reference_rows(dataset)
    for model in REFERENCE_TABLES:
        table = table_of(model)
        columns = dataset.tables[table.name]
        rows = [dict(zip(columns, row, strict=True)) for row in dataset.rows[table.name]]
        await connection.execute(upsert(table).on_conflict_do_nothing(), rows)


async def clear_links(connection: AsyncConnection, entity: Entity, rows: list[PlannedRow]) -> None:
    """Remove the link rows of the stored rows that change; write_links adds them anew."""
    parents = [row.stored.id for row in rows if row.stored is not None]
    for field in link_fields(entity):
        if parents:
            assert field.link_parent is not None
            await connection.execute(
                delete(field.column.table).where(
                    field.link_parent == any_(bindparam("parents", parents, ARRAY(Integer)))
                )
            )


async def write_entity(
    connection: AsyncConnection,
    entity: Entity,
    rows: list[PlannedRow],
    ids: dict[str, dict[Key, int | None]],
) -> None:
    """Insert the entity's new rows, update its changed ones, and note their ids."""
    own_fields = [field for field in entity.fields if field.column.table is entity.table]
    own_values = [stored_columns(own_fields, row.values, ids) for row in rows]
    row_ids = await write_table(
        connection,
        entity.table,
        [
            (row.stored.id if row.stored else None, values if changes(row, own_fields) else None)
            for row, values in zip(rows, own_values, strict=True)
        ],
    )
    if entity.companion is None:
        ids[entity.name].update(
            (row.key, row_id) for row, row_id in zip(rows, row_ids, strict=True)
        )
    else:
        await write_companion(connection, entity, rows, row_ids, ids)
    await write_links(connection, entity, rows, row_ids, own_values, ids)


def changes(row: PlannedRow, fields: list[Field]) -> bool:
    """Whether writing `row` changes any of `fields` (every field of a new row does)."""
    return row.stored is None or any(field.name in row.changed for field in fields)


async def write_companion(
    connection: AsyncConnection,
    entity: Entity,
    rows: list[PlannedRow],
    row_ids: list[int],
    ids: dict[str, dict[Key, int | None]],
) -> None:
    """Write the companion rows (a city's local network) that are missing or change."""
    assert entity.companion is not None
    fields = [field for field in entity.fields if field.column.table is entity.companion]
    parent = entity.companion_parent
    companion_ids = await write_table(
        connection,
        entity.companion,
        [
            (
                row.stored.reference_id if row.stored else None,
                stored_columns(fields, row.values, ids) | {parent.key: row_id}
                if row.stored is None or row.stored.reference_id is None or changes(row, fields)
                else None,
            )
            for row, row_id in zip(rows, row_ids, strict=True)
        ],
    )
    ids[entity.name].update(
        (row.key, row_id) for row, row_id in zip(rows, companion_ids, strict=True)
    )


async def write_links(
    connection: AsyncConnection,
    entity: Entity,
    rows: list[PlannedRow],
    row_ids: list[int],
    own_values: list[dict[str, Any]],
    ids: dict[str, dict[Key, int | None]],
) -> None:
    """Add the link rows of the written rows' sets (clear_links removed the old ones)."""
    for field in link_fields(entity):
        assert field.link_parent is not None
        links = [
            {
                field.link_parent.key: row_id,
                field.column.key: member_id(field, member, ids),
                **{copy.key: values[source.key] for copy, source in field.link_copies},
            }
            for row, row_id, values in zip(rows, row_ids, own_values, strict=True)
            for member in row.values[field.name]
        ]
        if links:
            await connection.execute(insert(field.column.table), links)


def link_fields(entity: Entity) -> list[Field]:
    """The entity's fields stored as link rows."""
    return [field for field in entity.fields if field.link_parent is not None]


def member_id(field: Field, member: str, ids: dict[str, dict[Key, int | None]]) -> Any:
    """What a link row stores for a member of a set: its target's id, or the key itself."""
    return ids[field.target][(member,)] if field.target else member


def stored_columns(
    fields: Sequence[Field], values: Row, ids: dict[str, dict[Key, int | None]]
) -> dict[str, Any]:
    """The column values of `fields`, references turned into the ids they name."""
    return {
        field.column.key: (
            ids[field.target][(values[field.name],)]
            if field.target and values[field.name] is not None
            else values[field.name]
        )
        for field in fields
    }


async def write_table(
    connection: AsyncConnection,
    table: Table,
    rows: list[tuple[int | None, dict[str, Any] | None]],
) -> list[int]:
    """Write (id, column values) pairs: insert those without an id, update those with one and
    values, leave those without values; return every row's id in order."""
    new = [values for row_id, values in rows if row_id is None and values is not None]
    inserted = iter(await insert_rows(connection, table, new))
    changed = [values | {"row_id": row_id} for row_id, values in rows if row_id and values]
    if changed:
        statement = update(table).where(table.c.id == bindparam("row_id"))
        if "updated_at" in table.c:
            statement = statement.values(updated_at=func.now())
        await connection.execute(statement, changed)
    return [next(inserted) if row_id is None else row_id for row_id, _ in rows]


async def insert_rows(
    connection: AsyncConnection, table: Table, rows: list[dict[str, Any]]
) -> list[int]:
    """Insert `rows` in one batch; return their new ids in order."""
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list((await connection.execute(statement, rows)).scalars())
