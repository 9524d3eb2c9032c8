"""Loading a data set into PostgreSQL with COPY, fast enough for hundreds of thousands of rows."""

from typing import Protocol

import asyncpg

from hub.demo.dataset import Dataset

# Rows per COPY: small enough for a progress bar to move while a large table loads.
BATCH_ROWS = 10_000


class LoadProgress(Protocol):
    """What loading a data set tells as it goes."""

    def begin(self, dataset: Dataset) -> None:
        """`dataset` is about to be loaded (the database has been found fit for it)."""

    def loaded(self, table: str, rows: int) -> None:
        """`rows` more rows of `table` are loaded."""


async def load_dataset(
    connection: asyncpg.Connection, dataset: Dataset, progress: LoadProgress | None = None
) -> None:
    """COPY every table's rows (in order) and move each identity sequence past the loaded ids.

    Runs inside the transaction the caller opened, so a failure leaves nothing behind.
    """
    if progress is not None:
        progress.begin(dataset)
    for table, columns in dataset.tables.items():
        rows = dataset.rows[table]
        for start in range(0, len(rows), BATCH_ROWS):
            batch = rows[start : start + BATCH_ROWS]
            await connection.copy_records_to_table(table, records=batch, columns=list(columns))
            if progress is not None:
                progress.loaded(table, len(batch))
        if "id" in columns:
            await restart_identity_after_max(connection, table)


async def restart_identity_after_max(connection: asyncpg.Connection, table: str) -> None:
    """Make the table's identity column continue after its largest id, as explicit ids skip it."""
    await connection.execute(
        "SELECT setval(pg_get_serial_sequence($1, 'id'), coalesce(max(id), 0) + 1, false) "
        f"FROM {quote_identifier(table)}",
        quote_identifier(table),
    )


def quote_identifier(name: str) -> str:
    """`name` as a PostgreSQL identifier in double quotes (PostgreSQL's own quote_ident rule)."""
    return '"' + name.replace('"', '""') + '"'


async def is_empty(connection: asyncpg.Connection) -> bool:
    """Whether the database holds no network data yet: no cities and no states."""
    return await connection.fetchval(
        "SELECT NOT EXISTS (SELECT FROM cities) AND NOT EXISTS (SELECT FROM states)"
    )
