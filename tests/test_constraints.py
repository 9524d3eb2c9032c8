"""Constraint violations the database raises become user errors that name no SQL."""

from collections.abc import Awaitable, Callable
from datetime import date

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

import models
from resolvers.mutations.constraints import problem_of
from resolvers.mutations.problems import Problem, ProblemKind
from tests import factories


async def violation(db: AsyncSession, write: Callable[[], Awaitable[object]]) -> Problem:
    """The user error of the constraint `write` violates."""
    with pytest.raises(IntegrityError) as raised:
        async with db.begin_nested():
            await write()
    return problem_of(raised.value)


async def test_a_taken_unique_value_is_a_conflict_at_its_field(db: AsyncSession) -> None:
    theme = {"slug": "bildung", "name_de": "Bildung", "name_en": "Education"}
    await factories.add(db, models.Theme(**theme))
    problem = await violation(db, lambda: db.execute(insert(models.Theme).values(theme)))
    assert problem == Problem(
        ProblemKind.CONFLICT, "Another Theme has this slug already.", ("input", "slug")
    )


async def test_a_broken_check_is_invalid_without_the_constraints_wording(
    db: AsyncSession,
) -> None:
    measure = await factories.add_measure(db)
    ended = insert(models.Measure).values(
        network_id=measure.network_id,
        slug="rueckwaerts",
        title="Rückwärts",
        starts_on=date(2025, 1, 1),
        ends_on=date(2024, 1, 1),
    )
    problem = await violation(db, lambda: db.execute(ended))
    assert problem == Problem(
        ProblemKind.INVALID,
        "The change would break a rule of the Measure; nothing was changed.",
        ("input",),
    )


async def test_a_vanished_reference_is_not_found(db: AsyncSession) -> None:
    goal = insert(models.Goal).values(network_id=999_999, title="Ziel")
    problem = await violation(db, lambda: db.execute(goal))
    assert problem.kind is ProblemKind.NOT_FOUND
    assert "999" not in problem.message and "goals" not in problem.message


async def test_the_database_refuses_a_goal_of_another_network(db: AsyncSession) -> None:
    measure = await factories.add_measure(db)
    foreign = await factories.add(
        db, models.Goal(network_id=(await factories.add_network(db)).id, title="Fremd")
    )
    measure.goal_id = foreign.id
    problem = await violation(db, db.flush)
    assert problem.kind is ProblemKind.NOT_FOUND


async def test_removing_a_goal_clears_only_the_goal_of_its_measures(db: AsyncSession) -> None:
    measure = await factories.add_measure(db)
    goal = await factories.add(db, models.Goal(network_id=measure.network_id, title="Ziel"))
    measure.goal_id = goal.id
    await db.flush()
    await db.delete(goal)
    await db.flush()
    await db.refresh(measure)
    assert (measure.goal_id, measure.network_id) == (None, goal.network_id)
