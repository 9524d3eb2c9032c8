"""Queries over states and cities."""

from collections.abc import Sequence

from sqlalchemy import select

import models
from resolvers.context import Info


async def list_states(info: Info) -> Sequence[models.State]:
    """All 16 federal states, by code."""
    statement = select(models.State).order_by(models.State.code)
    return await info.context.all(statement)


async def find_state(info: Info, code: str) -> models.State | None:
    """The state with the given code (case-insensitive), if any."""
    return await info.context.loaders.state_by_code.load(code.upper())


async def list_cities(info: Info, state_code: str | None, limit: int) -> Sequence[models.City]:
    """Cities by name, optionally of one state."""
    statement = select(models.City).order_by(models.City.name, models.City.id).limit(limit)
    if state_code is not None:
        statement = statement.where(models.City.state_code == state_code.upper())
    return await info.context.all(statement)


async def find_city(info: Info, slug: str) -> models.City | None:
    """The city with the given slug, if any."""
    statement = select(models.City).where(models.City.slug == slug)
    return await info.context.first(statement)
