"""Every entry point costs what it can return: `_entities` by its representations, `nodes` by
its ids, each event a subscription delivers by its selection, charged to the subscriber's
budget; WebSockets hold a limited number of operations, clients a limited number of
WebSockets; one event for many subscribers is delivered one subscriber at a time."""

import asyncio
import base64
import dataclasses
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from graphql import GraphQLList, get_introspection_query, get_nullable_type, parse
from graphql.execution.values import VariableValues, get_variable_values
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker
from sqlalchemy.orm import Session

import models
import server
from hub.config import Settings
from hub.events import CHANNEL, Events
from hub.features import detect
from schema import schema
from schema.limits import LIMITS, Cost
from server import create_app
from tests.conftest import sessions_on
from tests.factories import add_key
from tests.generated_queries import field_selection, named, selection
from tests.helpers import property_settings, websocket_scope
from tests.test_limits import list_items

ANSWER_SECONDS = 5.0
# Federation's key of each entity type other than its global ID, and the model holding it.
ENTITY_MODELS = {
    "City": models.City,
    "Funder": models.Funder,
    "Actor": models.Actor,
    "Funding": models.Funding,
    "LocalNetwork": models.LocalNetwork,
    "Measure": models.Measure,
}
# What a city selects in the refused query of test_limits: 100 * (1 + 100) items.
CITY_SELECTION = """partnerCities { edges { node {
  localNetwork { actors { edges { node { name } } } } } } }"""
ENTITIES = f"""query Entities($representations: [_Any!]!) {{
  _entities(representations: $representations) {{ ... on City {{ {CITY_SELECTION} }} }}
}}"""


def global_id(type_name: str, key: object) -> str:
    """The global ID of an object."""
    return base64.b64encode(f"{type_name}:{key}".encode()).decode()


@pytest.fixture
async def global_ids(demo_connection: AsyncConnection) -> list[tuple[str, str]]:
    """(type name, global ID) of some objects of each entity type of the demo data."""
    found = []
    for type_name, model in ENTITY_MODELS.items():
        keys = await demo_connection.scalars(select(model.id).order_by(model.id).limit(40))
        found += [(type_name, global_id(type_name, key)) for key in keys]
    return found


@pytest.fixture
async def keys(demo_connection: AsyncConnection) -> list[str | None]:
    """The credentials of every role (none: the public), each seeing more than the public."""
    city = await demo_connection.scalar(select(models.City.id).order_by(models.City.id).limit(1))
    funder = await demo_connection.scalar(select(models.Funder.id).limit(1))
    async with sessions_on(demo_connection)() as session:
        found: list[str | None] = [
            None,
            await add_key(session, models.Role.ADMIN),
            await add_key(session, models.Role.STATE_PARTNER, state_code="NW"),
            await add_key(session, models.Role.FUNDER, funder_id=funder),
            await add_key(session, models.Role.COORDINATOR, city_id=city),
        ]
        await session.commit()
    return found


async def demo_app_client(
    connection: AsyncConnection, **changes: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the app on the demo data, with the debug figures and `changes`."""
    app_settings = dataclasses.replace(Settings.from_env(), debug=True, **changes)
    app = create_app(
        sessions=sessions_on(connection), settings=app_settings, features=await detect(connection)
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        yield client


@pytest.fixture(params=[True, False], ids=["compiled", "resolvers"])
async def client(
    request: pytest.FixtureRequest, demo_connection: AsyncConnection
) -> AsyncIterator[httpx.AsyncClient]:
    async for client in demo_app_client(demo_connection, compiled=request.param):
        yield client


async def answer(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any], key: str | None = None
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    body = {"query": query, "variables": variables}
    response = await client.post("/graphql", json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


# Finding 5: `_entities` escaped the cost limit.


async def test_entities_cost_as_many_items_as_representations(
    client: httpx.AsyncClient, global_ids: list[tuple[str, str]]
) -> None:
    city = next(gid for type_name, gid in global_ids if type_name == "City")
    one = [{"__typename": "City", "id": city}]
    body = await answer(client, ENTITIES, {"representations": one})
    assert "errors" not in body, body
    assert body["extensions"]["cost"]["requested"] == 1 + 100 * (1 + 100)

    # The same document with 1,400 representations: its cost is not the one cached for one.
    body = await answer(client, ENTITIES, {"representations": one * 1400})
    assert body["data"] is None
    assert body["extensions"]["debug"]["sqlStatements"] == 0
    assert body["extensions"]["cost"]["requested"] == 1400 * (1 + 100 * (1 + 100))
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}


async def test_nodes_cost_as_many_items_as_ids_given_as_variable(
    client: httpx.AsyncClient, global_ids: list[tuple[str, str]]
) -> None:
    query = f"""query Nodes($ids: [ID!]!) {{ nodes(ids: $ids) {{
      ... on City {{ {CITY_SELECTION} }} }} }}"""
    ids = [global_ids[0][1]]
    body = await answer(client, query, {"ids": ids})
    assert body["extensions"]["cost"]["requested"] == 1 + 100 * (1 + 100)
    body = await answer(client, query, {"ids": ids * 50})
    assert body["extensions"]["cost"]["requested"] == 50 * (1 + 100 * (1 + 100))
    [error] = body["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}


def test_every_list_argument_multiplies_the_cost_of_its_field() -> None:
    """A list field of the schema taking a list argument answers one item per element: its
    cost grows with the argument's length (today `nodes(ids:)` and `_entities`)."""
    graphql_schema = schema._schema
    found = []
    for root in (graphql_schema.query_type, graphql_schema.mutation_type):
        assert root is not None
        for name, field in root.fields.items():
            lists = [
                argument_name
                for argument_name, argument in field.args.items()
                if isinstance(get_nullable_type(argument.type), GraphQLList)
            ]
            if not lists or not isinstance(get_nullable_type(field.type), GraphQLList):
                continue
            found.append(name)
            for argument_name in lists:
                costs = [
                    cost_with_list(name, argument_name, named(field.type), length)
                    for length in (0, 3, 700)
                ]
                assert costs == [1, 3, 700], (name, argument_name, costs)
    assert sorted(found) == ["_entities", "nodes"]


def cost_with_list(field_name: str, argument_name: str, returned: Any, length: int) -> int:
    """The cost of `{ field(argument: $list) { __typename } }` with a list of `length`."""
    argument_type = schema._schema.query_type.fields[field_name].args[argument_name].type  # type: ignore[union-attr]
    document = parse(
        f"query Q($list: {argument_type}) {{ {field_name}({argument_name}: $list) "
        "{ __typename } }"
    )
    operation = document.definitions[0]
    item: Any = {"__typename": "City", "id": "x"} if argument_name == "representations" else "x"
    variables = get_variable_values(
        schema._schema,
        operation.variable_definitions,  # type: ignore[attr-defined]
        {"list": [item] * length},
    )
    assert isinstance(variables, VariableValues)
    return Cost(schema._schema, document, operation, variables, LIMITS.max_page_size).total()  # type: ignore[arg-type]


# The class: over every root field, the cost bounds the answer.


@st.composite
def root_queries(draw: st.DrawFn, global_ids: list[tuple[str, str]]) -> tuple[str, Any]:
    """A query of one root field of the schema (any), with many ids and representations
    passed as variables (repeated objects answer again)."""
    query_type = schema._schema.query_type
    assert query_type is not None
    # The fields answering one object per list item half the time, any root field otherwise.
    name = draw(
        st.sampled_from(["nodes", "_entities"]) | st.sampled_from(sorted(query_type.fields))
    )
    field = query_type.fields[name]
    length = draw(st.integers(0, 260))
    many = st.lists(st.sampled_from(global_ids), min_size=length, max_size=length)
    inner = selection(schema._schema, named(field.type), 2)
    if name == "nodes":
        ids = [gid for _type, gid in draw(many)]
        return f"query Q($ids: [ID!]!) {{ nodes(ids: $ids) {draw(inner)} }}", {"ids": ids}
    if name == "_entities":
        representations = [{"__typename": t, "id": gid} for t, gid in draw(many)]
        query = f"query Q($r: [_Any!]!) {{ _entities(representations: $r) {draw(inner)} }}"
        return query, {"r": representations}
    return "{ " + draw(field_selection_of(name)) + " }", {}


@st.composite
def field_selection_of(draw: st.DrawFn, name: str) -> str:
    """A selection of the root field `name`, as the differential test draws them."""
    query_type = schema._schema.query_type
    return draw(field_selection(schema._schema, query_type, name, 1))


@property_settings(40)
@given(data=st.data())
async def test_no_root_field_answers_more_list_items_than_its_cost(
    demo_connection: AsyncConnection,
    global_ids: list[tuple[str, str]],
    keys: list[str | None],
    data: st.DataObject,
) -> None:
    query, variables = data.draw(root_queries(global_ids))
    compiled = data.draw(st.booleans())
    key = data.draw(st.sampled_from(keys))
    savepoint = await demo_connection.begin_nested()
    try:
        async for client in demo_app_client(demo_connection, compiled=compiled):
            body = await answer(client, query, variables, key)
    finally:
        await savepoint.rollback()
    cost = body.get("extensions", {}).get("cost")
    if cost is not None:
        assert list_items(body.get("data")) <= cost["requested"], query


# Finding 4: subscriptions amplified load. Driven through the app's ASGI interface, events
# handed to its `Events` as the LISTENing connection hands them.


class Socket:
    """A WebSocket to the app's /graphql, from the address `client`."""

    def __init__(
        self,
        app: Any,
        client: str = "127.0.0.1",
        headers: dict[str, str] | None = None,
        buffer: int = 0,
    ):
        """`buffer`: the messages the client's side holds unread at most (0: any number);
        beyond that, the app's send waits, as it does for a client that stopped reading."""
        scope = websocket_scope(
            [(name.lower().encode(), value.encode()) for name, value in (headers or {}).items()]
        )
        scope["client"] = (client, 50000)
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue(maxsize=buffer)
        self.incoming.put_nowait({"type": "websocket.connect"})
        self.task = asyncio.create_task(app(scope, self.incoming.get, self.outgoing.put))

    async def send(self, message: dict[str, Any]) -> None:
        await self.incoming.put({"type": "websocket.receive", "text": json.dumps(message)})

    async def receive(self) -> dict[str, Any]:
        """The next GraphQL message, or the close as {"type": "closed", ...}."""
        while True:
            sent = await asyncio.wait_for(self.outgoing.get(), ANSWER_SECONDS)
            if sent["type"] == "websocket.send":
                return json.loads(sent["text"])
            if sent["type"] == "websocket.close":
                return {"type": "closed", "code": sent["code"], "reason": sent.get("reason")}

    async def open(self) -> dict[str, Any]:
        """Send connection_init; the answer (connection_ack, or the close)."""
        await self.send({"type": "connection_init", "payload": {}})
        return await self.receive()

    async def close(self) -> None:
        await self.incoming.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(self.task, ANSWER_SECONDS)


def subscribe(id_: str, query: str) -> dict[str, Any]:
    return {"id": id_, "type": "subscribe", "payload": {"query": query}}


@pytest.fixture
async def events(demo_connection: AsyncConnection) -> Events:
    """Events handed to the app by the test (not listening to the database)."""
    return Events("postgresql://unused")


def subscription_app(connection: AsyncConnection, events: Events, **changes: Any) -> Any:
    """The app on the demo data with these events and `changes` to the settings."""
    return create_app(
        sessions=sessions_on(connection),
        events=events,
        settings=dataclasses.replace(Settings.from_env(), **changes),
    )


async def listening(events: Events, subscriptions: int) -> None:
    """Wait until `subscriptions` subscriptions wait for events."""
    for _ in range(500):
        if len(events._queues) >= subscriptions:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the subscriptions did not start listening")


async def recorded(connection: AsyncConnection, events: Events) -> None:
    """Announce a funding of the demo data as recorded."""
    columns = select(models.Funding.id, models.Funding.funder_id).limit(1)
    funding = (await connection.execute(columns)).one()
    payload = {
        "kind": "funding_recorded",
        "data": {"id": funding.id, "funder_id": funding.funder_id},
    }
    events._receive(None, 0, CHANNEL, json.dumps(payload))


async def done_delivering(events: Events) -> None:
    """Wait until the delivery under way has finished (its session closed): closing its
    WebSocket sooner would cancel it on the test's one connection."""
    async with events.deliveries:
        pass


# Each event costs its 60 list items: the public's budget pays for the subscription (charged as
# it starts) and one event.
CHARGED = """subscription { fundingRecorded { title
  funder { fundings(first: 60) { edges { node { title } } } } } }"""
EVENT_COST = 60


async def test_each_event_is_charged_and_an_exhausted_budget_ends_the_subscription(
    demo_connection: AsyncConnection, events: Events
) -> None:
    app = subscription_app(
        demo_connection, events, rate_limit_public=2 * EVENT_COST + EVENT_COST // 2
    )
    socket = Socket(app)
    assert (await socket.open())["type"] == "connection_ack"
    await socket.send(subscribe("1", CHARGED))
    await listening(events, 1)

    await recorded(demo_connection, events)
    delivered = await socket.receive()
    assert delivered["type"] == "next" and "errors" not in delivered["payload"], delivered

    await recorded(demo_connection, events)
    ended = await socket.receive()
    assert ended["type"] == "next", ended
    assert ended["payload"].get("data") is None
    [error] = ended["payload"]["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    assert error["message"].startswith(f"Rate limit exceeded: this query costs {EVENT_COST} ")
    assert (await socket.receive())["type"] == "complete"
    await socket.close()


async def test_queries_over_a_websocket_are_charged_like_those_over_http(
    demo_connection: AsyncConnection, events: Events
) -> None:
    app = subscription_app(demo_connection, events, rate_limit_public=150)
    socket = Socket(app)
    await socket.open()
    query = "{ cities(first: 100) { edges { node { slug } } } }"
    await socket.send(subscribe("1", query))
    answered = await socket.receive()
    assert "errors" not in answered["payload"], answered
    assert (await socket.receive())["type"] == "complete"
    await socket.send(subscribe("2", query))
    refused = await socket.receive()
    assert refused["type"] == "error", refused
    [error] = refused["payload"]
    assert error["extensions"] == {"code": "RATE_LIMITED"}
    await socket.close()


async def test_a_subscription_costlier_than_the_limit_is_refused_at_once(
    demo_connection: AsyncConnection, events: Events
) -> None:
    fundings = "funder { fundings(first: 100) { edges { node { %s } } } }"
    costly = "subscription { fundingRecorded { %s } }" % (
        fundings % (fundings % (fundings % "title"))
    )
    socket = Socket(subscription_app(demo_connection, events))
    await socket.open()
    await socket.send(subscribe("1", costly))
    refused = await socket.receive()
    [error] = refused["payload"]["errors"]
    assert error["extensions"] == {"code": "QUERY_TOO_COSTLY"}
    assert not events._queues
    await socket.close()


async def test_a_connection_runs_at_most_the_limit_of_subscriptions(
    demo_connection: AsyncConnection, events: Events
) -> None:
    app = subscription_app(demo_connection, events, max_subscriptions_per_connection=2)
    socket = Socket(app)
    await socket.open()
    for id_ in ("1", "2", "3"):
        await socket.send(subscribe(id_, "subscription { fundingRecorded { title } }"))
    refused = await socket.receive()
    assert (refused["id"], refused["type"]) == ("3", "error")
    [error] = refused["payload"]
    assert error["extensions"] == {"code": "TOO_MANY_SUBSCRIPTIONS"}
    assert error["message"] == (
        "This connection runs 2 operations, the limit: complete one before subscribing again."
    )
    # Completing one makes room for another.
    await listening(events, 2)
    await socket.send({"id": "1", "type": "complete"})
    await socket.send(subscribe("4", "subscription { fundingRecorded { title } }"))
    await listening(events, 2)
    await recorded(demo_connection, events)
    ids = {(await socket.receive())["id"] for _ in range(2)}
    assert ids == {"2", "4"}
    await done_delivering(events)
    await socket.close()


async def test_a_client_holds_at_most_the_limit_of_connections(
    demo_connection: AsyncConnection, events: Events
) -> None:
    app = subscription_app(demo_connection, events, max_connections_per_client=2)
    first, second, third = Socket(app), Socket(app), Socket(app)
    assert (await first.open())["type"] == "connection_ack"
    assert (await second.open())["type"] == "connection_ack"
    assert await third.open() == {
        "type": "closed",
        "code": 4403,
        "reason": "Too many connections (WebSockets, streams): this client holds 2, the limit.",
    }
    # Another address is another client; a closed connection counts no longer.
    elsewhere = Socket(app, client="192.0.2.7")
    assert (await elsewhere.open())["type"] == "connection_ack"
    await first.close()
    again = Socket(app)
    assert (await again.open())["type"] == "connection_ack"
    for socket in (second, elsewhere, again):
        await socket.close()


async def test_one_event_reaches_its_subscribers_one_at_a_time(
    demo_connection: AsyncConnection, events: Events
) -> None:
    """However many subscribers an event has, one delivery at a time reads (a session of its
    own): the others, and requests, do not wait behind all of them at once."""

    class CountedSession(Session):
        """The sessions of this test's app."""

    sessions = async_sessionmaker(
        bind=demo_connection,
        expire_on_commit=False,
        join_transaction_mode="create_savepoint",
        sync_session_class=CountedSession,
    )
    open_now: set[Session] = set()
    most = 0

    def began(session: Any, *_: Any) -> None:
        nonlocal most
        open_now.add(session)
        most = max(most, len(open_now))

    def ended(session: Any, transaction: Any) -> None:
        if transaction.parent is None:
            open_now.discard(session)

    event.listen(CountedSession, "after_begin", began)
    event.listen(CountedSession, "after_transaction_end", ended)
    app = create_app(sessions=sessions, events=events)
    subscribers = [Socket(app, client=f"192.0.2.{n}") for n in range(8)]
    for socket in subscribers:
        await socket.open()
        await socket.send(subscribe("1", "subscription { fundingRecorded { title } }"))
    await listening(events, len(subscribers))
    most = 0
    await recorded(demo_connection, events)
    for socket in subscribers:
        assert (await socket.receive())["type"] == "next"
    await done_delivering(events)
    assert most == 1
    for socket in subscribers:
        await socket.close()


@property_settings(15)
@given(data=st.data())
async def test_no_event_delivers_more_list_items_than_it_is_charged(
    demo_connection: AsyncConnection, data: st.DataObject
) -> None:
    subscription_type = schema._schema.subscription_type
    assert subscription_type is not None
    funding = named(subscription_type.fields["fundingRecorded"].type)
    chosen = data.draw(selection(schema._schema, funding, 1))
    events = Events("postgresql://unused")
    socket = Socket(subscription_app(demo_connection, events))
    try:
        await socket.open()
        await socket.send(subscribe("1", f"subscription {{ fundingRecorded {chosen} }}"))
        await listening(events, 1)
        await recorded(demo_connection, events)
        delivered = await socket.receive()
        await done_delivering(events)
    finally:
        await socket.close()
    assert delivered["type"] == "next", delivered
    charged = delivered["payload"]["extensions"]["cost"]["requested"]
    assert list_items(delivered["payload"].get("data")) <= charged, chosen


@property_settings(15)
@given(data=st.data())
async def test_no_mutation_payload_holds_more_list_items_than_its_cost(
    demo_connection: AsyncConnection, data: st.DataObject
) -> None:
    """A mutation's payload is costed by the same rule: a funding recorded, its payload
    selecting anything of the funding (its funder's fundings, their cities, ...)."""
    mutation_type = schema._schema.mutation_type
    assert mutation_type is not None
    payload_type = named(mutation_type.fields["recordFunding"].type)
    chosen = data.draw(selection(schema._schema, payload_type, 1))
    savepoint = await demo_connection.begin_nested()
    try:
        async with sessions_on(demo_connection)() as session:
            key = await add_key(session, models.Role.ADMIN)
            await session.commit()
        funder = await demo_connection.scalar(select(models.Funder.id).limit(1))
        network = await demo_connection.scalar(select(models.LocalNetwork.id).limit(1))
        funding = {
            "funderId": global_id("Funder", funder),
            "recipientId": global_id("LocalNetwork", network),
            "contributionType": "FINANCIAL",
            "amountEur": "5000.00",
            "startsOn": "2025-01-01",
            "title": "Kosten",
        }
        query = f"mutation M($input: FundingInput!) {{ recordFunding(input: $input) {chosen} }}"
        async for client in demo_app_client(demo_connection):
            response = await client.post(
                "/graphql",
                json={"query": query, "variables": {"input": funding}},
                headers={"Authorization": f"Bearer {key}"},
            )
    finally:
        await savepoint.rollback()
    body = response.json()
    assert list_items(body.get("data")) <= body["extensions"]["cost"]["requested"], chosen


INTROSPECTION = {
    "types": "{ __schema { types { name } } }",
    "enum values": "{ __schema { types { enumValues { name } } } }",
    "graphiql": get_introspection_query(descriptions=True, input_value_deprecation=True),
}


@pytest.mark.parametrize("query", INTROSPECTION.values(), ids=INTROSPECTION.keys())
async def test_introspection_answers_no_more_list_items_than_its_cost(
    client: httpx.AsyncClient, query: str
) -> None:
    """Introspection's lists grow with the schema (152 types), not with the data: each counts
    what the schema holds at most, not the 20 items of a short domain."""
    body = await answer(client, query, {})
    assert "errors" not in body
    assert list_items(body["data"]) <= body["extensions"]["cost"]["requested"]
    assert body["extensions"]["cost"]["requested"] <= LIMITS.max_query_cost


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (
            {"query": "query A { states { code } } query B { states { name } }"},
            "The document holds several operations, or none: name the one to run in "
            "`operationName`.",
        ),
        (
            {"query": "query A { states { code } }", "operationName": "Nope"},
            'Unknown operation named "Nope".',
        ),
    ],
    ids=["several operations without a name", "an unknown name"],
)
async def test_a_websocket_chooses_operations_as_http_does(
    demo_connection: AsyncConnection, events: Events, payload: dict[str, Any], message: str
) -> None:
    """Over a WebSocket too, the hub never guesses the operation to run (it ran the first of
    several, and an unknown name was a masked internal error), and the connection stays open."""
    socket = Socket(subscription_app(demo_connection, events))
    await socket.open()
    await socket.send({"id": "1", "type": "subscribe", "payload": payload})
    assert await socket.receive() == {
        "id": "1",
        "type": "error",
        "payload": [{"message": message, "extensions": {"code": "BAD_REQUEST"}}],
    }
    await socket.send(subscribe("2", "{ states { code } }"))
    assert (await socket.receive())["type"] == "next"
    await socket.close()


async def test_a_subscriber_that_stops_reading_is_dropped_not_waited_for(
    demo_connection: AsyncConnection,
    events: Events,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Events are delivered one at a time: a subscriber whose buffers are full (it stopped
    reading) held every other subscriber's events until its pings timed out. Its send now
    gives up after WEBSOCKET_SEND_SECONDS, its operations end (logged as no error), and its
    pings drop it."""
    monkeypatch.setattr(server, "WEBSOCKET_SEND_SECONDS", 0.3)
    app = subscription_app(demo_connection, events)
    # The stalled client reads no message after the connection's acknowledgement: the first
    # event fills its buffer, the second one's send waits.
    stalled = Socket(app, client="192.0.2.1", buffer=1)
    reading = Socket(app, client="192.0.2.2")
    for socket in (stalled, reading):
        await socket.open()
        await socket.send(subscribe("1", "subscription { fundingRecorded { title } }"))
    await listening(events, 2)
    for _ in range(3):
        await recorded(demo_connection, events)
        assert (await reading.receive())["type"] == "next"
    await done_delivering(events)
    assert len(events._queues) == 1, "the stalled client's subscription ended"
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    await stalled.close()
    await reading.close()


async def test_a_websocket_that_never_initialises_is_closed_soon(
    demo_connection: AsyncConnection, events: Events, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connections count for their client from connection_init on: one that never sends it
    is closed after CONNECTION_INIT_SECONDS (strawberry waits a minute)."""
    monkeypatch.setattr(server, "CONNECTION_INIT_SECONDS", 0.2)
    socket = Socket(subscription_app(demo_connection, events))
    assert await socket.receive() == {
        "type": "closed",
        "code": 4408,
        "reason": "Connection initialisation timeout",
    }
