"""Rate limits: a budget of cost points per hour per API key and per public address, in the
process or shared by all processes through Redis; 429 with Retry-After once it is spent."""

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request

from hub.config import Settings
from hub.features import detect
from hub.keys import create_key, resolve_grant
from hub.ratelimit import SECONDS_PER_HOUR, MemoryBuckets, RedisBuckets, client_key
from models import Role
from resolvers.access import PUBLIC, Viewer
from server import create_app
from tests.conftest import sessions_on
from tests.test_cli import environment, free_port, serving

REDIS_URL = "redis://127.0.0.1:6379/0"
CITIES = "{ cities(first: 10) { edges { node { slug } } } }"  # costs 10
BUDGET = 35  # three such queries, and 5 points left


def with_budgets(public: int = BUDGET, key: int = BUDGET, **changes: Any) -> Settings:
    """The environment's settings with these budgets, and the debug figures."""
    return replace(
        Settings.from_env(), rate_limit_public=public, rate_limit_key=key, debug=True, **changes
    )


async def app_on(connection: AsyncConnection, settings: Settings) -> Starlette:
    """A new app on `connection`."""
    return create_app(sessions_on(connection), settings=settings, features=await detect(connection))


def client_of(app: Starlette, address: str = "192.0.2.1") -> httpx.AsyncClient:
    """A client of `app`, calling from `address`."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://hub.test")


@pytest.fixture
async def client(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data with budgets of BUDGET points."""
    async with client_of(await app_on(demo_connection, with_budgets())) as client:
        yield client


async def post(
    client: httpx.AsyncClient, query: str = CITIES, key: str | None = None
) -> httpx.Response:
    """POST `query`, with `key` as bearer credential if given."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return await client.post("/graphql", json={"query": query}, headers=headers)


async def test_every_answer_says_the_budget_left(client: httpx.AsyncClient) -> None:
    before = time.time()
    response = await post(client)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Limit"] == str(BUDGET)
    assert response.headers["X-RateLimit-Remaining"] == str(BUDGET - 10)
    # Full again once the 10 points have come back, at BUDGET points per hour.
    full_in = 10 * SECONDS_PER_HOUR / BUDGET
    assert (
        before + full_in - 1
        <= int(response.headers["X-RateLimit-Reset"])
        <= time.time() + full_in + 1
    )


async def test_a_spent_budget_is_a_429_before_any_sql(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        assert (await post(client)).status_code == 200
    response = await post(client)
    assert response.status_code == 429
    assert response.headers["X-RateLimit-Remaining"] == "5"
    # 5 more points at 35 per hour: 514.3 s.
    assert response.headers["Retry-After"] == "515"
    body = response.json()
    assert body["data"] is None
    assert body["extensions"]["debug"]["sqlStatements"] == 0
    assert body["errors"] == [
        {
            "message": "Rate limit exceeded: this query costs 10 points, and 5 of the 35 points "
            "per hour remain; retry in 515 s.",
            "extensions": {"code": "RATE_LIMITED"},
        }
    ]


async def test_a_cheaper_query_still_fits_what_is_left(client: httpx.AsyncClient) -> None:
    for _ in range(3):
        await post(client)
    response = await post(client, '{ city(slug: "koenigswinter") { name } }')
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "4"


async def test_refused_queries_cost_nothing(client: httpx.AsyncClient) -> None:
    too_deep = "{ a: __typename " + "b: __typename " * 40 + "}"
    assert (await post(client, too_deep)).json()["errors"][0]["extensions"]["code"] == (
        "TOO_MANY_ALIASES"
    )
    response = await post(client)
    assert response.headers["X-RateLimit-Remaining"] == str(BUDGET - 10)


async def test_each_public_address_has_a_budget_of_its_own(
    demo_connection: AsyncConnection,
) -> None:
    app = await app_on(demo_connection, with_budgets())
    async with client_of(app, "192.0.2.1") as first, client_of(app, "192.0.2.2") as second:
        for _ in range(3):
            await post(first)
        assert (await post(first)).status_code == 429
        assert (await post(second)).status_code == 200


async def test_a_key_has_its_own_budget_apart_from_its_address(
    demo_connection: AsyncConnection, client: httpx.AsyncClient
) -> None:
    async with sessions_on(demo_connection)() as session:
        _, key = await add_admin_key(session)
    for _ in range(3):
        await post(client)
    assert (await post(client)).status_code == 429
    response = await post(client, key=key)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == str(BUDGET - 10)


async def add_admin_key(session: AsyncSession) -> tuple[int, str]:
    """A new admin key (committed to the test's savepoint); its id and the key."""
    made = await create_key(session, "rate limit test", await resolve_grant(session, "admin", None))
    await session.commit()
    return made


async def test_keys_and_the_public_have_their_own_budget_sizes(
    demo_connection: AsyncConnection,
) -> None:
    async with sessions_on(demo_connection)() as session:
        _, key = await add_admin_key(session)
    app = await app_on(demo_connection, with_budgets(public=100, key=1000))
    async with client_of(app) as client:
        assert (await post(client)).headers["X-RateLimit-Limit"] == "100"
        assert (await post(client, key=key)).headers["X-RateLimit-Limit"] == "1000"


async def test_a_budget_of_zero_is_no_limit(demo_connection: AsyncConnection) -> None:
    async with client_of(await app_on(demo_connection, with_budgets(public=0))) as client:
        for _ in range(5):
            response = await post(client)
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers


def test_the_public_is_counted_by_address_and_ipv6_by_its_network() -> None:
    app = SimpleNamespace(state=SimpleNamespace(settings=Settings.from_env()))

    def key(host: str, viewer: Viewer = PUBLIC) -> str:
        scope = {"type": "http", "headers": [], "client": (host, 1234), "app": app}
        return client_key(Request(scope), viewer)

    assert key("192.0.2.7") == "address:192.0.2.7"
    assert key("2001:db8:1:2:aaaa::1") == key("2001:db8:1:2:bbbb::9") == "address:2001:db8:1:2::/64"
    assert key("2001:db8:1:3::1") != key("2001:db8:1:2::1")
    assert key("192.0.2.7", Viewer(role=Role.ADMIN, subject="key:7")) == "subject:key:7"


async def test_a_bucket_refills_steadily() -> None:
    buckets = MemoryBuckets()
    capacity = 3_600_000  # 1,000 points a second
    assert await buckets.take("k", capacity, capacity) == (True, 0)
    taken, _ = await buckets.take("k", 1, capacity)
    assert not taken
    await asyncio.sleep(0.05)
    taken, left = await buckets.take("k", 40, capacity)
    assert taken
    assert 0 <= left < 100


async def test_full_buckets_are_dropped_from_memory() -> None:
    buckets = MemoryBuckets(prune_at=10)
    for number in range(5):
        await buckets.take(f"spent {number}", 10, 10)
        await buckets.take(f"refilled {number}", 1, 3_600_000)
    await asyncio.sleep(0.01)
    await buckets.take("one more", 1, 10)
    # Buckets of 10 points per hour are far from full again; those of 1,000 a second are.
    assert set(buckets.buckets) == {f"spent {number}" for number in range(5)} | {"one more"}
    assert buckets.prune_at == 12


# Redis


@pytest.fixture
def redis_url() -> Iterator[str]:
    """The local Redis (the test skips, saying so, where none answers)."""
    connection = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        connection.ping()
    except redis.RedisError as error:
        pytest.skip(f"no Redis at {REDIS_URL} ({error}); `.ci/run` starts one")
    finally:
        connection.close()
    yield REDIS_URL


async def test_redis_buckets_take_atomically_and_expire(redis_url: str) -> None:
    buckets = RedisBuckets(redis_url)
    key = f"test-{uuid.uuid4().hex}"
    try:
        results = await asyncio.gather(*(buckets.take(key, 10, 100) for _ in range(15)))
        assert sum(taken for taken, _ in results) == 10
        ttl_ms = await buckets.redis.pttl(f"engagement-hub:rate:{key}")
        # 100 points come back in an hour; the bucket is forgotten once full.
        assert SECONDS_PER_HOUR * 1000 - 5000 < ttl_ms <= SECONDS_PER_HOUR * 1000 + 1
    finally:
        await buckets.redis.delete(f"engagement-hub:rate:{key}")
        await buckets.close()


async def test_an_unreachable_redis_leaves_requests_unlimited(
    demo_connection: AsyncConnection, caplog: pytest.LogCaptureFixture
) -> None:
    app = await app_on(demo_connection, with_budgets(redis_url=f"redis://127.0.0.1:{free_port()}"))
    async with client_of(app) as client:
        for _ in range(4):
            response = await post(client)
            assert response.status_code == 200
            assert "X-RateLimit-Limit" not in response.headers
    await app.state.rate_limiter.close()
    assert "rate limits unavailable: Redis cannot be reached" in caplog.text


@pytest.mark.slow
def test_two_processes_sharing_redis_enforce_one_budget(
    redis_url: str, demo_database_url: str
) -> None:
    env = environment(
        DATABASE_URL=demo_database_url,
        HUB_REDIS_URL=redis_url,
        HUB_RATE_LIMIT_PUBLIC=str(BUDGET),
        HUB_MAX_QUERY_COST=str(BUDGET),
    )
    redis.Redis.from_url(redis_url).delete("engagement-hub:rate:address:127.0.0.1")
    ports = [free_port(), free_port()]
    with serving(ports[0], env), serving(ports[1], env):
        statuses = [
            httpx.post(f"http://127.0.0.1:{ports[turn % 2]}/graphql", json={"query": CITIES})
            for turn in range(5)
        ]
    redis.Redis.from_url(redis_url).delete("engagement-hub:rate:address:127.0.0.1")
    # 35 points pay for 3 queries of 10, whichever process answers them.
    assert [response.status_code for response in statuses] == [200, 200, 200, 429, 429]
    remaining = [response.headers["X-RateLimit-Remaining"] for response in statuses]
    assert remaining == ["25", "15", "5", "5", "5"]
