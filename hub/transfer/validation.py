"""Checking an import before anything is written: every row against the format and the
database's rules, against the file's other rows, and against the rows the database holds."""

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import models
from hub.demo.dataset import RECIPIENT_COLUMNS
from hub.transfer.entities import ACTORS, ENTITIES, FUNDINGS, MEASURES, Entity
from hub.transfer.fields import NAMES, Field, Row
from hub.transfer.files import Encoding, Source, SourceRow
from hub.transfer.problems import ImportRefused, Problem
from hub.transfer.storage import Key, Plan, PlannedRow, Stored

# The recipient field each recipient kind needs; the others stay empty (as the model checks).
RECIPIENT_FIELDS = {
    kind: next(field.name for field in FUNDINGS.fields if field.column.key == column)
    for kind, column in RECIPIENT_COLUMNS.items()
    if column is not None
}
COORDINATOR = models.ActorRole.COORDINATOR.value
FINANCIAL = models.ContributionType.FINANCIAL.value
ENTITY_ORDER = {entity.name: position for position, entity in enumerate(ENTITIES)}


def validate(source: Source, stored: Stored) -> Plan:
    """The file's rows, complete and checked; ImportRefused with every problem if any."""
    validation = Validation(source, stored)
    plan = {
        entity.name: validation.planned_rows(entity, source.rows[entity.name])
        for entity in ENTITIES
        if entity.name in source.rows
    }
    validation.check_across_rows(plan)
    if validation.problems:
        problems = sorted(
            validation.problems,
            key=lambda problem: (
                ENTITY_ORDER.get(problem.entity, -1),
                -1 if problem.row is None else problem.row,
            ),
        )
        raise ImportRefused(problems, source.row_unit)
    return plan


class Validation:
    """The problems found so far, and the keys the file names."""

    def __init__(self, source: Source, stored: Stored) -> None:
        self.source = source
        self.stored = stored
        self.problems = list(source.problems)
        # Keys of the file's rows, also of rows with problems: what names them is not wrong.
        self.named: dict[str, set[Key]] = defaultdict(set)
        # The readable fields of every row, for the check of the keys they name.
        self.given_rows: list[tuple[Entity, int, Row]] = []

    def refuse(self, entity: Entity, row: int, field: str | None, reason: str) -> None:
        """Note a problem of a row."""
        self.problems.append(Problem(entity.name, row, field, reason))

    def planned_rows(self, entity: Entity, rows: list[SourceRow]) -> list[PlannedRow]:
        """The entity's rows that pass every check of a row by itself."""
        first_rows: dict[Key, int] = {}
        planned = []
        for row in rows:
            checked = self.planned_row(entity, row, first_rows)
            if checked is not None:
                planned.append(checked)
        return planned

    def planned_row(
        self, entity: Entity, row: SourceRow, first_rows: dict[Key, int]
    ) -> PlannedRow | None:
        """The row complete with stored or default values, unless something is wrong."""
        given, unreadable = self.read(entity, row)
        self.given_rows.append((entity, row.number, given))
        key = self.checked_key(entity, row.number, given, unreadable, first_rows)
        if key is None:
            return None
        found = self.stored[entity.name].by_key.get(key)
        values = completed(entity, given, found.values if found else {})
        problems = [
            problem
            for problem in missing(entity, values, new=found is None)
            if problem[0] not in unreadable
        ]
        if not problems and not unreadable:
            problems = list(row_problems(entity, values))
        for name, reason in problems:
            self.refuse(entity, row.number, name, reason)
        if problems or unreadable:
            return None
        changed = frozenset(
            field.name
            for field in entity.fields
            if found is None or values[field.name] != found.values[field.name]
        )
        return PlannedRow(row.number, key, values, found, changed)

    def checked_key(
        self,
        entity: Entity,
        number: int,
        given: Row,
        unreadable: set[str],
        first_rows: dict[Key, int],
    ) -> Key | None:
        """The row's natural key, unless it is missing, unreadable, given twice or ambiguous."""
        for name in entity.key:
            required = entity.fields_by_name[name].required
            if required and name not in unreadable and given.get(name) is None:
                self.refuse(entity, number, name, "required")
                unreadable.add(name)
        if unreadable & set(entity.key):
            return None
        key = entity.key_of(given)
        self.named[entity.name].add(key)
        if key in first_rows:
            unit = self.source.row_unit
            reason = f"the same {', '.join(entity.key)} as {unit} {first_rows[key]}"
            self.refuse(entity, number, key_field(entity), reason)
            return None
        first_rows[key] = number
        if key in self.stored[entity.name].ambiguous:
            reason = f"more than one stored {entity.name} row has this {', '.join(entity.key)}"
            self.refuse(entity, number, key_field(entity), reason)
            return None
        return key

    def read(self, entity: Entity, row: SourceRow) -> tuple[Row, set[str]]:
        """The fields the row gives, read and checked one by one; those that could not be."""
        given: Row = {}
        unreadable = set()
        for name, raw in row.values.items():
            try:
                given[name] = read_value(entity.fields_by_name[name], raw, self.source.encoding)
            except ValueError as problem:
                self.refuse(entity, row.number, name, str(problem))
                unreadable.add(name)
        return given, unreadable

    def check_across_rows(self, plan: Plan) -> None:
        """The checks that need more than one row: references, and rules over many rows."""
        world = {
            entity.name: {key: row.values for key, row in self.stored[entity.name].by_key.items()}
            for entity in ENTITIES
        }
        for name, rows in plan.items():
            world[name].update((row.key, row.values) for row in rows)
        for entity, number, given in self.given_rows:
            self.check_references(entity, number, given, world)
        coordinators = defaultdict(list)
        for key, actor in world[ACTORS.name].items():
            if actor["role"] == COORDINATOR:
                coordinators[actor["city"]].append(key[0])
        for row in plan.get(ACTORS.name, []):
            self.check_one_coordinator(row, coordinators)
        for row in plan.get(MEASURES.name, []):
            self.check_measure_actors(row, world)

    def check_references(
        self, entity: Entity, number: int, given: Row, world: dict[str, dict[Key, Row]]
    ) -> None:
        """Each key a row names is a row of the file or of the database."""
        for name, value in given.items():
            field = entity.fields_by_name[name]
            if field.target is None or value is None:
                continue
            for target in value if field.kind is NAMES else (value,):
                known = world[field.target], self.named[field.target]
                if not any((target,) in keys for keys in known):
                    reason = f"{target} is not among the {field.target} of the file or the database"
                    self.refuse(entity, number, name, reason)

    def check_one_coordinator(self, row: PlannedRow, coordinators: dict[str, list[str]]) -> None:
        """A local network has one coordinator at most (its contact point)."""
        if row.values["role"] != COORDINATOR:
            return
        city = row.values["city"]
        if others := sorted(slug for slug in coordinators[city] if (slug,) != row.key):
            reason = f"{city} has a coordinator already: {', '.join(others)}"
            self.refuse(ACTORS, row.number, "role", reason)

    def check_measure_actors(self, row: PlannedRow, world: dict[str, dict[Key, Row]]) -> None:
        """A measure is carried by actors of its own city's network."""
        city = row.values["city"]
        for slug in row.values["actors"]:
            actor = world[ACTORS.name].get((slug,))
            if actor is not None and actor["city"] != city:
                reason = f"{slug} is an actor of {actor['city']}, not of {city}"
                self.refuse(MEASURES, row.number, "actors", reason)


def key_field(entity: Entity) -> str | None:
    """The field a problem with a row's key is reported on: its one key field, if it has one."""
    return entity.key[0] if len(entity.key) == 1 else None


def read_value(field: Field, raw: Any, encoding: Encoding) -> Any:
    """A field's value as a file gives it, read and checked; ValueError says what is wrong."""
    if raw is None:
        return None
    value = field.kind.from_json(raw) if encoding == "json" else field.kind.from_text(raw)
    if reason := field.problem(value):
        raise ValueError(reason)
    return value


def completed(entity: Entity, given: Row, stored: Row) -> Row:
    """Every field of a row: given, else stored, else the default (a given null: the default)."""
    values = {
        field.name: given[field.name] if field.name in given else stored.get(field.name)
        for field in entity.fields
    }
    for field in entity.fields:
        if values[field.name] is None and field.default is not None and not field.required:
            values[field.name] = field.default_for(values)
    return values


def missing(entity: Entity, values: Row, new: bool) -> Iterator[tuple[str, str]]:
    """The required fields a complete row has no value for."""
    for field in entity.fields:
        if field.required and values[field.name] is None:
            yield field.name, "required for a new row" if new else "required"


def row_problems(entity: Entity, values: Row) -> Iterator[tuple[str, str]]:
    """What the database's rules over several fields of one row refuse."""
    ends_on = values.get("ends_on")
    if ends_on is not None and ends_on < values["starts_on"]:
        yield "ends_on", "before starts_on"
    if entity is FUNDINGS:
        yield from recipient_problems(values)
        yield from amount_problems(values)


def recipient_problems(funding: Row) -> Iterator[tuple[str, str]]:
    """A funding names exactly the recipient its kind needs (none for the whole network)."""
    kind = funding["recipient.kind"]
    for recipient_kind, name in RECIPIENT_FIELDS.items():
        if recipient_kind == kind and funding[name] is None:
            yield name, f"required for recipient kind {kind}"
        elif recipient_kind != kind and funding[name] is not None:
            yield name, f"not for recipient kind {kind}"


def amount_problems(funding: Row) -> Iterator[tuple[str, str]]:
    """A financial contribution has an amount; expertise and own offers have none."""
    financial = funding["contribution_type"] == FINANCIAL
    if financial and funding["amount_eur"] is None:
        yield "amount_eur", "required for a financial contribution"
    if not financial and funding["amount_eur"] is not None:
        yield "amount_eur", "only a financial contribution has an amount"
