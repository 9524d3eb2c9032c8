"""Grouped aggregates of a connection's rows: what each node type may be grouped by and summed
(declared once per type), and the one GROUP BY statement both read paths build from it."""

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Float,
    Integer,
    Numeric,
    Select,
    and_,
    cast,
    distinct,
    func,
    select,
    true,
)
from sqlalchemy.sql.visitors import cloned_traverse

import models
from resolvers.access import Viewer, sees_amount
from resolvers.errors import bad_input
from resolvers.expressions import CITY_SECTOR_COUNT, FUNDING_CITIES, composition_of


class Function(enum.Enum):
    """The figures of a group."""

    COUNT = "count"
    COUNT_DISTINCT = "count_distinct"
    SUM = "sum"
    AVG = "avg"
    MIN = "min"
    MAX = "max"


NUMERIC_FUNCTIONS = (Function.SUM, Function.AVG, Function.MIN, Function.MAX)
COMPARISONS = {
    "gt": lambda a, b: a > b,
    "gte": lambda a, b: a >= b,
    "lt": lambda a, b: a < b,
    "lte": lambda a, b: a <= b,
    "eq": lambda a, b: a == b,
}


@dataclass(frozen=True)
class Dimension:
    """Something the rows are grouped by: SQL on the model's table, and its GraphQL type."""

    expression: Any
    python_type: Any
    description: str


@dataclass(frozen=True)
class Measure:
    """A numeric value summed, averaged, and so on; `sees` says per row whether the viewer
    may see it (a confidential amount is counted, never summed, for the others)."""

    expression: Any
    python_type: Any
    description: str
    sees: Callable[[Viewer], ColumnElement[bool]] | None = None


@dataclass(frozen=True, eq=False)
class Aggregation:
    """What the rows of one node type may be grouped by and which numbers they hold."""

    type_name: str
    plural: str
    dimensions: dict[str, Dimension]
    measures: dict[str, Measure] = field(default_factory=dict)


@dataclass(frozen=True)
class Figure:
    """One figure of a group: a function of a field (none for COUNT)."""

    function: Function
    field: str | None

    def check(self, aggregation: Aggregation) -> None:
        """Refuse a function of a field it does not apply to."""
        name = self.function.name
        if self.function is Function.COUNT:
            if self.field is not None:
                raise bad_input("COUNT counts the rows of a group and takes no field.")
            return
        names = (
            aggregation.dimensions
            if self.function is Function.COUNT_DISTINCT
            else aggregation.measures
        )
        if not names:
            raise bad_input(f"{name} needs a numeric field, and {aggregation.plural} have none.")
        if self.field not in names:
            known = ", ".join(n.upper() for n in names)
            raise bad_input(f"{name} of {aggregation.plural} needs one of the fields {known}.")

    def column(self) -> str:
        """The figure's column in the grouped statement."""
        if self.function is Function.COUNT:
            return "count"
        return f"{self.function.value}_{self.field}"


@dataclass(frozen=True)
class Condition:
    """A HAVING condition: a figure compared with a value."""

    figure: Figure
    comparison: str
    value: Decimal


@dataclass(frozen=True)
class Request:
    """What an `aggregates` field asks for."""

    group_by: tuple[str, ...]
    having: tuple[Condition, ...]
    order_by: tuple[tuple[Figure, bool], ...]
    first: int


def year_of(day: Any) -> ColumnElement[int]:
    """The year of a date, as an integer."""
    return cast(func.extract("year", day), Integer)


def month_of(day: Any) -> ColumnElement[str]:
    """The month of a date as `YYYY-MM`."""
    return func.to_char(day, "YYYY-MM")


def network_state(network_id: Any, correlated: Any) -> ColumnElement[str]:
    """The state of a local network's city."""
    return (
        select(models.City.state_code)
        .join(models.LocalNetwork, models.LocalNetwork.city_id == models.City.id)
        .where(models.LocalNetwork.id == network_id)
        .correlate(correlated)
        .scalar_subquery()
    )


def slug_of(model: Any, key: Any, correlated: Any) -> ColumnElement[str]:
    """The slug of the row of `model` whose id is `key`."""
    return select(model.slug).where(model.id == key).correlate(correlated).scalar_subquery()


FUNDING_STATE = func.coalesce(
    select(models.City.state_code)
    .join(FUNDING_CITIES, FUNDING_CITIES.c.city_id == models.City.id)
    .where(FUNDING_CITIES.c.funding_id == models.Funding.id)
    .correlate(models.Funding)
    .limit(1)
    .scalar_subquery(),
    select(models.StatePartnership.state_code)
    .where(models.StatePartnership.id == models.Funding.state_partnership_id)
    .correlate(models.Funding)
    .scalar_subquery(),
)


def dimension(expression: Any, python_type: Any, description: str) -> Dimension:
    return Dimension(expression, python_type, description)


CITIES = Aggregation(
    "City",
    "cities",
    {
        "state": dimension(models.City.state_code, str, "The state's code, e.g. `HE`."),
        "kind": dimension(models.City.kind, models.CityKind, "The kind of municipality."),
        "status": dimension(models.City.status, models.MembershipStatus, "The status."),
        "composition": dimension(
            composition_of(CITY_SECTOR_COUNT),
            models.SectorComposition,
            "The sector composition of the city's local network.",
        ),
        "joined_year": dimension(year_of(models.City.joined_on), int, "The year it joined."),
        "joined_month": dimension(
            month_of(models.City.joined_on), str, "The month it joined, as `YYYY-MM`."
        ),
    },
    {"population": Measure(models.City.population, int, "Inhabitants.")},
)

ACTORS = Aggregation(
    "Actor",
    "actors",
    {
        "state": dimension(
            network_state(models.Actor.network_id, models.Actor), str, "The state's code."
        ),
        "sector": dimension(models.Actor.sector_code, models.SectorCode, "The sector."),
        "role": dimension(models.Actor.role, models.ActorRole, "The role in its network."),
    },
)

MEASURES = Aggregation(
    "Measure",
    "measures",
    {
        "state": dimension(
            network_state(models.Measure.network_id, models.Measure), str, "The state's code."
        ),
        "theme": dimension(
            slug_of(models.Theme, models.Measure.theme_id, models.Measure),
            str,
            "The theme's slug.",
        ),
        "start_year": dimension(year_of(models.Measure.starts_on), int, "The year it starts."),
        "start_month": dimension(
            month_of(models.Measure.starts_on), str, "The month it starts, as `YYYY-MM`."
        ),
    },
)

FUNDERS = Aggregation(
    "Funder",
    "funders",
    {
        "kind": dimension(models.Funder.kind, models.FunderKind, "The kind of organisation."),
        "scope": dimension(models.Funder.scope, models.FunderScope, "Where it funds."),
    },
)

FUNDINGS = Aggregation(
    "Funding",
    "fundings",
    {
        "funder": dimension(
            slug_of(models.Funder, models.Funding.funder_id, models.Funding),
            str,
            "The funder's slug.",
        ),
        "theme": dimension(
            slug_of(models.Theme, models.Funding.theme_id, models.Funding),
            str,
            "The theme's slug.",
        ),
        "state": dimension(FUNDING_STATE, str, "The state of the city or partnership reached."),
        "contribution_type": dimension(
            models.Funding.contribution_type, models.ContributionType, "The contribution type."
        ),
        "recipient_kind": dimension(
            models.Funding.recipient_kind, models.RecipientKind, "The kind of recipient."
        ),
        "start_year": dimension(year_of(models.Funding.starts_on), int, "The year it starts."),
        "start_month": dimension(
            month_of(models.Funding.starts_on), str, "The month it starts, as `YYYY-MM`."
        ),
    },
    {
        "amount_eur": Measure(
            models.Funding.amount_eur,
            Decimal,
            "Euros; a confidential amount only where the viewer may see it.",
            sees_amount,
        )
    },
)


def figures(aggregation: Aggregation, viewer: Viewer) -> dict[str, Any]:
    """Every figure of a group by its column name, as SQL on the model's table."""
    values: dict[str, Any] = {"count": func.count()}
    for name, grouped in aggregation.dimensions.items():
        values[f"count_distinct_{name}"] = func.count(distinct(grouped.expression))
    for name, measure in aggregation.measures.items():
        seen = true() if measure.sees is None else measure.sees(viewer)
        value = measure.expression
        values[f"sum_{name}"] = func.sum(value).filter(seen)
        values[f"avg_{name}"] = average(func.avg(value).filter(seen), measure.python_type)
        values[f"min_{name}"] = func.min(value).filter(seen)
        values[f"max_{name}"] = func.max(value).filter(seen)
    return values


def average(value: Any, python_type: Any) -> Any:
    """An average: euros to the cent, counts as floating-point numbers."""
    if python_type is Decimal:
        return func.round(value, 2)
    return cast(value, Float)


def grouped(
    aggregation: Aggregation,
    rows: Select[Any],
    adapt: Callable[[Any], Any],
    request: Request,
    viewer: Viewer,
) -> Select[Any]:
    """The groups of `rows` (a SELECT of the model's rows; `adapt` re-targets SQL written on
    the model's table to them): one row per group with its keys (`key_<dimension>`), every
    figure, and its `position` in the asked order; the caller limits them to `first`."""
    keys = {name: adapt(aggregation.dimensions[name].expression) for name in request.group_by}
    values = {name: adapt(value) for name, value in figures(aggregation, viewer).items()}
    conditions = [
        COMPARISONS[c.comparison](values[c.figure.column()], cast(c.value, Numeric))
        for c in request.having
    ]
    order = [
        (values[figure.column()].desc() if descending else values[figure.column()].asc())
        for figure, descending in request.order_by
    ]
    order += [key.asc() for key in keys.values()]
    position = func.row_number().over(order_by=[term.nulls_last() for term in order])
    columns = [
        *(key.label(f"key_{name}") for name, key in keys.items()),
        *(value.label(name) for name, value in values.items()),
        position.label("position"),
    ]
    statement = rows.with_only_columns(*columns, maintain_column_froms=True)
    if keys:
        statement = statement.group_by(*keys.values())
    return statement.having(and_(true(), *conditions)).order_by("position")


def copied(expression: Any) -> Any:
    """A copy of declared SQL, for a statement on the model's own table (the resolver path).

    The declarations are shared by every request and must never be compiled themselves:
    SQLAlchemy keeps a compiled function's memoized columns in the copies an adapter makes of
    it later, and such a copy grouped by would name the model's table instead of its alias.
    """
    return cloned_traverse(expression, {}, {})


def dimension_value(aggregation: Aggregation, name: str, value: Any) -> Any:
    """A key's value as GraphQL types it (enum members for enums)."""
    python_type = aggregation.dimensions[name].python_type
    if value is None or not isinstance(python_type, type) or not issubclass(python_type, enum.Enum):
        return value
    return python_type(value)


def request_of(
    aggregation: Aggregation,
    group_by: list[Any] | None,
    having: list[Any] | None,
    order_by: list[Any] | None,
    first: int | None,
    max_groups: int,
) -> Request:
    """The request the `aggregates` arguments make (the inputs of schema/aggregates.py),
    refusing figures of fields they do not apply to and more groups than `max_groups`."""
    if first is None:
        first = max_groups
    if not 0 <= first <= max_groups:
        raise bad_input(f"first must lie between 0 and {max_groups}, not {first}.")
    conditions = tuple(
        Condition(checked(aggregation, item), comparison, value)
        for item in having or ()
        for comparison, value in item.comparisons()
    )
    order = tuple((checked(aggregation, item), item.descending) for item in order_by or ())
    dimensions = tuple(dict.fromkeys(item.value for item in group_by or ()))
    return Request(dimensions, conditions, order, first)


def checked(aggregation: Aggregation, item: Any) -> Figure:
    """The figure a condition or order names, if it applies to its field."""
    figure = Figure(item.function, None if item.field is None else item.field.value)
    figure.check(aggregation)
    return figure
