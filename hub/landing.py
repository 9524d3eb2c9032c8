"""The pages around the API: the landing page at /, the SDL, the docs and the static files.

The landing page is plain HTML; hub/static/landing.js fills in its figures and draws its charts
and its map from the hub's own /graphql and hub/static/germany.json (built by
hub/build_outlines.py), so that nothing is loaded from elsewhere.
"""

from functools import cache
from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from hub.documents import document, documents
from hub.graphiql import FIRST_QUERY, STATIC_DIR
from schema import schema

# Scripts, styles and data only from the hub itself; no inline script at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Engagierte Stadt: the network's GraphQL hub</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/landing.css">
  <script src="/static/landing.js" defer></script>
</head>
<body>
<header>
  <h1>Engagierte Stadt</h1>
  <p>The GraphQL hub of the network of cities, municipalities and districts that strengthen
  civic engagement: local networks, the nationwide city network and its funders.</p>
  <nav aria-label="The API">
    <ul>
      <li><a href="/graphql">GraphiQL</a>: write and run queries, browse the schema</li>
      <li><a href="/schema.graphql">The schema (SDL)</a></li>
      <li><a href="#docs">Example queries and documentation</a></li>
    </ul>
  </nav>
</header>
<main>
  <section aria-labelledby="glance">
    <h2 id="glance">The network at a glance</h2>
    <p id="status" role="status">Loading the figures from <code>/graphql</code>…</p>
    <dl class="figures">
      <div><dt>Cities</dt><dd data-figure="cities">…</dd></div>
      <div><dt>Actors</dt><dd data-figure="actors">…</dd></div>
      <div><dt>Funders</dt><dd data-figure="funders">…</dd></div>
      <div><dt>Fundings</dt><dd data-figure="fundings">…</dd></div>
      <div><dt>Engaged people in Germany</dt><dd data-figure="engagedPeople">…</dd></div>
    </dl>
    <p data-figure="membership"></p>
    <p data-figure="engagedPeopleSource"></p>
    <figure class="map">
      <figcaption id="map-title">The cities on the map: each dot opens its city in GraphiQL
      <span class="legend"><span class="member-dot"></span> member
      <span class="former-dot"></span> former member</span></figcaption>
      <svg id="map" role="group" aria-labelledby="map-title"
        data-city-query="$city_query"></svg>
      <p class="credit" data-figure="outlinesCredit"></p>
    </figure>
    <figure>
      <figcaption id="cities-by-state">Cities per federal state</figcaption>
      <svg id="cities-by-state-chart" role="img" aria-labelledby="cities-by-state"></svg>
    </figure>
    <figure>
      <figcaption id="sector-composition">Local networks by how many sectors their actors
      come from <span data-figure="shares"></span></figcaption>
      <svg id="sector-composition-chart" role="img" aria-labelledby="sector-composition"></svg>
    </figure>
  </section>
  <section aria-labelledby="docs">
    <h2 id="docs">Example queries and documentation</h2>
    <p>The example queries are also open as tabs in <a href="/graphql">GraphiQL</a>.</p>
    <ul>
$documents
    </ul>
  </section>
</main>
</body>
</html>
"""


@cache
def landing_html() -> str:
    """The landing page, linking every text and example query; its map links GraphiQL's first
    query (hub.graphiql.FIRST_QUERY) for each city."""
    items = "\n".join(
        f'      <li><a href="/docs/{escape(name)}">{escape(name)}</a></li>'
        for name in documents()
        if not name.endswith(".png")
    )
    page = PAGE.replace("$city_query", escape(FIRST_QUERY.read_text()))
    return page.replace("$documents", items)


async def landing(request: Request) -> HTMLResponse:
    """The landing page."""
    return HTMLResponse(
        landing_html(), headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY}
    )


async def sdl(request: Request) -> PlainTextResponse:
    """The schema as SDL, the same text as the checked-in schema.graphql."""
    return PlainTextResponse(schema.as_str() + "\n")


routes: list[BaseRoute] = [
    Route("/", landing),
    Route("/schema.graphql", sdl),
    Route("/docs/{name:path}", document),
    Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
]
