"""Loading a data set into PostgreSQL with COPY, fast enough for hundreds of thousands of rows."""

from collections.abc import Callable

import asyncpg

from hub.demo.dataset import Dataset


async def load_dataset(
    connection: asyncpg.Connection,
    dataset: Dataset,
    progress: Callable[[str, int], None] | None = None,
) -> None:
    """COPY every table's rows (in order) and move each identity sequence past the loaded ids.

    Runs inside the transaction the caller opened, so a failure leaves nothing behind;
    `progress(table, rows)` is called after each table.
    """
    for table, columns in dataset.tables.items():
        rows = dataset.rows[table]
        if rows:
            await connection.copy_records_to_table(table, records=rows, columns=list(columns))
        if "id" in columns:
            await restart_identity_after_max(connection, table)
        if progress is not None:
            progress(table, len(rows))


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
