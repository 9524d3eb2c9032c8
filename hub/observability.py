"""What operators see of the hub: Prometheus metrics at /metrics and one JSON log line per
request, both keyed by a request id and the GraphQL operation's name and outcome.

Neither carries variables, query texts or personal data: an operation is named by its
operation name only (clients choose it; at most MAX_OPERATION_NAMES distinct names are kept
as labels, the rest count as `other`), errors by their `extensions.code`.
"""

import logging
import re
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from pythonjsonlogger.orjson import OrjsonFormatter
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("engagement_hub.requests")

MAX_OPERATION_NAMES = 100
# A request id a client or proxy sends is kept if it looks like one (no log injection).
REQUEST_ID_PATTERN = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
REQUEST_ID_HEADER = "X-Request-ID"

REGISTRY = CollectorRegistry()
REQUESTS = Counter(
    "hub_requests",
    "HTTP requests by GraphQL operation and outcome (ok, errors, refused).",
    ["operation", "outcome"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "hub_request_duration_seconds",
    "Time from request to the response's last byte, by GraphQL operation.",
    ["operation"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
ERRORS = Counter(
    "hub_graphql_errors", "GraphQL errors by extensions.code.", ["code"], registry=REGISTRY
)
STATEMENTS = Histogram(
    "hub_sql_statements_per_request",
    "SQL statements one GraphQL operation issued.",
    buckets=(0, 1, 2, 3, 5, 10, 20, 50, 100),
    registry=REGISTRY,
)
RATE_LIMITED = Counter(
    "hub_rate_limited_requests", "Requests refused by the rate limits.", registry=REGISTRY
)


@dataclass
class OperationFigures:
    """What a GraphQL operation reports about itself for the request's log line and metrics
    (filled in by schema.extensions.OperationFigures)."""

    name: str | None = None
    error_codes: list[str] = field(default_factory=list)
    statements: int = 0
    read_path: str | None = None
    has_data: bool = True


class OperationNames:
    """The operation names used as metric labels: the first MAX_OPERATION_NAMES seen, so that
    clients cannot grow the metrics without bound."""

    def __init__(self) -> None:
        self.known: set[str] = set()

    def label(self, name: str | None) -> str:
        if not name:
            return "anonymous"
        if name in self.known:
            return name
        if len(self.known) < MAX_OPERATION_NAMES:
            self.known.add(name)
            return name
        return "other"


OPERATION_NAMES = OperationNames()


class PoolCollector(Collector):
    """Database connections in use and idle per pool, read from the pools when scraped."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily(
            "hub_db_pool_connections", "Pooled database connections.", labels=["pool", "state"]
        )
        state = self.app.state
        reads = getattr(state, "reads", None)
        if reads is not None:
            gauge.add_metric(["reads", "in_use"], reads.get_size() - reads.get_idle_size())
            gauge.add_metric(["reads", "idle"], reads.get_idle_size())
        sessions = getattr(state, "sessions", None)
        pool = getattr(getattr(sessions, "kw", {}).get("bind"), "pool", None)
        if pool is not None and hasattr(pool, "checkedout"):
            gauge.add_metric(["sessions", "in_use"], pool.checkedout())
            gauge.add_metric(["sessions", "idle"], pool.checkedin())
        yield gauge


async def metrics(request: Request) -> Response:
    """The metrics in Prometheus' text format."""
    return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)


def request_id(scope: Scope) -> str:
    """The request's id: the client's or proxy's X-Request-ID if sane, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            if REQUEST_ID_PATTERN.match(sent):
                return sent
    return uuid.uuid4().hex


class RequestObserver:
    """ASGI middleware: a request id for every HTTP request (echoed in X-Request-ID), and,
    when the response is complete, its log line and metrics."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        identifier = request_id(scope)
        scope.setdefault("state", {})["request_id"] = identifier
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", []).append(
                    (b"x-request-id", identifier.encode("latin-1"))
                )
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            observe(scope, identifier, status, seconds)


def observe(scope: Scope, identifier: str, status: int, seconds: float) -> None:
    """Record one finished request: metrics, and its log line."""
    figures: OperationFigures | None = scope["state"].get("operation")
    if scope["path"] == "/metrics":
        return
    if status == 429:
        RATE_LIMITED.inc()
    line: dict[str, Any] = {
        "request_id": identifier,
        "method": scope["method"],
        "path": scope["path"],
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    if figures is not None:
        operation = OPERATION_NAMES.label(figures.name)
        outcome = outcome_of(status, figures)
        REQUESTS.labels(operation, outcome).inc()
        LATENCY.labels(operation).observe(seconds)
        STATEMENTS.observe(figures.statements)
        for code in figures.error_codes:
            ERRORS.labels(code).inc()
        line |= {
            "operation": figures.name,
            "outcome": outcome,
            "error_codes": figures.error_codes,
            "sql_statements": figures.statements,
            "read_path": figures.read_path,
        }
    logger.info("%s %s %s", scope["method"], scope["path"], status, extra=line)


def outcome_of(status: int, figures: OperationFigures) -> str:
    """ok (no errors), errors (an answer with errors), or refused (no data at all)."""
    if status >= 400 or not figures.has_data:
        return "refused"
    return "errors" if figures.error_codes else "ok"


def configure_logging(json_lines: bool, level: str) -> None:
    """Log to stderr at `level`: one JSON object per line, or plain text. A root logger that
    has handlers already (a test runner's, an application embedding the hub) is left alone."""
    root = logging.getLogger()
    if root.handlers:
        return
    handler = logging.StreamHandler()
    if json_lines:
        handler.setFormatter(
            OrjsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s", timestamp=False)
        )
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
