"""The response cache: answers to queries, kept until a write changes what they read.

An answer is kept by what decides it: the query's text, the operation, the variables, the
viewer's role and scope (what it may see, `Viewer.access`), and what the process serves
(the schema, the page limit, the database's features). No viewer is given an answer another
role or scope received. Only answers of queries without errors are kept.

Each answer knows what its plan reads (`Plan.reads`: the columns of each table, and for a
table read only at root lookups' rows, their keys; an answer of the resolver path reads
anything), as names it depends on (`dependencies`). Triggers on every table send, when a write
commits, whatever wrote it, the table, the columns an update changed and the keys of the rows
written (alembic revision e81f4c2b9a63); every process hears them (hub.events) and drops the
answers that depend on a name they change (`announced`).

A change sequence closes the race with answers being computed meanwhile: each change takes the
next number, and writes it in the slots of the names it changes (a name's slot is a hash of
it, out of SLOTS: the names are unbounded, the slots not). An answer is kept with the number
seen before it was computed, and is valid while none of its names' slots changed after it
(names that share a slot can only drop an answer needlessly, never keep a stale one). The
process that wrote waits, before its mutation answers, until it heard its own write: its
client then reads what it wrote. A process that does not hear the changes (its listening
connection lost) neither keeps nor serves answers. Requests for an answer the process is
computing since the last change it heard wait for it (`lookup`, `settle`).

In the process (least recently used first out, bounded by bytes), or with HUB_REDIS_URL in
Redis, shared by every process: the sequence and the slots live there too, and one script
checks them; each process keeps copies of the answers it was given by Redis, in front of it
(`TieredStore`), and drops them as it drops its own.

Hand-written: strawberry has no response cache, and the caches of the gateways (Apollo
Router's, Hive's `useResponseCache`) invalidate by types or by time; the hub knows which
columns and rows each answer read and hears every write to them.
"""

import asyncio
import hashlib
import logging
import struct
import time
import zlib
from collections import OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from typing import Any, Protocol
from uuid import uuid4

import orjson
import redis.asyncio as redis
from prometheus_client import Counter, Gauge
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from hub.config import Settings
from hub.events import CHANGES_CHANNEL
from hub.features import Features
from hub.observability import REGISTRY
from resolvers.plans import Reads

logger = logging.getLogger(__name__)

# Names beyond the tables' columns: every answer depends on EPOCH, which changes when this
# process may have missed changes; an answer whose reads are unknown depends on ANY, which
# every change changes.
EPOCH = "#epoch"
ANY = "#any"
# The pseudo-column every reader of a table reads: which rows exist (a count, a list).
ROW = "#row"
# The key of the rows of a change that names none (a truncation, a large write): any row.
ANY_ROW = "?"
# The slots of the names' last changes (zlib.crc32 of the name, modulo SLOTS).
SLOTS = 65536
# The token a write sends on CHANGES_CHANNEL after its changes, to learn when all are heard.
COMMIT = "#commit "
# How long a mutation waits to hear its own write; then the process forgets every answer.
HEAR_OWN_WRITE_SECONDS = 2.0
# How long after a failure of the store (Redis down) the cache tries to start afresh.
STORE_RETRY_SECONDS = 1.0
# Redis keeps an answer this long without a maximum age: it is the least it forgets them by.
REDIS_TTL_SECONDS = 24 * 3600

HITS = Counter("hub_response_cache_hits", "Queries answered from the cache.", registry=REGISTRY)
MISSES = Counter(
    "hub_response_cache_misses", "Cacheable queries the cache did not hold.", registry=REGISTRY
)
EVICTIONS = Counter(
    "hub_response_cache_evictions",
    "Answers dropped for room (least recently used first) or for their age.",
    registry=REGISTRY,
)
COALESCED = Counter(
    "hub_response_cache_coalesced",
    "Cacheable queries answered by the computation of the same answer under way in the process.",
    registry=REGISTRY,
)
INVALIDATIONS = Counter(
    "hub_response_cache_invalidations",
    "Answers dropped because a write changed a table they read.",
    registry=REGISTRY,
)
BYTES_HELD = Gauge(
    "hub_response_cache_bytes",
    "Bytes of answers the in-process cache holds.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)


@dataclass(frozen=True)
class Answer:
    """A kept answer: its data as JSON, its extensions but the debug figures, and the name the
    document gives its operation."""

    data: bytes
    extensions: Mapping[str, Any]
    name: str | None

    @property
    def cost(self) -> int | None:
        """What computing it cost (charged again to each client it serves), if known."""
        cost: int | None = self.extensions.get("cost", {}).get("requested")
        return cost

    def packed(self) -> bytes:
        """The answer as bytes: the length of a JSON header, the header, the data."""
        header = orjson.dumps([self.name, self.extensions])
        return struct.pack("!I", len(header)) + header + self.data

    @classmethod
    def unpacked(cls, packed: bytes) -> "Answer":
        """The answer `packed` holds."""
        (length,) = struct.unpack_from("!I", packed)
        name, extensions = orjson.loads(packed[4 : 4 + length])
        return cls(packed[4 + length :], extensions, name)


@dataclass(frozen=True, eq=False)
class Ticket:
    """A cacheable request the cache did not hold: its key, the change sequence before it was
    computed, and its answer to come for the requests that wait for it (None: none kept)."""

    key: str
    sequence: Any  # the store's own (`Store.get`)
    answer: "asyncio.Future[Answer | None]" = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


def dependencies(reads: Reads | None) -> frozenset[str]:
    """The names an answer that read `reads` (None: unknown) depends on: `table.column` for
    the columns it read at any row; `table.column@key` for each key of the only rows it read,
    and `table.column@?`; the columns with ROW, which every reader reads."""
    if not reads:
        return frozenset({EPOCH, ANY})
    names = {EPOCH}
    for table, (columns, keys) in reads.items():
        for column in (*columns, ROW):
            if keys is None:
                names.add(f"{table}.{column}")
                continue
            names.add(f"{table}.{column}@{ANY_ROW}")
            names.update(f"{table}.{column}@{key}" for key in keys)
    return frozenset(names)


def announced(payload: str) -> frozenset[str]:
    """The names a write's announcement changes (see `dependencies`): `{"t": table, "c":
    columns changed (null: all, and which rows exist), "k": the keys of the rows written
    (null: any row)}`; all but ANY's when it cannot be read."""
    try:
        change = orjson.loads(payload)
        table, changed, keys = change["t"], change["c"], change["k"]
        columns = (*table_columns().get(table, ()), ROW) if changed is None else changed
        rows = (ANY_ROW,) if keys is None else keys
        names = {f"{table}.{column}" for column in columns}
        names.update(f"{table}.{column}@{key}" for column in columns for key in rows)
    except (orjson.JSONDecodeError, KeyError, TypeError):
        logger.warning("an unreadable change was heard; forgetting every cached answer")
        return frozenset({EPOCH})
    return frozenset(names)


@cache
def table_columns() -> dict[str, frozenset[str]]:
    """The columns of each table, as the models declare them."""
    from models import Base  # the models import what runs the hub; this module only hears it

    return {name: frozenset(table.columns.keys()) for name, table in Base.metadata.tables.items()}


def slot(name: str) -> int:
    """The slot of a name's last change: the same in every process."""
    return zlib.crc32(name.encode()) % SLOTS


class Store(Protocol):
    """Where the answers, the change sequence and the slots of the changes live."""

    async def get(self, key: str) -> tuple[Answer | None, Any]:
        """The valid answer of `key`, or None; and where the change sequence is now (a
        number, or what the store makes of it)."""
        ...

    async def put(
        self, key: str, answer: Answer, depends_on: frozenset[str], sequence: Any
    ) -> None:
        """Keep `answer`, computed when the changes were at `sequence` (what `get` said)."""
        ...

    async def changed(self, names: Iterable[str]) -> None:
        """Drop what depends on `names` (EPOCH: everything)."""
        ...

    async def close(self) -> None:
        """Let go of what the store holds open."""
        ...


@dataclass
class Kept:
    """An answer in the process (served as it is, not copied: nobody changes an answer), its
    size packed, what it depends on, when it was kept."""

    answer: Answer
    size: int
    depends_on: frozenset[str]
    kept_at: float


class MemoryStore:
    """Answers in this process, at most `max_bytes` of them, each at most `max_age` seconds
    (0: no limit)."""

    def __init__(self, max_bytes: int, max_age: float) -> None:
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.entries: OrderedDict[str, Kept] = OrderedDict()
        self.by_name: defaultdict[str, set[str]] = defaultdict(set)
        self.sequence = 0
        self.slots = [0] * SLOTS
        self.bytes = 0

    async def get(self, key: str) -> tuple[Answer | None, int]:
        kept = self.entries.get(key)
        if kept is None:
            return None, self.sequence
        if self.max_age and time.monotonic() - kept.kept_at > self.max_age:
            self.drop(key)
            EVICTIONS.inc()
            return None, self.sequence
        self.entries.move_to_end(key)
        return kept.answer, self.sequence

    async def put(
        self,
        key: str,
        answer: Answer,
        depends_on: frozenset[str],
        sequence: int,
        age: float = 0.0,
    ) -> None:
        """Keep `answer` (`age` seconds old: kept elsewhere before)."""
        if any(self.slots[slot(name)] > sequence for name in depends_on):
            return  # what it read may have changed while it was computed
        size = len(answer.packed())
        if size > self.max_bytes:
            return
        if key in self.entries:
            self.drop(key)
        self.entries[key] = Kept(answer, size, depends_on, time.monotonic() - age)
        for name in depends_on:
            self.by_name[name].add(key)
        self.grow(size)
        while self.bytes > self.max_bytes:
            self.drop(next(iter(self.entries)))
            EVICTIONS.inc()

    async def changed(self, names: Iterable[str]) -> None:
        self.sequence += 1
        for name in names:
            self.slots[slot(name)] = self.sequence
            dropped = self.by_name.pop(name, set())
            for key in dropped:
                self.drop(key)
            INVALIDATIONS.inc(len(dropped))

    def drop(self, key: str) -> None:
        """Forget the answer of `key`."""
        kept = self.entries.pop(key)
        for name in kept.depends_on:
            keys = self.by_name.get(name)
            if keys is not None:
                keys.discard(key)
        self.grow(-kept.size)

    def grow(self, change: int) -> None:
        """Count `change` more bytes held."""
        self.bytes += change
        BYTES_HELD.inc(change)

    async def close(self) -> None:
        self.grow(-self.bytes)
        self.entries.clear()
        self.by_name.clear()


@dataclass(frozen=True)
class Fetched:
    """What Redis holds for a key: the valid answer, the names it depends on (None: kept by
    a release that did not say) and its age in seconds; or, without an answer, the sequence."""

    answer: Answer | None
    names: frozenset[str] | None
    age: float
    sequence: int


# Returns {"hit", answer, its names, milliseconds it has left} where no slot of the answer
# changed after the sequence it was computed at; else {"miss", the sequence now, 1 if a stale
# answer was dropped}.
LOOKUP = """
local kept = redis.call('HMGET', KEYS[1], 'sequence', 'slots', 'answer', 'names')
local dropped = 0
if kept[1] then
  local computed = tonumber(kept[1])
  local current = true
  for _, slot in ipairs(cjson.decode(kept[2])) do
    if tonumber(redis.call('HGET', KEYS[2], slot) or '0') > computed then
      current = false
      break
    end
  end
  if current then
    return {'hit', kept[3], kept[4] or '', redis.call('PTTL', KEYS[1])}
  end
  redis.call('DEL', KEYS[1])
  dropped = 1
end
return {'miss', redis.call('GET', KEYS[3]) or '0', dropped}
"""

# Takes the next number of the sequence and writes it in the slots ARGV names.
CHANGE = """
local sequence = redis.call('INCR', KEYS[1])
for _, slot in ipairs(ARGV) do
  redis.call('HSET', KEYS[2], slot, sequence)
end
return sequence
"""


class RedisStore:
    """Answers in Redis, shared by every process that uses the same server and `prefix`;
    the change sequence and the hash of the slots beside them."""

    def __init__(self, url: str, prefix: str, max_age: float) -> None:
        self.client = redis.Redis.from_url(url)
        self.prefix = prefix
        self.sequence_key = f"{prefix}sequence"
        self.slots_key = f"{prefix}slots"
        self.ttl_ms = int(1000 * (max_age or REDIS_TTL_SECONDS))
        self.lookup = self.client.register_script(LOOKUP)
        self.change = self.client.register_script(CHANGE)

    async def get(self, key: str) -> tuple[Answer | None, int]:
        found = await self.fetch(key)
        return found.answer, found.sequence

    async def fetch(self, key: str) -> Fetched:
        """The valid answer of `key` with what it depends on and its age, or the sequence."""
        keys = [self.prefix + key, self.slots_key, self.sequence_key]
        reply = await self.lookup(keys=keys)
        if reply[0] == b"hit":
            names = frozenset(orjson.loads(reply[2])) if reply[2] else None
            age = max(0.0, (self.ttl_ms - int(reply[3])) / 1000)
            return Fetched(Answer.unpacked(reply[1]), names, age, 0)
        INVALIDATIONS.inc(reply[2])
        return Fetched(None, None, 0.0, int(reply[1]))

    async def put(
        self, key: str, answer: Answer, depends_on: frozenset[str], sequence: int
    ) -> None:
        slots = orjson.dumps(sorted({str(slot(name)) for name in depends_on}))
        names = orjson.dumps(sorted(depends_on))
        async with self.client.pipeline(transaction=False) as pipeline:
            pipeline.hset(
                self.prefix + key,
                mapping={
                    "sequence": sequence,
                    "slots": slots,
                    "names": names,
                    "answer": answer.packed(),
                },
            )
            pipeline.pexpire(self.prefix + key, self.ttl_ms)
            await pipeline.execute()

    async def changed(self, names: Iterable[str]) -> None:
        slots = sorted({slot(name) for name in names})
        await self.change(keys=[self.sequence_key, self.slots_key], args=slots)

    async def close(self) -> None:
        await self.client.aclose()


class TieredStore:
    """Answers in this process in front of the answers in Redis: an answer asked again in a
    process costs no round trip to Redis. Each process hears every change, drops its own
    copies of what it changes, as `MemoryStore` does, and bumps the slots in Redis first: a
    copy fetched from Redis before that is refused or dropped by the change in the process.
    Its position in the change sequence is the pair of the process's and Redis'."""

    def __init__(self, local: MemoryStore, shared: RedisStore) -> None:
        self.local = local
        self.shared = shared

    async def get(self, key: str) -> tuple[Answer | None, tuple[int, int]]:
        answer, local = await self.local.get(key)
        if answer is not None:
            return answer, (local, 0)
        found = await self.shared.fetch(key)
        if found.answer is not None and found.names is not None:
            await self.local.put(key, found.answer, found.names, local, found.age)
        return found.answer, (local, found.sequence)

    async def put(
        self, key: str, answer: Answer, depends_on: frozenset[str], sequence: tuple[int, int]
    ) -> None:
        local, shared = sequence
        await self.local.put(key, answer, depends_on, local)
        await self.shared.put(key, answer, depends_on, shared)

    async def changed(self, names: Iterable[str]) -> None:
        names = tuple(names)
        await self.shared.changed(names)
        await self.local.changed(names)

    async def close(self) -> None:
        await self.local.close()
        await self.shared.close()


class ResponseCache:
    """The answers of one app's queries (see the module's description), in `store`."""

    def __init__(self, store: Store, charge: bool, served: str = "") -> None:
        self.store = store
        # What decides the answers besides the request, in this process (`served`).
        self.served = served
        # Whether an answer from the cache costs its client's budget what computing it would.
        self.charge = charge
        # Whether this process hears the changes: only then are answers kept and served.
        self.trusted = False
        self.hearing = False
        self.heard: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.waiting: dict[str, asyncio.Future[None]] = {}
        # The answers being computed in this process, by key.
        self.computing: dict[str, Ticket] = {}
        self.consumer: asyncio.Task[None] | None = None
        self.retry: asyncio.TimerHandle | None = None
        self.closed = False

    # --- Reading and keeping ------------------------------------------------------------

    def key(
        self,
        query: str,
        operation_name: str | None,
        variables: Mapping[str, Any] | None,
        access: tuple[Any, ...],
    ) -> str:
        """The key of a request's answer: a hash of what the process serves, the query, the
        operation, the variables and the viewer's access."""
        viewer = [str(part) for part in access]
        parts = [self.served, query, operation_name, variables or {}, viewer]
        return hashlib.sha256(orjson.dumps(parts, option=orjson.OPT_SORT_KEYS)).hexdigest()

    async def lookup(self, key: str) -> tuple[Answer | None, Ticket | None]:
        """The kept answer of `key`, or the one this process is computing since no change was
        heard; else a ticket to keep the answer about to be computed, which `settle` must
        end (None: this process keeps no answers now)."""
        if not self.trusted:
            return None, None
        try:
            answer, sequence = await self.store.get(key)
        except redis.RedisError:
            logger.warning("the response cache could not be read", exc_info=True)
            return None, None
        if answer is not None:
            HITS.inc()
            return answer, None
        under_way = self.computing.get(key)
        if under_way is not None and under_way.sequence == sequence:
            # The same answer computed from a snapshot no heard change is newer than: waiting
            # for it spares the database a twin of the statement (many clients asking at once
            # for what a write has just dropped). Shielded: a waiter that gives up leaves it.
            answer = await asyncio.shield(under_way.answer)
            if answer is not None:
                COALESCED.inc()
                return answer, None
        MISSES.inc()
        ticket = Ticket(key, sequence)
        self.computing[key] = ticket
        return None, ticket

    def settle(self, ticket: Ticket, answer: Answer | None) -> None:
        """The computation of `ticket` ended with `answer` (None: none to keep); who waits for
        it gets it."""
        if not ticket.answer.done():
            ticket.answer.set_result(answer)
        if self.computing.get(ticket.key) is ticket:
            del self.computing[ticket.key]

    async def holds(self, key: str, answer: Answer) -> bool:
        """Whether `answer` is still the kept answer of `key` (a request answered before,
        `hub.shortcut`); it counts as a hit if so. A miss counts nothing: the request goes
        on to `lookup`."""
        if not self.trusted:
            return False
        try:
            kept, _ = await self.store.get(key)
        except redis.RedisError:
            return False
        if kept is None or kept.data != answer.data or kept.extensions != answer.extensions:
            return False
        HITS.inc()
        return True

    async def keep(self, ticket: Ticket, answer: Answer, reads: Reads | None) -> None:
        """Keep the answer computed for `ticket`, which read `reads` (None: unknown)."""
        if not self.trusted:
            return
        try:
            await self.store.put(ticket.key, answer, dependencies(reads), ticket.sequence)
        except redis.RedisError:
            logger.warning("the response cache could not keep an answer", exc_info=True)

    # --- Following the writes -----------------------------------------------------------

    def changed(self, payload: str) -> None:
        """A write committed: what it changed, or a commit token (`hub.events`)."""
        self.take(("change", payload))

    def following(self, listening: bool) -> None:
        """Changes are heard from now on, or no longer: either way, what was kept may be
        stale (`hub.events`)."""
        self.take(("listening", listening))

    def take(self, item: tuple[str, Any]) -> None:
        """Queue what was heard for the consumer, which handles it in order (nothing once
        the cache is closed)."""
        if self.closed:
            return
        self.heard.put_nowait(item)
        if self.consumer is None or self.consumer.done():
            self.consumer = asyncio.get_running_loop().create_task(self.consume())

    async def consume(self) -> None:
        """Handle what was heard, as it comes, a batch at a time (one round trip to Redis)."""
        while not self.heard.empty():
            batch = [self.heard.get_nowait() for _ in range(self.heard.qsize())]
            try:
                await self.handle(batch)
            except Exception:  # the store failed: what it keeps may be stale from now on
                logger.warning("the response cache lost track of changes", exc_info=True)
                self.trusted = False
                # Once the store answers again, it starts afresh (an EPOCH), if still heard.
                if self.retry is not None:
                    self.retry.cancel()
                loop = asyncio.get_running_loop()
                self.retry = loop.call_later(STORE_RETRY_SECONDS, self.start_afresh)

    def start_afresh(self) -> None:
        """Forget everything kept, and serve answers again if the changes are heard."""
        self.take(("listening", self.hearing))

    async def handle(self, batch: list[tuple[str, Any]]) -> None:
        """Drop the answers that read what changed, then wake the writes heard."""
        names: set[str] = set()
        commits = []
        for kind, value in batch:
            if kind == "listening":
                self.hearing = value
                self.trusted = False
                await self.store.changed((EPOCH,))
                self.trusted = value
            elif value.startswith(COMMIT):
                commits.append(value.removeprefix(COMMIT))
            else:
                names |= announced(value)
        if names:
            await self.store.changed((*names, ANY))
        for token in commits:
            waiting = self.waiting.pop(token, None)
            if waiting is not None and not waiting.done():
                waiting.set_result(None)

    async def announce_commit(self, session: AsyncSession) -> str | None:
        """Send a token after a write's changes, in its transaction: `heard_commit` waits for
        it (None: nothing to wait for, as this process keeps no answers now)."""
        if not self.trusted:
            return None
        token = uuid4().hex
        self.waiting[token] = asyncio.get_running_loop().create_future()
        await session.execute(select(func.pg_notify(CHANGES_CHANNEL, COMMIT + token)))
        return token

    async def heard_commit(self, token: str) -> None:
        """Wait until this process heard the write that sent `token` (and dropped what it
        made stale); after HEAR_OWN_WRITE_SECONDS, forget every answer instead."""
        waiting = self.waiting.get(token)
        if waiting is None:
            return
        try:
            await asyncio.wait_for(waiting, HEAR_OWN_WRITE_SECONDS)
        except TimeoutError:
            logger.warning("a write was not heard in time; forgetting every cached answer")
            await self.store.changed((EPOCH,))
        finally:
            self.waiting.pop(token, None)

    def forget_write(self, token: str) -> None:
        """The write that would have sent `token` rolled back: nobody waits for it."""
        self.waiting.pop(token, None)

    async def close(self) -> None:
        """Stop following and let go of the store."""
        self.closed = True
        self.trusted = False
        if self.retry is not None:
            self.retry.cancel()
        if self.consumer is not None:
            self.consumer.cancel()
        await self.store.close()


def configured(settings: Settings, database: str, features: Features) -> ResponseCache | None:
    """The response cache the settings ask for (None: none), for the answers of `database`
    with `features`: in Redis with HUB_REDIS_URL, else in the process."""
    if settings.response_cache_bytes <= 0:
        return None
    max_age = settings.response_cache_max_age_seconds
    local = MemoryStore(settings.response_cache_bytes, max_age)
    store: Store = local
    if settings.redis_url:
        # Each database has answers and changes of its own, whoever shares the server.
        prefix = f"hub:answers:{hashlib.sha256(database.encode()).hexdigest()[:16]}:"
        store = TieredStore(local, RedisStore(settings.redis_url, prefix, max_age))
    return ResponseCache(store, settings.response_cache_charge, served(settings, features))


def served(settings: Settings, features: Features) -> str:
    """What decides the answers besides the request, in this process: the hub's release and
    schema, the limits a query must keep, whether introspection is allowed, the federation SDL
    it hands gateways, and the database's features. Processes that differ in any of them (a
    rolling deployment) keep apart answers in a shared cache."""
    limits = (
        settings.max_page_size,
        settings.max_query_depth,
        settings.max_aliases,
        settings.max_tokens,
        settings.max_query_cost,
        settings.introspection,
    )
    return "|".join(
        (
            version("engagement-hub"),
            schema_digest(),
            repr(limits),
            repr(features),
            settings.federation_version,
            repr(settings.federation_node_key),
        )
    )


@cache
def schema_digest() -> str:
    """A digest of the schema's SDL."""
    from schema import schema  # the schema imports what answers; this module answers nothing

    return hashlib.sha256(str(schema).encode()).hexdigest()
