"""search indexes

Revision ID: d8b2cd40d550
Revises: 5bee0a7aa386
Create Date: 2026-11-25 10:03:46.160142

German full-text indexes on the documents that resolvers/search.py matches, and trigram indexes
on the names where PostgreSQL offers pg_trgm. The models do not declare these expression
indexes; autogenerate ignores them by their `ix_search_` prefix (hub.migrations.include_object).
"""

import logging
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op


revision: str = "d8b2cd40d550"
down_revision: str | None = "5bee0a7aa386"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

logger = logging.getLogger("alembic")

# Each table's document, exactly as resolvers/search.py writes it: the planner only uses an
# expression index for the very same expression.
DOCUMENTS = {
    "cities": "setweight(to_tsvector('german', name), 'A')"
    " || setweight(to_tsvector('german', description), 'B')",
    "actors": "setweight(to_tsvector('german', name), 'A')"
    " || setweight(to_tsvector('german', description), 'B')",
    "measures": "setweight(to_tsvector('german', title), 'A')"
    " || setweight(to_tsvector('german', description), 'B')",
    "funders": "setweight(to_tsvector('german', name || ' ' || coalesce(short_name, '')), 'A')"
    " || setweight(to_tsvector('german', description), 'B')",
}
# The column of each table whose typos search tolerates.
NAMES = {"cities": "name", "actors": "name", "measures": "title", "funders": "name"}


def upgrade() -> None:
    for table, document in DOCUMENTS.items():
        op.create_index(
            f"ix_search_{table}_document", table, [sa.text(f"({document})")], postgresql_using="gin"
        )
    if not create_extension_if_available("pg_trgm"):
        logger.warning(
            "pg_trgm is not available: no trigram indexes; "
            "search matches words and prefixes, without typo tolerance"
        )
        return
    for table, name in NAMES.items():
        op.create_index(
            f"ix_search_{table}_{name}_trigram",
            table,
            [name],
            postgresql_using="gin",
            postgresql_ops={name: "gin_trgm_ops"},
        )


def downgrade() -> None:
    # The extension stays: it may have been there before, and other objects may use it.
    for table, name in NAMES.items():
        op.execute(f"DROP INDEX IF EXISTS ix_search_{table}_{name}_trigram")
    for table in DOCUMENTS:
        op.drop_index(f"ix_search_{table}_document", table_name=table)


def create_extension_if_available(name: str) -> bool:
    """Create the extension unless the server lacks it (e.g. the pgserver wheel's PostgreSQL)."""
    if context.is_offline_mode():
        logger.warning("SQL script: whether the server offers %s is unknown; left out", name)
        return False
    available = op.get_bind().scalar(
        sa.text("SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = :name)"),
        {"name": name},
    )
    if available:
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {name}")
    return bool(available)
