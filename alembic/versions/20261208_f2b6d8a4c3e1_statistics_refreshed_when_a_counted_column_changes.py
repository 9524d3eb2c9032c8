"""statistics refreshed when a counted column changes

Revision ID: f2b6d8a4c3e1
Revises: e81f4c2b9a63
Create Date: 2026-12-08 01:15:00.000000

Migration 8d3f5a6c1e27 marks, for every UPDATE of a counted table, the regions of all its rows
as stale, and the commit counts those regions afresh: a city's new website, which no figure
counts, cost a count of its state. Now an UPDATE marks only the regions of the rows whose
counted columns (those the figures or the way to a row's region read) changed, old and new
rows paired by the primary key; a row whose key changed counts as changed. INSERT and DELETE
mark their rows' regions, as before. The triggers stay: only their functions change
(PostgreSQL takes no column list on a trigger with transition tables).
"""

from collections.abc import Sequence

from alembic import op

revision: str = "f2b6d8a4c3e1"
down_revision: str | None = "e81f4c2b9a63"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of 8d3f5a6c1e27's regions of each counted table's rows ({rows}).
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

# The columns of each table that `refresh_statistics` counts or finds a row's region by
# (tests/test_statistics_writes.py changes every column of these tables, one at a time, and
# compares the figures with a fresh count).
COUNTED_COLUMNS = {
    "cities": ("state_code", "kind", "status"),
    "state_partnerships": ("state_code",),
    "local_networks": ("city_id",),
    "actors": ("network_id", "sector_code"),
    "measures": ("network_id",),
    "fundings": (
        "network_id",
        "measure_id",
        "state_partnership_id",
        "funder_id",
        "contribution_type",
        "theme_id",
        "starts_on",
        "amount_eur",
        "amount_confidential",
    ),
}


def insert_regions(table: str, rows: str) -> str:
    """The statement marking the regions of `rows` stale."""
    return (
        "INSERT INTO statistics_stale (region)"
        f" SELECT DISTINCT coalesce(region, '') FROM ({REGIONS_OF_ROWS[table].format(rows=rows)})"
        " AS touched (region) ON CONFLICT DO NOTHING;"
    )


def changed(rows: str, others: str, columns: tuple[str, ...]) -> str:
    """The rows of `rows` without a row of `others` of the same key and counted columns."""
    mine = ", ".join(f"r.{column}" for column in columns)
    theirs = ", ".join(f"o.{column}" for column in columns)
    return (
        f"SELECT r.* FROM {rows} r WHERE NOT EXISTS (SELECT FROM {others} o"
        f" WHERE o.id = r.id AND ({theirs}) IS NOT DISTINCT FROM ({mine}))"
    )


def mark_stale(table: str) -> str:
    """The function marking the regions of the rows a statement on `table` wrote: for an
    UPDATE, of the rows whose counted columns changed."""
    columns = COUNTED_COLUMNS[table]
    return f"""
CREATE OR REPLACE FUNCTION mark_statistics_stale_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN {insert_regions(table, "new_rows")}
  ELSIF TG_OP = 'DELETE' THEN {insert_regions(table, "old_rows")}
  ELSE
    WITH changed_rows AS (
      {changed("new_rows", "old_rows", columns)}
      UNION ALL
      {changed("old_rows", "new_rows", columns)}
    ) {insert_regions(table, "changed_rows")}
  END IF;
  RETURN NULL;
END
$$
"""


def marked_as_before(table: str) -> str:
    """8d3f5a6c1e27's function: the regions of every row written."""
    return f"""
CREATE OR REPLACE FUNCTION mark_statistics_stale_{table}() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'DELETE' THEN {insert_regions(table, "new_rows")} END IF;
  IF TG_OP <> 'INSERT' THEN {insert_regions(table, "old_rows")} END IF;
  RETURN NULL;
END
$$
"""


def upgrade() -> None:
    for table in REGIONS_OF_ROWS:
        op.execute(mark_stale(table))


def downgrade() -> None:
    for table in REGIONS_OF_ROWS:
        op.execute(marked_as_before(table))
