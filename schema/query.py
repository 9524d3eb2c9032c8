"""The root Query type."""

from collections.abc import Sequence
from typing import Annotated

import strawberry

import models
from resolvers import geography
from resolvers.context import Info
from schema.geography import City, State

MAX_CITIES = 500


@strawberry.type(description="Read access to the Engagierte Stadt network.")
class Query:
    @strawberry.field(
        description="The 16 German federal states, by code.", graphql_type=list[State]
    )
    async def states(self, info: Info) -> Sequence[models.State]:
        return await geography.list_states(info)

    @strawberry.field(
        description="One federal state by its code, e.g. `NW`.", graphql_type=State | None
    )
    async def state(
        self,
        info: Info,
        code: Annotated[str, strawberry.argument(description="ISO 3166-2:DE code, e.g. `NW`.")],
    ) -> models.State | None:
        return await geography.find_state(info, code)

    @strawberry.field(
        description=f"Cities of the network by name (at most {MAX_CITIES}).",
        graphql_type=list[City],
    )
    async def cities(
        self,
        info: Info,
        state: Annotated[
            str | None, strawberry.argument(description="Only cities in this state, e.g. `NW`.")
        ] = None,
    ) -> Sequence[models.City]:
        return await geography.list_cities(info, state, MAX_CITIES)

    @strawberry.field(
        description="One city by its slug, e.g. `koenigswinter`.", graphql_type=City | None
    )
    async def city(
        self,
        info: Info,
        slug: Annotated[str, strawberry.argument(description="The city's slug.")],
    ) -> models.City | None:
        return await geography.find_city(info, slug)
