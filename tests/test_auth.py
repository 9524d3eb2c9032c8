"""Authentication: API keys and OpenID Connect tokens as bearer credentials; bad ones are a 401."""

import asyncio
import dataclasses
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Message

from hub.auth import NO_ISSUER, ViewerCache
from hub.config import Settings
from hub.features import detect
from hub.keys import (
    UNKNOWN_KEY,
    InvalidGrant,
    UnknownKey,
    create_key,
    list_keys,
    new_key,
    resolve_grant,
    revoke_key,
)
from models.access import ApiKey, Role
from resolvers.access import PUBLIC
from server import create_app
from tests.conftest import sessions_on
from tests.factories import add_city, add_funder, add_state
from tests.helpers import counting_statements, websocket_scope
from tests.issuer import (
    AUDIENCE,
    ISSUER,
    KEY_ID,
    Issuer,
    hand_made_token,
    new_rsa_key,
    serving_issuer,
)


async def whoami(request: Request) -> JSONResponse:
    """The viewer the app resolved for a request (a route of these tests only)."""
    viewer = request.user.viewer
    return JSONResponse(dataclasses.asdict(viewer) | {"role": viewer.role.value})


def settings_with(**changes: Any) -> Settings:
    """The environment's settings with `changes`."""
    return dataclasses.replace(Settings.from_env(), **changes)


@asynccontextmanager
async def hub_client(
    connection: AsyncConnection, **settings: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """The real app inside the test's transaction, with `settings` changed and a /whoami route."""
    app = create_app(
        sessions=sessions_on(connection),
        settings=settings_with(**settings),
        features=await detect(connection),
    )
    app.add_route("/whoami", whoami)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


async def who(client: httpx.AsyncClient, credential: str | None) -> httpx.Response:
    """GET /whoami with `credential` as the bearer (none: no Authorization header)."""
    headers = {} if credential is None else {"Authorization": f"Bearer {credential}"}
    return await client.get("/whoami", headers=headers)


def refusal(response: httpx.Response) -> str:
    """The message of a 401 refusal, checking its shape."""
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "UNAUTHENTICATED"}
    return error["message"]


@dataclasses.dataclass
class Places:
    """One state, funder and city to scope keys and tokens to."""

    state_code: str
    funder_id: int
    funder_slug: str
    city_id: int
    city_slug: str


@pytest.fixture
async def places(db: AsyncSession) -> Places:
    await add_state(db, "NW")
    funder = await add_funder(db, slug="buergerstiftung-test")
    city = await add_city(db, slug="koenigswinter-test", state_code="NW")
    return Places("NW", funder.id, funder.slug, city.id, city.slug)


async def add_key(db: AsyncSession, role: str, scope: str | None = None) -> tuple[int, str]:
    """A key made as `engagement-hub keys create` makes it; its id and the key."""
    return await create_key(db, "test portal", await resolve_grant(db, role, scope))


# API keys


@pytest.fixture
async def client(connection: AsyncConnection) -> AsyncIterator[httpx.AsyncClient]:
    """The app, with the credential cache of the default settings."""
    async with hub_client(connection) as client:
        yield client


async def test_a_valid_key_is_accepted(client: httpx.AsyncClient, db: AsyncSession) -> None:
    _, key = await add_key(db, "admin")
    response = await client.post(
        "/graphql",
        json={"query": "{ states { code } }"},
        headers={"Authorization": f"Bearer {key}"},
    )
    assert response.status_code == 200
    assert "errors" not in response.json()


@pytest.mark.parametrize(
    ("role", "scope", "scope_field"),
    [
        ("admin", None, None),
        ("state_partner", "state:NW", "state_code"),
        ("funder", "funder:buergerstiftung-test", "funder_id"),
        ("coordinator", "city:koenigswinter-test", "city_id"),
    ],
)
async def test_a_key_carries_its_role_and_scope_into_the_request(
    client: httpx.AsyncClient,
    db: AsyncSession,
    places: Places,
    role: str,
    scope: str | None,
    scope_field: str | None,
) -> None:
    key_id, key = await add_key(db, role, scope)
    viewer = {"state_code": None, "funder_id": None, "city_id": None}
    if scope_field:
        viewer[scope_field] = getattr(places, scope_field)
    response = await who(client, key)
    assert response.json() == {"role": role, "subject": f"key:{key_id}"} | viewer


async def test_no_header_is_the_public(client: httpx.AsyncClient) -> None:
    response = await who(client, None)
    assert response.json()["role"] == "public"
    assert response.json()["subject"] == PUBLIC.subject
    answer = await client.post("/graphql", json={"query": "{ states { code } }"})
    assert answer.status_code == 200


async def test_an_unknown_key_is_refused_not_downgraded(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql",
        json={"query": "{ states { code } }"},
        headers={"Authorization": f"Bearer {new_key()}"},
    )
    assert refusal(response) == UNKNOWN_KEY


async def test_a_malformed_header_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ states { code } }"}, headers={"Authorization": "Basic eA=="}
    )
    assert "Malformed Authorization header" in refusal(response)


async def test_a_revoked_key_is_refused_at_once_without_a_cache(
    connection: AsyncConnection, db: AsyncSession
) -> None:
    key_id, key = await add_key(db, "admin")
    async with hub_client(connection, auth_cache_seconds=0) as client:
        assert (await who(client, key)).status_code == 200
        await revoke_key(db, key_id)
        assert refusal(await who(client, key)) == UNKNOWN_KEY


async def test_a_revoked_key_works_until_its_cache_entry_expires(
    connection: AsyncConnection, db: AsyncSession
) -> None:
    key_id, key = await add_key(db, "admin")
    async with hub_client(connection, auth_cache_seconds=0.3) as client:
        assert (await who(client, key)).status_code == 200
        await revoke_key(db, key_id)
        assert (await who(client, key)).status_code == 200
        await asyncio.sleep(0.4)
        assert refusal(await who(client, key)) == UNKNOWN_KEY


async def test_a_cached_key_costs_no_statement(
    client: httpx.AsyncClient, connection: AsyncConnection, db: AsyncSession
) -> None:
    _, key = await add_key(db, "admin")
    with counting_statements(connection.engine) as first:
        await who(client, key)
    with counting_statements(connection.engine) as second:
        await who(client, key)
    assert any("api_keys" in statement for statement in first.statements)
    assert second.count == 0


async def test_a_refusal_is_not_cached(client: httpx.AsyncClient, db: AsyncSession) -> None:
    key_id, key = await add_key(db, "admin")
    await revoke_key(db, key_id)
    assert refusal(await who(client, key)) == UNKNOWN_KEY
    await db.execute(update(ApiKey).where(ApiKey.id == key_id).values(revoked_at=None))
    assert (await who(client, key)).status_code == 200


# Managing keys: what `engagement-hub keys create|list|revoke` do


@pytest.mark.parametrize(
    ("role", "scope", "message"),
    [
        ("admin", "state:NW", "The admin role takes no scope"),
        ("funder", None, "The funder role needs the scope funder:<slug>."),
        ("coordinator", "state:NW", "The coordinator role needs the scope city:<slug>."),
        ("state_partner", "state:XX", "Unknown state in scope 'state:XX'."),
        ("funder", "funder:no-such-funder", "Unknown funder in scope 'funder:no-such-funder'."),
        ("coordinator", "city:atlantis", "Unknown city in scope 'city:atlantis'."),
        ("funder", "funder", "Malformed scope 'funder'"),
        ("public", None, "Unknown role 'public'"),
        ("root", None, "Unknown role 'root'"),
    ],
)
async def test_a_scope_must_fit_the_role_and_name_an_existing_row(
    db: AsyncSession, places: Places, role: str, scope: str | None, message: str
) -> None:
    with pytest.raises(InvalidGrant) as refused:
        await resolve_grant(db, role, scope)
    assert str(refused.value).startswith(message)


async def test_a_key_needs_a_name(db: AsyncSession) -> None:
    with pytest.raises(InvalidGrant, match="name must be 1 to 200 characters"):
        await create_key(db, "  ", await resolve_grant(db, "admin", None))


async def test_the_listing_names_scopes_by_slug_and_holds_no_hash(
    db: AsyncSession, places: Places
) -> None:
    funder_key_id, funder_key = await add_key(db, "funder", "funder:buergerstiftung-test")
    city_key_id, _ = await add_key(db, "coordinator", "city:koenigswinter-test")
    await revoke_key(db, city_key_id)
    listings = {listing.id: listing for listing in await list_keys(db)}
    assert str(listings[funder_key_id].scope) == "funder:buergerstiftung-test"
    assert listings[funder_key_id].role is Role.FUNDER
    assert listings[funder_key_id].prefix == funder_key[:12]
    assert listings[funder_key_id].revoked_at is None
    assert str(listings[city_key_id].scope) == "city:koenigswinter-test"
    assert listings[city_key_id].revoked_at is not None
    assert "hash" not in " ".join(field.name for field in dataclasses.fields(listings[city_key_id]))


async def test_revoking_twice_keeps_the_first_revocation(db: AsyncSession) -> None:
    key_id, _ = await add_key(db, "admin")
    first, revoked_now = await revoke_key(db, key_id)
    assert revoked_now
    assert await revoke_key(db, key_id) == (first, False)


async def test_revoking_an_unknown_key_says_so(db: AsyncSession) -> None:
    with pytest.raises(UnknownKey, match="No API key has the id 999999"):
        await revoke_key(db, 999_999)


# OpenID Connect tokens


@pytest.fixture(scope="module")
def issuer() -> Iterator[Issuer]:
    with serving_issuer() as issuer:
        yield issuer


def oidc_settings(jwks_url: str) -> dict[str, Any]:
    """The settings of an issuer whose keys `jwks_url` publishes."""
    return {"oidc_issuer": ISSUER, "oidc_audience": AUDIENCE, "oidc_jwks_url": jwks_url}


@pytest.fixture
async def oidc_client(
    connection: AsyncConnection, issuer: Issuer
) -> AsyncIterator[httpx.AsyncClient]:
    """The app, accepting the test issuer's tokens."""
    async with hub_client(connection, **oidc_settings(issuer.jwks_url)) as client:
        yield client


async def test_a_token_maps_its_claims_to_the_viewer(
    oidc_client: httpx.AsyncClient, issuer: Issuer, places: Places
) -> None:
    token = issuer.token(hub_role="coordinator", hub_scope="city:koenigswinter-test")
    response = await who(oidc_client, token)
    assert response.json() == {
        "role": "coordinator",
        "subject": "oidc:alice",
        "state_code": None,
        "funder_id": None,
        "city_id": places.city_id,
    }


async def test_an_admin_token_needs_no_scope(
    oidc_client: httpx.AsyncClient, issuer: Issuer
) -> None:
    response = await oidc_client.post(
        "/graphql",
        json={"query": "{ states { code } }"},
        headers={"Authorization": f"Bearer {issuer.token()}"},
    )
    assert response.status_code == 200
    assert (await who(oidc_client, issuer.token())).json()["role"] == "admin"


async def test_the_claim_names_are_configurable(
    connection: AsyncConnection, issuer: Issuer, places: Places
) -> None:
    settings = oidc_settings(issuer.jwks_url) | {
        "oidc_role_claim": "roles",
        "oidc_scope_claim": "scope_of",
    }
    token = issuer.token(hub_role=None, roles="state_partner", scope_of="state:NW")
    async with hub_client(connection, **settings) as client:
        assert (await who(client, token)).json()["state_code"] == "NW"


def a_while_ago() -> int:
    """Ten minutes ago, as a Unix time."""
    return int(time.time()) - 600


def a_while_ahead() -> int:
    """Ten minutes from now, as a Unix time."""
    return int(time.time()) + 600


# Tokens with one flaw each, made from the test issuer, and the start of the refusal each gets.
FLAWED_TOKENS = [
    pytest.param(
        lambda issuer: issuer.token(exp=a_while_ago()), "The token has expired.", id="expired"
    ),
    pytest.param(
        lambda issuer: issuer.token(nbf=a_while_ahead()),
        "The token is not valid yet",
        id="not-yet-valid",
    ),
    pytest.param(
        lambda issuer: issuer.token(aud="other-api"),
        "The token was issued for another audience.",
        id="other-audience",
    ),
    pytest.param(
        lambda issuer: issuer.token(iss="https://login.example.com"),
        "The token was issued by another issuer.",
        id="other-issuer",
    ),
    pytest.param(
        lambda issuer: issuer.token(key=new_rsa_key()),
        "The token's signature is not valid.",
        id="foreign-signature",
    ),
    pytest.param(
        lambda issuer: issuer.token(exp=None), "The token has no 'exp' claim.", id="no-expiry"
    ),
    pytest.param(
        lambda issuer: issuer.token(sub=None), "The token has no 'sub' claim.", id="no-subject"
    ),
    pytest.param(
        lambda issuer: issuer.token(headers={"kid": "rotated-away"}),
        "The token names no signing key the issuer publishes.",
        id="unknown-key-id",
    ),
    pytest.param(
        lambda issuer: hand_made_token({"alg": "none"}, issuer.claims(), None),
        "The token's signing algorithm is not accepted",
        id="alg-none",
    ),
    pytest.param(
        lambda issuer: hand_made_token(
            {"alg": "HS256", "kid": KEY_ID}, issuer.claims(), issuer.public_pem()
        ),
        "The token's signing algorithm is not accepted",
        id="hs256-signed-with-the-public-key",
    ),
    pytest.param(
        lambda issuer: "not-a-jwt", "The bearer credential is neither an API key", id="no-jwt"
    ),
    pytest.param(
        lambda issuer: issuer.token(hub_role=None),
        "The token has no 'hub_role' claim",
        id="no-role",
    ),
    pytest.param(
        lambda issuer: issuer.token(hub_role="superuser"),
        "The token grants no access: Unknown role 'superuser'",
        id="unknown-role",
    ),
    pytest.param(
        lambda issuer: issuer.token(hub_role="public"),
        "The token grants no access: Unknown role 'public'",
        id="public-role",
    ),
    pytest.param(
        lambda issuer: issuer.token(hub_role="funder"),
        "The token grants no access: The funder role needs the scope funder:<slug>.",
        id="scope-missing",
    ),
    pytest.param(
        lambda issuer: issuer.token(hub_role="coordinator", hub_scope="city:atlantis"),
        "The token grants no access: Unknown city in scope 'city:atlantis'.",
        id="unknown-slug",
    ),
    pytest.param(
        lambda issuer: issuer.token(hub_role="coordinator", hub_scope=["city:koenigswinter"]),
        "The token's 'hub_scope' claim must be a string.",
        id="scope-not-a-string",
    ),
]


@pytest.mark.parametrize(("make_token", "message"), FLAWED_TOKENS)
async def test_a_flawed_token_is_refused_saying_why(
    oidc_client: httpx.AsyncClient,
    issuer: Issuer,
    places: Places,
    make_token: Callable[[Issuer], str],
    message: str,
) -> None:
    assert refusal(await who(oidc_client, make_token(issuer))).startswith(message)


async def test_a_token_is_refused_when_no_issuer_is_configured(
    client: httpx.AsyncClient, issuer: Issuer
) -> None:
    assert refusal(await who(client, issuer.token())) == NO_ISSUER


async def test_an_unreachable_issuer_is_a_503_not_a_bad_token(
    connection: AsyncConnection, issuer: Issuer
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    settings = oidc_settings(f"http://127.0.0.1:{closed_port}/jwks.json")
    async with hub_client(connection, **settings) as client:
        response = await who(client, issuer.token())
    assert response.status_code == 503
    [error] = response.json()["errors"]
    assert error["extensions"] == {"code": "AUTHENTICATION_UNAVAILABLE"}
    assert error["message"].startswith("The token issuer's signing keys could not be fetched")


def test_the_cache_keeps_a_token_no_longer_than_its_expiry() -> None:
    cache = ViewerCache(seconds=60)
    cache.put("expired", PUBLIC, not_after=0)
    cache.put("valid", PUBLIC, not_after=2**40)
    assert cache.get("expired") is None
    assert cache.get("valid") is PUBLIC


def test_the_cache_is_bounded_dropping_the_oldest() -> None:
    cache = ViewerCache(seconds=60, max_entries=2)
    for digest in ("first", "second", "third"):
        cache.put(digest, PUBLIC)
    assert [cache.get(digest) for digest in ("first", "second", "third")] == [None, PUBLIC, PUBLIC]


def test_half_an_oidc_configuration_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HUB_OIDC_ISSUER", ISSUER)
    monkeypatch.delenv("HUB_OIDC_AUDIENCE", raising=False)
    monkeypatch.delenv("HUB_OIDC_JWKS_URL", raising=False)
    with pytest.raises(ValueError, match="also set HUB_OIDC_AUDIENCE, HUB_OIDC_JWKS_URL"):
        Settings.from_env()


# WebSocket upgrades, driven through the app's ASGI interface (httpx speaks no WebSocket)


async def websocket_session(
    incoming: list[dict[str, Any]],
    authorization: str | None = None,
    denial_responses: bool = True,
) -> list[Message]:
    """What the app sends on a WebSocket to /graphql that receives `incoming` and then ends.

    `denial_responses` says whether the server supports answering the upgrade with HTTP.
    The app's sessions reach no database: none of these sessions needs one.
    """
    app = create_app(sessions=async_sessionmaker(), settings=settings_with())
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    scope = websocket_scope(headers, denial_responses=denial_responses)
    messages = [{"type": "websocket.connect"}, *incoming, {"type": "websocket.disconnect"}]
    sent: list[Message] = []

    async def receive() -> Message:
        return messages.pop(0) if messages else {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), timeout=5)
    return sent


async def test_a_websocket_without_credential_is_accepted_as_public() -> None:
    init = {"type": "websocket.receive", "text": json.dumps({"type": "connection_init"})}
    sent = await websocket_session([init])
    assert sent[0]["type"] == "websocket.accept"
    assert json.loads(sent[1]["text"]) == {"type": "connection_ack"}


async def test_a_websocket_with_a_bad_credential_gets_the_401() -> None:
    start, body = await websocket_session([], authorization="Bearer not-a-key")
    assert start["type"] == "websocket.http.response.start"
    assert start["status"] == 401
    assert json.loads(body["body"])["errors"][0]["message"] == NO_ISSUER


async def test_a_websocket_is_closed_saying_why_where_the_server_cannot_answer_with_http() -> None:
    sent = await websocket_session([], "Bearer not-a-key", denial_responses=False)
    assert sent == [{"type": "websocket.close", "code": 1008, "reason": NO_ISSUER}]


async def test_a_refused_token_leaves_its_words_out_of_the_log(
    oidc_client: httpx.AsyncClient, issuer: Issuer, caplog: pytest.LogCaptureFixture
) -> None:
    """A key id no key has is the client's word: the refusal is counted on the request's log
    line, and no log record quotes it (one did, at INFO)."""
    caplog.set_level(logging.DEBUG)
    marker = "erika.kid-marker@logtest.example"
    refused = await who(oidc_client, issuer.token(headers={"kid": marker}))
    assert refusal(refused).startswith("The token names no signing key the issuer publishes.")
    assert not [record for record in caplog.records if marker in record.getMessage()]
