"""The network office's writes: state partnerships, funders, themes and working groups.

A state partner may change and end its own state's partnership, a funder change its own
description, scope, states and themes; everything else here is the office's.
"""

from datetime import date

import strawberry
from strawberry import Maybe

from resolvers.mutations import office
from resolvers.mutations.entries import (
    STATE_PARTNERSHIPS,
    THEMES,
    WORKING_GROUPS,
    create_state_partnership,
    end_state_partnership,
    remove_funder,
)
from schema.enums import FunderKind, FunderScope
from schema.mutations.fields import on_entry, on_input, removing
from schema.mutations.network import SLUG
from schema.types import Funder, StatePartnership, Theme, WorkingGroup, described

# Creating needs the fields the description names; an update changes the fields given.
UPDATE = "an update changes the fields given."


@strawberry.input(
    description=f"A state partnership's fields. Creating one needs `stateCode`, "
    f"`institution` and `startsOn`; {UPDATE}"
)
class StatePartnershipInput:
    state_code: Maybe[str | None] = described("The state's code, e.g. `NW`; never changed.")
    institution: Maybe[str | None] = described("The state's institution, e.g. its chancellery.")
    focus: Maybe[str | None] = described("What the partnership concentrates on.")
    description: Maybe[str | None] = described("More about the partnership.")
    starts_on: Maybe[date | None] = described("When the partnership began.")
    ends_on: Maybe[date | None] = described("When it ended (not before the start), or null.")


@strawberry.input(description="The end of a state partnership.")
class EndStatePartnershipInput:
    ends_on: date | None = strawberry.field(
        default=None, description="Its last day (not before its start); today if not given."
    )


@strawberry.input(
    description=f"A funder's fields. Creating one needs `slug`, `name`, `kind` and `scope`; "
    f"{UPDATE} A funder changes its own, but not its `slug`, `name` and `kind`."
)
class FunderInput:
    slug: Maybe[str | None] = described(SLUG)
    name: Maybe[str | None] = described("The funder's name.")
    short_name: Maybe[str | None] = described("A common short name, e.g. `BMFSFJ`, or null.")
    kind: Maybe[FunderKind | None] = described("What kind of organisation the funder is.")
    scope: Maybe[FunderScope | None] = described("Where the funder acts.")
    description: Maybe[str | None] = described("How the funder supports the network.")
    website: Maybe[str | None] = described("The funder's website (`https://…`), or null.")
    state_codes: Maybe[list[str] | None] = described(
        "The codes of the states a regional funder acts in, e.g. `NW`; replaces those before "
        "(null leaves them)."
    )
    theme_ids: Maybe[list[strawberry.ID] | None] = described(
        "The IDs of the themes the funder supports; replaces those before (null leaves them)."
    )


@strawberry.input(
    description=f"A theme's fields. Creating one needs `slug`, `nameDe` and `nameEn`; {UPDATE}"
)
class ThemeInput:
    slug: Maybe[str | None] = described(SLUG)
    name_de: Maybe[str | None] = described("German name.")
    name_en: Maybe[str | None] = described("English name.")
    description: Maybe[str | None] = described("What the theme covers.")


@strawberry.input(
    description=f"A working group's fields. Creating one needs `slug` and `name`; {UPDATE}"
)
class WorkingGroupInput:
    slug: Maybe[str | None] = described(SLUG)
    name: Maybe[str | None] = described("The group's name.")
    description: Maybe[str | None] = described("What the group works on.")
    theme_id: Maybe[strawberry.ID | None] = described("The ID of the group's theme, or null.")


@strawberry.type(description="The network office's writes.")
class OfficeMutation:
    create_state_partnership = on_input(
        create_state_partnership,
        StatePartnership,
        StatePartnershipInput,
        "Record a state's partnership with the network.",
    )
    update_state_partnership = on_entry(
        STATE_PARTNERSHIPS.update,
        StatePartnership,
        StatePartnershipInput,
        "Change a state partnership (state partners: their own).",
    )
    end_state_partnership = on_entry(
        end_state_partnership,
        StatePartnership,
        EndStatePartnershipInput,
        "End a state partnership that has no end yet (state partners: their own).",
    )
    create_funder = on_input(office.create_funder, Funder, FunderInput, "Add a funder.")
    update_funder = on_entry(
        office.update_funder,
        Funder,
        FunderInput,
        "Change a funder, its states and themes (funders: their own).",
    )
    remove_funder = removing(
        remove_funder, Funder, "Remove a funder that has no fundings recorded."
    )
    create_theme = on_input(THEMES.create, Theme, ThemeInput, "Add a theme.")
    update_theme = on_entry(THEMES.update, Theme, ThemeInput, "Change a theme.")
    remove_theme = removing(
        THEMES.remove, Theme, "Remove a theme; what was about it keeps no theme."
    )
    create_working_group = on_input(
        WORKING_GROUPS.create, WorkingGroup, WorkingGroupInput, "Found a working group."
    )
    update_working_group = on_entry(
        WORKING_GROUPS.update, WorkingGroup, WorkingGroupInput, "Change a working group."
    )
    remove_working_group = removing(
        WORKING_GROUPS.remove, WorkingGroup, "Dissolve a working group."
    )
