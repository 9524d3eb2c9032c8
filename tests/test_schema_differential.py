"""The compiled path answers as the resolver path over the whole schema, not samples of it.

The queries are derived from the schema itself: for every object type the query reaches, one
query selects every field of the type, and asks every connection of the type (nested ones
too, `Funder.cities`) with every filter input field (each enum value, lists longer than 100)
and every order; each query is asked by every role. A field, filter or order added to the
schema is asked here without anyone writing a query for it. `nodes(ids:)` is asked with IDs
of every node type, more than 100 of them, and root connections are read page after page.
A fixed sample of the queries, two of each shape, is also asked with its related objects
deferred and its pages streamed (`tests.incremental.deferred_variant`): the payloads add up
to the whole answer.
"""

import base64
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLUnionType,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

import schema.limits as schema_limits
import schema.prepared as schema_prepared
from hub.config import Settings
from hub.features import detect
from models import Role
from resolvers.executor import PLANS
from resolvers.permissions import guard_of
from schema import schema
from server import create_app
from tests.conftest import sessions_on
from tests.generated_queries import literal, named
from tests.incremental import EVENT_STREAM, MULTIPART, deferred_variant, incremental_answer, merged
from tests.test_compiled_path import key_of_role

SCHEMA = schema._schema

# Root fields asked with these arguments; the others take none that are required. The lookups
# name the coordinator's city and the state partner's state of `key_of_role`, so that the
# fields only they may see are asked where they may see them.
ROOT_ARGUMENTS = {
    "city": '(slug: "dessau-rosslau")',
    "state": '(code: "ST")',
    "funder": '(slug: "koerber-stiftung")',
    "actor": '(slug: "freiwilligenagentur-apolda")',
    "theme": '(slug: "jugend")',
    "measure": '(slug: "ammerbuch-willkommenslotsen")',
    "workingGroup": '(slug: "arbeitsgruppe-demokratie-und-beteiligung")',
    "search": '(text: "Stiftung")',
}
# Root fields asked by tests of their own: `nodes` below, `_entities` in test_compiled_path
# and test_federation (its representations are no schema-derived value).
ASKED_ELSEWHERE = {"node", "nodes", "_entities"}
# Fields the compiler leaves to the resolvers (docs/architecture.md): whatever asks them
# falls back as a whole, so they are asked in queries of their own.
FALLS_BACK = {
    ("Query", "applications"),  # DateTime fields, and only the network office reads them
    ("Query", "auditLog"),
    ("Query", "savedViews"),
    ("Query", "enumLabels"),
    ("Query", "_service"),
    ("State", "statistics"),
    ("Funder", "statistics"),
}

# Values of the filters' input fields that are no enum, by input field; lists get more than
# 100 items besides (the values repeated), so that no list becomes a parameter per item.
FILTER_VALUES: dict[str, list[Any]] = {
    "states": [["NW", "st"]],
    "recipientStates": [["BY", "ST"]],
    "themes": [["jugend", "kultur"]],
    "funders": [["koerber-stiftung", "bmfsfj"]],
    "text": ["Stiftung"],
    "joinedFrom": ["2020-01-01"],
    "joinedUntil": ["2021-12-31"],
    "activeFrom": ["2023-01-01"],
    "activeUntil": ["2022-12-31"],
    "minAmountEur": ["5000"],
    "near": [{"lat": 51.05, "lon": 13.74, "radiusKm": 300}],
    "entityType": ["City"],
    "entityId": ["Q2l0eToxMA=="],
    "subject": ["key:1"],
}
LONG_LIST = 150
# Values of the arguments of fields that are no connections and no lookups.
OTHER_ARGUMENTS = {
    ("Query", "statistics", "state"): ['"ST"', '"hb"', "null"],
    # A funder's part is the resolvers' (test_compiled_path's fallbacks): null only here.
    ("Query", "statistics", "funder"): ["null"],
}
# How many rows of a connection a route passes through, to the type it leads to.
PARENTS = 3

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

# The limits of a production app would refuse these large queries; both paths are asked alike.
LIMITS = {
    "max_query_depth": 100,
    "max_aliases": 10_000,
    "max_tokens": 1_000_000,
    "max_query_cost": 10**12,
    "max_body_bytes": 10**8,
    "rate_limit_public": 0,
    "rate_limit_key": 0,
}


def is_connection(graphql_type: Any) -> bool:
    """Whether a field's type is a Relay connection."""
    target = named(graphql_type)
    return isinstance(target, GraphQLObjectType) and "edges" in target.fields


def node_type(connection_type: Any) -> Any:
    """The type of a connection's nodes."""
    edge = named(named(connection_type).fields["edges"].type)
    return named(edge.fields["node"].type)


def askable(owner: GraphQLObjectType, name: str) -> bool:
    """Whether the generated queries ask this field (its required arguments are known)."""
    if owner is SCHEMA.query_type:
        return name not in ASKED_ELSEWHERE
    return not is_lookup(owner.fields[name])


def is_lookup(field: Any) -> bool:
    """Whether a field finds one row by a required argument."""
    return any(isinstance(arg.type, GraphQLNonNull) for arg in field.args.values())


def arguments_of(owner: GraphQLObjectType, name: str) -> str:
    """The arguments a field is asked with by default."""
    return ROOT_ARGUMENTS.get(name, "") if owner is SCHEMA.query_type else ""


def leaf(graphql_type: Any, depth: int = 1, prefix: str = "") -> str:
    """A selection of a type's plain fields and, `depth` levels deep, its related objects
    and lists (not its connections, nor fields that fall back): what a page's nodes are asked
    for. The members of a union get their fields under aliases of their own (`prefix`), as
    the same name may have another type in each."""
    if isinstance(graphql_type, GraphQLUnionType | GraphQLInterfaceType):
        members = sorted(SCHEMA.get_possible_types(graphql_type), key=lambda t: t.name)
        inner = " ".join(f"... on {m.name} {leaf(m, depth, f'{m.name}_')}" for m in members)
        return f"{{ __typename {inner} }}"
    parts = ["__typename"]
    for name, field in graphql_type.fields.items():
        target = named(field.type)
        if not askable(graphql_type, name) or field.args or falls_back(graphql_type, name):
            continue
        aliased = f"{prefix}{name}: {name}" if prefix else name
        if isinstance(target, GraphQLObjectType | GraphQLUnionType | GraphQLInterfaceType):
            if depth > 0 and not is_connection(field.type):
                parts.append(f"{aliased} {leaf(target, depth - 1)}")
        else:
            parts.append(aliased)
    return "{ " + " ".join(parts) + " }"


def falls_back(owner: GraphQLObjectType, name: str) -> bool:
    """Whether the compiler leaves the field to the resolvers."""
    return (owner.name, name) in FALLS_BACK


def guarded(graphql_type: Any) -> str:
    """A selection of a type's ID and the fields only some viewers may see (a read rule's
    SQL inside every filtered and ordered page)."""
    if not isinstance(graphql_type, GraphQLObjectType):
        return "{ __typename }"
    definition = schema.get_type_by_name(graphql_type.name)
    names = {
        schema.config.name_converter.get_graphql_name(field)
        for field in getattr(definition, "fields", ())
        if guard_of(field) is not None
    }
    parts = ["__typename", *(["id"] if "id" in graphql_type.fields else [])]
    for name in sorted(names):
        target = named(graphql_type.fields[name].type)
        parts.append(f"{name} {leaf(target, 0)}" if isinstance(target, GraphQLObjectType) else name)
    return "{ " + " ".join(parts) + " }"


def connection_selection(connection_type: Any) -> str:
    """Everything a connection answers, its nodes asked as `leaf` asks them."""
    edge_type = named(named(connection_type).fields["edges"].type)
    edge_fields = [name for name in edge_type.fields if name != "node"]
    nodes = leaf(node_type(connection_type))
    edges = f"edges {{ {' '.join(edge_fields)} node {nodes} }}"
    aggregates = aggregates_selection(named(connection_type))
    return f"{{ totalCount {PAGE_INFO} {edges} {aggregates} __typename }}"


def aggregates_selection(connection_type: GraphQLObjectType) -> str:
    """The aggregates of a connection that has them: all rows in one group; grouped by each
    dimension alone; and by all of them, with a HAVING condition and an order on every
    figure (every function of every field it applies to)."""
    if "aggregates" not in connection_type.fields:
        return ""
    field = connection_type.fields["aggregates"]
    dimensions = sorted(named(field.args["groupBy"].type).values)
    fields = named(named(field.args["having"].type).fields["field"].type).values
    numeric = sorted(set(fields) - set(dimensions))
    figures = ["{function: COUNT}"]
    figures += [f"{{function: COUNT_DISTINCT, field: {name}}}" for name in dimensions]
    figures += [
        f"{{function: {function}, field: {name}}}"
        for function in ("SUM", "AVG", "MIN", "MAX")
        for name in numeric
    ]
    having = ", ".join(f'{figure[:-1]}, gte: "0"}}' for figure in figures)
    orders = ", ".join(
        f"{figure[:-1]}, descending: {'true' if n % 2 else 'false'}}}"
        for n, figure in enumerate(figures)
    )
    groups = "{ groups " + leaf(named(named(field.type).fields["groups"].type)) + " __typename }"
    parts = [f"a_all: aggregates {groups}"]
    parts += [
        f"a_{name}: aggregates(groupBy: [{name}], orderBy: [{{function: COUNT}}], first: 5) "
        + groups
        for name in dimensions
    ]
    every = ", ".join(dimensions)
    parts.append(
        f"a_every: aggregates(groupBy: [{every}], having: [{having}], orderBy: [{orders}], "
        f"first: 20) {groups}"
    )
    return " ".join(parts)


def every_field(graphql_type: GraphQLObjectType, fallbacks: bool) -> list[str]:
    """Every field of a type that the compiler plans (or, with `fallbacks`, every one it
    leaves to the resolvers), each with a selection of what it leads to."""
    parts = []
    for name, field in graphql_type.fields.items():
        if not askable(graphql_type, name) or falls_back(graphql_type, name) != fallbacks:
            continue
        target = named(field.type)
        call = name + arguments_of(graphql_type, name)
        if is_connection(field.type):
            parts.append(call + " " + connection_selection(field.type))
        elif isinstance(target, GraphQLObjectType | GraphQLUnionType | GraphQLInterfaceType):
            parts.append(call + " " + leaf(target))
        else:
            parts.append(call)
    return parts


def filter_values(input_type: GraphQLInputObjectType) -> list[dict[str, Any]]:
    """Filters of one input field each: every enum value alone, every other field with its
    values from FILTER_VALUES, and each list also with more than 100 items (all values of an
    enum, repeated)."""
    filters: list[dict[str, Any]] = []
    for name, field in input_type.fields.items():
        target = named(field.type)
        is_list = isinstance(named_outer(field.type), GraphQLList)
        if isinstance(target, GraphQLEnumType):
            every = sorted(target.values)
            values: list[Any] = [[value] for value in every] if is_list else every
        else:
            assert name in FILTER_VALUES, f"no test value for {input_type.name}.{name}"
            values = list(FILTER_VALUES[name])
            every = values[-1]
        if is_list:
            values.append((every * LONG_LIST)[:LONG_LIST])
        filters.extend({name: value} for value in values)
    return filters


def named_outer(graphql_type: Any) -> Any:
    """The type without its non-null wrapper."""
    return graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type


def every_argument(graphql_type: GraphQLObjectType, fallbacks: bool) -> list[str]:
    """Every connection of a type (that the compiler plans, or with `fallbacks`, that it
    leaves to the resolvers) asked with each filter and each order, forwards and backwards,
    under aliases."""
    parts = []
    for name, field in graphql_type.fields.items():
        if not (is_connection(field.type) and askable(graphql_type, name)):
            continue
        if falls_back(graphql_type, name) != fallbacks:
            continue
        fixed = arguments_of(graphql_type, name)[1:-1]
        nodes = f"edges {{ node {guarded(node_type(field.type))} }}"
        variants = []
        if (filter_arg := field.args.get("filter")) is not None:
            filter_type = named(filter_arg.type)
            for value in filter_values(filter_type):
                variants.append(f"filter: {literal(value, filter_type)}, first: 5")
        if (order_arg := field.args.get("orderBy")) is not None:
            for value in sorted(named(order_arg.type).values):
                variants += [f"orderBy: {value}, first: 5", f"orderBy: {value}, last: 3"]
        for index, variant in enumerate(variants):
            arguments = ", ".join(arg for arg in (fixed, variant) if arg)
            parts.append(f"{name}_{index}: {name}({arguments}) {{ totalCount {nodes} }}")
    if not fallbacks:
        parts += other_arguments(graphql_type)
    return parts


def other_arguments(graphql_type: GraphQLObjectType) -> list[str]:
    """The fields with optional arguments that are no connection's, asked with each value of
    OTHER_ARGUMENTS (a new such argument fails here until it is given values)."""
    parts = []
    for name, field in graphql_type.fields.items():
        if is_connection(field.type) or not field.args or not askable(graphql_type, name):
            continue
        if is_lookup(field):
            continue
        for argument in field.args:
            assert (graphql_type.name, name, argument) in OTHER_ARGUMENTS, (name, argument)
            values = OTHER_ARGUMENTS[graphql_type.name, name, argument]
            selection = leaf(named(field.type), depth=2)
            for index, value in enumerate(values):
                alias = f"{name}_{argument}_{index}"
                parts.append(f"{alias}: {name}({argument}: {value}) {selection}")
    return parts


def routes() -> dict[str, tuple[str, bool]]:
    """For each object type the queries reach (but connections' own types), the shortest way
    to it from the root, as a query with `{}` where the type's selection goes, and whether
    the way leads through a field that falls back."""
    found = {SCHEMA.query_type.name: ("{}", False)}
    queue = [SCHEMA.query_type]
    while queue:
        owner = queue.pop(0)
        # Lookups first: one parent row (the roles' own city, state, funder) asks a type's
        # connections with all their arguments, where a page of parents would repeat them.
        for name, field in sorted(owner.fields.items(), key=lambda item: not is_lookup(item[1])):
            if not askable(owner, name):
                continue
            call = name + arguments_of(owner, name)
            if is_connection(field.type):
                target = node_type(field.type)
                step = f"{call}(first: {PARENTS}) {{ edges {{ node {{}} }} }}"
            else:
                target = named(field.type)
                step = f"{call} {{}}"
            if not isinstance(target, GraphQLObjectType) or target.name in found:
                continue
            route, through_fallback = found[owner.name]
            found[target.name] = (
                route.replace("{}", "{ " + step + " }"),
                through_fallback or falls_back(owner, name),
            )
            queue.append(target)
    return found


ROUTES = routes()


def query_of(type_name: str, parts: list[str]) -> str:
    """The query asking `parts` of the type at the end of its route."""
    return ROUTES[type_name][0].replace("{}", "{ " + " ".join(parts) + " }")


def queries() -> dict[str, tuple[str, bool]]:
    """The queries by name, and whether the compiled path answers them: for each type, one
    of every field, one of every argument of its connections, one of the fields that fall
    back."""
    found = {}
    for name in sorted(ROUTES):
        graphql_type = SCHEMA.get_type(name)
        through_fallback = ROUTES[name][1]
        for kind, parts, compiled in (
            ("fields", every_field(graphql_type, fallbacks=False), not through_fallback),
            ("arguments", every_argument(graphql_type, fallbacks=False), not through_fallback),
            ("fields falling back", every_field(graphql_type, fallbacks=True), False),
            ("arguments falling back", every_argument(graphql_type, fallbacks=True), False),
        ):
            if parts:
                found[f"{name} {kind}"] = (query_of(name, parts), compiled)
    return found


QUERIES = queries()


@asynccontextmanager
async def client_of(
    connection: AsyncConnection, compiled: bool
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app with the compiled path on or off, in the test's transaction."""
    settings = replace(Settings.from_env(), compiled=compiled, debug=True, **LIMITS)
    app = create_app(sessions_on(connection), settings=settings, features=await detect(connection))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def answer(
    client: httpx.AsyncClient,
    query: str,
    key: str | None,
    variables: dict[str, Any] | None = None,
) -> tuple[dict[str, Any], str]:
    """The response body and the read path that answered."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    request = {"query": query, "variables": variables or {}}
    response = await client.post("/graphql", json=request, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    path = body.pop("extensions", {}).get("debug", {}).get("readPath", "none")
    return body, path


@dataclass(frozen=True)
class Paths:
    """Both read paths of one app each, and a key of every role (None for the public)."""

    compiled: httpx.AsyncClient
    resolvers: httpx.AsyncClient
    keys: dict[Role, str | None]

    async def ask(self, query: str, role: Role, compiles: bool = True) -> dict[str, Any]:
        """The answer of both read paths to `role`, after checking that they are the same
        and that the compiled path answered where it should (a query it left to the
        resolvers would prove nothing)."""
        compiled, path = await answer(self.compiled, query, self.keys[role])
        reference, reference_path = await answer(self.resolvers, query, self.keys[role])
        assert reference_path == "resolvers"
        assert compiled == reference, f"{role.value}: {difference(compiled, reference)}"
        assert path == ("compiled" if compiles else "resolvers"), (role.value, compiled)
        return compiled

    async def ask_deferred(
        self, query: str, role: Role, whole: dict[str, Any], compiles: bool
    ) -> None:
        """Ask the query's deferred variant (`tests.incremental.deferred_variant`) of both
        paths, over multipart/mixed and SSE: the payloads add up to the variant's answer in
        one response (its errors where the variant has them), whose data is the query's; on
        the compiled path each payload that read is one statement."""
        variant = deferred_variant(query)
        if "@defer" not in variant and "@stream" not in variant:
            return  # nothing to defer: the variant is the query (`_service { sdl }`)
        key = self.keys[role]
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        at_once, _ = await answer(self.compiled, variant, key)
        assert at_once["data"] == whole["data"], difference(at_once, whole)
        for client, accept in ((self.compiled, MULTIPART), (self.resolvers, EVENT_STREAM)):
            payloads = await incremental_answer(client, variant, headers, accept)
            merged_answer = merged(payloads)
            assert merged_answer == at_once, f"{role.value}: {difference(merged_answer, at_once)}"
            if client is self.compiled and compiles:
                reads = [p["extensions"]["debug"] for p in payloads if "extensions" in p]
                assert all(read["sqlStatements"] == 1 for read in reads), reads
                assert {read["readPath"] for read in reads} == {"compiled"}, reads


def difference(compiled: Any, reference: Any, path: str = "") -> str:
    """Where two answers first differ, and how: what a failure should say."""
    if isinstance(compiled, dict) and isinstance(reference, dict):
        for key in sorted(compiled.keys() | reference.keys()):
            if compiled.get(key, "(absent)") != reference.get(key, "(absent)"):
                return difference(compiled.get(key), reference.get(key), f"{path}.{key}")
    if isinstance(compiled, list) and isinstance(reference, list):
        for index, (mine, theirs) in enumerate(zip(compiled, reference, strict=False)):
            if mine != theirs:
                return difference(mine, theirs, f"{path}[{index}]")
    return f"at {path}: compiled {compiled!r:.300} != resolvers {reference!r:.300}"


@pytest.fixture(autouse=True)
def generous_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Limits that admit the large queries of these tests (the same for both paths)."""
    for module in (schema_limits, schema_prepared):
        monkeypatch.setattr(module, "LIMITS", replace(module.LIMITS, **LIMITS))


@pytest.fixture
async def paths(demo_connection: AsyncConnection) -> AsyncIterator[Paths]:
    """Both read paths on the demo data, a third of the fundings confidential."""
    keys = {role: await key_of_role(demo_connection, role) for role in Role}
    async with (
        client_of(demo_connection, compiled=True) as compiled,
        client_of(demo_connection, compiled=False) as resolvers,
    ):
        yield Paths(compiled, resolvers, keys)


@pytest.mark.parametrize(("query", "compiles"), QUERIES.values(), ids=QUERIES.keys())
async def test_every_field_filter_and_order_answers_alike_for_every_role(
    paths: Paths, query: str, compiles: bool
) -> None:
    for role in Role:
        await paths.ask(query, role, compiles)


# The roles the deferred variants are asked by: one that may see no personal data or
# confidential amount, and one that sees those of its state only (both in one fragment).
DEFERRED_ROLES = (Role.PUBLIC, Role.STATE_PARTNER)


def deferred_sample(per_shape: int) -> dict[str, tuple[str, bool]]:
    """`per_shape` of the queries of each shape, drawn with a fixed seed. A shape is what a
    query asks of its type, whether the compiled path answers it, and whether its variant
    streams pages (only root connections do): deferring and streaming work alike for every
    type, and the variants of all the queries took over a quarter of the suite's time."""
    shapes: dict[tuple[str, bool, bool], list[str]] = {}
    for name, (query, compiles) in QUERIES.items():
        streams = "@stream" in deferred_variant(query)
        shapes.setdefault((name.split(" ", 1)[1], compiles, streams), []).append(name)
    draw = random.Random(2026)
    chosen = [
        name for names in shapes.values() for name in draw.sample(names, min(per_shape, len(names)))
    ]
    return {name: QUERIES[name] for name in sorted(chosen)}


DEFERRED = deferred_sample(per_shape=2)


@pytest.mark.slow
@pytest.mark.parametrize(("query", "compiles"), DEFERRED.values(), ids=DEFERRED.keys())
async def test_deferred_and_streamed_variants_add_up_to_the_whole_answer_on_both_paths(
    paths: Paths, query: str, compiles: bool
) -> None:
    for role in DEFERRED_ROLES:
        whole = await paths.ask(query, role, compiles)
        await paths.ask_deferred(query, role, whole, compiles)


def node_types() -> list[GraphQLObjectType]:
    """Every object type implementing Node, by name."""
    node = SCHEMA.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    return sorted(SCHEMA.get_possible_types(node), key=lambda t: t.name)


async def global_ids(connection: AsyncConnection, per_type: int) -> list[str]:
    """IDs of rows of every node type (`per_type` of each, where there are as many), and IDs
    that name no row (a key none has). An ID that is none (`City:x`) leaves the query to the
    resolvers, which refuse it at its index (tests/test_global_ids.py)."""
    ids = []
    for graphql_type in node_types():
        model = schema.get_type_by_name(graphql_type.name).origin.model  # type: ignore[union-attr]
        key = model.__mapper__.primary_key[0]
        keys = (await connection.execute(select(key).order_by(key).limit(per_type))).scalars()
        ids += [f"{graphql_type.name}:{value}" for value in keys]
    ids += ["City:999999", "State:XX", ids[0]]
    return [base64.b64encode(global_id.encode()).decode() for global_id in ids]


def nodes_query(ids: list[str]) -> str:
    """`nodes(ids:)` selecting every node type's fields."""
    fragments = " ".join(f"... on {t.name} {leaf(t, 0, f'{t.name}_')}" for t in node_types())
    listed = ", ".join(f'"{global_id}"' for global_id in ids)
    return f"{{ nodes(ids: [{listed}]) {{ __typename id {fragments} }} }}"


async def test_nodes_of_every_type_beyond_100_ids_answer_alike_for_every_role(
    paths: Paths, demo_connection: AsyncConnection
) -> None:
    ids = await global_ids(demo_connection, per_type=15)
    assert len(ids) > 150
    for role in Role:
        body = await paths.ask(nodes_query(ids), role)
        assert len(body["data"]["nodes"]) == len(ids)


async def test_nodes_plan_one_statement_whatever_the_number_of_ids(
    paths: Paths, demo_connection: AsyncConnection
) -> None:
    """The IDs are one array parameter: 10,000 IDs make the statement that 150 make, with as
    many bind values (the IDs vary, the SQL does not)."""
    query = "query($ids: [ID!]!) { nodes(ids: $ids) { id ... on City { slug } } }"
    few = await global_ids(demo_connection, per_type=15)
    many = (few * (10_000 // len(few) + 1))[:10_000]
    plans = []
    for ids in (few, many):
        PLANS.documents.clear()
        compiled, path = await answer(paths.compiled, query, None, {"ids": ids})
        reference, _path = await answer(paths.resolvers, query, None, {"ids": ids})
        assert path == "compiled" and compiled == reference
        (entry,) = PLANS.documents.values()
        (plan,) = entry.plans.values()
        plans.append(plan)
    assert plans[0] is not None and plans[1] is not None
    assert plans[0].sql == plans[1].sql
    assert len(plans[0].values) == len(plans[1].values)


ROOT_CONNECTIONS = [
    name
    for name, field in SCHEMA.query_type.fields.items()
    if is_connection(field.type)
    and askable(SCHEMA.query_type, name)
    and not falls_back(SCHEMA.query_type, name)
]


@pytest.mark.parametrize("name", ROOT_CONNECTIONS)
async def test_root_connections_read_page_after_page_alike_for_every_role(
    paths: Paths, name: str
) -> None:
    """Pages of 100, the next one after the end of the first: where there are more than 100
    rows, both pages, with every plain field of their nodes (guarded ones too)."""
    field = SCHEMA.query_type.fields[name]
    nodes = leaf(node_type(field.type), depth=0)
    fixed = arguments_of(SCHEMA.query_type, name)[1:-1]
    for role in Role:
        after = None
        for _page in range(2):
            page = ", ".join(
                argument
                for argument in (fixed, "first: 100", after and f'after: "{after}"')
                if argument
            )
            query = f"{{ {name}({page}) {{ totalCount {PAGE_INFO} edges {{ node {nodes} }} }} }}"
            body = await paths.ask(query, role)
            after = body["data"][name]["pageInfo"]["endCursor"]


# The outside test's findings on 5e082e4, each asked as it was.
OWN_CITY_AMOUNTS = "fundings { edges { node { amountEur } } }"
FINDINGS = {
    "3a: a coordinator's own city's amounts, by every way to the city": (
        Role.COORDINATOR,
        f"""{{ city(slug: "dessau-rosslau") {{ {OWN_CITY_AMOUNTS} }}
            cities {{ edges {{ node {{ {OWN_CITY_AMOUNTS} }} }} }}
            state(code: "ST") {{ cities {{ edges {{ node {{ {OWN_CITY_AMOUNTS} }} }} }} }}
            funder(slug: "koerber-stiftung") {{ cities {{ edges {{ node {{
              {OWN_CITY_AMOUNTS} }} }} }} }} }}""",
    ),
    "3b: filters of the cities a funder supports": (
        Role.PUBLIC,
        """{ funder(slug: "koerber-stiftung") {
            s: cities(filter: {sectorsPresent: [MEDIA]}) { totalCount }
            c: cities(filter: {compositions: [MULTISECTORAL]}) { totalCount } } }""",
    ),
}


@pytest.mark.parametrize(("role", "query"), FINDINGS.values(), ids=FINDINGS.keys())
async def test_the_findings_of_the_outside_test_answer_alike(
    paths: Paths, role: Role, query: str
) -> None:
    await paths.ask(query, role)
