"""The database in use: an external one from `DATABASE_URL`, or the embedded PostgreSQL."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from hub.config import Settings
from hub.embedded import EmbeddedPostgres

APPLICATION_NAME = "engagement-hub"
# The hub's sessions name themselves (see pg_stat_activity) and never JIT-compile: its
# statements are short, and compiling one costs more than it saves.
SERVER_SETTINGS = {"application_name": APPLICATION_NAME, "jit": "off"}


@dataclass
class Database:
    """Where the hub's data lives: the URL, and the embedded server when the hub runs one."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def release(self) -> None:
        """Done with the database: the last hub process out stops the embedded server."""
        if self.embedded is not None:
            self.embedded.release()


def open_database(settings: Settings) -> Database:
    """`DATABASE_URL` when set, otherwise the embedded PostgreSQL, started or reused."""
    if settings.database_url:
        return Database(url=to_asyncpg_url(settings.database_url))
    embedded = EmbeddedPostgres.from_settings(settings)
    return Database(url=embedded.start(), embedded=embedded)


def to_asyncpg_url(url: str) -> str:
    """Accept `postgres://` and `postgresql://` URLs too, as other tools write them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url.removeprefix(prefix)
    return url


def asyncpg_dsn(url: str) -> str:
    """The libpq-style URL of a SQLAlchemy URL, for asyncpg.connect and psql."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def server_settings(statement_timeout_ms: int) -> dict[str, str]:
    """The hub's session settings; a statement running longer than `statement_timeout_ms`
    is cancelled by the server (0: never)."""
    if statement_timeout_ms <= 0:
        return SERVER_SETTINGS
    return SERVER_SETTINGS | {"statement_timeout": f"{statement_timeout_ms}ms"}


def create_engine(
    url: str, pool_size: int = 5, statement_timeout_ms: int = 0, **options: object
) -> AsyncEngine:
    """An async engine over asyncpg that names itself to PostgreSQL (see pg_stat_activity).

    The pool keeps `pool_size` connections and opens no more: connections beyond a pool's
    size would be opened and closed again for single requests under load, and a fixed number
    per process keeps the server's `max_connections` in reach. A request waits for a free one.

    A connection whose server has gone (a PostgreSQL restart closes every one) is replaced
    when the pool hands it out (`replace_closed`), instead of failing the statement of the
    request that got it. SQLAlchemy's `pool_pre_ping` would also find connections whose end
    went unnoticed, at the price of three round trips (asyncpg's ping is BEGIN, an empty
    statement, ROLLBACK) for every request on the resolver path and every write.

    The parameters of a failed statement stay out of its error's message, which the log
    shows with the traceback (`hide_parameters`): they may be personal data.
    """
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=0,
        hide_parameters=True,
        connect_args={"server_settings": server_settings(statement_timeout_ms)},
        **options,
    )
    event.listen(engine.sync_engine, "checkout", replace_closed)
    return engine


def replace_closed(connection: Any, record: Any, proxy: Any) -> None:
    """Have the pool replace a connection asyncpg has seen closed (SQLAlchemy's pool events:
    a DisconnectionError at checkout makes it discard the connection and take another)."""
    if connection.driver_connection.is_closed():
        raise DisconnectionError("the server closed the connection")


async def create_read_pool(url: str, size: int, statement_timeout_ms: int = 0) -> asyncpg.Pool:
    """The pool of the compiled read path: plain asyncpg connections for one SELECT at a time.

    The compiled path runs one statement per request outside any transaction and leaves no
    session state behind (no SET, LISTEN, locks or cursors), so a connection goes back without
    asyncpg's reset round trip. Straight asyncpg costs about half the CPU per read of going
    through SQLAlchemy's engine and pool, which the resolver path and writes keep using.
    """
    return await asyncpg.create_pool(
        asyncpg_dsn(url),
        min_size=0,
        max_size=size,
        server_settings=server_settings(statement_timeout_ms),
        init=text_as_bytes,
        reset=keep_session,
    )


async def text_as_bytes(connection: asyncpg.Connection) -> None:
    """Have the connection hand over text values as the UTF-8 bytes PostgreSQL sends: the
    compiled read path's JSON goes into the response as it is, instead of being decoded
    into a str that the response encodes back (for JSON with non-ASCII letters, about a
    fifth of the hub's CPU time per request on large results)."""
    await connection.set_type_codec(
        "text", schema="pg_catalog", encoder=str.encode, decoder=bytes, format="binary"
    )


async def keep_session(connection: asyncpg.Connection) -> None:
    """Nothing to reset on a connection given back by the compiled read path."""


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded objects usable after commit (no lazy reloads in async code)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def engine_for(url: str) -> AsyncIterator[AsyncEngine]:
    """An engine that is disposed when the block ends."""
    engine = create_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()
