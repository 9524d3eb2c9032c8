"""Contact persons: personal data, kept in a table of their own apart from the public data."""

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, TimestampMixin, id_column

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
# Marks the columns that hold personal data: the audit log names them without their values.
PERSONAL = {"personal": True}


class ContactPerson(TimestampMixin, Base):
    """A person to contact at a city, actor, funder, state partnership or applicant.

    Personal data: readable only by those allowed; never part of public views or logs.
    """

    __tablename__ = "contact_persons"
    __table_args__ = (
        CheckConstraint(
            "num_nonnulls(city_id, actor_id, funder_id, state_partnership_id, application_id) = 1",
            name="belongs_to_exactly_one",
        ),
        CheckConstraint(f"email ~ '{EMAIL_PATTERN}'", name="email_format"),
    )

    id: Mapped[int] = id_column()
    full_name: Mapped[str] = mapped_column(String(200), info=PERSONAL)
    function: Mapped[str | None] = mapped_column(String(200), info=PERSONAL)
    email: Mapped[str] = mapped_column(String(254), info=PERSONAL)
    phone: Mapped[str | None] = mapped_column(String(40), info=PERSONAL)
    # Personal data goes with what it belongs to.
    city_id: Mapped[int | None] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("actors.id", ondelete="CASCADE"), index=True
    )
    funder_id: Mapped[int | None] = mapped_column(
        ForeignKey("funders.id", ondelete="CASCADE"), index=True
    )
    state_partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("state_partnerships.id", ondelete="CASCADE"), index=True
    )
    application_id: Mapped[int | None] = mapped_column(
        ForeignKey("applications.id", ondelete="CASCADE"), index=True
    )
