"""HTTP caching of /graphql's answers (hub/http_caching.py): ETag and 304 on GET, the
Cache-Control of the public's and of a credential's answers, Vary, and no-store for all that
no cache may keep."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import ConfigurationError, Settings
from models import Role
from tests.conftest import asgi_client, sessions_on
from tests.factories import add_key
from tests.helpers import property_settings
from tests.test_gateway_mode import SECRET
from tests.test_persisted import persisted, send

QUERY = '{ city(slug: "bitburg") { id name description } }'
PUBLIC = "public, max-age=60, stale-while-revalidate=300"
PRIVATE = "private, no-cache"
VARY = "Accept, Authorization"
DESCRIBE = """mutation Describe($id: ID!, $description: String!) {
  updateCity(id: $id, input: {description: $description}) { errors { code } }
}"""


@asynccontextmanager
async def hub(connection: AsyncConnection, **changes: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app inside the test's transaction, keeping the public's answers for a minute
    (and stale for five more) unless `changes` say otherwise."""
    caching = {"http_max_age_seconds": 60, "http_stale_while_revalidate_seconds": 300}
    settings = replace(Settings.from_env(), **(caching | changes))
    async for client in asgi_client(connection, settings):
        yield client


async def get(client: httpx.AsyncClient, query: str = QUERY, **headers: str) -> httpx.Response:
    """The answer to `query` by GET, with `headers` (`if_none_match` for If-None-Match)."""
    named = {name.replace("_", "-"): value for name, value in headers.items()}
    return await client.get("/graphql", params={"query": query}, headers=named)


async def office_key(connection: AsyncConnection) -> str:
    async with sessions_on(connection)() as session:
        key = await add_key(session, Role.ADMIN)
        await session.commit()
    return key


# ETag and If-None-Match


async def test_an_answer_by_get_has_a_strong_etag_stable_while_it_stays_the_same(
    demo_connection: AsyncConnection,
) -> None:
    async with hub(demo_connection) as client:
        first, second = await get(client), await get(client)
        other = await get(client, '{ city(slug: "apolda") { id name description } }')
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"') and len(tag) > 2
    assert second.headers["etag"] == tag
    assert other.headers["etag"] != tag


async def test_each_media_type_of_an_answer_has_its_own_etag(
    demo_connection: AsyncConnection,
) -> None:
    async with hub(demo_connection) as client:
        json = await get(client, accept="application/json")
        graphql = await get(client, accept="application/graphql-response+json")
    assert json.content == graphql.content
    assert json.headers["etag"] != graphql.headers["etag"]


async def test_the_etag_changes_when_the_data_changes(demo_connection: AsyncConnection) -> None:
    key = await office_key(demo_connection)
    async with hub(demo_connection) as client:
        before = await get(client)
        city = before.json()["data"]["city"]
        variables = {"id": city["id"], "description": "Neu beschrieben."}
        written = await client.post(
            "/graphql",
            json={"query": DESCRIBE, "variables": variables},
            headers={"Authorization": f"Bearer {key}"},
        )
        assert written.json()["data"]["updateCity"]["errors"] == []
        revalidated = await get(client, if_none_match=before.headers["etag"])
    assert revalidated.status_code == 200
    assert revalidated.json()["data"]["city"]["description"] == "Neu beschrieben."
    assert revalidated.headers["etag"] != before.headers["etag"]


@pytest.mark.parametrize(
    "if_none_match",
    ["{tag}", "W/{tag}", '"other", {tag}', '"a,b", W/"c",{tag} ', "*", " * "],
    ids=["tag", "weak", "list", "list-with-commas", "any", "any-spaced"],
)
async def test_if_none_match_naming_the_answer_is_304_without_a_body(
    demo_connection: AsyncConnection, if_none_match: str
) -> None:
    async with hub(demo_connection) as client:
        answer = await get(client)
        tag = answer.headers["etag"]
        revalidated = await get(client, if_none_match=if_none_match.format(tag=tag))
    assert revalidated.status_code == 304
    assert revalidated.content == b""
    assert revalidated.headers["etag"] == tag
    assert revalidated.headers["cache-control"] == PUBLIC
    assert revalidated.headers["vary"] == VARY
    assert "x-ratelimit-remaining" in revalidated.headers
    assert "content-type" not in revalidated.headers


@pytest.mark.parametrize(
    "if_none_match",
    ['"other"', "W/", '"', "", "{bare}", '"*"'],
    ids=["other", "bare-weak", "lone-quote", "empty", "unquoted", "quoted-star"],
)
async def test_if_none_match_naming_no_answer_of_its_is_200(
    demo_connection: AsyncConnection, if_none_match: str
) -> None:
    async with hub(demo_connection) as client:
        tag = (await get(client)).headers["etag"]
        answer = await get(client, if_none_match=if_none_match.format(tag=tag, bare=tag[1:-1]))
    assert answer.status_code == 200
    assert answer.json()["data"]["city"]["name"] == "Bitburg"
    assert answer.headers["etag"] == tag


async def test_a_persisted_query_by_get_is_cached_like_its_text(
    demo_connection: AsyncConnection,
) -> None:
    async with hub(demo_connection) as client:
        unknown = await send(client, "GET", extensions=persisted(QUERY))
        await send(client, "POST", query=QUERY, extensions=persisted(QUERY))
        by_hash = await send(client, "GET", extensions=persisted(QUERY))
        by_text = await get(client)
        revalidated = await client.get(
            "/graphql",
            params={"extensions": by_hash.request.url.params["extensions"]},
            headers={"If-None-Match": by_text.headers["etag"]},
        )
    assert unknown.headers["cache-control"] == "private, no-cache, must-revalidate"
    assert "etag" not in unknown.headers
    assert by_hash.status_code == 200
    assert by_hash.headers["cache-control"] == PUBLIC
    assert by_hash.headers["etag"] == by_text.headers["etag"]
    assert revalidated.status_code == 304


# Cache-Control and Vary


async def test_the_publics_answers_are_public_for_the_configured_time(
    demo_connection: AsyncConnection,
) -> None:
    async with hub(demo_connection) as client:
        answer = await get(client)
    async with hub(demo_connection, http_stale_while_revalidate_seconds=0) as client:
        without_stale = await get(client)
    async with hub(demo_connection, http_max_age_seconds=0) as client:
        revalidated_always = await get(client)
    assert answer.headers["cache-control"] == PUBLIC
    assert answer.headers["vary"] == VARY
    assert without_stale.headers["cache-control"] == "public, max-age=60"
    assert revalidated_always.headers["cache-control"] == "no-cache"
    assert "etag" in revalidated_always.headers


async def test_a_credentials_answers_are_private_and_revalidated(
    demo_connection: AsyncConnection,
) -> None:
    key = await office_key(demo_connection)
    async with hub(demo_connection) as client:
        answer = await get(client, authorization=f"Bearer {key}")
        revalidated = await get(
            client, authorization=f"Bearer {key}", if_none_match=answer.headers["etag"]
        )
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == PRIVATE
    assert answer.headers["vary"] == VARY
    assert revalidated.status_code == 304
    assert revalidated.headers["cache-control"] == PRIVATE


async def test_a_gateways_answers_are_private(demo_connection: AsyncConnection) -> None:
    async with hub(demo_connection, gateway_secret=SECRET) as client:
        from_gateway = await get(client, hub_gateway_secret=SECRET)
        wrong_secret = await get(client, hub_gateway_secret=SECRET[:-1])
    assert from_gateway.headers["cache-control"] == PRIVATE
    assert wrong_secret.headers["cache-control"] == PUBLIC


async def test_cors_adds_origin_to_vary(demo_connection: AsyncConnection) -> None:
    page = "https://portal.example"
    async with hub(demo_connection, cors_origins=(page,)) as client:
        answer = await get(client, origin=page)
        revalidated = await get(client, origin=page, if_none_match=answer.headers["etag"])
    assert answer.headers["vary"] == f"{VARY}, Origin"
    assert revalidated.status_code == 304
    assert revalidated.headers["access-control-allow-origin"] == page


# What no cache may keep


async def test_answers_by_post_are_not_stored(demo_connection: AsyncConnection) -> None:
    key = await office_key(demo_connection)
    async with hub(demo_connection) as client:
        query = await client.post("/graphql", json={"query": QUERY})
        city = query.json()["data"]["city"]["id"]
        variables = {"id": city, "description": "Neu."}
        mutation = await client.post(
            "/graphql",
            json={"query": DESCRIBE, "variables": variables},
            headers={"Authorization": f"Bearer {key}", "If-None-Match": "*"},
        )
    for response in (query, mutation):
        assert response.status_code == 200
        assert response.headers["cache-control"] == "no-store"
        assert "etag" not in response.headers


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ({"query": '{ city(slug: "bitburg") { name unknownField } }'}, 200),
        ({"query": '{ node(id: "bm90IGFuIGlk") { id } }'}, 200),
        ({"query": "{ city(slug: "}, 200),
        ({"query": DESCRIBE}, 405),
        ({"query": QUERY, "accept": "text/csv"}, 406),
        ({"query": "subscription { fundingRecorded { id } }"}, 400),
    ],
    ids=["invalid", "field-error", "syntax", "mutation", "not-acceptable", "subscription"],
)
async def test_errors_and_refusals_by_get_are_not_stored(
    demo_connection: AsyncConnection, request_: dict[str, str], status: int
) -> None:
    headers = {"If-None-Match": "*"}
    if accept := request_.pop("accept", None):
        headers["Accept"] = accept
    async with hub(demo_connection) as client:
        response = await client.get("/graphql", params=request_, headers=headers)
    assert response.status_code == status
    assert response.json()["errors"]
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


async def test_a_rate_limited_get_is_not_stored(demo_connection: AsyncConnection) -> None:
    cities = "{ cities(first: 100) { edges { node { slug } } } }"
    async with hub(demo_connection, rate_limit_public=150, max_query_cost=150) as client:
        first = await get(client, cities)
        limited = await get(client, cities, if_none_match=first.headers["etag"])
    assert first.headers["cache-control"] == PUBLIC
    assert limited.status_code == 429
    assert limited.headers["cache-control"] == "no-store"
    assert "etag" not in limited.headers


async def test_an_incremental_answer_by_get_is_not_stored(
    demo_connection: AsyncConnection,
) -> None:
    deferred = '{ city(slug: "bitburg") { name ... @defer { description } } }'
    async with hub(demo_connection) as client:
        response = await get(client, deferred, accept="multipart/mixed", if_none_match="*")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("multipart/mixed")
    assert response.headers["cache-control"] == "no-store"
    assert "etag" not in response.headers


# Settings


def test_caching_is_off_in_development_and_on_in_production(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    development = Settings.from_env()
    monkeypatch.setenv("HUB_ENV", "production")
    production = Settings.from_env()
    monkeypatch.setenv("HUB_HTTP_MAX_AGE_SECONDS", "5")
    monkeypatch.setenv("HUB_HTTP_STALE_WHILE_REVALIDATE_SECONDS", "0")
    configured = Settings.from_env()
    assert (development.http_max_age_seconds, development.http_stale_while_revalidate_seconds) == (
        0,
        0,
    )
    assert (production.http_max_age_seconds, production.http_stale_while_revalidate_seconds) == (
        60,
        300,
    )
    assert (configured.http_max_age_seconds, configured.http_stale_while_revalidate_seconds) == (
        5,
        0,
    )


@pytest.mark.parametrize("value", ["-1", "1.5", "a minute", "٦٠"])
def test_a_number_of_seconds_is_a_whole_number(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("HUB_HTTP_MAX_AGE_SECONDS", value)
    with pytest.raises(ConfigurationError, match=r"^HUB_HTTP_MAX_AGE_SECONDS must be a whole"):
        Settings.from_env()


# Hostile If-None-Match headers


def if_none_match_values() -> st.SearchStrategy[bytes]:
    """If-None-Match values as a hostile client sends them: lists of well- and ill-formed
    tags, any text (encoded as UTF-8), any bytes, and some very long ones."""
    tag = st.one_of(
        st.text(max_size=40).map(lambda opaque: f'"{opaque}"'),
        st.text(max_size=40).map(lambda opaque: f'W/"{opaque}"'),
        st.sampled_from(["*", "W/", '"', ",", "", " "]),
        st.text(max_size=20),
    )
    listed = st.lists(tag, max_size=8).map(", ".join).map(str.encode)
    long = st.builds(lambda part, times: part * times, tag, st.integers(1, 20_000)).map(str.encode)
    return st.one_of(listed, long, st.binary(max_size=200)).filter(
        lambda value: b"\r" not in value and b"\n" not in value
    )


@given(st.data())
@property_settings(max_examples=150)
async def test_no_if_none_match_makes_the_hub_fail(
    demo_connection: AsyncConnection, data: st.DataObject
) -> None:
    async with hub(demo_connection) as client:
        tag = (await get(client)).headers["etag"]
        value = data.draw(if_none_match_values())
        response = await client.get(
            "/graphql", params={"query": QUERY}, headers=[(b"If-None-Match", value)]
        )
    named = tag[1:-1].encode() in value or value.strip() == b"*"
    assert response.status_code in ((200, 304) if named else (200,))
    assert response.headers["etag"] == tag
