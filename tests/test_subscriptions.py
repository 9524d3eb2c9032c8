"""Subscriptions over graphql-transport-ws: writes on one server process reach the
subscribers of every process, each seeing what its role may see."""

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import websockets
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from starlette.types import Message

import models
from hub.auth import CONFLICTING_CREDENTIALS, MALFORMED_PAYLOAD, NO_ISSUER
from hub.config import Settings
from hub.database import create_engine, session_factory
from hub.features import BASELINE
from hub.keys import UNKNOWN_KEY
from schema.subscriptions import ONLY_THE_OFFICE
from server import create_app
from tests.conftest import demo_database, drop_database, sessions_on
from tests.factories import add_key
from tests.helpers import counting_statements, websocket_scope
from tests.issuer import AUDIENCE, ISSUER, serving_issuer
from tests.test_cli import environment, free_port, serving
from tests.writes import gid, mutate

FUNDINGS = "subscription { fundingRecorded { title amountEur } }"
APPLICATIONS = "subscription { applicationStatusChanged { organisationName status } }"
DELIVERY_SECONDS = 1.0


@pytest.fixture
async def events_database(server_url: str) -> AsyncIterator[str]:
    """A database of the demo data for this test alone: its writes are committed."""
    url = await demo_database(server_url)
    yield url
    await drop_database(server_url, url)


def bearer(key: str | None) -> dict[str, str]:
    """The `Authorization` header of `key` (none without a key)."""
    return {"Authorization": f"Bearer {key}"} if key else {}


@asynccontextmanager
async def subscribed(
    port: int, query: str, key: str | None = None, init_key: str | None = None
) -> AsyncIterator[Any]:
    """A graphql-transport-ws connection to the server on `port` with `query` subscribed;
    `key` goes into the upgrade's Authorization header, `init_key` into connection_init."""
    async with websockets.connect(
        f"ws://127.0.0.1:{port}/graphql",
        subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        additional_headers=bearer(key),
    ) as socket:
        await socket.send(json.dumps({"type": "connection_init", "payload": bearer(init_key)}))
        assert json.loads(await socket.recv())["type"] == "connection_ack"
        message = {"id": "1", "type": "subscribe", "payload": {"query": query}}
        await socket.send(json.dumps(message))
        yield socket


async def received(socket: Any) -> dict[str, Any] | None:
    """The next message, or None if none comes in time."""
    try:
        return json.loads(await asyncio.wait_for(socket.recv(), DELIVERY_SECONDS))
    except TimeoutError:
        return None


async def drain(*sockets: Any) -> None:
    """Take every message waiting on the sockets."""
    for socket in sockets:
        while await received(socket) is not None:
            pass


async def admin_key_and_recipient(url: str) -> tuple[str, dict[str, Any]]:
    """An admin key, committed, and a funding input for some funder and local network."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            key = await add_key(session, models.Role.ADMIN)
            await session.commit()
            funder = await session.scalar(select(models.Funder).limit(1))
            network = await session.scalar(select(models.LocalNetwork).limit(1))
    finally:
        await engine.dispose()
    funding = {
        "funderId": gid(funder),
        "recipientId": gid(network),
        "contributionType": "FINANCIAL",
        "amountEur": "5000.00",
        "startsOn": "2025-01-01",
    }
    return key, funding


def application(name: str) -> dict[str, Any]:
    """The input of an application to join by the organisation `name`."""
    return {
        "kind": "PARTNER",
        "organisationName": name,
        "contact": {"fullName": "Erika Muster", "email": "erika@example.org"},
    }


@pytest.mark.slow
async def test_writes_on_one_process_reach_subscribers_of_every_process(
    events_database: str,
) -> None:
    admin, funding = await admin_key_and_recipient(events_database)
    env = environment(DATABASE_URL=events_database)
    ports = free_port(), free_port()
    with serving(ports[0], env), serving(ports[1], env):
        writer = httpx.AsyncClient(base_url=f"http://127.0.0.1:{ports[1]}")
        async with (
            writer,
            subscribed(ports[0], FUNDINGS) as here,
            subscribed(ports[1], FUNDINGS) as there,
            subscribed(ports[0], APPLICATIONS, admin) as office,
            subscribed(ports[0], APPLICATIONS) as public,
        ):
            # The public may not follow applications: an error, and no data.
            refusal = await received(public)
            assert refusal is not None and refusal["payload"]["data"] is None
            [error] = refusal["payload"]["errors"]
            assert error["extensions"] == {"code": "FORBIDDEN"}

            # Subscriptions start listening a moment after they are sent: record until the
            # first funding arrives, then start from a quiet line.
            for attempt in range(10):
                input_ = funding | {"title": f"Anlauf {attempt}"}
                await mutate(writer, "recordFunding", {"input": input_}, admin)
                if await received(here) is not None:
                    break
            await drain(here, there)

            # A rejected write announces nothing; a committed one reaches every process.
            rejected = funding | {"title": "Abgelehnt", "amountEur": "-1"}
            assert (await mutate(writer, "recordFunding", {"input": rejected}, admin))["errors"]
            await mutate(writer, "recordFunding", {"input": funding | {"title": "Neu"}}, admin)
            for socket in (here, there):
                message = await received(socket)
                assert message is not None, "no event delivered"
                assert message["payload"]["data"]["fundingRecorded"] == {
                    "title": "Neu",
                    "amountEur": "5000.00",
                }

            applied = {"input": application("Stiftung Neu")}
            await mutate(writer, "submitApplication", applied, selection="")
            message = await received(office)
            assert message is not None, "no application event delivered"
            assert message["payload"]["data"]["applicationStatusChanged"] == {
                "organisationName": "Stiftung Neu",
                "status": "SUBMITTED",
            }


@pytest.mark.slow
async def test_a_key_in_connection_init_lets_the_office_follow_applications(
    events_database: str,
) -> None:
    admin, _ = await admin_key_and_recipient(events_database)
    port = free_port()
    with serving(port, environment(DATABASE_URL=events_database)):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as writer,
            subscribed(port, APPLICATIONS, init_key=admin) as office,
            subscribed(port, APPLICATIONS) as public,
        ):
            refusal = await received(public)
            assert refusal is not None and refusal["payload"]["data"] is None
            [error] = refusal["payload"]["errors"]
            assert error["extensions"] == {"code": "FORBIDDEN"}

            # Submit until the subscription, listening a moment after it was sent, hears one.
            for attempt in range(10):
                name = f"Stiftung {attempt}"
                await mutate(
                    writer, "submitApplication", {"input": application(name)}, selection=""
                )
                message = await received(office)
                if message is not None:
                    break
            assert message is not None, "no application event delivered"
            assert message["payload"]["data"]["applicationStatusChanged"] == {
                "organisationName": name,
                "status": "SUBMITTED",
            }

        # A bad key is refused as graphql-transport-ws prescribes: closed with 4403, saying why.
        async with websockets.connect(
            f"ws://127.0.0.1:{port}/graphql",
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
        ) as socket:
            await socket.send(json.dumps({"type": "connection_init", "payload": bearer(BAD_KEY)}))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(socket.recv(), DELIVERY_SECONDS)
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (FORBIDDEN_CLOSE, UNKNOWN_KEY)


# Authentication in connection_init, driven through the app's ASGI interface: the app's
# sessions work inside the test's transaction, and it has no events to deliver, so that a
# subscription to applications answers at once, with what its viewer may know.

BAD_KEY = "ehub_not-a-key-of-this-hub"
FORBIDDEN_CLOSE = 4403
NO_EVENTS = "This server delivers no events."
ANSWER_SECONDS = 5.0


def hub_app(connection: AsyncConnection, **settings: Any) -> Any:
    """The real app inside the test's transaction, with `settings` changed and no events."""
    return create_app(
        sessions=sessions_on(connection),
        settings=dataclasses.replace(Settings.from_env(), **settings),
        features=BASELINE,
    )


async def websocket_exchange(
    app: Any,
    messages: list[dict[str, Any]],
    headers: dict[str, str] | None = None,
    subprotocol: str = "graphql-transport-ws",
) -> list[Message]:
    """What `app` sends on a WebSocket to /graphql that sends it `messages`, until the app
    answers an operation or closes the connection."""
    encoded = [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
    scope = websocket_scope(encoded, subprotocol)
    incoming: list[Message] = [
        {"type": "websocket.connect"},
        *({"type": "websocket.receive", "text": json.dumps(message)} for message in messages),
    ]
    sent: list[Message] = []
    answered = asyncio.Event()

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.wait_for(answered.wait(), ANSWER_SECONDS)
        return {"type": "websocket.disconnect", "code": 1000}

    async def send(message: Message) -> None:
        sent.append(message)
        if message["type"] == "websocket.close" or '"id"' in message.get("text", ""):
            answered.set()

    await asyncio.wait_for(app(scope, receive, send), ANSWER_SECONDS * 2)
    return sent


def init(payload: dict[str, Any]) -> dict[str, Any]:
    """A connection_init message with `payload`."""
    return {"type": "connection_init", "payload": payload}


SUBSCRIBE_APPLICATIONS = {"id": "1", "type": "subscribe", "payload": {"query": APPLICATIONS}}


async def applications_answer(
    app: Any, payload: dict[str, Any], headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """The first answer to a subscription to applications, after connection_init with
    `payload`: the office is told that no events come, anybody else is refused."""
    sent = await websocket_exchange(app, [init(payload), SUBSCRIBE_APPLICATIONS], headers)
    texts = [json.loads(message["text"]) for message in sent if "text" in message]
    assert texts[0] == {"type": "connection_ack"}, sent
    return texts[1]


def error_of(answer: dict[str, Any]) -> str:
    """The one error's message of an operation's answer, or its code where it has one."""
    [error] = answer["payload"]["errors"]
    return error.get("extensions", {}).get("code") or error["message"]


def refusal_of(sent: list[Message]) -> tuple[int, str]:
    """The code and reason of a connection closed without acknowledging."""
    assert not any('"connection_ack"' in message.get("text", "") for message in sent), sent
    close = sent[-1]
    assert close["type"] == "websocket.close", sent
    return close["code"], close["reason"]


@pytest.fixture
async def office_key(db: AsyncSession) -> str:
    key = await add_key(db, models.Role.ADMIN)
    await db.commit()
    return key


@pytest.mark.parametrize("name", ["Authorization", "authorization"])
async def test_an_office_key_in_connection_init_is_the_office(
    connection: AsyncConnection, office_key: str, name: str
) -> None:
    answer = await applications_answer(hub_app(connection), {name: f"Bearer {office_key}"})
    assert error_of(answer) == NO_EVENTS


async def test_a_connection_without_credential_is_the_public(connection: AsyncConnection) -> None:
    answer = await applications_answer(hub_app(connection), {})
    assert error_of(answer) == "FORBIDDEN"


async def test_a_credential_in_both_header_and_payload_counts_when_they_agree(
    connection: AsyncConnection, office_key: str
) -> None:
    credential = {"Authorization": f"Bearer {office_key}"}
    answer = await applications_answer(hub_app(connection), credential, headers=credential)
    assert error_of(answer) == NO_EVENTS


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"Authorization": f"Bearer {BAD_KEY}"}, UNKNOWN_KEY),
        ({"authorization": "Bearer a.b.c"}, NO_ISSUER),
        ({"Authorization": BAD_KEY}, "Malformed Authorization header"),
        ({"Authorization": ["Bearer", BAD_KEY]}, MALFORMED_PAYLOAD),
        ({"Authorization": f"Bearer {BAD_KEY}", "authorization": "Bearer other"}, None),
    ],
    ids=["unknown-key", "token-without-issuer", "no-bearer", "not-a-string", "two-credentials"],
)
async def test_a_bad_credential_in_connection_init_closes_the_connection_saying_why(
    connection: AsyncConnection, payload: dict[str, Any], reason: str | None
) -> None:
    sent = await websocket_exchange(hub_app(connection), [init(payload), SUBSCRIBE_APPLICATIONS])
    code, said = refusal_of(sent)
    assert code == FORBIDDEN_CLOSE
    assert said.startswith(reason or CONFLICTING_CREDENTIALS)


async def test_a_payload_credential_other_than_the_headers_is_refused(
    connection: AsyncConnection, db: AsyncSession, office_key: str
) -> None:
    other = await add_key(db, models.Role.ADMIN)
    await db.commit()
    sent = await websocket_exchange(
        hub_app(connection),
        [init({"Authorization": f"Bearer {other}"}), SUBSCRIBE_APPLICATIONS],
        headers={"Authorization": f"Bearer {office_key}"},
    )
    assert refusal_of(sent) == (FORBIDDEN_CLOSE, CONFLICTING_CREDENTIALS)


async def test_the_legacy_graphql_ws_protocol_gets_the_refusal_as_connection_error(
    connection: AsyncConnection,
) -> None:
    payload = {"Authorization": f"Bearer {BAD_KEY}"}
    sent = await websocket_exchange(hub_app(connection), [init(payload)], subprotocol="graphql-ws")
    texts = [json.loads(message["text"]) for message in sent if "text" in message]
    assert texts == [
        {
            "type": "connection_error",
            "payload": {"message": UNKNOWN_KEY, "extensions": {"code": "UNAUTHENTICATED"}},
        }
    ]


async def test_a_key_checked_over_http_is_cached_for_connection_init(
    connection: AsyncConnection, office_key: str
) -> None:
    app = hub_app(connection)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        response = await client.post(
            "/graphql", json={"query": "{ __typename }"}, headers=bearer(office_key)
        )
    assert response.status_code == 200
    with counting_statements(connection.engine) as statements:
        answer = await applications_answer(app, bearer(office_key))
    assert error_of(answer) == NO_EVENTS
    assert statements.count == 0


async def test_a_token_in_connection_init_is_checked_like_a_header(
    connection: AsyncConnection,
) -> None:
    with serving_issuer() as issuer:
        app = hub_app(
            connection, oidc_issuer=ISSUER, oidc_audience=AUDIENCE, oidc_jwks_url=issuer.jwks_url
        )
        office = await applications_answer(app, bearer(issuer.token()))
        expired = issuer.token(exp=int(time.time()) - 600)
        refused = await websocket_exchange(app, [init(bearer(expired))])
    assert error_of(office) == NO_EVENTS
    assert refusal_of(refused) == (FORBIDDEN_CLOSE, "The token has expired.")


async def test_a_query_over_websocket_is_answered_in_a_text_frame(
    demo_connection: AsyncConnection,
) -> None:
    """A query's answer over WebSocket holds its data, also the compiled path's (UTF-8
    JSON as PostgreSQL wrote it), in a text frame: the only kind GraphQL clients read,
    where strawberry would send the bytes the hub encodes as a binary frame."""
    query = {"query": '{ city(slug: "koenigswinter") { name } }'}
    messages = [init({}), {"id": "1", "type": "subscribe", "payload": query}]
    sent = await websocket_exchange(hub_app(demo_connection, debug=True), messages)
    frames = [message for message in sent if message["type"] == "websocket.send"]
    assert all("bytes" not in frame for frame in frames), frames
    answer = json.loads(frames[1]["text"])
    assert answer["type"] == "next"
    assert answer["payload"]["data"] == {"city": {"name": "Königswinter"}}
    assert answer["payload"]["extensions"]["debug"]["readPath"] == "compiled"


KEY_CHANGES = {
    # A revoked key is refused as at the start.
    "revoked": ({"revoked_at": func.now()}, "UNAUTHENTICATED", UNKNOWN_KEY),
    # A key that is no longer the office's may not follow applications any more.
    "no longer the office's": (
        {"role": models.Role.STATE_PARTNER, "state_code": "NW"},
        "FORBIDDEN",
        ONLY_THE_OFFICE,
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize(("change", "code", "message"), KEY_CHANGES.values(), ids=KEY_CHANGES)
async def test_a_changed_key_ends_the_subscriptions_it_may_no_longer_follow(
    events_database: str, change: dict[str, Any], code: str, message: str
) -> None:
    admin, _ = await admin_key_and_recipient(events_database)
    port = free_port()
    env = environment(DATABASE_URL=events_database, HUB_AUTH_CACHE_SECONDS="0")
    with serving(port, env):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as writer,
            subscribed(port, APPLICATIONS, init_key=admin) as office,
        ):
            # Heard while the key holds (submitted until the subscription, listening a moment
            # after it was sent, hears one).
            for attempt in range(10):
                submitted = {"input": application(f"Stiftung {attempt}")}
                await mutate(writer, "submitApplication", submitted, selection="")
                if await received(office) is not None:
                    break
            else:
                pytest.fail("no application event delivered")

            await change_all_keys(events_database, change)
            submitted = {"input": application("Stiftung danach")}
            await mutate(writer, "submitApplication", submitted, selection="")
            ended = await received(office)
            assert ended is not None, "the subscription went on silently"
            assert ended["type"] == "next", ended
            [error] = ended["payload"]["errors"]
            assert (error["extensions"], error["message"]) == ({"code": code}, message)
            assert ended["payload"].get("data") is None
            assert json.loads(await office.recv())["type"] == "complete"


async def change_all_keys(url: str, values: dict[str, Any]) -> None:
    """Set `values` on every API key of the database at `url`, committed."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(update(models.ApiKey).values(**values))
    finally:
        await engine.dispose()


async def two_networks(url: str) -> tuple[str, str, str]:
    """The slug of a city with contact persons, its network's ID, and another network's ID."""
    engine = create_engine(url)
    try:
        async with session_factory(engine)() as session:
            city = await session.scalar(
                select(models.City)
                .join(models.ContactPerson, models.ContactPerson.city_id == models.City.id)
                .limit(1)
            )
            assert city is not None
            networks = await session.scalars(
                select(models.LocalNetwork).order_by(models.LocalNetwork.city_id != city.id)
            )
            own, other = list(networks)[:2]
    finally:
        await engine.dispose()
    return city.slug, gid(own), gid(other)


async def heard(writer: httpx.AsyncClient, key: str, socket: Any, write: Any) -> None:
    """Write (`write(attempt)`: a mutation and its arguments) until `socket` hears of it:
    subscriptions start listening a moment after they are sent."""
    for attempt in range(10):
        mutation, arguments = write(attempt)
        assert (await mutate(writer, mutation, arguments, key))["errors"] == []
        if await received(socket) is not None:
            return
    pytest.fail("no event delivered")


def data_and_codes(message: dict[str, Any] | None, field: str) -> tuple[Any, list[str]]:
    """An event's data of `field` and the codes of its errors."""
    assert message is not None, "no event delivered"
    errors = message["payload"].get("errors", [])
    return message["payload"]["data"][field], [error["extensions"]["code"] for error in errors]


@pytest.mark.slow
async def test_portals_follow_a_citys_network_seeing_what_their_role_may(
    events_database: str,
) -> None:
    admin, _ = await admin_key_and_recipient(events_database)
    slug, network, other = await two_networks(events_database)
    selection = "name city { contacts { email } }"
    query = f'subscription {{ localNetworkChanged(city: "{slug}") {{ {selection} }} }}'
    port = free_port()
    with serving(port, environment(DATABASE_URL=events_database)):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as writer,
            subscribed(port, query) as public,
            subscribed(port, query, admin) as office,
        ):

            def renamed(name: str) -> tuple[str, dict[str, Any]]:
                return "updateLocalNetwork", {"id": network, "input": {"name": name}}

            await heard(writer, admin, public, lambda attempt: renamed(f"Netz {attempt}"))
            await drain(public, office)

            # Another city's network is not this subscription's.
            elsewhere = {"id": other, "input": {"name": "Anderswo"}}
            await mutate(writer, "updateLocalNetwork", elsewhere, admin)
            assert await received(public) is None

            await mutate(writer, *renamed("Netzwerk Neu"), admin)
            seen, refused = data_and_codes(await received(public), "localNetworkChanged")
            assert (seen, refused) == (
                {"name": "Netzwerk Neu", "city": {"contacts": None}},
                ["FORBIDDEN"],
            )
            seen, refused = data_and_codes(await received(office), "localNetworkChanged")
            assert seen["name"] == "Netzwerk Neu" and seen["city"]["contacts"] and refused == []

            # A change of the network's actors is one of the network.
            actor = {"networkId": network, "slug": "neu-im-netz", "name": "Neu", "role": "MEMBER"}
            actor |= {"organisationType": "Verein", "sectorCode": "CIVIL_SOCIETY"}
            assert (await mutate(writer, "createActor", {"input": actor}, admin))["errors"] == []
            seen, _ = data_and_codes(await received(office), "localNetworkChanged")
            assert seen["name"] == "Netzwerk Neu"


@pytest.mark.slow
async def test_portals_hear_of_fundings_ending_without_confidential_amounts(
    events_database: str,
) -> None:
    admin, funding = await admin_key_and_recipient(events_database)
    query = "subscription { fundingEnded { title amountEur } }"
    port = free_port()
    with serving(port, environment(DATABASE_URL=events_database)):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as writer,
            subscribed(port, query) as public,
            subscribed(port, query, admin) as office,
        ):
            confidential = funding | {"title": "Vertraulich", "amountConfidential": True}
            recorded = await mutate(writer, "recordFunding", {"input": confidential}, admin)
            funding_id = recorded["result"]["id"]

            def ended(attempt: int) -> tuple[str, dict[str, Any]]:
                return "endFunding", {
                    "id": funding_id,
                    "input": {"endsOn": f"2025-12-{attempt + 10}"},
                }

            await heard(writer, admin, public, ended)
            await drain(public, office)
            await mutate(writer, *ended(20), admin)
            seen, refused = data_and_codes(await received(public), "fundingEnded")
            assert (seen, refused) == ({"title": "Vertraulich", "amountEur": None}, ["FORBIDDEN"])
            seen, refused = data_and_codes(await received(office), "fundingEnded")
            assert (seen, refused) == ({"title": "Vertraulich", "amountEur": "5000.00"}, [])
            # An end as it is stored ends nothing: no event.
            await mutate(writer, *ended(20), admin)
            assert await received(public) is None
