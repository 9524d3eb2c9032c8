"""Create, update and remove: the writes every kind of entry shares, with its owner rule.

Each write goes the same way: the input is checked without the database (ValidationError),
the entry and the rows it refers to are found (NotFoundError), the viewer must be allowed to
write what belongs to the entry's owner (ForbiddenError), and only then is anything written.
These entries are all in the public read API, so telling "no such ID" from "not yours"
reveals nothing a viewer could not read anyway.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import models as m
from resolvers.access import OFFICE, Owner
from resolvers.mutations.problems import Path, Problem, invalid, refuse_any
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


async def of_state(session: AsyncSession, entry: Any) -> Owner:
    """A state partnership is, for changes, also its state's."""
    return Owner(state_code=entry.state_code)


@dataclass(frozen=True)
class Kind:
    """A kind of entry: its model, whose its entries are, the columns an update cannot change
    (those that decide the owner: an actor does not move to another city's network), the
    rules over several of its fields, and what may still refer to an entry, which keeps it
    from being removed."""

    model: type[m.Base]
    owner: OwnerOf = of_office
    fixed: tuple[str, ...] = ()
    rules: tuple[EntryRule, ...] = (period_problems,)
    referrers: str = "other entries"

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
        entry = await self.find(write, global_id)
        merged = column_values(entry) | changes
        self.keep_rules(merged)
        await write.references(self.model, changes, merged)
        return await write.change(entry, changes)

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
        write.allow(await self.owner(write.session, entry))
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
FUNDERS = Kind(m.Funder, referrers="its fundings or the application it joined with")
THEMES = Kind(m.Theme)
WORKING_GROUPS = Kind(m.WorkingGroup)


async def create_state_partnership(write: Write, values: Values) -> Any:
    """A new state partnership: the network office's to make (a state partner may then change
    its own), usually by accepting the state's application."""
    write.allow(OFFICE)
    return await STATE_PARTNERSHIPS.create(write, values)
