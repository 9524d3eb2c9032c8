"""Statistics on the demo data, checked against hand-written SQL; enum labels for clients."""

from collections import Counter
from decimal import Decimal
from typing import Any

import httpx
import pytest
from graphql import GraphQLEnumType
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

import models
from hub.database import engine_for, session_factory
from hub.demo.dataset import read_facts
from schema import schema
from server import create_app
from tests.helpers import counting_statements, graphql

Data = dict[str, Any]

CITY_FIGURES = """
  citiesByState { code count }
  citiesByKind { kind count }
  citiesByStatus { status count }
  actorsBySector { sector count }
  sectorComposition {
    networkCount networksWithActors trisectoralShare multisectoralShare
    byComposition { composition count }
  }
"""
FUNDING_FIGURES = """
  fundingTotals {
    byFunder { funder { slug } amountEur fundingCount }
    byContributionType { contributionType amountEur fundingCount }
    byState { code amountEur fundingCount }
    byTheme { theme { slug } amountEur fundingCount }
    byYear { year amountEur fundingCount }
  }
"""
ALL_FIGURES = CITY_FIGURES + FUNDING_FIGURES

# Each funding with the state it reaches: its city's (network or measure), or its partnership's.
FUNDING_STATES = """
  SELECT f.*, coalesce(c.state_code, sp.state_code) AS state_code
  FROM fundings f
  LEFT JOIN measures m ON m.id = f.measure_id
  LEFT JOIN local_networks n ON n.id = coalesce(f.network_id, m.network_id)
  LEFT JOIN cities c ON c.id = n.city_id
  LEFT JOIN state_partnerships sp ON sp.id = f.state_partnership_id
"""
PUBLIC_TOTALS = (
    "coalesce(sum(amount_eur) FILTER (WHERE NOT amount_confidential), 0) AS amount, "
    "count(*) AS fundings"
)


async def statistics(
    client: httpx.AsyncClient, arguments: str = "", figures: str = ALL_FIGURES
) -> Data:
    """The root `statistics` field with `arguments` (e.g. `(state: "NW")`), asserting no errors."""
    body = await graphql(client, f"{{ statistics{arguments} {{ {figures} }} }}")
    assert "errors" not in body, body
    return body["data"]["statistics"]


async def sql_rows(connection: AsyncConnection, sql: str, **parameters: Any) -> list[Any]:
    """Rows from hand-written SQL: an independent check of what the API says."""
    return list((await connection.execute(text(sql), parameters)).all())


def counts(items: list[Data], key: str) -> dict[Any, int]:
    """`count` of each item, by the item's `key`."""
    return {item[key]: item["count"] for item in items}


def totals(items: list[Data], key: str) -> dict[Any, tuple[Decimal, int]]:
    """(amount, number of fundings) of each funding total, by its `key`."""
    return {item[key]: (Decimal(item["amountEur"]), item["fundingCount"]) for item in items}


def sum_totals(items: list[Data]) -> tuple[Decimal, int]:
    """The sum of the amounts and of the numbers of fundings of a list of totals."""
    return (
        sum((Decimal(item["amountEur"]) for item in items), Decimal(0)),
        sum(item["fundingCount"] for item in items),
    )


# --- Network-wide figures ------------------------------------------------------------------


async def test_cities_by_state_kind_and_status_match_the_demo(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    figures = await statistics(demo_client)
    by_state = counts(figures["citiesByState"], "code")
    assert sum(by_state.values()) == 104
    assert by_state["NW"] == 17
    assert "HB" not in by_state
    for column, field, key in (
        ("state_code", "citiesByState", "code"),
        ("upper(kind)", "citiesByKind", "kind"),
        ("upper(status)", "citiesByStatus", "status"),
    ):
        expected = await sql_rows(
            demo_connection, f"SELECT {column}, count(*) FROM cities GROUP BY 1 ORDER BY 1"
        )
        assert counts(figures[field], key) == dict(expected)


async def test_sector_composition_of_the_demo_networks(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    composition = (await statistics(demo_client))["sectorComposition"]
    sector_counts = await sql_rows(
        demo_connection,
        "SELECT count(DISTINCT a.sector_code) FROM local_networks n "
        "LEFT JOIN actors a ON a.network_id = n.id GROUP BY n.id",
    )
    own_count = Counter(sectors for (sectors,) in sector_counts)
    # Multisectoral: 9 networks with four sectors, 4 with all five.
    assert own_count == {2: 13, 3: 78, 4: 9, 5: 4}
    assert composition["networkCount"] == composition["networksWithActors"] == 104
    assert counts(composition["byComposition"], "composition") == {
        "NONE": 0,
        "MONOSECTORAL": 0,
        "BISECTORAL": 13,
        "TRISECTORAL": 78,
        "MULTISECTORAL": 13,
    }
    assert composition["trisectoralShare"] == pytest.approx(78 / 104)
    assert composition["multisectoralShare"] == pytest.approx(13 / 104)


async def test_actors_by_sector_match_a_direct_count(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    by_sector = counts((await statistics(demo_client))["actorsBySector"], "sector")
    expected = await sql_rows(
        demo_connection, "SELECT upper(sector_code), count(*) FROM actors GROUP BY 1"
    )
    assert by_sector == dict(expected)
    assert set(by_sector) == {sector.name for sector in models.SectorCode}


async def test_funding_totals_per_contribution_type_equal_a_direct_sum(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    funding_totals = (await statistics(demo_client))["fundingTotals"]
    expected = await sql_rows(
        demo_connection,
        f"SELECT upper(contribution_type), {PUBLIC_TOTALS} FROM fundings GROUP BY 1",
    )
    by_type = totals(funding_totals["byContributionType"], "contributionType")
    assert by_type == {key: (amount, number) for key, amount, number in expected}
    assert by_type["EXPERTISE"][0] == by_type["OWN_OFFER"][0] == 0
    assert by_type["FINANCIAL"][0] > 3_000_000


async def test_every_funding_grouping_adds_up_to_all_fundings(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    funding_totals = (await statistics(demo_client))["fundingTotals"]
    [everything] = await sql_rows(demo_connection, f"SELECT {PUBLIC_TOTALS} FROM fundings")
    for grouping in ("byFunder", "byContributionType", "byState", "byTheme", "byYear"):
        assert sum_totals(funding_totals[grouping]) == tuple(everything), grouping


async def test_funding_totals_by_state_year_and_funder_match_direct_sums(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    funding_totals = (await statistics(demo_client))["fundingTotals"]
    by_state = await sql_rows(
        demo_connection, f"SELECT state_code, {PUBLIC_TOTALS} FROM ({FUNDING_STATES}) s GROUP BY 1"
    )
    assert totals(funding_totals["byState"], "code") == {
        code: (amount, number) for code, amount, number in by_state
    }
    # Network-wide fundings reach no state; they come last, under a null code.
    [network_wide] = await sql_rows(
        demo_connection,
        f"SELECT {PUBLIC_TOTALS} FROM fundings WHERE recipient_kind = 'network_wide'",
    )
    assert funding_totals["byState"][-1]["code"] is None
    assert sum_totals(funding_totals["byState"][-1:]) == tuple(network_wide)
    by_year = await sql_rows(
        demo_connection,
        f"SELECT extract(year FROM starts_on)::int, {PUBLIC_TOTALS} FROM fundings GROUP BY 1",
    )
    assert totals(funding_totals["byYear"], "year") == {
        year: (amount, number) for year, amount, number in by_year
    }
    by_funder = await sql_rows(
        demo_connection,
        f"SELECT d.slug, {PUBLIC_TOTALS} FROM fundings JOIN funders d ON d.id = funder_id "
        "GROUP BY 1",
    )
    assert {
        item["funder"]["slug"]: (Decimal(item["amountEur"]), item["fundingCount"])
        for item in funding_totals["byFunder"]
    } == {slug: (amount, number) for slug, amount, number in by_funder}


async def test_state_partnership_fundings_count_for_their_state(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    rows = await sql_rows(
        demo_connection,
        "SELECT sp.state_code, count(*) FROM fundings f "
        "JOIN state_partnerships sp ON sp.id = f.state_partnership_id GROUP BY 1",
    )
    assert len(rows) == 5
    for code, partnership_fundings in rows:
        figures = await statistics(demo_client, f'(state: "{code}")', FUNDING_FIGURES)
        [state_total] = figures["fundingTotals"]["byState"]
        assert state_total["code"] == code
        city_fundings = await sql_rows(
            demo_connection,
            f"SELECT count(*) FROM ({FUNDING_STATES}) s "
            "WHERE state_code = :code AND state_partnership_id IS NULL",
            code=code,
        )
        assert state_total["fundingCount"] == partnership_fundings + city_fundings[0][0]


async def test_confidential_amounts_are_left_out_of_the_totals(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    async def all_fundings() -> tuple[Decimal, int]:
        figures = "fundingTotals { byContributionType { amountEur fundingCount } }"
        funding_totals = (await statistics(demo_client, figures=figures))["fundingTotals"]
        return sum_totals(funding_totals["byContributionType"])

    before = await all_fundings()
    [(amount,)] = await sql_rows(
        demo_connection,
        "UPDATE fundings SET amount_confidential = true "
        "WHERE id = (SELECT min(id) FROM fundings WHERE amount_eur > 0) RETURNING amount_eur",
    )
    # The kept figures are refreshed when a write commits; the test's transaction never does.
    await demo_connection.exec_driver_sql("SET CONSTRAINTS ALL IMMEDIATE")
    after = await all_fundings()
    assert after == (before[0] - amount, before[1])


# --- Scopes --------------------------------------------------------------------------------


async def test_the_states_statistics_add_up_to_the_network_wide_ones(
    demo_client: httpx.AsyncClient,
) -> None:
    network = await statistics(demo_client)
    body = await graphql(demo_client, f"{{ states {{ code statistics {{ {ALL_FIGURES} }} }} }}")
    per_state = {state["code"]: state["statistics"] for state in body["data"]["states"]}
    assert {
        code: sum(counts(figures["citiesByState"], "code").values())
        for code, figures in per_state.items()
    } == {code: counts(network["citiesByState"], "code").get(code, 0) for code in per_state}
    for field, key in (
        ("citiesByKind", "kind"),
        ("citiesByStatus", "status"),
        ("actorsBySector", "sector"),
    ):
        summed: Counter[str] = Counter()
        for figures in per_state.values():
            summed.update(counts(figures[field], key))
        assert summed == counts(network[field], key), field
    composition: Counter[str] = Counter()
    for figures in per_state.values():
        composition.update(counts(figures["sectorComposition"]["byComposition"], "composition"))
    assert composition == counts(network["sectorComposition"]["byComposition"], "composition")
    # Each funding reaches at most one state; the rest are the network-wide fundings.
    network_wide = [item for item in network["fundingTotals"]["byState"] if item["code"] is None]
    state_fundings = [
        item
        for figures in per_state.values()
        for item in figures["fundingTotals"]["byContributionType"]
    ]
    assert sum_totals(state_fundings + network_wide) == sum_totals(
        network["fundingTotals"]["byContributionType"]
    )


async def test_a_state_s_statistics_are_the_root_statistics_of_that_state(
    demo_client: httpx.AsyncClient,
) -> None:
    body = await graphql(
        demo_client, f'{{ state(code: "NW") {{ statistics {{ {ALL_FIGURES} }} }} }}'
    )
    nested = body["data"]["state"]["statistics"]
    assert nested == await statistics(demo_client, '(state: "nw")')
    assert counts(nested["citiesByState"], "code") == {"NW": 17}
    assert nested["sectorComposition"]["networkCount"] == 17
    assert {item["code"] for item in nested["fundingTotals"]["byState"]} == {"NW"}


async def test_a_funder_s_statistics_are_its_fundings_and_the_cities_they_reach(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    query = f"""
    {{ funder(slug: "bmfsfj") {{ cities {{ totalCount }} statistics {{ {ALL_FIGURES} }} }} }}
    """
    body = await graphql(demo_client, query)
    funder = body["data"]["funder"]
    figures = funder["statistics"]
    assert figures == await statistics(demo_client, '(funder: "bmfsfj")')
    by_funder = figures["fundingTotals"]["byFunder"]
    assert [item["funder"]["slug"] for item in by_funder] == ["bmfsfj"]
    expected = await sql_rows(
        demo_connection,
        f"SELECT upper(contribution_type), {PUBLIC_TOTALS} FROM fundings "
        "WHERE funder_id = (SELECT id FROM funders WHERE slug = 'bmfsfj') GROUP BY 1",
    )
    assert totals(figures["fundingTotals"]["byContributionType"], "contributionType") == {
        key: (amount, number) for key, amount, number in expected
    }
    assert sum_totals(by_funder) == sum_totals(figures["fundingTotals"]["byYear"])
    cities = sum(counts(figures["citiesByState"], "code").values())
    assert cities == funder["cities"]["totalCount"] > 0
    assert figures["sectorComposition"]["networkCount"] == cities


async def test_a_funder_in_a_state_covers_the_funder_s_part_of_the_state(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    figures = await statistics(demo_client, '(state: "RP", funder: "land-rheinland-pfalz")')
    rp_members = await sql_rows(
        demo_connection,
        "SELECT count(*) FROM cities WHERE state_code = 'RP' AND status = 'member'",
    )
    assert counts(figures["citiesByState"], "code") == {"RP": rp_members[0][0]}
    assert [item["code"] for item in figures["fundingTotals"]["byState"]] == ["RP"]
    assert [item["funder"]["slug"] for item in figures["fundingTotals"]["byFunder"]] == [
        "land-rheinland-pfalz"
    ]
    elsewhere = await statistics(demo_client, '(state: "NW", funder: "land-rheinland-pfalz")')
    assert elsewhere["citiesByState"] == elsewhere["fundingTotals"]["byFunder"] == []
    assert elsewhere["sectorComposition"]["networkCount"] == 0
    assert elsewhere["sectorComposition"]["trisectoralShare"] is None


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ('(state: "XX")', "Unknown state codes ['XX']"),
        ('(funder: "nobody")', "Unknown funder 'nobody'"),
        ('(state: "NW", funder: "nobody")', "Unknown funder 'nobody'"),
    ],
)
async def test_unknown_state_or_funder_is_the_client_s_error(
    demo_client: httpx.AsyncClient, arguments: str, message: str
) -> None:
    body = await graphql(demo_client, f"{{ statistics{arguments} {{ citiesByKind {{ count }} }} }}")
    [error] = body["errors"]
    assert error["message"].startswith(message)
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}
    assert body["data"] is None


# --- Statement counts ----------------------------------------------------------------------


async def test_all_figures_take_one_statement_on_the_compiled_path(
    demo_client: httpx.AsyncClient, demo_engine: AsyncEngine
) -> None:
    with counting_statements(demo_engine) as statements:
        await statistics(demo_client, '(state: "NW")')
    assert statements.count == 1


async def test_each_requested_figure_runs_one_statement_on_the_resolver_path(
    demo_resolver_client: httpx.AsyncClient, demo_engine: AsyncEngine
) -> None:
    with counting_statements(demo_engine) as statements:
        await statistics(
            demo_resolver_client, figures="citiesByKind { count } engagedPeople { value }"
        )
    assert statements.count == 1
    with counting_statements(demo_engine) as statements:
        await statistics(
            demo_resolver_client,
            figures=ALL_FIGURES.replace("funder { slug }", "").replace("theme { slug }", ""),
        )
    # Five city figures and five funding groupings.
    assert statements.count == 10
    with counting_statements(demo_engine) as statements:
        await statistics(
            demo_resolver_client,
            figures="fundingTotals { byFunder { funder { slug } } byTheme { theme { slug } } } "
            "citiesByState { state { name } }",
        )
    # Three figures, and one batched lookup each of the funders, themes and states they name.
    assert statements.count == 6


SCOPED_QUERY = f"""
{{ states {{ statistics {{ {ALL_FIGURES} }} }}
   funders(first: 100) {{ edges {{ node {{ statistics {{ {ALL_FIGURES} }} }} }} }} }}
"""


async def test_statistics_of_every_state_and_funder_take_a_fixed_number_of_statements(
    scaled_database_urls: dict[str, str],
) -> None:
    """One statement per figure for all 16 states, and one for all funders, whatever the size."""
    statement_counts = {}
    for size, url in scaled_database_urls.items():
        async with engine_for(url) as engine:
            app = create_app(sessions=session_factory(engine))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
                with counting_statements(engine) as statements:
                    body = await graphql(client, SCOPED_QUERY)
            assert "errors" not in body, body
            statement_counts[size] = statements.count
    # states, funders, 10 figures per kind of scope, funders and themes named in the totals.
    assert statement_counts == {"small": 24, "large": 24}


# --- A sourced figure and the enum labels --------------------------------------------------


async def test_engaged_people_is_the_sourced_figure_in_every_scope(
    demo_client: httpx.AsyncClient,
) -> None:
    figure = "engagedPeople { value year publisher sources descriptionDe descriptionEn }"
    network = (await statistics(demo_client, figures=figure))["engagedPeople"]
    facts = read_facts("network_facts.json")["figures"]
    assert network["value"] == facts["engaged_people_germany"] == 29_000_000
    assert network["year"] == 2019
    assert "BMFSFJ" in network["publisher"] and "BMFSFJ" in facts["engaged_people_note"]
    assert network["sources"] == ["https://www.engagiertestadt.de/ansatz/"]
    assert "engagiertestadt.de/ansatz" in facts["engaged_people_note"]
    assert "Engagierte" in network["descriptionDe"] and "engaged" in network["descriptionEn"]
    state = await statistics(demo_client, '(state: "HB")', figure)
    assert state["engagedPeople"] == network


async def test_enum_labels_cover_every_value_of_every_labelled_enum(
    demo_client: httpx.AsyncClient,
) -> None:
    body = await graphql(demo_client, "{ enumLabels { name values { value labelDe labelEn } } }")
    listed = {labels["name"]: labels["values"] for labels in body["data"]["enumLabels"]}
    expected_names = {
        "CityKind", "MembershipStatus", "ActorRole", "SectorCode", "SectorComposition",
        "FunderKind", "FunderScope", "ContributionType", "RecipientKind",
        "ApplicationKind", "ApplicationStatus", "Role",
    }  # fmt: skip
    assert set(listed) == expected_names
    for name, values in listed.items():
        graphql_enum = schema._schema.type_map[name]
        assert isinstance(graphql_enum, GraphQLEnumType)
        assert [value["value"] for value in values] == list(graphql_enum.values)
        enum_class = getattr(models, name)
        for value in values:
            member = enum_class[value["value"]]
            assert (value["labelDe"], value["labelEn"]) == (member.label_de, member.label_en)
    assert {
        "value": "CIVIL_SOCIETY",
        "labelDe": "Zivilgesellschaft",
        "labelEn": "Civil society",
    } in listed["SectorCode"]
