"""Prepared operations (schema.prepared): a query the compiled path answered once is answered
again without strawberry's execution, exactly as the normal path would answer it; whatever is
unusual goes the normal way. The differential tests of test_compiled_path.py ask every query
twice; these tests cover what they do not reach."""

from collections.abc import AsyncIterator
from dataclasses import replace
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.applications import Starlette

from hub.config import Settings
from hub.database import asyncpg_dsn, create_read_pool
from hub.features import detect
from models import Funding, Role
from server import create_app
from tests.conftest import sessions_on
from tests.factories import add_key

CITY = "query City($slug: String!) { city(slug: $slug) { slug name state { code } } }"
# Costs first * (1 + first * (1 + first)) items: over the limit of 500,000 at first = 100.
NESTED = """query Nested($first: Int!) { cities(first: $first) { edges { node {
  partnerCities(first: $first) { edges { node { localNetwork { actors(first: $first) {
  edges { node { name } } } } } } } } } } }"""


def settings(**changes: Any) -> Settings:
    """The environment's settings on the compiled path, with the debug figures."""
    return replace(Settings.from_env(), compiled=True, debug=True, **changes)


async def app_on(connection: AsyncConnection, prepared: bool = True, **changes: Any) -> Starlette:
    """A new app on `connection`; without `prepared`, every request goes the normal way."""
    app = create_app(
        sessions_on(connection), settings=settings(**changes), features=await detect(connection)
    )
    if not prepared:
        app.state.prepared = None
    return app


def client_of(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub.test")


async def ask(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    key: str | None = None,
) -> tuple[int, dict[str, Any], str]:
    """The status, body (without the debug figures) and read path of one request."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"query": query, "variables": variables}
    response = await client.post("/graphql", json=body, headers=headers)
    answer = response.json()
    debug = answer.get("extensions", {}).pop("debug", {})
    return response.status_code, answer, debug.get("readPath", "none")


@pytest.fixture
async def client(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    async with client_of(await app_on(demo_connection)) as client:
        yield client


@pytest.fixture
async def reference(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """An app that answers everything the normal way."""
    async with client_of(await app_on(demo_connection, prepared=False)) as client:
        yield client


async def test_a_prepared_operation_answers_every_value_of_its_bound_variables(
    client: httpx.AsyncClient, reference: httpx.AsyncClient
) -> None:
    first = await ask(client, CITY, {"slug": "apolda"})
    assert first[2] == "compiled"
    for slug in ("dessau-rosslau", "no-such-city", "apolda"):
        status, body, path = await ask(client, CITY, {"slug": slug})
        assert path == "prepared"
        assert (status, body) == (await ask(reference, CITY, {"slug": slug}))[:2]
    assert body["extensions"]["cost"] == {"requested": 1, "limit": 500000}


@pytest.mark.parametrize(
    "variables",
    [{"slug": 5}, {"slug": None}, {}, {"slug": "apolda", "other": 1}],
    ids=["wrong type", "null", "missing", "unknown variable"],
)
async def test_variables_that_do_not_fit_go_the_normal_way(
    client: httpx.AsyncClient, reference: httpx.AsyncClient, variables: dict[str, Any]
) -> None:
    await ask(client, CITY, {"slug": "apolda"})
    status, body, path = await ask(client, CITY, variables)
    assert (status, body) == (await ask(reference, CITY, variables))[:2]
    # Variables GraphQL does not know are left alone, on either way.
    assert path == ("prepared" if "other" in variables else "resolvers")


async def test_a_cost_over_the_limit_is_refused_every_time(client: httpx.AsyncClient) -> None:
    assert (await ask(client, NESTED, {"first": 2}))[2] == "compiled"
    assert (await ask(client, NESTED, {"first": 2}))[2] == "prepared"
    refusals = [await ask(client, NESTED, {"first": 100}) for _ in range(2)]
    assert refusals[0] == refusals[1]
    _status, body, path = refusals[0]
    assert path == "resolvers"  # no read ran
    assert [error["extensions"]["code"] for error in body["errors"]] == ["QUERY_TOO_COSTLY"]


async def test_the_rate_limit_refuses_a_prepared_operation_as_any_other(
    demo_connection: AsyncConnection,
) -> None:
    """Two apps with a budget for one request of CITY: the second request is refused alike,
    whether as a prepared operation or the normal way."""
    answers = []
    for prepared in (True, False):
        app = await app_on(demo_connection, prepared, rate_limit_public=1)
        async with client_of(app) as client:
            await ask(client, CITY, {"slug": "apolda"})
            answers.append(await ask(client, CITY, {"slug": "apolda"}))
    assert answers[0] == answers[1]
    status, body, _path = answers[0]
    assert status == 429
    assert [error["extensions"]["code"] for error in body["errors"]] == ["RATE_LIMITED"]
    assert body["extensions"]["cost"] == {"requested": 1, "limit": 500000}


async def test_each_access_prepares_its_own_operations(
    demo_connection: AsyncConnection, client: httpx.AsyncClient
) -> None:
    """What a viewer may see decides the plan: an administrator's prepared operation does not
    answer the public, who may not see confidential amounts."""
    await demo_connection.execute(
        update(Funding).where(Funding.id % 3 == 0).values(amount_confidential=True)
    )
    async with sessions_on(demo_connection)() as session:
        key = await add_key(session, Role.ADMIN)
        await session.commit()
    query = "{ fundings(first: 50) { edges { node { amountEur } } } }"
    administrator = [await ask(client, query, key=key) for _ in range(2)]
    public = [await ask(client, query) for _ in range(2)]
    assert [path for _status, _body, path in administrator] == ["compiled", "prepared"]
    # The public's plan marks the amounts it may not see: it is not prepared.
    assert [path for _status, _body, path in public] == ["compiled", "compiled"]
    assert "errors" not in administrator[1][1]
    assert public[1][1]["errors"]


async def test_a_prepared_read_over_the_timeout_is_a_clear_error(
    demo_connection: AsyncConnection, demo_database_url: str
) -> None:
    """A read that waits for a lock longer than the statement timeout is cancelled: the
    prepared operation reports it as the normal path does."""
    reads = await create_read_pool(demo_database_url, 1, statement_timeout_ms=200)
    locker = await asyncpg.connect(asyncpg_dsn(demo_database_url))
    answers = []
    try:
        for prepared in (True, False):
            app = create_app(
                sessions_on(demo_connection),
                reads=reads,
                settings=settings(),
                features=await detect(demo_connection),
            )
            if not prepared:
                app.state.prepared = None
            async with client_of(app) as client:
                assert "errors" not in (await ask(client, CITY, {"slug": "apolda"}))[1]
                async with locker.transaction():
                    await locker.execute("LOCK TABLE cities IN ACCESS EXCLUSIVE MODE")
                    answers.append(await ask(client, CITY, {"slug": "apolda"}))
    finally:
        await locker.close()
        await reads.close()
    (status, body, path), (reference_status, reference_body, reference_path) = answers
    assert (path, reference_path) == ("prepared", "compiled")
    assert (status, body) == (reference_status, reference_body)
    assert body["data"] is None
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TIMEOUT"]
