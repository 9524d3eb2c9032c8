"""The context of one GraphQL request: its session, its DataLoaders, the database's features."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from sqlalchemy import Dialect, Result, Row, Select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from hub.config import LOWEST_FEDERATION_VERSION
from hub.events import Events
from hub.features import BASELINE, Features
from resolvers.access import PUBLIC, Viewer
from resolvers.loaders import Loaders
from resolvers.plans import CompiledOperation, Reads

if TYPE_CHECKING:
    from hub.response_cache import ResponseCache

T = TypeVar("T")

# What asyncpg raises on a connection the server closed meanwhile: which one depends on the
# moment it learns of it (before, during or after sending the statement).
CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.AdminShutdownError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    OSError,
)


class Context:
    """What every resolver of one request shares: one session, used by one statement at a time.

    graphql-core resolves sibling fields concurrently, and an AsyncSession must not run two
    statements at once; the lock serialises them on the request's single connection, which
    also gives the whole request one consistent view of the data.
    """

    def __init__(
        self,
        request: Request | WebSocket | None,
        sessions: Callable[[], AsyncSession],
        debug: bool = False,
        features: Features = BASELINE,
        compiled: bool = False,
        max_page_size: int = 100,
        viewer: Viewer = PUBLIC,
        authorization: str | None = None,
        reads: asyncpg.Pool | None = None,
        events: Events | None = None,
        replica: async_sessionmaker[AsyncSession] | None = None,
        federation_version: str = LOWEST_FEDERATION_VERSION,
        federation_node_key: bool = False,
        answers: "ResponseCache | None" = None,
    ) -> None:
        self.request = request
        self._sessions = sessions
        self._session: AsyncSession | None = None
        # The compiled read path's connections (hub.database.create_read_pool).
        self.reads = reads
        # What other processes announce, for subscriptions (hub.events).
        self.events = events
        # Sessions on a read replica, for the resolvers of queries (`read_from_replica`).
        self.replica = replica
        self.viewer = viewer
        # The `Authorization` value the viewer comes from (none for the public), for
        # subscriptions to check again between events.
        self.authorization = authorization
        # A WebSocket's `connection_init` payload, set by strawberry (see server.on_ws_connect).
        self.connection_params: dict[str, object] | None = None
        self.debug = debug
        self.features = features
        # Whether to try the compiled read path, and which path answered.
        self.compiled = compiled
        self.read_path = "resolvers"
        # What answering the operation again takes, once the compiled path answered it.
        self.compiled_operation: CompiledOperation | None = None
        # Whether the operation is a query, and what its answer read (None: unknown, as the
        # resolver path reads where its resolvers go), for the response cache.
        self.answered_query = False
        self.answer_reads: Reads | None = None
        # The response cache, which a write tells when it committed (`transaction`).
        self.answers = answers
        self.max_page_size = max_page_size
        # The Apollo Federation version `_service { sdl }` declares (HUB_FEDERATION_VERSION).
        self.federation_version = federation_version
        # Whether it declares `Node` an entity interface (HUB_FEDERATION_NODE_KEY).
        self.federation_node_key = federation_node_key
        self.statements = 0
        self._lock = asyncio.Lock()
        self._closed = False
        self.loaders = Loaders(self.rows)

    async def rows(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        """The rows `statement` selects (ORM entities where it selects models)."""
        return (await self._execute(statement)).all()

    async def scalar(self, statement: Select[Any]) -> Any:
        """The one value `statement` selects."""
        return (await self._execute(statement)).scalar_one()

    @property
    def session(self) -> AsyncSession:
        """The request's session, opened when first used: the compiled read path needs none."""
        if self._session is None:
            self._session = self._sessions()
        return self._session

    @property
    def dialect(self) -> Dialect:
        """The SQL dialect of the session's database."""
        bind = self.session.bind
        assert bind is not None, "the session has no engine or connection"
        return bind.dialect

    async def read_json(self, sql: str, arguments: Sequence[Any]) -> bytes:
        """The one text value a rendered SELECT returns (the compiled read path's JSON), as
        the UTF-8 bytes PostgreSQL sent.

        It runs outside any transaction: a statement sees one snapshot by itself, so a read
        needs no BEGIN and no ROLLBACK, only the statement's round trip. Without a read pool
        (tests' transactions), the session's connection reads, one statement at a time.
        """
        if self.reads is None:
            return await self._one_at_a_time(lambda: self._session_json(sql, arguments))
        # The operation's only statement, on a connection of its own: no other statement
        # waits for it, and asyncpg's pool takes a connection back whose statement was
        # cancelled (a client gone) once PostgreSQL has cancelled it. So neither the
        # request's lock nor a shield, which cost a task per request.
        self._check_open()
        self.statements += 1
        return await self._pooled_json(self.reads, sql, tuple(arguments))

    async def _session_json(self, sql: str, arguments: Sequence[Any]) -> bytes:
        """The JSON of `sql`, read on the request's session."""
        connection = await self.session.connection()
        text: str = (await connection.exec_driver_sql(sql, tuple(arguments))).scalar_one()
        return text.encode()

    @staticmethod
    async def _pooled_json(reads: asyncpg.Pool, sql: str, arguments: tuple[Any, ...]) -> bytes:
        """The JSON of `sql`, read on a pooled connection.

        Pooled connections are not pinged before use (that would cost a round trip more);
        a read that finds its connection lost, because the server restarted, say, runs once
        more on a fresh one.
        """
        for attempt in range(2):
            async with reads.acquire() as pooled:
                try:
                    json: bytes = await pooled.fetchval(sql, *arguments)
                    return json
                except CONNECTION_LOST:
                    if attempt > 0:
                        raise
        raise AssertionError("unreachable")

    async def transaction(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        """Run a write's statements as one transaction on the request's session: committed
        when `work` returns, rolled back when it raises (the exception goes on).

        `work` has the session to itself while it runs, so it uses the session directly, not
        the loaders, whose statements would wait for it. What the loaders loaded before may
        have changed: they start afresh. Before it returns, this process's response cache has
        dropped what the write made stale.
        """

        answers = self.answers

        async def committed() -> tuple[T, str | None]:
            token = None
            try:
                result = await work(self.session)
                if answers is not None:
                    token = await answers.announce_commit(self.session)
                await self.session.commit()
            except BaseException:
                if token is not None and answers is not None:
                    answers.forget_write(token)
                await self.session.rollback()
                raise
            return result, token

        result, token = await self._one_at_a_time(committed)
        self.loaders = Loaders(self.rows)
        if token is not None and answers is not None:
            # Read-your-writes: what the write made stale is gone before the client hears.
            await answers.heard_commit(token)
        return result

    async def _execute(self, statement: Select[Any]) -> Result[Any]:
        """Run `statement` on the session."""
        return await self._one_at_a_time(lambda: self.session.execute(statement))

    async def _one_at_a_time(self, statement: Callable[[], Awaitable[T]]) -> T:
        """Run a statement once no other statement of the request runs, to its end.

        When an error ends the operation, graphql-core cancels the resolvers still running;
        a statement cancelled halfway would break the connection, so it runs shielded: the
        resolver stops waiting, the statement finishes, and `close` waits for it.
        """
        return await asyncio.shield(self._locked(statement))

    async def _locked(self, statement: Callable[[], Awaitable[T]]) -> T:
        """Run `statement` holding the request's lock."""
        async with self._lock:
            self._check_open()
            self.statements += 1
            return await statement()

    def read_from_replica(self) -> None:
        """Answer the operation, a query, from the read replica if there is one. Called before
        its first statement; the request's other session is then left unused."""
        if self.replica is not None:
            self._sessions, self._session = self.replica, None

    async def between_events(self) -> None:
        """Start afresh between two events of a subscription: the session's connection goes
        back to the pool while the subscription waits, and no loader keeps rows of before."""
        async with self._lock:
            await self._close_session()
        self.loaders = Loaders(self.rows)

    async def close(self) -> None:
        """Give the session's connection back to the pool, once no statement runs any more.

        An error can end an operation while sibling resolvers are still loading (graphql-core
        answers without waiting for them); they find the request over instead of a new
        connection.
        """
        async with self._lock:
            self._closed = True
            await self._close_session()

    async def _close_session(self) -> None:
        """Close the session, if it was opened at all."""
        if self._session is not None:
            await self._session.close()

    def _check_open(self) -> None:
        """Refuse statements once the request has been answered."""
        if self._closed:
            raise RuntimeError("the request has been answered already")


Info = StrawberryInfo[Context, None]
