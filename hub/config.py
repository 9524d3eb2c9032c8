"""Settings read from the environment, in one place."""

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import platformdirs

from hub.failures import Refused

APP_NAME = "engagement-hub"


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data when `HUB_DATA_DIR` is not set.

    Root gets a system-wide directory: PostgreSQL refuses to run as root, and the unprivileged
    user it runs as could not reach a data directory below /root.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib") / APP_NAME
    return platformdirs.user_data_path(APP_NAME)


class ConfigurationError(Refused, ValueError):
    """The environment configures the hub inconsistently; the message says how."""


OIDC_VARIABLES = ("HUB_OIDC_ISSUER", "HUB_OIDC_AUDIENCE", "HUB_OIDC_JWKS_URL")
ENVIRONMENTS = ("development", "production")
PERSISTED_QUERY_MODES = ("apq", "allowlist", "off")
LOG_FORMATS = ("text", "json")
# What an answer from the response cache costs: what computing it would, or nothing.
CACHE_CHARGES = ("computed", "free")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
# 32 characters: a random secret of that length is beyond guessing (`openssl rand -hex 16`).
GATEWAY_SECRET_MIN_LENGTH = 32
# The Apollo Federation version the subgraph SDL declares by default: the lowest whose
# directives the hub may use (`@key` on the interface `Node` needs 2.3, the others 2.0), which
# every composition library knows (The Guild's knows 2.0 to 2.9); strawberry refuses to build
# a schema whose directives need more than it declares.
LOWEST_FEDERATION_VERSION: Final = "2.3"
# In production, the public's answers are fresh in HTTP caches for a minute: a write reaches
# every reader of an often asked answer within it. A cache may then serve one stale answer,
# at most five minutes later, while it fetches the fresh one, so that no reader waits for it.
PRODUCTION_MAX_AGE_SECONDS = 60
PRODUCTION_STALE_WHILE_REVALIDATE_SECONDS = 300


def federation_version_choices() -> tuple[str, ...]:
    """The versions a gateway's composition may ask for: any strawberry knows from the lowest
    on. Imported when asked: the command line's `--help` imports no strawberry."""
    from strawberry.federation.versions import FEDERATION_VERSIONS

    lowest = FEDERATION_VERSIONS[LOWEST_FEDERATION_VERSION]
    return tuple(version for version, number in FEDERATION_VERSIONS.items() if number >= lowest)


def flag(name: str, default: bool) -> bool:
    """A yes/no setting: unset or empty means `default`; `0` and `false` mean no."""
    value = os.environ.get(name, "")
    return default if value == "" else value not in ("0", "false")


def choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str:
    """One of `choices` (`default`, or the first, when unset); anything else is a
    configuration error."""
    value = os.environ.get(name) or default or choices[0]
    if value not in choices:
        raise ConfigurationError(f"{name} must be one of {', '.join(choices)}, not {value!r}")
    return value


def days(name: str, default: int) -> int:
    """A number of days: unset or empty means `default`; anything but a whole number of at
    least 1 is a configuration error."""
    value = os.environ.get(name) or str(default)
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ConfigurationError(
            f"{name} must be a whole number of days, at least 1, not {value!r}"
        )
    return int(value)


def seconds(name: str, default: int) -> int:
    """A number of seconds: unset or empty means `default`; anything but a whole number of at
    least 0 is a configuration error."""
    value = os.environ.get(name) or str(default)
    if not (value.isascii() and value.isdigit()):
        raise ConfigurationError(f"{name} must be a whole number of seconds, not {value!r}")
    return int(value)


def gateway_secret() -> str | None:
    """HUB_GATEWAY_SECRET: unset, or long enough that nobody guesses it."""
    secret = os.environ.get("HUB_GATEWAY_SECRET") or None
    if secret is not None and len(secret) < GATEWAY_SECRET_MIN_LENGTH:
        raise ConfigurationError(
            f"HUB_GATEWAY_SECRET must be at least {GATEWAY_SECRET_MIN_LENGTH} characters long"
        )
    return secret


@dataclass(frozen=True)
class Settings:
    """The hub's configuration; every field comes from one environment variable."""

    database_url: str | None
    replica_url: str | None
    data_dir: Path
    pg_binaries: str
    max_page_size: int
    pool_size: int
    debug: bool
    compiled: bool
    auth_cache_seconds: float
    # OpenID Connect: bearer tokens are accepted only when issuer, audience and JWKS are all set.
    oidc_issuer: str | None
    oidc_audience: str | None
    oidc_jwks_url: str | None
    oidc_role_claim: str
    oidc_scope_claim: str
    # HUB_ENV=production: introspection and GraphiQL default to off (errors are masked anyway).
    production: bool
    introspection: bool
    graphiql: bool
    # Browser origins allowed to call the API (CORS) and to open WebSockets; "*" allows any.
    cors_origins: tuple[str, ...]
    # Persisted queries: "apq" (Apollo's automatic ones), "allowlist" (only registered), "off".
    persisted_queries: str
    allowlist: Path | None
    # Safety limits (schema/limits.py): each refuses a request before it runs.
    max_query_depth: int
    max_aliases: int
    max_tokens: int
    max_query_cost: int
    max_body_bytes: int
    statement_timeout_ms: int
    # Rate limits (hub/ratelimit.py): cost points per hour; 0 turns a budget off.
    rate_limit_public: int
    rate_limit_key: int
    redis_url: str | None
    # The response cache (hub/response_cache.py): bytes it holds in the process (0: none),
    # the age it keeps an answer at most (0: until a write changes what it read), and whether
    # an answer from it costs the client's budget what computing it would.
    response_cache_bytes: int
    response_cache_max_age_seconds: float
    response_cache_charge: bool
    # WebSockets (hub/connections.py): operations one connection may run at once, and
    # connections one client (a credential, or the public's address) may hold open.
    max_subscriptions_per_connection: int
    max_connections_per_client: int
    # Logs: one JSON object per line (the default in production) or plain text; the level.
    log_json: bool
    log_level: str
    # The bearer token scrapers send to read /metrics; without it, production serves none.
    metrics_token: str | None
    # The secret a federation gateway sends in `Hub-Gateway-Secret` (hub/gateway.py).
    gateway_secret: str | None
    # The Apollo Federation version `_service { sdl }` declares (schema/federation.py).
    federation_version: str
    # Whether that SDL declares `interface Node @key(fields: "id")` (schema/federation.py).
    federation_node_key: bool
    # Days the contacts of rejected and withdrawn applications are kept (`privacy purge`).
    application_contact_retention_days: int
    # HTTP caching of the public's query answers (hub/http_caching.py): how long a cache may
    # serve one (0: revalidate every time), and serve it stale while it fetches a fresh one.
    http_max_age_seconds: int
    http_stale_while_revalidate_seconds: int

    @classmethod
    def from_env(cls) -> "Settings":
        """Read the settings from the process environment."""
        oidc_set = [name for name in OIDC_VARIABLES if os.environ.get(name)]
        if oidc_set and len(oidc_set) < len(OIDC_VARIABLES):
            # Half a configuration would silently refuse every token; say what is missing.
            missing = ", ".join(name for name in OIDC_VARIABLES if name not in oidc_set)
            raise ConfigurationError(f"OpenID Connect is configured in part: also set {missing}")
        production = choice("HUB_ENV", ENVIRONMENTS) == "production"
        persisted_queries = choice("HUB_PERSISTED_QUERIES", PERSISTED_QUERY_MODES)
        allowlist = os.environ.get("HUB_ALLOWLIST") or None
        if persisted_queries == "allowlist" and allowlist is None:
            raise ConfigurationError(
                "HUB_PERSISTED_QUERIES=allowlist needs HUB_ALLOWLIST: the registered operations"
            )
        if allowlist is not None and not Path(allowlist).exists():
            raise ConfigurationError(f"HUB_ALLOWLIST: {allowlist} does not exist")
        settings = cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            replica_url=os.environ.get("DATABASE_REPLICA_URL") or None,
            data_dir=Path(os.environ.get("HUB_DATA_DIR") or default_data_dir()),
            pg_binaries=os.environ.get("HUB_PG_BINARIES", "auto"),
            max_page_size=int(os.environ.get("HUB_MAX_PAGE_SIZE", "100")),
            pool_size=int(os.environ.get("HUB_POOL_SIZE", "10")),
            debug=os.environ.get("HUB_DEBUG", "") not in ("", "0", "false"),
            compiled=os.environ.get("HUB_COMPILED", "1") not in ("", "0", "false"),
            auth_cache_seconds=float(os.environ.get("HUB_AUTH_CACHE_SECONDS", "10")),
            oidc_issuer=os.environ.get("HUB_OIDC_ISSUER") or None,
            oidc_audience=os.environ.get("HUB_OIDC_AUDIENCE") or None,
            oidc_jwks_url=os.environ.get("HUB_OIDC_JWKS_URL") or None,
            oidc_role_claim=os.environ.get("HUB_OIDC_ROLE_CLAIM") or "hub_role",
            oidc_scope_claim=os.environ.get("HUB_OIDC_SCOPE_CLAIM") or "hub_scope",
            production=production,
            introspection=flag("HUB_ALLOW_INTROSPECTION", default=not production),
            graphiql=flag("HUB_GRAPHIQL", default=not production),
            cors_origins=tuple(
                origin.strip()
                for origin in os.environ.get("HUB_CORS_ORIGINS", "").split(",")
                if origin.strip()
            ),
            persisted_queries=persisted_queries,
            allowlist=Path(allowlist) if allowlist else None,
            max_query_depth=int(os.environ.get("HUB_MAX_QUERY_DEPTH", "15")),
            max_aliases=int(os.environ.get("HUB_MAX_ALIASES", "30")),
            max_tokens=int(os.environ.get("HUB_MAX_TOKENS", "2000")),
            max_query_cost=int(os.environ.get("HUB_MAX_QUERY_COST", "500000")),
            max_body_bytes=int(os.environ.get("HUB_MAX_BODY_BYTES", "65536")),
            statement_timeout_ms=int(os.environ.get("HUB_STATEMENT_TIMEOUT_MS", "10000")),
            rate_limit_public=int(os.environ.get("HUB_RATE_LIMIT_PUBLIC", "1000000")),
            rate_limit_key=int(os.environ.get("HUB_RATE_LIMIT_KEY", "10000000")),
            redis_url=os.environ.get("HUB_REDIS_URL") or None,
            response_cache_bytes=int(os.environ.get("HUB_RESPONSE_CACHE_BYTES", "67108864")),
            response_cache_max_age_seconds=float(
                os.environ.get("HUB_RESPONSE_CACHE_MAX_AGE_SECONDS", "0")
            ),
            response_cache_charge=choice("HUB_RESPONSE_CACHE_CHARGE", CACHE_CHARGES) == "computed",
            max_subscriptions_per_connection=int(
                os.environ.get("HUB_MAX_SUBSCRIPTIONS_PER_CONNECTION", "10")
            ),
            max_connections_per_client=int(os.environ.get("HUB_MAX_CONNECTIONS_PER_CLIENT", "10")),
            log_json=choice("HUB_LOG_FORMAT", LOG_FORMATS, "json" if production else "text")
            == "json",
            log_level=choice("HUB_LOG_LEVEL", LOG_LEVELS, default="INFO"),
            metrics_token=os.environ.get("HUB_METRICS_TOKEN") or None,
            gateway_secret=gateway_secret(),
            federation_version=choice("HUB_FEDERATION_VERSION", federation_version_choices()),
            federation_node_key=flag("HUB_FEDERATION_NODE_KEY", default=False),
            application_contact_retention_days=days(
                "HUB_APPLICATION_CONTACT_RETENTION_DAYS", default=180
            ),
            http_max_age_seconds=seconds(
                "HUB_HTTP_MAX_AGE_SECONDS", default=PRODUCTION_MAX_AGE_SECONDS if production else 0
            ),
            http_stale_while_revalidate_seconds=seconds(
                "HUB_HTTP_STALE_WHILE_REVALIDATE_SECONDS",
                default=PRODUCTION_STALE_WHILE_REVALIDATE_SECONDS if production else 0,
            ),
        )
        settings.check_rate_limits()
        return settings

    def check_rate_limits(self) -> None:
        """Refuse a budget smaller than the cost limit: queries within the limit costing more
        than the budget could never run, and their clients would retry forever."""
        budgets = {
            "HUB_RATE_LIMIT_PUBLIC": self.rate_limit_public,
            "HUB_RATE_LIMIT_KEY": self.rate_limit_key,
        }
        for name, budget in budgets.items():
            if 0 < budget < self.max_query_cost:
                raise ConfigurationError(
                    f"{name} ({budget}) is below HUB_MAX_QUERY_COST ({self.max_query_cost}): "
                    "raise it, or lower the cost limit"
                )
