"""Settings read from the environment, in one place."""

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "engagement-hub"


def default_data_dir() -> Path:
    """Where the embedded PostgreSQL keeps its data when `HUB_DATA_DIR` is not set.

    Root gets a system-wide directory: PostgreSQL refuses to run as root, and the unprivileged
    user it runs as could not reach a data directory below /root.
    """
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return Path("/var/lib") / APP_NAME
    return platformdirs.user_data_path(APP_NAME)


@dataclass(frozen=True)
class Settings:
    """The hub's configuration; every field comes from one environment variable."""

    database_url: str | None
    data_dir: Path
    pg_binaries: str
    max_page_size: int
    pool_size: int
    debug: bool
    compiled: bool

    @classmethod
    def from_env(cls) -> "Settings":
        """Read the settings from the process environment."""
        return cls(
            database_url=os.environ.get("DATABASE_URL") or None,
            data_dir=Path(os.environ.get("HUB_DATA_DIR") or default_data_dir()),
            pg_binaries=os.environ.get("HUB_PG_BINARIES", "auto"),
            max_page_size=int(os.environ.get("HUB_MAX_PAGE_SIZE", "100")),
            pool_size=int(os.environ.get("HUB_POOL_SIZE", "10")),
            debug=os.environ.get("HUB_DEBUG", "") not in ("", "0", "false"),
            compiled=os.environ.get("HUB_COMPILED", "1") not in ("", "0", "false"),
        )
