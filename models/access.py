"""Access: the API keys of partner portals and internal tools, and the audit log of writes."""

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, DateTime, ForeignKey, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, LabelledEnum, id_column, text_enum


class Role(LabelledEnum):
    """What a caller may do; the scope (a state, a funder, a city) narrows it to its part."""

    ADMIN = ("admin", "Netzwerkbüro", "Network office")
    STATE_PARTNER = ("state_partner", "Landespartner*in", "State partner")
    FUNDER = ("funder", "Förderer", "Funder")
    COORDINATOR = ("coordinator", "Koordination", "Coordinator")
    PUBLIC = ("public", "Öffentlich", "Public")


# Exactly the scope column that belongs to the role is set; the network office has none.
_SCOPE_MATCHES_ROLE = """
CASE role
  WHEN 'admin' THEN num_nonnulls(state_code, funder_id, city_id) = 0
  WHEN 'state_partner' THEN num_nonnulls(funder_id, city_id) = 0 AND state_code IS NOT NULL
  WHEN 'funder' THEN num_nonnulls(state_code, city_id) = 0 AND funder_id IS NOT NULL
  WHEN 'coordinator' THEN num_nonnulls(state_code, funder_id) = 0 AND city_id IS NOT NULL
  ELSE false
END
"""


class ApiKey(Base):
    """A key a partner portal or internal tool sends as `Authorization: Bearer <key>`.

    Only the key's SHA-256 is stored: keys are 256 random bits, so a slow password hash would
    add nothing but time to every request. The prefix tells keys apart in listings.
    """

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint(_SCOPE_MATCHES_ROLE, name="scope_matches_role"),)

    id: Mapped[int] = id_column()
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(text_enum(Role))
    state_code: Mapped[str | None] = mapped_column(
        ForeignKey("states.code", ondelete="CASCADE"), index=True
    )
    funder_id: Mapped[int | None] = mapped_column(
        ForeignKey("funders.id", ondelete="CASCADE"), index=True
    )
    city_id: Mapped[int | None] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), index=True
    )
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AuditEntry(Base):
    """One successful write: who made it, which mutation, on which entity, what changed."""

    __tablename__ = "audit_log"

    id: Mapped[int] = id_column()
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), index=True
    )
    # The key (`key:<id>`) or token subject (`oidc:<sub>`) that wrote, or `public`.
    subject: Mapped[str] = mapped_column(String(200), index=True)
    role: Mapped[Role] = mapped_column(text_enum(Role))
    operation: Mapped[str] = mapped_column(String(100))
    entity_type: Mapped[str] = mapped_column(String(60))
    entity_id: Mapped[str] = mapped_column(String(120))
    # The changed fields by name with their new values (null for a removal).
    changes: Mapped[dict[str, Any]] = mapped_column(JSONB, server_default="{}")
