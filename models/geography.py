"""Federal states, their state partnerships, and the cities of the network."""

from datetime import date
from typing import Any

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, Unmapped, mapped_column, relationship

from models.base import (
    Base,
    LabelledEnum,
    PeriodMixin,
    TimestampMixin,
    id_column,
    period_check,
    search_document_column,
    slug_check,
    slug_column,
    text_enum,
)

# Germany's extent with a small margin: catches swapped latitude/longitude and typos.
LATITUDE_RANGE = (47.0, 55.5)
LONGITUDE_RANGE = (5.5, 15.5)
# The 16 federal states by ISO 3166-2:DE code (without `DE-`).
STATE_CODES = frozenset(
    ("BW", "BY", "BE", "BB", "HB", "HH", "HE", "MV", "NI", "NW", "RP", "SL", "SN", "ST", "SH", "TH")
)
# Berlin, the largest German city, has about 3.9 million inhabitants.
MAX_POPULATION = 5_000_000


class CityKind(LabelledEnum):
    """The kind of municipality a member of the network is."""

    CITY = ("city", "Stadt", "City")
    MUNICIPALITY = ("municipality", "Gemeinde", "Municipality")
    MUNICIPAL_ASSOCIATION = (
        "municipal_association",
        "Gemeindeverband",
        "Association of municipalities",
    )
    DISTRICT = ("district", "Bezirk", "District")
    COUNTY = ("county", "Landkreis", "County")


class MembershipStatus(LabelledEnum):
    """Where a city stands in the network."""

    CANDIDATE = ("candidate", "Kandidatin", "Candidate")
    MEMBER = ("member", "Mitglied", "Member")
    FORMER_MEMBER = ("former_member", "Ehemaliges Mitglied", "Former member")


class State(Base):
    """A German federal state (Bundesland), keyed by its ISO 3166-2:DE code without `DE-`."""

    __tablename__ = "states"
    __table_args__ = (CheckConstraint("code ~ '^[A-Z]{2}$'", name="code_format"),)

    code: Mapped[str] = mapped_column(String(2), primary_key=True)
    iso_code: Mapped[str] = mapped_column(String(5), unique=True)
    name: Mapped[str] = mapped_column(String(60), unique=True)
    name_en: Mapped[str] = mapped_column(String(60))
    capital: Mapped[str] = mapped_column(String(60))

    cities: Mapped[list["City"]] = relationship(back_populates="state")
    partnership: Mapped["StatePartnership | None"] = relationship(back_populates="state")


class StatePartnership(TimestampMixin, PeriodMixin, Base):
    """A state that joined the network as state partner (Landespartner), through an institution."""

    __tablename__ = "state_partnerships"
    __table_args__ = (period_check(),)

    id: Mapped[int] = id_column()
    # One partnership per state: a renewed partnership extends the period of the existing one.
    state_code: Mapped[str] = mapped_column(
        ForeignKey("states.code", ondelete="RESTRICT"), unique=True
    )
    institution: Mapped[str] = mapped_column(String(200))
    focus: Mapped[str] = mapped_column(Text, server_default="")
    description: Mapped[str] = mapped_column(Text, server_default="")

    state: Mapped[State] = relationship(back_populates="partnership")


class City(TimestampMixin, Base):
    """A city, municipality, district or county that is (or was, or wants to be) in the network."""

    __tablename__ = "cities"
    __table_args__ = (
        slug_check(),
        CheckConstraint(
            f"latitude BETWEEN {LATITUDE_RANGE[0]} AND {LATITUDE_RANGE[1]}", name="latitude_range"
        ),
        CheckConstraint(
            f"longitude BETWEEN {LONGITUDE_RANGE[0]} AND {LONGITUDE_RANGE[1]}",
            name="longitude_range",
        ),
        CheckConstraint(f"population BETWEEN 0 AND {MAX_POPULATION}", name="population_range"),
        CheckConstraint("length(trim(name)) > 0", name="name_not_blank"),
        # Only a former member has left; the day it left may be unknown (older records).
        CheckConstraint(
            "left_on IS NULL OR status = 'former_member'", name="left_only_when_former_member"
        ),
        CheckConstraint("left_on IS NULL OR left_on >= joined_on", name="left_after_joining"),
        # The lists' default order (by name, ties by id), of all cities and of a state's: a
        # page reads its rows in index order and stops at its end.
        Index("ix_cities_name_id", "name", "id"),
        Index("ix_cities_state_code_name_id", "state_code", "name", "id"),
    )

    id: Mapped[int] = id_column()
    slug: Mapped[str] = slug_column()
    name: Mapped[str] = mapped_column(String(120))
    kind: Mapped[CityKind] = mapped_column(text_enum(CityKind))
    state_code: Mapped[str] = mapped_column(ForeignKey("states.code", ondelete="RESTRICT"))
    population: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    status: Mapped[MembershipStatus] = mapped_column(text_enum(MembershipStatus), index=True)
    joined_on: Mapped[date | None] = mapped_column(Date)
    left_on: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, server_default="")
    website: Mapped[str | None] = mapped_column(String(300))
    search_document: Unmapped[Any] = search_document_column("name")

    state: Mapped[State] = relationship(back_populates="cities")
