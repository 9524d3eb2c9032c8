"""The statistics' figures per state, kept current by the writes (triggers of the migration
`statistics kept by the writes`), so that reading them costs the same at any size."""

from decimal import Decimal

from sqlalchemy import BigInteger, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base

# Where a figure's row has no state or no key, it holds the empty text instead of null: both
# are parts of the primary key.
NO_STATE = ""
NO_KEY = ""


class StatisticsFigure(Base):
    """One figure of one state (region) for one key: the number of cities, actors or networks
    with that key, or the fundings' public amount and number. Region "" holds the fundings
    that reach no state; the whole network's figures are the sums over all regions. Written
    only by the triggers."""

    __tablename__ = "statistics_figures"

    region: Mapped[str] = mapped_column(String(2), primary_key=True)
    figure: Mapped[str] = mapped_column(String(40), primary_key=True)
    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    number: Mapped[int | None] = mapped_column(BigInteger)
    amount_eur: Mapped[Decimal | None] = mapped_column(Numeric)
    funding_count: Mapped[int | None] = mapped_column(BigInteger)


class StaleStatistics(Base):
    """A region a transaction's writes touched, refreshed when it commits (a deferred trigger)."""

    __tablename__ = "statistics_stale"

    transaction: Mapped[int] = mapped_column(
        BigInteger, primary_key=True, server_default=text("txid_current()")
    )
    region: Mapped[str] = mapped_column(String(2), primary_key=True)
