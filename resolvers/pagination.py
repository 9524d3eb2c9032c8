"""Cursor pagination in SQL: each parent's Relay page of rows, and its total, in one statement.

Connections page by key (keyset pagination): a cursor holds the sort key of its row, the
values of the connection's ORDER BY terms, the primary key last, so a page after it starts
right behind that row whatever rows were added or removed meanwhile. Search pages by offset
(`Window`): its hits are ranked anew on every request.
"""

import base64
import binascii
import json
import re
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import strawberry
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Date,
    DateTime,
    Integer,
    Numeric,
    Select,
    SmallInteger,
    String,
    Text,
    and_,
    cast,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    tuple_,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import UnaryExpression
from sqlalchemy.sql.util import ClauseAdapter
from strawberry.relay.types import PREFIX
from strawberry.relay.utils import SliceMetadata, from_base64, to_base64

from resolvers.errors import bad_input
from resolvers.sources import Relation

# A cursor is base64 of the JSON array [CURSOR_VERSION, connection and order, *key as text].
CURSOR_VERSION = 1

# Offsets of search cursors beyond any list's length (PostgreSQL's int4 holds them).
MAX_OFFSET = 10**9

Adapt = Any  # re-targets SQL written against a model's table (identity on the resolver path)


@dataclass(frozen=True)
class Window:
    """Which offsets of an ordered list a search page holds: [start, end), or the `last`
    before end."""

    start: int
    end: int | None
    last: int | None

    @classmethod
    def from_arguments(
        cls,
        info: strawberry.Info,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        max_results: int | None,
    ) -> "Window":
        """The window the Relay arguments ask for; bad arguments are the client's error."""
        for name, cursor in (("after", after), ("before", before)):
            if cursor is not None and not is_offset_cursor(cursor):
                raise bad_input(f"Argument '{name}' is not a cursor of this API.")
        try:
            window = SliceMetadata.from_arguments(
                info, before=before, after=after, first=first, last=last, max_results=max_results
            )
        except (ValueError, TypeError) as error:
            raise bad_input(str(error)) from None
        # SliceMetadata marks "the last n of the whole list" with an open end.
        if window.end == sys.maxsize:
            return cls(start=window.start, end=None, last=last)
        return cls(start=window.start, end=window.end, last=None)

    def contains(self, row_number: Any, total: Any) -> ColumnElement[bool]:
        """SQL: whether the row numbered `row_number` (from 1) of `total` rows is in the window."""
        conditions = [row_number > self.start]
        if self.end is not None:
            conditions.append(row_number <= self.end)
        if self.last is not None:
            conditions.append(row_number > total - self.last)
        return and_(true(), *conditions)


def is_offset_cursor(cursor: str) -> bool:
    """Whether `cursor` is an offset cursor (strawberry's format) of a possible offset."""
    try:
        prefix, offset = from_base64(cursor)
    except (ValueError, TypeError):
        return False
    digits = re.fullmatch("[0-9]{1,10}", offset) is not None
    return prefix == PREFIX and digits and int(offset) <= MAX_OFFSET


def offset_cursor(offset: int) -> str:
    """The cursor of a search hit's offset (strawberry's own format)."""
    return to_base64(PREFIX, offset)


@dataclass(frozen=True)
class Term:
    """One ORDER BY term of a sort key: its expression (written against the model's table),
    direction and where its nulls go (PostgreSQL's defaults: last ascending, first
    descending)."""

    expression: Any
    descending: bool
    nulls_last: bool
    nullable: bool

    @classmethod
    def of(cls, term: Any) -> "Term":
        """The term of an ORDER BY clause: a column, or one with asc/desc/nulls modifiers."""
        if hasattr(term, "__clause_element__"):
            term = term.__clause_element__()
        descending, nulls_last = False, None
        while isinstance(term, UnaryExpression) and term.modifier is not None:
            if term.modifier is operators.desc_op:
                descending = True
            elif term.modifier in (operators.nulls_last_op, operators.nulls_first_op):
                nulls_last = term.modifier is operators.nulls_last_op
            term = term.element
        # Only columns say whether they hold nulls; expressions may.
        nullable = getattr(term, "nullable", True)
        return cls(term, descending, not descending if nulls_last is None else nulls_last, nullable)

    def reversed(self) -> "Term":
        """The term in the opposite order."""
        return Term(self.expression, not self.descending, not self.nulls_last, self.nullable)

    def clause(self, adapt: Adapt) -> Any:
        """The ORDER BY clause of the term."""
        expression = adapt(self.expression)
        ordered = expression.desc() if self.descending else expression.asc()
        if self.nulls_last == self.descending:  # not PostgreSQL's default for the direction
            return ordered.nulls_last() if self.nulls_last else ordered.nulls_first()
        return ordered

    def follows(self, expression: Any, value: Any) -> ColumnElement[bool]:
        """SQL: the expression's value sorts strictly after `value` in this term's order."""
        if value is None:
            return false() if self.nulls_last else expression.is_not(None)
        later = expression < value if self.descending else expression > value
        return or_(later, expression.is_(None)) if self.nulls_last and self.nullable else later

    @staticmethod
    def equals(expression: Any, value: Any) -> ColumnElement[bool]:
        """SQL: the expression's value is `value` (null included)."""
        return expression.is_(None) if value is None else expression == value

    def parse(self, text: Any) -> Any:
        """The value a cursor gives as text, in the expression's type; ValueError where it is
        none (forged, or out of the type's range)."""
        if text is None:
            return None
        if not isinstance(text, str):
            raise ValueError(text)
        return parse_value(self.expression.type, text)


INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))


def parse_value(sql_type: Any, text: str) -> Any:
    """A value of `sql_type` written as PostgreSQL casts it to text, checked to fit the type."""
    for integer_type, bits in INTEGER_BITS:
        if isinstance(sql_type, integer_type):
            # Digits only, as PostgreSQL writes them (int() takes "+5", "5_0", Arabic digits).
            if not re.fullmatch("-?[0-9]{1,20}", text):
                raise ValueError(text)
            number = int(text)
            if not -(2 ** (bits - 1)) <= number < 2 ** (bits - 1):
                raise ValueError(text)
            return number
    if isinstance(sql_type, Numeric):
        if not re.fullmatch(r"-?[0-9]{1,30}(\.[0-9]{1,30})?", text):
            raise ValueError(text)
        return Decimal(text)
    if isinstance(sql_type, DateTime):
        return datetime.fromisoformat(text)
    if isinstance(sql_type, Date):
        return date.fromisoformat(text)
    if isinstance(sql_type, String):
        # PostgreSQL's text holds no NUL; UTF-8 no lone surrogates.
        if "\x00" in text:
            raise ValueError(text)
        text.encode()
        return text
    raise TypeError(f"no cursors for sort keys of type {sql_type}")


@dataclass(frozen=True)
class SortKey:
    """A connection's order as its cursors hold it: the connection and order they belong to
    (`name`), and the ORDER BY terms, made total by the primary key."""

    name: str
    # The name determines the terms; they are made anew per request, and compare by identity.
    terms: tuple[Term, ...] = field(compare=False)

    @classmethod
    def of(cls, name: str, ordering: tuple[Any, ...]) -> "SortKey":
        """The key of ORDER BY terms; a term repeating an earlier expression orders nothing."""
        terms: list[Term] = []
        for term in map(Term.of, ordering):
            if not any(term.expression.compare(earlier.expression) for earlier in terms):
                terms.append(term)
        return cls(name, tuple(terms))

    def order_by(self, adapt: Adapt, forward: bool = True) -> list[Any]:
        """ORDER BY clauses of the key, or of its reverse."""
        return [(term if forward else term.reversed()).clause(adapt) for term in self.terms]

    def cursor(self, adapt: Adapt) -> ColumnElement[str]:
        """SQL: the cursor of a row, made by PostgreSQL on both read paths, so that they are
        alike to the byte: base64 of the JSON array of the version, the key's name and the
        row's key values as PostgreSQL writes them as text."""
        values = [cast(adapt(term.expression), Text) for term in self.terms]
        array = func.json_build_array(literal(CURSOR_VERSION), literal(self.name), *values)
        encoded = func.encode(func.textsend(cast(array, Text)), literal_column("'base64'"))
        # PostgreSQL's base64 breaks lines after 76 characters.
        return func.translate(encoded, literal_column("E'\\n'"), literal_column("''"))

    def decode(self, cursor: str, argument: str) -> tuple[Any, ...]:
        """The key values a cursor holds; any other cursor is the client's error."""
        try:
            data = json.loads(base64.b64decode(cursor, validate=True))
        except (ValueError, binascii.Error, RecursionError):
            data = None
        if not (isinstance(data, list) and len(data) >= 2 and data[0] == CURSOR_VERSION):
            raise bad_input(
                f"Argument '{argument}' is not a cursor of this API; take cursors from a "
                "connection's edges or pageInfo."
            )
        if data[1] != self.name or len(data) != 2 + len(self.terms):
            raise bad_input(
                f"Argument '{argument}' is a cursor of another connection or order "
                f"than {self.name}."
            )
        try:
            return tuple(term.parse(text) for term, text in zip(self.terms, data[2:], strict=True))
        except (ValueError, TypeError, UnicodeError):
            raise bad_input(f"Argument '{argument}' holds a value out of range.") from None

    def beyond(
        self, values: tuple[Any, ...], adapt: Adapt, forward: bool, inclusive: bool = False
    ) -> ColumnElement[bool]:
        """SQL: the row sorts after the row of `values` (`forward`) or before it, or is it
        (`inclusive`).

        Where every term runs in one direction and holds no nulls, this is one row
        comparison, which an index in the key's order answers as a range; otherwise each
        term decides where all before it are equal, and a bound on the first term, where it
        holds no nulls, gives an index its range.
        """
        terms = [term if forward else term.reversed() for term in self.terms]
        expressions = [adapt(term.expression) for term in terms]
        descending = {term.descending for term in terms}
        if len(descending) == 1 and not any(term.nullable for term in terms) and None not in values:
            left, right = tuple_(*expressions), tuple_(*(literal(v) for v in values))
            if descending == {True}:
                return left <= right if inclusive else left < right
            return left >= right if inclusive else left > right
        alternatives = []
        for index, (term, expression, value) in enumerate(
            zip(terms, expressions, values, strict=True)
        ):
            equal = [
                Term.equals(e, v) for e, v in zip(expressions[:index], values[:index], strict=True)
            ]
            alternatives.append(and_(*equal, term.follows(expression, value)))
        if inclusive:
            alternatives.append(and_(*map(Term.equals, expressions, values)))
        condition = or_(*alternatives)
        first, expression, value = terms[0], expressions[0], values[0]
        if first.nullable or value is None:
            return condition
        return and_(expression <= value if first.descending else expression >= value, condition)


@dataclass(frozen=True)
class Keyset:
    """Which rows of a connection a page holds: those between the cursors, the first and
    then the last so many of them."""

    key: SortKey
    first: int | None
    last: int | None
    after: tuple[Any, ...] | None
    before: tuple[Any, ...] | None

    @classmethod
    def from_arguments(
        cls,
        key: SortKey,
        *,
        first: int | None,
        after: str | None,
        last: int | None,
        before: str | None,
        max_results: int,
    ) -> "Keyset":
        """The page the Relay arguments ask for; bad arguments are the client's error."""
        for name, size in (("first", first), ("last", last)):
            if size is not None and size < 0:
                raise bad_input(f"Argument '{name}' must be a non-negative integer.")
            if size is not None and size > max_results:
                raise bad_input(f"Argument '{name}' cannot be higher than {max_results}.")
        return cls(
            key,
            first=max_results if first is None and last is None else first,
            last=last,
            after=None if after is None else key.decode(after, "after"),
            before=None if before is None else key.decode(before, "before"),
        )

    @property
    def forward(self) -> bool:
        """Whether the page is read from its start (`first`) or from its end (`last`)."""
        return self.last is None

    @property
    def size(self) -> int:
        """How many rows the page holds at most (compiled pages ask `first` or `last`)."""
        size = self.first if self.first is not None else self.last
        assert size is not None, "a page has a size"
        return size

    def bounds(self, adapt: Adapt) -> list[ColumnElement[bool]]:
        """SQL: the row lies between the cursors (a `before` earlier than `after`: none)."""
        conditions = self.bounds_after(adapt)
        if self.before is not None:
            conditions.append(self.key.beyond(self.before, adapt, forward=False))
        return conditions

    def bounds_after(self, adapt: Adapt) -> list[ColumnElement[bool]]:
        """SQL: the row lies after `after`, if given."""
        if self.after is None:
            return []
        return [self.key.beyond(self.after, adapt, forward=True)]

    def up_to_after(self, adapt: Adapt) -> ColumnElement[bool]:
        """SQL: the row lies before the page's start (`after`'s row or earlier)."""
        if self.after is None:
            return false()
        return self.key.beyond(self.after, adapt, forward=False, inclusive=True)

    def from_before(self, adapt: Adapt) -> ColumnElement[bool]:
        """SQL: the row lies after the page's end (`before`'s row or later)."""
        if self.before is None:
            return false()
        return self.key.beyond(self.before, adapt, forward=True, inclusive=True)


@dataclass
class Page:
    """One parent's page of rows as (offset, row, cursor), where it starts (also when it is
    empty: how many rows lie before it), and how many rows there are in all."""

    start: int
    total: int = 0
    rows: list[tuple[int, Any, str]] = field(default_factory=list)

    @property
    def has_previous_page(self) -> bool:
        """Whether rows come before this page."""
        first_offset = self.rows[0][0] if self.rows else self.start
        return 0 < first_offset <= self.total

    @property
    def has_next_page(self) -> bool:
        """Whether rows come after this page."""
        next_offset = self.rows[-1][0] + 1 if self.rows else self.start
        return next_offset < self.total


def sort_key(name: str, relation: Relation, order: Any) -> SortKey:
    """The sort key of a connection (`name`: its type and field) in an order (None: the
    relation's own), named with the order so that a cursor of another connection or order
    is refused."""
    if order is None:
        return SortKey.of(name, relation.ordering)
    return SortKey.of(f"{name}:{order.value}", (*order.ordering(), *relation.ordering))


def unchanged(expression: Any) -> Any:
    """SQL as it is written (the resolver path's rows are the model's table)."""
    return expression


def page_statement(
    relation: Relation,
    parents: list[Any],
    keyset: Keyset,
    where: tuple[ColumnElement[bool], ...],
) -> Select[Any]:
    """One SELECT of every parent's page, numbered per parent, with each parent's total.

    Rows come as (row, parent, number from 1, total, start, cursor, in page); `start` is how
    many rows lie before an empty page. The first row of each parent comes along even outside
    the page, carrying the total, so an empty page still knows its count without a second
    statement.
    """
    target = relation.target
    partition = relation.group
    ordering = keyset.key.order_by(unchanged)
    between = and_(true(), *keyset.bounds(unchanged))
    # The rows between the cursors, counted up to each row and in all.
    numbered = (
        relation.rows()
        .add_columns(
            func.row_number().over(partition_by=partition, order_by=ordering).label("_number"),
            func.count().over(partition_by=partition).label("_total"),
            func.count()
            .filter(keyset.up_to_after(unchanged))
            .over(partition_by=partition)
            .label("_start"),
            func.count()
            .filter(between)
            .over(partition_by=partition, order_by=ordering)
            .label("_between_number"),
            func.count().filter(between).over(partition_by=partition).label("_between"),
            between.label("_is_between"),
        )
        .where(relation.group.in_(parents), *where)
        .subquery("numbered")
    )
    row = aliased(target, numbered)
    # By key: attribute access like `.c._parent` would reach the collection's own attributes.
    columns = numbered.c
    number, between_number = columns["_number"], columns["_between_number"]
    in_page = and_(columns["_is_between"], *_sizes(keyset, between_number, columns["_between"]))
    cursor = keyset.key.cursor(ClauseAdapter(numbered).traverse)
    return (
        select(
            row,
            columns["_parent"],
            number,
            columns["_total"],
            columns["_start"],
            cursor,
            in_page.label("_in_page"),
        )
        .where(or_(number == 1, in_page))
        .order_by(columns["_parent"], number)
    )


def _sizes(keyset: Keyset, number: Any, count: Any) -> list[ColumnElement[bool]]:
    """SQL: the row numbered `number` of the `count` rows between the cursors is among the
    first `first` of them, and then among the last `last` of those."""
    conditions = []
    if keyset.first is not None:
        conditions.append(number <= keyset.first)
        count = func.least(count, keyset.first)
    if keyset.last is not None:
        conditions.append(number > count - keyset.last)
    return conditions
