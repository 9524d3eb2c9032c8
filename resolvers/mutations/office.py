"""Funders beyond their plain fields: the states a funder acts in and the themes it supports.

Both are lists in the funder's input, stored in link tables; each, when given, replaces the
list before (null leaves it), and is audited as a change of the funder of its own
(`state_codes`, `theme_ids`).
"""

from dataclasses import dataclass
from typing import Any

import models as m
from resolvers.access import OFFICE
from resolvers.mutations.entries import FUNDERS
from resolvers.mutations.ids import column_of, table_of
from resolvers.mutations.problems import refuse_any
from resolvers.mutations.validation import Values, column_problems, field_path, keys_of
from resolvers.mutations.write import Write


@dataclass(frozen=True)
class Linked:
    """A list of the funder's input kept in a link table: `field` names it in the input and
    the audit log, `column` the link table's column of what it lists."""

    field: str
    link: type[m.Base]
    column: str

    async def store(self, write: Write, funder: m.Funder, values: list[Any]) -> None:
        """Make `values` (each existing) the funder's list."""
        table, of_funder = table_of(self.link), {"funder_id": funder.id}
        await write.replace_links(funder, table, self.field, self.column, values, of_funder)


STATES = Linked("state_codes", m.FunderState, "state_code")
THEMES = Linked("theme_ids", m.FunderTheme, "theme_id")
Reach = dict[Linked, list[Any]]


def reach_of(values: Values) -> Reach:
    """The states and themes `values` name, taken out of them, checked as far as that needs
    no database."""
    reach: Reach = {}
    if (state_codes := values.pop(STATES.field, None)) is not None:
        reach[STATES] = checked_codes(state_codes)
    if (theme_ids := values.pop(THEMES.field, None)) is not None:
        reach[THEMES] = keys_of(theme_ids, m.Theme, THEMES.field)
    return reach


def checked_codes(state_codes: list[str]) -> list[str]:
    """The codes, each once, once each is the code of a federal state."""
    column, path = column_of(m.FunderState, "state_code"), field_path(STATES.field)
    refuse_any(
        [
            problem
            for index, code in enumerate(state_codes)
            for problem in column_problems(column, code, (*path, str(index)))
        ]
    )
    return list(dict.fromkeys(state_codes))


async def create_funder(write: Write, values: Values) -> m.Funder:
    """A new funder, acting in the states `stateCodes` names and supporting the themes
    `themeIds` names."""
    write.allow(OFFICE)
    reach = reach_of(values)
    funder = await FUNDERS.create(write, values)
    for linked, listed in reach.items():
        await linked.store(write, funder, listed)
    return funder


async def update_funder(write: Write, global_id: str, changes: Values) -> m.Funder:
    """The funder with `changes` made; `stateCodes` and `themeIds`, if given, replace its
    states and themes."""
    reach = reach_of(changes)
    funder = await FUNDERS.update(write, global_id, changes)
    for linked, listed in reach.items():
        await linked.store(write, funder, listed)
    return funder
