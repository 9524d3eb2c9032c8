"""Graceful operation: the hub outlives a PostgreSQL restart (and says so at /readyz), and
shuts down without cutting requests short."""

import asyncio
import signal
import time

import asyncpg
import httpx
import pytest
import websockets

from hub.database import asyncpg_dsn
from hub.embedded import EmbeddedPostgres
from tests.conftest import demo_database, drop_database
from tests.test_cli import environment, free_port, serving
from tests.test_subscriptions import application, subscribed
from tests.writes import mutate

CITY = {"query": '{ city(slug: "dessau-rosslau") { name } }'}
# Introspection is planned by no compiler: this one runs on the resolvers.
CITY_ON_RESOLVERS = {
    "query": '{ city(slug: "dessau-rosslau") { name } __type(name: "City") { name } }'
}
RECOVERY_SECONDS = 30
# The WebSocket close code of a server going away to come back (RFC 6455's registry).
SERVICE_RESTART = 1012


async def ready(client: httpx.AsyncClient) -> int:
    """The status /readyz answers."""
    return (await client.get("/readyz")).status_code


@pytest.mark.slow
async def test_the_hub_reconnects_after_a_postgresql_restart(
    second_server: EmbeddedPostgres,
) -> None:
    url = await demo_database(second_server.url)
    port = free_port()
    try:
        with serving(port, environment(DATABASE_URL=url)):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                for query in (CITY, CITY_ON_RESOLVERS):
                    assert (await client.post("/graphql", json=query)).json()["data"]

                await asyncio.to_thread(second_server.stop)
                assert await ready(client) == 503
                down = await client.post("/graphql", json=CITY)
                assert down.json()["errors"][0]["message"] == "Unexpected error."

                await asyncio.to_thread(second_server.start)
                deadline = time.monotonic() + RECOVERY_SECONDS
                while await ready(client) != 200:
                    assert time.monotonic() < deadline, "/readyz stayed unavailable"
                    await asyncio.sleep(0.2)
                for query in (CITY, CITY_ON_RESOLVERS):
                    body = (await client.post("/graphql", json=query)).json()
                    assert body["data"]["city"] == {"name": "Dessau-Roßlau"}, body
    finally:
        await drop_database(second_server.url, url)


@pytest.mark.slow
async def test_the_first_resolver_requests_after_a_postgresql_restart_succeed(
    second_server: EmbeddedPostgres,
) -> None:
    """The SQLAlchemy pool (resolvers, writes) finds its connections closed by the restart
    before it hands them out, not by failing a request's statement."""
    url = await demo_database(second_server.url)
    port = free_port()
    try:
        with serving(port, environment(DATABASE_URL=url, HUB_COMPILED="0")):
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
                # Several connections in the pool, all of which the restart will close.
                answers = await asyncio.gather(
                    *(client.post("/graphql", json=CITY) for _ in range(5))
                )
                assert all(answer.json()["data"] for answer in answers)

                # Nothing asks the hub while PostgreSQL is down (that would find the closed
                # connections the failing way); `start` returns once it accepts connections.
                await asyncio.to_thread(second_server.stop)
                await asyncio.to_thread(second_server.start)

                first = (await client.post("/graphql", json=CITY)).json()
                assert first["data"] == {"city": {"name": "Dessau-Roßlau"}}, first
                assert "errors" not in first
                applied = {"input": application("Stiftung nach dem Neustart")}
                written, *read = await asyncio.gather(
                    mutate(client, "submitApplication", applied, selection=""),
                    *(client.post("/graphql", json=CITY) for _ in range(4)),
                )
                assert written == {"errors": []}
                assert [answer.json()["data"] for answer in read] == [first["data"]] * 4
    finally:
        await drop_database(second_server.url, url)


@pytest.mark.slow
async def test_shutdown_finishes_requests_in_flight_and_closes_subscriptions(
    demo_database_url: str,
) -> None:
    port = free_port()
    with serving(port, environment(DATABASE_URL=demo_database_url)) as process:
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client,
            subscribed(port, "subscription { fundingRecorded { title } }") as subscription,
        ):
            # A lock keeps the request's statement waiting: it is in flight when the signal comes.
            blocker = await asyncpg.connect(asyncpg_dsn(demo_database_url))
            transaction = blocker.transaction()
            await transaction.start()
            await blocker.execute("LOCK TABLE cities IN ACCESS EXCLUSIVE MODE")
            in_flight = asyncio.create_task(client.post("/graphql", json=CITY))
            await asyncio.sleep(0.5)
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.5)
            await transaction.rollback()
            await blocker.close()
            answer = await in_flight
            assert answer.json()["data"]["city"] == {"name": "Dessau-Roßlau"}
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(subscription.recv(), RECOVERY_SECONDS)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == SERVICE_RESTART
        process.wait(timeout=RECOVERY_SECONDS)
        output = process.stdout.read() if process.stdout else ""
    assert "Application shutdown complete" in output
