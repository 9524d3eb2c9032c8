"""The context of one GraphQL request: its database session and its DataLoaders."""

import asyncio
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.websockets import WebSocket
from strawberry.types import Info as StrawberryInfo

from resolvers.loaders import Loaders


class Context:
    """What every resolver of one request shares: one session, used by one statement at a time.

    graphql-core resolves sibling fields concurrently, and an AsyncSession must not run two
    statements at once; the lock serialises them on the request's single connection.
    """

    def __init__(self, request: Request | WebSocket | None, session: AsyncSession) -> None:
        self.request = request
        self.session = session
        self._lock = asyncio.Lock()
        self.loaders = Loaders(self.all)

    async def all(self, statement: Select[Any]) -> Sequence[Any]:
        """The ORM objects `statement` selects."""
        async with self._lock:
            return (await self.session.scalars(statement)).all()

    async def first(self, statement: Select[Any]) -> Any:
        """The first ORM object `statement` selects, or None."""
        async with self._lock:
            return await self.session.scalar(statement)

    async def close(self) -> None:
        """Give the session's connection back to the pool."""
        await self.session.close()


Info = StrawberryInfo[Context, None]
