"""Joining the network: applications to become a city, a state partner or a partner, and
the record of every status change."""

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, DateTime, ForeignKey, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, LabelledEnum, TimestampMixin, id_column, text_enum
from models.geography import CityKind


class ApplicationKind(LabelledEnum):
    """The three ways into the network."""

    CITY = ("city", "Engagierte Stadt werden", "Become an Engagierte Stadt")
    STATE_PARTNER = ("state_partner", "Landespartner*in werden", "Become a state partner")
    PARTNER = ("partner", "Partner*in werden", "Become a (funding) partner")


class ApplicationStatus(LabelledEnum):
    """Where an application stands: submitted → in review → accepted / rejected, or withdrawn."""

    SUBMITTED = ("submitted", "Eingereicht", "Submitted")
    IN_REVIEW = ("in_review", "In Prüfung", "In review")
    ACCEPTED = ("accepted", "Angenommen", "Accepted")
    REJECTED = ("rejected", "Abgelehnt", "Rejected")
    WITHDRAWN = ("withdrawn", "Zurückgezogen", "Withdrawn")


# What an accepted application created, matching its kind; nothing before acceptance.
_RESULT_MATCHES_KIND = """
CASE
  WHEN status <> 'accepted' THEN num_nonnulls(city_id, state_partnership_id, funder_id) = 0
  WHEN kind = 'city' THEN num_nonnulls(city_id, state_partnership_id, funder_id) = 1
                          AND city_id IS NOT NULL
  WHEN kind = 'state_partner' THEN num_nonnulls(city_id, state_partnership_id, funder_id) = 1
                                   AND state_partnership_id IS NOT NULL
  WHEN kind = 'partner' THEN num_nonnulls(city_id, state_partnership_id, funder_id) = 1
                             AND funder_id IS NOT NULL
END
"""


class Application(TimestampMixin, Base):
    """An application to join the network, with its review workflow."""

    __tablename__ = "applications"
    __table_args__ = (
        CheckConstraint(_RESULT_MATCHES_KIND, name="result_matches_kind"),
        CheckConstraint(
            "kind <> 'city' OR (state_code IS NOT NULL AND city_kind IS NOT NULL)",
            name="city_application_names_state_and_kind",
        ),
        CheckConstraint(
            "kind <> 'state_partner' OR state_code IS NOT NULL",
            name="state_partner_application_names_state",
        ),
        CheckConstraint(
            "(status = 'rejected') = (rejection_reason IS NOT NULL)",
            name="reason_exactly_when_rejected",
        ),
    )

    id: Mapped[int] = id_column()
    kind: Mapped[ApplicationKind] = mapped_column(text_enum(ApplicationKind), index=True)
    status: Mapped[ApplicationStatus] = mapped_column(text_enum(ApplicationStatus), index=True)
    # The applying organisation: the city, the state's institution or the would-be partner.
    organisation_name: Mapped[str] = mapped_column(String(200))
    state_code: Mapped[str | None] = mapped_column(
        ForeignKey("states.code", ondelete="RESTRICT"), index=True
    )
    city_kind: Mapped[CityKind | None] = mapped_column(text_enum(CityKind))
    motivation: Mapped[str] = mapped_column(Text, server_default="")
    # The applicant withdraws with the token it got at submission; only its hash is kept.
    withdraw_token_hash: Mapped[str] = mapped_column(String(128))
    submitted_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    # What accepting the application created; an accepted record stays if that is removed later.
    city_id: Mapped[int | None] = mapped_column(
        ForeignKey("cities.id", ondelete="RESTRICT"), index=True
    )
    state_partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("state_partnerships.id", ondelete="RESTRICT"), index=True
    )
    funder_id: Mapped[int | None] = mapped_column(
        ForeignKey("funders.id", ondelete="RESTRICT"), index=True
    )
    planned_start_on: Mapped[date | None] = mapped_column(Date)

    status_changes: Mapped[list["ApplicationStatusChange"]] = relationship(
        back_populates="application", order_by="ApplicationStatusChange.changed_at"
    )


class ApplicationStatusChange(Base):
    """One recorded transition of an application's status."""

    __tablename__ = "application_status_changes"
    __table_args__ = (
        CheckConstraint("from_status IS DISTINCT FROM to_status", name="status_actually_changes"),
    )

    id: Mapped[int] = id_column()
    application_id: Mapped[int] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
    from_status: Mapped[ApplicationStatus | None] = mapped_column(
        text_enum(ApplicationStatus, name="from_status")
    )
    to_status: Mapped[ApplicationStatus] = mapped_column(
        text_enum(ApplicationStatus, name="to_status")
    )
    changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    changed_by: Mapped[str] = mapped_column(String(200))
    note: Mapped[str] = mapped_column(Text, server_default="")

    application: Mapped[Application] = relationship(back_populates="status_changes")
