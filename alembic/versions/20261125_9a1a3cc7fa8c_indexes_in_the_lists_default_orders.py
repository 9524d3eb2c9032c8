"""indexes in the lists' default orders

Revision ID: 9a1a3cc7fa8c
Revises: edeeea374110
Create Date: 2026-11-25 15:31:45.139797

All cities, a state's cities and a network's actors are listed by name (ties by id): with an
index in that order, a page reads its rows in order and stops at its end, where it sorted all
of them before. The new indexes lead with the foreign keys the old ones held, so they serve
those lookups too; each is created before the one it replaces is dropped.
"""

from collections.abc import Sequence

from alembic import op


revision: str = "9a1a3cc7fa8c"
down_revision: str | None = "edeeea374110"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_actors_network_id_name_id", "actors", ["network_id", "name", "id"])
    op.drop_index("ix_actors_network_id", table_name="actors")
    op.create_index("ix_cities_name_id", "cities", ["name", "id"])
    op.create_index("ix_cities_state_code_name_id", "cities", ["state_code", "name", "id"])
    op.drop_index("ix_cities_state_code", table_name="cities")


def downgrade() -> None:
    op.create_index("ix_cities_state_code", "cities", ["state_code"])
    op.drop_index("ix_cities_state_code_name_id", table_name="cities")
    op.drop_index("ix_cities_name_id", table_name="cities")
    op.create_index("ix_actors_network_id", "actors", ["network_id"])
    op.drop_index("ix_actors_network_id_name_id", table_name="actors")
