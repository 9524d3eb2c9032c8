"""A constraint the database still refused, as a user error that names no SQL.

The checks before the database (`resolvers.mutations.validation`) catch what the input alone
can tell; what depends on other rows (a taken slug, a second coordinator, a row deleted
meanwhile) only the database knows. Its constraint names follow the models' naming
convention, so the constraint tells which table, columns and rule were concerned.
"""

from sqlalchemy import Table
from sqlalchemy.exc import IntegrityError
from sqlalchemy.sql.schema import ColumnCollectionMixin

from models import Base
from resolvers.mutations.ids import MODELS_BY_TABLE
from resolvers.mutations.problems import (
    INPUT,
    Path,
    Problem,
    conflict,
    invalid,
    not_found,
)
from resolvers.mutations.validation import field_path

UNIQUE, FOREIGN_KEY, CHECK, NOT_NULL = "23505", "23503", "23514", "23502"

# Conflicts that need more than "taken": the input field concerned and what to say.
CONFLICTS: dict[str, tuple[Path, str]] = {
    "uq_actors_one_coordinator_per_network": (
        field_path("role"),
        "The local network has a coordinator already; make that actor a core member first.",
    ),
    "uq_state_partnerships_state_code": (
        field_path("state_code"),
        "The state has a partnership already.",
    ),
    "pk_city_partnerships": (INPUT, "The cities are partner cities already."),
    "pk_working_group_members": (INPUT, "The city takes part in the working group already."),
}


def sqlstate_of(error: IntegrityError) -> str | None:
    """PostgreSQL's code of the violation (SQLSTATE)."""
    return getattr(error.orig, "sqlstate", None)


def problem_of(error: IntegrityError) -> Problem:
    """The user error of a constraint violation."""
    # asyncpg's own exception, behind SQLAlchemy's DBAPI adapter, names the constraint.
    driver = getattr(error.orig, "orig", None)
    sqlstate = sqlstate_of(error)
    constraint = getattr(driver, "constraint_name", None) or ""
    if sqlstate == UNIQUE:
        return taken(constraint)
    if sqlstate == FOREIGN_KEY:
        return not_found(INPUT, "Something the input refers to no longer exists.")
    if sqlstate == CHECK:
        # The checks before the database keep every rule a check states, so a check fails
        # only when the stored row changed in between: its wording would mislead the client.
        entry = model_name(Base.metadata.tables.get(getattr(driver, "table_name", None) or ""))
        return invalid(INPUT, f"The change would break a rule of the {entry}; nothing was changed.")
    if sqlstate == NOT_NULL:
        column = getattr(driver, "column_name", None) or ""
        return invalid(field_path(column), "Must be given.")
    return conflict(INPUT, "The change conflicts with what is stored.")


def taken(constraint: str) -> Problem:
    """A unique constraint's conflict: a single column's value is taken, or the entry exists."""
    if constraint in CONFLICTS:
        return conflict(*CONFLICTS[constraint])
    found = unique_columns(constraint)
    if found is None or len(found[1]) != 1:
        return conflict(INPUT, "The entry exists already.")
    table, (column,) = found
    words = column.replace("_", " ")
    return conflict(field_path(column), f"Another {model_name(table)} has this {words} already.")


def unique_columns(constraint: str) -> tuple[Table, list[str]] | None:
    """The table and columns of a unique constraint or index of the models, by name."""
    for table in Base.metadata.tables.values():
        for candidate in [*table.constraints, *table.indexes]:
            named = getattr(candidate, "name", None) == constraint
            if named and isinstance(candidate, ColumnCollectionMixin):
                return table, [column.name for column in candidate.columns]
    return None


def model_name(table: Table | None) -> str:
    """The name of the model mapped to `table` (the GraphQL type's too), or `entry`."""
    model = MODELS_BY_TABLE.get(table) if table is not None else None
    return model.__name__ if model is not None else "entry"
