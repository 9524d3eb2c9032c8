"""The landing page, the SDL and the documents it links, over HTTP."""

import re
from pathlib import Path

import httpx

from hub.documents import documents

SDL_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
LINK = re.compile(r'(?:href|src)="(/[^"#]*)"')


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
