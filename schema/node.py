"""Relay nodes backed by models: global IDs from primary keys, lookups through DataLoaders."""

from collections.abc import Iterable
from typing import Any, ClassVar

from strawberry import relay

from models import Base
from resolvers.context import Info


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
        python_type = cls.primary_key().type.python_type
        try:
            return python_type(node_id)
        except ValueError:
            return None
