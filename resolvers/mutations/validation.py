"""Input checks before the database: every value against the column it is written to.

The limits come from the models (string lengths, patterns, ranges), so the database's own
constraints and these checks cannot drift apart; a constraint that still fails is mapped to a
user error as well (`resolvers.mutations.constraints`).
"""

import enum
import re
from collections.abc import Callable, Mapping
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Column, Enum, String, Table
from strawberry.utils.str_converters import to_camel_case

from hub.slugs import SLUG_PATTERN
from models import Base, ContributionType, MembershipStatus
from models.contacts import EMAIL_PATTERN
from models.geography import LATITUDE_RANGE, LONGITUDE_RANGE, MAX_POPULATION, STATE_CODES
from resolvers.mutations.ids import column_of, key_of, referenced_model
from resolvers.mutations.problems import INPUT, Path, Problem, invalid, refuse_any

# Free texts (descriptions, motivations) have no length in the database; this keeps them sane.
MAX_TEXT_LENGTH = 10_000
# Dates outside these years are typing errors, not history or plans of the network.
EARLIEST_YEAR, LATEST_YEAR = 1900, 2100
WEBSITE_PATTERN = r"^https?://[^\s/$.?#][^\s]*$"
PHONE_PATTERN = r"^\+?[0-9][0-9 ()/-]{2,38}$"

Rule = Callable[[Any], str | None]
# Values to write, by column name.
Values = dict[str, Any]


def matches(pattern: str, message: str) -> Rule:
    """A rule: the whole text matches `pattern` (`fullmatch`: unlike PostgreSQL's, Python's `$`
    also matches before a final line break)."""
    compiled = re.compile(pattern)
    return lambda value: None if compiled.fullmatch(value) else message


def within(low: float, high: float, unit: str) -> Rule:
    """A rule: the number lies in [low, high]."""
    message = f"Must lie between {low} and {high}{unit}."
    return lambda value: None if low <= value <= high else message


def euros(value: Decimal) -> str | None:
    """A rule: a finite, non-negative amount in euros and cents that fits the column."""
    if not value.is_finite() or value < 0:
        return "Must be an amount of at least 0 euros."
    if value >= Decimal(10) ** 12:
        return "Must be less than a trillion euros."
    if value != value.quantize(Decimal("0.01")):
        return "Must not have more than two decimal places (cents)."
    return None


# Rules for the columns of these names, in whichever table they stand.
RULES: dict[str, Rule] = {
    "slug": matches(SLUG_PATTERN, "Must be lower-case letters and digits in words joined by "
                    "single hyphens, e.g. `bad-honnef`."),
    "email": matches(EMAIL_PATTERN, "Must be an e-mail address, e.g. `name@example.org`."),
    "website": matches(WEBSITE_PATTERN, "Must be a web address starting with https:// or http://."),
    "phone": matches(PHONE_PATTERN, "Must be a phone number of digits, spaces, + ( ) / -."),
    "state_code": lambda code: None if code in STATE_CODES else (
        f"Must be the code of a federal state: {', '.join(sorted(STATE_CODES))}."
    ),
    "latitude": within(*LATITUDE_RANGE, "° (Germany)"),
    "longitude": within(*LONGITUDE_RANGE, "° (Germany)"),
    "population": within(0, MAX_POPULATION, " inhabitants"),
    "amount_eur": euros,
}  # fmt: skip


def field_path(name: str, path: Path = INPUT) -> Path:
    """The path of the input field that writes the column `name` (inputs name fields after
    columns, in camel case)."""
    return (*path, to_camel_case(name))


def column_problems(column: Column[Any], value: Any, path: Path) -> list[Problem]:
    """What is wrong with writing `value` to `column`."""
    if value is None:
        return [] if column.nullable else [invalid(path, "Must not be null.")]
    rule = RULES.get(column.name)
    messages = [text_rule(column, value), date_rule(value), rule(value) if rule else None]
    return [invalid(path, message) for message in messages if message is not None]


def text_rule(column: Column[Any], value: Any) -> str | None:
    """Texts fit their column and are blank only where the column defaults to blank."""
    if not isinstance(value, str):
        return None
    length = column.type.length if isinstance(column.type, String) else None
    if len(value) > (length or MAX_TEXT_LENGTH):
        return f"Must not be longer than {length or MAX_TEXT_LENGTH} characters."
    if not value.strip() and column.server_default is None:
        return "Must not be blank."
    return None


def date_rule(value: Any) -> str | None:
    """Dates lie in years the network can mean."""
    if isinstance(value, date) and not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        return f"Must lie between the years {EARLIEST_YEAR} and {LATEST_YEAR}."
    return None


def checked(
    model: type[Base], values: Mapping[str, Any], path: Path = INPUT, complete: bool = False
) -> Values:
    """`values` (by column name) as they are written to a row of `model`: the global IDs of
    other rows as their keys, codes as text. Refused, with every problem found, unless all
    can be written; `complete` values (a new row's) must also hold every required column."""
    problems: list[Problem] = []
    result: Values = {}
    for name, value in values.items():
        column, at = column_of(model, name), field_path(name, path)
        target = referenced_model(column)
        if target is None or value is None:
            result[name] = stored(column, value)
            problems += column_problems(column, result[name], at)
            continue
        result[name] = key_of(value, target)
        if result[name] is None:
            problems.append(invalid(at, f"Must be an ID of type {target.__name__}."))
    if complete:
        missing = [name for name in required_columns(model) if name not in values]
        problems += [invalid(field_path(name, path), "Must be given.") for name in missing]
    refuse_any(problems)
    return result


def keys_of(global_ids: list[str], model: type[Base], name: str) -> list[int]:
    """The keys of the global IDs of `model` that the input field `name` lists, each once."""
    keys = [key_of(global_id, model) for global_id in global_ids]
    path = field_path(name)
    refuse_any(
        [
            invalid((*path, str(index)), f"Must be an ID of type {model.__name__}.")
            for index, key in enumerate(keys)
            if key is None
        ]
    )
    return list(dict.fromkeys(key for key in keys if key is not None))


def stored(column: Column[Any], value: Any) -> Any:
    """An input value as the column stores it: enums of codes (sectors) as their code."""
    if isinstance(value, enum.Enum) and not isinstance(column.type, Enum):
        return value.value
    return value


def required_columns(model: type[Base]) -> list[str]:
    """The columns a new row of `model` must be given: neither generated nor defaulted."""
    table = model.__table__
    assert isinstance(table, Table)
    return [
        column.name
        for column in table.columns
        if not (column.nullable or column.server_default or column.default or column.identity)
    ]


def period_problems(values: Values) -> list[Problem]:
    """A period ends on or after the day it starts."""
    starts_on, ends_on = values.get("starts_on"), values.get("ends_on")
    if starts_on is None or ends_on is None or ends_on >= starts_on:
        return []
    return [invalid(field_path("ends_on"), "Must not lie before the start.")]


def amount_problems(values: Values) -> list[Problem]:
    """Financial contributions have an amount in euros, the others none."""
    financial = values.get("contribution_type") is ContributionType.FINANCIAL
    if financial == (values.get("amount_eur") is not None):
        return []
    message = (
        "Must be given." if financial else "Must be null unless the contribution is financial."
    )
    return [invalid(field_path("amount_eur"), message)]


def leaving_problems(values: Values) -> list[Problem]:
    """Only a former member has left the network, not before it joined."""
    left_on, joined_on = values.get("left_on"), values.get("joined_on")
    if left_on is None:
        return []
    if values.get("status") is not MembershipStatus.FORMER_MEMBER:
        return [invalid(field_path("left_on"), "Must be null unless the city is a former member.")]
    if joined_on is not None and left_on < joined_on:
        return [invalid(field_path("left_on"), "Must not lie before the day the city joined.")]
    return []
