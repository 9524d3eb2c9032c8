"""Authentication: who sends a request, from its `Authorization: Bearer <credential>` header.

Two kinds of credential: the hub's own API keys (`ehub_…`, managed with `engagement-hub keys`)
and JWTs of an OpenID Connect provider, whose claims name the same roles and scopes. A request
without the header is the public's; a bad credential is refused with 401, never treated as the
public's: a client must learn that its key or token no longer works.

Starlette's AuthenticationMiddleware (`BearerAuthentication`, refusing WebSockets clearly) runs
the backend below for every HTTP and WebSocket request: API keys are checked by hub/keys.py,
tokens by hub/tokens.py. Resolved credentials are cached for
`HUB_AUTH_CACHE_SECONDS`, so a revoked key keeps working that long in each process.

Browsers cannot send headers with a WebSocket upgrade: a subscription client may instead put
the header into its `connection_init` payload, which the same backend checks
(`BearerBackend.connection_credential`, called by the GraphQL view's `on_ws_connect`).
"""

import time

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse
from starlette.status import WS_1008_POLICY_VIOLATION
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from hub.config import Settings
from hub.keys import KEY_PREFIX, hash_key, viewer_of_key
from hub.tokens import AuthenticationUnavailable, TokenVerifier
from resolvers.access import PUBLIC, Viewer

# Distinct credentials the cache keeps at most; the oldest entry makes room for a new one.
MAX_CACHED_CREDENTIALS = 10_000
NO_ISSUER = "Bearer tokens are not accepted: no OpenID Connect issuer is configured."
# Where a WebSocket's `connection_init` payload may carry the header browsers cannot send.
PAYLOAD_AUTHORIZATION = ("Authorization", "authorization")
# A WebSocket close reason may hold at most 123 bytes.
MAX_CLOSE_REASON_BYTES = 123
MALFORMED_PAYLOAD = "Malformed connection_init payload: Authorization must be a string."
SEVERAL_AUTHORIZATIONS = "Send one Authorization header, not several."
CONFLICTING_CREDENTIALS = (
    "Conflicting credentials: send one, in the Authorization header or in connection_init."
)


class ViewerCache:
    """The viewers of recently resolved credentials, by the credential's SHA-256.

    Hand-written rather than a dependency or functools.lru_cache: entries need an expiry of
    their own (a token's `exp` may come before the cache's), only successes are kept, and it
    is this small. A dict keeps insertion order, so its first entry is the oldest.
    """

    def __init__(self, seconds: float, max_entries: int = MAX_CACHED_CREDENTIALS) -> None:
        self.seconds = seconds
        self.max_entries = max_entries
        self.entries: dict[str, tuple[float, Viewer]] = {}

    def get(self, digest: str) -> Viewer | None:
        """The cached viewer of a credential, unless expired."""
        entry = self.entries.get(digest)
        if entry is None:
            return None
        expires, viewer = entry
        if expires <= time.monotonic():
            del self.entries[digest]
            return None
        return viewer

    def put(self, digest: str, viewer: Viewer, not_after: float | None = None) -> None:
        """Keep `viewer` for the cache's seconds, or until the Unix time `not_after` if sooner."""
        lifetime = self.seconds if not_after is None else min(self.seconds, not_after - time.time())
        if lifetime <= 0:
            return
        if len(self.entries) >= self.max_entries:
            del self.entries[next(iter(self.entries))]
        self.entries[digest] = (time.monotonic() + lifetime, viewer)


class AuthenticatedViewer(BaseUser):
    """Starlette's user of a request: the hub's viewer."""

    def __init__(self, viewer: Viewer) -> None:
        self.viewer = viewer

    @property
    def is_authenticated(self) -> bool:
        return self.viewer is not PUBLIC

    @property
    def display_name(self) -> str:
        return self.viewer.subject


def payload_authorization(payload: object) -> str | None:
    """The `Authorization` (or `authorization`) value of a `connection_init` payload, if any."""
    if not isinstance(payload, dict):
        return None
    values = [payload[name] for name in PAYLOAD_AUTHORIZATION if name in payload]
    if not all(isinstance(value, str) for value in values):
        raise AuthenticationError(MALFORMED_PAYLOAD)
    if len(set(values)) > 1:
        raise AuthenticationError(CONFLICTING_CREDENTIALS)
    return values[0] if values else None


def bearer_credential(authorization: str) -> str:
    """The credential of an `Authorization: Bearer <credential>` header."""
    scheme, _, credential = authorization.partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise AuthenticationError(
            "Malformed Authorization header: expected 'Bearer <API key or token>'."
        )
    return credential.strip()


class BearerBackend(AuthenticationBackend):
    """Resolve the bearer credential of a request to the hub's viewer."""

    def __init__(self, settings: Settings) -> None:
        self.cache = ViewerCache(settings.auth_cache_seconds)
        self.tokens = TokenVerifier.from_settings(settings)

    async def authenticate(self, connection: HTTPConnection) -> tuple[AuthCredentials, BaseUser]:
        authorizations = connection.headers.getlist("authorization")
        if len(authorizations) > 1:
            # Which one counts would be anybody's guess (proxies keep the first or the last).
            raise AuthenticationError(SEVERAL_AUTHORIZATIONS)
        if not authorizations:
            return AuthCredentials(), AuthenticatedViewer(PUBLIC)
        viewer = await self.viewer_of(connection.app.state.sessions, authorizations[0])
        return AuthCredentials([viewer.role.value]), AuthenticatedViewer(viewer)

    async def connection_credential(
        self, websocket: HTTPConnection, payload: object
    ) -> tuple[Viewer, str | None]:
        """The viewer of a WebSocket once its `connection_init` arrived, and the
        `Authorization` value it comes from (None: the public): the payload's credential if
        it names one, else the one its upgrade request authenticated with.

        A payload naming another credential than the upgrade's header is refused: which of
        the two should count is anybody's guess.
        """
        authorization = payload_authorization(payload)
        upgraded: Viewer = websocket.user.viewer
        header = websocket.headers.get("authorization")
        if authorization is None:
            return upgraded, header
        if header is None:
            viewer = await self.viewer_of(websocket.app.state.sessions, authorization)
            return viewer, authorization
        if bearer_credential(header) != bearer_credential(authorization):
            raise AuthenticationError(CONFLICTING_CREDENTIALS)
        return upgraded, header

    async def viewer_of(
        self, sessions: async_sessionmaker[AsyncSession], authorization: str
    ) -> Viewer:
        """The viewer of an `Authorization` value, from the cache if it was checked lately."""
        credential = bearer_credential(authorization)
        digest = hash_key(credential)
        viewer = self.cache.get(digest)
        if viewer is None:
            viewer = await self.resolve(sessions, credential, digest)
        return viewer

    def known_viewer(self, authorization: str) -> Viewer | None:
        """The viewer of an `Authorization` value if the cache holds it (None: it may be
        unknown, refused or expired; only `viewer_of` tells)."""
        try:
            credential = bearer_credential(authorization)
        except AuthenticationError:
            return None
        return self.cache.get(hash_key(credential))

    async def resolve(
        self, sessions: async_sessionmaker[AsyncSession], credential: str, digest: str
    ) -> Viewer:
        """The viewer of an API key or a token, cached once found (failures are not cached)."""
        if credential.startswith(KEY_PREFIX):
            async with sessions() as session:
                viewer = await viewer_of_key(session, digest)
            self.cache.put(digest, viewer)
            return viewer
        if self.tokens is None:
            raise AuthenticationError(NO_ISSUER)
        claims = await self.tokens.claims(credential)
        async with sessions() as session:
            viewer = await self.tokens.viewer(session, claims)
        self.cache.put(digest, viewer, not_after=claims["exp"])
        return viewer


def refuse(connection: HTTPConnection, error: AuthenticationError) -> JSONResponse:
    """401 (503 if the credential could not be checked) with a GraphQL-shaped error."""
    if isinstance(error, AuthenticationUnavailable):
        status, headers = 503, {"Retry-After": "30"}
    else:
        status, headers = 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return JSONResponse({"errors": [refusal_error(error)]}, status_code=status, headers=headers)


def refusal_error(error: AuthenticationError) -> dict[str, object]:
    """A refusal as a GraphQL error: its message and `extensions.code`."""
    return {"message": str(error), "extensions": {"code": refusal_code(error)}}


def refusal_code(error: AuthenticationError) -> str:
    """The `extensions.code` of a refusal."""
    unavailable = isinstance(error, AuthenticationUnavailable)
    return "AUTHENTICATION_UNAVAILABLE" if unavailable else "UNAUTHENTICATED"


def close_reason(error: AuthenticationError) -> str:
    """A refusal's message as a WebSocket close reason, which may hold at most 123 bytes."""
    return str(error).encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")


class BearerAuthentication(AuthenticationMiddleware):
    """Starlette's AuthenticationMiddleware, refusing a WebSocket upgrade as clearly as a request.

    Starlette closes a refused WebSocket with code 1000, "normal closure", and drops the
    reason. This answers the upgrade with the same 401 response where the server supports
    denial responses (uvicorn does), and otherwise closes with 1008, "policy violation", and
    the message as the close reason. (uvicorn's default WebSocket protocol, websockets-sansio,
    then logs a spurious "ASGI callable returned without completing handshake" error; the
    client gets the 401 all the same. The fix is Kludex/uvicorn#3138.)
    """

    def __init__(self, app: ASGIApp, backend: BearerBackend) -> None:
        super().__init__(app, backend, on_error=refuse)
        self.bearer = backend

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await super().__call__(scope, receive, send)
            return
        try:
            scope["auth"], scope["user"] = await self.bearer.authenticate(HTTPConnection(scope))
        except AuthenticationError as error:
            await refuse_websocket(WebSocket(scope, receive, send), error)
            return
        await self.app(scope, receive, send)


async def refuse_websocket(websocket: WebSocket, error: AuthenticationError) -> None:
    """Refuse a WebSocket upgrade with the HTTP refusal, or a close saying why."""
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(refuse(websocket, error))
        return
    await websocket.close(code=WS_1008_POLICY_VIOLATION, reason=close_reason(error))
