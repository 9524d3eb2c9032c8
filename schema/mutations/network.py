"""Writes of local networks: actors, goals and measures, partner cities and working groups.

A coordinator writes those of its own city's network, the network office those of any.
"""

from datetime import date

import strawberry
from strawberry import Maybe

from resolvers.mutations import network
from resolvers.mutations.entries import ACTORS, GOALS
from schema.enums import ActorRole, SectorCode
from schema.mutations.fields import on_entry, on_input, removing
from schema.types import Actor, City, Goal, Measure, described

SLUG = "Unique URL-safe name: lower-case letters and digits in words joined by hyphens."
NETWORK = "The local network it belongs to (its ID); given on creation, never changed."
THEME = "The ID of its theme, or null."


@strawberry.input(
    description="An actor's fields. Creating one needs `networkId`, `slug`, `name`, "
    "`organisationType`, `sectorCode` and `role`; an update changes the fields given."
)
class ActorInput:
    network_id: Maybe[strawberry.ID | None] = described(NETWORK)
    slug: Maybe[str | None] = described(SLUG)
    name: Maybe[str | None] = described("The organisation's name.")
    organisation_type: Maybe[str | None] = described("What kind of organisation, e.g. `Verein`.")
    sector_code: Maybe[SectorCode | None] = described("The sector the actor belongs to.")
    role: Maybe[ActorRole | None] = described("Its role; a network has at most one coordinator.")
    description: Maybe[str | None] = described("What the actor contributes.")
    website: Maybe[str | None] = described("Its website (`https://…`), or null.")


@strawberry.input(
    description="A goal's fields. Creating one needs `networkId` and `title`; an update "
    "changes the fields given."
)
class GoalInput:
    network_id: Maybe[strawberry.ID | None] = described(NETWORK)
    title: Maybe[str | None] = described("The goal in a few words.")
    description: Maybe[str | None] = described("What the goal means.")
    theme_id: Maybe[strawberry.ID | None] = described(THEME)


@strawberry.input(
    description="A measure's fields. Creating one needs `networkId`, `slug`, `title` and "
    "`startsOn`; an update changes the fields given."
)
class MeasureInput:
    network_id: Maybe[strawberry.ID | None] = described(NETWORK)
    slug: Maybe[str | None] = described(SLUG)
    title: Maybe[str | None] = described("The measure's title.")
    description: Maybe[str | None] = described("What the measure does.")
    starts_on: Maybe[date | None] = described("When it starts.")
    ends_on: Maybe[date | None] = described("When it ends (not before the start), or null.")
    goal_id: Maybe[strawberry.ID | None] = described("The ID of the goal it serves, or null.")
    theme_id: Maybe[strawberry.ID | None] = described(THEME)
    actor_ids: Maybe[list[strawberry.ID] | None] = described(
        "The IDs of the actors carrying it, all of its network; replaces those before (null "
        "leaves them)."
    )


@strawberry.input(description="Two cities exchanging as partners.")
class PartnerCityInput:
    city_id: strawberry.ID = described("Your city (its ID), which names the partner.")
    partner_city_id: strawberry.ID = described("The partner city (its ID).")
    since: date | None = strawberry.field(
        default=None, description="Since when they are partners, if known."
    )
    description: str = strawberry.field(default="", description="What they exchange about.")


@strawberry.input(description="Two cities that are partners no longer.")
class EndPartnershipInput:
    city_id: strawberry.ID = described("Your city (its ID).")
    partner_city_id: strawberry.ID = described("The partner city (its ID).")


@strawberry.input(description="A city taking part in a working group.")
class WorkingGroupMembershipInput:
    city_id: strawberry.ID = described("Your city (its ID).")
    working_group_id: strawberry.ID = described("The working group (its ID).")
    joined_on: date | None = strawberry.field(
        default=None, description="When the city joined, if known (when joining)."
    )


@strawberry.type(description="Writes of local networks (coordinators: their own city's).")
class NetworkMutation:
    create_actor = on_input(ACTORS.create, Actor, ActorInput, "Add an actor to a network.")
    update_actor = on_entry(ACTORS.update, Actor, ActorInput, "Change an actor.")
    remove_actor = removing(ACTORS.remove, Actor, "Remove an actor from its network.")
    create_goal = on_input(GOALS.create, Goal, GoalInput, "Set a goal of a network.")
    update_goal = on_entry(GOALS.update, Goal, GoalInput, "Change a goal.")
    remove_goal = removing(GOALS.remove, Goal, "Remove a goal (its measures stay).")
    create_measure = on_input(
        network.create_measure, Measure, MeasureInput, "Add a measure to a network."
    )
    update_measure = on_entry(network.update_measure, Measure, MeasureInput, "Change a measure.")
    remove_measure = removing(
        network.remove_measure, Measure, "Remove a measure that no funding goes to."
    )

    add_partner_city = on_input(
        network.add_partner_city, City, PartnerCityInput, "Name a partner city of your city."
    )
    remove_partner_city = on_input(
        network.remove_partner_city,
        City,
        EndPartnershipInput,
        "End a partnership of your city with another city.",
    )
    join_working_group = on_input(
        network.join_working_group,
        City,
        WorkingGroupMembershipInput,
        "Let your city take part in a working group.",
    )
    leave_working_group = on_input(
        network.leave_working_group,
        City,
        WorkingGroupMembershipInput,
        "End your city's part in a working group.",
    )
