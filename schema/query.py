"""Root fields for reading the network: lookups, lists and Relay's node interface."""

from typing import Any

import strawberry
from strawberry import relay

import models as m
from resolvers.sources import Lookup, Relation
from schema.fields import connection, lookup, to_list
from schema.filters import (
    ActorFilter,
    CityFilter,
    CityOrder,
    FunderFilter,
    FundingFilter,
    FundingOrder,
    MeasureFilter,
)
from schema.node import lookup_field


def by_slug(model: type, type_name: str, description: str) -> Any:
    """A root field finding one row of `model` by its slug."""
    return lookup(Lookup(model.slug, "slug"), type_name, description, "The slug.")  # type: ignore[attr-defined]


@strawberry.type(description="Lookups and lists of the network's entities.")
class NetworkQuery:
    node: relay.Node | None = lookup_field("Any object, by its global ID.")
    nodes: list[relay.Node | None] = lookup_field(
        "Objects by their global IDs, in the same order (null where none exists)."
    )

    states = to_list(
        Relation(m.State, order_by=(m.State.code,)),
        "State",
        "The 16 German federal states, by code.",
    )
    state_partnerships = to_list(
        Relation(m.StatePartnership, order_by=(m.StatePartnership.starts_on,)),
        "StatePartnership",
        "The states' partnerships with the network (Landespartnerschaften), oldest first.",
    )
    sectors = to_list(
        Relation(m.Sector, order_by=(m.Sector.position,)),
        "Sector",
        "The five sectors of society actors belong to.",
    )
    cities = connection(
        Relation(m.City, order_by=(m.City.name,)),
        "City",
        "The network's cities.",
        CityFilter,
        CityOrder,
    )
    actors = connection(
        Relation(m.Actor, order_by=(m.Actor.name,)),
        "Actor",
        "Actors of all local networks.",
        ActorFilter,
    )
    measures = connection(
        Relation(m.Measure, order_by=(m.Measure.starts_on, m.Measure.title)),
        "Measure",
        "Measures of all local networks.",
        MeasureFilter,
    )
    themes = connection(
        Relation(m.Theme, order_by=(m.Theme.name_de,)), "Theme", "The themes, by German name."
    )
    working_groups = connection(
        Relation(m.WorkingGroup, order_by=(m.WorkingGroup.name,)),
        "WorkingGroup",
        "The nationwide working groups.",
    )
    funders = connection(
        Relation(m.Funder, order_by=(m.Funder.name,)),
        "Funder",
        "The funders of the network.",
        FunderFilter,
    )
    fundings = connection(
        Relation(m.Funding, order_by=(m.Funding.starts_on.desc(),)),
        "Funding",
        "All fundings.",
        FundingFilter,
        FundingOrder,
    )
    city = by_slug(m.City, "City", "One city by its slug, e.g. `koenigswinter`.")
    actor = by_slug(m.Actor, "Actor", "One actor by its slug.")
    measure = by_slug(m.Measure, "Measure", "One measure by its slug.")
    theme = by_slug(m.Theme, "Theme", "One theme by its slug.")
    working_group = by_slug(m.WorkingGroup, "WorkingGroup", "One working group by its slug.")
    funder = by_slug(m.Funder, "Funder", "One funder by its slug.")
    state = lookup(
        Lookup(m.State.code, "code", normalize=str.upper),
        "State",
        "One federal state by its code, e.g. `NW` (any case).",
        "ISO 3166-2:DE code, e.g. `NW`.",
    )
