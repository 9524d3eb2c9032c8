"""Cursor pagination in SQL: each parent's Relay window of rows, and its total, in one statement."""

import sys
from dataclasses import dataclass, field
from typing import Any

import strawberry
from graphql import GraphQLError
from sqlalchemy import ColumnElement, Select, and_, func, or_, select, true
from sqlalchemy.orm import aliased
from strawberry.relay.types import PREFIX
from strawberry.relay.utils import SliceMetadata, from_base64, to_base64

from resolvers.sources import Relation


@dataclass(frozen=True)
class Window:
    """Which offsets of an ordered list a page holds: [start, end), or the `last` before end."""

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
            if cursor is not None and not is_cursor(cursor):
                raise GraphQLError(
                    f"Argument '{name}' is not a cursor of this API.",
                    extensions={"code": "BAD_USER_INPUT"},
                )
        try:
            window = SliceMetadata.from_arguments(
                info, before=before, after=after, first=first, last=last, max_results=max_results
            )
        except (ValueError, TypeError) as error:
            raise GraphQLError(str(error), extensions={"code": "BAD_USER_INPUT"}) from None
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


def is_cursor(cursor: str) -> bool:
    """Whether `cursor` has the shape of this API's cursors (strawberry's offset cursors)."""
    try:
        prefix, offset = from_base64(cursor)
    except (ValueError, TypeError):
        return False
    return prefix == PREFIX and offset.isdigit()


@dataclass
class Page:
    """One parent's page of rows, with their offsets, and how many rows there are in all."""

    window: Window
    total: int = 0
    rows: list[tuple[int, Any]] = field(default_factory=list)

    def cursor(self, offset: int) -> str:
        """The opaque cursor of an offset (strawberry's own format)."""
        return to_base64(PREFIX, offset)

    @property
    def has_previous_page(self) -> bool:
        """Whether rows come before this page."""
        first_offset = self.rows[0][0] if self.rows else self.window.start
        return 0 < first_offset <= self.total

    @property
    def has_next_page(self) -> bool:
        """Whether rows come after this page."""
        next_offset = self.rows[-1][0] + 1 if self.rows else self.window.start
        return next_offset < self.total


def page_statement(
    relation: Relation,
    parents: list[Any],
    window: Window,
    where: tuple[ColumnElement[bool], ...],
    order_by: tuple[ColumnElement[Any], ...],
) -> Select[Any]:
    """One SELECT of every parent's page, numbered per parent, with each parent's total.

    Rows come as (row, parent, number from 1, total, in page). The first row of each parent
    comes along even outside the window, carrying the total, so an empty page still knows its
    count without a second statement.
    """
    target = relation.target
    ordering = (*order_by, *relation.ordering)
    numbered = (
        relation.rows()
        .add_columns(
            _number(relation, ordering).label("_number"),
            _count(relation).label("_total"),
        )
        .where(relation.group.in_(parents), *where)
        .subquery("numbered")
    )
    row = aliased(target, numbered)
    # By key: attribute access like `.c._parent` would reach the collection's own attributes.
    parent, number, total = (numbered.c[name] for name in ("_parent", "_number", "_total"))
    in_page = window.contains(number, total)
    return (
        select(row, parent, number, total, in_page.label("_in_page"))
        .where(or_(number == 1, in_page))
        .order_by(parent, number)
    )


def _number(relation: Relation, ordering: tuple[ColumnElement[Any], ...]) -> Any:
    """Each row's position (from 1) among its parent's rows."""
    return func.row_number().over(partition_by=relation.group, order_by=ordering)


def _count(relation: Relation) -> Any:
    """How many rows its parent has."""
    return func.count().over(partition_by=relation.group)
