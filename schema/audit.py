"""The audit log of writes, for the network office: who changed what, when."""

from datetime import datetime

import strawberry
from sqlalchemy import ColumnElement
from strawberry.relay import to_base64
from strawberry.scalars import JSON

import models as m
from resolvers import global_ids
from resolvers.errors import bad_input
from resolvers.sources import Relation
from schema.contracts import INTERNAL
from schema.enums import Role
from schema.fields import office_connection
from schema.types import described


@strawberry.type(
    description="One successful write: who made it, with which mutation, on which entry, "
    "when, and which fields it wrote.",
    directives=INTERNAL,
)
class AuditEntry:
    recorded_at: datetime = described("When the write's transaction ran.")
    subject: str = described("Who wrote: `key:<id>` for an API key, a token's subject, `public`.")
    role: Role = described("The writer's role at the time.")
    operation: str = described("The mutation, e.g. `createActor`.")
    entity_type: str = described("The type of the entry written, e.g. `Actor`.")
    changes: JSON = described(
        "The fields written, by column name, with their new values; every field null for a "
        "removal. Personal data and secrets are withheld."
    )

    @strawberry.field(
        description="The global ID of the entry written (for `node`, while the entry exists)."
    )
    def entity_id(self, root: strawberry.Parent[m.AuditEntry]) -> strawberry.ID:
        return strawberry.ID(to_base64(root.entity_type, root.entity_id))


@strawberry.input(description="Conditions on audit entries; all given conditions must hold.")
class AuditFilter:
    entity_type: str | None = strawberry.field(
        default=None, description="Writes of entries of this type, e.g. `City`."
    )
    entity_id: strawberry.ID | None = strawberry.field(
        default=None, description="Writes of the entry of this global ID."
    )
    subject: str | None = strawberry.field(
        default=None, description="Writes by this subject, e.g. `key:12`."
    )

    def conditions(self) -> list[ColumnElement[bool]]:
        """SQL conditions on `audit_log`."""
        entry = m.AuditEntry
        conditions: list[ColumnElement[bool]] = []
        if self.entity_type is not None:
            conditions.append(entry.entity_type == self.entity_type)
        if self.entity_id is not None:
            type_name, key = entity_of(self.entity_id)
            conditions += [entry.entity_type == type_name, entry.entity_id == key]
        if self.subject is not None:
            conditions.append(entry.subject == self.subject)
        return conditions


def entity_of(global_id: str) -> tuple[str, str]:
    """The type and key of the entry a global ID names."""
    parts = global_ids.parts_of(global_id)
    if parts is None:
        raise bad_input("entityId: not a global ID.")
    return parts


@strawberry.type(description="The audit log, for the network office.")
class AuditQuery:
    audit_log = office_connection(
        Relation(m.AuditEntry, order_by=(m.AuditEntry.recorded_at.desc(), m.AuditEntry.id.desc())),
        AuditEntry,
        "Every successful write, the newest first (the network office only).",
        AuditFilter,
    )
