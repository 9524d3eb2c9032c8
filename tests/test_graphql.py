"""The first schema answers over the real ASGI app, from the demo data."""

from dataclasses import replace

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from hub.config import Settings
from hub.database import session_factory
from server import create_app
from tests.helpers import counting_statements, graphql

STATE_CODES = [
    "BB",
    "BE",
    "BW",
    "BY",
    "HB",
    "HE",
    "HH",
    "MV",
    "NI",
    "NW",
    "RP",
    "SH",
    "SL",
    "SN",
    "ST",
    "TH",
]


async def test_states_lists_the_16_federal_states(demo_client: httpx.AsyncClient) -> None:
    body = await graphql(demo_client, "{ states { code isoCode name capital } }")
    states = body["data"]["states"]
    assert [state["code"] for state in states] == STATE_CODES
    assert {"code": "NW", "isoCode": "DE-NW", "name": "Nordrhein-Westfalen"}.items() <= next(
        state for state in states if state["code"] == "NW"
    ).items()


async def test_states_list_their_demo_cities(demo_client: httpx.AsyncClient) -> None:
    body = await graphql(demo_client, "{ states { code cities { totalCount } } }")
    cities_per_state = {s["code"]: s["cities"]["totalCount"] for s in body["data"]["states"]}
    assert cities_per_state["NW"] == 17
    assert cities_per_state["HB"] == 0
    assert sum(cities_per_state.values()) == 104


async def test_city_by_slug_with_state_network_and_actor_sectors(
    demo_client: httpx.AsyncClient,
) -> None:
    query = """
    query City($slug: String!) {
      city(slug: $slug) {
        name slug kind status latitude longitude
        state { code name }
        localNetwork { name actors { edges { node { name role sector { code labelDe } } } } }
      }
    }
    """
    body = await graphql(demo_client, query, {"slug": "koenigswinter"})
    city = body["data"]["city"]
    assert city["name"] == "Königswinter"
    assert city["state"] == {"code": "NW", "name": "Nordrhein-Westfalen"}
    assert (round(city["latitude"], 2), round(city["longitude"], 2)) == (50.68, 7.18)
    actors = [edge["node"] for edge in city["localNetwork"]["actors"]["edges"]]
    assert [actor["role"] for actor in actors].count("COORDINATOR") == 1
    assert {actor["sector"]["code"] for actor in actors} >= {"CIVIL_SOCIETY"}


async def test_unknown_city_is_null(demo_client: httpx.AsyncClient) -> None:
    body = await graphql(demo_client, '{ city(slug: "atlantis") { name } }')
    assert body["data"] == {"city": None}
    assert "errors" not in body


async def test_cities_filter_by_state_code_in_any_case(demo_client: httpx.AsyncClient) -> None:
    query = '{ cities(filter: {states: ["st"]}) { edges { node { slug state { code } } } } }'
    body = await graphql(demo_client, query)
    cities = [edge["node"] for edge in body["data"]["cities"]["edges"]]
    assert len(cities) == 9
    assert {"dessau-rosslau", "lutherstadt-wittenberg"} <= {city["slug"] for city in cities}
    assert {city["state"]["code"] for city in cities} == {"ST"}


@pytest.mark.parametrize(("compiled", "expected"), [(False, 5), (True, 1)])
async def test_nested_query_issues_one_statement_per_level(
    demo_engine: AsyncEngine, compiled: bool, expected: int
) -> None:
    """No N+1: the statement count depends on the query's shape, not on the 104 cities.

    The resolver path issues one per level (states, cities, networks, actors, sectors), the
    compiled path one in all.
    """
    query = """
    { states { cities { edges { node { localNetwork { actors(first: 100) {
        edges { node { name sector { code } } } } } } } } } }
    """
    settings = replace(Settings.from_env(), compiled=compiled)
    app = create_app(sessions=session_factory(demo_engine), settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        with counting_statements(demo_engine) as statements:
            body = await graphql(client, query)
    cities = [edge["node"] for s in body["data"]["states"] for edge in s["cities"]["edges"]]
    assert len(cities) == 104
    assert statements.count == expected


async def test_sibling_fields_share_one_session_safely(demo_engine: AsyncEngine) -> None:
    """As in production, sessions come from the engine; sibling fields resolve concurrently."""
    app = create_app(sessions=session_factory(demo_engine))
    transport = httpx.ASGITransport(app=app)
    query = """
    { states { code }
      cities(first: 100) { edges { node { slug state { code } localNetwork { name } } } }
      city(slug: "koenigswinter") { name } }
    """
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        body = await graphql(client, query)
    assert "errors" not in body
    assert len(body["data"]["cities"]["edges"]) == 100
