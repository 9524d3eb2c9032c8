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
    if not column.foreign_keys or not isinstance(column.type, Integer):
        return None
    (foreign_key,) = column.foreign_keys
    return next(
        mapper.class_
        for mapper in Base.registry.mappers
        if mapper.local_table is foreign_key.column.table
    )


def column_of(model: type[Base], name: str) -> Column[Any]:
    """The column `name` of `model`'s table."""
    return table_of(model).columns[name]


def table_of(model: type[Base]) -> Table:
    """The table `model` is mapped to."""
    table = model.__table__
    assert isinstance(table, Table), f"{model.__name__} is not mapped to a table"
    return table
