"""The realistic portal run: many distinct requests, most of them for a few cities and funders,
while the network office writes 1 for every 100 reads, and every write is checked to show
within STALE_AFTER_MS of its commit (docs/benchmarks.md, "The portal run").

The requests are the shapes every server answers: a city's page (`city`), a funder's portal
(`funder-portal`, a page of 20 fundings) and the list of cities (`cities-100`'s query, a page
of 20). Cities and funders are popular by Zipf's law, in an order drawn once (so that the
popular ones are spread over the data set); wrk sends the same drawn sequence to every server
(bench/mix.lua). The office, a side coroutine of the benchmark, changes the website of a city
drawn by the same popularity: through the hub's `updateCity` with an office key, through
PostGraphile's `updateCityBySlug`, and for the floor, which has no API to write with, by SQL
on the same database. After each write it asks that city's page of the server until the new
website shows.
"""

import asyncio
import base64
import json
import os
import random
import secrets
import subprocess
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import aiohttp
import asyncpg

from bench.load import LoadResult, parse_output, wrk_command
from bench.mix import CITIES, CITY, FUNDER, Query, Variables
from bench.servers import FLOOR, HOST, HUB, POSTGRAPHILE, Server

# Each shape's share of the reads.
CITY_SHARE, FUNDER_SHARE, LIST_SHARE = 0.70, 0.25, 0.05
# Zipf's law with exponent 1: the n-th most popular is asked 1/n as often as the first.
ZIPF_EXPONENT = 1.0
PAGE_SIZE = 20
# The drawn sequence of reads, sent in a loop; the same seed for every server.
SEQUENCE_LENGTH = 100_000
SEED = 22
READS_PER_WRITE = 100
STALE_AFTER_MS = 100.0
# How often the office looks how many reads wrk has sent.
PROGRESS_SECONDS = 0.005
# A write no read shows within this long counts as not seen.
VISIBLE_WITHIN_SECONDS = 5.0
POLL_PAUSE_SECONDS = 0.002
# The office writes at most this many cities at once; beyond it, it waits (and writes less).
WRITES_AT_ONCE = 10

UPDATE_CITY_HUB = """
mutation Website($id: ID!, $website: String!) {
  updateCity(id: $id, input: {website: $website}) { result { website } errors { message } }
}
"""
UPDATE_CITY_POSTGRAPHILE = """
mutation Website($slug: String!, $website: String!) {
  updateCityBySlug(input: {slug: $slug, cityPatch: {website: $website}}) { city { website } }
}
"""
UPDATE_CITY_FLOOR = "UPDATE cities SET website = $2 WHERE slug = $1"

Item = TypeVar("Item")


@dataclass(frozen=True)
class Read:
    """One distinct request of the portal: a query of the mix with its variables."""

    query: Query
    variables: Variables


@dataclass(frozen=True)
class Portal:
    """The portal's distinct reads with their popularity, and its cities by popularity."""

    reads: list[Read]
    weights: list[float]
    cities: list[tuple[int, str]]
    city_weights: list[float]

    def most_popular(self, count: int = 10) -> list[Read]:
        """The `count` reads asked most often."""
        order = sorted(range(len(self.reads)), key=lambda index: -self.weights[index])
        return [self.reads[index] for index in order[:count]]

    def sequence(self) -> list[int]:
        """The reads in the order wrk sends them: drawn by popularity, the same every time."""
        return random.Random(SEED).choices(range(len(self.reads)), self.weights, k=SEQUENCE_LENGTH)


def zipf(count: int) -> list[float]:
    """Popularity by rank: 1, 1/2, 1/3, ... summing to 1."""
    weights = [1 / rank**ZIPF_EXPONENT for rank in range(1, count + 1)]
    total = sum(weights)
    return [weight / total for weight in weights]


def ranked(items: list[Item], salt: str) -> list[Item]:
    """The items in a popularity order drawn once, the same in every run (for the same items
    in the same order)."""
    shuffled = list(items)
    random.Random(f"{SEED} {salt}").shuffle(shuffled)
    return shuffled


async def portal_of(url: str) -> Portal:
    """The portal's reads over the data set of the database at `url`."""
    connection = await asyncpg.connect(url)
    try:
        cities = [
            (row["id"], row["slug"])
            for row in await connection.fetch("SELECT id, slug FROM cities ORDER BY id")
        ]
        funders = [
            row["slug"] for row in await connection.fetch("SELECT slug FROM funders ORDER BY id")
        ]
    finally:
        await connection.close()
    cities, funders = ranked(cities, "cities"), ranked(funders, "funders")
    city_weights, funder_weights = zipf(len(cities)), zipf(len(funders))
    reads = [
        *(Read(CITY, {"slug": slug}) for _, slug in cities),
        *(Read(FUNDER, {"slug": slug, "first": PAGE_SIZE}) for slug in funders),
        Read(CITIES, {"first": PAGE_SIZE}),
    ]
    weights = [
        *(CITY_SHARE * weight for weight in city_weights),
        *(FUNDER_SHARE * weight for weight in funder_weights),
        LIST_SHARE,
    ]
    return Portal(reads, weights, cities, city_weights)


def write_request_files(server: Server, portal: Portal, directory: Path) -> list[str]:
    """The server's requests and their order as files for bench/mix.lua; wrk's arguments."""
    requests = directory / f"{server.port}-requests.tsv"
    order = directory / f"{server.port}-order.txt"
    requests.write_text(
        "".join(
            f"{path_of(server, read.query)}\t{server.body(read.query, read.variables).decode()}\n"
            for read in portal.reads
        )
    )
    order.write_text("".join(f"{index + 1}\n" for index in portal.sequence()))
    return ["portal", str(requests), str(order)]


def path_of(server: Server, query: Query) -> str:
    """The path `query` is asked at on the server."""
    return "/" + server.url(query).split("/", 3)[3]


# --- The office: writes, and the check that reads show them --------------------------------


@dataclass
class Staleness:
    """The office's writes during a run and what the reads showed of them."""

    writes: int = 0
    seen: int = 0
    stale: int = 0
    visible_ms: list[float] = field(default_factory=list)


Write = Callable[[int, str, str], Awaitable[None]]


class Office:
    """Writes a city's website through one server's own API (SQL for the floor) and reads the
    city's page from the server until it shows the new website."""

    def __init__(self, server: Server, client: aiohttp.ClientSession, write: Write) -> None:
        self.server = server
        self.client = client
        self.write = write

    async def website(self, slug: str) -> str | None:
        """The website the city's page shows now."""
        body = self.server.body(CITY, {"slug": slug})
        data = (await posted(self.client, self.server.url(CITY), body, {}))["data"]
        city = data["cityBySlug" if self.server.kind == POSTGRAPHILE else "city"]
        website: str | None = city["website"]
        return website

    async def write_and_check(self, city: tuple[int, str], news: str, found: Staleness) -> None:
        """Change the city's website to one it never had, then read its page until it shows
        it: each read sent more than STALE_AFTER_MS after the commit that does not show it is
        a stale answer."""
        key, slug = city
        website = f"https://{slug}.example.org/news/{news}"
        await self.write(key, slug, website)
        committed = time.perf_counter()
        found.writes += 1
        while True:
            sent = time.perf_counter()
            elapsed_ms = (sent - committed) * 1000
            if await self.website(slug) == website:
                found.seen += 1
                found.visible_ms.append(elapsed_ms)
                return
            if elapsed_ms > STALE_AFTER_MS:
                found.stale += 1
            if elapsed_ms > VISIBLE_WITHIN_SECONDS * 1000:
                return
            await asyncio.sleep(POLL_PAUSE_SECONDS)


def hub_writer(server: Server, client: aiohttp.ClientSession, key: str) -> Write:
    """Writes through the hub's `updateCity`, with the office's API key."""

    async def write(city_id: int, slug: str, website: str) -> None:
        global_id = base64.b64encode(f"City:{city_id}".encode()).decode()
        answer = await post_graphql(
            client,
            server,
            UPDATE_CITY_HUB,
            {"id": global_id, "website": website},
            {"Authorization": f"Bearer {key}"},
        )
        errors = answer.get("errors") or answer["data"]["updateCity"]["errors"]
        if errors:
            raise RuntimeError(f"the hub refused the office's write: {errors}")

    return write


def postgraphile_writer(server: Server, client: aiohttp.ClientSession) -> Write:
    """Writes through PostGraphile's `updateCityBySlug`."""

    async def write(city_id: int, slug: str, website: str) -> None:
        variables = {"slug": slug, "website": website}
        answer = await post_graphql(client, server, UPDATE_CITY_POSTGRAPHILE, variables, {})
        if answer.get("errors"):
            raise RuntimeError(f"PostGraphile refused the office's write: {answer['errors']}")

    return write


def sql_writer(pool: asyncpg.Pool) -> Write:
    """Writes by SQL: the floor has no API to write with."""

    async def write(city_id: int, slug: str, website: str) -> None:
        await pool.execute(UPDATE_CITY_FLOOR, slug, website)

    return write


async def post_graphql(
    client: aiohttp.ClientSession,
    server: Server,
    graphql: str,
    variables: Variables,
    headers: dict[str, str],
) -> Any:
    """POST a GraphQL operation to the server; the answer's JSON."""
    body = json.dumps({"query": graphql, "variables": variables}).encode()
    return await posted(client, f"http://{HOST}:{server.port}/graphql", body, headers)


async def posted(
    client: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]
) -> Any:
    """POST `body` to `url`; the answer's JSON (a failure's status raises)."""
    async with client.post(url, data=body, headers=headers, raise_for_status=True) as response:
        return json.loads(await response.read())


async def office_writes(
    office: Office, portal: Portal, progress: Path, until: asyncio.Event
) -> Staleness:
    """Until `until`, write 1 for every READS_PER_WRITE reads wrk has sent (it counts them in
    `progress`), a city drawn by popularity each time (one not being written already), and
    check each write; what the checks found. Its own CPU is the server's loss on a shared
    machine: it looks at the count with one system call, and at finished writes only."""
    found = Staleness()
    pick = random.Random(SEED)
    run = secrets.token_hex(4)
    tasks: list[asyncio.Task[None]] = []
    writing: dict[str, asyncio.Task[None]] = {}
    with ReadsSent(progress) as reads_sent:
        while not until.is_set():
            await asyncio.sleep(PROGRESS_SECONDS)
            finished = [slug for slug, task in writing.items() if task.done()]
            if any(writing.pop(slug).exception() for slug in finished):
                break
            due = reads_sent.count() // READS_PER_WRITE - len(tasks)
            for _ in range(min(due, WRITES_AT_ONCE - len(writing))):
                city = pick.choices(portal.cities, portal.city_weights)[0]
                if city[1] in writing:
                    continue
                news = f"{run}-{len(tasks) + 1}"
                task = asyncio.create_task(office.write_and_check(city, news, found))
                tasks.append(task)
                writing[city[1]] = task
    # A write that failed fails the run.
    await asyncio.gather(*tasks)
    return found


class ReadsSent:
    """How many reads wrk has sent, as bench/mix.lua counts them in a file: read through one
    descriptor kept open (wrk rewrites the file in place)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.descriptor: int | None = None

    def __enter__(self) -> "ReadsSent":
        return self

    def __exit__(self, *_exception: object) -> None:
        if self.descriptor is not None:
            os.close(self.descriptor)

    def count(self) -> int:
        """The count now (none yet: no file, or one being written)."""
        if self.descriptor is None:
            try:
                self.descriptor = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                return 0
        text = os.pread(self.descriptor, 32, 0)
        return int(text) if text.isdigit() else 0


def warm_up(server: Server, arguments: list[str], connections: int, seconds: float) -> None:
    """wrk's reads without writes for `seconds`: the server's hot code compiled, its caches
    filled."""
    url = f"http://{HOST}:{server.port}/"
    command = wrk_command(url, arguments, connections, seconds)
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    parse_output(finished.stdout, finished.stderr)


async def timed_run(
    office: Office, portal: Portal, arguments: list[str], connections: int, seconds: float
) -> tuple[LoadResult, Staleness]:
    """wrk's reads for `seconds` while the office writes 1 for every READS_PER_WRITE reads."""
    url = f"http://{HOST}:{office.server.port}/"
    with tempfile.TemporaryDirectory() as directory:
        progress = Path(directory) / "reads-sent"
        wrk = await asyncio.create_subprocess_exec(
            *wrk_command(url, [*arguments, str(progress)], connections, seconds),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        done = asyncio.Event()
        writes = asyncio.create_task(office_writes(office, portal, progress, done))
        stdout, stderr = await wrk.communicate()
        done.set()
        found = await writes
    return parse_output(stdout.decode(), stderr.decode()), found


async def run_portal(
    server: Server,
    portal: Portal,
    arguments: list[str],
    connections: int,
    seconds: float,
    database_url: str,
    key: str,
) -> tuple[LoadResult, Staleness]:
    """One timed portal run of `server`, with the office writing through its API."""
    # aiohttp, not httpx: the office's CPU is taken from the server under test, and aiohttp's
    # client costs a fraction of httpx's per request.
    connector = aiohttp.TCPConnector(limit=2 * WRITES_AT_ONCE)
    headers = {"content-type": "application/json"}
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(
        connector=connector, headers=headers, timeout=timeout
    ) as client:
        if server.kind == HUB:
            office = Office(server, client, hub_writer(server, client, key))
            return await timed_run(office, portal, arguments, connections, seconds)
        if server.kind == POSTGRAPHILE:
            office = Office(server, client, postgraphile_writer(server, client))
            return await timed_run(office, portal, arguments, connections, seconds)
        assert server.kind == FLOOR
        async with asyncpg.create_pool(database_url, max_size=WRITES_AT_ONCE) as pool:
            office = Office(server, client, sql_writer(pool))
            return await timed_run(office, portal, arguments, connections, seconds)
