"""The network office manages state partnerships, funders, themes and working groups."""

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from models import Role
from tests import factories
from tests.factories import add_key
from tests.writes import codes, gid, mutate, paths, send

THEME = {"slug": "demokratie", "nameDe": "Demokratie", "nameEn": "Democracy"}


@pytest.fixture
async def admin(db: AsyncSession) -> str:
    return await add_key(db, Role.ADMIN)


async def test_the_office_manages_themes_and_working_groups(
    client: httpx.AsyncClient, admin: str
) -> None:
    theme = await mutate(client, "createTheme", {"input": THEME}, admin)
    group = {"slug": "ag-demokratie", "name": "AG Demokratie", "themeId": theme["result"]["id"]}
    created = await mutate(
        client, "createWorkingGroup", {"input": group}, admin, "result { id theme { slug } }"
    )
    assert created["result"]["theme"] == {"slug": "demokratie"}
    renamed = await mutate(
        client,
        "updateTheme",
        {"id": theme["result"]["id"], "input": {"nameEn": "Democracy and participation"}},
        admin,
        "result { nameDe nameEn }",
    )
    assert renamed["result"] == {"nameDe": "Demokratie", "nameEn": "Democracy and participation"}
    removed = await mutate(client, "removeTheme", {"id": theme["result"]["id"]}, admin)
    assert removed["errors"] == []
    body = await send(client, '{ workingGroup(slug: "ag-demokratie") { theme { slug } } }')
    assert body["data"]["workingGroup"] == {"theme": None}


async def test_a_taken_slug_is_a_conflict(client: httpx.AsyncClient, admin: str) -> None:
    await mutate(client, "createTheme", {"input": THEME}, admin)
    again = await mutate(client, "createTheme", {"input": THEME}, admin)
    assert (codes(again), paths(again)) == (["CONFLICT"], [["input", "slug"]])
    assert again["errors"][0]["message"] == "Another Theme has this slug already."


async def test_others_cannot_manage_the_network(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    city = await factories.add_city(db)
    coordinator = await add_key(db, Role.COORDINATOR, city_id=city.id)
    for key in (coordinator, None):
        assert codes(await mutate(client, "createTheme", {"input": THEME}, key)) == ["FORBIDDEN"]


async def test_a_funder_with_fundings_stays(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    funder = await factories.add_funder(db)
    await factories.add_funding(db, funder_id=funder.id)
    refused = await mutate(client, "removeFunder", {"id": gid(funder)}, admin)
    assert refused["errors"] == [
        {
            "__typename": "ConflictError",
            "code": "CONFLICT",
            "message": "It cannot be removed while its fundings or the application it joined "
            "with refer to it.",
            "path": ["id"],
        }
    ]
    idle = await factories.add_funder(db)
    assert (await mutate(client, "removeFunder", {"id": gid(idle)}, admin))["errors"] == []


async def test_a_state_partner_changes_its_own_partnership_only(
    client: httpx.AsyncClient, db: AsyncSession, admin: str
) -> None:
    for code in ("NW", "BY"):
        await factories.add_state(db, code)
    partnership = {"stateCode": "NW", "institution": "Staatskanzlei NRW", "startsOn": "2024-01-01"}
    created = await mutate(client, "createStatePartnership", {"input": partnership}, admin)
    own = created["result"]["id"]
    state_partner = await add_key(db, Role.STATE_PARTNER, state_code="NW")
    focus = {"id": own, "input": {"focus": "Ländliche Räume"}}
    changed = await mutate(
        client, "updateStatePartnership", focus, state_partner, "result { focus }"
    )
    assert changed["result"] == {"focus": "Ländliche Räume"}
    moved = {"id": own, "input": {"stateCode": "BY"}}
    assert codes(await mutate(client, "updateStatePartnership", moved, state_partner)) == [
        "INVALID"
    ]
    other = partnership | {"stateCode": "BY", "institution": "Staatskanzlei Bayern"}
    refused = await mutate(client, "createStatePartnership", {"input": other}, state_partner)
    assert codes(refused) == ["FORBIDDEN"]
    twice = await mutate(client, "createStatePartnership", {"input": partnership}, admin)
    assert twice["errors"][0]["message"] == "The state has a partnership already."


async def test_a_funder_is_created_with_a_valid_website(
    client: httpx.AsyncClient, admin: str
) -> None:
    funder = {"slug": "stiftung-x", "name": "Stiftung X", "kind": "FOUNDATION"}
    funder |= {"scope": "REGIONAL", "website": "www.example.org"}
    refused = await mutate(client, "createFunder", {"input": funder}, admin)
    assert paths(refused) == [["input", "website"]]
    funder["website"] = "https://www.example.org"
    created = await mutate(client, "createFunder", {"input": funder}, admin, "result { scope }")
    assert created["result"] == {"scope": "REGIONAL"}
