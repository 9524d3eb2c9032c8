"""Root fields for reading the network: lookups, lists and Relay's node interface."""

from typing import Annotated

import strawberry
from strawberry import relay

import models as m
from resolvers.context import Info
from resolvers.sources import Relation
from schema.fields import by_key, connection, to_list
from schema.filters import (
    ActorFilter,
    CityFilter,
    CityOrder,
    FunderFilter,
    FundingFilter,
    FundingOrder,
    MeasureFilter,
)
from schema.types import State


@strawberry.type(description="Lookups and lists of the network's entities.")
class NetworkQuery:
    node: relay.Node | None = relay.node(description="Any object, by its global ID.")
    nodes: list[relay.Node | None] = relay.node(
        description="Objects by their global IDs, in the same order (null where none exists)."
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
    city = by_key(m.City.slug, "City", "One city by its slug, e.g. `koenigswinter`.", "The slug.")
    actor = by_key(m.Actor.slug, "Actor", "One actor by its slug.", "The slug.")
    measure = by_key(m.Measure.slug, "Measure", "One measure by its slug.", "The slug.")
    theme = by_key(m.Theme.slug, "Theme", "One theme by its slug.", "The slug.")
    working_group = by_key(
        m.WorkingGroup.slug, "WorkingGroup", "One working group by its slug.", "The slug."
    )
    funder = by_key(m.Funder.slug, "Funder", "One funder by its slug.", "The slug.")

    @strawberry.field(description="One federal state by its code, e.g. `NW` (any case).")
    async def state(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="ISO 3166-2:DE code, e.g. `NW`.")],
    ) -> State | None:
        return await info.context.loaders.by_key(m.State.code).load(code.upper())
