"""WebSocket limits: connections per client, operations per connection, each refused with a
message that names the limit.

The connections are counted in the process (each worker its own), by the key the rate limits
use: the credential's subject, or the public client's address.
"""

from collections import Counter

from graphql import GraphQLError
from starlette.websockets import WebSocket
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage

from hub.ratelimit import client_key
from resolvers.access import Viewer
from resolvers.context import Context


class OpenConnections:
    """The WebSockets each client holds open, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open: Counter[str] = Counter()

    def admit(self, websocket: WebSocket, viewer: Viewer) -> str | None:
        """Count the connection as its client's; the reason for refusing it if the client
        holds the limit already (None: admitted, until `release`)."""
        key = client_key(websocket, viewer)
        if self.open[key] >= self.limit:
            # A close reason holds at most 123 bytes.
            return f"Too many WebSocket connections: this client holds {self.limit}, the limit."
        self.open[key] += 1
        websocket.state.counted_as = key
        return None

    def release(self, websocket: WebSocket) -> None:
        """Count a closed connection no longer (if it was admitted)."""
        key = getattr(websocket.state, "counted_as", None)
        if key is None:
            return
        self.open[key] -= 1
        if self.open[key] <= 0:
            del self.open[key]


class LimitedTransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's graphql-transport-ws handler, refusing an operation over the connection's
    limit with an `error` message that names the limit and carries `extensions.code`
    (strawberry's own says only "Subscription limit reached")."""

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        limit = self.max_subscriptions_per_connection
        if (
            self.connection_acknowledged
            and limit is not None
            and len(self.operations) >= limit
            and message["id"] not in self.operations
        ):
            error = GraphQLError(
                f"This connection runs {len(self.operations)} operations, the limit: complete "
                "one before subscribing again.",
                extensions={"code": "TOO_MANY_SUBSCRIPTIONS"},
            )
            await self.send_message(
                {"id": message["id"], "type": "error", "payload": [error.formatted]}
            )
            return
        await super().handle_subscribe(message)
