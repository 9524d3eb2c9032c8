"""A stand-in OpenID Connect issuer: an RSA key pair, its JWKS served over HTTP, and tokens."""

import base64
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://login.example.org/realms/engagierte-stadt"
AUDIENCE = "engagement-hub"
KEY_ID = "test-key-1"


def new_rsa_key() -> rsa.RSAPrivateKey:
    """A fresh 2048-bit RSA private key."""
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@dataclass
class Issuer:
    """Signs tokens with its private key; `jwks_url` publishes the public half."""

    private_key: rsa.RSAPrivateKey
    jwks_url: str

    def claims(self, **overrides: Any) -> dict[str, Any]:
        """Valid claims of an admin token for the next five minutes, with `overrides`.

        An override of None leaves the claim out.
        """
        now = int(time.time())
        claims = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "alice",
            "iat": now,
            "nbf": now,
            "exp": now + 300,
            "hub_role": "admin",
        }
        return {name: value for name, value in (claims | overrides).items() if value is not None}

    def token(
        self,
        *,
        key: rsa.RSAPrivateKey | None = None,
        headers: dict[str, Any] | None = None,
        **overrides: Any,
    ) -> str:
        """A token with `claims(**overrides)`, signed RS256 with `key` (default: the issuer's)."""
        return jwt.encode(
            self.claims(**overrides),
            key or self.private_key,
            algorithm="RS256",
            headers={"kid": KEY_ID} | (headers or {}),
        )

    def public_pem(self) -> bytes:
        """The public key as PEM, as an attacker could download it."""
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )


def base64url(data: bytes) -> str:
    """Unpadded base64url, as JWTs write their parts."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def hand_made_token(header: dict[str, Any], claims: dict[str, Any], secret: bytes | None) -> str:
    """A JWT assembled by hand: HS256 over `secret`, or unsigned (`alg: none`) without one.

    PyJWT refuses to make either with a public key, which is just what an attacker would try.
    """
    signing_input = ".".join(base64url(json.dumps(part).encode()) for part in (header, claims))
    if secret is None:
        return f"{signing_input}."
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64url(signature)}"


def jwks_of(private_key: rsa.RSAPrivateKey) -> dict[str, Any]:
    """The JWKS publishing the public half of `private_key`."""
    public = jwt.algorithms.RSAAlgorithm.to_jwk(private_key.public_key(), as_dict=True)
    return {"keys": [public | {"kid": KEY_ID, "use": "sig", "alg": "RS256"}]}


@contextmanager
def serving_issuer() -> Iterator[Issuer]:
    """An issuer whose JWKS an HTTP server on 127.0.0.1 serves while the block runs."""
    private_key = new_rsa_key()
    body = json.dumps(jwks_of(private_key)).encode()

    class JwksHandler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the tests' output is not the place for access logs."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), JwksHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        yield Issuer(private_key, f"http://{host!s}:{port}/jwks.json")
    finally:
        server.shutdown()
        server.server_close()
