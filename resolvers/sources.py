"""Where each field's data lives in SQL, declared once per field.

The strawberry types (schema/) attach these to their fields; the resolver path batches them
through DataLoaders (resolvers/loaders.py), and a compiled read path can translate the same
declarations into one SQL statement.
"""

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, literal, select

# Anything SQLAlchemy accepts as a column (a mapped attribute, a table column, an expression)
# or as something to join (a mapped class, a table, a subquery); it has no public alias for them.
SqlColumn = Any
SqlJoinable = Any

# The key under which a strawberry field's metadata holds its SQL source.
SOURCE = "sql_source"

# The parent value of lists hanging off the root Query: one group holding every row.
ROOT = 1


@dataclass(frozen=True, eq=False)
class Relation:
    """The rows of `target` whose `key` equals the parent's `parent_key`.

    `key` is a column of `target`, or of a `link` (a table or subquery joined to `target` on
    its condition) for relations through link tables. Without `parent_key` the relation lists
    the whole table, for root fields. `where` narrows the rows (e.g. to the coordinator);
    `order_by` is the natural order, and the primary key breaks ties.
    """

    target: Any
    parent_key: SqlColumn | None = None
    key: SqlColumn | None = None
    link: tuple[SqlJoinable, SqlColumn] | None = None
    where: tuple[SqlColumn, ...] = ()
    order_by: tuple[SqlColumn, ...] = ()

    def parent_value(self, root: Any) -> Hashable:
        """The value of the parent row that selects its related rows."""
        return ROOT if self.parent_key is None else getattr(root, self.parent_key.key)

    @property
    def group(self) -> SqlColumn:
        """The column that groups related rows by parent (a constant for root lists)."""
        return literal(ROOT) if self.key is None else self.key

    @property
    def ordering(self) -> tuple[SqlColumn, ...]:
        """The natural order, made total by the primary key."""
        return (*self.order_by, *self.target.__mapper__.primary_key)

    def rows(self) -> Select[Any]:
        """SELECT the target rows with their parent value labelled `_parent`."""
        statement = select(self.target, self.group.label("_parent"))
        if self.link is not None:
            statement = statement.join(*self.link)
        return statement.where(*self.where)


@dataclass(frozen=True, eq=False)
class Variant:
    """One of several relations, chosen per row by its `discriminator` column: a union field.

    A row whose discriminator has no relation (e.g. a funding of the whole network) has none.
    """

    discriminator: SqlColumn
    relations: Mapping[Any, Relation]

    def relation_for(self, root: Any) -> Relation | None:
        """The relation that applies to the parent row `root`."""
        return self.relations.get(getattr(root, self.discriminator.key))


@dataclass(frozen=True, eq=False)
class Lookup:
    """A root field finding one row by a unique column, from the value of an argument.

    `normalize` turns the argument into the stored form (e.g. state codes to upper case).
    """

    column: SqlColumn
    argument: str
    normalize: Callable[[Any], Any] | None = None

    def key(self, argument: Any) -> Any:
        """The column value the argument stands for."""
        return argument if self.normalize is None else self.normalize(argument)


@dataclass(frozen=True, eq=False)
class Computed:
    """A value computed in SQL per row of `model`; `expression` correlates to the model's table."""

    model: Any
    expression: ColumnElement[Any]


@dataclass(frozen=True, eq=False)
class Planned:
    """A field the compiled read path plans with a function of its own: SQL that is no
    relation, lookup or per-row expression (statistics, search).

    `plan(compiler, field_def, details, parent)` returns the field's SQL (a JSON value or a
    scalar) or raises NotCompilable; `parent` is what the enclosing object was planned with: a
    row's scope, or whatever the parent field's own plan passes down.
    """

    plan: Callable[[Any, Any, Any, Any], Any]
