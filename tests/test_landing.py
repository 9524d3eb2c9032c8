"""The landing page, the SDL, the documents it links and the outlines of its map, over HTTP."""

import json
import re
from html import unescape
from pathlib import Path
from typing import Any

import httpx

from hub.build_outlines import OUTLINES_FILE, rounded, simplified
from hub.documents import documents
from hub.graphiql import FIRST_QUERY
from tests.helpers import graphql

SDL_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
LINK = re.compile(r'(?:href|src)="(/[^"#]*)"')
CITY_QUERY = re.compile(r'data-city-query="([^"]*)"')
CITIES_BY_STATE = """{
  states { code cities { totalCount edges { node { name latitude longitude } } } }
}"""


async def test_landing_page_links_only_what_the_hub_serves(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    assert page.status_code == 200
    links = set(LINK.findall(page.text))
    assert {"/graphql", "/schema.graphql", "/static/landing.js"} <= links
    texts = {name for name in documents() if not name.endswith(".png")}
    assert {f"/docs/{name}" for name in texts} <= links
    for link in links:
        answer = await client.get(link, headers={"Accept": "text/html"})
        assert answer.status_code == 200, link


async def test_landing_page_runs_scripts_from_the_hub_only(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "<script>" not in page.text


async def test_sdl_is_the_checked_in_schema(client: httpx.AsyncClient) -> None:
    response = await client.get("/schema.graphql")
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text == SDL_FILE.read_text()


async def test_the_map_links_each_city_to_graphiqls_first_query(
    client: httpx.AsyncClient,
) -> None:
    page = await client.get("/")
    query = CITY_QUERY.search(page.text)
    assert query
    assert unescape(query[1]) == FIRST_QUERY.read_text()
    assert "Member cities" not in page.text


def outlines() -> dict[str, Any]:
    """The map's outlines as the hub serves them."""
    outlines: dict[str, Any] = json.loads(OUTLINES_FILE.read_text())
    return outlines


def bounds(rings: list[list[list[float]]]) -> tuple[float, float, float, float]:
    """West, south, east and north of a state's rings."""
    lons = [lon for ring in rings for lon, _ in ring]
    lats = [lat for ring in rings for _, lat in ring]
    return min(lons), min(lats), max(lons), max(lats)


async def test_the_outlines_are_credited_and_served(client: httpx.AsyncClient) -> None:
    served = await client.get("/static/germany.json")
    assert served.status_code == 200
    assert served.json() == outlines()
    assert "Natural Earth" in outlines()["credit"]
    assert "public domain" in outlines()["credit"]


async def test_every_city_lies_in_the_outline_of_its_state(
    demo_client: httpx.AsyncClient,
) -> None:
    states = (await graphql(demo_client, CITIES_BY_STATE))["data"]["states"]
    shapes = outlines()["states"]
    assert {state["code"] for state in states} == shapes.keys()
    assert sum(state["cities"]["totalCount"] for state in states) == 104
    for state in states:
        west, south, east, north = bounds(shapes[state["code"]])
        for edge in state["cities"]["edges"]:
            city = edge["node"]
            assert west <= city["longitude"] <= east, (state["code"], city)
            assert south <= city["latitude"] <= north, (state["code"], city)


def test_every_state_has_a_closed_outline_in_germany() -> None:
    for code, rings in outlines()["states"].items():
        assert rings, code
        assert all(len(ring) >= 4 and ring[0] == ring[-1] for ring in rings), code
        west, south, east, north = bounds(rings)
        assert 5.8 <= west < east <= 15.1, code
        assert 47.2 <= south < north <= 55.1, code


def test_outlines_keep_their_corners_and_drop_what_a_pixel_cannot_show() -> None:
    square = [(0.0, 0.0), (0.5, 0.001), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0), (0.0, 0.0)]
    assert simplified(square) == [square[0], *square[2:]]
    assert rounded([(6.12345, 50.12345), (6.12349, 50.12349)]) == [[6.123, 50.123]]
