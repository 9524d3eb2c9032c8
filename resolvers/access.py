"""Who is asking: the viewer of a request, its role and scope, and what that lets it read and
write. The rules live here once: reads as SQL conditions both read paths apply, writes as
checks the mutations make.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, false, or_, select, true

import models
from models.access import Role


@dataclass(frozen=True)
class Viewer:
    """The authenticated caller (or the public), with the scope its role is limited to.

    `subject` names it in the audit log: `key:<id>` for an API key, `oidc:<sub>` for a token.
    Exactly the scope of its role is set: a state partner's state, a funder's funder id, a
    coordinator's city id; the network office and the public have none.
    """

    role: Role
    subject: str
    state_code: str | None = None
    funder_id: int | None = None
    city_id: int | None = None

    @property
    def is_admin(self) -> bool:
        """The network office, which may read and write everything."""
        return self.role is Role.ADMIN

    @property
    def access(self) -> tuple[Any, ...]:
        """What decides what the viewer may see: its role and scope (not who it is)."""
        return (self.role, self.state_code, self.funder_id, self.city_id)


PUBLIC = Viewer(role=Role.PUBLIC, subject="public")


# --- Reads: who sees personal data and confidential amounts -------------------------------
# Each rule is a condition on the row a field belongs to, for one viewer: the resolver path
# asks the database which rows pass it (resolvers/permissions.py), the compiled read path puts
# it into its statement. Unrestricted viewers get `true()`, viewers without access `false()`.
# Subqueries never name the row's own table: the compiled path re-targets that table to the
# row's alias everywhere in the condition.

ReadRule = Callable[[Viewer], ColumnElement[bool]]


def sees_city_contacts(viewer: Viewer) -> ColumnElement[bool]:
    """A city's contact persons: admins, the city's coordinator, its state's partner."""
    if viewer.is_admin:
        return true()
    if viewer.role is Role.COORDINATOR:
        return models.City.id == viewer.city_id
    if viewer.role is Role.STATE_PARTNER:
        return models.City.state_code == viewer.state_code
    return false()


def sees_actor_contacts(viewer: Viewer) -> ColumnElement[bool]:
    """An actor's contact persons: admins, its city's coordinator, its state's partner."""
    if viewer.is_admin:
        return true()
    if viewer.role is Role.COORDINATOR:
        return models.Actor.network_id.in_(networks_where(models.City.id == viewer.city_id))
    if viewer.role is Role.STATE_PARTNER:
        state = models.City.state_code == viewer.state_code
        return models.Actor.network_id.in_(networks_where(state))
    return false()


def sees_funder_contacts(viewer: Viewer) -> ColumnElement[bool]:
    """A funder's contact persons: admins and the funder itself."""
    if viewer.is_admin:
        return true()
    if viewer.role is Role.FUNDER:
        return models.Funder.id == viewer.funder_id
    return false()


def sees_partnership_contacts(viewer: Viewer) -> ColumnElement[bool]:
    """A state partnership's contact persons: admins and the state's partner."""
    if viewer.is_admin:
        return true()
    if viewer.role is Role.STATE_PARTNER:
        return models.StatePartnership.state_code == viewer.state_code
    return false()


def sees_amount(viewer: Viewer) -> ColumnElement[bool]:
    """A funding's amount: everyone unless confidential; then admins, the funder, and the
    coordinator of the city it reaches."""
    if viewer.is_admin:
        return true()
    public = models.Funding.amount_confidential.is_(False)
    if viewer.role is Role.FUNDER:
        return or_(public, models.Funding.funder_id == viewer.funder_id)
    if viewer.role is Role.COORDINATOR:
        networks = networks_where(models.City.id == viewer.city_id)
        measures = select(models.Measure.id).where(models.Measure.network_id.in_(networks))
        return or_(
            public,
            models.Funding.network_id.in_(networks),
            models.Funding.measure_id.in_(measures.correlate(None)),
        )
    return public


def networks_where(condition: ColumnElement[bool]) -> Select[Any]:
    """The ids of the local networks of the cities meeting `condition`, as a subquery that
    never correlates with the statement it stands in."""
    cities = select(models.LocalNetwork.id).join(
        models.City, models.City.id == models.LocalNetwork.city_id
    )
    return cities.where(condition).correlate(None)


# Writes


@dataclass(frozen=True)
class Owner:
    """Whose part of the network an entry is, for writes: a city's (its local network with
    actors, goals, measures, partner cities and working groups), a funder's (its fundings),
    a state's (its partnership), or, with nothing set, the network office's own (themes,
    working groups, funders, state partnerships, applications)."""

    city_id: int | None = None
    funder_id: int | None = None
    state_code: str | None = None


OFFICE = Owner()


def may_write(viewer: Viewer, owner: Owner) -> bool:
    """The network office writes everything; a coordinator, funder or state partner writes
    what belongs to its own city, funder or state; the public writes none of it."""
    if viewer.is_admin:
        return True
    match viewer.role:
        case Role.COORDINATOR:
            return owner.city_id is not None and owner.city_id == viewer.city_id
        case Role.FUNDER:
            return owner.funder_id is not None and owner.funder_id == viewer.funder_id
        case Role.STATE_PARTNER:
            return owner.state_code is not None and owner.state_code == viewer.state_code
    return False
