"""Helpers for tests of the GraphQL API."""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from hypothesis import HealthCheck, settings
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine


async def graphql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """POST a GraphQL request; return the response body, asserting HTTP success."""
    response = await client.post("/graphql", json={"query": query, "variables": variables or {}})
    assert response.status_code == 200, response.text
    return response.json()


# The tests' own transaction control (savepoints around each request), not the request's work.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class StatementCounter:
    """The SQL statements sent while it was active, without transaction control."""

    def __init__(self) -> None:
        self.statements: list[str] = []

    def __call__(self, connection: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not statement.startswith(TRANSACTION_CONTROL):
            self.statements.append(statement)

    @property
    def count(self) -> int:
        """How many statements were sent."""
        return len(self.statements)


@contextmanager
def counting_statements(engine: AsyncEngine) -> Iterator[StatementCounter]:
    """Count the SQL statements `engine` sends inside the block."""
    counter = StatementCounter()
    event.listen(engine.sync_engine, "before_cursor_execute", counter)
    try:
        yield counter
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", counter)


def websocket_scope(
    headers: list[tuple[bytes, bytes]],
    subprotocol: str = "graphql-transport-ws",
    denial_responses: bool = True,
) -> dict[str, Any]:
    """The ASGI scope of a WebSocket upgrade to /graphql (httpx speaks no WebSocket).

    `denial_responses` says whether the server supports answering the upgrade with HTTP.
    """
    return {
        "type": "websocket",
        "asgi": {"version": "3.0"},
        "scheme": "ws",
        "server": ("hub.test", 80),
        "client": ("127.0.0.1", 50000),
        "root_path": "",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "headers": headers,
        "subprotocols": [subprotocol],
        "extensions": {"websocket.http.response": {}} if denial_responses else {},
    }


def property_settings(max_examples: int) -> Any:
    """Hypothesis settings for the suite's property tests: reproducible (derandomized), and
    quick enough for it; their fixtures hold a database transaction per test, not per
    example."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
