"""One mutation: one transaction on the request's session, its viewer, and its audit entries.

A mutation's work refuses by raising `Rejected`; a constraint the database refuses is mapped
to a user error too. Either way the transaction rolls back, so a refused mutation leaves the
database exactly as it was, and the caller gets the problems as data (`Outcome`).
"""

import enum
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any, Generic, TypeVar

from sqlalchemy import Column, Integer, Table, delete, insert, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from hub.events import announce
from models import Actor, AuditEntry, Base, Goal, LocalNetwork, Measure
from resolvers.access import Owner, Viewer, may_write
from resolvers.context import Context
from resolvers.mutations.constraints import FOREIGN_KEY, problem_of, sqlstate_of
from resolvers.mutations.ids import (
    column_of,
    key_of,
    model_of,
    referenced_column,
    referenced_model,
    shared_columns,
    table_of,
)
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
# What the audit log keeps of personal data (columns marked `personal`) and secrets.
WITHHELD = "(withheld)"
# The local network a change of each of these entries changes, which `localNetworkChanged`
# announces to the portals following it.
NETWORK_OF: dict[type[Base], Callable[[Any], int]] = {
    LocalNetwork: lambda network: network.id,
    Actor: lambda actor: actor.network_id,
    Goal: lambda goal: goal.network_id,
    Measure: lambda measure: measure.network_id,
}


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
        writing = Write(session, context.viewer, operation)
        result = await work(writing)
        await writing.send_events()
        return result

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
        # The events this write announces on commit, each once: their kinds and data.
        self.events: dict[tuple[str, tuple[tuple[str, Any], ...]], None] = {}

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
        """The row a global ID of `model`'s type names, which this write changes (locked);
        refused when there is none."""
        key = key_of(global_id, model)
        if key is None:
            raise Rejected(invalid(path, f"Must be an ID of type {model.__name__}."))
        found = await self.locked(model, key)
        if found is None:
            raise Rejected(not_found(path, f"No {model.__name__} has this ID."))
        return found

    async def locked(self, model: type[M], key: Any) -> M | None:
        """The row of `model` with the primary key `key`, as last committed, locked until this
        write ends (SELECT ... FOR UPDATE): concurrent writes of one row (a review step, a
        list replaced) run one after the other, each seeing what the one before did."""
        return await self.session.get(model, key, with_for_update=True, populate_existing=True)

    async def references(
        self, model: type[Base], values: Values, entry: Values | None = None
    ) -> None:
        """Refuse the write unless every row that `values` (checked) refer to by ID exists and
        is in the scope of the entry, which has `entry` as its values after the write (a new
        one: `values`)."""
        table = table_of(model)
        for name, value in values.items():
            if value is not None and referenced_model(table.columns[name]) is not None:
                await self.referred(table, name, [value], entry or values, field_path(name))

    async def referred(
        self,
        table: Table,
        name: str,
        keys: list[Any],
        row: Values,
        path: Path,
        listed: bool = False,
    ) -> None:
        """Refuse the write unless each of `keys`, written to the column `name` of a row `row`
        of `table`, names a stored row that shares with `row` the columns a composite foreign
        key pairs (a measure's goal and actors are of the measure's own network).

        The one check of every reference's scope; the composite foreign keys refuse the same
        in the database."""
        target = referenced_column(table.columns[name])
        assert target is not None, f"{table.name}.{name} refers to no row"
        scope = {theirs: row[ours] for ours, theirs in shared_columns(table, name).items()}
        await self.in_scope(target, keys, scope, path, listed)

    async def in_scope(
        self, target: Column[Any], keys: list[Any], scope: Values, path: Path, listed: bool = False
    ) -> None:
        """Refuse the write unless each of `keys` is the `target` column's value of a stored
        row that has the `scope` values (e.g. the network of the entry that refers to it).

        An unknown key is a NotFoundError at `path`, one of another scope a ValidationError at
        `path` (at its index, for a `listed` one)."""
        model = model_of(target.table)
        rows = await self.session.scalars(select(model).where(target.in_(keys)))
        found = {getattr(stored, target.key): stored for stored in rows}
        noun, what = words(model.__name__), "ID" if isinstance(target.type, Integer) else "code"
        problems = []
        for index, key in enumerate(keys):
            entry = found.get(key)
            if entry is None:
                problems.append(not_found(path, f"No {noun} has this {what}."))
            elif any(getattr(entry, column) != value for column, value in scope.items()):
                at = (*path, str(index)) if listed else path
                problems.append(
                    invalid(at, f"Must be {article(noun)} of the same {scope_of(model, scope)}.")
                )
        refuse_any(problems)

    async def add(self, entity: M, values: Values) -> M:
        """Insert `entity`, made of `values`, and audit them."""
        self.session.add(entity)
        # Server defaults (timestamps, submission time) come back with the INSERT (the models'
        # eager defaults), not lazily later.
        await self.session.flush()
        self.audit(entity, values)
        return entity

    async def change(self, entity: M, values: Values) -> M:
        """Set `values` on `entity`; audit those that differ from what was stored (none: the
        entity is left as it was, its `updated_at` too, and nothing is audited)."""
        changed = {name: value for name, value in values.items() if getattr(entity, name) != value}
        if not changed:
            return entity
        for name, value in changed.items():
            setattr(entity, name, value)
        await self.session.flush()
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
        self, entity: Base, links: Table, field: str, listed: str, keys: list[Any], fixed: Values
    ) -> None:
        """Make `keys` the `listed` column of the rows of the link table `links` that have the
        `fixed` values of `entity` (its key, its network), once each names a row in the
        entity's scope; the input field `field` gave them, the audit names the change so.
        An unchanged list writes nothing. The caller holds `entity` locked (or made it), so
        concurrent replacements of one list run one after the other."""
        path = field_path(field)
        await self.referred(links, listed, keys, fixed, path, listed=True)
        of_entity = [links.c[name] == value for name, value in fixed.items()]
        stored = set(await self.session.scalars(select(links.c[listed]).where(*of_entity)))
        if stored == set(keys):
            return
        await self.session.execute(delete(links).where(*of_entity))
        if keys:
            await self.session.execute(insert(links), [fixed | {listed: key} for key in keys])
        self.audit(entity, {field: keys})

    def audit(self, entity: Base, changes: Values) -> None:
        """Record the change of `entity` in the audit log, in this write's transaction, with
        personal data withheld; a change of a local network's entries is announced."""
        keys = inspect(entity).identity or ()
        self.session.add(
            AuditEntry(
                subject=self.viewer.subject,
                role=self.viewer.role,
                operation=self.operation,
                entity_type=type(entity).__name__,
                entity_id=":".join(str(key) for key in keys),
                changes=audited(type(entity), changes),
            )
        )
        network_of = NETWORK_OF.get(type(entity))
        if network_of is not None:
            self.announce("local_network_changed", id=network_of(entity))

    def announce(self, kind: str, **data: Any) -> None:
        """Announce an event of `kind` when this write commits (once, however often it is
        announced)."""
        self.events[kind, tuple(sorted(data.items()))] = None

    async def send_events(self) -> None:
        """Send the events announced, in the write's transaction (they go out on commit)."""
        for kind, data in self.events:
            await announce(self.session, kind, **dict(data))


def scope_of(model: type[Base], columns: Iterable[str]) -> str:
    """What `model`'s `columns` name in words, e.g. "local network" for a goal's `network_id`."""
    targets = [referenced_column(column_of(model, name)) for name in columns]
    names = [words(model_of(target.table).__name__) for target in targets if target is not None]
    return " and ".join(names)


def words(name: str) -> str:
    """A model's name in words: `LocalNetwork` -> `local network`."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", name).lower()


def article(noun: str) -> str:
    """`noun` with its indefinite article."""
    return f"{'an' if noun[0] in 'aeiou' else 'a'} {noun}"


def column_values(entity: Base) -> Values:
    """The values of an entity's columns, by attribute name."""
    return {
        column.key: getattr(entity, column.key) for column in inspect(entity).mapper.column_attrs
    }


def audited(model: type[Base], changes: Values) -> Values:
    """`changes` of an entry of `model` as the audit log keeps them: the values of columns
    marked personal withheld (a removed or emptied one stays null), the others as JSON."""
    columns = table_of(model).columns
    return {
        name: WITHHELD
        if value is not None and name in columns and columns[name].info.get("personal")
        else jsonable(value)
        for name, value in changes.items()
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
