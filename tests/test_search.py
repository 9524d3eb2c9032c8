"""Search over cities, actors, measures and funders: matching, ranking, paging, input errors,
bounded statements, the indexes, and the same API on a PostgreSQL without pg_trgm."""

import asyncio
import logging
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from hub import migrations
from hub.config import Settings
from hub.database import session_factory
from hub.demo.demo import build_demo
from hub.embedded import EmbeddedPostgres, NoPostgresAvailable, find_binaries
from hub.features import BASELINE, Features, detect
from hub.seeding import seed
from resolvers.pagination import Window
from resolvers.search import SearchText, search_statement
from schema.fields import MAX_PAGE_SIZE
from server import create_app
from tests.helpers import counting_statements, graphql

SEARCH = """
query Search($text: String!, $first: Int, $after: String) {
  search(text: $text, first: $first, after: $after) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges {
      rank
      node {
        __typename
        ... on City { name description }
        ... on Actor { name description }
        ... on Measure { name: title description }
        ... on Funder { name description }
      }
    }
  }
}
"""
EVERY_KIND = {"City", "Actor", "Measure", "Funder"}
TRIGRAM_LOG = "pg_trgm is installed: search tolerates typos in names"
NO_TRIGRAM_LOG = (
    "pg_trgm is not installed: search matches words and prefixes, without typo tolerance"
)
SEARCH_TABLES = {"cities": "name", "actors": "name", "measures": "title", "funders": "name"}

Data = dict[str, Any]


async def search(client: httpx.AsyncClient, text: str, **arguments: Any) -> Data:
    """The `search` connection for `text`, asserting it answered without errors."""
    body = await graphql(client, SEARCH, {"text": text, **arguments})
    assert "errors" not in body, body["errors"]
    return body["data"]["search"]


def hits(connection: Data) -> list[tuple[str, str]]:
    """The (type name, name) of each hit, best first."""
    return [(edge["node"]["__typename"], edge["node"]["name"]) for edge in connection["edges"]]


@pytest.fixture
async def demo_features(demo_connection: AsyncConnection) -> Features:
    """What the test server's demo database offers."""
    return await detect(demo_connection)


def read_path(compiled: bool) -> Settings:
    """The environment's settings, with the compiled read path on or off."""
    return replace(Settings.from_env(), compiled=compiled)


@pytest.fixture(params=[True, False], ids=["compiled", "resolvers"])
async def baseline_client(
    demo_engine: AsyncEngine, request: pytest.FixtureRequest
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the demo database, told that pg_trgm is missing (it only reads), on each
    read path."""
    app = create_app(
        sessions=session_factory(demo_engine), settings=read_path(request.param), features=BASELINE
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def test_a_word_finds_its_other_forms(demo_client: httpx.AsyncClient) -> None:
    found = await search(demo_client, "Ehrenamtliche", first=100)
    texts = [f"{edge['node']['name']} {edge['node']['description']}" for edge in found["edges"]]
    assert found["totalCount"] > 100
    assert all("ehrenamt" in text.lower() for text in texts)
    # German stemming: "Tag des Ehrenamts" and the like, without the word searched for.
    assert any("ehrenamtlich" not in text.lower() for text in texts)


async def test_the_beginning_of_a_word_finds_the_word(demo_client: httpx.AsyncClient) -> None:
    found = await search(demo_client, "Königs")
    assert hits(found)[0] == ("City", "Königswinter")


async def test_a_name_with_a_typo_finds_the_name(
    demo_client: httpx.AsyncClient, demo_features: Features
) -> None:
    if not demo_features.trigram:
        pytest.skip("the test server's PostgreSQL has no pg_trgm")
    found = await search(demo_client, "Königswintr")
    assert hits(found)[0] == ("City", "Königswinter")


async def test_the_exact_name_ranks_first(demo_client: httpx.AsyncClient) -> None:
    found = await search(demo_client, "Königswinter")
    ranks = [edge["rank"] for edge in found["edges"]]
    assert hits(found)[0] == ("City", "Königswinter")
    assert ranks == sorted(ranks, reverse=True) and ranks[0] > ranks[1]
    assert all("Königswinter" in name for _, name in hits(found)[1:10])


async def test_one_search_finds_every_kind(demo_client: httpx.AsyncClient) -> None:
    found = await search(demo_client, "Weinheim")
    assert {kind for kind, _ in hits(found)} == EVERY_KIND


async def test_a_short_name_finds_its_funder(demo_client: httpx.AsyncClient) -> None:
    found = await search(demo_client, "DSEE")
    assert hits(found) == [("Funder", "Deutsche Stiftung für Engagement und Ehrenamt")]


async def test_pages_follow_each_other_in_rank_order(demo_client: httpx.AsyncClient) -> None:
    whole = await search(demo_client, "Familie", first=10)
    first = await search(demo_client, "Familie", first=4)
    second = await search(demo_client, "Familie", first=6, after=first["pageInfo"]["endCursor"])

    assert whole["totalCount"] == first["totalCount"] == second["totalCount"] > 10
    assert first["pageInfo"]["hasNextPage"] and second["pageInfo"]["hasNextPage"]
    assert first["edges"] + second["edges"] == whole["edges"]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"text": ""}, "The search text is empty."),
        ({"text": " \t\n "}, "The search text is empty."),
        ({"text": "x" * 201}, "The search text is longer than 200 characters."),
        ({"text": "?!"}, "The search text holds no word (letters or digits)."),
        ({"text": "Weinheim", "first": MAX_PAGE_SIZE + 1}, f"higher than {MAX_PAGE_SIZE}"),
    ],
    ids=["empty", "whitespace", "too-long", "no-word", "page-too-large"],
)
async def test_bad_arguments_are_the_clients_error(
    demo_client: httpx.AsyncClient, arguments: Data, message: str
) -> None:
    body = await graphql(demo_client, SEARCH, arguments)
    [error] = body["errors"]
    assert message in error["message"]
    assert error["extensions"] == {"code": "BAD_USER_INPUT"}


async def statement_counts(client: httpx.AsyncClient, engine: AsyncEngine) -> list[int]:
    """How many statements a search with nested fields sends for 24 hits and for 100."""
    query = """
    query Search($text: String!) {
      search(text: $text, first: 100) {
        totalCount
        edges { node { __typename
          ... on City { state { code } }
          ... on Actor { sector { code } }
          ... on Measure { localNetwork { name } }
          ... on Funder { name } } }
      }
    }
    """
    counts, sizes = [], []
    for text in ("Weinheim", "Familie"):
        with counting_statements(engine) as statements:
            body = await graphql(client, query, {"text": text})
        edges = body["data"]["search"]["edges"]
        assert {edge["node"]["__typename"] for edge in edges} == EVERY_KIND
        counts.append(statements.count)
        sizes.append(len(edges))
    assert sizes == [24, 100]
    return counts


async def test_resolver_statements_do_not_grow_with_the_hits(
    demo_resolver_client: httpx.AsyncClient, demo_engine: AsyncEngine
) -> None:
    """One ranking statement, one per kind on the page, one per nested field: no N+1."""
    # The ranking; cities, actors, measures, funders; states, sectors, local networks.
    assert await statement_counts(demo_resolver_client, demo_engine) == [1 + 4 + 3] * 2


async def test_the_compiled_search_is_one_statement(
    demo_client: httpx.AsyncClient, demo_engine: AsyncEngine
) -> None:
    assert await statement_counts(demo_client, demo_engine) == [1, 1]


async def test_the_search_statement_uses_the_search_indexes(
    demo_connection: AsyncConnection, demo_features: Features
) -> None:
    window = Window(start=0, end=10, last=None)
    statement = search_statement(SearchText.parse("Königs"), window, demo_features.trigram)
    compiled = statement.compile(dialect=demo_connection.dialect)
    parameters = tuple(compiled.params[name] for name in compiled.positiontup or ())
    # The demo tables are small enough for sequential scans; forbid them to see the indexes.
    await demo_connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    plan = await demo_connection.exec_driver_sql(f"EXPLAIN {compiled}", parameters)

    used = set(re.findall(r"Index Scan on (ix_search_\w+)", "\n".join(row[0] for row in plan)))
    expected = {f"ix_search_{table}_document" for table in SEARCH_TABLES}
    if demo_features.trigram:
        expected |= {f"ix_search_{table}_{name}_trigram" for table, name in SEARCH_TABLES.items()}
    assert used == expected


async def test_without_pg_trgm_search_matches_words_and_prefixes_only(
    baseline_client: httpx.AsyncClient, demo_engine: AsyncEngine
) -> None:
    with counting_statements(demo_engine) as statements:
        prefix = await search(baseline_client, "Königs")
        stemmed = await search(baseline_client, "Ehrenamtliche")
        typo = await search(baseline_client, "Königswintr")

    assert hits(prefix)[0] == ("City", "Königswinter")
    assert stemmed["totalCount"] > 100
    assert (typo["totalCount"], typo["edges"]) == (0, [])
    assert not any("similarity(" in sql or " <% " in sql for sql in statements.statements)


async def test_with_pg_trgm_search_asks_for_similar_names(
    demo_client: httpx.AsyncClient, demo_engine: AsyncEngine, demo_features: Features
) -> None:
    if not demo_features.trigram:
        pytest.skip("the test server's PostgreSQL has no pg_trgm")
    with counting_statements(demo_engine) as statements:
        await search(demo_client, "Königs")
    assert "similarity(" in statements.statements[0] and " <% " in statements.statements[0]


async def test_startup_detects_pg_trgm_and_says_what_search_can_do(
    demo_database_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("DATABASE_URL", demo_database_url)
    app = create_app()
    with caplog.at_level(logging.INFO, logger="hub.features"):
        async with app.router.lifespan_context(app):
            features = app.state.features

    said = [record.getMessage() for record in caplog.records if record.name == "hub.features"]
    assert said == [TRIGRAM_LOG if features.trigram else NO_TRIGRAM_LOG]


@pytest.fixture
def server_without_pg_trgm() -> Iterator[str]:
    """The URL of a PostgreSQL without contrib extensions: the pgserver wheel's, started afresh."""
    try:
        binaries = find_binaries("pgserver")
    except NoPostgresAvailable:
        pytest.skip("no pgserver PostgreSQL binaries on this machine")
    # Not pytest's tmp_path: PostgreSQL runs as another user when the tests run as root.
    workdir = Path(tempfile.mkdtemp(prefix="ehub-search-", dir="/tmp"))
    workdir.chmod(0o755)
    server = EmbeddedPostgres(workdir / "data", binaries)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.mark.slow
async def test_search_works_on_a_postgresql_without_pg_trgm(
    server_without_pg_trgm: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Migrate, seed, start and search where pg_trgm cannot be installed."""
    url = server_without_pg_trgm
    monkeypatch.setenv("DATABASE_URL", url)
    app = create_app()
    with caplog.at_level(logging.INFO):
        await asyncio.to_thread(migrations.upgrade, url)
        await seed(url, build_demo)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
                prefix = await search(client, "Königs")
                stemmed = await search(client, "Ehrenamtliche")
                typo = await search(client, "Königswintr")

    assert app.state.features == Features(trigram=False)
    assert "pg_trgm is not available: no trigram indexes" in caplog.text
    assert NO_TRIGRAM_LOG in caplog.text
    assert hits(prefix)[0] == ("City", "Königswinter")
    assert stemmed["totalCount"] > 100
    assert typo["totalCount"] == 0
