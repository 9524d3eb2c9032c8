"""Cities and their local networks: the office creates a city (with its network) and keeps its
membership; the city's coordinator keeps its description and its network, the coordinator
included."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import models as m
from resolvers.access import OFFICE, Owner
from resolvers.mutations.entries import ID, Kind
from resolvers.mutations.ids import column_of, key_of
from resolvers.mutations.problems import Rejected, invalid, invalid_transition
from resolvers.mutations.validation import Values, checked, field_path, leaving_problems
from resolvers.mutations.write import Write


async def city_itself(session: AsyncSession, entry: Any) -> Owner:
    """A city is, for changes, its own (its coordinator's)."""
    return Owner(city_id=entry.id)


async def of_its_city(session: AsyncSession, entry: Any) -> Owner:
    """A local network belongs to its city."""
    return Owner(city_id=entry.city_id)


# Who a city is and its membership are the office's record; the rest its coordinator keeps.
CITIES = Kind(
    m.City,
    city_itself,
    fixed=("state_code",),
    office_fields=("slug", "name", "kind", "status", "joined_on", "left_on"),
    rules=(leaving_problems,),
)
LOCAL_NETWORKS = Kind(m.LocalNetwork, of_its_city)
COORDINATOR = field_path("coordinator_id")


async def create_city(write: Write, values: Values) -> m.City:
    """A new city, made by the network office (else by accepting its application)."""
    write.allow(OFFICE)
    return await add_city(write, checked(m.City, values, complete=True))


async def add_city(write: Write, values: Values) -> m.City:
    """A new city of checked `values`, with its local network "Engagierte Stadt <name>"."""
    city: m.City = await CITIES.add(write, values)
    network = {"city_id": city.id, "name": f"Engagierte Stadt {city.name}"}
    await write.add(m.LocalNetwork(**network), network)
    return city


async def end_membership(write: Write, global_id: str, values: Values) -> m.City:
    """The member city, a former member from the day `leftOn` names (today if not given)."""
    write.allow(OFFICE)
    left_on = checked(m.City, {"left_on": values.get("left_on", date.today())})
    city: m.City = await CITIES.find(write, global_id)
    if city.status is not m.MembershipStatus.MEMBER:
        now = city.status.label_en.lower()
        message = f"The city is a {now}: only a member leaves the network."
        raise Rejected(invalid_transition(ID, message))
    changes = {"status": m.MembershipStatus.FORMER_MEMBER} | left_on
    result: m.City = await CITIES.change(write, city, changes)
    return result


async def update_local_network(write: Write, global_id: str, changes: Values) -> m.LocalNetwork:
    """The local network with `changes` made; `coordinatorId`, if given, names the actor that
    coordinates it (null: none does)."""
    names_coordinator = "coordinator_id" in changes
    actor_key = coordinator_key(changes.pop("coordinator_id", None))
    network: m.LocalNetwork = await LOCAL_NETWORKS.update(write, global_id, changes)
    if names_coordinator:
        await coordinate(write, network, actor_key)
    return network


def coordinator_key(global_id: str | None) -> int | None:
    """The key of the actor `coordinatorId` names (None for none), checked as far as that needs
    no database."""
    if global_id is None:
        return None
    key = key_of(global_id, m.Actor)
    if key is None:
        raise Rejected(invalid(COORDINATOR, "Must be an ID of type Actor."))
    return key


async def coordinate(write: Write, network: m.LocalNetwork, actor_key: int | None) -> None:
    """Make the actor of `actor_key` (of the network) its coordinator, and the one before a
    core member; with None, no actor coordinates."""
    actor = None
    if actor_key is not None:
        actor = await write.locked(m.Actor, actor_key)
        of_network = {"network_id": network.id}
        await write.in_scope(column_of(m.Actor, "id"), [actor_key], of_network, COORDINATOR)
    current = await write.session.scalar(
        select(m.Actor)
        .where(m.Actor.network_id == network.id, m.Actor.role == m.ActorRole.COORDINATOR)
        .with_for_update()
    )
    if current is not None and current.id == actor_key:
        return
    if current is not None:
        await write.change(current, {"role": m.ActorRole.CORE_MEMBER})
    if actor is not None:
        await write.change(actor, {"role": m.ActorRole.COORDINATOR})
