"""The read API on the demo data: Relay pagination and nodes, filters, traversals, debug figures."""

import base64
from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config import Settings
from hub.database import session_factory
from server import create_app
from tests.helpers import graphql


def nodes(connection: dict[str, Any]) -> list[dict[str, Any]]:
    """The nodes of a connection's edges."""
    return [edge["node"] for edge in connection["edges"]]


async def cities_page(client: httpx.AsyncClient, arguments: str) -> dict[str, Any]:
    """One page of the cities connection, by name."""
    query = f"""{{ cities({arguments}) {{ totalCount
        pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
        edges {{ cursor node {{ name }} }} }} }}"""
    body = await graphql(client, query)
    assert "errors" not in body, body
    return body["data"]["cities"]


async def test_forward_pagination_walks_all_cities_once(demo_client: httpx.AsyncClient) -> None:
    seen: list[str] = []
    page = await cities_page(demo_client, "first: 40")
    while True:
        seen += [node["name"] for node in nodes(page)]
        if not page["pageInfo"]["hasNextPage"]:
            break
        page = await cities_page(
            demo_client, f'first: 40, after: "{page["pageInfo"]["endCursor"]}"'
        )
        assert page["pageInfo"]["hasPreviousPage"]
    assert len(seen) == len(set(seen)) == page["totalCount"] == 104
    assert seen == sorted(seen)


async def test_backward_pagination_mirrors_forward(demo_client: httpx.AsyncClient) -> None:
    forward = await cities_page(demo_client, "first: 5")
    last_two = await cities_page(demo_client, "last: 2")
    assert [node["name"] for node in nodes(last_two)][-1] == "Zwickau"
    assert last_two["pageInfo"] == {
        "hasNextPage": False,
        "hasPreviousPage": True,
        "startCursor": last_two["edges"][0]["cursor"],
        "endCursor": last_two["edges"][1]["cursor"],
    }
    before_fifth = await cities_page(
        demo_client, f'last: 2, before: "{forward["edges"][4]["cursor"]}"'
    )
    assert nodes(before_fifth) == nodes(forward)[2:4]


async def test_empty_page_still_knows_the_total(demo_client: httpx.AsyncClient) -> None:
    page = await cities_page(demo_client, "first: 0")
    assert (page["totalCount"], page["edges"], page["pageInfo"]["hasNextPage"]) == (104, [], True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ("first: 101", "Argument 'first' cannot be higher than 100."),
        ("last: 500", "Argument 'last' cannot be higher than 100."),
        ("first: -1", "Argument 'first' must be a non-negative integer."),
        (
            'after: "bm90LWEtY3Vyc29y"',
            "Argument 'after' is not a cursor of this API; take "
            "cursors from a connection's edges or pageInfo.",
        ),
        (
            'before: "YXJyYXljb25uZWN0aW9uOng="',
            "Argument 'before' is not a cursor of this API; "
            "take cursors from a connection's edges or pageInfo.",
        ),
    ],
)
async def test_bad_page_arguments_are_clear_errors(
    demo_client: httpx.AsyncClient, arguments: str, message: str
) -> None:
    body = await graphql(demo_client, f"{{ cities({arguments}) {{ totalCount }} }}")
    assert body["errors"][0]["message"] == message
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_nodes_round_trip_through_global_ids(demo_client: httpx.AsyncClient) -> None:
    body = await graphql(
        demo_client,
        '{ city(slug: "koenigswinter") { id } state(code: "nw") { id } sectors { id code } }',
    )
    city_id, state_id = body["data"]["city"]["id"], body["data"]["state"]["id"]
    assert base64.b64decode(state_id) == b"State:NW"
    unknown = base64.b64encode(b"City:999999").decode()
    query = """query($ids: [ID!]!) { nodes(ids: $ids) {
        __typename ... on City { name } ... on State { code } } }"""
    found = await graphql(demo_client, query, {"ids": [city_id, state_id, unknown]})
    assert found["data"]["nodes"] == [
        {"__typename": "City", "name": "Königswinter"},
        {"__typename": "State", "code": "NW"},
        None,
    ]
    one = await graphql(demo_client, f'{{ node(id: "{city_id}") {{ id }} }}')
    assert one["data"]["node"] == {"id": city_id}


async def test_city_filters_combine(demo_client: httpx.AsyncClient) -> None:
    query = """{ cities(filter: {states: ["NW", "rp"], kinds: [CITY],
                 sectorsPresent: [CIVIL_SOCIETY, BUSINESS], joinedFrom: "2015-01-01"},
               orderBy: POPULATION_DESC) {
        edges { node { name population state { code } kind joinedOn
          localNetwork { sectors { code } } } } } }"""
    cities = nodes((await graphql(demo_client, query))["data"]["cities"])
    assert cities
    populations = [city["population"] for city in cities if city["population"] is not None]
    assert populations == sorted(populations, reverse=True)
    for city in cities:
        assert city["state"]["code"] in {"NW", "RP"} and city["kind"] == "CITY"
        assert {"CIVIL_SOCIETY", "BUSINESS"} <= {s["code"] for s in city["localNetwork"]["sectors"]}


async def test_near_finds_cities_within_the_radius(demo_client: httpx.AsyncClient) -> None:
    query = """{ cities(filter: {near: {lat: 50.6833, lon: 7.1833, radiusKm: 25}}) {
        edges { node { name } } } }"""
    names = {node["name"] for node in nodes((await graphql(demo_client, query))["data"]["cities"])}
    assert "Königswinter" in names
    assert "Zwickau" not in names


async def test_composition_filter_matches_the_composition_field(
    demo_client: httpx.AsyncClient,
) -> None:
    query = """{ cities(first: 100, filter: {compositions: [MULTISECTORAL, BISECTORAL]}) {
        totalCount edges { node { localNetwork { composition sectorCount } } } } }"""
    cities = (await graphql(demo_client, query))["data"]["cities"]
    assert cities["totalCount"] == 26
    for city in nodes(cities):
        network = city["localNetwork"]
        assert network["composition"] in {"MULTISECTORAL", "BISECTORAL"}
        assert (network["sectorCount"] > 3) == (network["composition"] == "MULTISECTORAL")


@pytest.mark.parametrize(
    ("filter_text", "message"),
    [
        ('{states: ["XX"]}', "Unknown state codes ['XX']"),
        ("{near: {lat: 50, lon: 7, radiusKm: 0}}", "radiusKm must be more than 0"),
        ("{near: {lat: 95, lon: 7, radiusKm: 5}}", "lat must lie in [-90, 90]"),
        ('{joinedFrom: "2020-01-01", joinedUntil: "2019-01-01"}', "lies before the start"),
    ],
)
async def test_invalid_filter_values_are_clear_errors(
    demo_client: httpx.AsyncClient, filter_text: str, message: str
) -> None:
    body = await graphql(demo_client, f"{{ cities(filter: {filter_text}) {{ totalCount }} }}")
    assert message in body["errors"][0]["message"]
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_funding_filters(demo_client: httpx.AsyncClient) -> None:
    query = """{ fundings(first: 100, filter: {contributionTypes: [FINANCIAL],
                 recipientStates: ["RP"], minAmountEur: "10000", activeFrom: "2021-01-01"},
               orderBy: AMOUNT_DESC) {
        totalCount edges { node { amountEur endsOn city { state { code } } } } } }"""
    fundings = nodes((await graphql(demo_client, query))["data"]["fundings"])
    assert fundings
    amounts = [float(funding["amountEur"]) for funding in fundings]
    assert min(amounts) >= 10000 and amounts == sorted(amounts, reverse=True)
    for funding in fundings:
        assert funding["endsOn"] is None or funding["endsOn"] >= "2021-01-01"


def leaves(data: Any, key: str) -> list[Any]:
    """Every value under `key` anywhere in a response's data."""
    if isinstance(data, list):
        return [leaf for item in data for leaf in leaves(item, key)]
    if not isinstance(data, dict):
        return []
    found = [data[key]] if key in data else []
    return found + [leaf for value in data.values() for leaf in leaves(value, key)]


# Each traversal the issue names, in one query, with the field at its far end.
TRAVERSALS = {
    "funder → fundings → recipient city → state → state partner": (
        """{ funder(slug: "land-rheinland-pfalz") { fundings(first: 1) { edges { node {
            city { state { partnership { institution } } } } } } } }""",
        "institution",
    ),
    "sector → actors → local networks → cities": (
        """{ sectors { actors(first: 2) { edges { node {
            localNetwork { city { name } } } } } } }""",
        "name",
    ),
    "state → cities → networks → measures → fundings → funders": (
        """{ state(code: "RP") { cities(first: 3) { edges { node { localNetwork {
            measures(first: 3) { edges { node { fundings { edges { node {
              funder { slug } } } } } } } } } } } } }""",
        "slug",
    ),
    "city → partner cities → their funders": (
        """{ cities(first: 30) { edges { node { partnerCities { edges { node {
            funders(first: 3) { edges { node { slug } } } } } } } } } }""",
        "slug",
    ),
    "working group → member cities → sector composition": (
        """{ workingGroups { edges { node { memberCities(first: 5) { edges { node {
            localNetwork { composition } } } } } } } }""",
        "composition",
    ),
    "theme → measures, funders, groups": (
        """{ themes { edges { node { measures(first: 2) { totalCount }
            funders { totalCount } workingGroups { edges { node { slug } } } } } } }""",
        "slug",
    ),
}


@pytest.mark.parametrize(("query", "leaf"), TRAVERSALS.values(), ids=TRAVERSALS.keys())
async def test_traversal_in_one_query(
    demo_client: httpx.AsyncClient, query: str, leaf: str
) -> None:
    body = await graphql(demo_client, query)
    assert "errors" not in body, body
    assert [value for value in leaves(body["data"], leaf) if value], body


async def test_funder_to_state_partner_reaches_the_partnership(
    demo_client: httpx.AsyncClient,
) -> None:
    query, _ = TRAVERSALS["funder → fundings → recipient city → state → state partner"]
    body = await graphql(demo_client, query)
    funding = body["data"]["funder"]["fundings"]["edges"][0]["node"]
    assert funding["city"]["state"]["partnership"]["institution"] == "Staatskanzlei Rheinland-Pfalz"


async def test_debug_figures_in_extensions(demo_engine: AsyncEngine) -> None:
    settings = replace(Settings.from_env(), debug=True, compiled=False)
    app = create_app(sessions=session_factory(demo_engine), settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        body = await graphql(client, "{ states { code cities { totalCount } } }")
    debug = body["extensions"]["debug"]
    assert debug["sqlStatements"] == 2
    assert debug["serverTimeMs"] > 0


async def test_no_debug_figures_by_default(demo_client: httpx.AsyncClient) -> None:
    body = await graphql(demo_client, "{ states { code } }")
    assert body["extensions"].keys() == {"cost"}


async def test_graphiql_offers_the_example_queries(demo_client: httpx.AsyncClient) -> None:
    page = (await demo_client.get("/graphql", headers={"Accept": "text/html"})).text
    assert "defaultTabs" in page
    assert "query FunderPortal" in page
