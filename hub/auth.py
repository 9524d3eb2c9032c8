"""Authentication: who sends a request, from its `Authorization: Bearer <credential>` header.

Starlette's AuthenticationMiddleware runs the backend below for every HTTP and WebSocket
request; a request without the header is the public's, a bad credential is refused with 401
(never treated as the public's: a client must learn that its key no longer works).
"""

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse

from models.access import ApiKey
from resolvers.access import PUBLIC, Viewer

# Keys look like `ehub_<43 URL-safe characters>`: 256 random bits, recognisable in leaks.
KEY_PREFIX = "ehub_"
KEY_BYTES = 32
# How many leading characters of a key `keys list` shows to tell keys apart.
SHOWN_PREFIX_LENGTH = 12


def new_key() -> str:
    """A fresh random API key, shown once at creation and never stored."""
    return KEY_PREFIX + secrets.token_urlsafe(KEY_BYTES)


def hash_key(key: str) -> str:
    """What the database keeps of a key: its SHA-256, hex-encoded."""
    return hashlib.sha256(key.encode()).hexdigest()


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


async def viewer_of_key(session: AsyncSession, key: str) -> Viewer:
    """The viewer an API key stands for; an unknown or revoked key is refused."""
    found = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(key), ApiKey.revoked_at.is_(None))
    )
    if found is None:
        raise AuthenticationError("The API key is unknown or has been revoked.")
    return Viewer(
        role=found.role,
        subject=f"key:{found.id}",
        state_code=found.state_code,
        funder_id=found.funder_id,
        city_id=found.city_id,
    )


class BearerBackend(AuthenticationBackend):
    """Resolve the bearer credential of a request to the hub's viewer."""

    async def authenticate(
        self, connection: HTTPConnection
    ) -> tuple[AuthCredentials, BaseUser] | None:
        authorization = connection.headers.get("authorization")
        if authorization is None:
            return AuthCredentials(), AuthenticatedViewer(PUBLIC)
        credential = bearer_credential(authorization)
        sessions: async_sessionmaker[AsyncSession] = connection.app.state.sessions
        async with sessions() as session:
            viewer = await viewer_of_key(session, credential)
        return AuthCredentials([viewer.role.value]), AuthenticatedViewer(viewer)


def refuse(connection: HTTPConnection, error: AuthenticationError) -> JSONResponse:
    """401 with a GraphQL-shaped error saying what was wrong with the credential."""
    return JSONResponse(
        {"errors": [{"message": str(error), "extensions": {"code": "UNAUTHENTICATED"}}]},
        status_code=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )
