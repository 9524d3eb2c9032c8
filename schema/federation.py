"""Apollo Federation v2: the hub as a subgraph that a gateway composes into a supergraph.

The entity types declare their keys where they are declared (`@strawberry.federation.type(
keys=["id", "slug"])` in schema/types.py). `_entities` finds the objects a gateway references
by one of those keys, batched (resolvers/federation.py); `_service` hands a gateway the SDL with
federation's directives. The fields are the hub's own rather than strawberry's, so that they
are described, batched and compiled like every other field.
"""

from dataclasses import replace
from functools import cache, lru_cache
from typing import Annotated, Any, get_args

import strawberry
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLObjectType,
    GraphQLSchema,
    InterfaceTypeDefinitionNode,
    parse,
    print_ast,
    print_directive,
    print_type,
)
from graphql.execution.collect_fields import FieldDetailsList
from graphql.utilities.print_schema import is_defined_type
from strawberry.federation.schema import FederationAny
from strawberry.federation.schema_directives import Key
from strawberry.printer import print_schema
from strawberry.types import ExecutionContext
from strawberry.types.scalar import scalar

from hub.config import LOWEST_FEDERATION_VERSION
from resolvers import federation as sql
from resolvers import global_ids
from resolvers.compiler import Compiler, NotCompilable
from resolvers.context import Info
from resolvers.errors import bad_input
from resolvers.plans import RefusedValue
from resolvers.sources import SOURCE, Planned, SqlColumn
from schema import contracts
from schema.deferred import INCREMENTAL, without_incremental_definitions
from schema.extensions import log_unexpected
from schema.node import MappedNode
from schema.types import (
    Actor,
    City,
    Funder,
    Funding,
    Goal,
    LocalNetwork,
    Measure,
    Sector,
    State,
    StatePartnership,
    Theme,
    WorkingGroup,
)

# Every Node is an entity by its `id`; some by another key besides (schema/types.py).
Entity = Annotated[
    City
    | State
    | StatePartnership
    | WorkingGroup
    | Sector
    | LocalNetwork
    | Actor
    | Theme
    | Goal
    | Measure
    | Funder
    | Funding,
    strawberry.union(
        "_Entity",
        description="An object other subgraphs of a supergraph may reference by one of its "
        "keys: any object with an `id` by it, cities and funders by `slug` too, states by "
        "`code`.",
    ),
]

# Federation's `_Any`, described: a representation of an entity, as a gateway sends it.
ANY = scalar(
    name="_Any",
    description="A representation of an entity: its `__typename` and the fields of one of its "
    'keys, e.g. `{"__typename": "City", "id": "Q2l0eToxMA=="}`.',
    serialize=lambda value: value,
    parse_value=lambda value: value,
)
SCALARS: dict[object, Any] = {FederationAny: ANY}


def keys_of(node: type[MappedNode]) -> dict[str, SqlColumn]:
    """The key fields of an entity type and the columns that hold them, in declared order:
    `id` (the global ID) names the primary key, any other key the column of its name."""
    definition = node.__strawberry_definition__  # type: ignore[attr-defined]
    fields = [directive.fields for directive in definition.directives if isinstance(directive, Key)]
    return {
        field: node.primary_key() if field == "id" else getattr(node.model, field)
        for field in fields
    }


ENTITIES: dict[str, type[MappedNode]] = {
    node.__strawberry_definition__.name: node for node in get_args(get_args(Entity)[0])
}
KEYS = {type_name: keys_of(node) for type_name, node in ENTITIES.items()}
# References remembered (a few MB at most).
MAX_CACHED_REFERENCES = 20_000


# The entity interface: a gateway references any node as a `Node` by its `id`, where another
# subgraph extends every node at once (`@interfaceObject`, HUB_FEDERATION_NODE_KEY).
NODE = "Node"


def reference_of(representation: Any) -> sql.Reference:
    """The reference a representation stands for; a representation that names no entity type,
    none of its keys, or a global ID that is none of its type's, is the client's error."""
    type_name = representation.get("__typename") if isinstance(representation, dict) else None
    if type_name == NODE:
        return node_reference(representation.get("id"))
    if type_name not in KEYS:
        raise bad_input(f"`{type_name}` is no entity type of this subgraph.")
    for key in KEYS[type_name]:
        value = representation.get(key)
        if isinstance(value, str):
            return reference_by(type_name, key, value)
    names = " or ".join(f"`{key}`" for key in KEYS[type_name])
    raise bad_input(f"A `{type_name}` is referenced by {names}, as a string.")


def node_reference(global_id: Any) -> sql.Reference:
    """The reference a representation of a `Node` stands for: the object of the type its
    global ID names."""
    parts = global_ids.parts_of(global_id) if isinstance(global_id, str) else None
    if parts is None or parts[0] not in KEYS:
        raise bad_input(f"A `{NODE}` is referenced by `id`, a global ID of this API.")
    return reference_by(parts[0], "id", global_id)


# A gateway asks for the same entities again and again, in batches of hundreds: decoding each
# reference's global ID cost more than the rest of reading the batch.
@lru_cache(maxsize=MAX_CACHED_REFERENCES)
def reference_by(type_name: str, key: str, value: str) -> sql.Reference:
    """The reference to the `type_name` whose `key` field has `value` (an entity type's)."""
    column = KEYS[type_name][key]
    if key != "id":
        return sql.Reference.of(type_name, key, column, value)
    stored = global_ids.key_of(value, type_name, column.type.python_type)
    if stored is None:
        raise bad_input(f"The `id` is no global ID of a `{type_name}`.")
    return sql.Reference.of(type_name, key, column, stored)


def references_of(representations: list[Any]) -> list[sql.Reference | Exception]:
    """The reference of each representation, or the error that it is none."""
    references: list[sql.Reference | Exception] = []
    for representation in representations:
        try:
            references.append(reference_of(representation))
        except GraphQLError as error:
            references.append(error)
    return references


def compiled_references(representations: list[Any]) -> str:
    """The references as the compiled plan reads them; a representation the resolvers would
    refuse leaves the run to them, with their error in its place."""
    try:
        return sql.references_json([reference_of(each) for each in representations])
    except GraphQLError:
        raise RefusedValue(representations) from None


def plan_entities(
    compiler: Compiler, field_def: Any, details: FieldDetailsList, _parent: Any
) -> Any:
    """The compiled read path's `_entities`: the representations are one bind value, so one
    plan serves any batch of references."""
    try:
        references = compiler.bound_argument(
            field_def, details, "representations", compiled_references
        )
    except RefusedValue:
        raise NotCompilable("a representation the resolvers refuse") from None
    return sql.plan_entities(compiler, field_def, details, references, KEYS)


@strawberry.type(name="_Service", description="What a gateway needs to know of this subgraph.")
class Service:
    sdl: str = strawberry.field(
        description="The subgraph's SDL with federation's directives (`@link`, `@key`), for "
        "composing it into a supergraph."
    )


def federation_link(version: str) -> str:
    """The URL by which an SDL links a version of Apollo Federation."""
    return f'@link(url: "https://specs.apollo.dev/federation/v{version}"'


@cache
def federation_sdl(
    schema: strawberry.Schema, version: str = LOWEST_FEDERATION_VERSION, node_key: bool = False
) -> str:
    """The schema's SDL with federation's directives, as strawberry prints it, declaring
    `version` of federation (the schema is built with the lowest its directives need), and
    with `node_key`, the interface `Node` an entity by `id`."""
    # Without @defer and @stream: gateways plan them themselves (docs/incremental.md).
    document = contracts.tagged(without_incremental_definitions(parse(print_schema(schema))))
    built = print_ast(with_node_key(document) if node_key else document)
    assert federation_link(LOWEST_FEDERATION_VERSION) in built, "the schema links federation"
    return built.replace(federation_link(LOWEST_FEDERATION_VERSION), federation_link(version), 1)


def with_node_key(document: DocumentNode) -> DocumentNode:
    """The SDL with `interface Node @key(fields: "id")`: every implementation has that key.

    Added here, not on the interface (strawberry's `relay.Node`), as it is a setting: with it,
    Apollo's composition refuses every other subgraph that implements a `Node` of its own
    (docs/federation.md)."""
    key = contracts.directive("key", fields="id")
    definitions = tuple(
        replace(each, directives=(key, *(each.directives or ())))
        if isinstance(each, InterfaceTypeDefinitionNode) and each.name.value == NODE
        else each
        for each in document.definitions
    )
    return replace(document, definitions=definitions)


@strawberry.type(description="Apollo Federation's entry points, for gateways.")
class FederationQuery:
    @strawberry.field(
        name="_entities",
        description="The objects with these keys, in the same order: null where none exists, "
        "and an error where a representation names no entity type or none of its keys. "
        "References by one key of one type load together.",
        metadata={SOURCE: Planned(plan_entities)},
    )
    async def entities(
        self,
        info: Info,
        representations: Annotated[
            list[FederationAny],
            strawberry.argument(description="The entities' representations, as `_Any`."),
        ],
    ) -> list[Entity | None]:
        references = references_of(representations)
        return await sql.load_entities(info.context.loaders, references)

    @strawberry.field(name="_service", description="This subgraph, for gateways.")
    def service(self, info: Info) -> Service:
        context = info.context
        sdl = federation_sdl(info.schema, context.federation_version, context.federation_node_key)
        return Service(sdl=sdl)


class FederatedSchema(strawberry.federation.Schema):
    """The hub's schema: served to clients and gateways alike."""

    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Log the unexpected errors only (`log_unexpected`), not each error as strawberry's
        own does."""
        log_unexpected(errors, execution_context.context if execution_context else None)

    def as_str(self) -> str:
        """The SDL of the API clients query: the served types, as strawberry prints them, by
        name, but without the directives only a gateway reads (`@link`, `@key`) and the types
        only those use. `_service { sdl }` holds the SDL with them."""
        served = self._schema
        objects = [each for each in served.type_map.values() if isinstance(each, GraphQLObjectType)]
        # graphql-core collects the types the roots and objects use, and not the directives'.
        for_clients = GraphQLSchema(
            served.query_type, subscription=served.subscription_type, types=objects
        )
        types = for_clients.type_map
        defined = (print_type(types[n]) for n in sorted(types) if is_defined_type(types[n]))
        # @defer and @stream first: graphql-core's specified directives are not printed.
        directives = (print_directive(directive) for directive in INCREMENTAL)
        return "\n\n".join([*directives, *defined])
