"""The context of one GraphQL request: its session, its DataLoaders, the database's features."""

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Result, Row, Select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from hub.features import BASELINE, Features
from resolvers.loaders import Loaders


class Context:
    """What every resolver of one request shares: one session, used by one statement at a time.

    graphql-core resolves sibling fields concurrently, and an AsyncSession must not run two
    statements at once; the lock serialises them on the request's single connection, which
    also gives the whole request one consistent view of the data.
    """

    def __init__(
        self,
        request: Request | WebSocket | None,
        session: AsyncSession,
        debug: bool = False,
        features: Features = BASELINE,
        compiled: bool = False,
        max_page_size: int = 100,
    ) -> None:
        self.request = request
        self.session = session
        self.debug = debug
        self.features = features
        # Whether to try the compiled read path, and which path answered.
        self.compiled = compiled
        self.read_path = "resolvers"
        self.max_page_size = max_page_size
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

    async def _execute(self, statement: Select[Any]) -> Result[Any]:
        """Run `statement` on the session, one statement at a time, to its end.

        When an error ends the operation, graphql-core cancels the resolvers still running;
        a statement cancelled halfway would break the connection, so it runs shielded: the
        resolver stops waiting, the statement finishes, and `close` waits for it.
        """
        return await asyncio.shield(self._execute_locked(statement))

    async def _execute_locked(self, statement: Select[Any]) -> Result[Any]:
        """Run `statement` once no other statement of the request runs."""
        async with self._lock:
            self._check_open()
            self.statements += 1
            return await self.session.execute(statement)

    async def close(self) -> None:
        """Give the session's connection back to the pool, once no statement runs any more.

        An error can end an operation while sibling resolvers are still loading (graphql-core
        answers without waiting for them); they find the request over instead of a new
        connection.
        """
        async with self._lock:
            self._closed = True
            await self.session.close()

    def _check_open(self) -> None:
        """Refuse statements once the request has been answered."""
        if self._closed:
            raise RuntimeError("the request has been answered already")


Info = StrawberryInfo[Context, None]
