"""The example queries of docs/queries/: each runs on the demo data with its result checked, and
issues the same, bounded number of SQL statements on a small and a much larger data set. The
queries of the README and the guides answer on the demo data, as they promise."""

import math
from collections.abc import Awaitable, Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, OperationType
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub.config import Settings
from hub.database import engine_for, session_factory
from models import Role
from server import create_app
from tests.conftest import sessions_on
from tests.documents import README, WALKTHROUGHS, graphql_documents, where
from tests.factories import add_key
from tests.helpers import counting_statements, graphql

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "queries"
Data = dict[str, Any]


def example(name: str) -> str:
    """The text of the example query `name`."""
    return (EXAMPLES_DIR / f"{name}.graphql").read_text()


def edges_nodes(connection: Data) -> list[Data]:
    """The nodes of a connection."""
    return [edge["node"] for edge in connection["edges"]]


async def scalar(connection: AsyncConnection, sql: str) -> Any:
    """One value from hand-written SQL: an independent check of what the API says."""
    return (await connection.execute(text(sql))).scalar_one()


async def check_funder_portal(data: Data, connection: AsyncConnection) -> None:
    funder = data["funder"]
    assert funder["name"] == "Körber-Stiftung"
    expected = await scalar(
        connection,
        "SELECT count(*) FROM fundings JOIN funders ON funders.id = fundings.funder_id "
        "WHERE funders.slug = 'koerber-stiftung'",
    )
    assert funder["fundings"]["totalCount"] == expected > 20
    fundings = edges_nodes(funder["fundings"])
    assert len(fundings) == 20
    starts = [funding["startsOn"] for funding in fundings]
    assert starts == sorted(starts, reverse=True)
    for funding in fundings:
        typename = (funding["recipient"] or {}).get("__typename")
        assert (
            typename
            == {
                "LOCAL_NETWORK": "LocalNetwork",
                "MEASURE": "Measure",
                "STATE_PARTNERSHIP": "StatePartnership",
                "NETWORK_WIDE": None,
            }[funding["recipientKind"]]
        )
        assert (funding["amountEur"] is not None) == (funding["contributionType"] == "FINANCIAL")


async def check_state_partner_portal(data: Data, connection: AsyncConnection) -> None:
    state = data["state"]
    assert state["name"] == "Rheinland-Pfalz"
    assert state["partnership"]["institution"] == "Staatskanzlei Rheinland-Pfalz"
    assert state["cities"]["totalCount"] == 11
    for city in edges_nodes(state["cities"]):
        network = city["localNetwork"]
        sectors = {sector["code"] for sector in network["sectors"]}
        assert network["composition"] == {2: "BISECTORAL", 3: "TRISECTORAL"}.get(
            len(sectors), "MULTISECTORAL"
        )
        for measure in edges_nodes(network["measures"]):
            assert measure["theme"] is None or measure["theme"]["nameDe"]


def distance_km(lat: float, lon: float, other_lat: float, other_lon: float) -> float:
    """Haversine distance, computed here independently of the SQL."""
    phi, other_phi = math.radians(lat), math.radians(other_lat)
    half_chord = (
        math.sin((other_phi - phi) / 2) ** 2
        + math.cos(phi) * math.cos(other_phi) * math.sin(math.radians(other_lon - lon) / 2) ** 2
    )
    return 2 * 6371.0088 * math.asin(math.sqrt(half_chord))


async def check_city_map(data: Data, connection: AsyncConnection) -> None:
    cities = edges_nodes(data["cities"])
    names = {city["name"] for city in cities}
    assert {"Königswinter", "Aachen", "Bielefeld"} - names == {"Bielefeld"}
    assert data["cities"]["totalCount"] == len(cities)
    for city in cities:
        assert distance_km(50.94, 6.96, city["latitude"], city["longitude"]) <= 150


async def check_statistics(data: Data, connection: AsyncConnection) -> None:
    figures = data["statistics"]
    by_state = {row["code"]: row["count"] for row in figures["citiesByState"]}
    assert (by_state["NW"], sum(by_state.values())) == (17, 104)
    composition = figures["sectorComposition"]
    assert (composition["trisectoralShare"], composition["multisectoralShare"]) == (0.75, 0.125)
    financial = next(
        row
        for row in figures["fundingTotals"]["byContributionType"]
        if row["contributionType"] == "FINANCIAL"
    )
    expected = await scalar(
        connection,
        "SELECT sum(amount_eur)::text FROM fundings "
        "WHERE contribution_type = 'financial' AND NOT amount_confidential",
    )
    assert financial["amountEur"] == expected
    assert figures["engagedPeople"]["value"] == 29_000_000


async def check_search(data: Data, connection: AsyncConnection) -> None:
    results = data["search"]
    assert results["totalCount"] > 10 and results["pageInfo"]["hasNextPage"]
    ranks = [edge["rank"] for edge in results["edges"]]
    assert ranks == sorted(ranks, reverse=True)
    titles = [edge["node"].get("title", "") for edge in results["edges"]]
    assert any("Ehrenamt" in title for title in titles)


async def check_city(data: Data, connection: AsyncConnection) -> None:
    city = data["city"]
    assert city["name"] == "Bitburg"
    assert city["state"]["partnership"]["institution"] == "Staatskanzlei Rheinland-Pfalz"
    network = city["localNetwork"]
    assert network["composition"] == "TRISECTORAL"
    assert len(network["sectors"]) == 3
    expected = await scalar(
        connection,
        "SELECT count(*) FROM actors JOIN local_networks ON local_networks.id = network_id "
        "JOIN cities ON cities.id = city_id WHERE cities.slug = 'bitburg'",
    )
    assert network["actors"]["totalCount"] == expected
    assert edges_nodes(city["partnerCities"]) and edges_nodes(city["workingGroups"])


Check = Callable[[Data, AsyncConnection], Awaitable[None]]
CHECKS: dict[str, Check] = {
    "city": check_city,
    "funder-portal": check_funder_portal,
    "state-partner-portal": check_state_partner_portal,
    "city-map": check_city_map,
    "statistics": check_statistics,
    "search": check_search,
}

# Variables that make every level of an example non-empty on the synthetic data sets.
SCALE_VARIABLES = {
    "city": (
        "SELECT json_build_object('city', cities.slug) FROM cities "
        "JOIN local_networks ON local_networks.city_id = cities.id "
        "WHERE EXISTS (SELECT FROM city_partnerships WHERE city_id = cities.id) "
        "AND EXISTS (SELECT FROM working_group_members WHERE city_id = cities.id) "
        "AND EXISTS (SELECT FROM fundings WHERE network_id = local_networks.id) "
        "AND EXISTS (SELECT FROM measures WHERE network_id = local_networks.id) "
        "ORDER BY cities.id LIMIT 1"
    ),
    "funder-portal": (
        "SELECT json_build_object('funder', slug) FROM funders "
        "ORDER BY (SELECT count(*) FROM fundings WHERE funder_id = funders.id) DESC, id LIMIT 1"
    ),
    "state-partner-portal": (
        "SELECT json_build_object('state', state_code, 'activeFrom', '2000-01-01') FROM cities "
        "GROUP BY state_code ORDER BY count(*) DESC, state_code LIMIT 1"
    ),
    "city-map": (
        "SELECT json_build_object('lat', avg(latitude), 'lon', avg(longitude), 'radiusKm', 1000) "
        "FROM cities"
    ),
    "statistics": "SELECT json_build_object()",
    # A city of both data sets, a measure title and a funder's word: every kind on the page.
    "search": (
        "SELECT json_build_object('text', name || ' or Bürgerforum or Land', 'first', 100) "
        "FROM cities ORDER BY id LIMIT 1"
    ),
}
# The most SQL statements each example may issue: one per relation or computed field it asks
# for (a union asks for each of its kinds), whatever the size of the data.
# On the resolver path; a guarded field (e.g. `amountEur`) adds one statement per level it
# appears on: which of the level's rows the viewer may see it on.
MAX_STATEMENTS = {
    "city": 17,
    "funder-portal": 9,
    "state-partner-portal": 13,
    "city-map": 5,
    "statistics": 9,
    "search": 12,
}


def test_every_example_is_checked() -> None:
    names = {path.stem for path in EXAMPLES_DIR.glob("*.graphql")}
    assert names == CHECKS.keys() == SCALE_VARIABLES.keys() == MAX_STATEMENTS.keys()


@pytest.mark.parametrize("name", CHECKS)
async def test_example_answers_on_the_demo_data(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection, name: str
) -> None:
    body = await graphql(demo_client, example(name))
    assert "errors" not in body, body
    await CHECKS[name](body["data"], demo_connection)


async def statements_for(engine: AsyncEngine, name: str) -> int:
    """How many statements the example issues on the resolver path (the compiled path issues
    one, whatever the data; tests/test_compiled_path.py checks which path answers)."""
    async with engine.connect() as connection:
        variables = await scalar(connection, SCALE_VARIABLES[name])
    settings = replace(Settings.from_env(), compiled=False)
    app = create_app(sessions=session_factory(engine), settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        with counting_statements(engine) as statements:
            body = await graphql(client, example(name), variables)
    assert "errors" not in body, body
    return statements.count


@pytest.mark.parametrize("name", CHECKS)
async def test_statement_count_does_not_grow_with_the_data(
    scaled_database_urls: dict[str, str], name: str
) -> None:
    counts = {}
    for size, url in scaled_database_urls.items():
        async with engine_for(url) as engine:
            counts[size] = await statements_for(engine, name)
    assert counts["small"] == counts["large"] <= MAX_STATEMENTS[name], counts


def documented_queries(path: Path) -> list[str]:
    """The texts of the document's queries that need no variables: what a reader runs as is."""
    return [
        document.loc.source.body
        for document in graphql_documents(path)
        if document.loc
        and all(
            isinstance(node, OperationDefinitionNode)
            and node.operation == OperationType.QUERY
            and not node.variable_definitions
            for node in document.definitions
        )
    ]


@pytest.mark.parametrize(
    "query",
    [
        pytest.param(query, id=f"{where(path)}-{number}")
        for path in WALKTHROUGHS
        for number, query in enumerate(documented_queries(path), 1)
    ],
)
async def test_documented_query_answers_on_the_demo_data(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection, query: str
) -> None:
    """As the network office, which may read what any guide shows (the audit log too)."""
    async with sessions_on(demo_connection)() as session:
        office_key = await add_key(session, Role.ADMIN)
        await session.commit()
    demo_client.headers["Authorization"] = f"Bearer {office_key}"
    body = await graphql(demo_client, query)
    assert "errors" not in body, body


async def test_the_readmes_first_query_shows_the_network_off(
    demo_client: httpx.AsyncClient,
) -> None:
    """To the public: a city of a state with a state partner, its local network trisectoral,
    with partner cities and working groups."""
    body = await graphql(demo_client, documented_queries(README)[0])
    city = body["data"]["city"]
    assert city["state"]["partnership"]["institution"]
    assert city["localNetwork"]["composition"] == "TRISECTORAL"
    assert len(city["localNetwork"]["sectors"]) == 3
    assert edges_nodes(city["partnerCities"]) and edges_nodes(city["workingGroups"])
