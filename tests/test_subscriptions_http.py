"""Subscriptions over HTTP: Server-Sent Events and Apollo's multipart protocol (Hive Gateway's
and Apollo Router's transports to subgraphs), each subscriber seeing what its role may see;
and a clear refusal where the request accepts neither."""

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest

from server import SUBSCRIPTION_OVER_HTTP
from tests.test_cli import environment, free_port, serving
from tests.test_subscriptions import (
    DELIVERY_SECONDS,
    admin_key_and_recipient,
    bearer,
    data_and_codes,
    events_database,  # noqa: F401
)
from tests.writes import mutate

SSE = "text/event-stream"
MULTIPART = 'multipart/mixed;subscriptionSpec="1.0", application/json'
FUNDINGS = "subscription { fundingRecorded { title amountEur } }"


async def sse_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The results of a stream of Server-Sent Events (`next` events), as they come."""
    async for line in response.aiter_lines():
        if line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: ") and event == "next":
            yield json.loads(line.removeprefix("data: "))


async def multipart_events(response: httpx.Response) -> AsyncIterator[dict[str, Any]]:
    """The results of a multipart subscription, as they come; heartbeats (`{}`) skipped."""
    buffer = ""
    async for text in response.aiter_text():
        buffer += text
        *parts, buffer = buffer.split("--graphql")
        for part in parts:
            _, _, body = part.partition("\r\n\r\n")
            if body.strip() and "payload" in (message := json.loads(body)):
                yield message["payload"]


@asynccontextmanager
async def subscribed(
    url: str, accept: str, key: str | None = None, query: str = FUNDINGS
) -> AsyncIterator[asyncio.Queue[dict[str, Any]]]:
    """A subscription to `query` streamed from `url` as `accept` asks; its results arrive in
    the queue yielded, each as `{"payload": result}` (as over a WebSocket)."""
    results: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    events = sse_events if accept == SSE else multipart_events
    headers = {"Accept": accept} | bearer(key)
    async with (
        httpx.AsyncClient(timeout=None) as client,
        client.stream("POST", url, json={"query": query}, headers=headers) as response,
    ):
        assert response.status_code == 200, await response.aread()

        async def receive() -> None:
            async for result in events(response):
                await results.put({"payload": result})

        task = asyncio.create_task(receive())
        try:
            yield results
        finally:
            task.cancel()


async def received(results: asyncio.Queue[dict[str, Any]]) -> dict[str, Any] | None:
    """The next result, or None if none comes in time."""
    try:
        return await asyncio.wait_for(results.get(), DELIVERY_SECONDS)
    except TimeoutError:
        return None


async def record_until_heard(
    writer: httpx.AsyncClient,
    admin: str,
    funding: dict[str, Any],
    *subscribers: asyncio.Queue[dict[str, Any]],
) -> None:
    """Record fundings until every subscriber heard of one (subscriptions start listening a
    moment after they are sent), then take what is left, for a quiet line."""
    for attempt in range(10):
        await mutate(
            writer, "recordFunding", {"input": funding | {"title": f"Anlauf {attempt}"}}, admin
        )
        if all([await received(each) is not None for each in subscribers]):
            break
    else:
        pytest.fail("no event delivered")
    for each in subscribers:
        while await received(each) is not None:
            pass


async def confidential_funding_seen(
    writer: httpx.AsyncClient,
    admin: str,
    funding: dict[str, Any],
    *subscribers: asyncio.Queue[dict[str, Any]],
) -> list[tuple[Any, list[str]]]:
    """What each subscriber sees of a confidential funding recorded now."""
    confidential = funding | {"title": "Vertraulich", "amountConfidential": True}
    await mutate(writer, "recordFunding", {"input": confidential}, admin)
    return [data_and_codes(await received(each), "fundingRecorded") for each in subscribers]


HIDDEN = ({"title": "Vertraulich", "amountEur": None}, ["FORBIDDEN"])
SHOWN = ({"title": "Vertraulich", "amountEur": "5000.00"}, [])


@pytest.mark.slow
async def test_subscribers_over_sse_and_multipart_see_what_their_role_may(
    events_database: str,  # noqa: F811
) -> None:
    admin, funding = await admin_key_and_recipient(events_database)
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    with serving(port, environment(DATABASE_URL=events_database)):
        async with (
            httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as writer,
            subscribed(url, SSE) as public_sse,
            subscribed(url, MULTIPART) as public_multipart,
            subscribed(url, SSE, admin) as office_sse,
            subscribed(url, MULTIPART, admin) as office_multipart,
        ):
            subscribers = (public_sse, public_multipart, office_sse, office_multipart)
            await record_until_heard(writer, admin, funding, *subscribers)
            seen = await confidential_funding_seen(writer, admin, funding, *subscribers)
    assert seen == [HIDDEN, HIDDEN, SHOWN, SHOWN]


@pytest.mark.slow
async def test_a_client_streams_no_more_subscriptions_than_its_connection_limit(
    events_database: str,  # noqa: F811
) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}/graphql"
    env = environment(DATABASE_URL=events_database, HUB_MAX_CONNECTIONS_PER_CLIENT="1")
    with serving(port, env):
        async with subscribed(url, SSE), httpx.AsyncClient() as client:
            headers = {"Accept": SSE}
            refused = await client.post(url, json={"query": FUNDINGS}, headers=headers)
        async with subscribed(url, MULTIPART):
            pass  # the first stream's connection was released when it ended
    assert refused.status_code == 429
    assert refused.json()["errors"][0]["extensions"] == {"code": "TOO_MANY_CONNECTIONS"}


async def test_a_subscription_without_a_streaming_accept_type_is_refused_clearly(
    demo_client: httpx.AsyncClient,
) -> None:
    for accept in ("application/json", "application/graphql-response+json"):
        response = await demo_client.post(
            "/graphql", json={"query": FUNDINGS}, headers={"Accept": accept}
        )
        assert response.status_code == 400
        assert response.json()["errors"] == [
            {"message": SUBSCRIPTION_OVER_HTTP, "extensions": {"code": "BAD_REQUEST"}}
        ]
