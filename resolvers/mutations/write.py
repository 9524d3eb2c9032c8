"""One mutation: one transaction on the request's session, its viewer, and its audit entries.

A mutation's work refuses by raising `Rejected`; a constraint the database refuses is mapped
to a user error too. Either way the transaction rolls back, so a refused mutation leaves the
database exactly as it was, and the caller gets the problems as data (`Outcome`).
"""

import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Table, delete, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from models import AuditEntry, Base
from resolvers.access import Owner, Viewer, may_write
from resolvers.context import Context
from resolvers.mutations.constraints import FOREIGN_KEY, problem_of, sqlstate_of
from resolvers.mutations.ids import column_of, key_of, referenced_model
from resolvers.mutations.problems import (
    Path,
    Problem,
    Rejected,
    conflict,
    forbidden,
    invalid,
    not_found,
    refuse_any,
)
from resolvers.mutations.validation import Values, field_path

T = TypeVar("T")
M = TypeVar("M", bound=Base)

FORBIDDEN = "You may not change this: it belongs to another part of the network."


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a mutation did: its result, or the problems that refused it."""

    result: T | None = None
    problems: tuple[Problem, ...] = ()


async def perform(
    context: Context, operation: str, work: Callable[["Write"], Awaitable[T]]
) -> Outcome[T]:
    """Run one mutation's `work` as one transaction; `operation` names it in the audit log."""

    async def write(session: AsyncSession) -> T:
        return await work(Write(session, context.viewer, operation))

    try:
        return Outcome(result=await context.transaction(write))
    except Rejected as rejected:
        return Outcome(problems=tuple(rejected.problems))
    except IntegrityError as error:
        return Outcome(problems=(problem_of(error),))


class Write:
    """The work of one mutation: finding, checking and changing rows, and auditing changes."""

    def __init__(self, session: AsyncSession, viewer: Viewer, operation: str) -> None:
        self.session = session
        self.viewer = viewer
        self.operation = operation

    def allow(self, owner: Owner, message: str = FORBIDDEN) -> None:
        """Refuse the write unless the viewer may write what belongs to `owner`."""
        if not may_write(self.viewer, owner):
            raise Rejected(forbidden(message))

    async def find(self, model: type[M], key: Any, path: Path) -> M:
        """The row of `model` with the primary key `key`; refused when there is none."""
        found = await self.session.get(model, key)
        if found is None:
            raise Rejected(not_found(path, f"No {model.__name__} has this ID."))
        return found

    async def find_by_id(self, model: type[M], global_id: str, path: Path) -> M:
        """The row a global ID of `model`'s type names; refused when there is none."""
        key = key_of(global_id, model)
        if key is None:
            raise Rejected(invalid(path, f"Must be an ID of type {model.__name__}."))
        return await self.find(model, key, path)

    async def references(self, model: type[Base], values: Values) -> None:
        """Refuse the write when a row that `values` (checked) refer to by key does not exist."""
        for name, value in values.items():
            target = referenced_model(column_of(model, name))
            if target is not None and value is not None:
                await self.find(target, value, field_path(name))

    async def all_exist(
        self,
        column: InstrumentedAttribute[Any],
        values: list[Any],
        path: Path,
        message: str,
        *where: ColumnElement[bool],
    ) -> None:
        """Refuse the write unless, for each of `values`, a row has it in `column` (and meets
        `where`); `message` says what is missing, at `path`."""
        found = set(await self.session.scalars(select(column).where(column.in_(values), *where)))
        refuse_any([not_found(path, message) for value in values if value not in found])

    async def add(self, entity: M, values: Values) -> M:
        """Insert `entity`, made of `values`, and audit them."""
        self.session.add(entity)
        await self.session.flush()
        # Server defaults (timestamps, submission time) are read now, not lazily later.
        await self.session.refresh(entity)
        self.audit(entity, values)
        return entity

    async def change(self, entity: M, values: Values) -> M:
        """Set `values` on `entity`; audit those that differ from what was stored."""
        changed = {name: value for name, value in values.items() if getattr(entity, name) != value}
        for name, value in changed.items():
            setattr(entity, name, value)
        await self.session.flush()
        await self.session.refresh(entity)
        self.audit(entity, changed)
        return entity

    async def remove(self, entity: Base, path: Path, referrers: str = "other entries") -> None:
        """Delete `entity`, which `path` names; refused while `referrers` still refer to it.
        The audit names each of its columns with null.

        A DELETE statement, not the session's `delete`: what goes with the row and what keeps
        it is the database's foreign keys' to decide (the ORM would first set the references
        of related rows it knows of to null).
        """
        self.audit(entity, dict.fromkeys(column_values(entity)))
        state = inspect(entity)
        keys = zip(state.mapper.primary_key, state.identity or (), strict=True)
        statement = delete(state.mapper.class_).where(*(column == key for column, key in keys))
        try:
            await self.session.execute(statement)
        except IntegrityError as error:
            if sqlstate_of(error) != FOREIGN_KEY:
                raise
            message = f"It cannot be removed while {referrers} refer to it."
            raise Rejected(conflict(path, message)) from None
        self.session.expunge(entity)

    async def replace_links(
        self, entity: Base, links: Table, column: str, rows: list[Values], changes: Values
    ) -> None:
        """Make `rows` the rows of the link table `links` whose `column` names `entity` (its
        key), and audit that as `changes` of the entity, e.g. a measure's `actor_ids`."""
        (key,) = inspect(entity).identity or (None,)
        await self.session.execute(delete(links).where(links.c[column] == key))
        if rows:
            await self.session.execute(insert(links), rows)
        self.audit(entity, changes)

    def audit(self, entity: Base, changes: Values) -> None:
        """Record the change of `entity` in the audit log, in this write's transaction."""
        keys = inspect(entity).identity or ()
        self.session.add(
            AuditEntry(
                subject=self.viewer.subject,
                role=self.viewer.role,
                operation=self.operation,
                entity_type=type(entity).__name__,
                entity_id=":".join(str(key) for key in keys),
                changes={name: jsonable(value) for name, value in changes.items()},
            )
        )


def column_values(entity: Base) -> Values:
    """The values of an entity's columns, by attribute name."""
    return {
        column.key: getattr(entity, column.key) for column in inspect(entity).mapper.column_attrs
    }


def jsonable(value: Any) -> Any:
    """A value as the audit log's JSON keeps it: dates in ISO format, amounts as text."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return [jsonable(item) for item in value]
    return value
