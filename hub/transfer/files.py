"""The two encodings of the format: one JSON file, or one CSV file per entity (in a directory,
in a zip, or a single entity's file on its own). Reading yields each row's given fields as
written; writing takes typed rows (entities.py says what each field's values are)."""

import csv
import dataclasses
import io
import json
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path, PurePosixPath
from typing import Any, Literal, TextIO

from hub.transfer.entities import ENTITIES, ENTITIES_BY_NAME, FORMAT, Entity
from hub.transfer.fields import Row
from hub.transfer.problems import Problem

Encoding = Literal["json", "csv"]
# Typed rows per entity name, in the order of ENTITIES.
Document = dict[str, list[Row]]

CSV_FILES = ", ".join(f"{entity.name}.csv" for entity in ENTITIES)
UNKNOWN_FILE = (
    f"not a file of the format: name it after its entity ({CSV_FILES}; "
    "any case, singular too, hyphens or spaces for underscores)"
)
# A zip file written at another moment must still be the same bytes.
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)


@dataclass
class SourceRow:
    """A row as a file gives it: the fields it names, JSON values or CSV cells (None if empty)."""

    number: int  # the CSV line it starts on, or its index in its JSON section
    values: dict[str, Any]


@dataclass
class Source:
    """What a file holds, before its values are read: rows per entity, and what is malformed."""

    encoding: Encoding
    rows: dict[str, list[SourceRow]] = dataclasses.field(default_factory=dict)
    problems: list[Problem] = dataclasses.field(default_factory=list)

    @property
    def row_unit(self) -> str:
        """What a row's number counts."""
        return "line" if self.encoding == "csv" else "index"

    def refuse(
        self, entity: str, reason: str, row: int | None = None, name: str | None = None
    ) -> None:
        """Note a problem of the file."""
        self.problems.append(Problem(entity, row, name, reason))


def read_source(path: Path) -> Source:
    """The rows of the file or directory at `path`; the encoding follows from its name."""
    if path.is_dir():
        return read_csv_files(
            (child.name, child.read_bytes()) for child in sorted(path.iterdir()) if is_csv(child)
        )
    suffix = path.suffix.lower()
    if suffix == ".json":
        return read_json(path.read_bytes())
    if suffix == ".csv":
        return read_csv_files([(path.name, path.read_bytes())])
    if suffix == ".zip":
        return read_zip(path)
    source = Source("json")
    source.refuse("", "give a .json file, a .zip of CSV files, a directory of them or one .csv")
    return source


def is_csv(path: PurePosixPath | Path) -> bool:
    """Whether `path` names a CSV file (not one of the hidden files some tools add)."""
    return path.suffix.lower() == ".csv" and not path.name.startswith(".")


# --- JSON ----------------------------------------------------------------------------------


def read_json(content: bytes) -> Source:
    """The rows of a JSON document of the format."""
    source = Source("json")
    try:
        # Decimals, not floats: amounts must be read exactly as written.
        document = json.loads(content, parse_float=Decimal)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        source.refuse("", f"not valid JSON: {error}")
        return source
    if not isinstance(document, dict):
        source.refuse("", "not a JSON object with a list of rows per entity")
        return source
    if document.get("format") != FORMAT:
        source.refuse("", f'must be "{FORMAT}"', name="format")
    for name, section in document.items():
        if name == "format":
            continue
        entity = ENTITIES_BY_NAME.get(name)
        if entity is None:
            known = ", ".join(entity.name for entity in ENTITIES)
            source.refuse(name, f"not an entity of the format ({known})")
        elif not isinstance(section, list):
            source.refuse(name, "not a list of rows")
        else:
            source.rows[name] = list(json_rows(source, entity, section))
    return source


def json_rows(source: Source, entity: Entity, section: list[Any]) -> Iterator[SourceRow]:
    """The rows of a JSON section, nested objects flattened (`network.name`)."""
    for index, item in enumerate(section):
        if not isinstance(item, dict):
            source.refuse(entity.name, "not an object", row=index)
            continue
        values = {}
        for name, value in flattened(item):
            if name in entity.fields_by_name:
                values[name] = value
            else:
                source.refuse(entity.name, "not a field of the format", row=index, name=name)
        yield SourceRow(index, values)


def flattened(item: dict[str, Any]) -> Iterator[tuple[str, Any]]:
    """The members of a row, those of a nested object as `outer.inner`."""
    for name, value in item.items():
        if isinstance(value, dict):
            for inner, inner_value in value.items():
                yield f"{name}.{inner}", inner_value
        else:
            yield name, value


def write_json(document: Document, out: TextIO) -> None:
    """Write `document` as one JSON object, nested fields as nested objects."""
    content: dict[str, Any] = {"format": FORMAT}
    for entity in ENTITIES:
        content[entity.name] = [json_row(entity, row) for row in document[entity.name]]
    json.dump(content, out, ensure_ascii=False, indent=2)
    out.write("\n")


def json_row(entity: Entity, row: Row) -> dict[str, Any]:
    """A typed row as a JSON object."""
    item: dict[str, Any] = {}
    for field in entity.fields:
        value = row[field.name]
        encoded = None if value is None else field.kind.to_json(value)
        outer, _, inner = field.name.partition(".")
        if inner:
            item.setdefault(outer, {})[inner] = encoded
        else:
            item[outer] = encoded
    return item


# --- CSV -----------------------------------------------------------------------------------


def read_zip(path: Path) -> Source:
    """The rows of the CSV files in a zip file (wherever in it they are)."""
    try:
        with zipfile.ZipFile(path) as archive:
            members = [
                (PurePosixPath(info.filename).name, archive.read(info))
                for info in archive.infolist()
                if not info.is_dir()
                and "__MACOSX" not in info.filename
                and is_csv(PurePosixPath(info.filename))
            ]
    except zipfile.BadZipFile as error:
        source = Source("csv")
        source.refuse("", f"not a zip file: {error}")
        return source
    return read_csv_files(members)


def read_csv_files(files: Iterator[tuple[str, bytes]] | list[tuple[str, bytes]]) -> Source:
    """The rows of CSV files, each named after its entity (`cities.csv`, see `entity_named`)."""
    source = Source("csv")
    file_names: dict[str, str] = {}
    for file_name, content in files:
        entity = entity_named(file_name)
        if entity is None:
            source.refuse(file_name, UNKNOWN_FILE)
        elif entity.name in file_names:
            source.refuse(file_name, f"{entity.name} given twice (in {file_names[entity.name]})")
        else:
            file_names[entity.name] = file_name
            source.rows[entity.name] = list(csv_rows(source, entity, content))
    if not source.rows and not source.problems:
        source.refuse("", f"no CSV files of the format ({CSV_FILES})")
    return source


def entity_named(file_name: str) -> Entity | None:
    """The entity a CSV file's name names: without `.csv`, its name or its singular in any
    case, hyphens or spaces standing for underscores (`Cities.CSV`, `state-partnership.csv`)."""
    name = re.sub(r"[-\s]+", "_", PurePosixPath(file_name).stem.strip().lower())
    return ENTITIES_BY_FILE_NAME.get(name)


def singular(name: str) -> str:
    """The singular of an entity's name (cities: city, themes: theme)."""
    return name.removesuffix("ies") + "y" if name.endswith("ies") else name.removesuffix("s")


ENTITIES_BY_FILE_NAME = {
    name: entity for entity in ENTITIES for name in (entity.name, singular(entity.name))
}


def csv_rows(source: Source, entity: Entity, content: bytes) -> Iterator[SourceRow]:
    """The rows of an entity's CSV file; the first line names the columns."""
    try:
        text = content.decode("utf-8-sig")  # spreadsheets often begin UTF-8 with a BOM
    except UnicodeDecodeError:
        source.refuse(entity.name, "not UTF-8 text (save the file as CSV UTF-8)")
        return
    first_line = text.partition("\n")[0]
    # Spreadsheets in German locales separate cells with semicolons.
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = next(reader, None)
    if header is None:
        return
    columns = known_columns(source, entity, header)
    line = reader.line_num + 1
    for cells in reader:
        if any(cells):
            if len(cells) != len(header):
                reason = f"has {len(cells)} cells, the first line names {len(header)} columns"
                source.refuse(entity.name, reason, row=line)
            else:
                values = {
                    name: cell or None
                    for name, cell in zip(header, cells, strict=True)
                    if name in columns
                }
                yield SourceRow(line, values)
        line = reader.line_num + 1


def known_columns(source: Source, entity: Entity, header: list[str]) -> set[str]:
    """The columns of `header` that are fields of `entity`; the others are problems."""
    for name in sorted({name for name in header if header.count(name) > 1}):
        source.refuse(entity.name, "is a column twice", row=1, name=name)
    for name in header:
        if name not in entity.fields_by_name:
            source.refuse(entity.name, "not a field of the format", row=1, name=name)
    return set(header) & entity.fields_by_name.keys()


def csv_text(entity: Entity, rows: list[Row]) -> str:
    """An entity's typed rows as CSV, a column per field, empty cells for null."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(field.name for field in entity.fields)
    for row in rows:
        writer.writerow(
            "" if row[field.name] is None else field.kind.to_text(row[field.name])
            for field in entity.fields
        )
    return out.getvalue()


def write_csv_directory(document: Document, directory: Path) -> None:
    """Write one CSV file per entity into `directory` (made if missing)."""
    directory.mkdir(parents=True, exist_ok=True)
    for entity in ENTITIES:
        path = directory / f"{entity.name}.csv"
        path.write_text(csv_text(entity, document[entity.name]), encoding="utf-8", newline="")


def write_csv_zip(document: Document, path: Path) -> None:
    """Write one CSV file per entity into the zip file `path`."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for entity in ENTITIES:
            info = zipfile.ZipInfo(f"{entity.name}.csv", date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, csv_text(entity, document[entity.name]).encode("utf-8"))
