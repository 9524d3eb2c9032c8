"""Persisted queries: Apollo's automatic persisted queries (APQ), and an allowlist of operations.

A client sends `extensions.persistedQuery = {"version": 1, "sha256Hash": ...}`, the SHA-256 of
the query's text, in place of the text; when the hub does not know the hash, the client sends
hash and text once, and the hub keeps the text under its hash. Strawberry does not speak the
protocol (strawberry-graphql/strawberry#1707), so it is written here after Apollo Server's: the
same messages, codes and statuses, which Apollo's clients act on.

In allowlist mode only operations registered ahead of time run (`HUB_ALLOWLIST`: `.graphql`
files, or the manifest Apollo's tools make of a client's operations): by hash or by their exact
text, nothing else.
"""

import hashlib
import json
import logging
import re
from collections import OrderedDict
from pathlib import Path
from typing import Any, Protocol

import redis.asyncio as redis
from graphql import GraphQLError
from redis.exceptions import RedisError

from hub.config import ConfigurationError, Settings

logger = logging.getLogger(__name__)

# As many documents as strawberry's parser cache (schema/__init__.py) keeps parsed.
MEMORY_STORE_SIZE = 1000
# Redis forgets a query a day after it was registered: clients register it again unasked.
REDIS_KEY_PREFIX = "engagement-hub:apq:"
REDIS_TTL_SECONDS = 24 * 3600
# An unreachable Redis must not hold requests up: a lookup that fails is a miss.
REDIS_TIMEOUT_SECONDS = 0.5

SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def query_hash(query: str) -> str:
    """The SHA-256 of a query's text in hex: the id persisted-query clients send."""
    return hashlib.sha256(query.encode()).hexdigest()


class PersistedQueryError(GraphQLError):
    """A request's persisted query cannot run; `status` is the HTTP status to answer with."""

    def __init__(self, message: str, code: str, status: int = 400) -> None:
        super().__init__(message, extensions={"code": code})
        self.status = status


def not_found() -> PersistedQueryError:
    """Apollo's clients answer this one (200, by message or code) by sending the query's text."""
    return PersistedQueryError("PersistedQueryNotFound", "PERSISTED_QUERY_NOT_FOUND", status=200)


def not_supported() -> PersistedQueryError:
    """Apollo's clients answer this one by sending every query's text from then on."""
    return PersistedQueryError(
        "PersistedQueryNotSupported", "PERSISTED_QUERY_NOT_SUPPORTED", status=200
    )


class QueryStore(Protocol):
    """Where the texts of persisted queries are kept, by hash."""

    async def get(self, key: str) -> str | None: ...

    async def put(self, key: str, query: str) -> None: ...

    async def close(self) -> None: ...


class MemoryStore:
    """The queries one process has seen, the least recently used dropped beyond `size`.

    An OrderedDict, like the plan cache of resolvers/plans.py: no dependency for a few lines.
    """

    def __init__(self, size: int = MEMORY_STORE_SIZE) -> None:
        self.size = size
        self.queries: OrderedDict[str, str] = OrderedDict()

    async def get(self, key: str) -> str | None:
        query = self.queries.get(key)
        if query is not None:
            self.queries.move_to_end(key)
        return query

    async def put(self, key: str, query: str) -> None:
        self.queries[key] = query
        self.queries.move_to_end(key)
        while len(self.queries) > self.size:
            self.queries.popitem(last=False)

    async def close(self) -> None:
        """Nothing to release."""


class RedisStore:
    """Queries shared by all processes of the hub through Redis (`HUB_REDIS_URL`).

    Redis is a cache here: when it cannot be reached, a lookup is a miss and a registration is
    skipped (both logged), so clients send the query's text and it runs.
    """

    def __init__(self, url: str) -> None:
        self.redis = redis.from_url(
            url,
            decode_responses=True,
            socket_timeout=REDIS_TIMEOUT_SECONDS,
            socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        )

    async def get(self, key: str) -> str | None:
        try:
            query = await self.redis.get(REDIS_KEY_PREFIX + key)
        except (RedisError, OSError):
            logger.warning("persisted query lookup in Redis failed", exc_info=True)
            return None
        # Text, as the client decodes responses (decode_responses).
        return query if isinstance(query, str) else None

    async def put(self, key: str, query: str) -> None:
        try:
            await self.redis.set(REDIS_KEY_PREFIX + key, query, ex=REDIS_TTL_SECONDS)
        except (RedisError, OSError):
            logger.warning("persisted query registration in Redis failed", exc_info=True)

    async def close(self) -> None:
        await self.redis.aclose()


class Allowlist:
    """The operations registered ahead of time, each under the SHA-256 of its exact text."""

    def __init__(self, queries: dict[str, str]) -> None:
        self.queries = queries

    @classmethod
    def read(cls, path: Path) -> "Allowlist":
        """The operations of an Apollo persisted query manifest (`.json`), or else of every
        `*.graphql` file below the directory `path`, or of the one file `path`."""
        texts = manifest_bodies(path) if path.suffix == ".json" else graphql_files(path)
        logger.info("allowlist: %d operations registered from %s", len(texts), path)
        return cls({query_hash(text): text for text in texts})

    async def get(self, key: str) -> str | None:
        return self.queries.get(key)

    async def put(self, key: str, query: str) -> None:
        """Operations are registered ahead of time, never by a request."""

    async def close(self) -> None:
        """Nothing to release."""


class PersistedQueries:
    """The query a request runs, by the configured mode (`HUB_PERSISTED_QUERIES`).

    `store` is None when persisted queries are off; `allowlist` is set in allowlist mode, where
    it is the store as well.
    """

    def __init__(self, store: QueryStore | None, allowlist: Allowlist | None = None) -> None:
        self.store = store
        self.allowlist = allowlist

    @classmethod
    def from_settings(cls, settings: Settings) -> "PersistedQueries":
        if settings.persisted_queries == "off":
            return cls(store=None)
        if settings.persisted_queries == "allowlist":
            assert settings.allowlist is not None, "Settings.from_env requires it"
            allowlist = Allowlist.read(settings.allowlist)
            return cls(store=allowlist, allowlist=allowlist)
        return cls(store=RedisStore(settings.redis_url) if settings.redis_url else MemoryStore())

    async def query_of(self, query: str | None, extensions: dict[str, Any] | None) -> str | None:
        """The text to run: the request's own, or the one its persisted-query hash stands for.

        A hash beside a text registers the text, if the text is what the hash says.
        """
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            return query
        if self.store is None:
            raise not_supported()
        key = requested_hash(persisted)
        if query is None:
            if (known := await self.store.get(key)) is None:
                raise not_found()
            return known
        if query_hash(query) != key:
            # Else anyone could put their own text under the hash of someone else's query.
            raise PersistedQueryError(
                "The persisted query's sha256Hash is not the SHA-256 of the query sent with it.",
                "PERSISTED_QUERY_HASH_MISMATCH",
            )
        await self.store.put(key, query)
        return query

    def registered(self, key: str) -> bool:
        """Whether the query of SHA-256 `key` is registered (in allowlist mode)."""
        return self.allowlist is not None and key in self.allowlist.queries

    def refusal(self, query: str | None) -> GraphQLError | None:
        """Why `query` may not run (in allowlist mode, when nobody registered it), or None."""
        if self.allowlist is None or query is None:
            return None
        key = query_hash(query)
        if self.registered(key):
            return None
        return GraphQLError(
            f"Only registered operations run on this server, and this one (SHA-256 {key}) "
            "is not registered.",
            extensions={"code": "PERSISTED_QUERY_NOT_ALLOWED"},
        )

    async def close(self) -> None:
        if self.store is not None:
            await self.store.close()


def graphql_files(path: Path) -> list[str]:
    """The texts of the `.graphql` files below `path` (or of the file `path`), byte for byte."""
    files = sorted(path.rglob("*.graphql")) if path.is_dir() else [path]
    if not files:
        raise ConfigurationError(f"HUB_ALLOWLIST: {path} holds no .graphql file")
    # Bytes, not read_text(): that would turn "\r\n" into "\n" and so change the hash.
    return [file.read_bytes().decode() for file in files]


def manifest_bodies(path: Path) -> list[str]:
    """The operations' texts of an Apollo persisted query manifest, the list Apollo's tools
    (`@apollo/generate-persisted-query-manifest`) make of a client's operations as it sends them.
    """
    try:
        manifest = json.loads(path.read_bytes())
        if (manifest["format"], manifest["version"]) != ("apollo-persisted-query-manifest", 1):
            raise ValueError
        operations = [(operation["id"], operation["body"]) for operation in manifest["operations"]]
    except (ValueError, KeyError, TypeError):
        raise ConfigurationError(
            f"HUB_ALLOWLIST: {path} is no Apollo persisted query manifest of version 1"
        ) from None
    for key, body in operations:
        # Clients send the id as the hash, and the hub knows operations by their text's hash.
        if key != query_hash(body):
            raise ConfigurationError(
                f"HUB_ALLOWLIST: the id {key} in {path} is not the SHA-256 of its operation"
            )
    return [body for _, body in operations]


def requested_hash(persisted: object) -> str:
    """The hash a `persistedQuery` extension names, which must be of Apollo's version 1."""
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(
            "Unsupported persisted query version: only version 1 (SHA-256) is supported.",
            "BAD_REQUEST",
        )
    key = persisted.get("sha256Hash")
    if not isinstance(key, str) or not SHA256_HEX.fullmatch(key):
        raise PersistedQueryError(
            "persistedQuery.sha256Hash must be a SHA-256 in hexadecimal (64 digits).",
            "BAD_REQUEST",
        )
    return key.lower()
