"""a measure's goal of its own network

Revision ID: 3c1f0e7a9b52
Revises: 9a1a3cc7fa8c
Create Date: 2026-12-07 14:30:00.000000

`measures.goal_id` referred to any goal, so a measure could serve another city's goal. It now
refers to the pair (goal, network), as `measure_actors` does to (actor, network): the database
refuses a goal of another network. Links made before, which only a bug could make, are cleared.
"""

from collections.abc import Sequence

from alembic import op


revision: str = "3c1f0e7a9b52"
down_revision: str | None = "9a1a3cc7fa8c"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE measures SET goal_id = NULL FROM goals"
        " WHERE goals.id = measures.goal_id AND goals.network_id <> measures.network_id"
    )
    op.create_unique_constraint(op.f("uq_goals_id_network_id"), "goals", ["id", "network_id"])
    op.drop_constraint(op.f("fk_measures_goal_id_goals"), "measures", type_="foreignkey")
    op.create_foreign_key(
        op.f("fk_measures_goal_id_network_id_goals"),
        "measures",
        "goals",
        ["goal_id", "network_id"],
        ["id", "network_id"],
        ondelete="SET NULL (goal_id)",
    )


def downgrade() -> None:
    op.drop_constraint(
        op.f("fk_measures_goal_id_network_id_goals"), "measures", type_="foreignkey"
    )
    op.create_foreign_key(
        op.f("fk_measures_goal_id_goals"),
        "measures",
        "goals",
        ["goal_id"],
        ["id"],
        ondelete="SET NULL",
    )
    op.drop_constraint(op.f("uq_goals_id_network_id"), "goals", type_="unique")
