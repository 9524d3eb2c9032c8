"""Optional PostgreSQL features: which the connected database offers, detected, not guessed."""

import logging
from dataclasses import dataclass

from sqlalchemy import column, exists, select, table
from sqlalchemy.ext.asyncio import AsyncConnection

logger = logging.getLogger(__name__)

_extensions = table("pg_extension", column("extname"))


@dataclass(frozen=True)
class Features:
    """What the database offers beyond plain PostgreSQL; search degrades without it."""

    trigram: bool = False
    """pg_trgm is installed: search tolerates typos in names."""

    def log(self) -> None:
        """Say in one line what search can do on this database."""
        if self.trigram:
            logger.info("pg_trgm is installed: search tolerates typos in names")
        else:
            logger.warning(
                "pg_trgm is not installed: search matches words and prefixes, "
                "without typo tolerance"
            )


# Nothing optional assumed: what every PostgreSQL offers, the pgserver wheel's included.
BASELINE = Features()


async def detect(connection: AsyncConnection) -> Features:
    """The features of the database `connection` is connected to, in one query."""
    trigram = exists().where(_extensions.c.extname == "pg_trgm")
    return Features(trigram=bool(await connection.scalar(select(trigram))))
