"""Statistics in SQL: counts and funding totals grouped in the database.

Each figure is one GROUP BY statement. A request asking for the same figure in several scopes
(e.g. `states { statistics { ... } }`) gets one statement for all of them: the scopes' own
columns join the grouping, and their values narrow the rows.

The figures of the whole network and of a state read the figures the writes keep per state
(`models.statistics_figures`, kept by the migration `statistics kept by the writes`): a few
rows per state, whatever the network's size. A funder's part is counted from its fundings.
"""

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import (
    Float,
    Integer,
    Row,
    Select,
    cast,
    distinct,
    extract,
    false,
    func,
    join,
    literal,
    literal_column,
    outerjoin,
    select,
    true,
    union_all,
)
from sqlalchemy import tuple_ as sql_tuple
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.sql.util import ClauseAdapter

import models
from resolvers.compiler import Values, object_type_of, output, unwrap
from resolvers.context import Context
from resolvers.expressions import CITY_FUNDERS, composition_of
from resolvers.sources import SqlColumn, SqlJoinable


@dataclass(frozen=True)
class Scope:
    """What statistics cover: the whole network, one state, one funder's part, or both at once.

    A state covers its cities (with their networks and actors) and the fundings that reach it;
    a funder covers its fundings and the cities they reach. Both together cover the intersection.
    """

    state_code: str | None = None
    funder_id: int | None = None

    @property
    def kind(self) -> tuple[bool, bool]:
        """Which restrictions are set; scopes of one kind share one statement."""
        return (self.state_code is not None, self.funder_id is not None)

    @property
    def values(self) -> tuple[Any, ...]:
        """The values of the restrictions that are set, state first."""
        return tuple(value for value in (self.state_code, self.funder_id) if value is not None)


@dataclass(frozen=True)
class Rows:
    """The rows a family of figures counts, and the columns that place a row in a scope.

    `funder_link` is what to join to reach `funder`, when the rows do not carry it themselves.
    """

    table: SqlJoinable
    state: SqlColumn
    funder: SqlColumn
    funder_link: tuple[SqlJoinable, SqlColumn] | None = None
    # Whether the compiled path reads a scope's rows once for all figures (a CTE), where
    # reaching them is the expensive part and several figures count them.
    shared: bool = False

    def select(self, scope: Scope, *columns: SqlColumn) -> tuple[Select[Any], list[SqlColumn]]:
        """SELECT the scope's columns, then `columns`; also return the scope's columns."""
        scope_columns = [
            column
            for column, used in zip((self.state, self.funder), scope.kind, strict=True)
            if used
        ]
        statement = select(
            *(column.label(f"_scope_{n}") for n, column in enumerate(scope_columns)), *columns
        ).select_from(self.table)
        if scope.funder_id is not None and self.funder_link is not None:
            statement = statement.join(*self.funder_link)
        return statement, scope_columns

    def in_scope(self, scope: Scope) -> Select[Any]:
        """All columns of the rows in one `scope`."""
        statement, scope_columns = self.select(scope, *self.table.c)
        if scope_columns:
            statement = statement.where(sql_tuple(*scope_columns) == sql_tuple(*scope.values))
        return statement


# A city's funders are those of its network or of the network's measures.
_CITY_FUNDER_LINK = (CITY_FUNDERS, CITY_FUNDERS.c.city_id == models.City.id)
_NETWORKS_OF_CITIES = join(
    models.LocalNetwork, models.City, models.City.id == models.LocalNetwork.city_id
)

CITIES = Rows(models.City, models.City.state_code, CITY_FUNDERS.c.funder_id, _CITY_FUNDER_LINK)
ACTORS = Rows(
    _NETWORKS_OF_CITIES.join(models.Actor, models.Actor.network_id == models.LocalNetwork.id),
    models.City.state_code,
    CITY_FUNDERS.c.funder_id,
    _CITY_FUNDER_LINK,
)

# Each network's number of sectors, counted from its own actors by index: only the networks
# of the scope are counted (an aggregate over all actors first would count every network).
_SECTOR_COUNTS = (
    select(func.count(distinct(models.Actor.sector_code)).label("sectors"))
    .where(models.Actor.network_id == models.LocalNetwork.id)
    .lateral("sector_counts")
)
NETWORKS = Rows(
    _NETWORKS_OF_CITIES.join(_SECTOR_COUNTS, true()),
    models.City.state_code,
    CITY_FUNDERS.c.funder_id,
    _CITY_FUNDER_LINK,
)

# The state a funding reaches: its city's, or its state partnership's; none for the whole
# network. One branch per path, each from the state's side along indexed keys (cities by
# state, their networks, measures and fundings), so that a condition on the state is pushed
# into every branch and reads the state's rows only, not every funding.
_City, _Network, _Measure = models.City, models.LocalNetwork, models.Measure
_Funding, _Partnership = models.Funding, models.StatePartnership
_FUNDING_STATES = union_all(
    select(_Funding.id.label("funding_id"), _City.state_code)
    .join(_Network, _Network.city_id == _City.id)
    .join(_Funding, _Funding.network_id == _Network.id),
    select(_Funding.id.label("funding_id"), _City.state_code)
    .join(_Network, _Network.city_id == _City.id)
    .join(_Measure, _Measure.network_id == _Network.id)
    .join(_Funding, _Funding.measure_id == _Measure.id),
    select(_Funding.id.label("funding_id"), _Partnership.state_code).join(
        _Funding, _Funding.state_partnership_id == _Partnership.id
    ),
).subquery("funding_states")
FUNDING_STATE = _FUNDING_STATES.c.state_code
FUNDINGS = Rows(
    outerjoin(models.Funding, _FUNDING_STATES, _FUNDING_STATES.c.funding_id == models.Funding.id),
    FUNDING_STATE,
    models.Funding.funder_id,
    shared=True,
)


KEPT = models.StatisticsFigure.__table__


@dataclass(frozen=True)
class Kept:
    """A figure as the writes keep it per state: its name in `statistics_figures`, and its
    columns as sums of the kept rows (of one state, or of all)."""

    name: str
    columns: tuple[SqlColumn, ...]


def kept_sum(column: SqlColumn, label: str, *where: Any) -> SqlColumn:
    """The sum of a kept column over the rows (those `where` holds), zero for none."""
    total: Any = func.sum(column)
    if where:
        total = total.filter(*where)
    return cast(func.coalesce(total, 0), column.type).label(label)


KEPT_COUNT = (kept_sum(KEPT.c.number, "number"),)
KEPT_TOTALS = (
    func.sum(KEPT.c.amount_eur).label("amount_eur"),
    kept_sum(KEPT.c.funding_count, "funding_count"),
)


@dataclass(frozen=True, eq=False)
class Figure:
    """One statistic: `columns` aggregated over `rows`, grouped by `group_by` within each scope.

    Where the writes keep it (`kept`), the whole network's and the states' figures read it.
    Figures are module constants: a request's loader of a figure is found by its identity.
    """

    rows: Rows
    columns: tuple[SqlColumn, ...]
    group_by: tuple[SqlColumn, ...] = ()
    kept: Kept | None = None

    def statement(self, scopes: Sequence[Scope]) -> Select[Any]:
        """One SELECT of the figure for `scopes` (all of one kind); rows lead with their scope."""
        if self.kept is not None and scopes[0].funder_id is None:
            return self.kept_statement(self.kept, scopes)
        statement, scope_columns = self.rows.select(scopes[0], *self.columns)
        if scope_columns:
            statement = statement.where(
                sql_tuple(*scope_columns).in_([scope.values for scope in scopes])
            )
        grouping = (*scope_columns, *self.group_by)
        return statement.group_by(*grouping).order_by(*grouping)

    def kept_statement(self, kept: Kept, scopes: Sequence[Scope]) -> Select[Any]:
        """The figure from the kept rows of the scopes' states, or of all states."""
        grouping: list[Any] = []
        columns = list(kept.columns)
        if self.group_by:
            key_type = expression(self.group_by[0]).type
            key = cast(func.nullif(KEPT.c.key, models.NO_KEY), key_type)
            grouping.append(key)
            columns.insert(0, key.label("key"))
        # The name as a constant: statements of different figures differ in SQL, so that none
        # takes the cached compilation of another, with another key type.
        statement = select().where(KEPT.c.figure == literal_column(f"'{kept.name}'"))
        if scopes[0].state_code is not None:
            grouping.insert(0, KEPT.c.region)
            columns.insert(0, KEPT.c.region.label("_scope_0"))
            statement = statement.where(KEPT.c.region.in_([scope.state_code for scope in scopes]))
        return statement.add_columns(*columns).group_by(*grouping).order_by(*grouping)

    def statement_on(self, rows: SqlJoinable) -> Select[Any]:
        """The figure over `rows`, the rows of one scope selected beforehand."""
        adapter = ClauseAdapter(rows)
        columns: list[Any] = [adapter.traverse(column) for column in self.columns]
        grouping = [adapter.traverse(expression(column)) for column in self.group_by]
        return select(*columns).select_from(rows).group_by(*grouping).order_by(*grouping)

    def in_scope(self, compiler: Any, scope: Scope) -> Select[Any]:
        """The figure's statement for one scope in a compiled statement, over the scope's rows
        shared with the other figures where its rows are `shared`."""
        if not self.rows.shared or (self.kept is not None and scope.funder_id is None):
            return self.statement([scope])
        rows = compiler.once(("rows", self.rows, scope), lambda: self.rows.in_scope(scope).cte())
        return self.statement_on(rows)


def expression(column: SqlColumn) -> Any:
    """The SQL expression of a mapped attribute (`Funding.funder_id`) or of an expression."""
    return column.__clause_element__() if hasattr(column, "__clause_element__") else column


def counts_by(rows: Rows, key: SqlColumn, kept: str) -> Figure:
    """How many of `rows` have each value of `key`, as columns `key` and `number`; the writes
    keep it as figure `kept`."""
    return Figure(
        rows, (key.label("key"), func.count().label("number")), (key,), Kept(kept, KEPT_COUNT)
    )


def funding_totals_by(key: SqlColumn, kept: str) -> Figure:
    """The fundings per value of `key`: `amount_eur` and `funding_count`.

    `amount_eur` sums the financial fundings whose amount is public; confidential amounts are
    left out of every total, while `funding_count` counts every funding, whatever its type.
    """
    public_amounts = func.sum(models.Funding.amount_eur).filter(
        models.Funding.amount_confidential == false()
    )
    return Figure(
        FUNDINGS,
        (
            key.label("key"),
            func.coalesce(public_amounts, 0).label("amount_eur"),
            func.count().label("funding_count"),
        ),
        (key,),
        Kept(kept, KEPT_TOTALS),
    )


CITIES_BY_STATE = counts_by(CITIES, models.City.state_code, "cities_by_state")
CITIES_BY_KIND = counts_by(CITIES, models.City.kind, "cities_by_kind")
CITIES_BY_STATUS = counts_by(CITIES, models.City.status, "cities_by_status")
ACTORS_BY_SECTOR = counts_by(ACTORS, models.Actor.sector_code, "actors_by_sector")


def _networks_of(composition: models.SectorComposition) -> SqlColumn:
    """How many networks have `composition`, labelled with its value."""
    network_class = composition_of(_SECTOR_COUNTS.c.sectors)
    return func.count().filter(network_class == composition.value).label(composition.value)


def _kept_networks_of(composition: models.SectorComposition) -> SqlColumn:
    """How many networks have `composition` by the kept counts, labelled with its value."""
    return kept_sum(KEPT.c.number, composition.value, KEPT.c.key == composition.value)


# One row per scope: all networks, those with actors, and one count per composition class.
# The writes keep the networks per composition class.
SECTOR_COMPOSITION = Figure(
    NETWORKS,
    (
        func.count().label("networks"),
        func.count().filter(_SECTOR_COUNTS.c.sectors > 0).label("with_actors"),
        *(_networks_of(composition) for composition in models.SectorComposition),
    ),
    kept=Kept(
        "networks_by_composition",
        (
            kept_sum(KEPT.c.number, "networks"),
            kept_sum(
                KEPT.c.number, "with_actors", KEPT.c.key != models.SectorComposition.NONE.value
            ),
            *(_kept_networks_of(composition) for composition in models.SectorComposition),
        ),
    ),
)

FUNDINGS_BY_FUNDER = funding_totals_by(models.Funding.funder_id, "fundings_by_funder")
FUNDINGS_BY_CONTRIBUTION_TYPE = funding_totals_by(
    models.Funding.contribution_type, "fundings_by_contribution_type"
)
FUNDINGS_BY_STATE = funding_totals_by(FUNDING_STATE, "fundings_by_state")
FUNDINGS_BY_THEME = funding_totals_by(models.Funding.theme_id, "fundings_by_theme")
FUNDINGS_BY_YEAR = funding_totals_by(
    cast(extract("year", models.Funding.starts_on), Integer), "fundings_by_year"
)


async def figure_rows(context: Context, figure: Figure, scope: Scope) -> list[Row[Any]]:
    """The figure's rows in `scope`, batched with the request's other scopes of the same kind."""
    # The request's DataLoaders all live in its Loaders, which has no public maker for this shape.
    loader = context.loaders.loader(("figure", figure, scope.kind), partial(_load, context, figure))
    return await loader.load(scope)


async def _load(context: Context, figure: Figure, scopes: list[Scope]) -> list[list[Row[Any]]]:
    """One statement for all `scopes`; each scope gets its own rows, in the statement's order."""
    width = len(scopes[0].values)
    by_scope: dict[tuple[Any, ...], list[Row[Any]]] = defaultdict(list)
    for row in await context.rows(figure.statement(scopes)):
        by_scope[tuple(row[:width])].append(row)
    return [by_scope.get(scope.values, []) for scope in scopes]


# --- The compiled read path ----------------------------------------------------------------
# Each function plans one field of the statistics types (schema/statistics.py) into SQL, from
# the figures above: the same GROUP BY statements, as subqueries of the one compiled statement.


def same_scope(compiler: Any, field_def: Any, details: Any, scope: Any) -> Any:
    """An object whose fields are figures of its parent's scope (e.g. `fundingTotals`)."""
    object_type = object_type_of(field_def)
    return compiler.object(object_type, compiler.subfields(object_type, details), scope)


def plan_figure_list(figure: Figure) -> Callable[[Any, Any, Any, Any], Any]:
    """A list of the figure's rows in the parent's scope, one JSON object per row."""

    def plan(compiler: Any, field_def: Any, details: Any, scope: Scope) -> Any:
        rows = figure.in_scope(compiler, scope).subquery("figure")
        columns = rows.c
        row = Values.of(
            key=columns.key,
            count=columns.get("number"),
            amount_eur=columns.get("amount_eur"),
            funding_count=columns.get("funding_count"),
        )
        item_type = object_type_of(field_def)
        item = compiler.object(item_type, compiler.subfields(item_type, details), row)
        listed = func.json_agg(aggregate_order_by(item, columns.key))
        return select(func.coalesce(listed, literal_column("'[]'::json"))).scalar_subquery()

    return plan


def plan_key(compiler: Any, field_def: Any, _details: Any, figure_row: Values) -> Any:
    """The key of a figure's row (a state code, a kind, a year...) as GraphQL shows it."""
    return output(figure_row.row.key, unwrap(field_def.type))


def plan_row_by_key(column: SqlColumn) -> Callable[[Any, Any, Any, Any], Any]:
    """The row whose `column` equals the key of a figure's row (null where the key is)."""

    def plan(compiler: Any, field_def: Any, details: Any, figure_row: Values) -> Any:
        return compiler.row_where(object_type_of(field_def), details, column, figure_row.row.key)

    return plan


def plan_sector_composition(compiler: Any, field_def: Any, details: Any, scope: Scope) -> Any:
    """The scope's networks by sector composition; zeros where the scope has no networks."""
    rows = SECTOR_COMPOSITION.statement([scope]).subquery("composition")
    counts = {
        composition: func.coalesce(rows.c[composition.value], 0)
        for composition in models.SectorComposition
    }
    with_actors = func.coalesce(rows.c.with_actors, 0)

    def share(composition: models.SectorComposition) -> Any:
        return cast(counts[composition], Float) / func.nullif(with_actors, 0)

    row = Values.of(
        network_count=func.coalesce(rows.c.networks, 0),
        networks_with_actors=with_actors,
        trisectoral_share=share(models.SectorComposition.TRISECTORAL),
        multisectoral_share=share(models.SectorComposition.MULTISECTORAL),
        counts=counts,
    )
    value = same_scope(compiler, field_def, details, row)
    # One row even where the scope has no networks (the figure then has none).
    one = select(literal(1).label("one")).subquery("one")
    return select(value).select_from(one.outerjoin(rows, true())).scalar_subquery()


def plan_compositions(compiler: Any, field_def: Any, details: Any, figure_row: Values) -> Any:
    """Every composition class with its number of networks, in the classes' order."""
    item_type = object_type_of(field_def)
    fields = compiler.subfields(item_type, details)
    items = (
        compiler.object(item_type, fields, Values.of(key=literal(composition.value), count=n))
        for composition, n in figure_row.row.counts.items()
    )
    return func.json_build_array(*items)


def plan_constant(value: Any) -> Callable[[Any, Any, Any, Any], Any]:
    """An object of constant fields (lists of texts among them), e.g. a published figure."""

    def sql_of(field_value: Any) -> Any:
        if isinstance(field_value, list):
            return func.json_build_array(*(literal(item) for item in field_value))
        return literal(field_value)

    fields = {name: sql_of(field_value) for name, field_value in vars(value).items()}

    def plan(compiler: Any, field_def: Any, details: Any, _parent: Any) -> Any:
        return same_scope(compiler, field_def, details, Values.of(**fields))

    return plan
