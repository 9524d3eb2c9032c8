"""Grouped aggregates: both read paths alike, for every role, and equal to hand-written SQL."""

from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Role
from tests.test_schema_differential import Paths, generous_limits, paths  # noqa: F401

# Funding totals by theme and year of the foundations active in Hessen, only groups above
# 50,000 EUR, largest first.
EXAMPLE = """{ fundings(filter: {recipientStates: ["HE"], funderKinds: [FOUNDATION]}) {
  aggregates(groupBy: [THEME, START_YEAR],
    having: [{function: SUM, field: AMOUNT_EUR, gt: "50000"}],
    orderBy: [{function: SUM, field: AMOUNT_EUR}]) {
    groups { key { theme startYear } count sum { amountEur } } } } }"""

# The same figures as the network office sees them, written by hand.
EXAMPLE_SQL = """
SELECT t.slug, extract(year FROM f.starts_on)::int, count(*), sum(f.amount_eur)
FROM fundings f
JOIN funders fu ON fu.id = f.funder_id
LEFT JOIN themes t ON t.id = f.theme_id
WHERE fu.kind = 'foundation' AND f.id IN (
  SELECT f2.id FROM fundings f2
  LEFT JOIN measures m ON m.id = f2.measure_id
  LEFT JOIN local_networks n ON n.id = coalesce(f2.network_id, m.network_id)
  LEFT JOIN cities c ON c.id = n.city_id
  LEFT JOIN state_partnerships p ON p.id = f2.state_partnership_id
  WHERE c.state_code = 'HE' OR p.state_code = 'HE')
GROUP BY 1, 2 HAVING sum(f.amount_eur) > 50000
ORDER BY 4 DESC NULLS LAST, 1, 2
"""


async def test_the_example_is_one_query_equal_to_hand_written_sql_for_the_office(
    paths: Paths,  # noqa: F811
    demo_connection: AsyncConnection,
) -> None:
    answer = await paths.ask(EXAMPLE, Role.ADMIN)
    groups = answer["data"]["fundings"]["aggregates"]["groups"]
    expected = (await demo_connection.execute(text(EXAMPLE_SQL))).all()
    assert expected
    assert [
        (g["key"]["theme"], g["key"]["startYear"], g["count"], Decimal(g["sum"]["amountEur"]))
        for g in groups
    ] == [tuple(row) for row in expected]


async def test_the_example_answers_alike_on_both_paths_for_every_role(
    paths: Paths,  # noqa: F811
) -> None:
    for role in Role:
        await paths.ask(EXAMPLE, role)
