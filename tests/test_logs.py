"""Logs without personal data and without floods: client errors are counted on the request's
log line, never logged one by one; only unexpected errors are logged at ERROR, with their
tracebacks; nothing a client typed into a query or its variables reaches any log record."""

import asyncio
import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    is_composite_type,
    is_required_argument,
)
from graphql import get_named_type as named_type
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

import resolvers.context
from hub.config import Settings
from hub.observability import FIELDS, JSONLines, TurnBatchedStreamHandler
from hub.persisted import query_hash
from models import Role
from schema import schema
from tests.conftest import asgi_client
from tests.helpers import graphql, property_settings
from tests.test_privacy import key_for

# What a client types in: an e-mail address, as in a contact person's input.
MARKER = "erika.leakmarker@logtest.example"
# The test client's own loggers (its URLs hold GET requests' queries): not the hub's logs.
CLIENT_LOGGERS = ("httpx", "httpcore")
REQUESTS_LOGGER = "engagement_hub.requests"

CONTACTS = """{ cities(first: 100) { edges { node { contacts { fullName email }
  localNetwork { actors(first: 100) { edges { node { contacts { fullName email } } } } } } } } }"""


@pytest.fixture
def records(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of every logger at DEBUG and above. First among a test's fixtures:
    SQLAlchemy decides whether to log a connection's statements when it is opened."""
    caplog.set_level(logging.DEBUG)
    yield caplog


def hub_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """The records the hub made (its libraries' included), not the test client's."""
    return [record for record in caplog.records if not record.name.startswith(CLIENT_LOGGERS)]


def request_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    """The fields of the requests' log lines."""
    return [getattr(record, FIELDS) for record in caplog.records if record.name == REQUESTS_LOGGER]


def written(record: logging.LogRecord) -> str:
    """A record as the production log writes it (JSON lines, traceback included)."""
    return JSONLines().format(record)


async def test_forbidden_fields_make_one_request_line_without_traceback(
    demo_client: httpx.AsyncClient, records: pytest.LogCaptureFixture
) -> None:
    body = await graphql(demo_client, CONTACTS)
    forbidden = [error for error in body["errors"] if error["extensions"]["code"] == "FORBIDDEN"]
    assert len(forbidden) > 100
    logged = hub_records(records)
    assert [record.name for record in logged if record.levelno >= logging.INFO] == [REQUESTS_LOGGER]
    assert not [record for record in logged if record.levelno >= logging.WARNING]
    assert not [record for record in logged if record.exc_info]
    (line,) = request_lines(records)
    assert line["error_codes"] == {"FORBIDDEN": len(forbidden)}
    assert sum(len(written(record)) for record in logged) < 4000


# Client mistakes of every kind, the last ones refused by the rate limit.
MISTAKES = [
    "{ states { mayor } }",
    "{ __schema { types { name } } }",
    '{ city(slug: "aachen") { fundings(first: -1) { totalCount } } }',
    '{ _entities(representations: [{__typename: "Nobody", id: "1"}]) { __typename } }',
    '{ node(id: "nonsense") { id } }',
    "{ cities(first: 3) { edges { node { contacts { email } } } } }",
    "{ cities(first: 100) { edges { node { localNetwork { actors(first: 100) "
    "{ edges { node { name } } } } } } } }",
    *["{ cities(first: 100) { totalCount edges { node { name } } } }"] * 20,
]


async def test_client_mistakes_are_counted_on_the_request_line_not_logged(
    records: pytest.LogCaptureFixture, demo_connection: AsyncConnection
) -> None:
    production = replace(
        Settings.from_env(),
        production=True,
        introspection=False,
        max_query_cost=1000,
        rate_limit_public=1000,
    )
    codes: set[str] = set()
    async for client in asgi_client(demo_connection, production):
        for query, headers in [(query, {}) for query in MISTAKES] + [
            (MISTAKES[0], {"Authorization": "Bearer ehk_unknown"})
        ]:
            records.clear()
            response = await client.post("/graphql", json={"query": query}, headers=headers)
            assert "Unexpected error." not in response.text, response.text
            logged = hub_records(records)
            assert not [record for record in logged if record.levelno >= logging.WARNING], query
            assert not [record for record in logged if record.exc_info], query
            (line,) = request_lines(records)
            codes |= set(line.get("error_codes", ()))
    assert {"GRAPHQL_VALIDATION_FAILED", "BAD_USER_INPUT", "FORBIDDEN", "RATE_LIMITED"} <= codes, (
        codes
    )


async def test_an_unexpected_error_is_logged_once_at_error_with_its_traceback(
    demo_connection: AsyncConnection,
    records: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(*_: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(resolvers.context.Context, "read_json", broken)
    async for client in asgi_client(demo_connection):
        response = await client.post("/graphql", json={"query": "{ states { code } }"})
    assert response.json()["errors"][0]["message"] == "Unexpected error."
    (error,) = [record for record in hub_records(records) if record.levelno >= logging.ERROR]
    line = json.loads(written(error))
    assert "RuntimeError: a bug" in line["exception"]
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert request_lines(records)[0]["error_codes"] == {"INTERNAL_SERVER_ERROR": 1}


async def test_the_request_line_names_the_operation_by_its_document(
    client: httpx.AsyncClient, records: pytest.LogCaptureFixture
) -> None:
    query = f'query Named {{ city(slug: "{MARKER}") {{ name }} }}'
    await client.post("/graphql", json={"query": query, "operationName": "Named"})
    await client.post("/graphql", json={"query": query, "operationName": MARKER})
    lines = request_lines(records)
    assert (lines[0]["operation"], lines[0]["document_hash"]) == ("Named", query_hash(query))
    assert MARKER not in json.dumps(lines)


# Requests over the whole schema with the marker in every input and literal.


@dataclass(frozen=True)
class EnumValue:
    """An enum value: a name in a GraphQL literal, a string in JSON variables."""

    name: str


def value_of(type_: GraphQLInputType, wrong: bool, depth: int = 0) -> Any:
    """A value of `type_` holding the marker in every string; `wrong`: in every other leaf
    too (an Int, a Boolean, an enum), which the request's validation then refuses."""
    if isinstance(type_, GraphQLNonNull):
        return value_of(type_.of_type, wrong, depth)
    if depth > 3:  # input types nest without end (a filter's `and`)
        return None
    if isinstance(type_, GraphQLList):
        return [value_of(type_.of_type, wrong, depth + 1)]
    if isinstance(type_, GraphQLInputObjectType):
        return {
            name: value_of(field.type, wrong, depth + 1) for name, field in type_.fields.items()
        }
    if wrong:
        return MARKER
    if isinstance(type_, GraphQLEnumType):
        return EnumValue(next(iter(type_.values)))
    assert isinstance(type_, GraphQLScalarType)
    return {"Int": 1, "Float": 1.5, "Boolean": True}.get(type_.name, MARKER)


def literal(value: Any) -> str:
    """A value as a GraphQL literal."""
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {literal(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    return json.dumps(value)


def as_json(value: Any) -> Any:
    """A value as JSON variables hold it."""
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return value


# A selection from the root down, by field names: ("city", "fundings", "edges").
Chain = tuple[str, ...]


@dataclass(frozen=True)
class Request:
    """One generated request: the operation's kind, the chains of fields it selects (the last
    field of each given all its arguments, those leading to it their required ones), and how
    it is sent."""

    kind: str
    chains: tuple[Chain, ...]
    wrong: bool
    by_variables: bool
    by_get: bool
    operation_name: str | None

    def body(self) -> dict[str, Any]:
        """The request's query, variables and operation name."""
        definitions: list[str] = []
        variables: dict[str, Any] = {}

        def selected(parent: Any, chain: Chain, prefix: str) -> str:
            field = parent.fields[chain[0]]
            arguments = []
            for name, argument in field.args.items():
                if len(chain) > 1 and not is_required_argument(argument):
                    continue
                value = value_of(argument.type, self.wrong)
                if self.by_variables:
                    variable = f"{prefix}_{name}"
                    definitions.append(f"${variable}: {argument.type}")
                    variables[variable] = as_json(value)
                    arguments.append(f"{name}: ${variable}")
                else:
                    arguments.append(f"{name}: {literal(value)}")
            call = f"{chain[0]}({', '.join(arguments)})" if arguments else chain[0]
            inner = named_type(field.type)
            if len(chain) > 1:
                return f"{call} {{ {selected(inner, chain[1:], prefix + '_')} }}"
            return f"{call} {{ __typename }}" if is_composite_type(inner) else call

        root = ROOTS[self.kind]
        selections = [
            f"f{number}: {selected(root, chain, f'v{number}')}"
            for number, chain in enumerate(self.chains)
        ]
        signature = f"({', '.join(definitions)})" if definitions else ""
        query = f"{self.kind} Generated{signature} {{ {' '.join(selections)} }}"
        return {"query": query, "variables": variables, "operationName": self.operation_name}


ROOTS = {
    "query": schema._schema.query_type,
    "mutation": schema._schema.mutation_type,
    "subscription": schema._schema.subscription_type,
}


def fields_of(type_: Any) -> dict[str, GraphQLField]:
    """The fields one may select on a type (none on unions and leaves)."""
    return type_.fields if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType) else {}


async def send(client: httpx.AsyncClient, request: Request, key: str | None) -> httpx.Response:
    """Send the request by GET (its parameters in the URL) or by POST."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = request.body()
    if not request.by_get:
        return await client.post("/graphql", json=body, headers=headers)
    parameters = {
        "query": body["query"],
        "variables": json.dumps(body["variables"]),
        **({"operationName": body["operationName"]} if body["operationName"] else {}),
    }
    return await client.get("/graphql", params=parameters, headers=headers)


@st.composite
def chains(draw: st.DrawFn, root: Any) -> Chain:
    """A chain of one to four fields down from `root`."""
    names: list[str] = []
    parent = root
    while fields_of(parent) and len(names) < 4:
        names.append(draw(st.sampled_from(sorted(fields_of(parent)))))
        parent = named_type(fields_of(parent)[names[-1]].type)
        if not draw(st.booleans()):
            break
    return tuple(names)


@st.composite
def requests(draw: st.DrawFn) -> Request:
    """Requests of one to three chains of fields from the root of one kind."""
    kind = draw(st.sampled_from(sorted(ROOTS)))
    return Request(
        kind,
        tuple(draw(st.lists(chains(ROOTS[kind]), min_size=1, max_size=3, unique=True))),
        wrong=draw(st.booleans()),
        by_variables=draw(st.booleans()),
        by_get=draw(st.booleans()),
        operation_name=draw(st.sampled_from([None, "Generated", MARKER])),
    )


def shortest_chains() -> Iterator[tuple[str, Chain]]:
    """Each root field, and each field with arguments anywhere in the schema, at the end of
    the shortest chain that reaches it through fields that need no argument (so that the
    request reaches it with data), from the query root where one does."""
    reached: set[str] = set()
    for kind, root in ROOTS.items():
        frontier = [((name,), root) for name in root.fields]
        while frontier:
            following = []
            for chain, parent in frontier:
                field = parent.fields[chain[-1]]
                if len(chain) == 1 or field.args:
                    yield kind, chain
                inner = named_type(field.type)
                needs_arguments = any(map(is_required_argument, field.args.values()))
                if inner.name not in reached and fields_of(inner) and not needs_arguments:
                    reached.add(inner.name)
                    following += [((*chain, name), inner) for name in fields_of(inner)]
            frontier = following


def over_the_schema() -> Iterator[Request]:
    """Every chain of `shortest_chains`, well-typed by variables and mistyped by literal."""
    for kind, chain in shortest_chains():
        yield Request(kind, (chain,), False, True, False, "Generated")
        yield Request(kind, (chain,), True, False, False, None)


@pytest.fixture
async def keys(demo_connection: AsyncConnection) -> dict[str, str | None]:
    """The public and the network office, which may write everything."""
    return {"public": None, "office": await key_for(demo_connection, Role.ADMIN)}


@pytest.fixture
async def production_client(
    demo_connection: AsyncConnection,
) -> AsyncIterator[httpx.AsyncClient]:
    """The app as production runs it (errors masked, no introspection), on the demo data."""
    production = replace(Settings.from_env(), production=True, introspection=False)
    async for client in asgi_client(demo_connection, production):
        yield client


async def logged_without_marker(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, request: Request, key: str | None
) -> None:
    """Send the request; no log record holds the marker, and only unexpected errors (a
    masked answer) are logged at ERROR or with a traceback."""
    caplog.clear()
    response = await send(client, request, key)
    assert response.status_code < 500, (request, response.text)
    unexpected = "Unexpected error." in response.text
    for record in hub_records(caplog):
        assert MARKER not in written(record), (request, written(record))
        assert MARKER not in record.getMessage(), request
        if record.levelno >= logging.ERROR or record.exc_info:
            assert unexpected, (request, written(record))


async def test_no_argument_of_any_field_reaches_the_logs(
    records: pytest.LogCaptureFixture,
    production_client: httpx.AsyncClient,
    keys: dict[str, str | None],
) -> None:
    for request in over_the_schema():
        for key in keys.values():
            await logged_without_marker(production_client, records, request, key)


@property_settings(60)
@given(request=requests(), role=st.sampled_from(["public", "office"]))
async def test_no_input_of_any_request_reaches_the_logs(
    records: pytest.LogCaptureFixture,
    production_client: httpx.AsyncClient,
    keys: dict[str, str | None],
    request: Request,
    role: str,
) -> None:
    await logged_without_marker(production_client, records, request, keys[role])


@pytest.mark.parametrize(
    ("path", "headers", "route"),
    [
        (f"/views/{MARKER}", {}, "/views/{name}"),
        (f"/docs/{MARKER}", {}, "/docs/{name:path}"),
        (f"/{MARKER}", {}, "(unrouted)"),
        (f"/graphql/{MARKER}", {}, "(unrouted)"),
        ("/graphql", {"Authorization": f"Bearer {MARKER}"}, "/graphql"),
    ],
)
async def test_the_request_line_names_the_route_not_the_path_sent(
    records: pytest.LogCaptureFixture,
    production_client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    route: str,
) -> None:
    """A path's parameters and unknown paths are the client's words: the line names the route
    (also of a request refused before routing, such as a 401)."""
    records.clear()
    await production_client.get(path, params={"query": "{ states { code } }"}, headers=headers)
    assert [line["path"] for line in request_lines(records)] == [route]
    for record in hub_records(records):
        assert MARKER not in written(record)


class CountedWrites(io.StringIO):
    """A stream that counts the writes it was given."""

    writes = 0

    def write(self, text: str) -> int:
        self.writes += 1
        return super().write(text)


def batched_handler() -> tuple[TurnBatchedStreamHandler, CountedWrites]:
    """The hub's stderr handler, writing to a stream of its own."""
    handler = TurnBatchedStreamHandler()
    stream = CountedWrites()
    handler.setStream(stream)
    handler.setFormatter(logging.Formatter("%(message)s"))
    return handler, stream


def record_of(message: str) -> logging.LogRecord:
    """A record saying `message`."""
    return logging.LogRecord("hub", logging.INFO, __file__, 1, message, None, None)


async def test_the_lines_of_a_turn_of_the_event_loop_are_written_together_at_its_end() -> None:
    handler, stream = batched_handler()
    for number in range(100):
        handler.handle(record_of(f"line {number}"))
    assert stream.getvalue() == ""
    await asyncio.sleep(0)
    assert stream.getvalue().splitlines() == [f"line {number}" for number in range(100)]
    assert stream.writes == 1


def test_a_line_outside_the_event_loop_is_written_at_once() -> None:
    handler, stream = batched_handler()
    handler.handle(record_of("now"))
    assert stream.getvalue() == "now\n"


async def test_lines_held_back_are_written_when_logging_shuts_down() -> None:
    handler, stream = batched_handler()
    handler.handle(record_of("last words"))
    handler.flush()  # what logging.shutdown does at exit
    assert stream.getvalue() == "last words\n"
