"""Per-request DataLoaders over the declared sources: one batched statement per field and level."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from strawberry.dataloader import DataLoader

from resolvers.pagination import Keyset, Page, page_statement
from resolvers.sources import Computed, Relation, SqlColumn

Fetch = Callable[[Select[Any]], Awaitable[Sequence[Any]]]


class Loaders:
    """The DataLoaders of one request, made on first use; `fetch` runs a statement."""

    def __init__(self, fetch: Fetch) -> None:
        self.fetch = fetch
        self._made: dict[Hashable, DataLoader[Any, Any]] = {}

    def loader(self, key: Hashable, load: Callable[[list[Any]], Awaitable[list[Any]]]) -> Any:
        """The loader cached under `key`, made from `load` the first time."""
        if key not in self._made:
            self._made[key] = DataLoader(load_fn=load)
        return self._made[key]

    def by_key(self, attribute: SqlColumn) -> DataLoader[Hashable, Any]:
        """The row whose `attribute` (a unique column) has each value, or None."""
        return self.one(key_relation(attribute))

    def one(self, relation: Relation) -> DataLoader[Hashable, Any]:
        """The related row of each parent value, or None."""

        async def load(parents: list[Any]) -> list[Any]:
            grouped = await self._grouped(relation, parents)
            return [next(iter(grouped.get(parent, ())), None) for parent in parents]

        return self.loader(("one", id(relation)), load)

    def many(self, relation: Relation) -> DataLoader[Hashable, list[Any]]:
        """All related rows of each parent value, in the relation's order."""

        async def load(parents: list[Any]) -> list[list[Any]]:
            grouped = await self._grouped(relation, parents)
            return [grouped.get(parent, []) for parent in parents]

        return self.loader(("many", id(relation)), load)

    def page(
        self,
        relation: Relation,
        keyset: Keyset,
        where: tuple[ColumnElement[bool], ...] = (),
        arguments: Hashable = (),
    ) -> DataLoader[Hashable, Page]:
        """Each parent's page of related rows; `arguments` identifies `where`."""

        async def load(parents: list[Any]) -> list[Page]:
            pages = {parent: Page(0) for parent in parents}
            statement = page_statement(relation, parents, keyset, where)
            for row, parent, number, total, start, cursor, in_page in await self.fetch(statement):
                page = pages[parent]
                page.total, page.start = total, start
                if in_page:
                    page.rows.append((number - 1, row, cursor))
            return [pages[parent] for parent in parents]

        return self.loader(("page", id(relation), keyset, arguments), load)

    def computed(self, computed: Computed) -> DataLoader[Hashable, Any]:
        """The computed value of each row, by primary key."""
        key = computed.model.__mapper__.primary_key[0]

        async def load(ids: list[Any]) -> list[Any]:
            statement = select(key, computed.expression).where(key.in_(ids))
            values = dict(tuple(row) for row in await self.fetch(statement))
            return [values.get(row_id) for row_id in ids]

        return self.loader(("computed", id(computed)), load)

    async def _grouped(self, relation: Relation, parents: list[Any]) -> dict[Any, list[Any]]:
        """One SELECT of the related rows of all `parents`, grouped by parent value."""
        statement = relation.rows().where(relation.group.in_(parents)).order_by(*relation.ordering)
        grouped: dict[Any, list[Any]] = defaultdict(list)
        for row, parent in await self.fetch(statement):
            grouped[parent].append(row)
        return grouped


@cache
def key_relation(attribute: SqlColumn) -> Relation:
    """The relation from a value to the row holding it in `attribute`: one per attribute, so
    every lookup by that attribute in a request shares one loader."""
    return Relation(attribute.class_, parent_key=attribute, key=attribute)
