"""A limit on the size of request bodies, refused with 413 before more than the limit is read.

Neither Starlette nor uvicorn limits request bodies, and a GraphQL request needs a few
kilobytes at most.
"""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class BodyTooLarge(Exception):
    """The body has turned out longer than the limit while it was read."""


class BodySizeLimit:
    """Refuse HTTP requests whose body is longer than `max_bytes` (413, a JSON error).

    A `Content-Length` over the limit is refused before any of the body is read; a body
    without one (chunked) or longer than it said is counted as it arrives and refused as
    soon as it passes the limit, so no more than the limit is ever held.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self.refuse(
                send, f"Request body has {declared} bytes, more than the limit of {self.max_bytes}."
            )
            return
        received = 0
        responded = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.max_bytes:
                raise BodyTooLarge
            return message

        async def watching_send(message: Message) -> None:
            nonlocal responded
            responded = responded or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge:
            if responded:
                raise
            await self.refuse(
                send, f"Request body has more than {self.max_bytes} bytes, the limit."
            )

    @staticmethod
    async def refuse(send: Send, message: str) -> None:
        """Answer 413 with a GraphQL-style error; the connection closes, its body unread."""
        error = {"message": message, "extensions": {"code": "REQUEST_TOO_LARGE"}}
        body = json.dumps({"errors": [error]}).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def content_length(scope: Scope) -> int | None:
    """The request's declared body length (None: not declared, or not a number)."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
