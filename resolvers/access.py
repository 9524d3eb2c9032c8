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
