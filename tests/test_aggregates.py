"""Grouped aggregates: the figures internal tools build are one query each, equal to
hand-written SQL on both read paths for every role, confidential amounts summed only for
those who may see them."""

from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

from models import Role
from tests.test_schema_differential import Paths, generous_limits, paths  # noqa: F401

# The amounts each role may see, in SQL on `fundings f` (resolvers.access.sees_amount), for
# the keys of tests.test_compiled_path.key_of_role: the first funder, the coordinator of
# Dessau-Roßlau.
VISIBLE = {
    Role.ADMIN: "true",
    Role.PUBLIC: "NOT f.amount_confidential",
    Role.STATE_PARTNER: "NOT f.amount_confidential",
    Role.FUNDER: "NOT f.amount_confidential OR f.funder_id = (SELECT min(id) FROM funders)",
    Role.COORDINATOR: """NOT f.amount_confidential
      OR coalesce(f.network_id, (SELECT m.network_id FROM measures m WHERE m.id = f.measure_id))
        IN (SELECT n.id FROM local_networks n JOIN cities c ON c.id = n.city_id
            WHERE c.slug = 'dessau-rosslau')""",
}

# The fundings with `amount`, the amount where the role may see it (null elsewhere), and
# `state`, the state of the city or partnership a funding reaches.
FUNDINGS = """WITH seen AS (
  SELECT f.*, CASE WHEN {visible} THEN f.amount_eur END AS amount,
    coalesce(c.state_code, p.state_code) AS state
  FROM fundings f
  LEFT JOIN measures m ON m.id = f.measure_id
  LEFT JOIN local_networks n ON n.id = coalesce(f.network_id, m.network_id)
  LEFT JOIN cities c ON c.id = n.city_id
  LEFT JOIN state_partnerships p ON p.id = f.state_partnership_id)
"""

# Cities with the sector composition of their local network.
CITIES = """WITH composed AS (
  SELECT c.*, CASE sectors WHEN 0 THEN 'none' WHEN 1 THEN 'monosectoral'
    WHEN 2 THEN 'bisectoral' WHEN 3 THEN 'trisectoral' ELSE 'multisectoral' END AS composition
  FROM cities c, LATERAL (SELECT count(DISTINCT a.sector_code) AS sectors FROM actors a
    JOIN local_networks n ON n.id = a.network_id WHERE n.city_id = c.id) s)
"""

# Actors and measures with the state of their local network's city.
PLACED = """WITH placed AS (
  SELECT x.*, c.state_code AS state FROM {table} x
  JOIN local_networks n ON n.id = x.network_id JOIN cities c ON c.id = n.city_id)
"""


def grouped(query: str) -> str:
    """The groups of the one `aggregates` field a query asks for."""
    return "{ groups " + query + " }"


# name: (GraphQL query, hand-written SQL of its groups' values in the order selected).
FIGURES: dict[str, tuple[str, str]] = {
    "funding totals by theme and year of the foundations in Hessen above 50,000 EUR": (
        """{ fundings(filter: {recipientStates: ["HE"], funderKinds: [FOUNDATION]}) {
          aggregates(groupBy: [THEME, START_YEAR],
            having: [{function: SUM, field: AMOUNT_EUR, gt: "50000"}],
            orderBy: [{function: SUM, field: AMOUNT_EUR}]) {
          groups { key { theme startYear } count sum { amountEur } } } } }""",
        FUNDINGS
        + """SELECT t.slug, extract(year FROM f.starts_on)::int, count(*), sum(f.amount)
        FROM seen f JOIN funders fu ON fu.id = f.funder_id LEFT JOIN themes t ON t.id = f.theme_id
        WHERE fu.kind = 'foundation' AND f.state = 'HE'
        GROUP BY 1, 2 HAVING sum(f.amount) > 50000 ORDER BY 4 DESC NULLS LAST, 1, 2""",
    ),
    "cities and inhabitants by state, most cities first": (
        """{ cities { aggregates(groupBy: [STATE], orderBy: [{function: COUNT}]) {
          groups { key { state } count sum { population } avg { population } } } } }""",
        """SELECT state_code, count(*), sum(population), avg(population)::float8
        FROM cities GROUP BY 1 ORDER BY 2 DESC, 1""",
    ),
    "kinds and statuses of at least two cities, by their largest city": (
        """{ cities { aggregates(groupBy: [KIND, STATUS], having: [{function: COUNT, gte: "2"}],
          orderBy: [{function: MAX, field: POPULATION}]) {
          groups { key { kind status } count min { population } max { population } } } } }""",
        """SELECT upper(kind), upper(status), count(*), min(population), max(population)
        FROM cities GROUP BY kind, status HAVING count(*) >= 2
        ORDER BY 5 DESC NULLS LAST, kind, status""",
    ),
    "cities joining per year and the states they lie in": (
        """{ cities { aggregates(groupBy: [JOINED_YEAR]) {
          groups { key { joinedYear } count countDistinct { state } } } } }""",
        """SELECT extract(year FROM joined_on)::int, count(*), count(DISTINCT state_code)
        FROM cities GROUP BY 1 ORDER BY 1 NULLS LAST""",
    ),
    "member cities by sector composition, rarest first": (
        """{ cities(filter: {statuses: [MEMBER]}) { aggregates(groupBy: [COMPOSITION],
          orderBy: [{function: COUNT, descending: false}]) {
          groups { key { composition } count } } } }""",
        CITIES
        + """SELECT upper(composition), count(*) FROM composed WHERE status = 'member'
        GROUP BY composition ORDER BY 2, composition""",
    ),
    "the six most frequent sectors and roles of actors": (
        """{ actors { aggregates(groupBy: [SECTOR, ROLE], orderBy: [{function: COUNT}], first: 6) {
          groups { key { sector role } count } } } }""",
        """SELECT upper(sector_code), upper(role), count(*) FROM actors
        GROUP BY sector_code, role ORDER BY 3 DESC, sector_code, role LIMIT 6""",
    ),
    "states whose coordinating actors come from at least two sectors": (
        """{ actors(filter: {roles: [COORDINATOR, CORE_MEMBER]}) { aggregates(groupBy: [STATE],
          having: [{function: COUNT_DISTINCT, field: SECTOR, gte: "2"}]) {
          groups { key { state } count countDistinct { sector } } } } }""",
        PLACED.format(table="actors")
        + """SELECT state, count(*), count(DISTINCT sector_code) FROM placed
        WHERE role IN ('coordinator', 'core_member')
        GROUP BY state HAVING count(DISTINCT sector_code) >= 2 ORDER BY state""",
    ),
    "youth and culture measures by theme and starting year": (
        """{ measures(filter: {themes: ["jugend", "kultur"]}) {
          aggregates(groupBy: [THEME, START_YEAR]) {
          groups { key { theme startYear } count countDistinct { state } } } } }""",
        PLACED.format(table="measures")
        + """SELECT t.slug, extract(year FROM m.starts_on)::int, count(*),
          count(DISTINCT m.state)
        FROM placed m JOIN themes t ON t.id = m.theme_id WHERE t.slug IN ('jugend', 'kultur')
        GROUP BY 1, 2 ORDER BY 1, 2""",
    ),
    "the busiest months of measures starting": (
        """{ measures { aggregates(groupBy: [START_MONTH], having: [{function: COUNT, gt: "1"}],
          orderBy: [{function: COUNT}], first: 10) { groups { key { startMonth } count } } } }""",
        """SELECT to_char(starts_on, 'YYYY-MM'), count(*) FROM measures
        GROUP BY 1 HAVING count(*) > 1 ORDER BY 2 DESC, 1 LIMIT 10""",
    ),
    "funders by kind and scope": (
        """{ funders { aggregates(groupBy: [KIND, SCOPE], orderBy: [{function: COUNT}]) {
          groups { key { kind scope } count } } } }""",
        """SELECT upper(kind), upper(scope), count(*) FROM funders
        GROUP BY kind, scope ORDER BY 3 DESC, kind, scope""",
    ),
    "the five funders giving most, with their average, least and largest amounts": (
        """{ fundings { aggregates(groupBy: [FUNDER], orderBy: [{function: SUM, field: AMOUNT_EUR}],
          first: 5) { groups { key { funder } count sum { amountEur } avg { amountEur }
          min { amountEur } max { amountEur } } } } }""",
        FUNDINGS
        + """SELECT fu.slug, count(*), sum(f.amount), round(avg(f.amount), 2), min(f.amount),
          max(f.amount)
        FROM seen f JOIN funders fu ON fu.id = f.funder_id
        GROUP BY 1 ORDER BY 3 DESC NULLS LAST, 1 LIMIT 5""",
    ),
    "fundings by contribution type and recipient, with their funders": (
        """{ fundings { aggregates(groupBy: [CONTRIBUTION_TYPE, RECIPIENT_KIND]) {
          groups { key { contributionType recipientKind } count countDistinct { funder }
          sum { amountEur } } } } }""",
        FUNDINGS
        + """SELECT upper(contribution_type), upper(recipient_kind), count(*),
          count(DISTINCT funder_id), sum(amount)
        FROM seen GROUP BY contribution_type, recipient_kind
        ORDER BY contribution_type, recipient_kind""",
    ),
    "states receiving over 10,000 EUR, smallest average first": (
        """{ fundings { aggregates(groupBy: [STATE],
          having: [{function: SUM, field: AMOUNT_EUR, gt: "10000"}],
          orderBy: [{function: AVG, field: AMOUNT_EUR, descending: false}]) {
          groups { key { state } count avg { amountEur } } } } }""",
        FUNDINGS
        + """SELECT state, count(*), round(avg(amount), 2) FROM seen
        GROUP BY state HAVING sum(amount) > 10000 ORDER BY 3 NULLS LAST, 1 NULLS LAST""",
    ),
    "all financial fundings in one group": (
        """{ fundings(filter: {contributionTypes: [FINANCIAL]}) { aggregates {
          groups { count sum { amountEur } avg { amountEur } min { amountEur }
          max { amountEur } } } } }""",
        FUNDINGS
        + """SELECT count(*), sum(amount), round(avg(amount), 2), min(amount), max(amount)
        FROM seen WHERE contribution_type = 'financial'""",
    ),
    "the kinds of cities of Saxony-Anhalt, within the state": (
        """{ state(code: "ST") { cities { aggregates(groupBy: [KIND]) {
          groups { key { kind } count sum { population } } } } } }""",
        """SELECT upper(kind), count(*), sum(population) FROM cities WHERE state_code = 'ST'
        GROUP BY kind ORDER BY kind""",
    ),
    "a funder's fundings per year, within the funder": (
        """{ funder(slug: "koerber-stiftung") { fundings { aggregates(groupBy: [START_YEAR]) {
          groups { key { startYear } count sum { amountEur } max { amountEur } } } } } }""",
        FUNDINGS
        + """SELECT extract(year FROM f.starts_on)::int, count(*), sum(f.amount), max(f.amount)
        FROM seen f JOIN funders fu ON fu.id = f.funder_id WHERE fu.slug = 'koerber-stiftung'
        GROUP BY 1 ORDER BY 1""",
    ),
}


def values_of(answer: Any) -> list[tuple[Any, ...]]:
    """The groups of an answer's one `aggregates` field, each as its values in the order
    selected."""
    while "groups" not in answer:
        (answer,) = answer.values()
    return [tuple(leaves(group)) for group in answer["groups"]]


def leaves(value: Any) -> list[Any]:
    """The plain values of a JSON object, depth first, in order."""
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in leaves(item)]
    return [value]


def as_answered(row: Any) -> tuple[Any, ...]:
    """A row of hand-written SQL as GraphQL answers it (decimals as strings)."""
    return tuple(str(value) if isinstance(value, Decimal) else value for value in row)


@pytest.mark.parametrize(("query", "sql"), FIGURES.values(), ids=FIGURES.keys())
async def test_a_figure_is_one_query_equal_to_hand_written_sql_for_every_role(
    paths: Paths,  # noqa: F811
    demo_connection: AsyncConnection,
    query: str,
    sql: str,
) -> None:
    for role in Role:
        answer = await paths.ask(query, role)
        rows = await demo_connection.execute(text(sql.format(visible=VISIBLE[role])))
        expected = [as_answered(row) for row in rows]
        assert expected, "a figure of no groups proves little"
        assert values_of(answer["data"]) == expected, role.value


async def test_confidential_amounts_count_but_are_summed_only_for_who_may_see_them(
    paths: Paths,  # noqa: F811
) -> None:
    query = """{ fundings(filter: {contributionTypes: [FINANCIAL]}) {
      aggregates { groups { count sum { amountEur } } } } }"""
    answers = {role: values_of((await paths.ask(query, role))["data"]) for role in Role}
    [(count, whole)] = answers[Role.ADMIN]
    [(public_count, public_sum)] = answers[Role.PUBLIC]
    assert public_count == count
    assert Decimal(public_sum) < Decimal(whole)


# Arguments the schema admits but aggregates refuse, and the one line each is answered with.
REFUSED = {
    "{ cities { aggregates(orderBy: [{function: SUM, field: STATE}]) { groups { count } } } }": (
        "SUM of cities needs one of the fields POPULATION."
    ),
    '{ funders { aggregates(having: [{function: AVG, field: KIND, gt: "1"}]) '
    "{ groups { count } } } }": "AVG needs a numeric field, and funders have none.",
    '{ actors { aggregates(having: [{function: COUNT, field: SECTOR, gt: "1"}]) '
    "{ groups { count } } } }": "COUNT counts the rows of a group and takes no field.",
    "{ measures { aggregates(orderBy: [{function: COUNT_DISTINCT}]) { groups { count } } } }": (
        "COUNT_DISTINCT of measures needs one of the fields STATE, THEME, START_YEAR, START_MONTH."
    ),
    "{ fundings { aggregates(first: 101) { groups { count } } } }": (
        "first must lie between 0 and 100, not 101."
    ),
}


@pytest.mark.parametrize(("query", "message"), REFUSED.items(), ids=REFUSED.values())
async def test_a_figure_of_a_field_it_does_not_apply_to_is_a_clear_user_error(
    paths: Paths,  # noqa: F811
    query: str,
    message: str,
) -> None:
    answer = await paths.ask(query, Role.PUBLIC, compiles=False)
    [error] = answer["errors"]
    assert error["message"] == message
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
