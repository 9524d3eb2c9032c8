"""Planned operations of the compiled read path: SQL text and bind values, cached per document.

A plan is made once per document and operation (and page limit) and reused for every request
with that document. Variables that only feed bind parameters (e.g. the slug of `city(slug:
$slug)`) get their value bound anew on each run; the values of all other variables (those that
shape the SQL, such as `first` or `@include(if:)`) join the cache key.
"""

from collections import OrderedDict, defaultdict
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from graphql import (
    FragmentDefinitionNode,
    OperationDefinitionNode,
    VariableDefinitionNode,
    VariableNode,
    visit,
)
from graphql.language import Visitor
from sqlalchemy import Select, all_, any_, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Dialect
from sqlalchemy.sql import operators
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ColumnClause, Label
from sqlalchemy.sql.selectable import Alias, CompoundSelect, TableClause
from sqlalchemy.sql.sqltypes import TupleType

MAX_DOCUMENTS = 500
MAX_PLANS_PER_DOCUMENT = 50


class RefusedValue(Exception):
    """A variable's value a plan cannot run with (the resolver path reports why)."""


@dataclass(frozen=True)
class VariableParameter:
    """A bind parameter fed from a variable: the value is converted to the stored form, or
    refused (RefusedValue) where it is invalid."""

    variable: str
    convert: Callable[[Any], Any]


@dataclass(frozen=True)
class RowLookup:
    """A root lookup's row (`Lookup`): the alias of its table the statement reads it from,
    the column it finds it by, and the name of the bind parameter of the column's value."""

    alias: Any
    column: str
    bind: str


# What an answer read of each table: its columns, and the keys (`column=value`) of the only
# rows it read (None: any row). hub.response_cache makes its dependencies of it.
Reads = dict[str, tuple[frozenset[str], frozenset[str] | None]]


@dataclass(frozen=True)
class Plan:
    """An operation's SQL text, its bind values in order, which of them variables feed,
    whether its JSON may hold markers of forbidden fields (resolvers.permissions), and what
    it reads (whose changes make its answers stale: hub.response_cache): the tables, the
    columns of each, and for the tables read only at root lookups' rows, each lookup's column
    and the position of its value among the bind values."""

    sql: str
    values: tuple[Any, ...]
    variable_positions: tuple[tuple[int, VariableParameter], ...]
    marks_forbidden: bool = False
    tables: frozenset[str] = frozenset()
    columns: Mapping[str, frozenset[str]] = field(default_factory=dict)
    row_keys: Mapping[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        statement: Select[Any],
        parameters: Mapping[str, VariableParameter],
        dialect: Dialect,
        marks_forbidden: bool = False,
        lookups: Sequence[RowLookup] = (),
    ) -> "Plan":
        """Render `statement` once; `parameters` names the bind parameters variables feed,
        `lookups` the rows root lookups read."""
        # The expanded state renders the numbers a plan fixes into its text. Each parameter's
        # type may convert values (an enum member to its stored text), as in SQLAlchemy's
        # own execution: the expanded state knows the items' converters, the binds the rest.
        compiler: Any = dialect.statement_compiler
        compiled: Any = plan_compiler(compiler)(dialect, statement)
        state = compiled.construct_expanded_state()
        names = state.positiontup or ()
        binds = compiled.binds
        values, positions = [], []
        for position, name in enumerate(names):
            processor = state.processors.get(name)
            if processor is None and name in binds:
                processor = binds[name].type.bind_processor(dialect)
            convert = processor or unchanged
            values.append(convert(state.parameters[name]))
            if name in parameters:
                parameter = parameters[name]
                feed = VariableParameter(parameter.variable, compose(convert, parameter.convert))
                positions.append((position, feed))
        tables = frozenset(compiled.tables_read)
        columns = {table: frozenset(compiled.columns_read[table]) for table in tables}
        bind_positions = {name: position for position, name in enumerate(names)}
        row_keys = lookup_keys(compiled.froms, lookups, bind_positions)
        return cls(
            state.statement,
            tuple(values),
            tuple(positions),
            marks_forbidden,
            tables,
            columns,
            row_keys,
        )

    def arguments(self, variables: Mapping[str, Any]) -> tuple[Any, ...]:
        """The bind values of a run with these variable values (RefusedValue: a value the plan
        cannot run with)."""
        if not self.variable_positions:
            return self.values
        values = list(self.values)
        for position, parameter in self.variable_positions:
            values[position] = parameter.convert(variables[parameter.variable])
        return tuple(values)

    def reads(self, arguments: Sequence[Any]) -> Reads:
        """What a run with these bind values reads. Only text and integers make row keys (as
        the triggers write them); a lookup by any other value reads any row."""
        reads: Reads = {}
        for table in self.tables:
            keys: frozenset[str] | None = None
            lookups = self.row_keys.get(table)
            if lookups is not None:
                found = [(column, arguments[position]) for column, position in lookups]
                if all(is_row_key(value) for _column, value in found):
                    keys = frozenset(f"{column}={value}" for column, value in found)
            reads[table] = (self.columns.get(table, frozenset()), keys)
        return reads


def is_row_key(value: Any) -> bool:
    """Whether `value` is written alike by Python and by PostgreSQL's JSON as text."""
    return isinstance(value, str | int) and not isinstance(value, bool)


def lookup_keys(
    froms: Iterable[tuple[str, Any]],
    lookups: Sequence[RowLookup],
    bind_positions: Mapping[str, int],
) -> dict[str, tuple[tuple[str, int], ...]]:
    """The tables whose every FROM is a root lookup's row (`froms`: each table's FROMs, as
    the alias it is read by, or None), with each lookup's column and the position of its
    value. An alias rendered twice is read once without its lookup's condition: any row."""
    by_alias = {id(lookup.alias): lookup for lookup in lookups}
    keyed: defaultdict[str, list[tuple[str, int]]] = defaultdict(list)
    unkeyed: set[str] = set()
    seen: set[int] = set()
    for table, alias in froms:
        lookup = by_alias.get(id(alias))
        if lookup is None or id(alias) in seen or lookup.bind not in bind_positions:
            unkeyed.add(table)
            continue
        seen.add(id(alias))
        keyed[table].append((lookup.column, bind_positions[lookup.bind]))
    return {table: tuple(keys) for table, keys in keyed.items() if table not in unkeyed}


def table_of(selectable: Any) -> Any:
    """The table `selectable` is, or an alias of (None: a subquery, a function's rows)."""
    while isinstance(selectable, Alias):
        selectable = selectable.element
    return selectable if isinstance(selectable, TableClause) else None


@cache
def plan_compiler(compiler: Any) -> type[SQLCompiler]:
    """The dialect's SQL compiler, writing each `IN (<list>)` as `= ANY(<array>)`, and
    `NOT IN` as `<> ALL`; it records the names of the tables it writes (`tables_read`), in
    subqueries and behind aliases too, the columns of each it writes (`columns_read`; a
    whole row: all of them; not the plain columns an EXISTS selects, which decide nothing),
    and each FROM of a table with the alias it is read by (`froms`).

    SQLAlchemy renders a list's items as one parameter each: a filter of 10,000 values would
    be 10,000 parameters (PostgreSQL takes 32,767; the planning time grows with them), and
    each length of the list a statement of its own. As one array parameter it is one.
    SQLAlchemy has no setting for this; its compiler's hook for an operator
    (`visit_<operator>_binary`) rewrites the comparisons as it meets them, where rewriting
    the statement first would copy all of it.
    """

    class PlanCompiler(compiler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.tables_read: set[str] = set()
            self.columns_read: defaultdict[str, set[str]] = defaultdict(set)
            self.froms: list[tuple[str, Any]] = []
            # Whether the column being written is one a subquery only passes on.
            self.passing_on = False
            # The depths in `stack` of the SELECTs an EXISTS asks about: only whether they
            # have rows counts.
            self.existence_only: set[int] = set()
            super().__init__(*args, **kwargs)

        def visit_unary(self, unary: Any, **kw: Any) -> str:
            if unary.operator is not operators.exists:
                return str(super().visit_unary(unary, **kw))
            depth = len(self.stack) + 1
            self.existence_only.add(depth)
            try:
                return str(super().visit_unary(unary, **kw))
            finally:
                self.existence_only.discard(depth)

        def visit_table(self, table: Any, **kw: Any) -> str:
            self.tables_read.add(str(table.name))
            # Every time it is written counts, as a FROM or not: only a lookup's alias
            # written once, as its FROM, reads the lookup's row alone.
            self.froms.append((str(table.name), kw.get("enclosing_alias")))
            return str(super().visit_table(table, **kw))

        def visit_column(self, column: Any, **kw: Any) -> str:
            if not self.passing_on:
                self.read(column)
            return str(super().visit_column(column, **kw))

        def visit_table_valued_column(self, element: Any, **kw: Any) -> str:
            rows = element.scalar_alias
            table = table_of(rows)
            for column in table.columns if table is not None else rows.c:
                self.read(column)
            return str(super().visit_table_valued_column(element, **kw))

        def _label_select_column(
            self,
            select: Any,
            column: Any,
            populate_result_map: Any,
            asfrom: Any,
            column_clause_args: Any,
            **kw: Any,
        ) -> Any:
            # A subquery's plain column is read where the statement reads the subquery's
            # column (`read`): a page's subquery selects all its rows' columns, and the
            # page uses a few. Not so where the subquery's rows depend on all its columns
            # (DISTINCT, a UNION).
            passing_on = self.passing_on
            self.passing_on = passes_on(select, column, self.stack, asfrom) or (
                len(self.stack) in self.existence_only and is_plain(column)
            )
            try:
                return super()._label_select_column(
                    select, column, populate_result_map, asfrom, column_clause_args, **kw
                )
            finally:
                self.passing_on = passing_on

        def read(self, column: Any) -> None:
            """Count `column` read: a table's, or the tables' a subquery's stands for."""
            table = table_of(column.table)
            if table is not None:
                self.columns_read[str(table.name)].add(str(column.name))
                return
            for base in column.base_columns:
                table = table_of(getattr(base, "table", None))
                if table is not None:
                    self.columns_read[str(table.name)].add(str(base.name))

        def visit_in_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
            if is_list(binary):
                return str(self.process(binary.left == any_(array_of(binary)), **kw))
            return str(self._generate_generic_binary(binary, " IN ", **kw))

        def visit_not_in_op_binary(self, binary: Any, operator: Any, **kw: Any) -> str:
            if is_list(binary):
                return str(self.process(binary.left != all_(array_of(binary)), **kw))
            return str(super().visit_not_in_op_binary(binary, operator, **kw))

    return PlanCompiler


def passes_on(select: Any, column: Any, stack: Any, asfrom: Any) -> bool:
    """Whether `column`, in the select list of `select` as SQLAlchemy writes it, is a column
    a subquery (`asfrom`) passes on as it is, whose rows it does not decide."""
    if not asfrom or select._distinct or select._distinct_on:
        return False
    if len(stack) > 1 and isinstance(stack[-2].get("selectable"), CompoundSelect):
        return False
    return is_plain(column)


def is_plain(column: Any) -> bool:
    """Whether `column` (maybe labelled) is a column of a table or of a subquery, as it is:
    where the statement reads it, `read` finds the tables' columns it stands for."""
    plain = column.element if isinstance(column, Label) else column
    return isinstance(plain, ColumnClause) and plain.table is not None


def is_list(comparison: Any) -> bool:
    """Whether an IN comparison's right side is a list of values bound item by item
    (SQLAlchemy's expanding IN). Lists of rows of several columns (the statistics' scopes)
    stay so: PostgreSQL binds no array of anonymous rows, and their number is the query's
    own, not a value's."""
    values = comparison.right
    tuples = isinstance(comparison.left.type, TupleType)
    return isinstance(values, BindParameter) and values.expanding and not tuples


def array_of(comparison: Any) -> Any:
    """The list of an IN comparison as one array parameter of its left side's type."""
    values = comparison.right.value or ()
    return bindparam(None, list(values), ARRAY(comparison.left.type))


def unchanged(value: Any) -> Any:
    """A value as it is."""
    return value


def compose(outer: Callable[[Any], Any], inner: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`outer` after `inner`."""
    return lambda value: outer(inner(value))


@dataclass(frozen=True)
class CompiledOperation:
    """An operation the compiled path answered with a plan that marks no forbidden fields:
    what answering its text again takes (schema.prepared). `plan_key` is its document's key in
    PLANS."""

    plan_key: Hashable
    name: str | None
    variable_definitions: tuple[VariableDefinitionNode, ...]


@dataclass
class DocumentPlans:
    """The plans of one document and operation: which variables are bound, and the plans by
    the values of the others (None: the compiler cannot plan the operation)."""

    bound_variables: frozenset[str]
    plans: dict[Hashable, Plan | None] = field(default_factory=dict)

    def key(self, variables: Mapping[str, Any]) -> Hashable:
        """The values of the variables that shape the SQL."""
        shaping = (item for item in variables.items() if item[0] not in self.bound_variables)
        return repr(sorted(shaping))


class PlanCache:
    """Plans by document and operation, least recently used documents evicted first."""

    def __init__(self, max_documents: int = MAX_DOCUMENTS) -> None:
        self.max_documents = max_documents
        self.documents: OrderedDict[Hashable, DocumentPlans] = OrderedDict()

    def get(self, document: Hashable, variables: Mapping[str, Any]) -> tuple[bool, Plan | None]:
        """(found, plan) for the document with these variable values."""
        entry = self.documents.get(document)
        if entry is None:
            return False, None
        self.documents.move_to_end(document)
        key = entry.key(variables)
        return key in entry.plans, entry.plans.get(key)

    def put(
        self,
        document: Hashable,
        variables: Mapping[str, Any],
        bound_variables: frozenset[str],
        plan: Plan | None,
    ) -> None:
        """Keep `plan` for the document with these values of its unbound variables."""
        entry = self.documents.get(document)
        if entry is None or not bound_variables >= entry.bound_variables:
            # A plan that binds fewer variables than the document's first one (a part of the
            # operation was skipped) is keyed by more values: it starts the entry afresh.
            entry = self.documents[document] = DocumentPlans(bound_variables)
        if len(entry.plans) >= MAX_PLANS_PER_DOCUMENT:
            entry.plans.clear()
        entry.plans[entry.key(variables)] = plan
        self.documents.move_to_end(document)
        if len(self.documents) > self.max_documents:
            self.documents.popitem(last=False)


def variable_uses(
    operation: OperationDefinitionNode, fragments: Iterable[FragmentDefinitionNode]
) -> list[VariableNode]:
    """Every use of a variable in the operation and the fragments, as nodes (the variable
    definitions themselves are not uses)."""
    found: list[VariableNode] = []

    class Collect(Visitor):
        def enter_variable_definition(self, *_: Any) -> Any:
            return Visitor.SKIP

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            found.append(node)

    for definition in (operation, *fragments):
        visit(definition, Collect())
    return found
