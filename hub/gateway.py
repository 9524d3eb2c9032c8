"""The federation gateway's own credential: a shared secret in the `Hub-Gateway-Secret` header.

A request carrying it comes from the gateway (`HUB_GATEWAY_SECRET`), which enforces the
trusted documents itself: the allowlist does not apply to it, and the public behind it is
charged by the client address the gateway forwards. The secret grants no role: what the
request may see is still decided by the client's credential the gateway forwards in
`Authorization`.
"""

import hmac

from starlette.requests import HTTPConnection

GATEWAY_SECRET_HEADER = "Hub-Gateway-Secret"


def from_gateway(request: HTTPConnection) -> bool:
    """Whether `request` carries the gateway's secret (compared in constant time)."""
    secret: str | None = request.app.state.settings.gateway_secret
    if secret is None:  # first: most hubs have no gateway, and every request asks this
        return False
    sent = request.headers.get(GATEWAY_SECRET_HEADER)
    if sent is None:
        return False
    return hmac.compare_digest(sent.encode(), secret.encode())


def forwarded_client(request: HTTPConnection) -> str | None:
    """The client address the gateway forwards: the last `X-Forwarded-For` entry, the one
    the gateway added itself (those before it are the client's own word)."""
    forwarded = request.headers.get("X-Forwarded-For", "")
    client = forwarded.rsplit(",", 1)[-1].strip()
    return client or None
