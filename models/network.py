"""Local networks and the nationwide city network: sectors, actors, goals, measures, themes,
working groups and partner cities."""

from datetime import date
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    SmallInteger,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
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
from models.geography import City


class ActorRole(LabelledEnum):
    """The part an actor plays in its local network."""

    COORDINATOR = ("coordinator", "Koordination (Anlaufstelle)", "Coordinator (contact point)")
    CORE_MEMBER = ("core_member", "Kernteam", "Core member")
    MEMBER = ("member", "Mitglied", "Member")


class SectorCode(LabelledEnum):
    """The sectors of society an actor can belong to (Sektoren)."""

    CIVIL_SOCIETY = ("civil_society", "Zivilgesellschaft", "Civil society")
    POLITICS_ADMINISTRATION = (
        "politics_administration",
        "Politik und Verwaltung",
        "Politics and administration",
    )
    BUSINESS = ("business", "Wirtschaft", "Business")
    SCIENCE = ("science", "Wissenschaft", "Science")
    MEDIA = ("media", "Medien", "Media")


class SectorComposition(LabelledEnum):
    """How many sectors a local network brings together (Multisektoralität)."""

    NONE = ("none", "Keine Akteure", "No actors")
    MONOSECTORAL = ("monosectoral", "Einsektoral", "One sector")
    BISECTORAL = ("bisectoral", "Bisektoral", "Two sectors")
    TRISECTORAL = ("trisectoral", "Trisektoral", "Three sectors")
    MULTISECTORAL = ("multisectoral", "Multisektoral", "More than three sectors")


class Sector(Base):
    """A sector of society an actor belongs to (civil society, politics and administration, ...)."""

    __tablename__ = "sectors"
    __table_args__ = (CheckConstraint("code ~ '^[a-z_]+$'", name="code_format"),)

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    label_de: Mapped[str] = mapped_column(String(80), unique=True)
    label_en: Mapped[str] = mapped_column(String(80), unique=True)
    description: Mapped[str] = mapped_column(Text, server_default="")
    position: Mapped[int] = mapped_column(SmallInteger, unique=True)


class Theme(Base):
    """A theme that measures, fundings, funders and working groups are about."""

    __tablename__ = "themes"
    __table_args__ = (slug_check(),)

    id: Mapped[int] = id_column()
    slug: Mapped[str] = slug_column()
    name_de: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, server_default="")


class LocalNetwork(TimestampMixin, Base):
    """The local network of one city: its alliance of actors from several sectors."""

    __tablename__ = "local_networks"

    id: Mapped[int] = id_column()
    # One network per city; it goes with its city.
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    founded_on: Mapped[date | None] = mapped_column(Date)

    city: Mapped[City] = relationship()
    actors: Mapped[list["Actor"]] = relationship(back_populates="network")


class Actor(TimestampMixin, Base):
    """An organisation in a local network, with exactly one sector and one role."""

    __tablename__ = "actors"
    __table_args__ = (
        slug_check(),
        # Measures reference (actor, network) pairs, so a measure's actors share its network.
        UniqueConstraint("id", "network_id"),
        # At most one contact point per network.
        Index(
            "uq_actors_one_coordinator_per_network",
            "network_id",
            unique=True,
            postgresql_where=text("role = 'coordinator'"),
        ),
        # A network's actors in their default order (by name, ties by id): a page reads them
        # in index order, unsorted.
        Index("ix_actors_network_id_name_id", "network_id", "name", "id"),
    )

    id: Mapped[int] = id_column()
    network_id: Mapped[int] = mapped_column(ForeignKey("local_networks.id", ondelete="CASCADE"))
    slug: Mapped[str] = slug_column()
    name: Mapped[str] = mapped_column(String(200))
    organisation_type: Mapped[str] = mapped_column(String(80))
    sector_code: Mapped[str] = mapped_column(
        ForeignKey("sectors.code", ondelete="RESTRICT"), index=True
    )
    role: Mapped[ActorRole] = mapped_column(text_enum(ActorRole))
    description: Mapped[str] = mapped_column(Text, server_default="")
    website: Mapped[str | None] = mapped_column(String(300))
    search_document: Unmapped[Any] = search_document_column("name")

    network: Mapped[LocalNetwork] = relationship(back_populates="actors")
    sector: Mapped[Sector] = relationship()


class Goal(TimestampMixin, Base):
    """A goal the actors of a local network defined together (Ziel)."""

    __tablename__ = "goals"
    # Measures reference (goal, network) pairs, so a measure's goal is of its own network.
    __table_args__ = (UniqueConstraint("id", "network_id"),)

    id: Mapped[int] = id_column()
    network_id: Mapped[int] = mapped_column(
        ForeignKey("local_networks.id", ondelete="CASCADE"), index=True
    )
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("themes.id", ondelete="SET NULL"), index=True
    )


measure_actors = Table(
    "measure_actors",
    Base.metadata,
    Column("measure_id", Integer, primary_key=True),
    Column("actor_id", Integer, primary_key=True),
    Column("network_id", Integer, nullable=False),
    ForeignKeyConstraint(
        ["measure_id", "network_id"],
        ["measures.id", "measures.network_id"],
        ondelete="CASCADE",
    ),
    ForeignKeyConstraint(
        ["actor_id", "network_id"], ["actors.id", "actors.network_id"], ondelete="CASCADE"
    ),
    Index("ix_measure_actors_actor_id", "actor_id"),
    comment="The actors that carry a measure; all of the measure's own network.",
)


class Measure(TimestampMixin, PeriodMixin, Base):
    """A measure a local network carries out (Maßnahme), carried by some of its actors."""

    __tablename__ = "measures"
    __table_args__ = (
        slug_check(),
        period_check(),
        UniqueConstraint("id", "network_id"),
        # The goal it serves is of its own network; removing the goal clears only `goal_id`.
        ForeignKeyConstraint(
            ["goal_id", "network_id"],
            ["goals.id", "goals.network_id"],
            ondelete="SET NULL (goal_id)",
        ),
    )

    id: Mapped[int] = id_column()
    network_id: Mapped[int] = mapped_column(
        ForeignKey("local_networks.id", ondelete="CASCADE"), index=True
    )
    goal_id: Mapped[int | None] = mapped_column(index=True)
    slug: Mapped[str] = slug_column()
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("themes.id", ondelete="SET NULL"), index=True
    )
    search_document: Unmapped[Any] = search_document_column("title")

    actors: Mapped[list[Actor]] = relationship(secondary=measure_actors, viewonly=True)


class WorkingGroup(TimestampMixin, Base):
    """A nationwide working group in which cities work on a theme together."""

    __tablename__ = "working_groups"
    __table_args__ = (slug_check(),)

    id: Mapped[int] = id_column()
    slug: Mapped[str] = slug_column()
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("themes.id", ondelete="SET NULL"), index=True
    )


class WorkingGroupMembership(Base):
    """A city taking part in a working group."""

    __tablename__ = "working_group_members"

    working_group_id: Mapped[int] = mapped_column(
        ForeignKey("working_groups.id", ondelete="CASCADE"), primary_key=True
    )
    city_id: Mapped[int] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    joined_on: Mapped[date | None] = mapped_column(Date)


class CityPartnership(Base):
    """Two cities of the network that name each other partner cities to exchange with.

    Stored once per pair, the lower city id first, so a pair cannot be recorded twice.
    """

    __tablename__ = "city_partnerships"
    __table_args__ = (CheckConstraint("city_id < partner_city_id", name="ordered_pair"),)

    city_id: Mapped[int] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True
    )
    partner_city_id: Mapped[int] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    since: Mapped[date | None] = mapped_column(Date)
    description: Mapped[str] = mapped_column(Text, server_default="")
