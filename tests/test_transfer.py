"""Import and export: the row-by-row report, all or nothing, idempotent upserts, round trips."""

import asyncio
import csv
import io
import json
import zipfile
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Enum, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

import models
from hub.database import engine_for
from hub.transfer.entities import ENTITIES, FORMAT, Entity
from hub.transfer.exporting import export_document, export_path
from hub.transfer.fields import Code, Field
from hub.transfer.files import read_csv_files, read_json, read_source, write_json
from hub.transfer.importing import Tally, import_path, import_source
from hub.transfer.problems import ImportRefused
from hub.transfer.validation import read_value
from schema import schema
from tests.test_cli import environment, hub


def document(**sections: list[dict[str, Any]]) -> dict[str, Any]:
    """A JSON document of the format with `sections`."""
    return {"format": FORMAT, **sections}


def city(slug: str, **fields: Any) -> dict[str, Any]:
    """A city row with its required fields."""
    values = {"slug": slug, "name": slug.title(), "kind": "city", "state": "BY"}
    return values | {"status": "member"} | fields


def actor(slug: str, city: str, **fields: Any) -> dict[str, Any]:
    """An actor row with its required fields, a member of civil society."""
    values = {"slug": slug, "city": city, "name": slug.title(), "organisation_type": "Verein"}
    return values | {"sector": "civil_society", "role": "member"} | fields


def funding(funder: str, city: str, **fields: Any) -> dict[str, Any]:
    """A financial funding row of the local network of `city`."""
    values = {
        "funder": funder,
        "recipient": {"kind": "local_network", "city": city},
        "contribution_type": "financial",
        "amount_eur": "5000.00",
        "title": "Anschubfinanzierung",
        "starts_on": "2024-01-01",
    }
    return values | fields


FORMAT_DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "import-format.md"
FUNDER = {"slug": "stiftung", "name": "Stiftung", "kind": "foundation", "scope": "nationwide"}


def json_file(tmp_path: Path, content: dict[str, Any], name: str = "import.json") -> Path:
    """`content` written as a JSON file."""
    path = tmp_path / name
    path.write_text(json.dumps(content), encoding="utf-8")
    return path


async def refusal(connection: AsyncConnection, content: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The problems importing `content` on `connection` reports, as tuples."""
    source = read_json(json.dumps(content).encode())
    with pytest.raises(ImportRefused) as refused:
        await import_source(connection, source)
    return [
        (problem.entity, problem.row, problem.field, problem.reason)
        for problem in refused.value.problems
    ]


async def count(url: str, model: type[models.Base]) -> int:
    """How many rows the table of `model` holds."""
    async with engine_for(url) as engine, engine.connect() as connection:
        return await connection.scalar(select(func.count()).select_from(model))


async def test_every_bad_row_is_reported_with_field_and_reason_and_nothing_is_written(
    connection: AsyncConnection,
) -> None:
    name_length = models.City.__table__.c.name.type.length
    problems = await refusal(
        connection,
        document(
            cities=[
                city("neustadt"),
                city("Bad Slug", state="XX", latitude=60),
                city("neustadt", name="Neustadt an der Aisch"),
                city("lang", name="L" * (name_length + 1), population="12"),
                {"slug": "ohne-namen", "kind": "city", "state": "NI", "status": "member"},
            ],
            actors=[
                actor("erster", "neustadt", role="coordinator"),
                actor("zweiter", "neustadt", role="coordinator"),
                actor("dritter", "atlantis", sector="sport", webseite="x"),
            ],
            funders=[FUNDER],
            fundings=[
                funding("stiftung", "neustadt", contribution_type="expertise"),
                funding("stiftung", "neustadt", title="Zweite Rate", amount_eur="1.005"),
                funding("niemand", "neustadt", recipient={"kind": "measure", "city": "neustadt"}),
            ],
        ),
    )
    assert problems == [
        ("cities", 1, "slug", "not a slug (like dessau-rosslau)"),
        ("cities", 1, "state", "not one of BB, BE, BW, BY, HB, HE, HH, MV, NI, NW, RP, SH, SL, "
         "SN, ST, TH"),
        ("cities", 1, "latitude", "not between 47.0 and 55.5"),
        ("cities", 2, "slug", "the same slug as index 0"),
        ("cities", 3, "name", f"longer than {name_length} characters"),
        ("cities", 3, "population", "not a whole number"),
        ("cities", 4, "name", "required for a new row"),
        ("actors", 0, "role", "neustadt has a coordinator already: zweiter"),
        ("actors", 1, "role", "neustadt has a coordinator already: erster"),
        ("actors", 2, "webseite", "not a field of the format"),
        ("actors", 2, "sector", "not one of business, civil_society, media, "
         "politics_administration, science"),
        ("actors", 2, "city", "atlantis is not among the cities of the file or the database"),
        ("fundings", 0, "amount_eur", "only a financial contribution has an amount"),
        ("fundings", 1, "amount_eur", "more than 2 decimals"),
        ("fundings", 2, "recipient.city", "not for recipient kind measure"),
        ("fundings", 2, "recipient.measure", "required for recipient kind measure"),
        ("fundings", 2, "funder", "niemand is not among the funders of the file or the database"),
    ]  # fmt: skip
    # The good rows before the bad ones were not written either.
    assert await connection.scalar(select(func.count()).select_from(models.City)) == 0


async def test_a_stored_row_may_not_null_a_required_field(connection: AsyncConnection) -> None:
    await import_source(connection, read_json(json.dumps(document(cities=[city("ulm")])).encode()))
    problems = await refusal(connection, document(cities=[{"slug": "ulm", "kind": None}]))
    assert problems == [("cities", 0, "kind", "required")]


async def test_a_period_that_ends_before_it_starts_is_refused(connection: AsyncConnection) -> None:
    problems = await refusal(
        connection,
        document(
            state_partnerships=[
                {"state": "BY", "institution": "Ministerium", "starts_on": "2024-01-01",
                 "ends_on": "2023-01-01"},
            ]
        ),
    )  # fmt: skip
    assert problems == [("state_partnerships", 0, "ends_on", "before starts_on")]


async def test_a_malformed_file_is_reported_as_such(connection: AsyncConnection) -> None:
    with pytest.raises(ImportRefused) as refused:
        await import_source(connection, read_json(b'{"format": "engagement-hub/1", "cities": ['))
    [problem] = refused.value.problems
    assert problem.reason.startswith("not valid JSON: ")
    assert await refusal(connection, {"format": "other/2", "towns": []}) == [
        ("", None, "format", 'must be "engagement-hub/1"'),
        ("towns", None, None, "not an entity of the format (themes, cities, state_partnerships, "
         "actors, measures, funders, fundings)"),
    ]  # fmt: skip


async def test_the_csv_report_names_lines_of_the_file(
    tmp_path: Path, connection: AsyncConnection
) -> None:
    directory = tmp_path / "csv"
    directory.mkdir()
    (directory / "cities.csv").write_text(
        "slug,name,kind,state,status,description\n"
        'neustadt,Neustadt,city,BY,member,"Zwei\nZeilen"\n'
        "altstadt,Altstadt,village,BY,member,\n",
        encoding="utf-8",
    )
    (directory / "notes.csv").write_text("text\nhallo\n", encoding="utf-8")
    with pytest.raises(ImportRefused) as refused:
        await import_source(connection, read_source(directory))
    assert refused.value.row_unit == "line"
    assert [(p.entity, p.row, p.field) for p in refused.value.problems] == [
        ("notes.csv", None, None),
        ("cities", 4, "kind"),  # the quoted description of the row before spans two lines
    ]


async def test_csv_from_a_german_spreadsheet_reads_semicolons_and_a_byte_order_mark(
    tmp_path: Path, connection: AsyncConnection
) -> None:
    path = tmp_path / "cities.csv"
    path.write_bytes("slug;name;kind;state;status;population\n".encode("utf-8-sig"))
    with path.open("a", encoding="utf-8") as out:
        out.write("muenchen;München;city;BY;member;1510378\n")
    summary = await import_source(connection, read_source(path))
    assert summary == {"cities": Tally(created=1, updated=0, unchanged=0)}
    population = select(models.City.population).where(models.City.slug == "muenchen")
    assert await connection.scalar(population) == 1_510_378


async def test_importing_the_same_file_twice_changes_nothing_the_second_time(
    tmp_path: Path, empty_url: str
) -> None:
    content = document(
        cities=[city("neustadt", population=12_000), city("altstadt", network={"name": "Netz"})],
        actors=[actor("tafel", "neustadt", role="coordinator")],
        funders=[FUNDER | {"states": ["BY", "BE"]}],
        fundings=[funding("stiftung", "neustadt")],
    )
    path = json_file(tmp_path, content)
    first = await import_path(empty_url, path)
    assert first["cities"] == Tally(created=2, updated=0, unchanged=0)
    stamps = await updated_at(empty_url)
    tables = (models.City, models.LocalNetwork, models.Actor, models.FunderState, models.Funding)
    counts = [await count(empty_url, table) for table in tables]
    assert counts == [2, 2, 1, 2, 1]

    second = await import_path(empty_url, path)
    assert all(tally.created == tally.updated == 0 for tally in second.values())
    assert [await count(empty_url, table) for table in tables] == counts
    assert await updated_at(empty_url) == stamps

    # A changed amount updates the funding its funder, recipient, start and title name.
    content["fundings"][0]["amount_eur"] = "7500.00"
    content["cities"][0]["population"] = 12_500
    third = await import_path(empty_url, json_file(tmp_path, content))
    assert third["fundings"] == Tally(created=0, updated=1, unchanged=0)
    assert third["cities"] == Tally(created=0, updated=1, unchanged=1)
    assert [await count(empty_url, table) for table in tables] == counts
    exported = await exported_document(empty_url)
    assert exported["fundings"][0]["amount_eur"] == "7500.00"
    assert [row["population"] for row in exported["cities"]] == [None, 12_500]


async def updated_at(url: str) -> list[Any]:
    """When each city, network, actor and funding last changed."""
    async with engine_for(url) as engine, engine.connect() as connection:
        stamps = []
        for model in (models.City, models.LocalNetwork, models.Actor, models.Funding):
            statement = select(model.updated_at).order_by(model.id)
            stamps.append((await connection.scalars(statement)).all())
        return stamps


async def exported_document(url: str) -> dict[str, Any]:
    """The database at `url` as the JSON export writes it."""
    async with engine_for(url) as engine, engine.connect() as connection:
        out = io.StringIO()
        write_json(await export_document(connection), out)
    return json.loads(out.getvalue())


async def test_a_city_brings_its_local_network_and_left_out_fields_keep_stored_values(
    connection: AsyncConnection,
) -> None:
    given = city("neustadt", description="Am Fluss", network={"founded_on": "2019-05-01"})
    await import_source(connection, read_json(json.dumps(document(cities=[given])).encode()))
    # Only the population: the rest stays; an explicit null resets the description.
    update = {"slug": "neustadt", "population": 9_000, "description": None}
    summary = await import_source(
        connection, read_json(json.dumps(document(cities=[update])).encode())
    )
    assert summary == {"cities": Tally(created=0, updated=1, unchanged=0)}
    [stored] = (await export_document(connection))["cities"]
    assert stored | {"name": "Neustadt", "population": 9_000, "description": ""} == stored
    network = select(models.LocalNetwork.name, models.LocalNetwork.founded_on)
    assert (await connection.execute(network)).one() == (
        "Engagierte Stadt Neustadt",
        date(2019, 5, 1),
    )


async def test_a_refusal_of_the_database_is_reported_without_sql_and_rolls_back(
    tmp_path: Path, empty_url: str
) -> None:
    measure = {
        "slug": "lesepaten", "city": "neustadt", "title": "Lesepaten",
        "starts_on": "2024-01-01", "actors": ["tafel"],
    }  # fmt: skip
    base = document(
        cities=[city("neustadt"), city("altstadt")],
        actors=[actor("tafel", "neustadt")],
        measures=[measure],
    )
    await import_path(empty_url, json_file(tmp_path, base))
    # The actor moves to another city while a stored measure of its old city names it: no
    # check of a row sees that, the database's foreign key does.
    moved = document(cities=[city("dorf")], actors=[actor("tafel", "altstadt")])
    with pytest.raises(ImportRefused) as refused:
        await import_path(empty_url, json_file(tmp_path, moved, "moved.json"))
    [problem] = refused.value.problems
    assert (problem.entity, problem.row, problem.field) == ("actors", None, None)
    assert problem.reason.startswith("the database refused the actors: ")
    assert "fk_measure_actors_actor_id_network_id_actors" in problem.reason
    for sql in ("UPDATE", "SELECT", "INSERT", "[SQL", "\n"):
        assert sql not in problem.reason
    # The new city of the same file was not written either.
    assert await count(empty_url, models.City) == 2


async def test_the_export_leaves_out_contact_persons(demo_connection: AsyncConnection) -> None:
    person = models.ContactPerson
    rows = await demo_connection.execute(select(person.email, person.full_name, person.phone))
    personal = {value for row in rows for value in row if value}
    assert personal
    out = io.StringIO()
    write_json(await export_document(demo_connection), out)
    assert [value for value in personal if value in out.getvalue()] == []


@pytest.mark.parametrize("file_name", ["export.json", "export.zip", "export"])
async def test_export_import_into_an_empty_database_and_export_again_is_the_same(
    file_name: str, tmp_path: Path, demo_database_url: str, empty_url: str
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    await export_path(demo_database_url, first / file_name)
    summary = await import_path(empty_url, first / file_name)
    assert summary["cities"] == Tally(created=104, updated=0, unchanged=0)
    assert summary["fundings"].created == await count(demo_database_url, models.Funding)
    await export_path(empty_url, second / file_name)
    assert files_of(first) == files_of(second)


def test_the_format_document_names_every_entity_and_field() -> None:
    text = FORMAT_DOCUMENT.read_text(encoding="utf-8")
    for entity in ENTITIES:
        assert f"**{entity.name}**" in text
        for field in entity.fields:
            assert f"`{field.name}`" in text, field.name


def files_of(directory: Path) -> dict[str, bytes]:
    """Every file under `directory`, by relative path, and what it holds."""
    return {
        str(path.relative_to(directory)): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


@pytest.mark.slow
async def test_the_commands_round_trip_and_refuse_a_bad_file_with_its_report(
    tmp_path: Path, demo_database_url: str, empty_url: str
) -> None:
    def run(url: str, *args: str) -> Any:
        return asyncio.to_thread(hub, *args, env=environment(DATABASE_URL=url, COLUMNS="200"))

    exported = await run(demo_database_url, "export", "--output", str(tmp_path / "demo.zip"))
    assert exported.returncode == 0, exported.stderr
    imported = await run(empty_url, "import", str(tmp_path / "demo.zip"))
    assert imported.returncode == 0, imported.stderr
    assert "│ actors " in imported.stdout
    again = await run(
        empty_url, "export", "--format", "csv", "--output", str(tmp_path / "again.zip")
    )
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.zip").read_bytes() == (tmp_path / "demo.zip").read_bytes()
    with zipfile.ZipFile(tmp_path / "again.zip") as archive:
        assert "fundings.csv" in archive.namelist()

    bad = tmp_path / "cities.csv"
    bad.write_text("slug,name,kind,state,status\nneu-stadt,Neustadt,city,ZZ,member\n")
    report = tmp_path / "report.json"
    refused = await run(empty_url, "import", str(bad), "--report-json", str(report))
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == "error: 1 problem found; nothing was imported"
    assert "│ cities │ 2    │ state │ not one of" in refused.stdout
    assert json.loads(report.read_text())["problems"] == [
        {"entity": "cities", "row": 2, "field": "state",
         "reason": "not one of BB, BE, BW, BY, HB, HE, HH, MV, NI, NW, RP, SH, SL, SN, ST, TH"},
    ]  # fmt: skip
    assert await count(empty_url, models.City) == 104


CODED = [
    (entity, field)
    for entity in ENTITIES
    for field in entity.fields
    if isinstance(field.kind, Code)
]


def test_every_field_of_an_enumeration_is_read_as_one() -> None:
    assert {f"{entity.name}.{field.name}" for entity, field in CODED} == {
        "cities.kind",
        "cities.status",
        "actors.sector",
        "actors.role",
        "funders.kind",
        "funders.scope",
        "fundings.recipient.kind",
        "fundings.contribution_type",
    }
    for entity in ENTITIES:
        for field in entity.fields:
            if isinstance(field.column.type, Enum):
                assert isinstance(field.kind, Code), f"{entity.name}.{field.name}"


@pytest.mark.parametrize(
    ("entity", "field"), CODED, ids=[f"{entity.name}.{field.name}" for entity, field in CODED]
)
def test_an_enumeration_takes_the_values_the_api_prints_and_those_the_export_writes(
    entity: Entity, field: Field
) -> None:
    assert isinstance(field.kind, Code)
    enum_class = field.kind.enum_class
    printed = schema._schema.get_type(enum_class.__name__)
    assert printed is not None
    for name in printed.values:  # type: ignore[attr-defined]
        stored = enum_class[name].value
        for encoding in ("json", "csv"):
            assert read_value(field, name, encoding) == stored
            assert read_value(field, stored, encoding) == stored
    with pytest.raises(ValueError, match="not one of"):
        read_value(field, "Civil_Society", "csv")


async def test_a_file_spelling_enumerations_as_the_api_does_imports_and_exports_the_same(
    tmp_path: Path, demo_database_url: str, empty_url: str
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    await export_path(demo_database_url, first, "csv")
    as_the_api_prints = tmp_path / "api"
    as_the_api_prints.mkdir()
    for entity in ENTITIES:
        name = f"{entity.name}.csv"
        rows = spelt_as_the_api_prints(entity, (first / name).read_text(encoding="utf-8"))
        with (as_the_api_prints / name).open("w", encoding="utf-8", newline="") as out:
            csv.writer(out).writerows(rows)
    assert "CIVIL_SOCIETY" in (as_the_api_prints / "actors.csv").read_text(encoding="utf-8")
    await import_path(empty_url, as_the_api_prints)
    await export_path(empty_url, second, "csv")
    assert files_of(first) == files_of(second)


def spelt_as_the_api_prints(entity: Entity, text: str) -> list[list[str]]:
    """An entity's CSV rows, each enumeration's values spelt as the API prints them."""
    header, *rows = csv.reader(io.StringIO(text))
    kinds = [entity.fields_by_name[column].kind for column in header]
    return [header] + [
        [
            kind.enum_class(cell).name if isinstance(kind, Code) and cell else cell
            for kind, cell in zip(kinds, row, strict=True)
        ]
        for row in rows
    ]


def test_csv_files_are_named_after_their_entity_in_any_case_and_number() -> None:
    header = b"slug,name,kind,state,status\n"
    source = read_csv_files(
        [
            ("Cities.CSV", header + b"neustadt,Neustadt,CITY,BY,MEMBER\n"),
            ("State Partnerships.csv", b"state,institution,starts_on\n"),
            ("export/actor.csv", b"slug\n"),
            ("funding-s.csv", b"title\n"),
            ("city.csv", header),
        ]
    )
    assert sorted(source.rows) == ["actors", "cities", "state_partnerships"]
    assert [(problem.entity, problem.reason) for problem in source.problems] == [
        (
            "funding-s.csv",
            "not a file of the format: name it after its entity (themes.csv, cities.csv, "
            "state_partnerships.csv, actors.csv, measures.csv, funders.csv, fundings.csv; any "
            "case, singular too, hyphens or spaces for underscores)",
        ),
        ("city.csv", "cities given twice (in Cities.CSV)"),
    ]
