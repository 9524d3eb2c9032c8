"""GraphQL types of federal states and cities."""

from datetime import date
from typing import TYPE_CHECKING, Annotated

import strawberry

import models
from resolvers.context import Info
from schema.enums import CityKind, MembershipStatus

if TYPE_CHECKING:
    from schema.network import LocalNetwork

LocalNetworkType = Annotated["LocalNetwork", strawberry.lazy("schema.network")]


@strawberry.type(description="A German federal state (Bundesland).")
class State:
    code: str = strawberry.field(
        description="ISO 3166-2:DE code without the `DE-` prefix, e.g. `NW`."
    )
    iso_code: str = strawberry.field(description="Full ISO 3166-2 code, e.g. `DE-NW`.")
    name: str = strawberry.field(description="German name, e.g. `Nordrhein-Westfalen`.")
    name_en: str = strawberry.field(description="English name, e.g. `North Rhine-Westphalia`.")
    capital: str = strawberry.field(description="The state's capital (Landeshauptstadt).")

    @strawberry.field(description="The network's cities in this state, by name.")
    async def cities(self, root: strawberry.Parent[models.State], info: Info) -> list["City"]:
        return await info.context.loaders.cities_by_state_code.load(root.code)


@strawberry.type(
    description="A city, municipality, district or county of the network (Engagierte Stadt)."
)
class City:
    slug: str = strawberry.field(
        description="Unique URL-safe name: lower-case ASCII, ä→ae, ö→oe, ü→ue, ß→ss."
    )
    name: str = strawberry.field(description="The official name, e.g. `Dessau-Roßlau`.")
    kind: CityKind = strawberry.field(description="Kind of municipality.")
    population: int | None = strawberry.field(description="Number of inhabitants, where known.")
    latitude: float | None = strawberry.field(description="Latitude in degrees (WGS 84).")
    longitude: float | None = strawberry.field(description="Longitude in degrees (WGS 84).")
    status: MembershipStatus = strawberry.field(description="Membership status in the network.")
    joined_on: date | None = strawberry.field(description="When the city joined the network.")
    description: str = strawberry.field(description="A short description of the city's engagement.")

    @strawberry.field(description="The federal state the city lies in.")
    async def state(self, root: strawberry.Parent[models.City], info: Info) -> State:
        return await info.context.loaders.state_by_code.load(root.state_code)

    @strawberry.field(description="The city's local network of actors (lokales Netzwerk).")
    async def local_network(
        self, root: strawberry.Parent[models.City], info: Info
    ) -> LocalNetworkType | None:
        return await info.context.loaders.network_by_city_id.load(root.id)
