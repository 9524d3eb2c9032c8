"""Global IDs: one ID per entity, read by one parser (resolvers/global_ids.py) in `node`,
`nodes`, `_entities` and mutation inputs; an ID the hub never gives out is the client's error."""

from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from strawberry.relay import to_base64

import models as m
from resolvers.global_ids import MAX_KEY, key_in, parts_of
from resolvers.mutations.ids import key_of

AACHEN = to_base64("City", "58")
# Other spellings of Aachen's key that Python's int() reads as 58.
ALIASES = ["058", "5_8", " 58", "58 ", "+58", "٥٨", "\uff1058"]
NODE = "query($id: ID!) { node(id: $id) { id ... on City { name } } }"
NODES = "query($ids: [ID!]!) { nodes(ids: $ids) { id } }"
ENTITIES = "query($r: [_Any!]!) { _entities(representations: $r) { ... on City { name } } }"


def codes(body: dict[str, Any]) -> list[str]:
    """The `extensions.code` of each error of a response."""
    return [error.get("extensions", {}).get("code") for error in body.get("errors", [])]


async def post(client: httpx.AsyncClient, query: str, **variables: Any) -> dict[str, Any]:
    """The body of a POSTed query's answer."""
    response = await client.post("/graphql", json={"query": query, "variables": variables})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_canonical_id_finds_its_city(demo_client: httpx.AsyncClient) -> None:
    body = await post(demo_client, NODE, id=AACHEN)
    assert body["data"]["node"] == {"id": AACHEN, "name": "Aachen"}


@pytest.mark.parametrize("key", ALIASES)
async def test_other_spellings_of_a_key_are_no_id(demo_client: httpx.AsyncClient, key: str) -> None:
    body = await post(demo_client, NODE, id=to_base64("City", key))
    assert body["data"] == {"node": None}
    assert codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize(
    "global_id",
    [
        to_base64("City", "3000000000"),
        to_base64("City", "99999999999999999999999"),
        to_base64("Application", "1"),
        to_base64("User", "1"),
        to_base64("CityStatistics", "1"),
        "Q2l0eTo1OA",  # Aachen's without its padding
        "Q2l0eTo1OA==!",  # and with a character base64 skips
        "not base64 at all",
    ],
)
async def test_ids_the_hub_never_gives_out_are_the_clients_error(
    demo_client: httpx.AsyncClient, global_id: str
) -> None:
    body = await post(demo_client, NODE, id=global_id)
    assert body["data"] == {"node": None}
    assert codes(body) == ["BAD_USER_INPUT"]


async def test_nodes_refuses_each_bad_id_at_its_index(demo_client: httpx.AsyncClient) -> None:
    ids = [AACHEN, to_base64("Application", "1"), to_base64("City", "3000000000"), AACHEN]
    body = await post(demo_client, NODES, ids=ids)
    assert body["data"]["nodes"] == [{"id": AACHEN}, None, None, {"id": AACHEN}]
    assert [error["path"] for error in body["errors"]] == [["nodes", 1], ["nodes", 2]]
    assert codes(body) == ["BAD_USER_INPUT"] * 2


@pytest.mark.parametrize("key", ALIASES)
async def test_entities_by_other_spellings_of_a_key_are_refused(
    demo_client: httpx.AsyncClient, key: str
) -> None:
    representations = [{"__typename": "City", "id": to_base64("City", key)}]
    body = await post(demo_client, ENTITIES, r=representations)
    assert body["data"] == {"_entities": [None]}
    assert codes(body) == ["BAD_USER_INPUT"]


@pytest.mark.parametrize("key", ALIASES)
def test_mutation_inputs_read_other_spellings_as_no_id(key: str) -> None:
    assert key_of(to_base64("City", key), m.City) is None
    assert key_of(AACHEN, m.City) == 58


@given(st.text(max_size=12))
def test_a_key_is_read_only_as_the_hub_writes_it(node_id: str) -> None:
    key = key_in(node_id, int)
    assert key is None or (str(key) == node_id and 0 < key <= MAX_KEY)


@given(st.text(max_size=40))
def test_a_global_id_is_read_only_as_the_hub_writes_it(global_id: str) -> None:
    parts = parts_of(global_id)
    assert parts is None or to_base64(*parts) == global_id


@given(st.text(max_size=8), st.text(max_size=12))
def test_every_id_the_hub_writes_reads_back(type_name: str, node_id: str) -> None:
    if ":" not in type_name:
        assert parts_of(to_base64(type_name, node_id)) == (type_name, node_id)
