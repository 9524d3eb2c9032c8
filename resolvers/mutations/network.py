"""Writes of a city's local network beyond its plain entries: the actors that carry a measure,
the city's partner cities and its working groups."""

from typing import Any

from sqlalchemy import exists, select

import models as m
from resolvers.access import Owner
from resolvers.mutations.entries import ID, MEASURES
from resolvers.mutations.problems import INPUT, Rejected, conflict, invalid, not_found
from resolvers.mutations.validation import Values, checked, field_path, keys_of
from resolvers.mutations.write import Write


async def create_measure(write: Write, values: Values) -> m.Measure:
    """A new measure, carried by the actors `actorIds` names (of its own network)."""
    actor_keys = keys_of(values.pop("actor_ids", None) or [], m.Actor, "actor_ids")
    measure = await MEASURES.create(write, values)
    await carry(write, measure, actor_keys)
    return measure


async def update_measure(write: Write, global_id: str, changes: Values) -> m.Measure:
    """The measure with `changes` made; `actorIds`, if given, replaces its actors."""
    actor_ids = changes.pop("actor_ids", None)
    actor_keys = None if actor_ids is None else keys_of(actor_ids, m.Actor, "actor_ids")
    measure = await MEASURES.update(write, global_id, changes)
    if actor_keys is not None:
        await carry(write, measure, actor_keys)
    return measure


async def remove_measure(write: Write, global_id: str) -> str:
    """Remove a measure that no funding goes to (the fundings would go with it, and they are
    their funders' record)."""
    measure = await MEASURES.find(write, global_id)
    funded = exists().where(m.Funding.measure_id == measure.id)
    if await write.session.scalar(select(funded)):
        raise Rejected(conflict(ID, "Fundings go to this measure; it cannot be removed."))
    await write.remove(measure, ID)
    return global_id


async def carry(write: Write, measure: m.Measure, actor_keys: list[int]) -> None:
    """Make the actors of `actor_keys` (of the measure's network) the ones carrying it."""
    of_measure = {"measure_id": measure.id, "network_id": measure.network_id}
    await write.replace_links(
        measure, m.measure_actors, "actor_ids", "actor_id", actor_keys, of_measure
    )


async def add_partner_city(write: Write, values: Values) -> m.City:
    """Name a partner city of the city `cityId` names (its coordinator's own)."""
    values = checked(m.CityPartnership, values, complete=True)
    if values["city_id"] == values["partner_city_id"]:
        raise Rejected(invalid(field_path("partner_city_id"), "Must be another city."))
    return await link(write, m.CityPartnership, values, ordered(values))


async def remove_partner_city(write: Write, values: Values) -> m.City:
    """End the partnership of the city `cityId` names with `partnerCityId`."""
    values = checked(m.CityPartnership, values, complete=True)
    missing = "The cities are not partner cities."
    return await unlink(write, m.CityPartnership, values, ordered(values), missing)


async def join_working_group(write: Write, values: Values) -> m.City:
    """Let the city `cityId` names take part in a working group."""
    values = checked(m.WorkingGroupMembership, values, complete=True)
    return await link(write, m.WorkingGroupMembership, values, values)


async def leave_working_group(write: Write, values: Values) -> m.City:
    """End the city's part in a working group."""
    values = checked(m.WorkingGroupMembership, values, complete=True)
    missing = "The city does not take part in this working group."
    return await unlink(write, m.WorkingGroupMembership, values, values, missing)


def ordered(values: Values) -> Values:
    """A partnership's values as it is stored: the lower city ID first."""
    low, high = sorted((values["city_id"], values["partner_city_id"]))
    return values | {"city_id": low, "partner_city_id": high}


async def link(write: Write, model: type[m.Base], values: Values, row: Values) -> m.City:
    """Store a link of the city `values` name to another entry, as `row`."""
    city = await linked_city(write, model, values)
    await write.add(model(**row), row)
    return city


async def unlink(
    write: Write, model: type[m.Base], values: Values, row: Values, missing: str
) -> m.City:
    """Delete the link of the city `values` name that `row` keys; `missing` says it is not."""
    city = await linked_city(write, model, values)
    key = tuple(row[column.name] for column in model.__table__.primary_key)
    stored: Any = await write.locked(model, key)
    if stored is None:
        raise Rejected(not_found(INPUT, missing))
    await write.remove(stored, INPUT)
    return city


async def linked_city(write: Write, model: type[m.Base], values: Values) -> m.City:
    """The city whose link `values` concern, once the rows they name exist and the viewer may
    write what is the city's."""
    await write.references(model, values)
    write.allow(Owner(city_id=values["city_id"]))
    return await write.find(m.City, values["city_id"], field_path("city_id"))
