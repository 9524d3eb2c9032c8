"""every write announces its tables

Revision ID: c5a9e3f1d7b4
Revises: 8d3f5a6c1e27
Create Date: 2026-12-07 20:10:00.000000

Every statement that writes a table (INSERT, UPDATE, DELETE, TRUNCATE, COPY: the API's
mutations, an import, an operator's psql alike) sends the table's name on the channel
`hub_changes` when its transaction commits. The response cache (hub/response_cache.py) drops
the answers that read the table, in every process. PostgreSQL sends a name once per
transaction however often it was sent in it.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "c5a9e3f1d7b4"
down_revision: str | None = "8d3f5a6c1e27"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ANNOUNCE = """
CREATE FUNCTION announce_table_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('hub_changes', TG_TABLE_NAME);
  RETURN NULL;
END $$
"""

# Every table of the schema but alembic's own; a later migration's new table needs the
# trigger too (tests/test_response_cache.py checks that every table has it).
EACH_TABLE = """
DO $$
DECLARE each_table text;
BEGIN
  FOR each_table IN
    SELECT tablename FROM pg_tables
    WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
  LOOP
    EXECUTE format(
      'CREATE TRIGGER announce_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I '
      'FOR EACH STATEMENT EXECUTE FUNCTION announce_table_change()', each_table);
  END LOOP;
END $$
"""

DROP_EACH = """
DO $$
DECLARE each_table text;
BEGIN
  FOR each_table IN
    SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE t.tgname = 'announce_change'
  LOOP
    EXECUTE format('DROP TRIGGER announce_change ON %I', each_table);
  END LOOP;
END $$
"""


def upgrade() -> None:
    op.execute(ANNOUNCE)
    op.execute(EACH_TABLE)


def downgrade() -> None:
    op.execute(DROP_EACH)
    op.execute("DROP FUNCTION announce_table_change()")
