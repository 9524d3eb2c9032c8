"""writes announce their rows and columns

Revision ID: e81f4c2b9a63
Revises: c5a9e3f1d7b4
Create Date: 2026-12-07 22:00:00.000000

Every statement that writes a table sends, when its transaction commits, on the channel
`hub_row_changes`, what it changed as JSON: `{"t": table, "c": columns, "k": row keys}`.

- `c`: for an UPDATE, the columns whose value changed in at least one row, old and new rows
  paired by the primary key; null (every column, and whether rows exist) for INSERT, DELETE,
  TRUNCATE, an UPDATE that changed a primary key, or a table without one.
- `k`: `column=value` (as text) for each key column of the table (a single-column primary key
  or unique index: `id`, `slug`, `code`) of every old and new row; null (any row) for
  TRUNCATE, more than 100 rows, or a payload past 7,500 bytes (NOTIFY takes 8,000).

The response cache (hub/response_cache.py) drops the answers that read those columns of those
rows. The triggers get the primary key and the key columns as arguments, read from the catalog
now: a later migration that adds a table, or a key column a root lookup finds rows by, creates
them anew for it (tests/test_response_cache_rows.py checks both). PostgreSQL takes transition
tables on triggers of one event only: four triggers per table. The table-level announcement of
c5a9e3f1d7b4 stays, for the processes of the previous release during a rolling deployment.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "e81f4c2b9a63"
down_revision: str | None = "c5a9e3f1d7b4"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# TG_ARGV[0]: the primary key's columns, comma-separated ('' without one); TG_ARGV[1]: the key
# columns. The transition tables are `old_rows` and `new_rows`. Values are compared as the text
# of their JSON, which is how answers show them.
ANNOUNCE = """
CREATE FUNCTION announce_row_changes() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  primary_key text[] := string_to_array(TG_ARGV[0], ',');
  key_columns text[] := string_to_array(TG_ARGV[1], ',');
  row_count bigint;
  paired bigint;
  changed text[];
  row_keys text[];
  rows_sql text;
  payload text;
BEGIN
  IF TG_OP = 'TRUNCATE' THEN
    PERFORM pg_notify('hub_row_changes',
      json_build_object('t', TG_TABLE_NAME, 'c', NULL, 'k', NULL)::text);
    RETURN NULL;
  END IF;
  EXECUTE 'SELECT count(*) FROM '
    || CASE TG_OP WHEN 'INSERT' THEN 'new_rows' ELSE 'old_rows' END INTO row_count;
  IF row_count = 0 THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'UPDATE' AND cardinality(primary_key) > 0 THEN
    EXECUTE format(
      'WITH pairs AS (SELECT to_json(old_row) AS old_json, to_json(new_row) AS new_json '
      'FROM old_rows old_row JOIN new_rows new_row ON %s) '
      'SELECT (SELECT count(*) FROM pairs), ARRAY(SELECT DISTINCT each_old.key '
      'FROM pairs, json_each_text(pairs.old_json) each_old '
      'WHERE each_old.value IS DISTINCT FROM pairs.new_json ->> each_old.key ORDER BY 1)',
      (SELECT string_agg(format('old_row.%1$I = new_row.%1$I', key_column), ' AND ')
       FROM unnest(primary_key) key_column))
    INTO paired, changed;
    IF paired < row_count THEN
      changed := NULL;  -- a primary key changed: rows came and went
    ELSIF cardinality(changed) = 0 THEN
      RETURN NULL;  -- every row kept its values
    END IF;
  END IF;
  IF row_count <= 100 AND cardinality(key_columns) > 0 THEN
    rows_sql := CASE TG_OP
      WHEN 'INSERT' THEN 'SELECT to_json(a_row) AS j FROM new_rows a_row'
      WHEN 'DELETE' THEN 'SELECT to_json(a_row) AS j FROM old_rows a_row'
      ELSE 'SELECT to_json(a_row) AS j FROM old_rows a_row '
           'UNION ALL SELECT to_json(a_row) FROM new_rows a_row' END;
    EXECUTE format(
      'SELECT ARRAY(SELECT DISTINCT each_key.key || ''='' || each_key.value '
      'FROM (%s) written, json_each_text(written.j) each_key '
      'WHERE each_key.key = ANY($1) AND each_key.value IS NOT NULL ORDER BY 1)', rows_sql)
    INTO row_keys USING key_columns;
  END IF;
  payload := json_build_object('t', TG_TABLE_NAME, 'c', changed, 'k', row_keys)::text;
  IF octet_length(payload) > 7500 THEN
    payload := json_build_object('t', TG_TABLE_NAME, 'c', changed, 'k', NULL)::text;
  END IF;
  PERFORM pg_notify('hub_row_changes', payload);
  RETURN NULL;
END $$
"""

# Every table of the schema but alembic's own, with its primary key and its key columns (of a
# unique index on one column, without expressions) as the triggers' arguments.
EACH_TABLE = """
DO $$
DECLARE
  each_table regclass;
  primary_key text;
  key_columns text;
  arguments text;
BEGIN
  FOR each_table IN
    SELECT format('%I', tablename)::regclass FROM pg_tables
    WHERE schemaname = current_schema() AND tablename <> 'alembic_version'
  LOOP
    SELECT string_agg(a.attname, ',' ORDER BY k.position) INTO primary_key
    FROM pg_index i, unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, position), pg_attribute a
    WHERE i.indrelid = each_table AND i.indisprimary
      AND a.attrelid = i.indrelid AND a.attnum = k.attnum;
    SELECT string_agg(DISTINCT a.attname, ',') INTO key_columns
    FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
    WHERE i.indrelid = each_table AND i.indisunique AND i.indnkeyatts = 1
      AND i.indexprs IS NULL;
    arguments := format('%L, %L', coalesce(primary_key, ''), coalesce(key_columns, ''));
    EXECUTE format(
      'CREATE TRIGGER announce_inserted_rows AFTER INSERT ON %s '
      'REFERENCING NEW TABLE AS new_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION announce_row_changes(%s)', each_table, arguments);
    EXECUTE format(
      'CREATE TRIGGER announce_updated_rows AFTER UPDATE ON %s '
      'REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION announce_row_changes(%s)', each_table, arguments);
    EXECUTE format(
      'CREATE TRIGGER announce_deleted_rows AFTER DELETE ON %s '
      'REFERENCING OLD TABLE AS old_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION announce_row_changes(%s)', each_table, arguments);
    EXECUTE format(
      'CREATE TRIGGER announce_truncation AFTER TRUNCATE ON %s '
      'FOR EACH STATEMENT EXECUTE FUNCTION announce_row_changes(%s)', each_table, arguments);
  END LOOP;
END $$
"""

DROP_EACH = """
DO $$
DECLARE each_trigger record;
BEGIN
  FOR each_trigger IN
    SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE t.tgname IN (
      'announce_inserted_rows', 'announce_updated_rows', 'announce_deleted_rows',
      'announce_truncation')
  LOOP
    EXECUTE format('DROP TRIGGER %I ON %I', each_trigger.tgname, each_trigger.relname);
  END LOOP;
END $$
"""


def upgrade() -> None:
    op.execute(ANNOUNCE)
    op.execute(EACH_TABLE)


def downgrade() -> None:
    op.execute(DROP_EACH)
    op.execute("DROP FUNCTION announce_row_changes()")
