"""The context of one GraphQL request: its session, its DataLoaders, the database's features."""

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Row, Select
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
        self.loaders = Loaders(self.rows)

    async def rows(self, statement: Select[Any]) -> Sequence[Row[Any]]:
        """The rows `statement` selects (ORM entities where it selects models)."""
        async with self._lock:
            self.statements += 1
            return (await self.session.execute(statement)).all()

    async def scalar(self, statement: Select[Any]) -> Any:
        """The one value `statement` selects."""
        async with self._lock:
            self.statements += 1
            return (await self.session.execute(statement)).scalar_one()

    async def close(self) -> None:
        """Give the session's connection back to the pool."""
        await self.session.close()


Info = StrawberryInfo[Context, None]
