"""What search and statistics read at the 10,000-city scale: plans, not timings.

The synthetic data set at the size the benchmark's upper scale has; the plans PostgreSQL
chooses there, from the statistics it gathered, must read indexes and bounded numbers of rows.
"""

import json
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest
from sqlalchemy import Select
from sqlalchemy.dialects import postgresql

from hub.database import asyncpg_dsn
from resolvers import statistics
from resolvers.pagination import Window
from resolvers.search import MAX_CANDIDATES, SearchText, search_statement
from tests.conftest import drop_database, synthetic_database

pytestmark = pytest.mark.slow

KEPT_FIGURES = (
    statistics.CITIES_BY_STATE,
    statistics.CITIES_BY_KIND,
    statistics.CITIES_BY_STATUS,
    statistics.ACTORS_BY_SECTOR,
    statistics.SECTOR_COMPOSITION,
    statistics.FUNDINGS_BY_FUNDER,
    statistics.FUNDINGS_BY_CONTRIBUTION_TYPE,
    statistics.FUNDINGS_BY_STATE,
    statistics.FUNDINGS_BY_THEME,
    statistics.FUNDINGS_BY_YEAR,
)

CITIES = 10_000
# The benchmark's search: a place name that many actors' names and descriptions carry.
PLACE_NAME = "Lindenfeld"


@pytest.fixture(scope="module")
async def scaled(server_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A connection to the synthetic data set of 10,000 cities, its statistics gathered."""
    url = await synthetic_database(server_url, CITIES)
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        await connection.execute("VACUUM (ANALYZE)")
        yield connection
    finally:
        await connection.close()
        await drop_database(server_url, url)


async def plan(connection: asyncpg.Connection, statement: Select[Any]) -> dict[str, Any]:
    """The executed plan of `statement` (EXPLAIN ANALYZE, as JSON)."""
    compiled = statement.compile(
        dialect=postgresql.asyncpg.dialect(), compile_kwargs={"render_postcompile": True}
    )
    parameters = [compiled.params[name] for name in compiled.positiontup or ()]
    explain = f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}"
    [found] = json.loads(await connection.fetchval(explain, *parameters))
    return found["Plan"]


def nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The node and every node below it."""
    yield node
    for child in node.get("Plans", ()):
        yield from nodes(child)


def search_plan(connection: asyncpg.Connection, text: str) -> Any:
    """The executed plan of the first page of search hits for `text`, with typo tolerance."""
    statement = search_statement(SearchText.parse(text), Window(0, 20, None), trigram=True)
    return plan(connection, statement)


async def test_search_for_a_place_name_reads_the_search_indexes(
    scaled: asyncpg.Connection,
) -> None:
    found = await search_plan(scaled, PLACE_NAME)

    scans = {
        node.get("Index Name") for node in nodes(found) if node["Node Type"] == "Bitmap Index Scan"
    }
    assert {"ix_search_cities_document", "ix_search_actors_document"} <= scans
    assert not any(
        node["Node Type"] == "Seq Scan" and node["Relation Name"] in {"cities", "actors"}
        for node in nodes(found)
    )


async def test_a_text_matching_thousands_of_rows_ranks_a_bounded_number(
    scaled: asyncpg.Connection,
) -> None:
    matching = await scaled.fetchval(
        "SELECT count(*) FROM actors WHERE search_document @@ to_tsquery('german', 'verein')"
    )
    assert matching > 10 * MAX_CANDIDATES

    found = await search_plan(scaled, "Verein")

    ranked = [node for node in nodes(found) if node["Node Type"] == "Append"]
    assert ranked and all(node["Actual Rows"] <= 8 * MAX_CANDIDATES for node in ranked)


async def test_a_state_s_statistics_read_only_the_kept_figures(
    scaled: asyncpg.Connection,
) -> None:
    for figure in KEPT_FIGURES:
        found = await plan(scaled, figure.statement([statistics.Scope(state_code="NW")]))

        read = {node["Relation Name"] for node in nodes(found) if "Relation Name" in node}
        assert read == {"statistics_figures"}
        assert all(node["Actual Rows"] <= 100 for node in nodes(found))
