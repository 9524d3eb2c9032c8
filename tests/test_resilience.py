"""Graceful operation: the hub outlives a PostgreSQL restart, and says so at /readyz."""

import asyncio
import time

import httpx
import pytest

from hub.embedded import EmbeddedPostgres
from tests.conftest import demo_database, drop_database
from tests.test_cli import environment, free_port, serving

CITY = {"query": '{ city(slug: "dessau-rosslau") { name } }'}
# Introspection is planned by no compiler: this one runs on the resolvers.
CITY_ON_RESOLVERS = {
    "query": '{ city(slug: "dessau-rosslau") { name } __type(name: "City") { name } }'
}
RECOVERY_SECONDS = 30


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
