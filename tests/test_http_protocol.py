"""GraphQL over HTTP (hub/http_protocol.py): media types, status codes, operation rules, and
every request refused before it runs answered as a GraphQL error with a code."""

from typing import Any

import httpx
import pytest
from graphql import get_introspection_query
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.http_protocol import GRAPHQL_RESPONSE, JSON, MAX_JSON_DEPTH, response_media_type
from tests.test_production import hub, production_settings

STATES = "{ states { code } }"
TWO_OPERATIONS = "query A { states { code } } query B { sectors { code } }"
ACCEPT_GRAPHQL = {"Accept": GRAPHQL_RESPONSE}


def error_codes(response: httpx.Response) -> list[str]:
    """The `extensions.code` of each error of a response (which must be JSON)."""
    return [error["extensions"]["code"] for error in response.json()["errors"]]


def nested(depth: int) -> Any:
    """A JSON value of lists nested `depth` deep."""
    value: Any = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (None, JSON),
        ("", JSON),
        ("*/*", JSON),
        ("application/json", JSON),
        ("application/*", JSON),
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),
        (f"application/json, {GRAPHQL_RESPONSE}", GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE};q=0.5, application/json", JSON),
        (f"{GRAPHQL_RESPONSE};q=0, */*", JSON),
        ("text/html, */*;q=0.8", JSON),
        ("text/csv", None),
        ("application/json;q=0", None),
        ("application/json;q=nonsense", None),
    ],
)
def test_the_answer_takes_the_media_type_the_client_prefers(
    accept: str | None, media_type: str | None
) -> None:
    assert response_media_type(accept) == media_type


async def test_a_client_accepting_graphql_response_json_gets_it(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": STATES}, headers=ACCEPT_GRAPHQL)
    assert response.status_code == 200
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert response.json()["data"] == {"states": []}


@pytest.mark.parametrize("query", ["{ states { mayor } }", "{ states {", "query($n: Int!) { x }"])
async def test_a_request_error_is_400_without_data_in_graphql_response_json(
    client: httpx.AsyncClient, query: str
) -> None:
    response = await client.post("/graphql", json={"query": query}, headers=ACCEPT_GRAPHQL)
    assert response.status_code == 400
    assert response.headers["content-type"] == GRAPHQL_RESPONSE
    assert "data" not in response.json()
    assert response.json()["errors"]


async def test_a_request_error_is_200_with_null_data_in_json(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": "{ states { mayor } }"})
    assert response.status_code == 200
    assert response.headers["content-type"] == JSON
    assert response.json()["data"] is None


async def test_a_field_error_is_200_in_either_media_type(demo_client: httpx.AsyncClient) -> None:
    query = '{ node(id: "Q2l0eTowNTg=") { id } }'  # City:058, no ID the hub gives out
    for headers in ({}, ACCEPT_GRAPHQL):
        response = await demo_client.post("/graphql", json={"query": query}, headers=headers)
        assert response.status_code == 200
        assert response.json()["data"] == {"node": None}
        assert error_codes(response) == ["BAD_USER_INPUT"]


async def test_errors_follow_their_fields_in_the_document(
    demo_client: httpx.AsyncClient, demo_resolver_client: httpx.AsyncClient
) -> None:
    """The resolvers finish `b` (one lookup) before `a` (three levels down), the compiled path
    builds both at once: either way, one body with the errors in the document's order."""
    query = """{
      a: city(slug: "apolda") {
        localNetwork { actors(first: 2) { edges { node { contacts { fullName } } } } }
      }
      b: city(slug: "apolda") { contacts { fullName } }
    }"""
    compiled, resolved = [
        (await client.post("/graphql", json={"query": query})).json()
        for client in (demo_client, demo_resolver_client)
    ]
    actors = ["a", "localNetwork", "actors", "edges"]
    assert [error["path"] for error in resolved["errors"]] == [
        [*actors, 0, "node", "contacts"],
        [*actors, 1, "node", "contacts"],
        ["b", "contacts"],
    ]
    assert compiled["errors"] == resolved["errors"]


async def test_an_unacceptable_accept_is_406(client: httpx.AsyncClient) -> None:
    response = await client.post("/graphql", json={"query": STATES}, headers={"Accept": "text/csv"})
    assert response.status_code == 406
    assert error_codes(response) == ["NOT_ACCEPTABLE"]


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/graphql", "application/json; charset=latin-1", "", "x/json"],
)
async def test_a_body_that_is_not_json_is_415(client: httpx.AsyncClient, content_type: str) -> None:
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ states { code } }"}',
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == JSON
    assert error_codes(response) == ["UNSUPPORTED_MEDIA_TYPE"]


@pytest.mark.parametrize(
    "content_type", ["application/json; charset=UTF-8", "Application/JSON", "APPLICATION/json"]
)
async def test_json_is_read_whatever_the_case_of_its_media_type(
    client: httpx.AsyncClient, content_type: str
) -> None:
    """Media types and charsets ignore case (RFC 9110); strawberry's own check does not."""
    response = await client.post(
        "/graphql",
        content=b'{"query": "{ states { code } }"}',
        headers={"Content-Type": content_type},
    )
    assert response.status_code == 200
    assert response.json()["data"] == {"states": []}


async def test_a_mutation_by_get_is_405(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", params={"query": "mutation { __typename }"})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert error_codes(response) == ["METHOD_NOT_ALLOWED"]


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_subscription_over_http_is_a_request_error(
    client: httpx.AsyncClient, method: str
) -> None:
    query = "subscription { fundingRecorded { id } }"
    if method == "GET":
        response = await client.get("/graphql", params={"query": query})
    else:
        response = await client.post("/graphql", json={"query": query})
    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]
    assert "WebSocket" in response.json()["errors"][0]["message"]


async def test_several_operations_without_a_name_are_a_request_error(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/graphql", json={"query": TWO_OPERATIONS})
    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]
    assert "operationName" in response.json()["errors"][0]["message"]


async def test_the_named_one_of_several_operations_runs(client: httpx.AsyncClient) -> None:
    body = {"query": TWO_OPERATIONS, "operationName": "B"}
    response = await client.post("/graphql", json=body)
    assert response.json()["data"] == {"sectors": []}


async def test_an_unknown_operation_name_is_a_request_error(client: httpx.AsyncClient) -> None:
    body = {"query": "query A { states { code } }", "operationName": "B"}
    response = await client.post("/graphql", json=body)
    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]


async def test_two_authorization_headers_are_refused(client: httpx.AsyncClient) -> None:
    headers = [("Authorization", "Bearer ehk_one"), ("Authorization", "Bearer ehk_one")]
    response = await client.post("/graphql", json={"query": STATES}, headers=headers)
    assert response.status_code == 401
    assert error_codes(response) == ["UNAUTHENTICATED"]
    assert "one Authorization header" in response.json()["errors"][0]["message"]


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 400, 1000])
async def test_variables_nested_too_deeply_are_a_clear_400(
    client: httpx.AsyncClient, depth: int
) -> None:
    # Written by hand: Python's JSON encoder itself recurses.
    variables = "[" * depth + '"leaf"' + "]" * depth
    body = '{"query": "query($x: String) { city(slug: $x) { name } }", "variables": {"x": %s}}'
    response = await client.post(
        "/graphql",
        content=(body % variables).encode(),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]
    assert "nests deeper" in response.json()["errors"][0]["message"]


async def test_variables_nested_within_the_limit_reach_graphql(client: httpx.AsyncClient) -> None:
    query = "query($x: String!) { city(slug: $x) { name } }"
    body = {"query": query, "variables": {"x": nested(MAX_JSON_DEPTH - 1)}}
    response = await client.post("/graphql", json=body)
    assert response.status_code == 200
    assert "Variable '$x' has invalid value" in response.json()["errors"][0]["message"]


async def test_a_nul_character_is_a_graphql_json_400(client: httpx.AsyncClient) -> None:
    body = {"query": "query($s: String!) { city(slug: $s) { name } }", "variables": {"s": "a\x00"}}
    response = await client.post("/graphql", json=body)
    assert response.status_code == 400
    assert response.headers["content-type"] == JSON
    assert error_codes(response) == ["BAD_REQUEST"]


async def test_malformed_json_is_a_graphql_json_400(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", content=b'{"query": "{ states', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert error_codes(response) == ["BAD_REQUEST"]


@pytest.mark.parametrize("accept", [None, GRAPHQL_RESPONSE])
async def test_production_refuses_introspection_with_one_coded_error(
    demo_connection: AsyncConnection, monkeypatch: pytest.MonkeyPatch, accept: str | None
) -> None:
    headers = {"Accept": accept} if accept else {}
    async with hub(demo_connection, production_settings(monkeypatch)) as client:
        body = {"query": get_introspection_query()}
        response = await client.post("/graphql", json=body, headers=headers)
    assert error_codes(response) == ["INTROSPECTION_DISABLED"]
    assert response.status_code == (400 if accept else 200)


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        ({"query": "{ states { code "}, "GRAPHQL_PARSE_FAILED"),
        ({"query": "{ states { mayor } }"}, "GRAPHQL_VALIDATION_FAILED"),
        (
            {
                "query": "query($n: Int) { cities(first: $n) { totalCount } }",
                "variables": {"n": "x"},
            },
            "BAD_USER_INPUT",
        ),
        ({"query": "query($n: Int!) { cities(first: $n) { totalCount } }"}, "BAD_USER_INPUT"),
    ],
    ids=["syntax", "validation", "a variable of the wrong type", "a variable missing"],
)
async def test_a_request_error_says_what_kind_of_mistake_it_is(
    client: httpx.AsyncClient, request_body: dict[str, Any], code: str
) -> None:
    """Request errors carry a code (graphql-core gives these none), Apollo Server's."""
    response = await client.post("/graphql", json=request_body)
    assert [error["extensions"]["code"] for error in response.json()["errors"]] == [code]
