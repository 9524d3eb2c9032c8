"""The statistics' figures per state, kept current by the writes (triggers of the migration
`statistics kept by the writes`), so that reading them costs the same at any size."""

from sqlalchemy import BigInteger, Column, Numeric, String, Table, text

from models.base import Base

# Where a figure's row has no state or no key, it holds the empty text instead of null: both
# are parts of the primary key.
NO_STATE = ""
NO_KEY = ""

# One row per state (region), figure and key: the number of cities, actors or networks with
# that key, or the fundings' public amount and number. Region "" holds the fundings that reach
# no state; the whole network's figures are the sums over all regions.
statistics_figures = Table(
    "statistics_figures",
    Base.metadata,
    Column("region", String(2), primary_key=True),
    Column("figure", String(40), primary_key=True),
    Column("key", String(80), primary_key=True),
    Column("number", BigInteger),
    Column("amount_eur", Numeric),
    Column("funding_count", BigInteger),
)

# The regions a transaction's writes touched, refreshed when it commits (a deferred trigger).
statistics_stale = Table(
    "statistics_stale",
    Base.metadata,
    Column("transaction", BigInteger, primary_key=True, server_default=text("txid_current()")),
    Column("region", String(2), primary_key=True),
)
