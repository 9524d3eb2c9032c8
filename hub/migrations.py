"""Alembic, driven from Python: the CLI, the server and the tests migrate through here."""

from pathlib import Path

from alembic import command
from alembic.config import Config

PROJECT_ROOT = Path(__file__).resolve().parent.parent
# Indexes that only migrations declare, not the models: search's expression indexes.
MIGRATION_ONLY_INDEX_PREFIX = "ix_search_"


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the database at `url`, independent of the working directory."""
    config = Config(str(PROJECT_ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(PROJECT_ROOT / "alembic"))
    # ConfigParser interpolation would read the `%` of URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` up to `revision`."""
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Migrate the database at `url` down to `revision`."""
    command.downgrade(alembic_config(url), revision)


def include_object(
    item: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    """Whether autogenerate compares `item` with the models: not the migration-only indexes."""
    return not (
        type_ == "index" and name is not None and name.startswith(MIGRATION_ONLY_INDEX_PREFIX)
    )
