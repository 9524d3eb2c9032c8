"""Subscriptions: events as they happen, over graphql-transport-ws, from every server process."""

from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from graphql import GraphQLError

import models as m
from hub.events import events_of
from resolvers.context import Info
from schema.types import Funding


@strawberry.type(description="Events as they happen (graphql-transport-ws over WebSocket).")
class Subscription:
    @strawberry.subscription(
        description="Fundings as they are recorded. What each subscriber sees of them follows "
        "its role, as in queries (confidential amounts stay hidden)."
    )
    async def funding_recorded(
        self,
        info: Info,
        funder: Annotated[
            str | None, strawberry.argument(description="Only this funder's, by its slug.")
        ] = None,
    ) -> AsyncGenerator[Funding, None]:
        context = info.context
        if context.events is None:
            raise GraphQLError("This server delivers no events.")
        funder_id = None
        if funder is not None:
            found = await context.loaders.by_key(m.Funder.slug).load(funder)
            if found is None:
                raise GraphQLError(f"No funder has the slug {funder!r}.")
            funder_id = found.id
        await context.between_events()
        recorded = events_of(
            context.events, "funding_recorded", lambda data: funder_id in (None, data["funder_id"])
        )
        async for data in recorded:
            funding = await context.loaders.by_key(m.Funding.id).load(data["id"])
            if funding is not None:
                yield funding
            await context.between_events()
