"""The network office manages state partnerships, funders, themes and working groups."""

from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from strawberry.relay import GlobalID, to_base64

import models
from models import Role
from tests import factories
from tests.factories import add_key
from tests.test_audit import LOG
from tests.writes import codes, gid, mutate, paths, send, snapshot

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


REACH = "result { states { code } themes { slug } }"


@pytest.fixture
async def reach(db: AsyncSession) -> dict[str, str]:
    """The states NW, BY and BE, and the global IDs of two themes by slug."""
    for code in ("NW", "BY", "BE"):
        await factories.add_state(db, code)
    themes = [models.Theme(slug=slug, name_de=slug, name_en=slug) for slug in ("bildung", "kultur")]
    return {theme.slug: gid(await factories.add(db, theme)) for theme in themes}


async def test_the_office_writes_a_funders_states_and_themes(
    client: httpx.AsyncClient, admin: str, reach: dict[str, str]
) -> None:
    funder = {"slug": "stiftung-x", "name": "Stiftung X", "kind": "FOUNDATION"}
    funder |= {"scope": "REGIONAL", "stateCodes": ["NW", "BY", "NW"]}
    funder |= {"themeIds": [reach["kultur"]]}
    created = await mutate(
        client, "createFunder", {"input": funder}, admin, f"{REACH} result {{ id }}"
    )
    assert created["errors"] == []
    funder_id = created["result"]["id"]
    assert created["result"]["states"] == [{"code": "BY"}, {"code": "NW"}]
    assert created["result"]["themes"] == [{"slug": "kultur"}]

    async def update(changes: dict[str, Any]) -> dict[str, Any]:
        payload = await mutate(
            client, "updateFunder", {"id": funder_id, "input": changes}, admin, REACH
        )
        assert payload["errors"] == []
        return payload["result"]

    replaced = await update({"stateCodes": ["BE"], "themeIds": [reach["bildung"], reach["kultur"]]})
    assert replaced == {
        "states": [{"code": "BE"}],
        "themes": [{"slug": "bildung"}, {"slug": "kultur"}],
    }
    assert await update({"name": "Stiftung Y", "stateCodes": None}) == replaced
    assert await update({"stateCodes": [], "themeIds": []}) == {"states": [], "themes": []}
    body = await send(client, '{ state(code: "BE") { funders { totalCount } } }')
    assert body["data"]["state"]["funders"]["totalCount"] == 0


async def test_a_funders_states_and_themes_are_audited(
    client: httpx.AsyncClient, admin: str, reach: dict[str, str]
) -> None:
    funder = await mutate(
        client,
        "createFunder",
        {"input": {"slug": "x", "name": "X", "kind": "COMPANY", "scope": "THEMATIC"}},
        admin,
    )
    changes = {"stateCodes": ["NW"], "themeIds": [reach["bildung"]]}
    funder_id = funder["result"]["id"]
    await mutate(client, "updateFunder", {"id": funder_id, "input": changes}, admin)
    body = await send(client, LOG, {"filter": {"entityId": funder_id}}, admin)
    entries = [edge["node"] for edge in body["data"]["auditLog"]["edges"]]
    theme_key = int(GlobalID.from_id(reach["bildung"]).node_id)
    # The funder's own fields did not change: no entry of an empty change.
    assert [(entry["operation"], entry["changes"]) for entry in entries[:3]] == [
        ("updateFunder", {"theme_ids": [theme_key]}),
        ("updateFunder", {"state_codes": ["NW"]}),
        ("createFunder", {"kind": "company", "name": "X", "slug": "x", "scope": "thematic"}),
    ]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({"stateCodes": ["NW", "XX"]}, [("INVALID", ["input", "stateCodes", "1"])]),
        ({"stateCodes": ["HB"]}, [("NOT_FOUND", ["input", "stateCodes"])]),
        ({"themeIds": ["kein-id"]}, [("INVALID", ["input", "themeIds", "0"])]),
        ({"themeIds": [to_base64("City", 1)]}, [("INVALID", ["input", "themeIds", "0"])]),
        ({"themeIds": [to_base64("Theme", 99999)]}, [("NOT_FOUND", ["input", "themeIds"])]),
        ({"stateCodes": ["BY"], "themeIds": [to_base64("Theme", 99999)]},
         [("NOT_FOUND", ["input", "themeIds"])]),
    ],
)  # fmt: skip
async def test_unknown_states_and_themes_are_refused_and_change_nothing(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    admin: str,
    reach: dict[str, str],
    changes: dict[str, Any],
    errors: list[tuple[str, list[str]]],
) -> None:
    funder = await factories.add_funder(db, scope=models.FunderScope.REGIONAL)
    await factories.add(db, models.FunderState(funder_id=funder.id, state_code="NW"))
    new = {"slug": "neu", "name": "Neu", "kind": "COMPANY", "scope": "REGIONAL"}
    before = await snapshot(connection)
    for mutation, arguments in (
        ("createFunder", {"input": new | changes}),
        ("updateFunder", {"id": gid(funder), "input": {"name": "Umbenannt"} | changes}),
    ):
        refused = await mutate(client, mutation, arguments, admin)
        assert [(error["code"], error["path"]) for error in refused["errors"]] == errors
        assert refused["result"] is None
    assert await snapshot(connection) == before


async def test_a_funder_keeps_its_own_states_and_themes_and_no_one_elses(
    client: httpx.AsyncClient,
    connection: AsyncConnection,
    db: AsyncSession,
    reach: dict[str, str],
) -> None:
    funder, other = await factories.add_funder(db), await factories.add_funder(db)
    city = await factories.add_city(db)
    own = await add_key(db, Role.FUNDER, funder_id=funder.id)
    others = [
        await add_key(db, Role.FUNDER, funder_id=other.id),
        await add_key(db, Role.COORDINATOR, city_id=city.id),
        await add_key(db, Role.STATE_PARTNER, state_code="NW"),
        None,
    ]
    changes = {"scope": "REGIONAL", "stateCodes": ["NW"], "themeIds": [reach["bildung"]]}
    before = await snapshot(connection)
    for key in others:
        refused = await mutate(client, "updateFunder", {"id": gid(funder), "input": changes}, key)
        assert (codes(refused), paths(refused)) == (["FORBIDDEN"], [[]])
    assert await snapshot(connection) == before

    selection = "result { scope states { code } themes { slug } }"
    kept = await mutate(
        client, "updateFunder", {"id": gid(funder), "input": changes}, own, selection
    )
    assert kept["result"] == {
        "scope": "REGIONAL",
        "states": [{"code": "NW"}],
        "themes": [{"slug": "bildung"}],
    }


async def test_a_funder_changes_neither_who_it_is_nor_whether_it_exists(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession
) -> None:
    funder = await factories.add_funder(db)
    own = await add_key(db, Role.FUNDER, funder_id=funder.id)
    before = await snapshot(connection)
    renamed = {"name": "Andere Stiftung", "slug": "andere", "kind": "COMPANY"}
    refused = await mutate(client, "updateFunder", {"id": gid(funder), "input": renamed}, own)
    assert sorted(paths(refused)) == [["input", "kind"], ["input", "name"], ["input", "slug"]]
    assert set(codes(refused)) == {"FORBIDDEN"}
    removed = await mutate(client, "removeFunder", {"id": gid(funder)}, own)
    assert (codes(removed), paths(removed)) == (["FORBIDDEN"], [[]])
    assert await snapshot(connection) == before
    unchanged = {"name": funder.name, "description": "Wir fördern Engagement."}
    kept = await mutate(client, "updateFunder", {"id": gid(funder), "input": unchanged}, own)
    assert kept["errors"] == []
