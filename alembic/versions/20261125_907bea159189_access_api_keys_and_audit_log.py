"""access: api keys and audit log

Revision ID: 907bea159189
Revises: d8b2cd40d550
Create Date: 2026-11-25 12:25:02.446720

API keys (stored as SHA-256 hashes, each with a role and the scope that role needs) and the
audit log of successful writes (models/access.py).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "907bea159189"
down_revision: str | None = "d8b2cd40d550"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column(
            "recorded_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "state_partner",
                "funder",
                "coordinator",
                "public",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("operation", sa.String(length=100), nullable=False),
        sa.Column("entity_type", sa.String(length=60), nullable=False),
        sa.Column("entity_id", sa.String(length=120), nullable=False),
        sa.Column(
            "changes", postgresql.JSONB(astext_type=sa.Text()), server_default="{}", nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_recorded_at"), "audit_log", ["recorded_at"], unique=False)
    op.create_index(op.f("ix_audit_log_subject"), "audit_log", ["subject"], unique=False)
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "state_partner",
                "funder",
                "coordinator",
                "public",
                name="role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("state_code", sa.String(length=2), nullable=True),
        sa.Column("funder_id", sa.Integer(), nullable=True),
        sa.Column("city_id", sa.Integer(), nullable=True),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "\nCASE role\n  WHEN 'admin' THEN num_nonnulls(state_code, funder_id, city_id) = 0\n  WHEN 'state_partner' THEN num_nonnulls(funder_id, city_id) = 0 AND state_code IS NOT NULL\n  WHEN 'funder' THEN num_nonnulls(state_code, city_id) = 0 AND funder_id IS NOT NULL\n  WHEN 'coordinator' THEN num_nonnulls(state_code, funder_id) = 0 AND city_id IS NOT NULL\n  ELSE false\nEND\n",
            name=op.f("ck_api_keys_scope_matches_role"),
        ),
        sa.ForeignKeyConstraint(
            ["city_id"], ["cities.id"], name=op.f("fk_api_keys_city_id_cities"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["funder_id"],
            ["funders.id"],
            name=op.f("fk_api_keys_funder_id_funders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["state_code"],
            ["states.code"],
            name=op.f("fk_api_keys_state_code_states"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_city_id"), "api_keys", ["city_id"], unique=False)
    op.create_index(op.f("ix_api_keys_funder_id"), "api_keys", ["funder_id"], unique=False)
    op.create_index(op.f("ix_api_keys_state_code"), "api_keys", ["state_code"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_api_keys_state_code"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_funder_id"), table_name="api_keys")
    op.drop_index(op.f("ix_api_keys_city_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_index(op.f("ix_audit_log_subject"), table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_recorded_at"), table_name="audit_log")
    op.drop_table("audit_log")
