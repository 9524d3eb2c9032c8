"""Requests asked before, answered from the response cache ahead of routing and strawberry.

Portals send the same requests over and over. Once the full path (Starlette's routing,
strawberry, `hub.response_cache`) has answered a request with an answer the cache holds, the
request's bytes (its method, query string, body and the headers an answer may depend on) are
recorded with the answer's key and the response's headers and body (`KnownRequests.record`).
The same bytes again are answered here, by `AnswerShortcut`, after the checks the full path
makes:
- the viewer, from the authentication's cache (`BearerBackend.known_viewer`), must have the
  access the recorded one had;
- the response cache must still hold the recorded answer (a write drops it);
- the client's rate budget is charged as the full path charges it (`hub.response_cache`'s
  `charge`), and its headers are those of this charge.
The response is the full path's, byte for byte but for the budget's headers; the request's
log line and metrics (`hub.observability.RequestObserver`, outside) are those of an answer
from the cache. Anything else goes the full path, which may record it: a request not seen
before, a credential not in the cache, an answer the cache no longer holds, a refused
charge, a cross-origin request (CORS answers it), a conditional GET (If-None-Match), a body
over the limit.

Hand-written: no library answers ASGI requests from a cache it does not hold, and through
Starlette and strawberry an answer from the cache costs about 0.3 ms of CPU, several times
what computing nothing should (docs/response-cache.md).
"""

import hashlib
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from prometheus_client import Counter
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.observability import REGISTRY, OperationFigures
from hub.ratelimit import RateLimiter, budget_headers
from hub.response_cache import Answer, ResponseCache
from resolvers.access import PUBLIC

SHORTCUTS = Counter(
    "hub_response_cache_shortcuts",
    "Answers from the cache given ahead of routing and strawberry (hits among them).",
    registry=REGISTRY,
)
# Where the full path finds the request's signature, and what it answered with.
SIGNATURE = "known_request"
ANSWERED = "answered_from_cache"
# Headers no answer depends on: they stay out of a request's signature.
IGNORED_HEADERS = frozenset(
    {
        b"host",
        b"user-agent",
        b"content-length",
        b"connection",
        b"keep-alive",
        b"accept-encoding",
        b"x-request-id",
        b"cache-control",
        b"pragma",
    }
)
# Headers whose requests only the full path answers: cross-origin requests (CORS adds its
# headers) and conditional GETs (a 304).
DECLINED_HEADERS = frozenset({b"origin", b"if-none-match"})
# The response headers each request's own charge sets.
BUDGET_HEADERS = frozenset(
    {b"x-ratelimit-limit", b"x-ratelimit-remaining", b"x-ratelimit-reset", b"retry-after"}
)


@dataclass(frozen=True)
class Recorded:
    """What answered a request: the answer's key in the response cache and the answer, the
    viewer's access, the response's status, headers (but the budget's) and body, and the
    figures of its log line."""

    key: str
    answer: Answer
    access: tuple[Any, ...]
    status: int
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    figures: OperationFigures

    @property
    def size(self) -> int:
        """The bytes it holds, about."""
        return len(self.body) + len(self.answer.data) + len(self.key)


class KnownRequests:
    """The recorded requests, by signature: at most `max_bytes` of them, least recently used
    first out."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.entries: OrderedDict[bytes, Recorded] = OrderedDict()
        self.bytes = 0

    def get(self, signature: bytes) -> Recorded | None:
        """The record of a request, if kept."""
        recorded = self.entries.get(signature)
        if recorded is not None:
            self.entries.move_to_end(signature)
        return recorded

    def record(self, request: Request, response: Response) -> None:
        """Record the request the full path has just answered with `response`, if an answer
        of the response cache it is, whole, and successful."""
        state = request.scope.get("state", {})
        signature: bytes | None = state.get(SIGNATURE)
        answered: tuple[str, Answer] | None = state.get(ANSWERED)
        figures: OperationFigures | None = state.get("operation")
        if signature is None or answered is None or figures is None:
            return
        if type(response) is not Response or response.status_code != 200 or figures.error_codes:
            return
        key, answer = answered
        headers = tuple(
            (name, value) for name, value in response.raw_headers if name not in BUDGET_HEADERS
        )
        cached = replace(figures, statements=0, read_path="cached")
        access = request.user.viewer.access
        body = bytes(response.body)
        self.put(signature, Recorded(key, answer, access, 200, headers, body, cached))

    def put(self, signature: bytes, recorded: Recorded) -> None:
        """Keep `recorded`, dropping the least recently used beyond the bound."""
        if recorded.size > self.max_bytes:
            return
        self.drop(signature)
        self.entries[signature] = recorded
        self.bytes += recorded.size
        while self.bytes > self.max_bytes:
            self.drop(next(iter(self.entries)))

    def drop(self, signature: bytes) -> None:
        """Forget the record of a request, if any."""
        recorded = self.entries.pop(signature, None)
        if recorded is not None:
            self.bytes -= recorded.size


class AnswerShortcut:
    """ASGI middleware answering the recorded requests of /graphql (see the module)."""

    def __init__(
        self, app: ASGIApp, known: KnownRequests, route: Route, max_body_bytes: int
    ) -> None:
        self.app = app
        self.known = known
        # The route of the requests it answers, which the log line names.
        self.route = route
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.route.path:
            await self.app(scope, receive, send)
            return
        body, received = await read_body(scope, receive, self.max_body_bytes)
        signature = None if body is None else signature_of(scope, body)
        if signature is not None:
            recorded = self.known.get(signature)
            if recorded is not None and await self.answer(scope, recorded, send):
                return
            scope.setdefault("state", {})[SIGNATURE] = signature
        await self.app(scope, replaying(received, receive), send)

    async def answer(self, scope: Scope, recorded: Recorded, send: Send) -> bool:
        """Answer as recorded, if the checks of the full path pass (False: they do not)."""
        state = scope["app"].state
        answers: ResponseCache | None = state.answers
        if answers is None:
            return False
        viewer = PUBLIC
        authorization = header(scope, b"authorization")
        if authorization is not None:
            known = state.authentication.known_viewer(authorization)
            if known is None:
                return False
            viewer = known
        if viewer.access != recorded.access:
            return False
        if not await answers.holds(recorded.key, recorded.answer):
            return False
        headers = list(recorded.headers)
        cost = recorded.answer.cost
        if cost is not None:
            limiter: RateLimiter = state.rate_limiter
            connection = HTTPConnection(scope)
            charged = await limiter.charge(connection, viewer, cost if answers.charge else 0)
            if charged is not None:
                if not charged.allowed:
                    return False  # the full path refuses it, and says why
                headers += budget_headers(charged)
        scope.setdefault("state", {})["operation"] = recorded.figures
        scope["route"] = self.route
        await send({"type": "http.response.start", "status": recorded.status, "headers": headers})
        await send({"type": "http.response.body", "body": recorded.body})
        SHORTCUTS.inc()
        return True


async def read_body(
    scope: Scope, receive: Receive, max_bytes: int
) -> tuple[bytes | None, list[Message]]:
    """The request's body (None: longer than `max_bytes`, or never whole) and the messages
    read for it, which the full path receives again."""
    declared = header(scope, b"content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > max_bytes):
        return None, []
    received: list[Message] = []
    body = b""
    while True:
        message = await receive()
        received.append(message)
        if message["type"] != "http.request":
            return None, received
        body += message.get("body", b"")
        if len(body) > max_bytes:
            return None, received
        if not message.get("more_body", False):
            return body, received


def replaying(received: list[Message], receive: Receive) -> Receive:
    """`receive`, giving the messages already read first."""
    if not received:
        return receive
    pending = iter(received)

    async def replay() -> Message:
        return next(pending, None) or await receive()

    return replay


def signature_of(scope: Scope, body: bytes) -> bytes | None:
    """A digest of what may decide a request's answer: its method, query string, body and
    headers, but those no answer depends on (None: a request only the full path answers)."""
    parts = [scope["method"].encode(), scope["query_string"], body]
    for name, value in sorted(scope["headers"]):
        if name in DECLINED_HEADERS:
            return None
        if name not in IGNORED_HEADERS:
            parts += (name, value)
    digest = hashlib.blake2b(digest_size=32)
    for part in parts:
        digest.update(len(part).to_bytes(4, "big"))
        digest.update(part)
    return digest.digest()


def header(scope: Scope, name: bytes) -> str | None:
    """The value of the request's first header `name`, if any."""
    for each, value in scope["headers"]:
        if each == name:
            return str(value.decode("latin-1"))
    return None


def recordable(extensions: Mapping[str, Any] | None, query: str | None) -> bool:
    """Whether a request may be answered again without the full path: not one registering a
    persisted query (the full path keeps the registration fresh)."""
    return query is None or "persistedQuery" not in (extensions or {})
