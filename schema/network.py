"""GraphQL types of local networks, their actors and the sectors actors belong to."""

import strawberry

import models
from resolvers.context import Info
from schema.enums import ActorRole
from schema.geography import City


@strawberry.type(
    description="A sector of society (Sektor): civil society, politics and administration, "
    "business, science or media."
)
class Sector:
    code: str = strawberry.field(description="Stable code, e.g. `civil_society`.")
    label_de: str = strawberry.field(description="German label, e.g. `Zivilgesellschaft`.")
    label_en: str = strawberry.field(description="English label, e.g. `Civil society`.")
    description: str = strawberry.field(description="What belongs to this sector.")


@strawberry.type(
    description="The local network of one city (lokales Netzwerk): an alliance of actors from "
    "several sectors."
)
class LocalNetwork:
    name: str = strawberry.field(description="The network's name.")
    description: str = strawberry.field(description="What the network does.")

    @strawberry.field(description="The city this network belongs to.")
    async def city(self, root: strawberry.Parent[models.LocalNetwork], info: Info) -> City:
        return await info.context.loaders.city_by_id.load(root.city_id)

    @strawberry.field(description="The network's actors, by name.")
    async def actors(
        self, root: strawberry.Parent[models.LocalNetwork], info: Info
    ) -> list["Actor"]:
        return await info.context.loaders.actors_by_network_id.load(root.id)


@strawberry.type(description="An organisation in a local network (Akteur), with one sector.")
class Actor:
    slug: str = strawberry.field(description="Unique URL-safe name.")
    name: str = strawberry.field(description="The organisation's name.")
    organisation_type: str = strawberry.field(
        description="What kind of organisation, e.g. `Verein`, `Stiftung`, `Unternehmen`."
    )
    role: ActorRole = strawberry.field(description="The actor's role in its network.")
    description: str = strawberry.field(description="What the actor contributes.")

    @strawberry.field(description="The sector the actor belongs to.")
    async def sector(self, root: strawberry.Parent[models.Actor], info: Info) -> Sector:
        return await info.context.loaders.sector_by_code.load(root.sector_code)

    @strawberry.field(description="The local network the actor is part of.")
    async def local_network(
        self, root: strawberry.Parent[models.Actor], info: Info
    ) -> LocalNetwork:
        return await info.context.loaders.network_by_id.load(root.network_id)
