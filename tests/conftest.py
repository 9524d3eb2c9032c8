"""Fixtures: a real PostgreSQL, fresh migrated databases, and tests isolated in transactions.

The server is the embedded one in a temporary data directory, or the server `DATABASE_URL`
names (the tests then create and drop databases of their own on it, never touching the one named).
"""

import asyncio
import os
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from hub import migrations
from hub.config import Settings
from hub.database import asyncpg_dsn, create_engine, to_asyncpg_url
from hub.demo.demo import build_demo
from hub.demo.synthetic import build_synthetic
from hub.embedded import EmbeddedPostgres, find_binaries
from hub.features import detect
from hub.seeding import seed
from server import create_app


@pytest.fixture(scope="session")
def server_url() -> Iterator[str]:
    """The URL of a PostgreSQL server the tests may create databases on."""
    if external := os.environ.get("DATABASE_URL"):
        yield to_asyncpg_url(external)
        return
    # Not pytest's tmp_path: its parent is private to root, and PostgreSQL runs as another user.
    data_dir = Path(tempfile.mkdtemp(prefix="ehub-tests-", dir="/tmp"))
    embedded = EmbeddedPostgres(data_dir, find_binaries(os.environ.get("HUB_PG_BINARIES", "auto")))
    try:
        yield embedded.start()
    finally:
        embedded.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


@pytest.fixture
async def second_server() -> AsyncIterator[EmbeddedPostgres]:
    """A PostgreSQL server of the test's own, started in a temporary directory (its `url`
    names a database on it), stopped and removed afterwards."""
    data_dir = Path(tempfile.mkdtemp(prefix="ehub-second-", dir="/tmp"))
    server = EmbeddedPostgres(data_dir, find_binaries(os.environ.get("HUB_PG_BINARIES", "auto")))
    try:
        await asyncio.to_thread(server.start)
        yield server
    finally:
        await asyncio.to_thread(server.stop)
        shutil.rmtree(data_dir, ignore_errors=True)


async def create_database(server_url: str) -> str:
    """Create an empty database with a unique name on the server; return its URL."""
    name = f"ehub_test_{uuid.uuid4().hex[:12]}"
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        await connection.execute(f'CREATE DATABASE "{name}"')
    finally:
        await connection.close()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False)


async def drop_database(server_url: str, url: str) -> None:
    """Drop the database of `url`, closing whatever connections it still has."""
    connection = await asyncpg.connect(asyncpg_dsn(server_url))
    try:
        name = make_url(url).database
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def fresh_database(server_url: str) -> AsyncIterator[str]:
    """An empty database without any tables, for migration tests."""
    url = await create_database(server_url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture(scope="session")
async def database_url(server_url: str) -> AsyncIterator[str]:
    """A database migrated to head and holding no data."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrations.upgrade, url)
    yield url
    await drop_database(server_url, url)


@pytest.fixture
async def empty_url(server_url: str) -> AsyncIterator[str]:
    """A migrated database of the test's own, without data, for tests that commit."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrations.upgrade, url)
    yield url
    await drop_database(server_url, url)


async def demo_database(server_url: str) -> str:
    """A new database on the server, migrated to head, with the demo data loaded."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrations.upgrade, url)
    await seed(url, build_demo)
    return url


@pytest.fixture(scope="session")
async def demo_database_url(server_url: str) -> AsyncIterator[str]:
    """A database with the demo data, shared by the tests: they must not commit to it."""
    url = await demo_database(server_url)
    yield url
    await drop_database(server_url, url)


async def synthetic_database(server_url: str, cities: int) -> str:
    """A migrated database holding the synthetic data set of `cities` cities."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrations.upgrade, url)
    await seed(url, lambda: build_synthetic(cities))
    return url


@pytest.fixture(scope="session")
async def scaled_database_urls(server_url: str) -> AsyncIterator[dict[str, str]]:
    """Two synthetic databases, 10 and 300 cities, for checks that must not depend on size."""
    urls = {"small": await synthetic_database(server_url, 10)}
    urls["large"] = await synthetic_database(server_url, 300)
    yield urls
    for url in urls.values():
        await drop_database(server_url, url)


@pytest.fixture(scope="session")
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the empty test database."""
    engine = create_engine(database_url)
    yield engine
    await engine.dispose()


@pytest.fixture(scope="session")
async def demo_engine(demo_database_url: str) -> AsyncIterator[AsyncEngine]:
    """An engine on the demo test database."""
    engine = create_engine(demo_database_url)
    yield engine
    await engine.dispose()


async def rolled_back(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection inside a transaction that is rolled back when the test ends."""
    async with engine.connect() as connection:
        transaction = await connection.begin()
        try:
            yield connection
        finally:
            await transaction.rollback()


@pytest.fixture
async def connection(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection to the empty database; everything the test writes is rolled back."""
    async for connection in rolled_back(engine):
        yield connection


@pytest.fixture
async def demo_connection(demo_engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection to the demo database; everything the test writes is rolled back."""
    async for connection in rolled_back(demo_engine):
        yield connection


def sessions_on(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    """Sessions that work inside the test's transaction: their commits become savepoints."""
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
    )


@pytest.fixture
async def db(connection: AsyncConnection) -> AsyncIterator[AsyncSession]:
    """An ORM session on the empty database, rolled back after the test."""
    async with sessions_on(connection)() as session:
        yield session


async def asgi_client(
    connection: AsyncConnection, settings: Settings | None = None
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the real ASGI app, its sessions inside the test's transaction."""
    app = create_app(
        sessions=sessions_on(connection), settings=settings, features=await detect(connection)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture
async def client(connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the empty database."""
    async for client in asgi_client(connection):
        yield client


@pytest.fixture
async def demo_client(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo database."""
    async for client in asgi_client(demo_connection):
        yield client


@pytest.fixture
async def demo_resolver_client(
    demo_connection: AsyncConnection,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo database, answering every query through the resolvers."""
    settings = replace(Settings.from_env(), compiled=False)
    async for client in asgi_client(demo_connection, settings):
        yield client
