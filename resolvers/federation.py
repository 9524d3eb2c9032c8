"""Federation's `_entities`: the objects a gateway references by key, in one statement per key
column on the resolver path and inside the operation's one statement on the compiled path.

A reference names an entity type, one of its keys and the key's value in stored form
(schema/federation.py reads the representations a gateway sends into references).
"""

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLUnionType
from graphql.execution.collect_fields import FieldDetailsList
from sqlalchemy import (
    String,
    and_,
    case,
    cast,
    column,
    func,
    literal_column,
    null,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import JSONB, aggregate_order_by

from resolvers.compiler import Compiler, NotCompilable, unwrap
from resolvers.loaders import Loaders
from resolvers.sources import SqlColumn

# PostgreSQL's 4-byte integers, the primary keys' type: a key beyond them names no row, and
# must not reach the database, which would refuse it as out of range.
INTEGER_MIN, INTEGER_MAX = -(2**31), 2**31 - 1


@dataclass(frozen=True)
class Reference:
    """The row of `type_name` whose `key` field (stored in `column`) has `value`; a value of
    None names no row (a global ID of another type, say)."""

    type_name: str
    key: str
    column: SqlColumn
    value: Any

    @classmethod
    def of(cls, type_name: str, key: str, column: SqlColumn, value: Any) -> "Reference":
        """The reference, its value None where the column cannot hold it."""
        if isinstance(value, int) and not INTEGER_MIN <= value <= INTEGER_MAX:
            value = None
        return cls(type_name, key, column, value)


async def load_entities(loaders: Loaders, references: Sequence[Reference | Exception]) -> list[Any]:
    """The row of each reference (None where none exists), in order; an error stays in its
    place. The loads run together, so the references by one key column load in one statement."""
    return await asyncio.gather(*(_load(loaders, reference) for reference in references))


async def _load(loaders: Loaders, reference: Reference | Exception) -> Any:
    """The row of one reference, through the request's loader of its key column."""
    if isinstance(reference, Exception):
        return reference
    if reference.value is None:
        return None
    return await loaders.by_key(reference.column).load(reference.value)


def references_json(references: Sequence[Reference]) -> str:
    """The references as the compiled plan reads them: a JSON array of `[type, key, value]`
    (null for a reference that names no row)."""
    return orjson.dumps(
        [None if ref.value is None else [ref.type_name, ref.key, ref.value] for ref in references]
    ).decode()


def plan_entities(
    compiler: Compiler,
    field_def: Any,
    details: FieldDetailsList,
    references: Any,
    keys: Mapping[str, Mapping[str, SqlColumn]],
) -> Any:
    """The compiled read path's `_entities`: for each reference of the JSON array
    `references` (a bind value, see `references_json`), in order, the row of its type with
    its key, as the selection on that type asks, or null where there is none.

    `keys` holds the key columns of each entity type by key field: one branch each, chosen
    per reference, so that one plan serves any references.
    """
    union = unwrap(field_def.type)
    if not isinstance(union, GraphQLUnionType):
        raise NotCompilable(union.name)
    members = {member.name: member for member in union.types}
    elements = (
        # Text that PostgreSQL reads as JSON, whether a bind parameter or the value itself.
        func.jsonb_array_elements(cast(type_coerce(references, String), JSONB))
        .table_valued(column("reference", JSONB), with_ordinality="number")
        .render_derived()
    )
    reference, number = elements.c.reference, elements.c.number
    branches = []
    value = item(reference, 2)
    for type_name, type_keys in keys.items():
        for key, key_column in type_keys.items():
            stored = value if isinstance(key_column.type, String) else cast(value, key_column.type)
            row = compiler.row_where(members[type_name], details, key_column, stored)
            chosen = and_(item(reference, 0) == type_name, item(reference, 1) == key)
            branches.append((chosen, row))
    entity = case(*branches, else_=null())
    aggregated = func.coalesce(
        func.json_agg(aggregate_order_by(entity, number)), literal_column("'[]'::json")
    )
    return select(aggregated).select_from(elements).scalar_subquery()


def item(array: Any, position: int) -> Any:
    """The text of the item at `position` of a JSON array (`->>`)."""
    return array.op("->>")(literal_column(str(position)))
