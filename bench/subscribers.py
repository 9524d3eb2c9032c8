"""Does an event for many subscribers delay other requests? `python -m bench.subscribers`
(docs/benchmarks.md, "Subscribers").

A hub (1 worker, production settings) on a small synthetic data set; SUBSCRIBERS WebSockets each
subscribe to the fundings recorded, with a selection of 50 fundings each; one client asks a
trivial query over and over (a closed loop). Then events are announced as a write announces
them (NOTIFY), one at a time, each once every subscriber received the one before. The figures:
the trivial query's latency while no event is delivered, and while events are delivered, and
how long each event takes to reach every subscriber.
"""

import asyncio
import json
import statistics
import time
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import httpx
import typer
import websockets

from bench.__main__ import DEFAULT_SERVER_URL
from bench.database import synthetic_database
from bench.servers import HOST, HUB, running
from bench.source import hub_source
from hub.events import CHANNEL

SUBSCRIPTION = """subscription { fundingRecorded { title funder { name
  fundings(first: 50) { edges { node { title amountEur } } } } } }"""
TRIVIAL = {"query": "{ states { code } }"}
QUIET_SECONDS = 2.0

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@dataclass
class Figures:
    """The trivial query's latencies (ms) without and with deliveries, and the deliveries'."""

    quiet: list[float]
    delivering: list[float]
    deliveries: list[float]

    def report(self, label: str) -> str:
        """One Markdown table row."""
        return (
            f"| {label} | {percentile(self.quiet, 50):.1f} | {percentile(self.quiet, 99):.1f} "
            f"| {percentile(self.delivering, 50):.1f} | {percentile(self.delivering, 99):.1f} "
            f"| {max(self.delivering):.1f} | {statistics.median(self.deliveries):.0f} |"
        )


def percentile(values: list[float], percent: int) -> float:
    """The `percent` percentile of `values` (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(percent / 100 * (len(ordered) - 1)))]


async def subscriber(port: int) -> Any:
    """A WebSocket subscribed to the fundings recorded, acknowledged."""
    socket = await websockets.connect(
        f"ws://{HOST}:{port}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        max_size=None,
    )
    await socket.send(json.dumps({"type": "connection_init", "payload": {}}))
    assert json.loads(await socket.recv())["type"] == "connection_ack"
    message = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIPTION}}
    await socket.send(json.dumps(message))
    return socket


async def trivial_queries(
    port: int, until: asyncio.Event, latencies: list[tuple[float, float]]
) -> None:
    """Ask the trivial query over and over until `until`: (when it was asked, ms) each."""
    async with httpx.AsyncClient(base_url=f"http://{HOST}:{port}") as client:
        while not until.is_set():
            started = time.perf_counter()
            response = await client.post("/graphql", json=TRIVIAL)
            assert response.status_code == 200, response.text
            latencies.append((started, (time.perf_counter() - started) * 1000))


async def measure(port: int, database_url: str, subscribers: int, events: int) -> Figures:
    """Subscribe, ask the trivial query, announce `events` events one after the other."""
    sockets = [await subscriber(port) for _ in range(subscribers)]
    connection = await asyncpg.connect(database_url)
    funding = await connection.fetchrow("SELECT id, funder_id FROM fundings LIMIT 1")
    payload = json.dumps({"kind": "funding_recorded", "data": dict(funding)})
    await asyncio.sleep(1.0)  # subscriptions start listening a moment after they are sent
    done, latencies = asyncio.Event(), list[tuple[float, float]]()
    asking = asyncio.create_task(trivial_queries(port, done, latencies))
    await asyncio.sleep(QUIET_SECONDS)
    windows, deliveries = list[tuple[float, float]](), list[float]()
    for _ in range(events):
        started = time.perf_counter()
        await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, payload)
        for socket in sockets:
            assert json.loads(await socket.recv())["type"] == "next"
        windows.append((started, time.perf_counter()))
        deliveries.append((time.perf_counter() - started) * 1000)
        await asyncio.sleep(0.2)
    done.set()
    await asking
    await connection.close()
    for socket in sockets:
        await socket.close()
    during = [ms for at, ms in latencies if any(start <= at <= end for start, end in windows)]
    quiet = [ms for at, ms in latencies if at < windows[0][0]]
    return Figures(quiet, during, deliveries)


@app.command()
def main(
    subscribers: Annotated[int, typer.Option(help="WebSockets subscribed.")] = 100,
    events: Annotated[int, typer.Option(help="Events announced, one after the other.")] = 3,
    cities: Annotated[int, typer.Option(help="Cities of the data set.")] = 100,
    hub_commit: Annotated[
        str | None, typer.Option(help="Time the hub of this commit, not the work tree.")
    ] = None,
    server_url: Annotated[
        str, typer.Option(envvar="BENCH_SERVER_URL", help="PostgreSQL server for the database.")
    ] = DEFAULT_SERVER_URL,
) -> None:
    """Print the trivial query's latency with SUBSCRIBERS subscribers receiving events."""
    # One client holds all the WebSockets here: lift the limit on connections per client.
    settings = {"HUB_MAX_CONNECTIONS_PER_CLIENT": str(subscribers)}
    with (
        hub_source(hub_commit, settings) as hub,
        synthetic_database(server_url, cities, hub) as url,
        running(HUB, url, hub=hub) as server,
    ):
        figures = asyncio.run(measure(server.port, url, subscribers, events))
    print(
        "| hub | p50 quiet | p99 quiet | p50 delivering | p99 delivering | max delivering "
        "| event to all |"
    )
    print("|---|---|---|---|---|---|---|")
    print(figures.report(hub.commit + (" (work tree)" if hub_commit is None else "")))


if __name__ == "__main__":
    app()
