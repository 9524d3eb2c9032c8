"""The GraphQL schema, assembled in one place."""

from collections.abc import AsyncIterator

import strawberry
from strawberry.extensions import SchemaExtension

from schema.query import Query


class CloseSession(SchemaExtension):
    """Return the request's database connection to the pool when the operation ends."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        await self.execution_context.context.close()


schema = strawberry.Schema(query=Query, extensions=[CloseSession])
