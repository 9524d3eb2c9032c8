"""API keys: making, listing and revoking them, and the role and scope each one grants.

Keys look like `ehub_…` and are managed with `engagement-hub keys`; only their SHA-256 is
stored. The `kind:value` scope form (`state:BY`, `funder:<slug>`, `city:<slug>`) is shared with
the claims of OpenID Connect tokens (hub/tokens.py).
"""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.authentication import AuthenticationError

from hub.failures import Refused
from models.access import ApiKey, Role
from models.funding import Funder
from models.geography import City, State
from resolvers.access import Viewer

# Keys look like `ehub_<43 URL-safe characters>`: 256 random bits, recognisable in leaks.
KEY_PREFIX = "ehub_"
KEY_BYTES = 32
# How many leading characters of a key `keys list` shows to tell keys apart.
SHOWN_PREFIX_LENGTH = 12
MAX_KEY_NAME_LENGTH = 200

# The scope each role is limited to, by its kind; the network office has none.
SCOPE_KINDS = {Role.STATE_PARTNER: "state", Role.FUNDER: "funder", Role.COORDINATOR: "city"}
SCOPE_FORMS = {"state": "state:<code>", "funder": "funder:<slug>", "city": "city:<slug>"}
# Per scope kind: the column its value names a row by, the column the key stores, its field.
SCOPE_LOOKUPS: dict[str, tuple[Any, Any, str]] = {
    "state": (State.code, State.code, "state_code"),
    "funder": (Funder.slug, Funder.id, "funder_id"),
    "city": (City.slug, City.id, "city_id"),
}
UNKNOWN_KEY = "The API key is unknown or has been revoked."


class InvalidGrant(Refused, ValueError):
    """A role, scope or key name that cannot be granted; the message says why."""


class UnknownKey(Refused, LookupError):
    """No API key has the id asked for."""


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
