"""The database in use: an external one from `DATABASE_URL`, or the embedded PostgreSQL."""

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from hub.config import Settings
from hub.embedded import EmbeddedPostgres

logger = logging.getLogger(__name__)

APPLICATION_NAME = "engagement-hub"


@dataclass
class Database:
    """Where the hub's data lives: the URL, and the embedded server when the hub runs one."""

    url: str
    embedded: EmbeddedPostgres | None = None

    def stop_if_started_here(self) -> None:
        """Stop the embedded server if this process started it and no other hub uses it."""
        if self.embedded is not None and self.embedded.started_here:
            self.embedded.stop()


def open_database(settings: Settings) -> Database:
    """Resolve the database: `DATABASE_URL` when set, otherwise start (or reuse) the embedded one."""
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


def create_engine(url: str, **options: object) -> AsyncEngine:
    """An async engine over asyncpg that names itself to PostgreSQL (see pg_stat_activity)."""
    return create_async_engine(
        url,
        pool_pre_ping=True,
        connect_args={"server_settings": {"application_name": APPLICATION_NAME}},
        **options,
    )


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
