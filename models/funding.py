"""The funder network: funders, where and on what they act, and their fundings."""

from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Numeric, String, Text, false
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


class FunderKind(LabelledEnum):
    """What kind of organisation a funder is."""

    FOUNDATION = ("foundation", "Stiftung", "Foundation")
    PUBLIC_BODY = ("public_body", "Ministerium oder öffentliche Stelle", "Ministry or public body")
    COMPANY = ("company", "Unternehmen", "Company")
    ASSOCIATION = ("association", "Verband oder Verein", "Association")


class FunderScope(LabelledEnum):
    """Where a funder acts: across Germany, in named states, or on named themes."""

    NATIONWIDE = ("nationwide", "Bundesweit", "Nationwide")
    REGIONAL = ("regional", "Regional", "Regional")
    THEMATIC = ("thematic", "Themenbezogen", "Thematic")


class ContributionType(LabelledEnum):
    """How a funder contributes (finanziell, mit Expertise, mit eigenen Angeboten)."""

    FINANCIAL = ("financial", "Finanziell", "Financial")
    EXPERTISE = ("expertise", "Expertise", "Expertise")
    OWN_OFFER = ("own_offer", "Eigenes Angebot", "Own offer")


class RecipientKind(LabelledEnum):
    """What a funding goes to."""

    LOCAL_NETWORK = ("local_network", "Lokales Netzwerk", "Local network")
    MEASURE = ("measure", "Maßnahme", "Measure")
    STATE_PARTNERSHIP = ("state_partnership", "Landespartnerschaft", "State partnership")
    NETWORK_WIDE = ("network_wide", "Gesamtes Netzwerk", "The network as a whole")


class Funder(TimestampMixin, Base):
    """A foundation, ministry, company or association that supports the network (Förderer)."""

    __tablename__ = "funders"
    __table_args__ = (slug_check(),)

    id: Mapped[int] = id_column()
    slug: Mapped[str] = slug_column()
    name: Mapped[str] = mapped_column(String(200))
    short_name: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[FunderKind] = mapped_column(text_enum(FunderKind))
    scope: Mapped[FunderScope] = mapped_column(text_enum(FunderScope))
    description: Mapped[str] = mapped_column(Text, server_default="")
    website: Mapped[str | None] = mapped_column(String(300))
    search_document: Unmapped[Any] = search_document_column(
        "name || ' ' || coalesce(short_name, '')"
    )

    fundings: Mapped[list["Funding"]] = relationship(back_populates="funder")


class FunderState(Base):
    """A state a regionally acting funder is active in."""

    __tablename__ = "funder_states"

    funder_id: Mapped[int] = mapped_column(
        ForeignKey("funders.id", ondelete="CASCADE"), primary_key=True
    )
    state_code: Mapped[str] = mapped_column(
        ForeignKey("states.code", ondelete="RESTRICT"), primary_key=True, index=True
    )


class FunderTheme(Base):
    """A theme a funder supports."""

    __tablename__ = "funder_themes"

    funder_id: Mapped[int] = mapped_column(
        ForeignKey("funders.id", ondelete="CASCADE"), primary_key=True
    )
    theme_id: Mapped[int] = mapped_column(
        ForeignKey("themes.id", ondelete="CASCADE"), primary_key=True, index=True
    )


# Exactly the recipient column that belongs to the kind is set; the network as a whole has none.
_RECIPIENT_MATCHES_KIND = """
CASE recipient_kind
  WHEN 'local_network' THEN num_nonnulls(network_id, measure_id, state_partnership_id) = 1
                            AND network_id IS NOT NULL
  WHEN 'measure' THEN num_nonnulls(network_id, measure_id, state_partnership_id) = 1
                      AND measure_id IS NOT NULL
  WHEN 'state_partnership' THEN num_nonnulls(network_id, measure_id, state_partnership_id) = 1
                                AND state_partnership_id IS NOT NULL
  WHEN 'network_wide' THEN num_nonnulls(network_id, measure_id, state_partnership_id) = 0
END
"""

_AMOUNT_ONLY_WHEN_FINANCIAL = """
CASE contribution_type
  WHEN 'financial' THEN amount_eur IS NOT NULL AND amount_eur >= 0
  ELSE amount_eur IS NULL
END
"""


class Funding(TimestampMixin, PeriodMixin, Base):
    """Support from one funder to one recipient: money, expertise or an own offer (Förderung)."""

    __tablename__ = "fundings"
    __table_args__ = (
        period_check(),
        CheckConstraint(_RECIPIENT_MATCHES_KIND, name="one_recipient_of_its_kind"),
        CheckConstraint(_AMOUNT_ONLY_WHEN_FINANCIAL, name="amount_only_when_financial"),
    )

    id: Mapped[int] = id_column()
    # A funder with recorded fundings cannot vanish: its history is the network's history.
    funder_id: Mapped[int] = mapped_column(
        ForeignKey("funders.id", ondelete="RESTRICT"), index=True
    )
    recipient_kind: Mapped[RecipientKind] = mapped_column(text_enum(RecipientKind))
    # A funding goes with its recipient.
    network_id: Mapped[int | None] = mapped_column(
        ForeignKey("local_networks.id", ondelete="CASCADE"), index=True
    )
    measure_id: Mapped[int | None] = mapped_column(
        ForeignKey("measures.id", ondelete="CASCADE"), index=True
    )
    state_partnership_id: Mapped[int | None] = mapped_column(
        ForeignKey("state_partnerships.id", ondelete="CASCADE"), index=True
    )
    contribution_type: Mapped[ContributionType] = mapped_column(
        text_enum(ContributionType), index=True
    )
    amount_eur: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    amount_confidential: Mapped[bool] = mapped_column(Boolean, server_default=false())
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, server_default="")
    theme_id: Mapped[int | None] = mapped_column(
        ForeignKey("themes.id", ondelete="SET NULL"), index=True
    )

    funder: Mapped[Funder] = relationship(back_populates="fundings")
