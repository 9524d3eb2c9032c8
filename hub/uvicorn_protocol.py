"""uvicorn's httptools protocol, writing what one turn of the event loop writes at once.

uvicorn writes a response's status line and headers as soon as the app starts the response,
and its body as a second write: two system calls, and two TCP segments for the client to
read, for every small answer. Through `TurnBatchedWrites`, the writes of one turn of the
event loop go out together at its end, in one vectored write (uvloop's `writelines` copies
nothing). An answer from the response cache costs about a quarter less CPU so
(docs/response-cache.md). A streamed response (subscriptions, @defer) sends each part at the
end of the turn that wrote it; a turn that writes more than `FLUSH_BYTES` sends at once, so
that the transport's flow control holds back a large response as before.

Hand-written: neither uvicorn nor uvloop batches writes (uvloop sends each at once), and
aiohttp's coalescing of headers and body is its own server's.
"""

import asyncio
from collections.abc import Iterable
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# Held bytes beyond which a turn's writes go out without waiting for its end.
FLUSH_BYTES = 64 * 1024
# What uvicorn's `--http` option names to serve with this protocol.
PROTOCOL = "hub.uvicorn_protocol:BatchedHttpToolsProtocol"


class TurnBatchedWrites:
    """A transport whose writes wait for the end of the event loop's turn, then go out
    together; everything else is the wrapped transport's."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self.loop = loop
        self.held: list[bytes] = []
        self.held_bytes = 0

    def write(self, data: bytes) -> None:
        """Hold `data` until the turn ends, or send it with what is held if that is a lot."""
        if not self.held:
            self.loop.call_soon(self.flush)
        self.held.append(data)
        self.held_bytes += len(data)
        if self.held_bytes >= FLUSH_BYTES:
            self.flush()

    def writelines(self, chunks: Iterable[bytes]) -> None:
        """Hold each of `chunks`, as `write` does."""
        for chunk in chunks:
            self.write(chunk)

    def flush(self) -> None:
        """Send what is held, in one call; drop it if the connection is going (the peer
        left, and uvicorn wrote nothing after it knew)."""
        held, self.held, self.held_bytes = self.held, [], 0
        if held and not self.transport.is_closing():
            self.transport.writelines(held)

    def write_eof(self) -> None:
        """Send what is held, then end the stream."""
        self.flush()
        self.transport.write_eof()

    def close(self) -> None:
        """Send what is held, then close (the transport sends its buffer first)."""
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        """Drop what is held, and the connection with it."""
        self.held, self.held_bytes = [], 0
        self.transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.transport, name)


class BatchedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, its writes batched by turn of the event loop
    (`TurnBatchedWrites`); a connection upgraded to a WebSocket keeps the batching."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # Typed as the transport it stands for: what it does not define, it hands on.
        batched = cast(asyncio.Transport, TurnBatchedWrites(cast(Any, transport), self.loop))
        super().connection_made(batched)
