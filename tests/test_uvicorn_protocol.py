"""The HTTP protocol the hub serves with (hub/uvicorn_protocol.py): a turn's writes go out
together at its end, over a real socket. (WebSockets, streamed responses and keep-alive run
through it wherever the tests start `engagement-hub serve`.)"""

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvloop
from hypothesis import given
from hypothesis import strategies as st

from hub.uvicorn_protocol import FLUSH_BYTES, TurnBatchedWrites
from tests.helpers import property_settings
from tests.test_cli import environment, free_port, serving

HEADERS = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"


@asynccontextmanager
async def batched_socket() -> AsyncIterator[tuple[TurnBatchedWrites, socket.socket]]:
    """Batched writes to one end of a connected socket pair, and its other end, which reads
    without waiting."""
    ours, peer = socket.socketpair()
    peer.setblocking(False)
    loop = asyncio.get_running_loop()
    transport, _ = await loop.connect_accepted_socket(asyncio.Protocol, ours)
    try:
        yield TurnBatchedWrites(transport, loop), peer  # type: ignore[arg-type]
    finally:
        transport.abort()
        peer.close()


# The socket tests run on uvloop, the event loop the hub serves with: its transports refuse a
# write once closed, where asyncio's drop it with a warning.


def received(peer: socket.socket) -> bytes:
    """What the peer can read right now."""
    try:
        return peer.recv(1 << 20)
    except BlockingIOError:
        return b""


async def turn_ends() -> None:
    """Let the event loop finish its turn (and run what it scheduled for the next)."""
    for _ in range(3):
        await asyncio.sleep(0)


def test_a_turns_writes_wait_for_its_end_then_go_out_together() -> None:
    uvloop.run(a_turns_writes_wait_for_its_end_then_go_out_together())


async def a_turns_writes_wait_for_its_end_then_go_out_together() -> None:
    async with batched_socket() as (batched, peer):
        batched.write(HEADERS)
        batched.writelines([b"da", b"ta"])
        assert received(peer) == b""
        await turn_ends()
        assert received(peer) == HEADERS + b"data"
        batched.write(b"next")
        await turn_ends()
        assert received(peer) == b"next"


def test_a_large_turn_goes_out_without_waiting() -> None:
    uvloop.run(a_large_turn_goes_out_without_waiting())


async def a_large_turn_goes_out_without_waiting() -> None:
    async with batched_socket() as (batched, peer):
        batched.write(b"x" * (FLUSH_BYTES - 1))
        assert received(peer) == b""
        batched.write(b"y")
        assert len(received(peer)) > 0


def test_closing_sends_what_is_held_first_and_aborting_drops_it() -> None:
    uvloop.run(closing_sends_what_is_held_first_and_aborting_drops_it())


async def closing_sends_what_is_held_first_and_aborting_drops_it() -> None:
    async with batched_socket() as (batched, peer):
        batched.write(b"last words")
        batched.close()
        await turn_ends()
        assert received(peer) == b"last words"
    async with batched_socket() as (batched, peer):
        batched.write(b"never sent")
        batched.abort()
        await turn_ends()
        assert b"never sent" not in received(peer)


def test_what_is_held_when_the_connection_goes_is_dropped_quietly() -> None:
    uvloop.run(what_is_held_when_the_connection_goes_is_dropped_quietly())


async def what_is_held_when_the_connection_goes_is_dropped_quietly() -> None:
    loop = asyncio.get_running_loop()
    failures: list[dict[str, object]] = []
    loop.set_exception_handler(lambda _, context: failures.append(context))
    try:
        async with batched_socket() as (batched, _):
            # Closed as a peer's reset closes it, not through `batched`; uvicorn may write
            # once more before it hears of it.
            batched.transport.close()
            await asyncio.sleep(0.1)
            batched.write(b"too late")
            await turn_ends()
    finally:
        loop.set_exception_handler(None)
    assert failures == []


# Turns of writes: each a list of chunks, each chunk written alone or with the next ones.
TURNS = st.lists(
    st.lists(st.tuples(st.integers(0, 3 * FLUSH_BYTES // 2), st.booleans()), max_size=4),
    min_size=1,
    max_size=5,
)


@property_settings(40)
@given(turns=TURNS)
def test_every_byte_goes_out_once_in_order_held_no_longer_than_its_turn(
    turns: list[list[tuple[int, bool]]],
) -> None:
    uvloop.run(every_byte_goes_out_once_in_order(turns))


async def every_byte_goes_out_once_in_order(turns: list[list[tuple[int, bool]]]) -> None:
    async with batched_socket() as (batched, peer):
        sent, got = b"", b""
        for number, turn in enumerate(turns):
            chunks = [bytes([number % 256]) * size for size, _ in turn]
            for chunk, (_, with_next) in zip(chunks, turn, strict=True):
                if with_next:
                    batched.writelines([chunk[:1], chunk[1:]])
                else:
                    batched.write(chunk)
            sent += b"".join(chunks)
            if sum(map(len, chunks)) < FLUSH_BYTES:
                assert received(peer) == b""  # held until the turn ends
            got += await everything(peer, len(sent) - len(got))
        batched.close()
        await turn_ends()
        assert got == sent and received(peer) == b""


async def everything(peer: socket.socket, count: int) -> bytes:
    """`count` bytes from the peer, as they arrive (a large turn fills the socket's buffer)."""
    got = b""
    for _attempt in range(1000):
        await turn_ends()
        got += received(peer)
        if len(got) >= count:
            return got
    raise AssertionError(f"{len(got)} of {count} bytes arrived")


async def test_the_served_hub_answers_each_request_on_a_kept_alive_connection(
    demo_database_url: str,
) -> None:
    """`engagement-hub serve` speaks through the protocol: several requests on one kept-alive
    connection, each answered whole."""
    port = free_port()
    with serving(port, environment(DATABASE_URL=demo_database_url)):
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            answers = [
                await client.post("/graphql", json={"query": "{ states { code } }"})
                for _ in range(3)
            ]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
    assert len({answer.text for answer in answers}) == 1
    assert answers[0].json()["data"]["states"]
