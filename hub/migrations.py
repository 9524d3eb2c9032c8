"""Alembic, driven from Python: the CLI, the server and the tests migrate through here."""

import asyncio

from alembic import command
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.script.revision import RevisionError
from alembic.util import CommandError

from hub.database import engine_for
from hub.failures import Refused
from hub.resources import folder

# Indexes that only migrations declare, not the models: search's expression indexes.
MIGRATION_ONLY_INDEX_PREFIX = "ix_search_"


def alembic_config(url: str) -> Config:
    """Alembic's configuration for the database at `url`, independent of the working directory."""
    config = Config()
    config.set_main_option("script_location", str(folder("alembic")))
    # ConfigParser interpolation would read the `%` of URL-encoded passwords.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


class WrongDirection(Refused, ValueError):
    """A migration's target lies the other way from the database's revision than asked."""


def migrate(url: str, revision: str, down: bool) -> None:
    """Migrate the database at `url` up to `revision`, or down to it with `down`.

    A target the other way is refused: alembic's upgrade to an older revision does nothing
    and says nothing, and going down drops what the later revisions added, so it has to be
    asked for. Unknown revisions are refused with alembic's reason.
    """
    config = alembic_config(url)
    try:
        scripts = ScriptDirectory.from_config(config)
        current = asyncio.run(current_revision(url))
        # The current revision and those before it; base is before them all (no revision).
        passed = {step.revision for step in scripts.iterate_revisions(current, "base")}
        targets = {step.revision for step in scripts.get_revisions(revision)}
    except (CommandError, RevisionError) as error:
        raise WrongDirection(str(error)) from None
    older = targets <= passed and targets != {current}
    if older and not down:
        raise WrongDirection(
            f"{revision} is older than the database's revision {current}; migrating down "
            "drops what the later revisions added: add --down to do so"
        )
    if down and not targets <= passed:
        raise WrongDirection(
            f"{revision} is newer than the database's revision {current}: migrate up, "
            "without --down"
        )
    (downgrade if down else upgrade)(url, revision)


async def current_revision(url: str) -> str | None:
    """The revision the database at `url` is at (None: not migrated at all)."""
    async with engine_for(url) as engine, engine.connect() as connection:
        return await connection.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )


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
