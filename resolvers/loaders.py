"""Per-request DataLoaders: one batched statement per relation, whatever the result's size."""

from collections import defaultdict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import InstrumentedAttribute
from strawberry.dataloader import DataLoader

import models


class Loaders:
    """The DataLoaders of one request; `fetch` runs a statement on the request's session."""

    def __init__(self, fetch: Callable[[Select[Any]], Awaitable[Sequence[Any]]]) -> None:
        self.fetch = fetch
        self.state_by_code = self._one(models.State.code)
        self.city_by_id = self._one(models.City.id)
        self.sector_by_code = self._one(models.Sector.code)
        self.network_by_id = self._one(models.LocalNetwork.id)
        self.network_by_city_id = self._one(models.LocalNetwork.city_id)
        self.cities_by_state_code = self._many(models.City.state_code, models.City.name)
        self.actors_by_network_id = self._many(models.Actor.network_id, models.Actor.name)

    def _one(self, key: InstrumentedAttribute[Any]) -> DataLoader[Hashable, Any]:
        """A loader of the row whose `key` equals each requested value (or None)."""

        async def load(keys: Sequence[Hashable]) -> list[Any]:
            rows = await self._rows_where(key, keys)
            by_key = {getattr(row, key.key): row for row in rows}
            return [by_key.get(k) for k in keys]

        return DataLoader(load_fn=load)

    def _many(
        self, key: InstrumentedAttribute[Any], *order_by: InstrumentedAttribute[Any]
    ) -> DataLoader[Hashable, list[Any]]:
        """A loader of all rows whose `key` equals each requested value, in a stable order."""

        async def load(keys: Sequence[Hashable]) -> list[list[Any]]:
            grouped: dict[Hashable, list[Any]] = defaultdict(list)
            for row in await self._rows_where(key, keys, *order_by):
                grouped[getattr(row, key.key)].append(row)
            return [grouped[k] for k in keys]

        return DataLoader(load_fn=load)

    async def _rows_where(
        self, key: InstrumentedAttribute[Any], keys: Sequence[Hashable], *order_by: Any
    ) -> Sequence[Any]:
        """One SELECT of the rows of `key`'s model whose `key` is in `keys`."""
        model = key.class_
        statement = (
            select(model).where(key.in_(keys)).order_by(*order_by, model.__mapper__.primary_key[0])
        )
        return await self.fetch(statement)
