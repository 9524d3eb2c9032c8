"""statistics kept by the writes

Revision ID: 8d3f5a6c1e27
Revises: 4e8c1d2b7a90
Create Date: 2026-12-07 17:45:00.000000

The statistics of each state, kept current by the writes in their own transactions, so that
reading them costs the same however large the network is (resolvers/statistics.py).

`statistics_figures` holds one row per state (region), figure and key. Every write to a table
the figures count marks the regions its rows belong to, before and after, as stale
(statement triggers with transition tables: one statement of COPY or of a mutation marks each
region once). When the transaction commits, a deferred trigger refreshes each stale region:
it counts that region's rows afresh. An advisory lock per region makes concurrent writers
refresh one after the other, each counting what the other committed: no update is lost.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "8d3f5a6c1e27"
down_revision: str | None = "4e8c1d2b7a90"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Each counted table's rows ({rows}) with the region each belongs to (null: none).
REGIONS_OF_ROWS = {
    "cities": "SELECT state_code FROM {rows}",
    "state_partnerships": "SELECT state_code FROM {rows}",
    "local_networks": "SELECT c.state_code FROM {rows} r JOIN cities c ON c.id = r.city_id",
    "actors": """SELECT c.state_code FROM {rows} r
        JOIN local_networks n ON n.id = r.network_id JOIN cities c ON c.id = n.city_id""",
    "measures": """SELECT c.state_code FROM {rows} r
        JOIN local_networks n ON n.id = r.network_id JOIN cities c ON c.id = n.city_id""",
    "fundings": """SELECT c.state_code FROM {rows} r
        JOIN local_networks n ON n.id = r.network_id JOIN cities c ON c.id = n.city_id
        UNION SELECT c.state_code FROM {rows} r JOIN measures m ON m.id = r.measure_id
        JOIN local_networks n ON n.id = m.network_id JOIN cities c ON c.id = n.city_id
        UNION SELECT p.state_code FROM {rows} r
        JOIN state_partnerships p ON p.id = r.state_partnership_id
        UNION SELECT NULL FROM {rows} r WHERE r.network_id IS NULL AND r.measure_id IS NULL
        AND r.state_partnership_id IS NULL""",
}

# One region's figures, counted afresh: the same figures as resolvers/statistics.py declares
# (tests/test_statistics.py compares both with hand-written SQL).
REFRESH = """
CREATE FUNCTION refresh_statistics(scope_region text) RETURNS void
-- Compiling the statement (JIT) would take longer than running it.
LANGUAGE plpgsql SET jit = off AS $$
BEGIN
  -- One refresh of a region at a time: the statements below, each with a snapshot of its
  -- own, then see what the refresh before committed.
  PERFORM pg_advisory_xact_lock(hashtextextended('statistics_figures ' || scope_region, 0));
  DELETE FROM statistics_figures WHERE region = scope_region;
  INSERT INTO statistics_figures (region, figure, key, number, amount_eur, funding_count)
  -- The region's rows along indexed keys, network by network (LATERAL ... OFFSET 0 keeps
  -- each a scan of its own), so that a refresh reads its region's rows only.
  WITH scope_cities AS (
    SELECT id, kind, status FROM cities WHERE state_code = scope_region
  ), scope_networks AS (
    SELECT n.id FROM scope_cities c
    CROSS JOIN LATERAL (SELECT id FROM local_networks WHERE city_id = c.id OFFSET 0) n
  ), network_sector_actors AS (
    SELECT n.id AS network_id, s.sector_code, s.actors FROM scope_networks n
    CROSS JOIN LATERAL (
      SELECT sector_code, count(*) AS actors FROM actors WHERE network_id = n.id
      GROUP BY sector_code OFFSET 0
    ) s
  ), network_sectors AS (
    SELECT count(s.sector_code) AS sectors
    FROM scope_networks n LEFT JOIN network_sector_actors s ON s.network_id = n.id
    GROUP BY n.id
  ), scope_fundings AS (
    SELECT f.* FROM scope_networks n
    CROSS JOIN LATERAL (SELECT * FROM fundings WHERE network_id = n.id OFFSET 0) f
    UNION ALL
    SELECT f.* FROM scope_networks n
    CROSS JOIN LATERAL (SELECT id FROM measures WHERE network_id = n.id OFFSET 0) m
    CROSS JOIN LATERAL (SELECT * FROM fundings WHERE measure_id = m.id OFFSET 0) f
    UNION ALL
    SELECT f.* FROM fundings f JOIN state_partnerships p ON p.id = f.state_partnership_id
      WHERE p.state_code = scope_region
    UNION ALL
    SELECT f.* FROM fundings f WHERE scope_region = '' AND f.network_id IS NULL
      AND f.measure_id IS NULL AND f.state_partnership_id IS NULL
  ), counts (figure, key, number) AS (
    SELECT 'cities_by_state', scope_region, count(*) FROM scope_cities HAVING count(*) > 0
    UNION ALL
    SELECT 'cities_by_kind', kind::text, count(*) FROM scope_cities GROUP BY kind
    UNION ALL
    SELECT 'cities_by_status', status::text, count(*) FROM scope_cities GROUP BY status
    UNION ALL
    SELECT 'actors_by_sector', sector_code, sum(actors)
    FROM network_sector_actors GROUP BY sector_code
    UNION ALL
    SELECT 'networks_by_composition', CASE sectors WHEN 0 THEN 'none'
      WHEN 1 THEN 'monosectoral' WHEN 2 THEN 'bisectoral' WHEN 3 THEN 'trisectoral'
      ELSE 'multisectoral' END, count(*)
    FROM network_sectors GROUP BY 2
  ), totals (figure, key, amount_eur, funding_count) AS (
    SELECT figure, coalesce(key, ''),
      coalesce(sum(amount_eur) FILTER (WHERE NOT amount_confidential), 0), count(*)
    FROM scope_fundings f CROSS JOIN LATERAL (VALUES
      ('fundings_by_funder', f.funder_id::text),
      ('fundings_by_contribution_type', f.contribution_type::text),
      ('fundings_by_state', nullif(scope_region, '')),
      ('fundings_by_theme', f.theme_id::text),
      ('fundings_by_year', extract(year FROM f.starts_on)::integer::text)
    ) AS keys (figure, key)
    GROUP BY figure, key
  )
  SELECT scope_region, figure, key, number, NULL, NULL FROM counts
  UNION ALL
  SELECT scope_region, figure, key, NULL, amount_eur, funding_count FROM totals;
END
$$
"""

# The first stale region's trigger refreshes all of the transaction's stale regions, in the
# same order in every transaction: two writers never wait for each other's regions crosswise.
# The triggers of the other regions then find none left.
REFRESH_STALE = """
CREATE FUNCTION refresh_stale_statistics() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  stale text;
BEGIN
  FOR stale IN
    SELECT region FROM statistics_stale WHERE transaction = NEW.transaction ORDER BY region
  LOOP
    PERFORM refresh_statistics(stale);
  END LOOP;
  DELETE FROM statistics_stale WHERE transaction = NEW.transaction;
  RETURN NULL;
END
$$
"""


def mark_stale(table: str) -> str:
    """The function that marks the regions of the rows a statement on `table` wrote."""
    regions = REGIONS_OF_ROWS[table]

    def insert(rows: str) -> str:
        return (
            "INSERT INTO statistics_stale (region)"
            f" SELECT DISTINCT coalesce(region, '') FROM ({regions.format(rows=rows)})"
            " AS touched (region) ON CONFLICT DO NOTHING;"
        )

    return f"""
CREATE FUNCTION mark_statistics_stale_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN {insert("new_rows")} END IF;
  IF TG_OP <> 'INSERT' THEN {insert("old_rows")} END IF;
  RETURN NULL;
END
$$
"""


# Transition tables each trigger may reference, by event (one event per trigger).
TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.create_table(
        "statistics_figures",
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.Column("figure", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=80), nullable=False),
        sa.Column("number", sa.BigInteger(), nullable=True),
        sa.Column("amount_eur", sa.Numeric(), nullable=True),
        sa.Column("funding_count", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("region", "figure", "key", name=op.f("pk_statistics_figures")),
    )
    op.create_table(
        "statistics_stale",
        sa.Column(
            "transaction", sa.BigInteger(), server_default=sa.text("txid_current()"), nullable=False
        ),
        sa.Column("region", sa.String(length=2), nullable=False),
        sa.PrimaryKeyConstraint("transaction", "region", name=op.f("pk_statistics_stale")),
    )
    op.execute(REFRESH)
    op.execute(REFRESH_STALE)
    op.execute(
        "CREATE CONSTRAINT TRIGGER refresh_at_commit AFTER INSERT ON statistics_stale"
        " DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION refresh_stale_statistics()"
    )
    for table in REGIONS_OF_ROWS:
        op.execute(mark_stale(table))
        for event, transitions in TRANSITIONS.items():
            op.execute(
                f"CREATE TRIGGER statistics_stale_on_{event.lower()} AFTER {event} ON {table}"
                f" REFERENCING {transitions} FOR EACH STATEMENT"
                f" EXECUTE FUNCTION mark_statistics_stale_{table}()"
            )
    op.execute(
        "SELECT refresh_statistics(region)"
        " FROM (SELECT code FROM states UNION SELECT '') AS regions (region)"
    )


def downgrade() -> None:
    for table in REGIONS_OF_ROWS:
        for event in TRANSITIONS:
            op.execute(f"DROP TRIGGER statistics_stale_on_{event.lower()} ON {table}")
        op.execute(f"DROP FUNCTION mark_statistics_stale_{table}()")
    op.drop_table("statistics_stale")
    op.execute("DROP FUNCTION refresh_stale_statistics()")
    op.execute("DROP FUNCTION refresh_statistics(text)")
    op.drop_table("statistics_figures")
