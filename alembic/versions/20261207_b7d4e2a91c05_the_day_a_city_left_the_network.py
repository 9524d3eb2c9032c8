"""the day a city left the network

Revision ID: b7d4e2a91c05
Revises: 3c1f0e7a9b52
Create Date: 2026-12-07 16:50:00.000000

A city that leaves the network becomes a former member on a day: `cities.left_on`. Only a
former member has one, not before it joined; former members recorded before keep none (the
day is not known).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "b7d4e2a91c05"
down_revision: str | None = "3c1f0e7a9b52"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("cities", sa.Column("left_on", sa.Date(), nullable=True))
    op.create_check_constraint(
        op.f("ck_cities_left_only_when_former_member"),
        "cities",
        "left_on IS NULL OR status = 'former_member'",
    )
    op.create_check_constraint(
        op.f("ck_cities_left_after_joining"), "cities", "left_on IS NULL OR left_on >= joined_on"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_cities_left_after_joining"), "cities", type_="check")
    op.drop_constraint(op.f("ck_cities_left_only_when_former_member"), "cities", type_="check")
    op.drop_column("cities", "left_on")
