"""Subscriptions: events as they happen, over graphql-transport-ws, from every server process."""

from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from starlette.authentication import AuthenticationError

import models as m
from hub.auth import refusal_code
from hub.events import events_of
from resolvers.access import Viewer
from resolvers.context import Context, Info
from schema.joining import Application
from schema.limits import charge_or_refuse, cost_of_operation
from schema.types import Funding, LocalNetwork

FORBIDDEN = {"code": "FORBIDDEN"}


FUNDER = strawberry.argument(description="Only this funder's, by its slug.")


@strawberry.type(description="Events as they happen (graphql-transport-ws over WebSocket).")
class Subscription:
    @strawberry.subscription(
        description="Fundings as they are recorded. What each subscriber sees of them follows "
        "its role, as in queries (confidential amounts stay hidden)."
    )
    async def funding_recorded(
        self, info: Info, funder: Annotated[str | None, FUNDER] = None
    ) -> AsyncGenerator[Funding, None]:
        async for funding in fundings(info, "funding_recorded", funder):
            yield funding

    @strawberry.subscription(
        description="Fundings as they end (`endFunding`). What each subscriber sees of them "
        "follows its role, as in queries (confidential amounts stay hidden)."
    )
    async def funding_ended(
        self, info: Info, funder: Annotated[str | None, FUNDER] = None
    ) -> AsyncGenerator[Funding, None]:
        async for funding in fundings(info, "funding_ended", funder):
            yield funding

    @strawberry.subscription(
        description="Local networks as they change: the network itself, its coordinator, "
        "actors, goals and measures. What each subscriber sees of them follows its role, as in "
        "queries (contact persons only where it may see them)."
    )
    async def local_network_changed(
        self,
        info: Info,
        city: Annotated[
            str | None, strawberry.argument(description="Only this city's, by its slug.")
        ] = None,
    ) -> AsyncGenerator[LocalNetwork, None]:
        network_id = None
        if city is not None:
            found = await info.context.loaders.by_key(m.City.slug).load(city)
            if found is None:
                raise GraphQLError(f"No city has the slug {city!r}.")
            network = await info.context.loaders.by_key(m.LocalNetwork.city_id).load(found.id)
            network_id = network.id if network is not None else None
        changed = delivered(
            info,
            "local_network_changed",
            m.LocalNetwork,
            lambda data: city is None or data["id"] == network_id,
        )
        async for network in changed:
            yield network

    @strawberry.subscription(
        description="Applications as their status changes (submitted, in review, accepted, "
        "rejected, withdrawn). Only the network office may subscribe."
    )
    async def application_status_changed(self, info: Info) -> AsyncGenerator[Application, None]:
        only_the_office(info.context.viewer)
        async for application in delivered(
            info, "application_status_changed", m.Application, check=only_the_office
        ):
            yield application


async def fundings(info: Info, kind: str, funder: str | None) -> AsyncIterator[Any]:
    """The fundings events of `kind` name, of the funder of the slug `funder` (or any)."""
    funder_id = None
    if funder is not None:
        found = await info.context.loaders.by_key(m.Funder.slug).load(funder)
        if found is None:
            raise GraphQLError(f"No funder has the slug {funder!r}.")
        funder_id = found.id
    async for funding in delivered(
        info, kind, m.Funding, lambda data: funder_id in (None, data["funder_id"])
    ):
        yield funding


ONLY_THE_OFFICE = "Only the network office may subscribe."


def only_the_office(viewer: Viewer) -> None:
    """Refuse a subscriber that is not the network office."""
    if not viewer.is_admin:
        raise GraphQLError(ONLY_THE_OFFICE, extensions=FORBIDDEN)


def anyone(viewer: Viewer) -> None:
    """Refuse no subscriber."""


async def delivered(
    info: Info,
    kind: str,
    model: Any,
    wanted: Callable[[dict[str, Any]], bool] = lambda _data: True,
    check: Callable[[Viewer], None] = anyone,
) -> AsyncIterator[Any]:
    """The rows of `model` that events of `kind` name (by `id`), read afresh for each event,
    for as long as the subscriber's credential holds, `check` does not refuse its viewer and
    its rate budget pays for each event what the subscription's selection costs.

    One event is delivered at a time in the process (`Events.deliveries`): the slot is held
    from reading the row until the subscriber's answer is sent, which happens while this
    generator waits at its `yield`. Between events the subscription holds no database
    connection and no loaded rows.
    """
    context = info.context
    if context.events is None:
        raise GraphQLError("This server delivers no events.")
    # graphql-core's info: the operation, its fragments and its coerced variables.
    cost = cost_of_operation(info._raw_info)
    await context.between_events()
    async for data in events_of(context.events, kind, wanted):
        async with context.events.deliveries:
            await check_viewer_again(context, check)
            await charge_or_refuse(context.request, context.viewer, cost)
            row = await context.loaders.by_key(model.id).load(data["id"])
            if row is not None:
                yield row
            await context.between_events()


async def check_viewer_again(context: Context, check: Callable[[Viewer], None]) -> None:
    """Resolve the subscriber's credential again before an event: one revoked or expired
    since the subscription began ends it, and a changed role or scope applies from this
    event on. The credentials' cache answers for HUB_AUTH_CACHE_SECONDS, as for requests."""
    if context.authorization is None or context.request is None:
        return
    state = context.request.app.state
    try:
        context.viewer = await state.authentication.viewer_of(state.sessions, context.authorization)
    except AuthenticationError as error:
        raise GraphQLError(str(error), extensions={"code": refusal_code(error)}) from None
    check(context.viewer)
