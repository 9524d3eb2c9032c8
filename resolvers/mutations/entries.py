"""Create, update and remove: the writes every kind of entry shares, with its owner rule.

Each write goes the same way: the input is checked without the database (ValidationError),
the entry and the rows it refers to are found (NotFoundError), the viewer must be allowed to
write what belongs to the entry's owner (ForbiddenError), and only then is anything written.
These entries are all in the public read API, so telling "no such ID" from "not yours"
reveals nothing a viewer could not read anyway.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import models as m
from resolvers.access import OFFICE, Owner, may_write
from resolvers.mutations.problems import (
    Path,
    Problem,
    Rejected,
    forbidden,
    invalid,
    invalid_transition,
    not_found,
    refuse_any,
)
from resolvers.mutations.validation import (
    Values,
    amount_problems,
    checked,
    field_path,
    period_problems,
)
from resolvers.mutations.write import Write, column_values

OwnerOf = Callable[[AsyncSession, Any], Awaitable[Owner]]
# A rule over several fields of an entry, e.g. that a period ends after it starts.
EntryRule = Callable[[Values], list[Problem]]
# Updates and removals name their entry in an argument of its own: `updateActor(id:, input:)`.
ID: Path = ("id",)
OFFICE_ONLY = "Only the network office changes this."


async def of_office(session: AsyncSession, entry: Any) -> Owner:
    """Themes, working groups, funders and state partnerships are the network office's."""
    return OFFICE


async def of_network(session: AsyncSession, entry: Any) -> Owner:
    """Actors, goals and measures belong to the city of their local network."""
    city_id = await session.scalar(
        select(m.LocalNetwork.city_id).where(m.LocalNetwork.id == entry.network_id)
    )
    return Owner(city_id=city_id)


async def of_funder(session: AsyncSession, entry: Any) -> Owner:
    """Fundings belong to their funder."""
    return Owner(funder_id=entry.funder_id)


async def funder_itself(session: AsyncSession, entry: Any) -> Owner:
    """A funder (its states and themes too) is, for changes, its own."""
    return Owner(funder_id=entry.id)


async def of_state(session: AsyncSession, entry: Any) -> Owner:
    """A state partnership is, for changes, also its state's."""
    return Owner(state_code=entry.state_code)


@dataclass(frozen=True)
class Kind:
    """A kind of entry: its model, whose its entries are, the columns an update cannot change
    (those that decide the owner: an actor does not move to another city's network), the
    columns only the network office changes (a city's status), the rules over several of its
    fields, and what may still refer to an entry, which keeps it from being removed.

    The entries of a `private` kind are not in the public read API (contact persons): one
    the viewer may not write is not found, as one that does not exist, so that its ID tells
    nothing."""

    model: type[m.Base]
    owner: OwnerOf = of_office
    fixed: tuple[str, ...] = ()
    office_fields: tuple[str, ...] = ()
    rules: tuple[EntryRule, ...] = (period_problems,)
    referrers: str = "other entries"
    private: bool = False

    async def create(self, write: Write, values: Values) -> Any:
        """A new entry of `values` (by column name, other rows by global ID)."""
        return await self.add(write, checked(self.model, values, complete=True))

    async def add(self, write: Write, values: Values) -> Any:
        """A new entry of checked `values`, once they keep the kind's rules, the rows they
        refer to exist, and the viewer may write what belongs to the entry's owner."""
        self.keep_rules(values)
        await write.references(self.model, values)
        entry = self.model(**values)
        write.allow(await self.owner(write.session, entry))
        return await write.add(entry, values)

    async def update(self, write: Write, global_id: str, changes: Values) -> Any:
        """The entry of `global_id` with `changes` (the fields the input gives) made."""
        fixed = [name for name in self.fixed if name in changes]
        refuse_any([invalid(field_path(name), "Cannot be changed.") for name in fixed])
        changes = checked(self.model, changes)
        return await self.change(write, await self.find(write, global_id), changes)

    async def change(self, write: Write, entry: Any, changes: Values) -> Any:
        """`entry` (found, locked) with checked `changes` made, once the viewer may change
        those fields and the entry keeps the kind's rules."""
        self.allow_fields(write, entry, changes)
        merged = column_values(entry) | changes
        self.keep_rules(merged)
        await write.references(self.model, changes, merged)
        return await write.change(entry, changes)

    def allow_fields(self, write: Write, entry: Any, changes: Values) -> None:
        """Refuse changes of the fields only the network office changes, unless the viewer is
        the office (a field given as it is stored changes nothing)."""
        if write.viewer.is_admin:
            return
        refuse_any(
            [
                forbidden(OFFICE_ONLY, field_path(name))
                for name in self.office_fields
                if name in changes and changes[name] != getattr(entry, name)
            ]
        )

    def keep_rules(self, values: Values) -> None:
        """Refuse the write unless an entry of `values` keeps the kind's rules."""
        refuse_any([problem for rule in self.rules for problem in rule(values)])

    async def remove(self, write: Write, global_id: str) -> str:
        """Remove the entry of `global_id`; its ID."""
        await write.remove(await self.find(write, global_id), ID, self.referrers)
        return global_id

    async def find(self, write: Write, global_id: str) -> Any:
        """The entry of `global_id` (the mutation's `id`), locked, once the viewer may write it."""
        entry = await write.find_by_id(self.model, global_id, ID)
        owner = await self.owner(write.session, entry)
        if self.private and not may_write(write.viewer, owner):
            raise Rejected(not_found(ID, f"No {self.model.__name__} has this ID."))
        write.allow(owner)
        return entry


ACTORS = Kind(m.Actor, of_network, fixed=("network_id",))
GOALS = Kind(m.Goal, of_network, fixed=("network_id",))
MEASURES = Kind(m.Measure, of_network, fixed=("network_id",))
FUNDINGS = Kind(
    m.Funding,
    of_funder,
    fixed=("funder_id", "recipient_id"),
    rules=(period_problems, amount_problems),
)
STATE_PARTNERSHIPS = Kind(m.StatePartnership, of_state, fixed=("state_code",))
# A funder keeps its own description, scope, states and themes; who it is, the office.
FUNDERS = Kind(
    m.Funder,
    funder_itself,
    office_fields=("slug", "name", "kind"),
    referrers="its fundings or the application it joined with",
)
THEMES = Kind(m.Theme)
WORKING_GROUPS = Kind(m.WorkingGroup)


async def create_state_partnership(write: Write, values: Values) -> Any:
    """A new state partnership: the network office's to make (a state partner may then change
    its own), usually by accepting the state's application."""
    write.allow(OFFICE)
    return await STATE_PARTNERSHIPS.create(write, values)


async def end_state_partnership(write: Write, global_id: str, values: Values) -> Any:
    """The state partnership, ended on the day `endsOn` names (today if not given); one that
    has its end already does not end again (its day is changed by an update)."""
    ends_on = checked(m.StatePartnership, {"ends_on": values.get("ends_on", date.today())})
    partnership: m.StatePartnership = await STATE_PARTNERSHIPS.find(write, global_id)
    if partnership.ends_on is not None:
        ended = partnership.ends_on.isoformat()
        message = f"The partnership ends on {ended} already; an update changes the day."
        raise Rejected(invalid_transition(ID, message))
    return await STATE_PARTNERSHIPS.change(write, partnership, ends_on)


async def remove_funder(write: Write, global_id: str) -> str:
    """Remove a funder: the network office's to do (a funder changes, but never removes, its
    own)."""
    write.allow(OFFICE)
    return await FUNDERS.remove(write, global_id)
