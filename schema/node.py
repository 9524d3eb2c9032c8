"""Relay nodes backed by models: global IDs from primary keys, lookups through DataLoaders."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Annotated, Any, ClassVar

import strawberry
from graphql import GraphQLError
from strawberry import relay
from strawberry.relay.fields import NodeExtension
from strawberry.types.base import StrawberryObjectDefinition
from strawberry.types.cast import cast as strawberry_cast

from models import Base
from resolvers import global_ids
from resolvers.context import Info
from resolvers.errors import bad_input


class MappedNode(relay.Node):
    """A Relay node whose rows live in `model`'s table; resolvers hand over model instances.

    Subclasses name their model: `class City(MappedNode, model=models.City)`.
    """

    model: ClassVar[type[Base]]

    def __init_subclass__(cls, model: type[Base] | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if model is not None:
            cls.model = model

    @classmethod
    def is_type_of(cls, obj: Any, info: Any) -> bool:
        """Interfaces and unions tell types apart by the model instance they hold."""
        return isinstance(obj, cls.model)

    @classmethod
    def resolve_id(cls, root: Any, *, info: Any) -> str:
        """The primary key, which the global ID wraps with the type name."""
        return str(getattr(root, cls.primary_key_name()))

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Any]:
        """The rows of the given IDs; IDs that cannot be keys of this type find nothing."""
        keys = [cls.parse_key(node_id) for node_id in node_ids]
        loader = info.context.loaders.by_key(cls.primary_key())
        found = iter(await loader.load_many([key for key in keys if key is not None]))
        return [next(found) if key is not None else None for key in keys]

    @classmethod
    def primary_key_name(cls) -> str:
        """The name of the model's primary-key attribute."""
        return str(cls.model.__mapper__.primary_key[0].key)

    @classmethod
    def primary_key(cls) -> Any:
        """The model's primary-key attribute."""
        return getattr(cls.model, cls.primary_key_name())

    @classmethod
    def parse_key(cls, node_id: str) -> Any:
        """The primary-key value a global ID's node part stands for, or None."""
        return global_ids.key_in(node_id, cls.primary_key().type.python_type)


class NodeLookup(NodeExtension):
    """Relay's `node(id:)` and `nodes(ids:)`, where an ID the hub never gives out (malformed,
    not in the hub's own form, of a type that is no node, a key out of range) is the client's
    error, `BAD_USER_INPUT`, in place of that one object: strawberry's own lookups raise plain
    exceptions for them, masked as internal errors, and one such ID nulls all of `nodes`.

    The IDs are read as the text the client sent (`ID`, as strawberry's `GlobalID` shows in
    the schema), so that only the hub's own form of an ID is one (`resolvers.global_ids`).
    """

    def get_node_resolver(self, field: Any) -> Any:
        async def node(
            info: Info,
            id: Annotated[strawberry.ID, strawberry.argument(description="The ID of the object.")],
        ) -> Any:
            (found,) = await nodes_of(info, [id])
            if isinstance(found, GraphQLError):
                raise found
            return found

        return node

    def get_node_list_resolver(self, field: Any) -> Any:
        async def nodes(
            info: Info,
            ids: Annotated[
                list[strawberry.ID], strawberry.argument(description="The IDs of the objects.")
            ],
        ) -> list[Any]:
            return await nodes_of(info, ids)

        return nodes


async def nodes_of(info: Info, ids: Sequence[str]) -> list[Any]:
    """The objects of the global IDs, in order: None where none exists, the client's error
    where an ID is none (graphql-core raises an error in a list at its index)."""
    keys = [node_key(info, global_id) for global_id in ids]
    by_type: defaultdict[type[MappedNode], list[str]] = defaultdict(list)
    for key in keys:
        if not isinstance(key, GraphQLError):
            by_type[key[0]].append(key[1])
    found = {
        node_type: iter(await node_type.resolve_nodes(info=info, node_ids=node_ids))
        for node_type, node_ids in by_type.items()
    }
    return [
        key if isinstance(key, GraphQLError) else strawberry_cast(key[0], next(found[key[0]]))
        for key in keys
    ]


def node_key(info: Info, global_id: str) -> tuple[type[MappedNode], str] | GraphQLError:
    """The node type and key text a global ID names, or the client's error that it is none."""
    parts = global_ids.parts_of(global_id)
    if parts is None:
        return bad_input("Not a global ID of this API (as its `id` fields give them out).")
    type_name, node_id = parts
    definition = info.schema.get_type_by_name(type_name)
    origin = definition.origin if isinstance(definition, StrawberryObjectDefinition) else None
    if not (isinstance(origin, type) and issubclass(origin, MappedNode)):
        return bad_input("This global ID names no type of node.")
    if origin.parse_key(node_id) is None:
        return bad_input("Not a global ID of this API: its key is no key of its type.")
    return origin, node_id


def lookup_field(description: str) -> Any:
    """A root field looking objects up by global ID, as Relay's `relay.node()` but with the
    hub's lookups (`NodeLookup`)."""
    return strawberry.field(description=description, extensions=[NodeLookup()])
