"""Subscriptions over graphql-transport-ws: every server process delivers every event."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import websockets
from sqlalchemy import select, text

from hub.database import create_engine, session_factory
from hub.events import announce
from models import Funding
from tests.test_cli import environment, free_port, serving

SUBSCRIPTION = "subscription { fundingRecorded { title amountConfidential amountEur } }"
DELIVERY_SECONDS = 1.0


@asynccontextmanager
async def subscribed(port: int, query: str) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection to the server on `port` with `query` subscribed."""
    url = f"ws://127.0.0.1:{port}/graphql"
    async with websockets.connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        message = {"id": "1", "type": "subscribe", "payload": {"query": query}}
        await socket.send(json.dumps(message))
        yield socket


async def next_payload(socket: Any) -> dict[str, Any] | None:
    """The next `next` message's payload, or None if none comes in time."""
    try:
        message = json.loads(await asyncio.wait_for(socket.recv(), DELIVERY_SECONDS))
    except TimeoutError:
        return None
    assert message["type"] == "next", message
    return message["payload"]


async def record(url: str, funding_id: int, commit: bool = True) -> None:
    """Announce a recorded funding as a write does: in its transaction, sent on commit."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            funding = await session.get_one(Funding, funding_id)
            await announce(session, "funding_recorded", id=funding.id, funder_id=funding.funder_id)
            await (session.commit() if commit else session.rollback())
    finally:
        await engine.dispose()


async def first_delivery(url: str, socket: Any, funding_id: int) -> dict[str, Any]:
    """Announce until the subscription (set up meanwhile) delivers; its first payload."""
    for _attempt in range(10):
        await record(url, funding_id)
        if (payload := await next_payload(socket)) is not None:
            return payload
    pytest.fail("no event was delivered")


@pytest.mark.slow
async def test_every_server_process_delivers_every_event(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url)
    async with engine.connect() as connection:
        first_id, second_id = (
            await connection.scalars(select(Funding.id).order_by(Funding.id).limit(2))
        ).all()
        title = await connection.scalar(
            text("SELECT title FROM fundings WHERE id = :i"), {"i": second_id}
        )
    await engine.dispose()
    env = environment(DATABASE_URL=demo_database_url)
    ports = free_port(), free_port()
    with serving(ports[0], env), serving(ports[1], env):
        async with (
            subscribed(ports[0], SUBSCRIPTION) as one,
            subscribed(ports[1], SUBSCRIPTION) as other,
        ):
            assert (await first_delivery(demo_database_url, one, first_id))["data"]
            assert (await first_delivery(demo_database_url, other, first_id))["data"]
            while await next_payload(one) or await next_payload(other):
                pass  # the announcements made while the subscriptions were being set up

            # A write that rolls back announces nothing; one that commits reaches both.
            await record(demo_database_url, first_id, commit=False)
            await record(demo_database_url, second_id)
            for socket in (one, other):
                payload = await next_payload(socket)
                assert payload is not None
                assert payload["data"]["fundingRecorded"]["title"] == title
