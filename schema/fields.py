"""Field factories: each declares where a field's data lives (its SQL source, in the field's
metadata) and gets the generic resolver that batches that source.

Node types are named lazily (`node("City")`) because the types refer to each other.
"""

import inspect
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from types import GenericAlias
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement
from strawberry.annotation import StrawberryAnnotation
from strawberry.extensions import FieldExtension
from strawberry.relay.fields import ConnectionExtension
from strawberry.types.field import StrawberryField

from hub.config import Settings
from resolvers.context import Info
from resolvers.pagination import Keyset, SortKey, sort_key
from resolvers.permissions import OFFICE_ONLY
from resolvers.sources import SOURCE, Computed, Lookup, Relation
from schema.aggregates import AGGREGATED_CONNECTIONS
from schema.connections import Connection
from schema.contracts import INTERNAL

MAX_PAGE_SIZE = Settings.from_env().max_page_size


def node(name: str) -> Any:
    """A lazy reference to the object type `name` of schema.types."""
    return Annotated[name, strawberry.lazy("schema.types")]


def to_one(relation: Relation, type_name: str, description: str, required: bool = False) -> Any:
    """A field holding the one related row (or null)."""

    async def resolve(root: Any, info: Info) -> Any:
        parent = relation.parent_value(root)
        return None if parent is None else await info.context.loaders.one(relation).load(parent)

    graphql_type = node(type_name) if required else node(type_name) | None
    return strawberry.field(
        resolver=resolve,
        graphql_type=graphql_type,
        description=description,
        metadata={SOURCE: relation},
    )


def to_list(
    relation: Relation,
    type_name: str,
    description: str,
    extensions: Sequence[FieldExtension] = (),
) -> Any:
    """A field holding all related rows, for lists that cannot grow (the 16 states, 5 sectors).

    `extensions` guard the field (resolvers/permissions.py), which is then nullable: null
    where the viewer may not see it.
    """

    async def resolve(root: Any, info: Info) -> Any:
        return await info.context.loaders.many(relation).load(relation.parent_value(root))

    listed = GenericAlias(list, (node(type_name),))
    return strawberry.field(
        resolver=resolve,
        graphql_type=listed | None if extensions else listed,
        description=description,
        metadata={SOURCE: relation},
        extensions=list(extensions),
    )


def lookup(source: Lookup, type_name: str, description: str, argument: str) -> Any:
    """A root field finding one row by a unique column, e.g. `city(slug:)`."""

    async def resolve(info: Info, **arguments: Any) -> Any:
        value = source.key(arguments[source.argument])
        return await info.context.loaders.by_key(source.column).load(value)

    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [
            _parameter("info", Info),
            inspect.Parameter(
                source.argument,
                inspect.Parameter.KEYWORD_ONLY,
                annotation=Annotated[str, strawberry.argument(description=argument)],
            ),
        ]
    )
    return strawberry.field(
        resolver=resolve,
        graphql_type=node(type_name) | None,
        description=description,
        metadata={SOURCE: source},
    )


def computed(source: Computed, graphql_type: Any, description: str) -> Any:
    """A field whose value PostgreSQL computes per row (e.g. a network's sector count)."""
    key = str(source.model.__mapper__.primary_key[0].key)

    async def resolve(root: Any, info: Info) -> Any:
        return await info.context.loaders.computed(source).load(getattr(root, key))

    return strawberry.field(
        resolver=resolve,
        graphql_type=graphql_type,
        description=description,
        metadata={SOURCE: source},
    )


@dataclass(frozen=True)
class ConnectionRequest:
    """What a connection field asks for, handed to `Connection.resolve_connection`."""

    relation: Relation
    parent: Hashable
    where: tuple[ColumnElement[bool], ...]
    key: SortKey
    arguments: Hashable

    async def page(self, info: Info, keyset: Keyset) -> Any:
        """This parent's page, batched with the pages of its siblings."""
        loader = info.context.loaders.page(self.relation, keyset, self.where, self.arguments)
        return await loader.load(self.parent)


def connection(
    relation: Relation,
    type_name: str,
    description: str,
    filter_type: Any = None,
    order_type: Any = None,
) -> Any:
    """A Relay connection field over `relation`, with `filter` and `orderBy` if given.

    Filter inputs offer `conditions()` (SQL conditions on the target table) and order enums
    `ordering()`; both paths read them.
    """
    return _connection(
        relation,
        AGGREGATED_CONNECTIONS.get(type_name) or Connection[node(type_name)],  # type: ignore[misc]
        node(type_name),
        description,
        filter_type,
        order_type,
        metadata={SOURCE: relation},
    )


def office_connection(
    relation: Relation, node_type: Any, description: str, filter_type: Any
) -> Any:
    """A root connection over `relation` that only the network office reads; for the others
    it is null with a FORBIDDEN error.

    It names no SQL source, so the compiled read path never plans it and the check always
    runs; nor are its node types Relay nodes, which `node(id:)` would read unchecked.
    """

    def guard(info: Info) -> None:
        if not info.context.viewer.is_admin:
            raise GraphQLError(
                "Only the network office may read this.", extensions={"code": "FORBIDDEN"}
            )

    graphql_type = Connection[node_type] | None
    return _connection(
        relation,
        graphql_type,
        node_type,
        description,
        filter_type,
        metadata={OFFICE_ONLY: True},
        guard=guard,
        internal=True,
    )


# What the paging arguments of every connection mean; strawberry's own descriptions say of
# `last` what holds for `after`.
PAGING_ARGUMENTS = {
    "first": "The first n items (of those after `after`, if given).",
    "after": "The items after this cursor (a page's `endCursor`).",
    "last": "The last n items (of those before `before`, if given).",
    "before": "The items before this cursor (a page's `startCursor`).",
}


class Paging(ConnectionExtension):
    """Relay's paging arguments (`first`, `after`, `last`, `before`), described truly."""

    def apply(self, field: StrawberryField) -> None:
        super().apply(field)
        for argument in field.arguments:
            argument.description = PAGING_ARGUMENTS.get(argument.python_name, argument.description)


def _connection(
    relation: Relation,
    graphql_type: Any,
    node_type: Any,
    description: str,
    filter_type: Any = None,
    order_type: Any = None,
    metadata: dict[str, Any] | None = None,
    guard: Callable[[Info], None] | None = None,
    internal: bool = False,
) -> Any:
    """A connection field of `graphql_type`; its resolver's signature is built here because
    each connection has its own filter and order types, and strawberry reads arguments from
    it. `guard` may refuse the request before anything is read; an `internal` one is left out
    of a supergraph's public contract (schema/contracts.py)."""

    async def resolve(root: Any, info: Info, **arguments: Any) -> ConnectionRequest:
        if guard is not None:
            guard(info)
        filter_input, order = arguments.get("filter"), arguments.get("order_by")
        return ConnectionRequest(
            relation=relation,
            parent=relation.parent_value(root),
            where=tuple(filter_input.conditions()) if filter_input else (),
            key=sort_key(f"{info.path.typename}.{info.field_name}", relation, order),
            arguments=repr(filter_input),
        )

    parameters = [_parameter("root"), _parameter("info", Info)]
    if filter_type is not None:
        description_of_filter = "Only the items that match all of the filter's conditions."
        parameters.append(_argument("filter", filter_type | None, description_of_filter))
    if order_type is not None:
        parameters.append(_argument("order_by", order_type | None, "The order of the items."))
    resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        parameters, return_annotation=GenericAlias(Iterable, (node_type,))
    )
    return StrawberryField(
        description=description,
        type_annotation=StrawberryAnnotation.from_annotation(graphql_type),
        metadata=metadata,
        directives=INTERNAL if internal else (),
        extensions=[Paging(max_results=MAX_PAGE_SIZE)],
    )(resolve)


def _parameter(name: str, annotation: Any = inspect.Parameter.empty) -> inspect.Parameter:
    """A positional parameter of a generated resolver."""
    return inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=annotation)


def _argument(name: str, annotation: Any, description: str) -> inspect.Parameter:
    """An optional, described GraphQL argument of a generated resolver."""
    described = Annotated[annotation, strawberry.argument(description=description)]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=described, default=None
    )
