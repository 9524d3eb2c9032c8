"""Hostile input over the whole schema: whatever a client sends, a client mistake is a client
error, never a 5xx nor a masked internal error ("Unexpected error.").

Every argument of every field the schema reaches (queries and mutations, nested ones too) gets
values chosen to break it: global IDs in other forms, of other types or out of range, cursors
forged or out of range, numbers beyond any integer, text with NUL or from any script, wrong
types, JSON nested deeper than anything reads; requests of odd shapes (several operations,
unknown names, subscriptions over HTTP, mutations by GET) and odd headers (duplicates, bad
content types, bad Accept), for every role (the sweep as the network office).
tests/test_fuzz.py sends random documents and bodies; this sends well-formed requests with
hostile values.
"""

import base64
import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    Undefined,
)
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.relay import to_base64

from hub.config import Settings
from models import Role
from schema import schema
from tests.conftest import asgi_client
from tests.generated_queries import named
from tests.helpers import property_settings
from tests.test_compiled_path import key_of_role
from tests.test_fuzz import json_values, not_client_errors, survives
from tests.test_privacy import key_for

GRAPHQL = schema._schema
# Root fields finding objects of any type: the way to a type goes through a field of it.
BY_ID = {"node", "nodes", "_entities", "search"}
NODE_TYPES = sorted(
    name
    for name, graphql_type in GRAPHQL.type_map.items()
    if isinstance(graphql_type, GraphQLObjectType)
    and any(interface.name == "Node" for interface in graphql_type.interfaces)
)
OTHER_TYPES = ["Application", "CityStatistics", "User", "Query", "", "city", "City "]
KEYS = ["10", "58", "058", "5_8", " 58", "+58", "٥٨", "-1", "0", "3000000000", "2147483648"]
KEYS += ["99999999999999999999999", "1e3", "x", "NW", "nw", "", "10\x00", "1" * 5000]


def base64_text(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


global_ids = st.one_of(
    st.builds(to_base64, st.sampled_from(NODE_TYPES + OTHER_TYPES), st.sampled_from(KEYS)),
    st.builds(to_base64, st.sampled_from(NODE_TYPES), st.text(max_size=12)),
    st.text(max_size=24).map(base64_text),
    # The hub's own IDs without padding, with characters base64 skips, in URL-safe base64.
    st.sampled_from(["Q2l0eToxMA", "Q2l0eToxMA==\n", " Q2l0eToxMA==", "Q2l0eTox-A=="]),
    st.text(max_size=24),
)
cursors = st.one_of(
    st.sampled_from([-1, 0, 5, 2**31, 2**63, 10**23]).map(
        lambda n: base64_text(f"arrayconnection:{n}")
    ),
    st.sampled_from(["arrayconnection:99999999999999999999999", "", "=", "bm9wZQ=="]),
    json_values.map(lambda value: base64_text(json.dumps(value))),
    st.text(max_size=24).map(base64_text),
    st.text(max_size=24),
)
integers = st.one_of(
    st.integers(-5, 200),
    st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 2**53, 2**63, 2**64, -(2**70)]),
)
texts = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8"), max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "%", "_", "\\", "'", "ä" * 3000, "🏳️‍🌈"]),
)


# For the sweep over every argument: values of the argument's own type (the request runs),
# each known to have broken something, or close to it; the first of each is harmless (it
# fills the arguments not swept).
SHARP_IDS = [
    to_base64(type_name, key)
    for type_name in ("City", "Actor", "Funding", "State", "Application", "User")
    for key in ("10", "058", "+10", "٥٨", "3000000000", "99999999999999999999999", "NW", "")
] + ["Q2l0eToxMA", "Q2l0eToxMA==\n", "nope", ""]
SHARP_CURSORS = [
    base64_text(f"arrayconnection:{offset}") for offset in (-1, 0, 2**31, 2**63, 10**23, "x")
] + ["arrayconnection:99999999999999999999999", "", "bm9wZQ==", base64_text('{"id": 1}')]
SHARP: dict[str, list[Any]] = {
    "ID": SHARP_IDS,
    "Int": [1, -1, 0, 101, 2**31 - 1, -(2**31)],
    "Float": [0.5, -1e308, -0.0, 1e308],
    "String": ["Stiftung", "", " ", "%", "_", "\\", "'", "ä" * 300, "🏳️‍🌈", "٥٨", "NW"],
    "Boolean": [True, False],
    "Date": ["2024-02-29", "0001-01-01", "9999-12-31"],
    "DateTime": ["2024-02-29T12:00:00", "0001-01-01T00:00:00", "9999-12-31T23:59:59+14:00"],
    "Decimal": ["1", "-1", "0", "1e400", "99999999999999999999.99", "0.001", "NaN", "-Infinity"],
    "JSON": [{}, [], 1, "x", {"a": [1, {"b": None}]}],
}


def deeply_nested(depth: int) -> Any:
    """A list of lists `depth` deep."""
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def hostile(graphql_type: Any, name: str) -> st.SearchStrategy[Any]:
    """Values for an argument or input field `name` of `graphql_type`: of its JSON type but
    chosen to break it, and at times of another JSON type."""
    if isinstance(graphql_type, GraphQLNonNull):
        return hostile(graphql_type.of_type, name)
    if isinstance(graphql_type, GraphQLList):
        items = hostile(graphql_type.of_type, name)
        return st.one_of(st.lists(items, max_size=4), items, json_values)
    fitting_value = fitting(graphql_type, name)
    return st.one_of(fitting_value, fitting_value, fitting_value, json_values)


def fitting(graphql_type: Any, name: str) -> st.SearchStrategy[Any]:
    """Values of the argument's own JSON type, chosen to break it."""
    if name in ("after", "before"):
        return cursors
    if isinstance(graphql_type, GraphQLEnumType):
        return st.sampled_from(sorted(graphql_type.values)) | texts
    if isinstance(graphql_type, GraphQLInputObjectType):
        fields = {key: hostile(field.type, key) for key, field in graphql_type.fields.items()}
        return st.fixed_dictionaries({}, optional=fields)
    assert isinstance(graphql_type, GraphQLScalarType), graphql_type
    if graphql_type.name == "ID" or name.endswith(("Id", "id")):
        return global_ids
    if graphql_type.name == "_Any":
        typename = st.sampled_from([*NODE_TYPES, *OTHER_TYPES])
        return st.fixed_dictionaries(
            {"__typename": typename}, optional={"id": global_ids, "slug": texts, "code": texts}
        )
    return {
        "Int": integers,
        "Float": st.floats(allow_nan=False, allow_infinity=False) | integers,
        "Boolean": st.booleans(),
        "String": texts,
    }.get(graphql_type.name, texts | integers)


@dataclass(frozen=True)
class Site:
    """A field that takes arguments, and the way to it from a root: the document around it
    with `{}` in its place, and the root's type (query or mutation)."""

    operation: str
    around: str
    field_name: str
    field: GraphQLField


def sites() -> Iterator[Site]:
    """Every field with arguments the schema reaches, by the shortest way from its root."""
    for operation, root in (("query", GRAPHQL.query_type), ("mutation", GRAPHQL.mutation_type)):
        assert root is not None
        seen = {root.name}
        level: list[tuple[GraphQLObjectType, str]] = [(root, "{}")]
        while level:
            deeper = []
            for owner, around in level:
                for field_name, field in owner.fields.items():
                    if field.args:
                        yield Site(operation, around, field_name, field)
                    way = is_way(field, owner is not root or field_name not in BY_ID)
                    ways = object_types(named(field.type)) if way else []
                    for target in ways:
                        if target.name not in seen and operation == "query":
                            seen.add(target.name)
                            # Two of each list on the way: enough to reach every kind of
                            # row, few enough for the sweep's aliases.
                            page = "(first: 2)" if "first" in field.args else ""
                            inner = f"{field_name}{page} {{ ... on "
                            inner += f"{target.name} {{}} }}"
                            deeper.append((target, around.replace("{}", "{ " + inner + " }")))
            level = deeper


def is_way(field: GraphQLField, finds_one_type: bool) -> bool:
    """Whether the way to a nested field may go through this one: a field that finds objects
    of its type whatever the arguments (a lookup by a slug may find none)."""
    return finds_one_type and not any(map(is_required, field.args.values()))


def is_required(argument: GraphQLArgument) -> bool:
    """Whether an argument must be given."""
    return isinstance(argument.type, GraphQLNonNull)


def object_types(graphql_type: Any) -> list[GraphQLObjectType]:
    """The object types a field's value may be of."""
    if isinstance(graphql_type, GraphQLObjectType):
        return [graphql_type]
    if isinstance(graphql_type, GraphQLInterfaceType | GraphQLUnionType):
        return list(GRAPHQL.get_possible_types(graphql_type))
    return []


SITES = sorted(sites(), key=lambda site: (site.around, site.field_name))


def selection(graphql_type: Any, depth: int = 2) -> str:
    """A selection of a field's value: its scalars, and its objects' down to `depth`."""
    graphql_type = named(graphql_type)
    if not isinstance(graphql_type, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
        return ""
    parts = ["__typename"]
    fields = getattr(graphql_type, "fields", {})
    for name, field in fields.items():
        if any(map(is_required, field.args.values())):
            continue
        inner = selection(field.type, depth - 1) if depth > 0 else None
        if not object_types(named(field.type)) and not isinstance(
            named(field.type), GraphQLInterfaceType
        ):
            parts.append(name)
        elif inner:
            parts.append(f"{name} {inner}")
    return "{ " + " ".join(parts) + " }"


@st.composite
def attacks_on_arguments(draw: st.DrawFn) -> dict[str, Any]:
    """A request for one field of the schema with hostile values for its arguments."""
    site = draw(st.sampled_from(SITES))
    arguments = site.field.args
    required = [name for name, argument in arguments.items() if is_required(argument)]
    optional = st.lists(st.sampled_from(sorted(arguments)), min_size=1, unique=True)
    chosen = sorted({*required, *draw(optional)})
    declared = ", ".join(f"${name}: {arguments[name].type}" for name in chosen)
    passed = ", ".join(f"{name}: ${name}" for name in chosen)
    field = f"{site.field_name}({passed}) {selection(site.field.type)}"
    body = site.around.replace("{}", "{ " + field + " }")
    document = f"{site.operation} Hostile({declared}) {body}"
    variables = {
        name: draw(hostile(arguments[name].type, name))
        for name in chosen
        if draw(st.integers(0, 19)) > 0  # at times absent, as a required one may be
    }
    if variables and draw(st.integers(0, 19)) == 0:  # JSON nested deeper than any input
        deepest = draw(st.sampled_from(sorted(variables)))
        variables[deepest] = deeply_nested(draw(st.integers(40, 1000)))
    return {"query": document, "variables": variables}


SHAPES = [
    {"query": "query A { states { code } } query B { sectors { code } }"},
    {"query": "query A { states { code } } mutation B { __typename }"},
    {"query": "query A { states { code } }", "operationName": "B"},
    {"query": "query A { states { code } }", "operationName": ""},
    {"query": "fragment F on Query { states { code } }"},
    {"query": "subscription { fundingRecorded { id } }"},
    {"query": "subscription S { applicationStatusChanged { id } }", "operationName": "S"},
    {"query": "{ states { code } }", "variables": [1]},
    {"query": "{ states { code } }", "extensions": "x"},
    {"query": ["{ states { code } }"]},
    {"query": None},
    {},
    {"query": "{ city(slug: " + "[" * 300 + '"x"' + "]" * 300 + ") { name } }"},
    {"query": "{ " + "... on Query { " * 300 + "__typename" + " }" * 300 + " }"},
]


@st.composite
def odd_requests(draw: st.DrawFn) -> httpx.Request:
    """A request of an odd shape, method or headers, around a document that may be fine."""
    body = draw(st.sampled_from(SHAPES) | attacks_on_arguments())
    method = draw(st.sampled_from(["GET", "POST"]))
    headers: list[tuple[str, str]] = []
    if draw(st.booleans()):
        accept = st.sampled_from(
            ["application/graphql-response+json", "text/csv", "*/*;q=0", "application/json;q=x"]
        )
        headers.append(("Accept", draw(accept | st.text(st.characters(codec="ascii")))))
    if draw(st.booleans()):
        bearer = st.sampled_from(["Bearer ehk_nothing", "Bearer", "Basic eA==", "", "Bearer  x"])
        headers += [("Authorization", draw(bearer)) for _ in range(draw(st.integers(1, 3)))]
    if method == "GET":
        params = {
            key: json.dumps(value) if key != "query" else value for key, value in body.items()
        }
        return httpx.Request("GET", "http://hub.test/graphql", params=params, headers=headers)
    content_type = draw(
        st.sampled_from(["application/json", "application/json; charset=latin-1", "text/plain"])
    )
    headers.append(("Content-Type", content_type))
    content = json.dumps(body).encode()
    return httpx.Request("POST", "http://hub.test/graphql", content=content, headers=headers)


def sharp_values(graphql_type: Any, name: str) -> list[Any]:
    """The sweep's values for an argument or input field."""
    if isinstance(graphql_type, GraphQLNonNull):
        return sharp_values(graphql_type.of_type, name)
    if isinstance(graphql_type, GraphQLList):
        inner = sharp_values(graphql_type.of_type, name)
        return [[], inner, [inner[0]] * 101]
    if name in ("after", "before"):
        return SHARP_CURSORS
    if isinstance(graphql_type, GraphQLEnumType):
        return sorted(graphql_type.values)
    if isinstance(graphql_type, GraphQLInputObjectType):
        base = minimal(graphql_type)
        return [base] + [
            base | {key: value}
            for key, field in graphql_type.fields.items()
            for value in sharp_values(field.type, key)[1:3]
        ]
    if graphql_type.name == "_Any":
        return [
            {"__typename": type_name, "id": id_}
            for type_name in ("City", "Actor", "Query")
            for id_ in SHARP_IDS[:8]
        ]
    return SHARP.get(graphql_type.name, SHARP["String"])


def minimal(graphql_type: Any) -> Any:
    """A value of an input type with its required fields only, each the first sharp value."""
    if isinstance(graphql_type, GraphQLNonNull):
        return minimal(graphql_type.of_type)
    if isinstance(graphql_type, GraphQLList):
        return [minimal(graphql_type.of_type)]
    if isinstance(graphql_type, GraphQLInputObjectType):
        return {
            key: minimal(field.type)
            for key, field in graphql_type.fields.items()
            if isinstance(field.type, GraphQLNonNull) and field.default_value is Undefined
        }
    return (
        sharp_values(graphql_type, "")[0]
        if not isinstance(graphql_type, GraphQLEnumType)
        else sorted(graphql_type.values)[0]
    )


def swept(site: Site, argument: str, values: list[Any]) -> dict[str, Any]:
    """A request asking for the site's field once per value of `argument` (aliased), its
    other required arguments minimal."""
    arguments = site.field.args
    others = [name for name, each in arguments.items() if is_required(each) and name != argument]
    declared = [f"$v{index}: {arguments[argument].type}" for index in range(len(values))]
    declared += [f"${name}: {arguments[name].type}" for name in others]
    fields = []
    for index in range(len(values)):
        passed = ", ".join([f"{argument}: $v{index}", *(f"{name}: ${name}" for name in others)])
        fields.append(f"a{index}: {site.field_name}({passed}) {selection(site.field.type, 1)}")
    body = site.around.replace("{}", "{ " + " ".join(fields) + " }")
    variables = {f"v{index}": value for index, value in enumerate(values)}
    variables |= {name: minimal(arguments[name].type) for name in others}
    return {
        "query": f"{site.operation} Sweep({', '.join(declared)}) {body}",
        "variables": variables,
    }


SWEEP = [(site, argument) for site in SITES for argument in sorted(site.field.args)]


@pytest.fixture
async def office_key(demo_connection: AsyncConnection) -> str:
    """An API key of the network office, which may read and write everything."""
    return await key_for(demo_connection, Role.ADMIN)


@pytest.fixture
async def client(demo_connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data without rate limits (the attacks would spend any budget)."""
    hub_settings = replace(Settings.from_env(), rate_limit_public=0)
    async for client in asgi_client(demo_connection, hub_settings):
        yield client


@pytest.fixture
async def role_keys(demo_connection: AsyncConnection) -> dict[Role, str | None]:
    """A key of every role, scoped in the demo data (None for the public): each role's access
    rules are SQL of their own, in both read paths."""
    return {role: await key_of_role(demo_connection, role) for role in Role}


@property_settings(max_examples=150)
@given(request=attacks_on_arguments(), role=st.sampled_from(Role))
async def test_hostile_arguments_are_client_errors(
    demo_connection: AsyncConnection,
    client: httpx.AsyncClient,
    role_keys: dict[Role, str | None],
    request: dict[str, Any],
    role: Role,
) -> None:
    key = role_keys[role]
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    sent = client.build_request("POST", "/graphql", json=request, headers=headers)
    await survives(demo_connection, client, sent)


@property_settings(max_examples=80)
@given(request=odd_requests())
async def test_odd_requests_are_client_errors(
    demo_connection: AsyncConnection, client: httpx.AsyncClient, request: httpx.Request
) -> None:
    await survives(demo_connection, client, request)


def test_the_attacks_reach_every_field_with_arguments() -> None:
    reached = {(site.operation, site.field_name) for site in SITES}
    for operation, root in (("query", GRAPHQL.query_type), ("mutation", GRAPHQL.mutation_type)):
        assert root is not None
        with_arguments = {name for name, field in root.fields.items() if field.args}
        assert {(operation, name) for name in with_arguments} <= reached
    assert ("query", "fundings") in reached and len(SITES) > 60


@pytest.mark.parametrize("operation", ["query", "mutation"])
async def test_every_argument_with_sharp_values_is_answered_without_internal_error(
    demo_connection: AsyncConnection, client: httpx.AsyncClient, office_key: str, operation: str
) -> None:
    async def answer(request: dict[str, Any]) -> httpx.Response:
        """The answer to the network office, whose writes are then undone."""
        savepoint = await demo_connection.begin_nested()
        headers = {"Authorization": f"Bearer {office_key}"}
        response = await client.post("/graphql", json=request, headers=headers)
        await savepoint.rollback()
        return response

    failures = []
    for site, argument in SWEEP:
        if site.operation != operation:
            continue
        values = sharp_values(site.field.args[argument].type, argument)
        responses = [await answer(swept(site, argument, values))]
        if "errors" in responses[0].json():
            # An error may null its neighbours (a non-null field nulls all of `data`), refuse
            # the request whole, or send all of it to the resolver path (which the compiled
            # path leaves what it cannot plan): each value on its own, so that each one runs
            # on the path it would take alone.
            responses = [await answer(swept(site, argument, [value])) for value in values]
        failures += [
            f"{site.around} {site.field_name}({argument}): {response.text[:300]}"
            for response in responses
            if response.status_code >= 500 or not_client_errors(response)
        ]
    assert not failures, "\n".join(failures)


async def test_an_amount_beyond_any_stored_is_the_clients_error(client: httpx.AsyncClient) -> None:
    # 1e400 overflowed numeric(14, 2) inside PostgreSQL: "Unexpected error." (found by the sweep).
    query = "query($min: Decimal) { fundings(filter: {minAmountEur: $min}) { totalCount } }"
    for amount in ("1e400", "1000000000000", "Infinity"):
        body = {"query": query, "variables": {"min": amount}}
        response = await client.post("/graphql", json=body)
        assert response.json()["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
