"""saved views

Revision ID: edeeea374110
Revises: 907bea159189
Create Date: 2026-11-25 14:50:50.799649

Named GraphQL operations served at /views/<name> (models/views.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "edeeea374110"
down_revision: str | None = "907bea159189"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column(
            "saved_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False
        ),
        sa.CheckConstraint(
            "name ~ '^[a-z0-9]+(-[a-z0-9]+)*$'", name=op.f("ck_saved_views_name_format")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("name", name=op.f("uq_saved_views_name")),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
