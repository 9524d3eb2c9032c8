"""OpenID Connect tokens: JWTs of the configured issuer, checked against the keys it publishes,
whose claims name a role and scope as API keys do (hub/keys.py)."""

import asyncio
import logging
from typing import Any

import jwt
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.authentication import AuthenticationError

from hub.config import Settings
from hub.keys import InvalidGrant, resolve_grant
from resolvers.access import Viewer

logger = logging.getLogger(__name__)

# A JWKS publishes public keys: a symmetric algorithm (HS*) would verify with a key anyone can
# read, and `none` with no key at all. Only these are accepted, whatever a token's header says.
ASYMMETRIC_ALGORITHMS = [
    *("RS256", "RS384", "RS512", "PS256", "PS384", "PS512"),
    *("ES256", "ES384", "ES512", "EdDSA"),
]
REQUIRED_CLAIMS = ["exp", "iss", "aud", "sub"]
JWKS_TIMEOUT_SECONDS = 5.0
# The audit log's subject column holds `oidc:<sub>` in at most this many characters.
MAX_SUBJECT_LENGTH = 200

MALFORMED_TOKEN = "The bearer credential is neither an API key (ehub_…) nor a well-formed JWT."


class AuthenticationUnavailable(AuthenticationError):
    """The credential could not be checked (the token issuer is unreachable); not its fault."""


# Token flaws a client can fix, most specific first (PyJWT's errors subclass one another).
TOKEN_FLAWS: list[tuple[type[jwt.InvalidTokenError], str]] = [
    (jwt.ExpiredSignatureError, "The token has expired."),
    (jwt.ImmatureSignatureError, "The token is not valid yet: its 'nbf' lies in the future."),
    (jwt.InvalidAudienceError, "The token was issued for another audience."),
    (jwt.InvalidIssuerError, "The token was issued by another issuer."),
    (jwt.InvalidSignatureError, "The token's signature is not valid."),
    (jwt.InvalidAlgorithmError, "The token's signing algorithm does not match its key."),
]


def token_flaw(error: jwt.InvalidTokenError) -> str:
    """What is wrong with a token, in words for its client (no library internals)."""
    if isinstance(error, jwt.MissingRequiredClaimError):
        return f"The token has no '{error.claim}' claim."
    return next(
        (message for flaw, message in TOKEN_FLAWS if isinstance(error, flaw)),
        "The token is not valid.",
    )


class TokenVerifier:
    """Checks JWTs of the configured OpenID Connect issuer against the keys it publishes."""

    def __init__(
        self, issuer: str, audience: str, jwks_url: str, role_claim: str, scope_claim: str
    ) -> None:
        self.issuer = issuer
        self.audience = audience
        self.role_claim = role_claim
        self.scope_claim = scope_claim
        # PyJWKClient caches the key set (5 minutes) and refetches it for an unknown key id at
        # most every 30 seconds, so forged key ids cannot make every request fetch it.
        self.jwks = jwt.PyJWKClient(jwks_url, timeout=JWKS_TIMEOUT_SECONDS)

    @classmethod
    def from_settings(cls, settings: Settings) -> "TokenVerifier | None":
        """The verifier of the configured issuer; None when no issuer is configured."""
        if not (settings.oidc_issuer and settings.oidc_audience and settings.oidc_jwks_url):
            return None
        return cls(
            settings.oidc_issuer,
            settings.oidc_audience,
            settings.oidc_jwks_url,
            settings.oidc_role_claim,
            settings.oidc_scope_claim,
        )

    async def claims(self, token: str) -> dict[str, Any]:
        """The verified claims of `token`; any flaw is refused with a message naming it."""
        try:
            algorithm = jwt.get_unverified_header(token).get("alg")
        except jwt.InvalidTokenError:
            raise AuthenticationError(MALFORMED_TOKEN) from None
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise AuthenticationError(
                "The token's signing algorithm is not accepted: it must be an asymmetric one "
                "(RS256, ES256, ...) with a key the issuer publishes."
            )
        signing_key = await self.signing_key(token)
        try:
            return jwt.decode(
                token,
                signing_key,
                algorithms=ASYMMETRIC_ALGORITHMS,
                audience=self.audience,
                issuer=self.issuer,
                options={"require": REQUIRED_CLAIMS},
            )
        except jwt.InvalidTokenError as error:
            raise AuthenticationError(token_flaw(error)) from None

    async def signing_key(self, token: str) -> jwt.PyJWK:
        """The issuer's key that signed `token`, by the key id in its header."""
        try:
            # urllib blocks: fetch in a thread. Mostly this is a lookup in the cached key set.
            return await asyncio.to_thread(self.jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientConnectionError as error:
            logger.warning("fetching the OpenID Connect signing keys failed: %s", error)
            raise AuthenticationUnavailable(
                "The token issuer's signing keys could not be fetched; try again later."
            ) from None
        except jwt.InvalidTokenError:
            raise AuthenticationError(MALFORMED_TOKEN) from None
        except (jwt.PyJWKClientError, jwt.PyJWKSetError):
            # A client's mistake, counted on the request's log line; its message would quote
            # the token's key id, the client's words.
            raise AuthenticationError(
                "The token names no signing key the issuer publishes."
            ) from None

    async def viewer(self, session: AsyncSession, claims: dict[str, Any]) -> Viewer:
        """The viewer of verified `claims`: their role and scope claims, their subject."""
        role, scope = claims.get(self.role_claim), claims.get(self.scope_claim)
        if not isinstance(role, str):
            raise AuthenticationError(f"The token has no '{self.role_claim}' claim naming a role.")
        if scope is not None and not isinstance(scope, str):
            raise AuthenticationError(f"The token's '{self.scope_claim}' claim must be a string.")
        subject = f"oidc:{claims['sub']}"
        if len(subject) > MAX_SUBJECT_LENGTH:
            raise AuthenticationError("The token's 'sub' claim is too long.")
        try:
            grant = await resolve_grant(session, role, scope)
        except InvalidGrant as error:
            raise AuthenticationError(f"The token grants no access: {error}") from None
        return grant.viewer(subject)
