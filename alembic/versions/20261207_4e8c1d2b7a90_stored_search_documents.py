"""stored search documents

Revision ID: 4e8c1d2b7a90
Revises: b7d4e2a91c05
Create Date: 2026-12-07 17:30:00.000000

Each searchable row keeps its German full-text document in a stored generated column,
`search_document`, and the GIN index `ix_search_<table>_document` indexes that column instead
of the expression: ranking a hit then reads the document instead of parsing the row's texts
again, which made search cost grow with the number of hits (resolvers/search.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import TSVECTOR


revision: str = "4e8c1d2b7a90"
down_revision: str | None = "b7d4e2a91c05"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The names weighted above the description in each table's document, as in the models.
NAMES = {
    "cities": "name",
    "actors": "name",
    "measures": "title",
    "funders": "name || ' ' || coalesce(short_name, '')",
}


def document(names: str) -> str:
    """The document of a row: `names` weighted A, the description weighted B."""
    return (
        f"setweight(to_tsvector('german'::regconfig, {names}), 'A')"
        " || setweight(to_tsvector('german'::regconfig, description), 'B')"
    )


def upgrade() -> None:
    for table, names in NAMES.items():
        op.drop_index(f"ix_search_{table}_document", table_name=table)
        op.add_column(
            table,
            sa.Column(
                "search_document",
                TSVECTOR(),
                sa.Computed(document(names), persisted=True),
                nullable=True,
            ),
        )
        op.create_index(
            f"ix_search_{table}_document", table, ["search_document"], postgresql_using="gin"
        )


def downgrade() -> None:
    for table, names in NAMES.items():
        op.drop_index(f"ix_search_{table}_document", table_name=table)
        op.drop_column(table, "search_document")
        op.create_index(
            f"ix_search_{table}_document",
            table,
            [sa.text(f"({document(names)})")],
            postgresql_using="gin",
        )
