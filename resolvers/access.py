"""Who is asking: the viewer of a request, its role and scope, and what that lets it see.

The rules live here once; the resolvers ask `Viewer`, the compiled read path asks the same
questions in SQL (see the `*_sql` helpers next to each rule).
"""

from dataclasses import dataclass

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


PUBLIC = Viewer(role=Role.PUBLIC, subject="public")


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
