"""Subscriptions: events as they happen, over graphql-transport-ws, from every server process."""

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError

import models as m
from hub.events import events_of
from resolvers.context import Context, Info
from schema.joining import Application
from schema.types import Funding

FORBIDDEN = {"code": "FORBIDDEN"}


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
        funder_id = None
        if funder is not None:
            found = await info.context.loaders.by_key(m.Funder.slug).load(funder)
            if found is None:
                raise GraphQLError(f"No funder has the slug {funder!r}.")
            funder_id = found.id
        recorded = delivered(
            info.context,
            "funding_recorded",
            m.Funding,
            lambda data: funder_id in (None, data["funder_id"]),
        )
        async for funding in recorded:
            yield funding

    @strawberry.subscription(
        description="Applications as their status changes (submitted, in review, accepted, "
        "rejected, withdrawn). Only the network office may subscribe."
    )
    async def application_status_changed(self, info: Info) -> AsyncGenerator[Application, None]:
        if not info.context.viewer.is_admin:
            raise GraphQLError("Only the network office may subscribe.", extensions=FORBIDDEN)
        async for application in delivered(
            info.context, "application_status_changed", m.Application
        ):
            yield application


async def delivered(
    context: Context,
    kind: str,
    model: Any,
    wanted: Callable[[dict[str, Any]], bool] = lambda _data: True,
) -> AsyncIterator[Any]:
    """The rows of `model` that events of `kind` name (by `id`), read afresh for each event.

    Between events the subscription holds no database connection and no loaded rows.
    """
    if context.events is None:
        raise GraphQLError("This server delivers no events.")
    await context.between_events()
    async for data in events_of(context.events, kind, wanted):
        row = await context.loaders.by_key(model.id).load(data["id"])
        if row is not None:
            yield row
        await context.between_events()
