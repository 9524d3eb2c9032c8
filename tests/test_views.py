"""Saved views: registered queries served at /views/<name> as JSON or CSV, with ETags."""

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import parse
from hypothesis import given
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.view_csv import csv_of, table_of
from hub.views import view_problems
from models import City, Role, SavedView
from schema import schema
from tests.conftest import sessions_on
from tests.factories import add_key
from tests.generated_queries import queries
from tests.helpers import property_settings
from tests.test_cli import environment, hub

CITIES = """query CitiesOfAState($state: String!, $first: Int) {
  state(code: $state) { cities(first: $first) { edges { node { slug name state { code } } } } }
}"""
CONTACTS = '{ city(slug: "dessau-rosslau") { name contacts { email } } }'
AUDIT = "{ auditLog { edges { node { subject } } } }"
# Saved while the schema had a field it no longer has.
STALE = "{ states { code mayor } }"


async def save_views(connection: AsyncConnection, **queries: str) -> None:
    """Views by name, in the test's transaction, saved as they are (unchecked)."""
    async with sessions_on(connection)() as session:
        for name, query in queries.items():
            session.add(SavedView(name=name, query=query, description=f"The {name}."))
        await session.commit()


@pytest.fixture
async def views(demo_connection: AsyncConnection) -> None:
    """Two views in the test's transaction."""
    await save_views(demo_connection, **{"cities-of-a-state": CITIES, "contacts": CONTACTS})


async def test_a_view_answers_as_graphql_does(demo_client: httpx.AsyncClient, views: None) -> None:
    response = await demo_client.get("/views/cities-of-a-state?state=NW&first=3")
    direct = await demo_client.post(
        "/graphql", json={"query": CITIES, "variables": {"state": "NW", "first": 3}}
    )
    assert response.status_code == 200
    assert response.json()["data"] == direct.json()["data"]
    assert len(response.json()["data"]["state"]["cities"]["edges"]) == 3


async def test_a_view_as_csv_has_a_row_per_node(
    demo_client: httpx.AsyncClient, views: None
) -> None:
    for request in (
        demo_client.get("/views/cities-of-a-state?state=NW&first=3&format=csv"),
        demo_client.get(
            "/views/cities-of-a-state?state=NW&first=3", headers={"Accept": "text/csv"}
        ),
    ):
        response = await request
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert len(rows) == 3
        assert set(rows[0]) == {"slug", "name", "state.code"}
        assert {row["state.code"] for row in rows} == {"NW"}


async def test_an_unchanged_view_is_not_sent_again(
    demo_client: httpx.AsyncClient, views: None
) -> None:
    first = await demo_client.get("/views/cities-of-a-state?state=NW")
    again = await demo_client.get(
        "/views/cities-of-a-state?state=NW", headers={"If-None-Match": first.headers["ETag"]}
    )
    assert (again.status_code, again.content) == (304, b"")
    other = await demo_client.get("/views/cities-of-a-state?state=BY")
    assert other.headers["ETag"] != first.headers["ETag"]


async def test_views_keep_field_privacy(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection, views: None
) -> None:
    public = (await demo_client.get("/views/contacts")).json()
    assert public["data"]["city"]["contacts"] is None
    assert public["errors"][0]["extensions"] == {"code": "FORBIDDEN"}
    async with sessions_on(demo_connection)() as session:
        admin = await add_key(session, Role.ADMIN)
        await session.commit()
    headers = {"Authorization": f"Bearer {admin}"}
    office = (await demo_client.get("/views/contacts", headers=headers)).json()
    assert "errors" not in office and office["data"]["city"]["contacts"]


async def test_a_views_errors_come_in_the_order_graphql_gives_them(
    demo_resolver_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    """Fields resolved at once fail in either order; a view's body, and so its ETag, is one
    body all the same (tests/test_http_protocol.py)."""
    query = """{
      a: city(slug: "apolda") {
        localNetwork { actors(first: 2) { edges { node { contacts { fullName } } } } }
      }
      b: city(slug: "apolda") { contacts { fullName } }
    }"""
    await save_views(demo_connection, contacts=query)
    view = (await demo_resolver_client.get("/views/contacts")).json()
    direct = (await demo_resolver_client.post("/graphql", json={"query": query})).json()
    assert [error["path"][0] for error in view["errors"]] == ["a", "a", "b"]
    assert view["errors"] == direct["errors"]


@pytest.mark.parametrize("as_csv", [False, True], ids=["json", "csv"])
@pytest.mark.parametrize(
    ("path", "headers", "status", "code"),
    [
        ("/views/cities-of-a-state", {}, 400, "BAD_USER_INPUT"),  # a variable missing
        ("/views/cities-of-a-state?state=NW&first=three", {}, 400, "BAD_USER_INPUT"),
        ("/views/cities-of-a-state?state=NW&stat=NW", {}, 400, "BAD_REQUEST"),  # misspelt
        ("/views/cities-of-a-state?state=NW&format=xlsx", {}, 400, "BAD_REQUEST"),
        ("/views/cities-of-a-state?state=NW", {"Accept": "application/xml"}, 406, "NOT_ACCEPTABLE"),
        ("/views/stale", {}, 400, "GRAPHQL_VALIDATION_FAILED"),  # the schema changed since
        ("/views/nothing-here", {}, 404, "NOT_FOUND"),
    ],
    ids=[
        "missing-variable",
        "wrong-type",
        "unknown-parameter",
        "unknown-format",
        "unacceptable",
        "stale-view",
        "unknown-view",
    ],
)
async def test_a_view_refuses_a_request_it_cannot_run_with_a_coded_json_error(
    demo_client: httpx.AsyncClient,
    demo_connection: AsyncConnection,
    views: None,
    path: str,
    headers: dict[str, str],
    status: int,
    code: str,
    as_csv: bool,
) -> None:
    await save_views(demo_connection, stale=STALE)
    if as_csv:
        headers = {"Accept": "text/csv"} | headers
    response = await demo_client.get(path, headers=headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == code
    assert "data" not in response.json()
    assert "\n" not in error["message"] and "Traceback" not in error["message"]


async def test_a_refusal_says_what_to_send_instead(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection, views: None
) -> None:
    await save_views(demo_connection, stale=STALE)

    async def message(path: str) -> str:
        return str((await demo_client.get(path)).json()["errors"][0]["message"])

    assert "it takes state, first, format" in await message("/views/cities-of-a-state?stat=NW")
    assert "json or csv" in await message("/views/cities-of-a-state?state=NW&format=xml")
    assert "GET /views lists the views" in await message("/views/nothing-here")
    stale = await message("/views/stale")
    assert "must save it again" in stale and "mayor" in stale


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{ states { code ", "Must be GraphQL"),
        ('mutation { removeTheme(id: "x") { removedId } }', "one query operation"),
        ("{ states { mayor } }", "valid in the schema"),
        ("", "Must not be blank"),
    ],
)
def test_only_valid_queries_can_be_saved(text: str, reason: str) -> None:
    [problem] = view_problems({"name": "view", "query": text}, schema._schema)
    assert problem.path == ("input", "query") and reason in problem.message


def test_views_are_saved_and_removed_with_the_command_line(empty_url: str, tmp_path: Path) -> None:
    env = environment(DATABASE_URL=empty_url)
    query = tmp_path / "cities.graphql"
    query.write_text(CITIES)
    saved = hub("views", "save", "cities-of-a-state", str(query), env=env)
    assert saved.returncode == 0, saved.stderr
    assert hub("views", "save", "cities-of-a-state", str(query), env=env).returncode == 0
    query.write_text("{ states { mayor } }")
    refused = hub("views", "save", "Broken", str(query), env=env)
    assert refused.returncode == 1
    assert "name: Must be lower-case" in refused.stderr
    assert "query: Must be valid in the schema" in refused.stderr
    assert hub("views", "remove", "cities-of-a-state", env=env).returncode == 0
    gone = hub("views", "remove", "cities-of-a-state", env=env)
    assert gone.returncode == 1 and "no view is named" in gone.stderr


async def test_views_are_charged_to_the_rate_limit_budget(
    demo_client: httpx.AsyncClient, views: None
) -> None:
    response = await demo_client.get("/views/cities-of-a-state?state=NW&first=3")
    assert int(response.headers["X-RateLimit-Remaining"]) < int(
        response.headers["X-RateLimit-Limit"]
    )


# Funding totals of the states a funder's fundings reach, by theme: a view of grouped figures.
TOTALS = """query Totals($funders: [String!], $by: [FundingDimension!], $above: Decimal) {
  fundings(filter: {funders: $funders}) {
    aggregates(groupBy: $by, having: [{function: SUM, field: AMOUNT_EUR, gt: $above}],
      orderBy: [{function: SUM, field: AMOUNT_EUR}]) {
      groups { key { state theme } count sum { amountEur } } } } }"""

# Views whose answers hold no rows for some variables: a filter that matches nothing, a state
# that does not exist, a page of nothing; each with variables that give rows, and without.
EMPTY_AND_FULL = [
    (
        """query Matching($text: String) { cities(filter: {text: $text}) { totalCount
        edges { cursor node { slug name population localNetwork { name
        actors(first: 2) { totalCount } } } } } }""",
        {"text": "Dessau"},
        {"text": "nothing-is-called-like-this"},
    ),
    (CITIES, {"state": "NW"}, {"state": "XX"}),
    (
        """query Cities($state: String!) { state(code: $state) { name
        cities { edges { node { ...named contacts { email } } } } } }
        fragment named on City { slug label: name }""",
        {"state": "ST"},
        {"state": "XX"},
    ),
    (
        "query One($slug: String!) { city(slug: $slug) { name state { code } } }",
        {"slug": "dessau-rosslau"},
        {"slug": "atlantis"},
    ),
    (TOTALS, {"funders": '["koerber-stiftung"]'}, {"funders": '["nobody"]', "by": '["STATE"]'}),
]


@pytest.mark.parametrize(("query", "full", "empty"), EMPTY_AND_FULL)
async def test_the_csv_columns_follow_from_the_query_not_from_the_rows(
    demo_client: httpx.AsyncClient,
    demo_connection: AsyncConnection,
    query: str,
    full: dict[str, str],
    empty: dict[str, str],
) -> None:
    await save_views(demo_connection, view=query)
    answers = [
        await demo_client.get("/views/view", params=variables | {"format": "csv"})
        for variables in (full, empty)
    ]
    [with_rows, without_rows] = [list(csv.reader(io.StringIO(a.text))) for a in answers]
    assert [a.status_code for a in answers] == [200, 200]
    assert len(with_rows) > 1
    assert with_rows[0] == without_rows[0]
    assert all(len(row) == len(with_rows[0]) for row in with_rows + without_rows)


async def test_a_connection_is_a_row_per_node_whose_fields_are_its_own_columns(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    query, full, _ = EMPTY_AND_FULL[0]
    await save_views(demo_connection, view=query)
    answer = await demo_client.get("/views/view", params=full | {"format": "csv"})
    [header, *rows] = list(csv.reader(io.StringIO(answer.text)))
    assert header == [
        "cursor",
        "slug",
        "name",
        "population",
        "localNetwork.name",
        "localNetwork.actors.totalCount",
    ]
    assert ["dessau-rosslau", "Dessau-Roßlau"] in [row[1:3] for row in rows]


async def test_a_view_of_aggregates_is_a_row_per_group(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection
) -> None:
    await save_views(demo_connection, totals=TOTALS)
    variables = {"by": ["STATE", "THEME"], "above": "1000"}
    direct = await demo_client.post("/graphql", json={"query": TOTALS, "variables": variables})
    groups = direct.json()["data"]["fundings"]["aggregates"]["groups"]
    params = {"by": '["STATE", "THEME"]', "above": "1000", "format": "csv"}
    answer = await demo_client.get("/views/totals", params=params)
    [header, *rows] = list(csv.reader(io.StringIO(answer.text)))
    assert header == ["key.state", "key.theme", "count", "sum.amountEur"]
    assert len(groups) > 1
    assert rows == [
        [g["key"]["state"] or "", g["key"]["theme"] or "", str(g["count"]), g["sum"]["amountEur"]]
        for g in groups
    ]


@property_settings(max_examples=60)
@given(generated=queries(schema._schema))
async def test_csv_columns_are_the_same_whatever_the_database_holds(
    demo_client: httpx.AsyncClient, client: httpx.AsyncClient, generated: tuple[str, Any]
) -> None:
    query, variables = generated
    table = table_of(schema._schema, parse(query))
    answers = [
        (await each.post("/graphql", json={"query": query, "variables": variables})).json()
        for each in (demo_client, client)
    ]
    headers = [
        next(csv.reader(io.StringIO(csv_of(table, answer["data"]))))
        for answer in answers
        if answer.get("data") is not None
    ]
    for header in headers:
        assert header == headers[0]
        assert len(set(header)) == len(header), "no two columns of one name"


# --- The index ------------------------------------------------------------------------------


async def listed(client: httpx.AsyncClient, key: str | None = None) -> list[str]:
    """The names of the views GET /views lists for the bearer of `key` (the public: None)."""
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    response = await client.get("/views", headers=headers)
    assert response.status_code == 200
    return [view["name"] for view in response.json()["views"]]


async def test_the_index_lists_each_viewer_the_views_it_may_run(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection, views: None
) -> None:
    await save_views(demo_connection, audit=AUDIT, stale=STALE)
    async with sessions_on(demo_connection)() as session:
        dessau = await session.scalar(select(City.id).where(City.slug == "dessau-rosslau"))
        admin = await add_key(session, Role.ADMIN)
        coordinator = await add_key(session, Role.COORDINATOR, city_id=dessau)
        await session.commit()
    # Contact persons are the public's to see nowhere, a coordinator's in its city; the audit
    # log is the office's; a view that no longer fits the schema runs for no one.
    assert await listed(demo_client) == ["cities-of-a-state"]
    assert await listed(demo_client, coordinator) == ["cities-of-a-state", "contacts"]
    assert await listed(demo_client, admin) == ["audit", "cities-of-a-state", "contacts"]


async def test_the_index_names_each_views_variables_and_urls(
    demo_client: httpx.AsyncClient, views: None
) -> None:
    [view] = (await demo_client.get("/views")).json()["views"]
    assert view == {
        "name": "cities-of-a-state",
        "description": "The cities-of-a-state.",
        "variables": [{"name": "state", "type": "String!"}, {"name": "first", "type": "Int"}],
        "formats": {
            "json": "/views/cities-of-a-state",
            "csv": "/views/cities-of-a-state?format=csv",
        },
    }
    assert (await demo_client.get(view["formats"]["csv"] + "&state=NW")).status_code == 200


async def test_a_browser_gets_the_index_as_a_page_of_links(
    demo_client: httpx.AsyncClient, demo_connection: AsyncConnection, views: None
) -> None:
    await save_views(demo_connection, **{"a-b": "{ states { code } }"})
    browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
    page = await demo_client.get("/views", headers={"Accept": browser})
    assert page.headers["content-type"].startswith("text/html")
    assert '<a href="/views/cities-of-a-state?format=csv">CSV</a>' in page.text
    assert "<code>state</code> (String!)" in page.text
    assert '<a href="/views/a-b">JSON</a>' in page.text
    assert "<script" not in page.text
