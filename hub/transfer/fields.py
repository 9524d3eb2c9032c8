"""The fields of the transfer format: how a value is written in JSON and in a CSV cell, and the
rules it obeys, read from the model column that stores it wherever the column knows them."""

import enum
import math
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Column, Date, Enum, Float, Integer, Numeric, String
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.elements import False_, True_

Row = dict[str, Any]


class Kind:
    """How the values of one type are read and written; read errors are `ValueError(reason)`."""

    def from_json(self, value: Any) -> Any:
        """The value of a JSON value (numbers arrive as int or Decimal)."""
        raise NotImplementedError

    def from_text(self, text: str) -> Any:
        """The value of a non-empty CSV cell."""
        return self.from_json(text)

    def to_json(self, value: Any) -> Any:
        """`value` as a JSON value."""
        return value

    def to_text(self, value: Any) -> str:
        """`value` as a CSV cell."""
        return str(value)


class Text(Kind):
    """Text, taken as written (no trimming: a round trip keeps every character)."""

    def from_json(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("not text")
        return value


class Code(Kind):
    """A value of an enumeration: as the database stores it (`civil_society`), or as the API
    prints it, the member's name (`CIVIL_SOCIETY`); read as the former, written as it."""

    def __init__(self, enum_class: type[enum.Enum]) -> None:
        self.enum_class = enum_class

    def from_json(self, value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("not text")
        member = self.enum_class.__members__.get(value)
        return value if member is None else str(member.value)


class WholeNumber(Kind):
    """A whole number: a JSON integer, or a cell of digits."""

    def from_json(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("not a whole number")
        return value

    def from_text(self, text: str) -> int:
        if not re.fullmatch(r"-?[0-9]+", text.strip()):
            raise ValueError("not a whole number")
        return int(text)


class Number(Kind):
    """A finite decimal number stored in binary floating point (coordinates)."""

    def from_json(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise ValueError("not a number")
        return self.from_text(str(value))

    def from_text(self, text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            raise ValueError("not a number") from None
        if not math.isfinite(number):
            raise ValueError("not a number")
        return number


class Amount(Kind):
    """An amount of money: written as a decimal string with its cents ("1500.00"), so that it
    never passes through binary floating point; JSON numbers are read exactly too."""

    def from_json(self, value: Any) -> Decimal:
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise ValueError("not an amount like 1500.00")
        return self.from_text(str(value))

    def from_text(self, text: str) -> Decimal:
        try:
            amount = Decimal(text.strip())
        except InvalidOperation:
            raise ValueError("not an amount like 1500.00") from None
        if not amount.is_finite():
            raise ValueError("not an amount like 1500.00")
        return amount

    def to_json(self, value: Decimal) -> str:
        return f"{value:.2f}"

    def to_text(self, value: Decimal) -> str:
        return f"{value:.2f}"


class Day(Kind):
    """A calendar day, written YYYY-MM-DD."""

    def from_json(self, value: Any) -> date:
        if not isinstance(value, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", value):
            raise ValueError("not a date (YYYY-MM-DD)")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("not a date (YYYY-MM-DD)") from None

    def to_json(self, value: date) -> str:
        return value.isoformat()

    def to_text(self, value: date) -> str:
        return value.isoformat()


class Flag(Kind):
    """Yes or no: JSON true/false, a cell `true` or `false`."""

    def from_json(self, value: Any) -> bool:
        if not isinstance(value, bool):
            raise ValueError("not true or false")
        return value

    def from_text(self, text: str) -> bool:
        if text not in ("true", "false"):
            raise ValueError("not true or false")
        return text == "true"

    def to_text(self, value: bool) -> str:
        return "true" if value else "false"


class Names(Kind):
    """A set of keys (slugs, codes): a JSON list, or one cell of keys separated by spaces.

    Kept sorted, so that the order a file lists them in never counts as a change.
    """

    def from_json(self, value: Any) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ValueError("not a list of names")
        return self.checked(value)

    def from_text(self, text: str) -> tuple[str, ...]:
        return self.checked(text.split())

    @staticmethod
    def checked(names: list[str]) -> tuple[str, ...]:
        """The names sorted; a name given twice is an error."""
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"lists {', '.join(twice)} more than once")
        return tuple(sorted(names))

    def to_json(self, value: tuple[str, ...]) -> list[str]:
        return list(value)

    def to_text(self, value: tuple[str, ...]) -> str:
        return " ".join(value)


TEXT, WHOLE_NUMBER, NUMBER, AMOUNT, DAY, FLAG, NAMES = (
    Text(), WholeNumber(), Number(), Amount(), Day(), Flag(), Names()
)  # fmt: skip


@dataclass(frozen=True)
class Field:
    """One field of an entity's rows: where it is stored and what a valid value is."""

    name: str  # as the file names it; `network.name` nests in JSON and is a CSV column
    column: Column[Any]  # where the value is stored (the id column, for a reference)
    kind: Kind
    required: bool = False  # a new row must give a value
    default: Any = None  # the value of a new row that gives none, or of an explicit null
    max_length: int | None = None
    pattern: str | None = None
    pattern_says: str = ""  # what the pattern asks for, in words
    choices: tuple[str, ...] | None = None
    bounds: tuple[Any, Any] | None = None
    decimals: int | None = None
    not_blank: bool = False
    target: str | None = None  # the entity whose key a value names
    link_parent: Column[Any] | None = None  # a set stored in a link table: its parent column
    # Further columns of a link row, each a copy of a column of the parent's row.
    link_copies: tuple[tuple[Column[Any], Column[Any]], ...] = ()

    def default_for(self, row: Row) -> Any:
        """The value a new row (or an explicit null) takes."""
        return self.default(row) if callable(self.default) else self.default

    def problem(self, value: Any) -> str | None:
        """What is wrong with a read value of this field, if anything."""
        if self.kind is not NAMES:
            return self.item_problem(value)
        return next(filter(None, map(self.item_problem, value)), None)

    def item_problem(self, value: Any) -> str | None:
        """What is wrong with one value (one name of a set), if anything."""
        if self.not_blank and not value.strip():
            return "is blank"
        if self.max_length is not None and len(value) > self.max_length:
            return f"longer than {self.max_length} characters"
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            return f"not {self.pattern_says}"
        if self.choices is not None and value not in self.choices:
            return f"not one of {', '.join(self.choices)}"
        if self.bounds is not None and not self.bounds[0] <= value <= self.bounds[1]:
            return f"not between {self.bounds[0]} and {self.bounds[1]}"
        if self.decimals is not None and value != round(value, self.decimals):
            return f"more than {self.decimals} decimals"
        return None


def stored(name: str, attribute: InstrumentedAttribute[Any] | Column[Any], **rules: Any) -> Field:
    """A field stored in `attribute`'s column: its type, length, enum values, whether it may be
    null and its server default come from the column; `rules` add what the column cannot say."""
    column = as_column(attribute)
    kind, column_rules = kind_of(column)
    default = server_default_of(column)
    required = not column.nullable and default is None
    return Field(name, column, kind, required, default, **column_rules | rules)


def reference(
    name: str, attribute: InstrumentedAttribute[Any] | Column[Any], target: str, **rules: Any
) -> Field:
    """A field naming a row of `target` by its key, stored as that row's id in `attribute`."""
    column = as_column(attribute)
    return Field(name, column, TEXT, required=not column.nullable, target=target, **rules)


def linked(
    name: str,
    parent: InstrumentedAttribute[Any] | Column[Any],
    child: InstrumentedAttribute[Any] | Column[Any],
    target: str | None = None,
    **rules: Any,
) -> Field:
    """A set of keys stored as rows of a link table: `parent` points at the row the set
    belongs to, `child` at each member (an id of `target`, or the key itself)."""
    column = as_column(child)
    return Field(
        name, column, NAMES, default=(), target=target, link_parent=as_column(parent), **rules
    )


def slug(name: str, attribute: InstrumentedAttribute[Any], pattern: str) -> Field:
    """A slug field, checked against the database's own slug pattern."""
    return stored(name, attribute, pattern=pattern, pattern_says="a slug (like dessau-rosslau)")


def choice(name: str, attribute: InstrumentedAttribute[Any], choices: Collection[str]) -> Field:
    """A field whose values are codes from a fixed list (states, sectors)."""
    return stored(name, attribute, choices=tuple(sorted(choices)))


def enumerated(
    name: str, attribute: InstrumentedAttribute[Any], enum_class: type[enum.Enum]
) -> Field:
    """A field whose values are those of `enum_class`, in a column whose type does not know
    them (an actor's sector: a key of the sectors table)."""
    codes = [member.value for member in enum_class]
    return replace(choice(name, attribute, codes), kind=Code(enum_class))


def with_default(field: Field, default: Callable[[Row], Any]) -> Field:
    """`field`, taking a value made from the rest of a new row when it gives none."""
    return replace(field, required=False, default=default)


def as_column(attribute: InstrumentedAttribute[Any] | Column[Any]) -> Column[Any]:
    """The table column behind a model attribute (or the column itself)."""
    if isinstance(attribute, Column):
        return attribute
    [column] = attribute.property.columns
    return column


def kind_of(column: Column[Any]) -> tuple[Kind, dict[str, Any]]:
    """How a column's values are written, and the rules its type sets."""
    column_type = column.type
    if isinstance(column_type, Enum) and column_type.enum_class is not None:
        return Code(column_type.enum_class), {"choices": tuple(column_type.enums)}
    if isinstance(column_type, String):
        return TEXT, {"max_length": column_type.length}
    if isinstance(column_type, Boolean):
        return FLAG, {}
    if isinstance(column_type, Integer):
        return WHOLE_NUMBER, {}
    if isinstance(column_type, Date):
        return DAY, {}
    if isinstance(column_type, Float):
        return NUMBER, {}
    if isinstance(column_type, Numeric) and column_type.scale is not None:
        # NUMERIC(p, s): at most p - s digits before the point; not negative (money).
        whole_digits = (column_type.precision or 0) - column_type.scale
        largest = Decimal(10) ** whole_digits - Decimal(10) ** -column_type.scale
        return AMOUNT, {"bounds": (Decimal(0), largest), "decimals": column_type.scale}
    raise TypeError(f"no transfer kind for {column_type!r} ({column})")


def server_default_of(column: Column[Any]) -> Any:
    """The value the database gives a column left out of an INSERT, None if it gives none."""
    if column.server_default is None:
        return None
    argument = column.server_default.arg  # type: ignore[attr-defined]
    if isinstance(argument, False_ | True_):
        return isinstance(argument, True_)
    if isinstance(argument, str):
        return argument
    raise TypeError(f"no transfer default for {column}'s server default {argument!r}")
