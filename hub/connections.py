"""WebSocket limits: connections per client, operations per connection, each refused with a
message that names the limit; and operations a document cannot choose, refused as over HTTP.
Operations streamed over HTTP (Server-Sent Events, multipart) count as connections too.

The connections are counted in the process (each worker its own), by the key the rate limits
use: the credential's subject, or the public client's address.
"""

import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError, OperationDefinitionNode, parse
from starlette.requests import HTTPConnection
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import StartMessage

from hub.config import Settings
from hub.http_protocol import SEVERAL_OPERATIONS
from hub.ratelimit import client_key
from resolvers.access import Viewer
from resolvers.context import Context

LIMITS = Settings.from_env()
logger = logging.getLogger(__name__)


class OpenConnections:
    """The WebSockets and HTTP streams each client holds open, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def admit(self, websocket: HTTPConnection, viewer: Viewer) -> str | None:
        """Count the connection as its client's; the reason for refusing it if the client
        holds the limit already (None: admitted, until `release`)."""
        key = client_key(websocket, viewer)
        if self.open[key] >= self.limit:
            # A close reason holds at most 123 bytes.
            return (
                "Too many connections (WebSockets, streams): "
                f"this client holds {self.limit}, the limit."
            )
        self.open[key] += 1
        websocket.state.counted_as = key
        return None

    def release(self, websocket: HTTPConnection) -> None:
        """Count a closed connection no longer (if it was admitted)."""
        key = getattr(websocket.state, "counted_as", None)
        if key is None:
            return
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, refusing an operation over the connection's
    limit, or one its document cannot choose, with an `error` message carrying
    `extensions.code` (strawberry's own says only "Subscription limit reached", and runs the
    first of several operations)."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        error = operation_refusal(message["payload"])
        if (
            self.connection_acknowledged
            and limit is not None
            and len(self.operations) >= limit
            and message["id"] not in self.operations
        ):
            error = too_many_operations(len(self.operations))
        if error is not None and self.connection_acknowledged:
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)

    async def handle_task_exception(self, error: Exception) -> None:
        """A client that went away, or stopped reading, during an operation made no error of
        the hub's: strawberry would log it at ERROR, with its traceback."""
        if isinstance(error, WebSocketDisconnected):
            logger.debug("a WebSocket client went away during an operation")
            return
        await super().handle_task_exception(error)


class LimitedWSHandler(BaseGraphQLWSHandler[Context, None]):
    """Strawberry's handler of the legacy graphql-ws protocol, refusing what the handler of
    graphql-transport-ws refuses, with its `error` message."""

    async def handle_start(self, message: StartMessage) -> None:
        limit = self.max_subscriptions_per_connection
        error = operation_refusal(message["payload"])
        if limit is not None and len(self.tasks) >= limit and message["id"] not in self.tasks:
            error = too_many_operations(len(self.tasks))
        if error is not None and self.connection_acknowledged:
            await self.send_message(
                {"type": "error", "id": message["id"], "payload": error.formatted}
            )
            return
        await super().handle_start(message)


def too_many_operations(running: int) -> GraphQLError:
    """The refusal of one operation more than a connection may run."""
    return GraphQLError(
        f"This connection runs {running} operations, the limit: complete one before "
        "subscribing again.",
        extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
    )


def operation_refusal(payload: Mapping[str, Any]) -> GraphQLError | None:
    """The request error of a document whose operation cannot be chosen (GraphQL's
    GetOperation): several operations and no `operationName`, or a name none has. A document
    that does not parse is left to strawberry, which refuses it itself."""
    try:
        document = parse(payload.get("query") or "", max_tokens=LIMITS.max_tokens)
    except GraphQLSyntaxError:
        return None
    names = [
        definition.name.value if definition.name else None
        for definition in document.definitions
        if isinstance(definition, OperationDefinitionNode)
    ]
    wanted = payload.get("operationName")
    if wanted is None and len(names) == 1:
        return None
    if wanted is None or wanted not in names:
        message = SEVERAL_OPERATIONS if wanted is None else f'Unknown operation named "{wanted}".'
        return GraphQLError(message, extensions={"code": "BAD_REQUEST"})
    return None
