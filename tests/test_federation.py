"""The hub as an Apollo Federation v2 subgraph: its keys, `_service { sdl }`, `_entities` in
batches on both read paths, and composition with a second subgraph by Apollo's own tools."""

import asyncio
import base64
import fcntl
import json
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    ObjectTypeDefinitionNode,
    build_schema,
    parse,
)
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.config import LOWEST_FEDERATION_VERSION, ConfigurationError, Settings
from schema import schema
from schema.federation import federation_sdl
from schema.node import MappedNode
from tests.conftest import asgi_client
from tests.helpers import counting_statements, graphql
from tests.test_cli import environment, free_port, serving
from tests.test_compiled_path import both_paths

# A small Node project: Apollo's composition library and gateway, and a second subgraph.
NODE_PROJECT = Path(__file__).resolve().parent / "federation"
GATEWAY_STARTUP_SECONDS = 60

KEYS = {
    "Actor": ["id"],
    "City": ["id", "slug"],
    "Funder": ["id", "slug"],
    "Funding": ["id"],
    "Goal": ["id"],
    "LocalNetwork": ["id"],
    "Measure": ["id"],
    "Sector": ["id"],
    "State": ["id", "code"],
    "StatePartnership": ["id"],
    "Theme": ["id"],
    "WorkingGroup": ["id"],
}

ENTITIES = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    __typename
    ... on City { slug name state { code } }
    ... on State { code name }
    ... on LocalNetwork { name city { slug } }
    ... on Actor { slug }
    ... on Measure { slug }
    ... on Funder { slug }
    ... on Funding { title funder { slug } }
  }
}"""


# A flat selection: each entity type costs one statement on the resolver path, and no more.
FLAT_ENTITIES = """query Entities($representations: [_Any!]!) {
  _entities(representations: $representations) {
    ... on City { slug name } ... on State { name } ... on Funder { slug }
  }
}"""


def global_id(type_name: str, key: object) -> str:
    """The hub's global ID of a row."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


async def scalar(connection: AsyncConnection, sql: str) -> Any:
    """One value from hand-written SQL: an independent check of what the API says."""
    return (await connection.execute(text(sql))).scalar_one()


@pytest.fixture(params=[True, False], ids=["compiled", "resolvers"])
async def both_clients(
    request: pytest.FixtureRequest, demo_connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo data, on the compiled path and on the resolver path."""
    settings = replace(Settings.from_env(), compiled=request.param, debug=True)
    async for client in asgi_client(demo_connection, settings):
        yield client


def applied(sdl: str, directive: str) -> dict[str, list[dict[str, str]]]:
    """The arguments of each use of `directive` on the object types and interfaces of an SDL,
    by type."""
    uses: dict[str, list[dict[str, str]]] = {}
    for definition in parse(sdl).definitions:
        if not isinstance(definition, ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode):
            continue
        for node in definition.directives or ():
            if node.name.value == directive:
                arguments = {
                    arg.name.value: getattr(arg.value, "value", "") for arg in node.arguments
                }
                uses.setdefault(definition.name.value, []).append(arguments)
    return uses


def keys_in(sdl: str) -> dict[str, list[str]]:
    """The `@key` fields of each object type and interface of a subgraph SDL."""
    return {
        type_name: [key["fields"] for key in keys]
        for type_name, keys in applied(sdl, "key").items()
    }


async def test_service_sdl_declares_the_keys_and_links_federation_2(
    demo_client: httpx.AsyncClient,
) -> None:
    body = await graphql(demo_client, "{ _service { sdl } }")
    sdl = body["data"]["_service"]["sdl"]
    assert keys_in(sdl) == KEYS
    assert sdl.startswith('schema @link(url: "https://specs.apollo.dev/federation/v2.')


def test_the_client_sdl_has_no_federation_directives() -> None:
    client_sdl = schema.as_str()
    assert keys_in(client_sdl) == {}
    assert "schema @link" not in client_sdl
    assert "_entities(" in client_sdl


async def test_entities_by_every_key_in_order_with_null_where_none_exists(
    both_clients: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    apolda = await scalar(demo_connection, "SELECT id FROM cities WHERE slug = 'apolda'")
    network = await scalar(
        demo_connection,
        "SELECT n.id FROM local_networks n JOIN cities c ON c.id = n.city_id "
        "WHERE c.slug = 'koenigswinter'",
    )
    actor = await scalar(demo_connection, "SELECT id FROM actors ORDER BY id LIMIT 1")
    measure = await scalar(demo_connection, "SELECT id FROM measures ORDER BY id LIMIT 1")
    funder = await scalar(demo_connection, "SELECT id FROM funders WHERE slug = 'bmfsfj'")
    funding = await scalar(demo_connection, "SELECT id FROM fundings ORDER BY id LIMIT 1")
    representations = [
        {"__typename": "City", "id": global_id("City", apolda)},
        {"__typename": "City", "slug": "dessau-rosslau"},
        {"__typename": "State", "code": "NW"},
        {"__typename": "LocalNetwork", "id": global_id("LocalNetwork", network)},
        {"__typename": "Actor", "id": global_id("Actor", actor)},
        {"__typename": "Measure", "id": global_id("Measure", measure)},
        {"__typename": "Funder", "id": global_id("Funder", funder)},
        {"__typename": "Funder", "slug": "koerber-stiftung"},
        {"__typename": "Funding", "id": global_id("Funding", funding)},
        # Nothing to find: an unknown slug and key, and a state code in the wrong case (keys
        # are exact).
        {"__typename": "City", "slug": "atlantis"},
        {"__typename": "City", "id": global_id("City", 999999)},
        {"__typename": "State", "code": "nw"},
        # Again, as a gateway may ask for one entity twice.
        {"__typename": "City", "slug": "apolda"},
    ]
    body = await graphql(both_clients, ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    entities = body["data"]["_entities"]
    assert [entity and entity["__typename"] for entity in entities] == [
        "City", "City", "State", "LocalNetwork", "Actor", "Measure", "Funder", "Funder",
        "Funding", None, None, None, "City",
    ]  # fmt: skip
    assert entities[0] == {"__typename": "City", "slug": "apolda", "name": "Apolda",
                           "state": {"code": "TH"}}  # fmt: skip
    assert entities[1]["slug"] == "dessau-rosslau"
    assert entities[2] == {"__typename": "State", "code": "NW", "name": "Nordrhein-Westfalen"}
    assert entities[3]["city"] == {"slug": "koenigswinter"}
    assert entities[4]["slug"] == await scalar(
        demo_connection, f"SELECT slug FROM actors WHERE id = {actor}"
    )
    assert entities[6]["slug"] == "bmfsfj"
    assert entities[7]["slug"] == "koerber-stiftung"
    assert entities[8]["title"] == await scalar(
        demo_connection, f"SELECT title FROM fundings WHERE id = {funding}"
    )
    assert entities[12] == entities[0]


async def test_representations_the_hub_cannot_read_are_errors_in_their_place(
    both_clients: httpx.AsyncClient,
) -> None:
    representations = [
        {"__typename": "ContactPerson", "email": "info@example.org"},
        {"__typename": "City", "slug": "apolda"},
        {"__typename": "Funder", "name": "Körber-Stiftung"},
        {"__typename": "City", "id": 10},
        # IDs the hub never gives out: another type's, malformed, a key beyond any integer,
        # another spelling of a key (resolvers/global_ids.py).
        {"__typename": "City", "id": global_id("State", "NW")},
        {"__typename": "Actor", "id": "not a global ID"},
        {"__typename": "Measure", "id": global_id("Measure", 2**40)},
        {"__typename": "City", "id": global_id("City", "010")},
    ]
    body = await graphql(both_clients, ENTITIES, {"representations": representations})
    entities = body["data"]["_entities"]
    assert [entity and entity["slug"] for entity in entities] == [None, "apolda"] + [None] * 6
    errors = {tuple(error["path"]): error for error in body["errors"]}
    assert errors.keys() == {("_entities", index) for index in (0, 2, 3, 4, 5, 6, 7)}
    assert {error["extensions"]["code"] for error in errors.values()} == {"BAD_USER_INPUT"}
    assert errors[("_entities", 0)]["message"] == (
        "`ContactPerson` is no entity type of this subgraph."
    )
    assert errors[("_entities", 2)]["message"] == (
        "A `Funder` is referenced by `id` or `slug`, as a string."
    )
    assert body["extensions"]["debug"]["readPath"] == "resolvers"


def node_types() -> dict[str, type[MappedNode]]:
    """Every type of the schema that implements `Node`, by name."""
    node = schema._schema.get_type("Node")
    assert isinstance(node, GraphQLInterfaceType)
    implementations = schema._schema.get_implementations(node).objects
    return {each.name: schema.get_type_by_name(each.name).origin for each in implementations}


async def first_node_ids(client: httpx.AsyncClient, connection: AsyncConnection) -> dict[str, str]:
    """The `id` that `node(id:)` hands back for the first row of each Node type, by type."""
    ids = {}
    for name, node in node_types().items():
        first = select(func.min(node.primary_key()))
        key = (await connection.execute(first)).scalar_one()
        assert key is not None, f"the demo data has no {name}"
        handed_out = await graphql(client, "query($id: ID!) { node(id: $id) { id } }",
                                   {"id": global_id(name, key)})  # fmt: skip
        ids[name] = handed_out["data"]["node"]["id"]
    return ids


NODE_ENTITIES = """query($representations: [_Any!]!) {
  _entities(representations: $representations) { __typename ... on Node { id } } }"""


async def test_every_node_is_an_entity_by_the_id_the_hub_hands_out(
    both_clients: httpx.AsyncClient,
    demo_engine: AsyncEngine,
    demo_connection: AsyncConnection,
) -> None:
    """Each Node type, found by walking the schema, declares `@key(fields: "id")`, and
    `_entities` finds its first row by the `id` that `node(id:)` hands back: in one statement
    for all of them on the compiled path, one per type on the resolver path."""
    ids = await first_node_ids(both_clients, demo_connection)
    assert len(ids) >= 12
    keys = keys_in(await service_sdl(both_clients))
    assert {name: "id" in keys.get(name, ()) for name in ids} == dict.fromkeys(ids, True)
    representations = [{"__typename": name, "id": node_id} for name, node_id in ids.items()]
    with counting_statements(demo_engine) as statements:
        body = await graphql(both_clients, NODE_ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    assert body["data"]["_entities"] == representations
    path = body["extensions"]["debug"]["readPath"]
    assert statements.count == {"compiled": 1, "resolvers": len(ids)}[path]


@pytest.mark.parametrize(("path", "statements"), [("compiled", 1), ("resolvers", 12)])
async def test_every_node_is_an_entity_as_a_node_by_its_id(
    demo_engine: AsyncEngine, demo_connection: AsyncConnection, path: str, statements: int
) -> None:
    """A gateway references an object of the entity interface as a `Node`; `_entities`
    answers the object of the type its global ID names, as it answers that type's reference:
    on the compiled path in one statement, on the resolver path in one per type."""
    settings = replace(Settings.from_env(), compiled=path == "compiled", debug=True)
    async for client in asgi_client(demo_connection, settings):
        ids = await first_node_ids(client, demo_connection)
        as_nodes = [{"__typename": "Node", "id": node_id} for node_id in ids.values()]
        with counting_statements(demo_engine) as counted:
            body = await graphql(client, NODE_ENTITIES, {"representations": as_nodes})
    assert "errors" not in body, body
    assert body["data"]["_entities"] == [
        {"__typename": name, "id": node_id} for name, node_id in ids.items()
    ]
    assert body["extensions"]["debug"]["readPath"] == path
    assert counted.count == statements == {"compiled": 1, "resolvers": len(ids)}[path]


async def test_a_node_whose_id_names_no_node_is_an_error_in_its_place(
    both_clients: httpx.AsyncClient,
) -> None:
    representations = [
        {"__typename": "Node", "id": "not a global ID"},
        {"__typename": "Node", "id": global_id("ContactPerson", 1)},
        {"__typename": "Node", "id": global_id("City", "010")},
        {"__typename": "Node", "id": global_id("City", 2**40)},
        {"__typename": "Node", "id": 10},
        {"__typename": "Node"},
        {"__typename": "Node", "id": global_id("City", 999999)},
        {"__typename": "Node", "id": global_id("State", "NW")},
    ]
    body = await graphql(both_clients, NODE_ENTITIES, {"representations": representations})
    entities = body["data"]["_entities"]
    assert entities == [None] * 7 + [{"__typename": "State", "id": global_id("State", "NW")}]
    errors = {tuple(error["path"]): error for error in body["errors"]}
    assert errors.keys() == {("_entities", index) for index in range(6)}
    assert {error["extensions"]["code"] for error in errors.values()} == {"BAD_USER_INPUT"}
    assert errors[("_entities", 0)]["message"] == (
        "A `Node` is referenced by `id`, a global ID of this API."
    )
    assert errors[("_entities", 2)]["message"] == "The `id` is no global ID of a `City`."


async def entity_statements(
    engine: AsyncEngine, client: httpx.AsyncClient, representations: list[dict[str, str]]
) -> int:
    """How many statements `_entities` issues for the representations."""
    with counting_statements(engine) as statements:
        body = await graphql(client, FLAT_ENTITIES, {"representations": representations})
    assert "errors" not in body, body
    assert len(body["data"]["_entities"]) == len(representations)
    return statements.count


@pytest.mark.parametrize(("compiled", "statements"), [(True, 1), (False, 3)])
async def test_entities_cost_one_statement_per_entity_type_however_many_references(
    demo_engine: AsyncEngine,
    demo_connection: AsyncConnection,
    compiled: bool,
    statements: int,
) -> None:
    """500 cities and 100 funders by ID, and 50 states by code: one statement per type (3) on
    the resolver path, the operation's one statement on the compiled path; a handful of
    references cost as many."""
    city_ids = (await demo_connection.execute(text("SELECT id FROM cities"))).scalars().all()
    funder_ids = (await demo_connection.execute(text("SELECT id FROM funders"))).scalars().all()
    many = [
        *({"__typename": "City", "id": global_id("City", city_ids[n % len(city_ids)])}
          for n in range(500)),
        *({"__typename": "Funder", "id": global_id("Funder", funder_ids[n % len(funder_ids)])}
          for n in range(100)),
        *({"__typename": "State", "code": code} for code in ["NW", "BY", "TH", "SN", "HB"] * 10),
    ]  # fmt: skip
    few = [many[0], many[500], many[600]]
    settings = replace(Settings.from_env(), compiled=compiled)
    async for client in asgi_client(demo_connection, settings):
        assert await entity_statements(demo_engine, client, many) == statements
        assert await entity_statements(demo_engine, client, few) == statements


async def test_guarded_fields_of_entities_are_forbidden_alike_on_both_paths(
    demo_connection: AsyncConnection,
) -> None:
    query = """{ _entities(representations: [{__typename: "City", slug: "apolda"},
      {__typename: "Funder", slug: "bmfsfj"}]) {
      ... on City { slug contacts { fullName } } ... on Funder { contacts { email } } } }"""
    body, path = await both_paths(demo_connection, query, {})
    assert path == "compiled"
    assert body["data"]["_entities"] == [{"slug": "apolda", "contacts": None}, {"contacts": None}]
    assert [error["path"] for error in body["errors"]] == [
        ["_entities", 0, "contacts"],
        ["_entities", 1, "contacts"],
    ]


# --- Apollo's tools: composition, and a gateway over the hub and a second subgraph ---------


@pytest.fixture(scope="session")
def node_project() -> Path:
    """tests/federation with its packages, installed from npm as the lock file pins them,
    again whenever the lock file changed."""
    # npm writes node_modules/.package-lock.json last: without it, an install is unfinished.
    installed = NODE_PROJECT / "node_modules" / ".package-lock.json"
    lock = NODE_PROJECT / "package-lock.json"
    with lock.open() as held:
        # Under `pytest -n` (the Makefile's), one process installs while the others wait.
        fcntl.flock(held, fcntl.LOCK_EX)
        if not installed.exists() or installed.stat().st_mtime < lock.stat().st_mtime:
            subprocess.run(
                ["npm", "ci", "--no-audit", "--no-fund"], cwd=NODE_PROJECT, check=True, timeout=600
            )
    return NODE_PROJECT


@dataclass(frozen=True)
class Composition:
    """What composing the hub with the other subgraphs gave: the supergraph SDL and the API
    schema's, or the errors."""

    errors: str
    supergraph: str = ""
    api: str = ""


def compose(
    node_project: Path,
    hub_sdl: str,
    directory: Path,
    library: str,
    tag: str | None = None,
    subgraphs: str = "events,reviews",
) -> Composition:
    """Compose the hub's subgraph SDL with the `subgraphs` of tests/federation (compose.mjs)
    with `library`; with `tag`, the contract including what carries it."""
    sdl_file = directory / "hub.graphql"
    sdl_file.write_text(hub_sdl)
    composed = subprocess.run(
        ["node", "compose.mjs", f"--subgraphs={subgraphs}", library, str(sdl_file)]
        + ([tag] if tag else []),
        cwd=node_project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if composed.returncode != 0:
        return Composition(errors=composed.stderr)
    return Composition(errors="", **json.loads(composed.stdout))


async def service_sdl(client: httpx.AsyncClient) -> str:
    """The hub's subgraph SDL, as a gateway reads it."""
    return (await graphql(client, "{ _service { sdl } }"))["data"]["_service"]["sdl"]


# Apollo's composition library and The Guild's (Hive Gateway's and Hive's registry's).
LIBRARIES = ["apollo", "guild"]


@pytest.mark.parametrize("library", LIBRARIES)
async def test_the_hub_composes_with_subgraphs_extending_city_and_paging_as_relay(
    demo_client: httpx.AsyncClient, node_project: Path, tmp_path: Path, library: str
) -> None:
    """The events subgraph extends `City`; the reviews subgraph has its own Relay `PageInfo`,
    which the hub's (shareable) leaves it."""
    composed = compose(node_project, await service_sdl(demo_client), tmp_path, library)
    assert composed.errors == ""
    joins = applied(composed.supergraph, "join__type")
    assert {(join["graph"], join.get("key")) for join in joins["City"]} == {
        ("EVENTS", "id"),
        ("HUB", "id"),
        ("HUB", "slug"),
        ("REVIEWS", "id"),
    }
    hub_keys = {
        type_name: [join["key"] for join in type_joins if join["graph"] == "HUB" and "key" in join]
        for type_name, type_joins in joins.items()
    }
    assert {type_name: keys for type_name, keys in hub_keys.items() if keys} == KEYS
    assert {join["graph"] for join in joins["PageInfo"]} == {"HUB", "REVIEWS"}
    api = build_schema(composed.api)
    assert "events" in api.get_type("City").fields  # type: ignore[union-attr]
    everything = {"cities", "events", "reviews", "auditLog", "applications", "savedViews"}
    assert everything <= api.query_type.fields.keys()  # type: ignore[union-attr]


def reachable(api_sdl: str) -> GraphQLSchema:
    """The API schema of a supergraph, with only the types its root types reach."""
    api = build_schema(api_sdl)
    return GraphQLSchema(api.query_type, api.mutation_type, api.subscription_type)


# What the public contract leaves out: personal data, the office's reads, and the writes.
INTERNAL_ROOT_FIELDS = {"applications", "auditLog", "savedViews", "applicationStatusChanged"}
INTERNAL_TYPES = {"ContactPerson", "Application", "AuditEntry", "SavedView", "Mutation"}


@pytest.mark.parametrize("library", LIBRARIES)
async def test_a_public_contract_keeps_the_public_data_and_drops_what_is_internal(
    demo_client: httpx.AsyncClient, node_project: Path, tmp_path: Path, library: str
) -> None:
    """The contract including only what is tagged `public`, as Apollo GraphOS and Hive cut
    it: every object type it reaches keeps all its fields but contact persons, the root
    types all but the internal fields."""
    composed = compose(node_project, await service_sdl(demo_client), tmp_path, library, "public")
    assert composed.errors == ""
    public = reachable(composed.api)
    hub = schema._schema
    assert public.mutation_type is None
    for root in ("Query", "Subscription"):
        hub_fields = {name for name in hub.get_type(root).fields if not name.startswith("_")}  # type: ignore[union-attr]
        public_fields = set(public.get_type(root).fields)  # type: ignore[union-attr]
        assert public_fields == hub_fields - INTERNAL_ROOT_FIELDS
    assert public.type_map.keys() & INTERNAL_TYPES == set()
    for name, public_type in public.type_map.items():
        if isinstance(public_type, GraphQLObjectType) and name not in ("Query", "Subscription"):
            hub_fields = set(hub.get_type(name).fields)  # type: ignore[union-attr]
            assert set(public_type.fields) == hub_fields - {"contacts"}, name
    arguments = public.query_type.fields["cities"].args  # type: ignore[union-attr]
    assert set(arguments) == {"filter", "orderBy", "first", "after", "last", "before"}


@pytest.mark.parametrize("library", LIBRARIES)
def test_composition_fails_on_a_subgraph_without_keys(
    node_project: Path, tmp_path: Path, library: str
) -> None:
    """The composition harness reports errors: without the hub's keys, both subgraphs would
    resolve `City.id` and neither could find the other's cities."""
    without_keys = "\n".join(
        line.replace(' @key(fields: "id")', "").replace(' @key(fields: "slug")', "")
        for line in federation_sdl(schema).splitlines()
    )
    composed = compose(node_project, without_keys, tmp_path, library)
    assert 'Non-shareable field "City.id" is resolved from multiple subgraphs' in composed.errors


@pytest.mark.parametrize("library", LIBRARIES)
def test_composition_fails_where_page_info_is_not_shareable(
    node_project: Path, tmp_path: Path, library: str
) -> None:
    """What partners met before the hub's `PageInfo` was shareable."""
    sdl = federation_sdl(schema)
    assert "type PageInfo @shareable " in sdl
    composed = compose(
        node_project, sdl.replace("type PageInfo @shareable ", "type PageInfo "), tmp_path, library
    )
    message = 'Non-shareable field "PageInfo.hasNextPage" is resolved from multiple subgraphs'
    assert message in composed.errors


@pytest.mark.parametrize(("version", "composes"), [("2.9", True), ("2.11", False)])
async def test_the_hub_declares_the_federation_version_its_gateway_asks_for(
    demo_connection: AsyncConnection,
    node_project: Path,
    tmp_path: Path,
    version: str,
    composes: bool,
) -> None:
    """HUB_FEDERATION_VERSION: by default the lowest the hub's directives need (which every
    composition library knows); The Guild's knows no version beyond 2.9."""
    settings = replace(Settings.from_env(), federation_version=version)
    async for client in asgi_client(demo_connection, settings):
        sdl = await service_sdl(client)
    assert sdl.startswith(f'schema @link(url: "https://specs.apollo.dev/federation/v{version}"')
    refusal = f"Invalid version v{version} for the federation feature"
    errors = compose(node_project, sdl, tmp_path, "guild").errors
    assert (errors == "", refusal in errors) == (composes, not composes)


def test_a_federation_version_the_hub_cannot_declare_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HUB_FEDERATION_VERSION", "3.0")
    with pytest.raises(ConfigurationError, match=r"HUB_FEDERATION_VERSION must be one of 2\.3, "):
        Settings.from_env()
    monkeypatch.delenv("HUB_FEDERATION_VERSION")
    assert Settings.from_env().federation_version == LOWEST_FEDERATION_VERSION == "2.3"


async def test_node_is_an_entity_interface_where_the_setting_declares_it(
    demo_connection: AsyncConnection,
) -> None:
    """HUB_FEDERATION_NODE_KEY: off by default, as Apollo's composition then refuses any
    other subgraph that implements `Node` (see below)."""
    assert not Settings.from_env().federation_node_key
    for node_key in (False, True):
        settings = replace(Settings.from_env(), federation_node_key=node_key)
        async for client in asgi_client(demo_connection, settings):
            keys = keys_in(await service_sdl(client))
        assert keys.get("Node") == (["id"] if node_key else None)
        assert {name: keys[name] for name in KEYS} == KEYS


@pytest.mark.parametrize("library", LIBRARIES)
def test_a_subgraph_extends_every_node_as_an_interface_object(
    node_project: Path, tmp_path: Path, library: str
) -> None:
    """The notes subgraph adds `remark` to `Node` (`@interfaceObject`): every Node type of the
    hub has it in the supergraph, which plans it from the hub's entity interface by `id`."""
    sdl = federation_sdl(schema, node_key=True)
    composed = compose(node_project, sdl, tmp_path, library, subgraphs="events,notes")
    assert composed.errors == ""
    node_joins = applied(composed.supergraph, "join__type")["Node"]
    assert {(join["graph"], join.get("key")) for join in node_joins} == {
        ("HUB", "id"),
        ("NOTES", "id"),
    }
    api = build_schema(composed.api)
    remarked = {
        name
        for name, each in api.type_map.items()
        if isinstance(each, GraphQLObjectType | GraphQLInterfaceType) and "remark" in each.fields
    }
    assert remarked == {"Node", *node_types()}


@pytest.mark.parametrize("library", LIBRARIES)
def test_apollo_refuses_the_node_key_beside_another_subgraphs_node(
    node_project: Path, tmp_path: Path, library: str
) -> None:
    """Why HUB_FEDERATION_NODE_KEY is off by default: Apollo's composition requires the
    subgraph with the entity interface to define every implementation of it, so the reviews
    subgraph's `Review implements Node` fails it (The Guild's does not check that)."""
    composed = compose(node_project, federation_sdl(schema, node_key=True), tmp_path, library)
    refusal = (
        'Interface type "Node" has a resolvable key (@key(fields: "id")) in subgraph "hub" but '
        'that subgraph is missing some of the supergraph implementation types of "Node".'
    )
    assert (refusal in composed.errors) == (library == "apollo")


@asynccontextmanager
async def gateway(
    node_project: Path,
    hub_url: str,
    city_ids: list[str],
    secret: str | None = None,
    remarked: list[str] | None = None,
) -> AsyncIterator[str]:
    """An Apollo Gateway over the hub and the events subgraph (tests/federation/gateway.mjs),
    the events subgraph having events in the cities of `city_ids`, sending the hub `secret`
    as its own credential if given; with `remarked`, over the notes subgraph too, which lists
    the nodes of those IDs. Yields the gateway's URL."""
    process = await asyncio.create_subprocess_exec(
        "node",
        "gateway.mjs",
        *([f"--notes={','.join(remarked)}"] if remarked is not None else []),
        hub_url,
        *city_ids,
        cwd=node_project,
        env=os.environ | ({"HUB_GATEWAY_SECRET": secret} if secret else {}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None and process.stderr is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), GATEWAY_STARTUP_SECONDS)
        if not line:
            pytest.fail(f"the gateway did not start:\n{(await process.stderr.read()).decode()}")
        yield json.loads(line)["gateway"]
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


@pytest.mark.slow
async def test_a_gateway_answers_queries_spanning_the_hub_and_another_subgraph(
    demo_database_url: str, demo_connection: AsyncConnection, node_project: Path
) -> None:
    rows = (await demo_connection.execute(text("SELECT slug, id FROM cities"))).all()
    ids = {slug: city_id for slug, city_id in rows}
    apolda, koenigswinter = (
        global_id("City", ids["apolda"]),
        global_id("City", ids["koenigswinter"]),
    )
    port = free_port()
    with serving(port, environment(DATABASE_URL=demo_database_url)):
        hub_url = f"http://127.0.0.1:{port}/graphql"
        async with (
            gateway(node_project, hub_url, [apolda, koenigswinter]) as url,
            httpx.AsyncClient(base_url=url.removesuffix("/"), timeout=30) as client,
        ):
            # From the hub to the events subgraph: the gateway asks it for the city's events.
            from_hub = await client.post(
                "/", json={"query": '{ city(slug: "apolda") { name events { title } } }'}
            )
            # From the events subgraph to the hub: the gateway asks the hub's `_entities`.
            from_events = await client.post(
                "/", json={"query": "{ events { title city { slug state { code } } } }"}
            )
    assert from_hub.json() == {
        "data": {
            "city": {
                "name": "Apolda",
                "events": [
                    {"title": f"Ehrenamtsmesse ({apolda})"},
                    {"title": f"Freiwilligentag ({apolda})"},
                ],
            }
        }
    }
    assert from_events.json()["data"]["events"] == [
        {"title": f"{title} ({city_id})", "city": {"slug": slug, "state": {"code": state}}}
        for city_id, slug, state in (
            (apolda, "apolda", "TH"),
            (koenigswinter, "koenigswinter", "NW"),
        )
        for title in ("Ehrenamtsmesse", "Freiwilligentag")
    ]


@pytest.mark.slow
async def test_a_gateway_answers_fields_another_subgraph_adds_to_every_node(
    demo_database_url: str, demo_connection: AsyncConnection, node_project: Path
) -> None:
    """Through an Apollo Gateway over the hub declaring `Node` an entity interface and the
    notes subgraph extending it: the hub's objects have the notes' `remark`, and the notes'
    nodes the hub's fields, which the gateway asks the hub for as `Node`s."""
    apolda = global_id(
        "City", await scalar(demo_connection, "SELECT id FROM cities WHERE slug = 'apolda'")
    )
    actor_key = await scalar(demo_connection, "SELECT min(id) FROM actors")
    actor, state = global_id("Actor", actor_key), global_id("State", "NW")
    port = free_port()
    hub = environment(DATABASE_URL=demo_database_url, HUB_FEDERATION_NODE_KEY="1")
    with serving(port, hub):
        hub_url = f"http://127.0.0.1:{port}/graphql"
        async with (
            gateway(node_project, hub_url, [apolda], remarked=[apolda, state, actor]) as url,
            httpx.AsyncClient(base_url=url.removesuffix("/"), timeout=30) as client,
        ):
            from_hub = await client.post(
                "/", json={"query": '{ city(slug: "apolda") { name remark } }'}
            )
            from_notes = await client.post(
                "/",
                json={
                    "query": "{ remarked { __typename id remark "
                    "... on City { slug } ... on State { code } ... on Actor { slug } } }"
                },
            )
    assert from_hub.json() == {
        "data": {"city": {"name": "Apolda", "remark": f"Remark on {apolda}"}}
    }
    actor_slug = await scalar(demo_connection, f"SELECT slug FROM actors WHERE id = {actor_key}")
    assert from_notes.json() == {
        "data": {
            "remarked": [
                {"__typename": "City", "id": apolda, "remark": f"Remark on {apolda}",
                 "slug": "apolda"},
                {"__typename": "State", "id": state, "remark": f"Remark on {state}", "code": "NW"},
                {"__typename": "Actor", "id": actor, "remark": f"Remark on {actor}",
                 "slug": actor_slug},
            ]
        }
    }  # fmt: skip
