"""Events between server processes: PostgreSQL's NOTIFY, heard by every process.

A write announces what it did with `announce` in its own transaction, so the event goes out
when (and only if) the transaction commits. Each server process keeps one connection that
LISTENs on the hub's channel and hands each event to the subscriptions waiting in it.

The same connection hears what each committed write changed (triggers on every table send its
table, the columns an update changed and the keys of its rows on CHANGES_CHANNEL), for the
response cache (hub/response_cache.py).
"""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.database import SERVER_SETTINGS, asyncpg_dsn

logger = logging.getLogger(__name__)

CHANNEL = "hub_events"
# What the triggers on every table send when a write commits: its table, columns and rows as
# JSON (alembic revision e81f4c2b9a63). The previous release listens to the table names that
# `hub_changes` still carries.
CHANGES_CHANNEL = "hub_row_changes"
# Events a subscription has not taken yet; a subscriber that falls further behind misses some.
QUEUE_SIZE = 100
RECONNECT_SECONDS = 1.0
# Deliveries of events that run at once, in the whole process: one, so that however many
# subscribers an event has, requests wait at most for one delivery's step at a time (an await
# to the next), and for one of the pool's connections.
DELIVERIES_AT_ONCE = 1


@dataclass(frozen=True)
class Event:
    """Something that happened: its kind (e.g. `funding_recorded`) and what identifies it."""

    kind: str
    data: dict[str, Any]


async def announce(session: AsyncSession, kind: str, **data: Any) -> None:
    """Send an event to every server process once the session's transaction commits."""
    payload = json.dumps({"kind": kind, "data": data})
    await session.execute(select(func.pg_notify(CHANNEL, payload)))


class ChangeFollower(Protocol):
    """Who follows the changes of the tables (the response cache)."""

    def changed(self, payload: str) -> None:
        """A committed write sent `payload` on CHANGES_CHANNEL (what it changed)."""
        ...

    def following(self, listening: bool) -> None:
        """Whether changes are heard from now on; a change made while they were not (the
        connection lost) is never heard."""
        ...


class Events:
    """The events this process hears, handed to the subscriptions that wait for them."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._queues: set[asyncio.Queue[Event]] = set()
        self._followers: list[ChangeFollower] = []
        # Whether the listening connection is up (changes are heard).
        self._hearing = False
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Held by a subscription while it reads and sends one event (schema.subscriptions).
        self.deliveries = asyncio.Semaphore(DELIVERIES_AT_ONCE)

    async def start(self) -> None:
        """Listen from now on, reconnecting when the connection is lost."""
        self._task = asyncio.create_task(self._listen_forever())
        await self._listening.wait()

    async def stop(self) -> None:
        """Stop listening."""
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task

    def follow_changes(self, follower: ChangeFollower) -> None:
        """Tell `follower` of every change heard from now on, and whether changes are heard."""
        self._followers.append(follower)
        if self._hearing:
            follower.following(True)

    @asynccontextmanager
    async def subscription(self) -> AsyncIterator[asyncio.Queue[Event]]:
        """A queue receiving every event from now until the block ends."""
        queue: asyncio.Queue[Event] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        try:
            yield queue
        finally:
            self._queues.discard(queue)

    async def _listen_forever(self) -> None:
        """Hold a LISTENing connection; open a new one after a lost one (a server restart)."""
        while True:
            try:
                connection = await asyncpg.connect(
                    asyncpg_dsn(self.url), server_settings=SERVER_SETTINGS
                )
            except (OSError, asyncpg.PostgresError):
                logger.warning("cannot listen for events; retrying", exc_info=True)
                await asyncio.sleep(RECONNECT_SECONDS)
                continue
            try:
                await self._listen_until_lost(connection)
                logger.warning("the event connection was lost; listening again")
            finally:
                self._tell_followers(listening=False)
                with suppress(Exception):
                    await connection.close()

    async def _listen_until_lost(self, connection: asyncpg.Connection) -> None:
        """LISTEN on `connection` until the server closes it."""
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _connection: lost.set())
        await connection.add_listener(CHANNEL, self._receive)
        await connection.add_listener(CHANGES_CHANNEL, self._changed)
        self._listening.set()
        self._tell_followers(listening=True)
        await lost.wait()

    def _tell_followers(self, listening: bool) -> None:
        """Tell the followers of changes whether changes are heard now."""
        self._hearing = listening
        for follower in self._followers:
            follower.following(listening)

    def _changed(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        """Hand one change to its followers."""
        for follower in self._followers:
            follower.changed(payload)

    def _receive(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        """Hand one notification to every subscription."""
        try:
            message = json.loads(payload)
            event = Event(kind=message["kind"], data=message["data"])
        except (ValueError, KeyError, TypeError):
            logger.warning("ignored a malformed event")
            return
        for queue in self._queues:
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                logger.warning("a subscriber fell behind and misses an event")


async def events_of(
    events: "Events", kind: str, wanted: Callable[[dict[str, Any]], bool]
) -> AsyncIterator[dict[str, Any]]:
    """The data of the events of `kind` that pass `wanted`, as they come."""
    async with events.subscription() as queue:
        while True:
            event = await queue.get()
            if event.kind == kind and wanted(event.data):
                yield event.data
