"""Hostile and careless requests: random, malformed and oversized queries, variables and bodies.

Whatever arrives, the hub answers without a 5xx, without a traceback or SQL in the answer, and
keeps answering ordinary queries.
"""

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from schema import schema
from schema.extensions import UNEXPECTED_MESSAGE
from tests.conftest import asgi_client
from tests.generated_queries import queries
from tests.helpers import property_settings

# What an answer must never hold: internals of Python, SQLAlchemy, asyncpg or PostgreSQL.
LEAKS = ("Traceback", 'File "', "SELECT ", "sqlalchemy", "asyncpg", "psycopg", "postgres")

EXAMPLES = [
    path.read_text()
    for path in sorted(
        (Path(__file__).resolve().parent.parent / "docs" / "queries").glob("*.graphql")
    )
] + [
    '{ city(slug: "koenigswinter") { name localNetwork { actors(first: 3) { totalCount } } } }',
    "query S($text: String!, $first: Int) { search(text: $text, first: $first) { totalCount } }",
    "query N($ids: [ID!]!) { nodes(ids: $ids) { id } }",
]
VARIABLE_NAMES = ["slug", "first", "last", "after", "text", "ids", "state", "funder", "x"]
GRAPHQL_PIECES = ["{", "}", "(", ")", "...", "$", ":", "@include(if: true)", "first: -1", '"', "#"]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)  # what JSON can carry
    | st.text(max_size=30),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
variables = st.none() | st.dictionaries(
    st.sampled_from(VARIABLE_NAMES) | st.text(max_size=8), json_values, max_size=4
)


@st.composite
def mangled(draw: st.DrawFn) -> str:
    """An example query with a slice cut out, repeated, or replaced by GraphQL-ish debris."""
    query = draw(st.sampled_from(EXAMPLES))
    start = draw(st.integers(0, len(query)))
    end = draw(st.integers(start, min(len(query), start + 40)))
    middle = draw(
        st.sampled_from(["", query[start:end] * 2])
        | st.lists(st.sampled_from(GRAPHQL_PIECES) | st.text(max_size=5), max_size=6).map(" ".join)
    )
    return query[:start] + middle + query[end:]


documents = st.one_of(
    st.text(max_size=200),
    st.text(st.characters(codec="ascii"), max_size=200),
    mangled(),
    queries(schema._schema).map(lambda generated: generated[0]),
    # Oversized: deep, long, wide.
    st.integers(1, 3000).map(lambda n: "{ a" * n + " }" * n),
    st.integers(1, 8000).map(lambda n: "{ " + "__typename " * n + "}"),
    st.integers(1, 300).map(
        lambda n: "{ " + " ".join(f"a{i}: __typename" for i in range(n)) + " }"
    ),
)

CONTENT_TYPES = [
    "application/json",
    "application/graphql",
    "application/graphql-response+json",
    "text/plain",
    "multipart/form-data; boundary=x",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin-1",
]
bodies = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    json_values.map(lambda value: json.dumps(value).encode()),
    st.tuples(mangled(), variables).map(
        lambda pair: json.dumps({"query": pair[0], "variables": pair[1]}).encode()
    ),
    st.sampled_from([b"[" * 5000, b'{"query": "{ __typename }", "variables": "\\ud800"}']),
)


@pytest.fixture
async def client(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data without rate limits (the fuzzing would spend any budget)."""
    hub_settings = replace(Settings.from_env(), rate_limit_public=0)
    async for client in asgi_client(demo_connection, hub_settings):
        yield client


async def survives(
    connection: AsyncConnection, client: httpx.AsyncClient, request: httpx.Request
) -> None:
    """Send `request`: no 5xx, no internal error (masked or not), no error without a code and
    nothing internal in the answer; an ordinary query still answers."""
    savepoint = await connection.begin_nested()
    try:
        response = await client.send(request)
        event(f"HTTP {response.status_code}")
        assert response.status_code < 500, response.text
        # A word the request sent may come back in a message that names what was sent.
        sent = str(request.url) + request.content.decode(errors="replace")
        for leak in LEAKS:
            assert leak not in response.text or leak in sent, response.text
        assert not not_client_errors(response), response.text
        ordinary = await client.post("/graphql", json={"query": "{ states { code } }"})
        assert len(ordinary.json()["data"]["states"]) == 16
    finally:
        await savepoint.rollback()


def not_client_errors(response: httpx.Response) -> list[Any]:
    """The errors of an answer that are no coded client errors: internal ones (masked as
    "Unexpected error.", or coded so) and those without a code. A client's mistake is a
    client error that says what kind it is (`extensions.code`)."""
    try:
        body = response.json()
    except ValueError:
        return []
    errors = body.get("errors") if isinstance(body, dict) else None
    return [
        error
        for error in errors or []
        if error.get("message") == UNEXPECTED_MESSAGE
        or (error.get("extensions") or {}).get("code") in (None, "INTERNAL_SERVER_ERROR")
    ]


@property_settings(max_examples=150)
@given(document=documents, given_variables=variables, operation=st.none() | st.text(max_size=8))
async def test_random_queries_and_variables(
    demo_connection: AsyncConnection,
    client: httpx.AsyncClient,
    document: str,
    given_variables: Any,
    operation: str | None,
) -> None:
    body = {"query": document, "variables": given_variables, "operationName": operation}
    await survives(demo_connection, client, client.build_request("POST", "/graphql", json=body))


@property_settings(max_examples=100)
@given(body=bodies, content_type=st.sampled_from(CONTENT_TYPES) | st.text(max_size=20))
async def test_random_bodies_and_content_types(
    demo_connection: AsyncConnection, client: httpx.AsyncClient, body: bytes, content_type: str
) -> None:
    headers = {"Content-Type": content_type.encode("ascii", "replace").decode()}
    request = client.build_request("POST", "/graphql", content=body, headers=headers)
    await survives(demo_connection, client, request)


@property_settings(max_examples=50)
@given(document=documents, given_variables=st.text(max_size=40) | variables.map(json.dumps))
async def test_random_get_requests(
    demo_connection: AsyncConnection, client: httpx.AsyncClient, document: str, given_variables: str
) -> None:
    params = {"query": document, "variables": given_variables}
    request = client.build_request("GET", "/graphql", params=params)
    await survives(demo_connection, client, request)
