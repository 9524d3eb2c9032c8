"""Writes of cities and their local networks: the network office creates a city and keeps its
membership; the city's coordinator keeps its description and its local network."""

from datetime import date

import strawberry
from strawberry import Maybe

from resolvers.mutations import cities
from resolvers.mutations.cities import CITIES
from schema.enums import CityKind, MembershipStatus
from schema.mutations.fields import on_entry, on_input
from schema.mutations.network import SLUG
from schema.types import City, LocalNetwork, described

OFFICE_ONLY = " Only the network office changes it."


@strawberry.input(
    description="A city's fields. Creating one (the office) needs `slug`, `name`, `kind`, "
    "`stateCode` and `status`; an update changes the fields given. The city's coordinator "
    "changes its population, coordinates, description and website; the rest is the office's."
)
class CityInput:
    slug: Maybe[str | None] = described(SLUG + OFFICE_ONLY)
    name: Maybe[str | None] = described("The official name." + OFFICE_ONLY)
    kind: Maybe[CityKind | None] = described("The kind of municipality." + OFFICE_ONLY)
    state_code: Maybe[str | None] = described("The state's code, e.g. `NW`; never changed.")
    population: Maybe[int | None] = described("The number of inhabitants, or null.")
    latitude: Maybe[float | None] = described("The latitude in degrees (WGS 84), or null.")
    longitude: Maybe[float | None] = described("The longitude in degrees (WGS 84), or null.")
    status: Maybe[MembershipStatus | None] = described(
        "The membership status; `endCityMembership` is how a member leaves." + OFFICE_ONLY
    )
    joined_on: Maybe[date | None] = described("When the city joined, or null." + OFFICE_ONLY)
    left_on: Maybe[date | None] = described(
        "When a former member left (not before it joined), or null." + OFFICE_ONLY
    )
    description: Maybe[str | None] = described("A short description of the city's engagement.")
    website: Maybe[str | None] = described("Its website (`https://…`), or null.")


@strawberry.input(description="A member city leaving the network.")
class EndCityMembershipInput:
    left_on: date | None = strawberry.field(
        default=None, description="The day it left (not before it joined); today if not given."
    )


@strawberry.input(
    description="A local network's fields; an update changes the fields given. Networks come "
    "with their cities."
)
class LocalNetworkInput:
    name: Maybe[str | None] = described("The network's name.")
    description: Maybe[str | None] = described("What the network does.")
    founded_on: Maybe[date | None] = described("When the network was founded, or null.")
    coordinator_id: Maybe[strawberry.ID | None] = described(
        "The actor (its ID, of this network) that coordinates it; the one before becomes a "
        "core member. Null: no actor coordinates."
    )


@strawberry.type(
    description="Writes of cities and local networks (coordinators: their own city's, not its "
    "membership)."
)
class CityMutation:
    create_city = on_input(
        cities.create_city,
        City,
        CityInput,
        "Add a city with its local network (the office).",
    )
    update_city = on_entry(CITIES.update, City, CityInput, "Change a city.")
    end_city_membership = on_entry(
        cities.end_membership,
        City,
        EndCityMembershipInput,
        "A member city leaves the network: it becomes a former member (the office).",
    )
    update_local_network = on_entry(
        cities.update_local_network,
        LocalNetwork,
        LocalNetworkInput,
        "Change a local network, or name the actor that coordinates it.",
    )
