"""Rate limits: a budget of cost points per hour for each API key or token, and for each
address of the public, charged with each query's cost (schema.limits.QueryCost).

A budget is a token bucket holding at most an hour's points and refilling continuously, so a
client that waits gets points back steadily rather than at the end of a window. The buckets
live in the process (each worker its own), or in Redis when `HUB_REDIS_URL` is set, shared by
every process. The `limits` library offers windows only, no bucket; hence the two small
implementations here, the Redis one a single atomic script.
"""

import ipaddress
import logging
import math
import time
from dataclasses import dataclass
from typing import NamedTuple, Protocol

import redis.asyncio as redis
from starlette.requests import HTTPConnection
from starlette.responses import Response

from hub.config import Settings
from hub.gateway import forwarded_client, from_gateway
from resolvers.access import PUBLIC, Viewer

logger = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600
# The network a public IPv6 client is counted by: one host usually holds a whole /64.
IPV6_CLIENT_PREFIX = 64
# The in-process buckets drop the full ones (as good as none) once there are this many.
PRUNE_AT = 10_000
REDIS_TIMEOUT_SECONDS = 1.0

# KEYS[1]: the bucket (its points and when they were counted, in ms of Redis's clock, so that
# all processes share one clock). ARGV: capacity, refill per ms, cost. Returns whether the
# cost was taken, and the points left as text (Redis would cut a number to an integer).
TAKE_SCRIPT = """
local capacity, per_ms, cost = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = clock[1] * 1000 + math.floor(clock[2] / 1000)
local bucket = redis.call('HMGET', KEYS[1], 'points', 'at')
local points = capacity
if bucket[1] then
  points = math.min(capacity, tonumber(bucket[1]) + (now - tonumber(bucket[2])) * per_ms)
end
local taken = 0
if points >= cost then
  points = points - cost
  taken = 1
end
redis.call('HSET', KEYS[1], 'points', points, 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil((capacity - points) / per_ms) + 1)
return {taken, tostring(points)}
"""


@dataclass(frozen=True)
class Charge:
    """The outcome of charging a budget: whether it paid, and what is left."""

    allowed: bool
    limit: int
    points: float
    cost: int

    @property
    def per_second(self) -> float:
        """The points the budget gets back each second."""
        return self.limit / SECONDS_PER_HOUR

    @property
    def retry_after(self) -> int:
        """Seconds until the budget could pay the refused cost."""
        return math.ceil(max(0.0, self.cost - self.points) / self.per_second)

    @property
    def full_at(self) -> int:
        """The Unix time (seconds) when the budget is full again."""
        return math.ceil(time.time() + (self.limit - self.points) / self.per_second)


class Buckets(Protocol):
    """Where the buckets live."""

    async def take(self, key: str, cost: int, capacity: int) -> tuple[bool, float]:
        """Take `cost` points from the bucket `key` if it holds them: (taken, points left)."""
        ...

    async def close(self) -> None:
        """Let go of what the buckets hold open."""
        ...


class Bucket(NamedTuple):
    """An in-process bucket: its points when last counted, and how many it holds at most."""

    points: float
    counted: float
    capacity: int

    def points_at(self, now: float) -> float:
        """The points at the monotonic time `now`, refilled since they were counted."""
        refilled = (now - self.counted) * self.capacity / SECONDS_PER_HOUR
        return min(self.capacity, self.points + refilled)


class MemoryBuckets:
    """Buckets in this process, by key."""

    def __init__(self, prune_at: int = PRUNE_AT) -> None:
        self.buckets: dict[str, Bucket] = {}
        self.least_prune_at = self.prune_at = prune_at

    async def take(self, key: str, cost: int, capacity: int) -> tuple[bool, float]:
        now = time.monotonic()
        points = self.buckets[key].points_at(now) if key in self.buckets else capacity
        taken = points >= cost
        if taken:
            points -= cost
        self.buckets[key] = Bucket(points, now, capacity)
        if len(self.buckets) > self.prune_at:
            self.prune(now)
        return taken, points

    def prune(self, now: float) -> None:
        """Drop the buckets that are full again; prune next when as many more have come."""
        for key, bucket in list(self.buckets.items()):
            if bucket.points_at(now) >= bucket.capacity:
                del self.buckets[key]
        self.prune_at = max(self.least_prune_at, 2 * len(self.buckets))

    async def close(self) -> None:
        pass


class RedisBuckets:
    """Buckets in Redis, shared by every process that uses the same server."""

    def __init__(self, url: str) -> None:
        self.redis = redis.from_url(
            url, socket_timeout=REDIS_TIMEOUT_SECONDS, socket_connect_timeout=REDIS_TIMEOUT_SECONDS
        )
        self.script = self.redis.register_script(TAKE_SCRIPT)

    async def take(self, key: str, cost: int, capacity: int) -> tuple[bool, float]:
        per_ms = capacity / SECONDS_PER_HOUR / 1000
        taken, points = await self.script(
            keys=[f"engagement-hub:rate:{key}"], args=[capacity, repr(per_ms), cost]
        )
        return bool(taken), float(points)

    async def close(self) -> None:
        await self.redis.aclose()


class RateLimiter:
    """The budgets of the public's addresses and of credentials, in one kind of bucket."""

    def __init__(self, settings: Settings) -> None:
        self.public_budget = settings.rate_limit_public
        self.key_budget = settings.rate_limit_key
        self.buckets: Buckets = (
            RedisBuckets(settings.redis_url) if settings.redis_url else MemoryBuckets()
        )

    async def charge(self, request: HTTPConnection, viewer: Viewer, cost: int) -> Charge | None:
        """Charge `cost` to the budget of the request's client (None: it has no budget).

        When Redis cannot be reached the request is not charged: the limits protect the hub,
        and refusing everyone while Redis is down would not.
        """
        budget = self.public_budget if viewer is PUBLIC else self.key_budget
        if budget <= 0:
            return None
        try:
            taken, points = await self.buckets.take(client_key(request, viewer), cost, budget)
        except (redis.RedisError, OSError):
            logger.warning("rate limits unavailable: Redis cannot be reached", exc_info=True)
            return None
        charged = Charge(allowed=taken, limit=budget, points=points, cost=cost)
        request.state.rate_limit = charged
        return charged

    async def close(self) -> None:
        """Close the connections to Redis, if any."""
        await self.buckets.close()


async def charge(request: HTTPConnection | None, viewer: Viewer, cost: int) -> Charge | None:
    """Charge the cost of an operation, sent over HTTP or a WebSocket, or of an event a
    subscription delivers, to its client's budget (None: no budget applies)."""
    if request is None:
        return None
    limiter: RateLimiter = request.app.state.rate_limiter
    return await limiter.charge(request, viewer, cost)


def client_key(request: HTTPConnection, viewer: Viewer) -> str:
    """Whose budget a request draws on: its credential's, or the public client's address
    (an IPv6 one by its /64 network)."""
    if viewer is not PUBLIC:
        return f"subject:{viewer.subject}"
    host = public_client(request)
    if ":" not in host:  # IPv4 (or a name): as it is, without parsing it on every request
        return f"address:{host}"
    try:
        network = ipaddress.ip_network((host, IPV6_CLIENT_PREFIX), strict=False)
    except ValueError:
        return f"address:{host}"
    return f"address:{network}"


def public_client(request: HTTPConnection) -> str:
    """The public client's address: behind the gateway (`hub.gateway`) the one it forwards,
    else the request's own."""
    if from_gateway(request) and (forwarded := forwarded_client(request)):
        return forwarded
    return request.client.host if request.client else "unknown"


def add_headers(request: HTTPConnection, response: Response) -> None:
    """The budget in the response's headers, as GitHub sends them; a refused request's
    response becomes 429 Too Many Requests with `Retry-After`."""
    charged: Charge | None = getattr(request.state, "rate_limit", None)
    if charged is None:
        return
    response.raw_headers += budget_headers(charged)
    if not charged.allowed:
        response.status_code = 429


def budget_headers(charged: Charge) -> list[tuple[bytes, bytes]]:
    """The headers telling a client its budget after `charged`, and when to retry if it was
    refused."""
    headers = [
        (b"x-ratelimit-limit", str(charged.limit).encode()),
        (b"x-ratelimit-remaining", str(math.floor(charged.points)).encode()),
        (b"x-ratelimit-reset", str(charged.full_at).encode()),
    ]
    if not charged.allowed:
        headers.append((b"retry-after", str(charged.retry_after).encode()))
    return headers
