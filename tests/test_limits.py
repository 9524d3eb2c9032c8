"""The safety limits: each refuses before any SQL runs, saying which limit and by how much, on
both read paths alike; the cost of every answer; the body size limit; the statement timeout."""

import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import get_introspection_query, get_operation_ast, parse
from graphql.execution.values import VariableValues, get_variable_values
from hypothesis import given
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from bench.mix import MIX
from bench.servers import MAX_PAGE_SIZE as BENCH_PAGE_SIZE
from hub.config import ConfigurationError, Settings
from hub.database import create_engine, create_read_pool
from hub.features import detect
from schema import schema
from schema.limits import LIMITS, Cost
from server import create_app
from tests.conftest import asgi_client, sessions_on
from tests.generated_queries import queries
from tests.helpers import property_settings

EXAMPLES = {
    path.stem: path.read_text()
    for path in sorted(
        (Path(__file__).resolve().parent.parent / "docs" / "queries").glob("*.graphql")
    )
}

# Statements that take longer than IMPATIENT_MS on the demo data, on either read path.
HEAVY = """{ cities { edges { node { slug localNetwork { actors(first: 100) {
  edges { node { slug sector { code } contacts { email } } } } }
  fundings(first: 50) { edges { node { title funder { slug } } } } } } } }"""
IMPATIENT_MS = 5
# Three connections nested at their default page of 100: 100 * (1 + 100 * (1 + 100)) items.
COSTLY = """{ cities { edges { node { partnerCities { edges { node {
  localNetwork { actors { edges { node { name } } } } } } } } } } }"""


def debugging(compiled: bool) -> Settings:
    """The environment's settings on one read path, with the debug figures."""
    return replace(Settings.from_env(), compiled=compiled, debug=True)


@pytest.fixture(params=[True, False], ids=["compiled", "resolvers"])
async def client(
    request: pytest.FixtureRequest, demo_connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data, on each read path in turn."""
    async for client in asgi_client(demo_connection, debugging(request.param)):
        yield client


async def ask(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The body of a successful HTTP exchange."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    return response.json()


async def refusal(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The one error of a request refused before any SQL ran."""
    body = await ask(client, query, variables)
    assert body["data"] is None
    assert body["extensions"]["debug"]["sqlStatements"] == 0
    [error] = body["errors"]
    return error


def nested(depth: int) -> str:
    """A query `depth` levels deep: a city, then state → cities → edges → node over and over."""
    levels = ['city(slug: "koenigswinter")']
    while len(levels) < depth:
        levels += ["state", "cities(first: 1)", "edges", "node"][: depth - len(levels)]
    return "{ " + " { ".join(levels) + " { __typename" + " }" * (depth + 1)


async def test_a_query_as_deep_as_the_limit_answers(client: httpx.AsyncClient) -> None:
    body = await ask(client, nested(LIMITS.max_query_depth))
    assert "errors" not in body
    assert body["data"]["city"]["state"]["cities"]["edges"]


async def test_a_query_deeper_than_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    error = await refusal(client, nested(LIMITS.max_query_depth + 1))
    assert error["message"] == "Query depth 16 exceeds the limit of 15."
    assert error["extensions"] == {"code": "QUERY_TOO_DEEP"}


async def test_the_depth_counts_through_fragments_to_the_end(client: httpx.AsyncClient) -> None:
    chain = "".join(
        f"fragment F{i} on City {{ state {{ cities(first: 1) {{ edges {{ node {{ ...F{i + 1} }}"
        " } } } }\n"
        for i in range(5)
    )
    query = '{ city(slug: "koenigswinter") { ...F0 } }\n' + chain + "fragment F5 on City { slug }"
    error = await refusal(client, query)
    assert error["message"] == "Query depth 21 exceeds the limit of 15."


async def test_introspection_counts_into_the_depth(client: httpx.AsyncClient) -> None:
    query = "{ __schema { types { " + "ofType { " * 14 + "name" + " }" * 17
    error = await refusal(client, query)
    assert error["message"] == "Query depth 16 exceeds the limit of 15."


async def test_too_many_aliases_are_refused(client: httpx.AsyncClient) -> None:
    within = " ".join(f"a{i}: __typename" for i in range(LIMITS.max_aliases))
    assert "errors" not in await ask(client, f"{{ {within} }}")
    error = await refusal(client, f"{{ {within} one_more: __typename }}")
    assert error["message"] == "Query has 31 aliases, more than the limit of 30."
    assert error["extensions"] == {"code": "TOO_MANY_ALIASES"}


async def test_a_fragment_spread_twice_per_level_is_refused_at_once(
    client: httpx.AsyncClient,
) -> None:
    # Walking every spread anew (as strawberry's limiters do) would visit 2**40 selections.
    fragments = "".join(
        f"fragment F{i} on City {{ a: state {{ capital }} ...F{i + 1} ...F{i + 1} }}\n"
        for i in range(40)
    )
    query = (
        '{ city(slug: "koenigswinter") { ...F0 } }\n' + fragments + "fragment F40 on City { slug }"
    )
    started = time.perf_counter()
    error = await refusal(client, query)
    assert time.perf_counter() - started < 2
    assert error["message"] == f"Query has {2**40 - 1} aliases, more than the limit of 30."


async def test_too_many_tokens_are_refused_saying_how_many(client: httpx.AsyncClient) -> None:
    error = await refusal(client, "{ " + "__typename " * 2100 + "}")
    assert error["message"] == "Query has 2102 tokens, more than the limit of 2000."
    assert error["extensions"] == {"code": "TOO_MANY_TOKENS"}


async def test_comments_count_as_tokens(client: httpx.AsyncClient) -> None:
    error = await refusal(client, "# padding\n" * 2100 + "{ __typename }")
    assert error["message"] == "Query has 2103 tokens, more than the limit of 2000."


async def test_a_long_syntax_error_within_the_token_limit_stays_a_syntax_error(
    client: httpx.AsyncClient,
) -> None:
    body = await ask(client, "{ " + "__typename " * 500 + "")
    [error] = body["errors"]
    assert error["message"].startswith("Syntax Error: Expected Name, found <EOF>.")


async def test_a_query_costing_more_than_the_limit_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": COSTLY})
    body = response.json()
    assert body["data"] is None
    assert body["extensions"]["debug"]["sqlStatements"] == 0
    assert body["extensions"]["cost"] == {"requested": 1_010_100, "limit": 500_000}
    [error] = body["errors"]
    assert error["message"] == (
        "Query cost 1010100 exceeds the limit of 500000: ask for smaller pages (first/last) "
        "or fewer nested connections."
    )
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}


async def test_a_page_larger_than_the_maximum_is_refused(client: httpx.AsyncClient) -> None:
    error = await refusal(client, "{ cities(first: 101) { edges { node { slug } } } }")
    assert error["message"] == "Argument 'first' cannot be higher than 100."
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


@pytest.mark.parametrize(
    ("variables", "cost"),
    [
        ({"first": 3, "actors": True}, 3 * (1 + 5)),
        ({"first": 7, "actors": True}, 7 * (1 + 5)),
        ({"first": 7, "actors": False}, 7),
        ({"actors": False}, 100),
    ],
)
async def test_the_cost_follows_the_variables(
    client: httpx.AsyncClient, variables: dict[str, Any], cost: int
) -> None:
    query = """query Cities($first: Int, $actors: Boolean!) {
      cities(first: $first) { edges { node { slug
        localNetwork @include(if: $actors) { actors(first: 5) { edges { node { slug } } } } } } }
    }"""
    body = await ask(client, query, variables)
    assert body["extensions"]["cost"] == {"requested": cost, "limit": LIMITS.max_query_cost}


async def test_every_query_costs_at_least_one(client: httpx.AsyncClient) -> None:
    body = await ask(client, "{ __typename }")
    assert body["extensions"]["cost"]["requested"] == 1


@pytest.mark.parametrize("example", EXAMPLES.values(), ids=EXAMPLES.keys())
async def test_the_examples_are_within_every_limit(client: httpx.AsyncClient, example: str) -> None:
    body = await ask(client, example)
    assert "errors" not in body
    assert body["extensions"]["cost"]["requested"] <= LIMITS.max_query_cost


async def test_graphiqls_introspection_is_within_every_limit(client: httpx.AsyncClient) -> None:
    body = await ask(
        client, get_introspection_query(descriptions=True, input_value_deprecation=True)
    )
    assert "errors" not in body


@pytest.mark.parametrize("query", MIX, ids=[query.name for query in MIX])
def test_the_benchmark_queries_are_within_the_cost_limit_at_its_page_size(query: Any) -> None:
    document = parse(query.hub)
    operation = get_operation_ast(document)
    assert operation is not None
    variables = get_variable_values(
        schema._schema, operation.variable_definitions, query.variables(10_000)
    )
    assert isinstance(variables, VariableValues)
    cost = Cost(schema._schema, document, operation, variables, BENCH_PAGE_SIZE).total()
    assert cost <= LIMITS.max_query_cost


def list_items(value: Any) -> int:
    """The items of the lists of objects in a response's data."""
    if isinstance(value, dict):
        return sum(list_items(item) for item in value.values())
    if not isinstance(value, list):
        return 0
    objects = any(isinstance(item, dict) for item in value)
    return (len(value) if objects else 0) + sum(list_items(item) for item in value)


@property_settings(60)
@given(generated=queries(schema._schema))
async def test_no_answer_holds_more_list_items_than_its_cost(
    demo_connection: AsyncConnection, generated: tuple[str, dict[str, Any]]
) -> None:
    query, variables = generated
    savepoint = await demo_connection.begin_nested()
    try:
        async for client in asgi_client(demo_connection, debugging(compiled=True)):
            body = (
                await client.post("/graphql", json={"query": query, "variables": variables})
            ).json()
    finally:
        await savepoint.rollback()
    if "cost" in body.get("extensions", {}):
        assert list_items(body.get("data")) <= body["extensions"]["cost"]["requested"]


# The request body


async def test_a_body_declared_larger_than_the_limit_is_refused_unread(
    client: httpx.AsyncClient,
) -> None:
    query = "{ __typename }" + " " * LIMITS.max_body_bytes
    response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 413
    length = int(response.request.headers["content-length"])
    assert response.json() == {
        "errors": [
            {
                "message": f"Request body has {length} bytes, more than the limit of 65536.",
                "extensions": {"code": "REQUEST_TOO_LARGE"},
            }
        ]
    }


async def test_a_chunked_body_is_read_no_further_than_the_limit(
    client: httpx.AsyncClient,
) -> None:
    chunks_read = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal chunks_read
        yield b'{"query": "{ __typename }", "padding": "'
        for _ in range(100):
            chunks_read += 1
            yield b"x" * 4096
        yield b'"}'

    response = await client.post(
        "/graphql", content=chunks(), headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == (
        "Request body has more than 65536 bytes, the limit."
    )
    assert "content-length" not in response.request.headers
    # The opening chunk and 15 of 4 KiB are within the limit; the 16th passes it, and no more
    # is read.
    assert chunks_read == 16


async def test_a_body_within_the_limit_answers(client: httpx.AsyncClient) -> None:
    query = "{ __typename }" + " " * (LIMITS.max_body_bytes - 100)
    body = await ask(client, query)
    assert body["data"] == {"__typename": "Query"}


# The statement timeout


@pytest.fixture
async def impatient_client(
    request: pytest.FixtureRequest, demo_connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data with a statement timeout of IMPATIENT_MS."""
    async for client in asgi_client(demo_connection, debugging(compiled=request.param)):
        await demo_connection.execute(text(f"SET LOCAL statement_timeout = {IMPATIENT_MS}"))
        yield client


@pytest.mark.parametrize(
    "impatient_client", [True, False], ids=["compiled", "resolvers"], indirect=True
)
async def test_a_statement_over_the_timeout_is_a_clear_error(
    impatient_client: httpx.AsyncClient,
) -> None:
    body = await ask(impatient_client, HEAVY)
    messages = {error["message"] for error in body["errors"]}
    codes = {error["extensions"]["code"] for error in body["errors"]}
    assert messages == {
        "The query ran longer than the statement timeout and was cancelled; "
        "ask for less (smaller pages, fewer nested connections)."
    }
    assert codes == {"TIMEOUT"}


async def test_a_compiled_read_over_the_timeout_on_the_read_pool_is_a_clear_error(
    demo_connection: AsyncConnection, demo_database_url: str
) -> None:
    reads = await create_read_pool(demo_database_url, 1, statement_timeout_ms=IMPATIENT_MS)
    app = create_app(
        sessions_on(demo_connection),
        reads=reads,
        settings=debugging(compiled=True),
        features=await detect(demo_connection),
    )
    try:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://hub.test"
        ) as client:
            body = await ask(client, HEAVY)
    finally:
        await reads.close()
    assert body["extensions"]["debug"]["readPath"] == "compiled"
    assert [error["extensions"]["code"] for error in body["errors"]] == ["TIMEOUT"]


async def test_the_pools_set_the_statement_timeout(demo_database_url: str) -> None:
    engine = create_engine(demo_database_url, statement_timeout_ms=1234)
    try:
        async with engine.connect() as connection:
            shown = (await connection.execute(text("SHOW statement_timeout"))).scalar_one()
    finally:
        await engine.dispose()
    assert shown == "1234ms"
    reads = await create_read_pool(demo_database_url, 1, statement_timeout_ms=1234)
    try:
        assert await reads.fetchval("SHOW statement_timeout") == b"1234ms"
    finally:
        await reads.close()


def test_a_budget_below_the_cost_limit_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_MAX_QUERY_COST", "1000")
    monkeypatch.setenv("HUB_RATE_LIMIT_KEY", "999")
    with pytest.raises(ConfigurationError, match=r"HUB_RATE_LIMIT_KEY \(999\) is below"):
        Settings.from_env()
