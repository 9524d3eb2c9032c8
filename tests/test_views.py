"""Saved views: registered queries served at /views/<name> as JSON or CSV, with ETags."""

import csv
import io
from pathlib import Path

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.views import view_problems
from models import Role, SavedView
from schema import schema
from tests.conftest import sessions_on
from tests.factories import add_key
from tests.test_cli import environment, hub

CITIES = """query CitiesOfAState($state: String!, $first: Int) {
  state(code: $state) { cities(first: $first) { edges { node { slug name state { code } } } } }
}"""
CONTACTS = '{ city(slug: "dessau-rosslau") { name contacts { email } } }'


@pytest.fixture
async def views(demo_connection: AsyncConnection) -> None:
    """Two views in the test's transaction."""
    async with sessions_on(demo_connection)() as session:
        session.add(SavedView(name="cities-of-a-state", query=CITIES))
        session.add(SavedView(name="contacts", query=CONTACTS))
        await session.commit()


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


async def test_an_unknown_view_is_a_404(demo_client: httpx.AsyncClient) -> None:
    assert (await demo_client.get("/views/nothing-here")).status_code == 404


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
