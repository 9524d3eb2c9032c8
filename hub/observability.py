"""What operators see of the hub: Prometheus metrics at /metrics and one JSON log line per
request, both keyed by a request id and the GraphQL operation's name and outcome.

Neither carries variables, query texts or personal data: the log line names an operation by
the name its document gives it and the SHA-256 of its text, and counts its errors by their
`extensions.code` (client errors get no log record of their own, schema.extensions). Metrics
label an operation by its name only if an operator registered it (the allowlist of
`HUB_PERSISTED_QUERIES=allowlist`): labels clients choose would let them grow the metrics
without bound. In production, /metrics answers only scrapes bearing `HUB_METRICS_TOKEN`.

With several worker processes, each counts in files of the directory PROMETHEUS_MULTIPROC_DIR
names (prometheus-client's multiprocess mode, chosen when prometheus_client is imported), and
/metrics adds up all processes' figures, whichever process answers the scrape.
"""

import asyncio
import hmac
import logging
import os
import random
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

logger = logging.getLogger("engagement_hub.requests")

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
POOL_CONNECTIONS = Gauge(
    "hub_db_pool_connections",
    "Pooled database connections, as counted each second in each process.",
    ["pool", "state"],
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
# The gauges' children, looked up once: they are set every second.
READS_IN_USE, READS_IDLE, SESSIONS_IN_USE, SESSIONS_IDLE = (
    POOL_CONNECTIONS.labels(pool, state)
    for pool in ("reads", "sessions")
    for state in ("in_use", "idle")
)
MULTIPROCESS_DIRECTORY = "PROMETHEUS_MULTIPROC_DIR"
POOL_COUNT_SECONDS = 1.0


@dataclass
class OperationFigures:
    """What a GraphQL operation reports about itself for the request's log line and metrics
    (filled in by schema.extensions.OperationFigures)."""

    name: str | None = None
    document_hash: str | None = None
    registered: bool = False
    error_codes: dict[str, int] = field(default_factory=dict)
    statements: int = 0
    read_path: str | None = None
    has_data: bool = True


def operation_label(figures: OperationFigures) -> str:
    """An operation's metric label: its name if it is registered, else `anonymous` (no name)
    or `other`; never a name a client made up."""
    if not figures.name:
        return "anonymous"
    return figures.name if figures.registered else "other"


def count_pool_connections(state: Any) -> None:
    """Set the pool gauges from the app's pools: connections in use and idle."""
    reads = getattr(state, "reads", None)
    if reads is not None:
        idle = reads.get_idle_size()
        READS_IN_USE.set(reads.get_size() - idle)
        READS_IDLE.set(idle)
    sessions = getattr(state, "sessions", None)
    pool = getattr(getattr(sessions, "kw", {}).get("bind"), "pool", None)
    if pool is not None and hasattr(pool, "checkedout"):
        SESSIONS_IN_USE.set(pool.checkedout())
        SESSIONS_IDLE.set(pool.checkedin())


@asynccontextmanager
async def pool_connections_counted(state: Any) -> AsyncIterator[None]:
    """Count the app's pooled connections every second while the block runs.

    Not after each request: counting walks the pools and sets four gauges, several percent
    of a small query's CPU, for figures a scrape reads every few seconds at most.
    """

    async def count_every_second() -> None:
        while True:
            count_pool_connections(state)
            await asyncio.sleep(POOL_COUNT_SECONDS)

    counting = asyncio.create_task(count_every_second())
    try:
        yield
    finally:
        counting.cancel()
        with suppress(asyncio.CancelledError):
            await counting


class MetricsEndpoint:
    """ASGI middleware answering /metrics, ahead of the API's authentication (the scraper's
    token is no API credential): with a `token` (HUB_METRICS_TOKEN), only to requests bearing
    it; without one, in development to anyone, in production to nobody (404)."""

    def __init__(self, app: ASGIApp, token: str | None, production: bool) -> None:
        self.app = app
        self.token = token
        self.production = production

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != "/metrics":
            await self.app(scope, receive, send)
            return
        response = self.answer(Request(scope, receive))
        await response(scope, receive, send)

    def answer(self, request: Request) -> Response:
        """The metrics, or the refusal of a request that may not read them."""
        if self.token is None:
            return Response("Not Found", 404) if self.production else metrics(request)
        sent = request.headers.get("authorization", "")
        # In constant time: a comparison that stops at the first difference tells the token.
        if hmac.compare_digest(sent.encode(), f"Bearer {self.token}".encode()):
            return metrics(request)
        return Response("Unauthorized", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'})


def metrics(request: Request) -> Response:
    """The metrics in Prometheus' text format: of all worker processes together where they
    count in a shared directory, else of this process."""
    count_pool_connections(request.app.state)
    if MULTIPROCESS_DIRECTORY not in os.environ:
        return Response(generate_latest(REGISTRY), media_type=CONTENT_TYPE_LATEST)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


def forget_process() -> None:
    """Take this process's gauges out of the shared figures, as it ends (its counts stay)."""
    if MULTIPROCESS_DIRECTORY in os.environ:
        multiprocess.mark_process_dead(os.getpid())


def request_id(scope: Scope) -> str:
    """The request's id: the client's or proxy's X-Request-ID if sane, else a new one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            sent = value.decode("latin-1")
            if REQUEST_ID_PATTERN.match(sent):
                return sent
    return f"{REQUEST_IDS.getrandbits(128):032x}"


# The generator of request ids: random, not secret (a client may send its own), so not
# uuid4's system entropy, which cost a tenth of an answer from the cache; reseeded in a
# forked process, which would otherwise repeat its parent's ids.
REQUEST_IDS = random.Random()
os.register_at_fork(after_in_child=REQUEST_IDS.seed)


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
    path = route_of(scope)
    line: dict[str, Any] = {
        "request_id": identifier,
        "method": scope["method"],
        "path": path,
        "status": status,
        "duration_ms": round(seconds * 1000, 2),
    }
    if figures is not None:
        operation = operation_label(figures)
        outcome = outcome_of(status, figures)
        REQUESTS.labels(operation, outcome).inc()
        LATENCY.labels(operation).observe(seconds)
        STATEMENTS.observe(figures.statements)
        for code, count in figures.error_codes.items():
            ERRORS.labels(code).inc(count)
        line |= {
            "operation": figures.name,
            "document_hash": figures.document_hash,
            "outcome": outcome,
            "error_codes": figures.error_codes,
            "sql_statements": figures.statements,
            "read_path": figures.read_path,
        }
    logger.info("%s %s %s", scope["method"], path, status, extra={FIELDS: line})


def route_of(scope: Scope) -> str:
    """The path of a request as its route declares it (`/views/{name}`), or `(unrouted)`: a
    path's parameters and unknown paths are the client's words, which no log line repeats.
    A request refused before routing (a 401, a 413) is matched to its route here."""
    route = scope.get("route") or next(
        (
            route
            for route in getattr(scope.get("app"), "routes", ())
            if route.matches(scope)[0] is not Match.NONE
        ),
        None,
    )
    return getattr(route, "path", None) or "(unrouted)"


def outcome_of(status: int, figures: OperationFigures) -> str:
    """ok (no errors), errors (an answer with errors), or refused (no data at all)."""
    if status >= 400 or not figures.has_data:
        return "refused"
    return "errors" if figures.error_codes else "ok"


# The record attribute holding a log line's own fields (passed as `extra={FIELDS: {...}}`).
FIELDS = "fields"


class JSONLines(logging.Formatter):
    """Each record as one line of JSON: its time (ISO 8601, UTC), level, logger and message,
    its own fields (`extra={FIELDS: {...}}`), and the traceback of an exception, if any.

    Not python-json-logger's formatter: to find a record's extra fields, it walks all of the
    record's attributes, and it formats the local time with strftime. With it, the request
    log line cost a tenth of a small query's CPU (45-85 µs in process); now about 10 µs.
    """

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": utc_time(record.created),
            "level": record.levelname,
            "name": record.name,
            "message": record.getMessage(),
            **getattr(record, FIELDS, {}),
        }
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(line, default=str).decode()


def utc_time(created: float) -> str:
    """A record's time of creation in ISO 8601, UTC, to the millisecond."""
    seconds = int(created)
    return f"{utc_second(seconds)}.{int((created - seconds) * 1000):03d}Z"


@lru_cache(maxsize=4)
def utc_second(seconds: int) -> str:
    """The second `seconds` after the epoch, in ISO 8601, UTC (one a second, many lines each)."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds))


class TurnBatchedStreamHandler(logging.StreamHandler):
    """logging's StreamHandler, writing the lines of one turn of the event loop together at
    its end: under load, one write to stderr for the log lines of many requests, each of
    which otherwise cost a system call (about a tenth of an answer from the cache). Outside
    the event loop's thread, each line is written at once, as by StreamHandler.

    Hand-written: logging's MemoryHandler flushes by count and level, which would hold lines
    back for as long as nothing else is logged, and QueueHandler hands every line to a thread
    of its own; this holds them back only until the loop's turn ends.
    """

    def __init__(self) -> None:
        super().__init__()
        self.pending: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record) + self.terminator
            loop = running_loop()
            if loop is None:
                self.flush()
                self.stream.write(line)
                self.stream.flush()
                return
            if not self.pending:
                loop.call_soon(self.flush)
            self.pending.append(line)
        except Exception:  # as StreamHandler: logging never fails the code that logs
            self.handleError(record)

    def flush(self) -> None:
        """Write the lines held back, then flush the stream."""
        with self.lock:  # type: ignore[union-attr]
            if self.pending:
                self.stream.write("".join(self.pending))
                self.pending.clear()
            super().flush()


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop running in this thread, if any."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def configure_logging(json_lines: bool, level: str) -> None:
    """Log to stderr at `level`: one JSON object per line, or plain text. A root logger that
    has handlers already (a test runner's, an application embedding the hub) is left alone."""
    root = logging.getLogger()
    if root.handlers:
        return
    # Records need not say where in the code or in which thread they were made (the Logging
    # HOWTO's "Optimization"): no line shows it, and finding the caller's frame costs time.
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    handler = TurnBatchedStreamHandler()
    if json_lines:
        handler.setFormatter(JSONLines())
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(level)
