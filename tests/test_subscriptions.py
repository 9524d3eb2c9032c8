"""Subscriptions over graphql-transport-ws: writes on one server process reach the
subscribers of every process, each seeing what its role may see."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import select

import models
from hub.database import create_engine, session_factory
from tests.conftest import demo_database, drop_database
from tests.factories import add_key
from tests.test_cli import environment, free_port, serving
from tests.writes import gid, mutate

FUNDINGS = "subscription { fundingRecorded { title amountEur } }"
APPLICATIONS = "subscription { applicationStatusChanged { organisationName status } }"
DELIVERY_SECONDS = 1.0


@pytest.fixture
async def events_database(server_url: str) -> AsyncIterator[str]:
    """A database of the demo data for this test alone: its writes are committed."""
    url = await demo_database(server_url)
    yield url
    await drop_database(server_url, url)


@asynccontextmanager
async def subscribed(port: int, query: str, key: str | None = None) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection to the server on `port` with `query` subscribed."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers=headers,
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init"}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        message = {"id": "1", "type": "subscribe", "payload": {"query": query}}
        await socket.send(json.dumps(message))
        yield socket


async def received(socket: Any) -> dict[str, Any] | None:
    """The next message, or None if none comes in time."""
    try:
        return json.loads(await asyncio.wait_for(socket.recv(), DELIVERY_SECONDS))
    except TimeoutError:
        return None


async def drain(*sockets: Any) -> None:
    """Take every message waiting on the sockets."""
    for socket in sockets:
        while await received(socket) is not None:
            pass


async def admin_key_and_recipient(url: str) -> tuple[str, dict[str, Any]]:
    """An admin key, committed, and a funding input for some funder and local network."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            key = await add_key(session, models.Role.ADMIN)
            await session.commit()
            funder = await session.scalar(select(models.Funder).limit(1))
            network = await session.scalar(select(models.LocalNetwork).limit(1))
    finally:
        await engine.dispose()
    funding = {
        "funderId": gid(funder),
        "recipientId": gid(network),
        "contributionType": "FINANCIAL",
        "amountEur": "5000.00",
        "startsOn": "2025-01-01",
    }
    return key, funding


@pytest.mark.slow
async def test_writes_on_one_process_reach_subscribers_of_every_process(
    events_database: str,
) -> None:
    admin, funding = await admin_key_and_recipient(events_database)
    env = environment(DATABASE_URL=events_database)
    ports = free_port(), free_port()
    with serving(ports[0], env), serving(ports[1], env):
        writer = httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}")
        async with (
            writer,
            subscribed(ports[0], FUNDINGS) as here,
            subscribed(ports[1], FUNDINGS) as there,
            subscribed(ports[0], APPLICATIONS, admin) as office,
            subscribed(ports[0], APPLICATIONS) as public,
        ):
            # The public may not follow applications: an error, and no data.
            refusal = await received(public)
            assert refusal is not None and refusal["payload"]["data"] is None
            [error] = refusal["payload"]["errors"]
            assert error["extensions"] == {"code": "FORBIDDEN"}

            # Subscriptions start listening a moment after they are sent: record until the
            # first funding arrives, then start from a quiet line.
            for attempt in range(10):
                input_ = funding | {"title": f"Anlauf {attempt}"}
                await mutate(writer, "recordFunding", {"input": input_}, admin)
                if await received(here) is not None:
                    break
            await drain(here, there)

            # A rejected write announces nothing; a committed one reaches every process.
            rejected = funding | {"title": "Abgelehnt", "amountEur": "-1"}
            assert (await mutate(writer, "recordFunding", {"input": rejected}, admin))["errors"]
            await mutate(writer, "recordFunding", {"input": funding | {"title": "Neu"}}, admin)
            for socket in (here, there):
                message = await received(socket)
                assert message is not None, "no event delivered"
                assert message["payload"]["data"]["fundingRecorded"] == {
                    "title": "Neu",
                    "amountEur": "5000.00",
                }

            application = {
                "kind": "PARTNER",
                "organisationName": "Stiftung Neu",
                "contact": {"fullName": "Erika Muster", "email": "erika@example.org"},
            }
            await mutate(writer, "submitApplication", {"input": application}, selection="")
            message = await received(office)
            assert message is not None, "no application event delivered"
            assert message["payload"]["data"]["applicationStatusChanged"] == {
                "organisationName": "Stiftung Neu",
                "status": "SUBMITTED",
            }
