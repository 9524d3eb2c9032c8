"""Global IDs in mutation inputs: the rows of other tables a write refers to."""

from typing import Any

from sqlalchemy import Column, Integer, Table

from models import Base
from resolvers import global_ids


def key_of(global_id: str, model: type[Base]) -> int | None:
    """The primary key a global ID of `model`'s type stands for (types share the models'
    names); None when it is no such ID."""
    key: int | None = global_ids.key_of(global_id, model.__name__)
    return key


def referenced_model(column: Column[Any]) -> type[Base] | None:
    """The model whose rows an integer foreign-key column refers to by ID (codes such as a
    state's or a sector's are no IDs)."""
    target = referenced_column(column)
    if target is None or not isinstance(column.type, Integer):
        return None
    return model_of(target.table)


def referenced_column(column: Column[Any]) -> Column[Any] | None:
    """The primary-key column of the row a foreign-key column names (a column may also be part
    of a composite foreign key that names no row but the scope the two rows share)."""
    return next((key.column for key in column.foreign_keys if key.column.primary_key), None)


def shared_columns(table: Table, name: str) -> dict[str, str]:
    """The columns a row of `table` shares with the row its column `name` refers to, as a
    composite foreign key declares them, e.g. {"network_id": "network_id"} for a measure's
    `goal_id`: the goal is of the measure's own network."""
    for constraint in table.foreign_key_constraints:
        pairs = {key.parent.name: key.column for key in constraint.elements}
        if name in pairs and pairs[name].primary_key:
            return {ours: theirs.name for ours, theirs in pairs.items() if ours != name}
    return {}


def model_of(table: Table) -> type[Base]:
    """The model mapped to `table`."""
    return MODELS_BY_TABLE[table]


def column_of(model: type[Base], name: str) -> Column[Any]:
    """The column `name` of `model`'s table."""
    return table_of(model).columns[name]


def table_of(model: type[Base]) -> Table:
    """The table `model` is mapped to."""
    table = model.__table__
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a table"
    return table


# The model of each mapped table (link tables such as `measure_actors` have none).
MODELS_BY_TABLE: dict[Table, type[Base]] = {
    table_of(mapper.class_): mapper.class_ for mapper in Base.registry.mappers
}
