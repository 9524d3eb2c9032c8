"""The bench databases: one per scale, created, loaded and dropped by the run.

They live next to whatever else the server holds, under names of their own
(`ehub_bench_<cities>_<random>`); nothing else on the server is touched.
"""

import asyncio
import secrets
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import asyncpg
from sqlalchemy.engine import make_url

from bench import procfs
from bench.servers import HubSource

# The `engagement-hub` command line of whichever hub code comes first on the path.
HUB_COMMAND = "from hub.cli import main; main()"


def database_url(server_url: str, name: str) -> str:
    """The URL of database `name` on the server of `server_url` (libpq style)."""
    url = make_url(server_url).set(drivername="postgresql", database=name)
    return url.render_as_string(hide_password=False)


async def execute(server_url: str, statement: str) -> None:
    """Run one statement on the server's maintenance database."""
    connection = await asyncpg.connect(database_url(server_url, "postgres"))
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def seed(url: str, cities: int, hub: HubSource) -> None:
    """Migrate and load the synthetic data set through the hub's own command line
    (`engagement-hub seed --synthetic`), run from the hub's code under test."""
    run_hub_command(url, hub, "seeding failed", "seed", "--synthetic", f"--cities={cities}")


def office_key(url: str, hub: HubSource) -> str:
    """A new API key of the network office (role admin) on the database, made with the hub's
    own command line (`engagement-hub keys create`), for the portal run's writes."""
    arguments = ("keys", "create", "--role", "admin", "--name", "benchmark office")
    return run_hub_command(url, hub, "no office key", *arguments).split()[0]


def run_hub_command(url: str, hub: HubSource, failure: str, *arguments: str) -> str:
    """What `engagement-hub <arguments>` of the hub's code under test prints on the database;
    a RuntimeError starting with `failure` if it fails."""
    finished = subprocess.run(
        [sys.executable, "-c", HUB_COMMAND, *arguments],
        cwd=hub.directory,
        env=hub.environment(url),
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode != 0:
        raise RuntimeError(f"{failure}: {(finished.stderr or finished.stdout)[-1000:]}")
    return finished.stdout


async def analyze(url: str) -> None:
    """VACUUM and ANALYZE, so that plans and visibility do not change during the run."""
    connection = await asyncpg.connect(url)
    try:
        await connection.execute("VACUUM (ANALYZE)")
    finally:
        await connection.close()


@contextmanager
def synthetic_database(server_url: str, cities: int, hub: HubSource) -> Iterator[str]:
    """A fresh database holding the synthetic data set of `cities` cities; dropped afterwards."""
    name = f"ehub_bench_{cities}_{secrets.token_hex(3)}"
    asyncio.run(execute(server_url, f'CREATE DATABASE "{name}"'))
    url = database_url(server_url, name)
    try:
        seed(url, cities, hub)
        asyncio.run(analyze(url))
        yield url
    finally:
        asyncio.run(execute(server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def server_facts(url: str) -> tuple[str, int | None]:
    """The server's version, and its postmaster's pid when it runs on this machine."""
    connection = await asyncpg.connect(url)
    try:
        version = await connection.fetchval("SHOW server_version")
        backend = await connection.fetchval("SELECT pg_backend_pid()")
        postmaster = procfs.parent_of(backend)
        local = postmaster is not None and "postgres" in procfs.command_line(backend)
        return str(version), postmaster if local else None
    finally:
        await connection.close()


COUNTED_TABLES = ("cities", "local_networks", "actors", "measures", "fundings", "funders")


async def row_counts(url: str) -> dict[str, int]:
    """How many rows the data set's main tables hold."""
    connection = await asyncpg.connect(url)
    try:
        # Table names from the constant above, not from input.
        return {
            table: await connection.fetchval(f"SELECT count(*) FROM {table}")
            for table in COUNTED_TABLES
        }
    finally:
        await connection.close()
