"""Fundings: a funder records, changes and ends its own; the network office any funder's."""

from dataclasses import dataclass
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

import models
from models import Role
from tests import factories
from tests.factories import add_key
from tests.writes import codes, gid, mutate, paths, send, snapshot


@dataclass
class Funders:
    """A funder with its key, another funder, and a local network to fund."""

    own: models.Funder
    key: str
    other: models.Funder
    network: models.LocalNetwork


@pytest.fixture
async def funders(db: AsyncSession) -> Funders:
    own = await factories.add_funder(db, name="Stiftung Eins")
    key = await add_key(db, Role.FUNDER, funder_id=own.id)
    other = await factories.add_funder(db, name="Stiftung Zwei")
    return Funders(own, key, other, await factories.add_network(db))


def funding_input(funder: models.Funder, recipient: Any, **fields: Any) -> dict[str, Any]:
    """A complete input for a financial funding of 5,000 euros."""
    values = {
        "funderId": gid(funder),
        "recipientId": recipient and gid(recipient),
        "contributionType": "FINANCIAL",
        "amountEur": "5000.00",
        "title": "Anschubfinanzierung",
        "startsOn": "2025-01-01",
    }
    return values | fields


async def test_a_funder_records_a_funding_and_sees_it(
    client: httpx.AsyncClient, funders: Funders
) -> None:
    recorded = await mutate(
        client,
        "recordFunding",
        {"input": funding_input(funders.own, funders.network)},
        funders.key,
        "result { id amountEur recipientKind recipient { ... on LocalNetwork { id } } }",
    )
    assert recorded["errors"] == []
    assert recorded["result"]["amountEur"] == "5000.00"
    assert recorded["result"]["recipient"] == {"id": gid(funders.network)}
    query = """query ($slug: String!) {
      funder(slug: $slug) { fundings { totalCount edges { node { id title } } } }
    }"""
    body = await send(client, query, {"slug": funders.own.slug}, funders.key)
    fundings = body["data"]["funder"]["fundings"]
    assert fundings["edges"] == [
        {"node": {"id": recorded["result"]["id"], "title": "Anschubfinanzierung"}}
    ]


async def test_a_funder_cannot_record_for_another_funder(
    client: httpx.AsyncClient, connection: AsyncConnection, funders: Funders
) -> None:
    before = await snapshot(connection)
    foreign = {"input": funding_input(funders.other, funders.network)}
    assert codes(await mutate(client, "recordFunding", foreign, funders.key)) == ["FORBIDDEN"]
    assert await snapshot(connection) == before


async def test_several_funders_fund_one_recipient(
    client: httpx.AsyncClient, db: AsyncSession, funders: Funders
) -> None:
    admin = await add_key(db, Role.ADMIN)
    for funder, key in ((funders.own, funders.key), (funders.other, admin)):
        expertise = funding_input(funder, funders.network, contributionType="EXPERTISE")
        payload = await mutate(
            client, "recordFunding", {"input": expertise | {"amountEur": None}}, key
        )
        assert payload["errors"] == []
    query = "query ($id: ID!) { node(id: $id) { ... on LocalNetwork { fundings { totalCount } } } }"
    body = await send(client, query, {"id": gid(funders.network)})
    assert body["data"]["node"]["fundings"]["totalCount"] == 2


async def test_a_network_wide_funding_has_no_recipient(
    client: httpx.AsyncClient, funders: Funders
) -> None:
    payload = await mutate(
        client,
        "recordFunding",
        {"input": funding_input(funders.own, None)},
        funders.key,
        "result { recipientKind recipient { __typename } }",
    )
    assert payload["result"] == {"recipientKind": "NETWORK_WIDE", "recipient": None}


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"amountEur": None}, "Must be given."),
        ({"contributionType": "OWN_OFFER"}, "Must be null unless the contribution is financial."),
        ({"amountEur": "-1"}, "Must be an amount of at least 0 euros."),
        ({"amountEur": "NaN"}, "Must be an amount of at least 0 euros."),
        ({"amountEur": "12.345"}, "Must not have more than two decimal places (cents)."),
        ({"amountEur": "1e12"}, "Must be less than a trillion euros."),
    ],
)
async def test_an_amount_is_given_in_euros_and_cents_for_financial_fundings_only(
    client: httpx.AsyncClient, funders: Funders, fields: dict[str, Any], message: str
) -> None:
    funding = funding_input(funders.own, funders.network, **fields)
    payload = await mutate(client, "recordFunding", {"input": funding}, funders.key)
    assert [(e["path"], e["message"]) for e in payload["errors"]] == [
        (["input", "amountEur"], message)
    ]


async def test_an_update_keeps_the_rules_over_the_stored_fields(
    client: httpx.AsyncClient, db: AsyncSession, funders: Funders
) -> None:
    funding = await factories.add_funding(db, funder_id=funders.own.id)
    update = {"id": gid(funding), "input": {"contributionType": "EXPERTISE"}}
    assert paths(await mutate(client, "updateFunding", update, funders.key)) == [
        ["input", "amountEur"]
    ]
    update["input"] |= {"amountEur": None, "title": "Beratung"}
    changed = await mutate(
        client, "updateFunding", update, funders.key, "result { contributionType title }"
    )
    assert changed["result"] == {"contributionType": "EXPERTISE", "title": "Beratung"}
    moved = {"id": gid(funding), "input": {"recipientId": None, "funderId": gid(funders.other)}}
    refused = await mutate(client, "updateFunding", moved, funders.key)
    assert sorted(paths(refused)) == [["input", "funderId"], ["input", "recipientId"]]


async def test_a_funder_ends_its_own_fundings_only(
    client: httpx.AsyncClient, db: AsyncSession, funders: Funders
) -> None:
    own = await factories.add_funding(db, funder_id=funders.own.id)
    foreign = await factories.add_funding(db, funder_id=funders.other.id)
    today = {"id": gid(own), "input": {}}
    ended = await mutate(client, "endFunding", today, funders.key, "result { endsOn }")
    assert ended["result"] == {"endsOn": date.today().isoformat()}
    before_start = {"id": gid(own), "input": {"endsOn": "2023-12-31"}}
    assert paths(await mutate(client, "endFunding", before_start, funders.key)) == [
        ["input", "endsOn"]
    ]
    theirs = {"id": gid(foreign), "input": {}}
    assert codes(await mutate(client, "endFunding", theirs, funders.key)) == ["FORBIDDEN"]
