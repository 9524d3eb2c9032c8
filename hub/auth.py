"""Authentication: who sends a request, from its `Authorization: Bearer <credential>` header.

Two kinds of credential: the hub's own API keys (`ehub_…`, managed with `engagement-hub keys`)
and JWTs of an OpenID Connect provider, whose claims name the same roles and scopes. A request
without the header is the public's; a bad credential is refused with 401, never treated as the
public's: a client must learn that its key or token no longer works.

Starlette's AuthenticationMiddleware (`BearerAuthentication`, refusing WebSockets clearly) runs
the backend below for every HTTP and WebSocket request. Resolved credentials are cached for
`HUB_AUTH_CACHE_SECONDS`, so a revoked key keeps working that long in each process.
"""

import asyncio
import hashlib
import logging
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import jwt
from sqlalchemy import func, select, update
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
from models.access import ApiKey, Role
from models.funding import Funder
from models.geography import City, State
from resolvers.access import PUBLIC, Viewer

logger = logging.getLogger(__name__)

# Keys look like `ehub_<43 URL-safe characters>`: 256 random bits, recognisable in leaks.
KEY_PREFIX = "ehub_"
KEY_BYTES = 32
# How many leading characters of a key `keys list` shows to tell keys apart.
SHOWN_PREFIX_LENGTH = 12
MAX_KEY_NAME_LENGTH = 200
# The audit log's subject column holds `oidc:<sub>` in at most this many characters.
MAX_SUBJECT_LENGTH = 200

# The scope each role is limited to, by its kind; the network office has none.
SCOPE_KINDS = {Role.STATE_PARTNER: "state", Role.FUNDER: "funder", Role.COORDINATOR: "city"}
SCOPE_FORMS = {"state": "state:<code>", "funder": "funder:<slug>", "city": "city:<slug>"}
# Per scope kind: the column its value names a row by, the column the key stores, its field.
SCOPE_LOOKUPS: dict[str, tuple[Any, Any, str]] = {
    "state": (State.code, State.code, "state_code"),
    "funder": (Funder.slug, Funder.id, "funder_id"),
    "city": (City.slug, City.id, "city_id"),
}

# A JWKS publishes public keys: a symmetric algorithm (HS*) would verify with a key anyone can
# read, and `none` with no key at all. Only these are accepted, whatever a token's header says.
ASYMMETRIC_ALGORITHMS = [
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "EdDSA"),
]
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
JWKS_TIMEOUT_SECONDS = 5.0
# Distinct credentials the cache keeps at most; the oldest entry makes room for a new one.
MAX_CACHED_CREDENTIALS = 10_000

NO_ISSUER = "Bearer tokens are not accepted: no OpenID Connect issuer is configured."
MALFORMED_TOKEN = "The bearer credential is neither an API key (ehub_…) nor a well-formed JWT."
UNKNOWN_KEY = "The API key is unknown or has been revoked."


class InvalidGrant(ValueError):
    """A role, scope or key name that cannot be granted; the message says why."""


class UnknownKey(LookupError):
    """No API key has the id asked for."""


class AuthenticationUnavailable(AuthenticationError):
    """The credential could not be checked (the token issuer is unreachable); not its fault."""


def new_key() -> str:
    """A fresh random API key, shown once at creation and never stored."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    """What the database keeps of a key: its SHA-256, hex-encoded."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class ScopeName:
    """A scope as written on the command line and in token claims: `kind:value`."""

    kind: str
    value: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.value}"

    @classmethod
    def parse(cls, text: str) -> "ScopeName":
        """`state:BY`, `funder:<slug>` or `city:<slug>`; anything else is refused."""
        kind, _, value = text.partition(":")
        if kind not in SCOPE_FORMS or not value:
            forms = ", ".join(SCOPE_FORMS.values())
            raise InvalidGrant(f"Malformed scope {text!r}: expected one of {forms}.")
        return cls(kind, value)


@dataclass(frozen=True)
class Grant:
    """A role with its scope resolved to the row it names: what a key or token may do."""

    role: Role
    state_code: str | None = None
    funder_id: int | None = None
    city_id: int | None = None

    def viewer(self, subject: str) -> Viewer:
        """The viewer of a request made with this grant by `subject`."""
        return Viewer(self.role, subject, self.state_code, self.funder_id, self.city_id)


def parse_role(name: str) -> Role:
    """The role named `name`; the public is no role a credential can carry."""
    grantable = [Role.ADMIN, *SCOPE_KINDS]
    role = next((role for role in grantable if role.value == name), None)
    if role is None:
        expected = ", ".join(role.value for role in grantable)
        raise InvalidGrant(f"Unknown role {name!r}: expected one of {expected}.")
    return role


async def resolve_grant(session: AsyncSession, role_name: str, scope_text: str | None) -> Grant:
    """The grant of a role and a `kind:value` scope, which must fit it and name an existing row."""
    role = parse_role(role_name)
    scope = None if scope_text is None else ScopeName.parse(scope_text)
    kind = SCOPE_KINDS.get(role)
    if kind is None:
        if scope is not None:
            raise InvalidGrant("The admin role takes no scope: the network office sees everything.")
        return Grant(role)
    if scope is None or scope.kind != kind:
        raise InvalidGrant(f"The {role.value} role needs the scope {SCOPE_FORMS[kind]}.")
    named_by, found, field = SCOPE_LOOKUPS[kind]
    value = await session.scalar(select(found).where(named_by == scope.value))
    if value is None:
        raise InvalidGrant(f"Unknown {kind} in scope {str(scope)!r}.")
    return Grant(role, **{field: value})


async def create_key(session: AsyncSession, name: str, grant: Grant) -> tuple[int, str]:
    """Store a new key named `name` with `grant`; return its id and the key itself."""
    if not name.strip() or len(name) > MAX_KEY_NAME_LENGTH:
        raise InvalidGrant(f"A key's name must be 1 to {MAX_KEY_NAME_LENGTH} characters long.")
    key = new_key()
    row = ApiKey(
        name=name,
        role=grant.role,
        state_code=grant.state_code,
        funder_id=grant.funder_id,
        city_id=grant.city_id,
        key_prefix=key[:SHOWN_PREFIX_LENGTH],
        key_hash=hash_key(key),
    )
    session.add(row)
    await session.flush()
    return row.id, key


@dataclass(frozen=True)
class KeyListing:
    """What `keys list` shows of a key: never its hash."""

    id: int
    name: str
    role: Role
    scope: ScopeName | None
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


async def list_keys(session: AsyncSession) -> list[KeyListing]:
    """Every key, revoked ones included, oldest first, with its scope by code or slug."""
    rows = await session.execute(
        select(
            ApiKey.id,
            ApiKey.name,
            ApiKey.role,
            ApiKey.state_code,
            Funder.slug.label("funder_slug"),
            City.slug.label("city_slug"),
            ApiKey.key_prefix,
            ApiKey.created_at,
            ApiKey.revoked_at,
        )
        .outerjoin(Funder, Funder.id == ApiKey.funder_id)
        .outerjoin(City, City.id == ApiKey.city_id)
        .order_by(ApiKey.id)
    )
    listings = []
    for row in rows:
        scopes = [("state", row.state_code), ("funder", row.funder_slug), ("city", row.city_slug)]
        scope = next((ScopeName(kind, value) for kind, value in scopes if value), None)
        listings.append(
            KeyListing(
                row.id, row.name, row.role, scope, row.key_prefix, row.created_at, row.revoked_at
            )
        )
    return listings


async def revoke_key(session: AsyncSession, key_id: int) -> tuple[datetime, bool]:
    """Revoke key `key_id`: when it was revoked, and whether it was revoked just now."""
    revoked_now = await session.scalar(
        update(ApiKey)
        .where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
        .values(revoked_at=func.now())
        .returning(ApiKey.revoked_at)
    )
    if revoked_now is not None:
        return revoked_now, True
    revoked_before = await session.scalar(select(ApiKey.revoked_at).where(ApiKey.id == key_id))
    if revoked_before is None:
        raise UnknownKey(f"No API key has the id {key_id}; `keys list` shows them.")
    return revoked_before, False


async def viewer_of_key(session: AsyncSession, digest: str) -> Viewer:
    """The viewer of the API key with SHA-256 `digest`; an unknown or revoked key is refused."""
    found = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == digest, ApiKey.revoked_at.is_(None))
    )
    if found is None:
        raise AuthenticationError(UNKNOWN_KEY)
    grant = Grant(found.role, found.state_code, found.funder_id, found.city_id)
    return grant.viewer(f"key:{found.id}")


# Token flaws a client can fix, most specific first (PyJWT's errors subclass one another).
TOKEN_FLAWS: list[tuple[type[jwt.InvalidTokenError], str]] = [
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet: its 'nbf' lies in the future."),
    (jwt.InvalidAudienceError, "The token was issued for another audience."),
    (jwt.InvalidIssuerError, "The token was issued by another issuer."),
    (jwt.InvalidSignatureError, "The token's signature is not valid."),
    (jwt.InvalidAlgorithmError, "The token's signing algorithm does not match its key."),
]


def token_flaw(error: jwt.InvalidTokenError) -> str:
    """What is wrong with a token, in words for its client (no library internals)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The token has no '{error.claim}' claim."
    return next(
        (message for flaw, message in TOKEN_FLAWS if isinstance(error, flaw)),
        "The token is not valid.",
    )


class TokenVerifier:
    """Checks JWTs of the configured OpenID Connect issuer against the keys it publishes."""

    def __init__(
        self, issuer: str, audience: str, jwks_url: str, role_claim: str, scope_claim: str
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self.scope_claim = scope_claim
        # PyJWKClient caches the key set (5 minutes) and refetches it for an unknown key id at
        # most every 30 seconds, so forged key ids cannot make every request fetch it.
        self.jwks = jwt.PyJWKClient(jwks_url, timeout=JWKS_TIMEOUT_SECONDS)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TokenVerifier | None":
        """The verifier of the configured issuer; None when no issuer is configured."""
        if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
            return None
        return cls(
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_jwks_url,
            settings.oidc_role_claim,
            settings.oidc_scope_claim,
        )

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; any flaw is refused with a message naming it."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise AuthenticationError(MALFORMED_TOKEN) from None
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise AuthenticationError(
                "The token's signing algorithm is not accepted: it must be an asymmetric one "
                "(RS256, ES256, ...) with a key the issuer publishes."
            )
        signing_key = await self.signing_key(token)
        try:
            return jwt.decode(
                token,
                signing_key,
                algorithms=ASYMMETRIC_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise AuthenticationError(token_flaw(error)) from None

    async def signing_key(self, token: str) -> jwt.PyJWK:
        """The issuer's key that signed `token`, by the key id in its header."""
        try:
            # urllib blocks: fetch in a thread. Mostly this is a lookup in the cached key set.
            return await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as error:
            logger.warning("fetching the OpenID Connect signing keys failed: %s", error)
            raise AuthenticationUnavailable(
                "The token issuer's signing keys could not be fetched; try again later."
            ) from None
        except jwt.InvalidTokenError:
            raise AuthenticationError(MALFORMED_TOKEN) from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError) as error:
            logger.info("token refused, no signing key: %s", error)
            raise AuthenticationError(
                "The token names no signing key the issuer publishes."
            ) from None

    async def viewer(self, session: AsyncSession, claims: dict[str, Any]) -> Viewer:
        """The viewer of verified `claims`: their role and scope claims, their subject."""
        role, scope = claims.get(self.role_claim), claims.get(self.scope_claim)
        if not isinstance(role, str):
            raise AuthenticationError(f"The token has no '{self.role_claim}' claim naming a role.")
        if scope is not None and not isinstance(scope, str):
            raise AuthenticationError(f"The token's '{self.scope_claim}' claim must be a string.")
        subject = f"oidc:{claims['sub']}"
        if len(subject) > MAX_SUBJECT_LENGTH:
            raise AuthenticationError("The token's 'sub' claim is too long.")
        try:
            grant = await resolve_grant(session, role, scope)
        except InvalidGrant as error:
            raise AuthenticationError(f"The token grants no access: {error}") from None
        return grant.viewer(subject)


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
        authorization = connection.headers.get("authorization")
        if authorization is None:
            return AuthCredentials(), AuthenticatedViewer(PUBLIC)
        credential = bearer_credential(authorization)
        digest = hash_key(credential)
        viewer = self.cache.get(digest)
        if viewer is None:
            viewer = await self.resolve(connection.app.state.sessions, credential, digest)
        return AuthCredentials([viewer.role.value]), AuthenticatedViewer(viewer)

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
        status, code, headers = 503, "AUTHENTICATION_UNAVAILABLE", {"Retry-After": "30"}
    else:
        status, code = 401, "UNAUTHENTICATED"
        headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return JSONResponse(
        {"errors": [{"message": str(error), "extensions": {"code": code}}]},
        status_code=status,
        headers=headers,
    )


# A WebSocket close reason may hold at most 123 bytes.
MAX_CLOSE_REASON_BYTES = 123


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
    reason = str(error).encode()[:MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
    await websocket.close(code=WS_1008_POLICY_VIOLATION, reason=reason)
