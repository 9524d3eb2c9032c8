"""Field privacy: contact persons and confidential amounts, alike on both read paths."""

from dataclasses import replace
from typing import Any

import httpx
import pytest
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from hub.features import detect
from models import Funding, Role
from server import create_app
from tests.conftest import sessions_on
from tests.factories import add_key

FORBIDDEN = {"message": "You may not see this field.", "extensions": {"code": "FORBIDDEN"}}

CITY_CONTACTS = """
query Contacts($first: String!, $second: String!) {
  first: city(slug: $first) { ...Contacts }
  second: city(slug: $second) { ...Contacts }
}
fragment Contacts on City {
  slug contacts { fullName email }
  localNetwork { actors(first: 3) { edges { node { slug contacts { email } } } } }
}
"""
FUNDINGS = """
query Amounts($funder: String!) {
  funder(slug: $funder) { slug contacts { email } fundings(first: 100) { edges { node {
    title amountEur amountConfidential city { slug }
  } } } }
}
"""


async def key_for(connection: AsyncConnection, role: Role, **scope: Any) -> str:
    """A new API key with `role` and `scope`, stored in the test's transaction."""
    async with sessions_on(connection)() as session:
        key = await add_key(session, role, **scope)
        await session.commit()
    return key


async def ask(
    connection: AsyncConnection, key: str | None, query: str, variables: dict[str, Any]
) -> dict[str, Any]:
    """The answer of both read paths, after checking that they are the same."""
    answers = []
    for compiled in (True, False):
        settings = replace(Settings.from_env(), compiled=compiled, debug=True)
        app = create_app(
            sessions_on(connection), settings=settings, features=await detect(connection)
        )
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
        body = response.json()
        path = body.pop("extensions")["debug"]["readPath"]
        assert path == ("compiled" if compiled else "resolvers")
        answers.append(body)
    compiled_answer, resolver_answer = answers
    assert compiled_answer == resolver_answer
    return compiled_answer


async def city_id(connection: AsyncConnection, slug: str) -> int:
    return (
        await connection.execute(text("SELECT id FROM cities WHERE slug = :s"), {"s": slug})
    ).scalar_one()


def contacts_by_city(body: dict[str, Any]) -> dict[str, Any]:
    """Each city's contacts (None where hidden)."""
    return {city["slug"]: city["contacts"] for city in body["data"].values()}


def forbidden_paths(body: dict[str, Any]) -> list[list[Any]]:
    """The paths of the FORBIDDEN errors; every error must be one."""
    errors = body.get("errors", [])
    assert all({k: e[k] for k in FORBIDDEN} == FORBIDDEN for e in errors), errors
    assert all(e["locations"] for e in errors)
    return [error["path"] for error in errors]


TWO_CITIES = {"first": "dessau-rosslau", "second": "weinheim"}


async def test_the_public_sees_no_contact_persons(demo_connection: AsyncConnection) -> None:
    body = await ask(demo_connection, None, CITY_CONTACTS, TWO_CITIES)
    assert set(contacts_by_city(body).values()) == {None}
    assert ["first", "contacts"] in forbidden_paths(body)


async def test_a_coordinator_sees_its_own_city_s_contacts_only(
    demo_connection: AsyncConnection,
) -> None:
    own = await city_id(demo_connection, "weinheim")
    key = await key_for(demo_connection, Role.COORDINATOR, city_id=own)
    body = await ask(demo_connection, key, CITY_CONTACTS, TWO_CITIES)
    contacts = contacts_by_city(body)
    assert contacts["dessau-rosslau"] is None
    assert contacts["weinheim"] and "@" in contacts["weinheim"][0]["email"]
    paths = forbidden_paths(body)
    assert paths and all(path[0] == "first" for path in paths)


async def test_a_state_partner_sees_the_contacts_of_its_state_s_cities(
    demo_connection: AsyncConnection,
) -> None:
    key = await key_for(demo_connection, Role.STATE_PARTNER, state_code="ST")
    body = await ask(demo_connection, key, CITY_CONTACTS, TWO_CITIES)
    contacts = contacts_by_city(body)
    assert contacts["dessau-rosslau"] and contacts["weinheim"] is None


async def test_the_network_office_sees_everything(demo_connection: AsyncConnection) -> None:
    key = await key_for(demo_connection, Role.ADMIN)
    body = await ask(demo_connection, key, CITY_CONTACTS, TWO_CITIES)
    assert "errors" not in body
    assert all(contacts_by_city(body).values())


@pytest.fixture
async def confidential(demo_connection: AsyncConnection) -> dict[str, Any]:
    """One funder's fundings all made confidential: the funder's slug and the cities reached."""
    row = (
        await demo_connection.execute(
            text(
                "SELECT f.slug, f.id FROM funders f JOIN fundings g ON g.funder_id = f.id "
                "WHERE g.network_id IS NOT NULL AND g.contribution_type = 'financial' "
                "ORDER BY f.slug LIMIT 1"
            )
        )
    ).one()
    await demo_connection.execute(
        update(Funding).where(Funding.funder_id == row.id).values(amount_confidential=True)
    )
    return {"slug": row.slug, "id": row.id}


def amounts(body: dict[str, Any]) -> list[tuple[str | None, Any]]:
    """Each funding's city and amount."""
    edges = body["data"]["funder"]["fundings"]["edges"]
    return [((e["node"]["city"] or {}).get("slug"), e["node"]["amountEur"]) for e in edges]


async def test_confidential_amounts_are_hidden_from_the_public(
    demo_connection: AsyncConnection, confidential: dict[str, Any]
) -> None:
    body = await ask(demo_connection, None, FUNDINGS, {"funder": confidential["slug"]})
    assert {amount for _city, amount in amounts(body)} == {None}
    paths = forbidden_paths(body)
    assert ["funder", "fundings", "edges", 0, "node", "amountEur"] in paths
    assert ["funder", "contacts"] in paths


async def test_the_funder_sees_its_confidential_amounts_and_contacts(
    demo_connection: AsyncConnection, confidential: dict[str, Any]
) -> None:
    key = await key_for(demo_connection, Role.FUNDER, funder_id=confidential["id"])
    body = await ask(demo_connection, key, FUNDINGS, {"funder": confidential["slug"]})
    assert "errors" not in body
    assert any(amount is not None for _city, amount in amounts(body))
    assert body["data"]["funder"]["contacts"]


async def test_the_recipient_s_coordinator_sees_a_confidential_amount(
    demo_connection: AsyncConnection, confidential: dict[str, Any]
) -> None:
    public = amounts(await ask(demo_connection, None, FUNDINGS, {"funder": confidential["slug"]}))
    reached = next(city for city, _amount in public if city is not None)
    key = await key_for(
        demo_connection, Role.COORDINATOR, city_id=await city_id(demo_connection, reached)
    )
    body = await ask(demo_connection, key, FUNDINGS, {"funder": confidential["slug"]})
    for city, amount in amounts(body):
        assert (amount is not None) == (city == reached), (city, amount)


async def test_filters_and_orders_reveal_no_confidential_amount(
    demo_connection: AsyncConnection, confidential: dict[str, Any]
) -> None:
    query = """query Large($funder: String!) { funder(slug: $funder) {
      fundings(first: 100, filter: {minAmountEur: "0"}) { totalCount } } }"""
    body = await ask(demo_connection, None, query, {"funder": confidential["slug"]})
    assert body["data"]["funder"]["fundings"]["totalCount"] == 0
