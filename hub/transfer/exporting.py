"""Exporting everything importable, in a stable order: the same data gives the same bytes."""

import sys
from pathlib import Path
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from hub.database import engine_for
from hub.failures import Refused
from hub.transfer.entities import ENTITIES, Entity
from hub.transfer.fields import Row
from hub.transfer.files import Document, write_csv_directory, write_csv_zip, write_json
from hub.transfer.storage import read_stored

Format = Literal["json", "csv"]


class NoPlaceForCsv(Refused, ValueError):
    """CSV was asked for without a directory or zip file to write it to."""


async def export_document(connection: AsyncConnection) -> Document:
    """Every entity's stored rows, each entity's sorted by natural key."""
    stored = await read_stored(connection)
    return {
        entity.name: sorted(
            (row.values for row in stored[entity.name].rows), key=lambda row: order(entity, row)
        )
        for entity in ENTITIES
    }


def order(entity: Entity, row: Row) -> tuple[str, ...]:
    """Where a row goes: by its natural key, then (for keys stored twice) by all its fields."""
    names = (*entity.key, *(field.name for field in entity.fields))
    return tuple(
        "" if row[name] is None else entity.fields_by_name[name].kind.to_text(row[name])
        for name in names
    )


async def export_path(url: str, output: Path | None, format: Format | None = None) -> Document:
    """Write the database at `url` to `output` (stdout when None) as JSON or CSV; return what
    was written.

    Without `format`, a `.json` output is JSON and any other (a `.zip`, a directory) CSV.
    """
    format = format or ("csv" if output and output.suffix.lower() != ".json" else "json")
    if format == "csv" and output is None:
        raise NoPlaceForCsv("CSV needs --output: a directory or a .zip file")
    async with engine_for(url) as engine, engine.connect() as connection:
        # One snapshot for all entities, so that their rows fit together.
        snapshot = await connection.execution_options(
            isolation_level="REPEATABLE READ", postgresql_readonly=True
        )
        async with snapshot.begin():
            document = await export_document(snapshot)
    write(document, output, format)
    return document


def write(document: Document, output: Path | None, format: Format) -> None:
    """Write `document` in `format` to `output` (stdout when None)."""
    if output is None:
        write_json(document, sys.stdout)
    elif format == "json":
        with output.open("w", encoding="utf-8") as out:
            write_json(document, out)
    elif output.suffix.lower() == ".zip":
        write_csv_zip(document, output)
    else:
        write_csv_directory(document, output)
