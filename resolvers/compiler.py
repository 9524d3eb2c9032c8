"""The compiled read path: a query operation planned into one SQL statement building the JSON.

The plan reads the same declarations as the resolver path: each strawberry field's SQL source
(schema.fields.SOURCE: a Relation, Computed expression or Lookup) or, for plain fields, the
model's column of the same name. Whatever the compiler does not know raises NotCompilable, and
the operation runs on the resolver path instead: correct, just slower.
"""

from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import orjson
from graphql import (
    GraphQLEnumType,
    GraphQLError,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLUnionType,
    NonNullTypeNode,
    OperationDefinitionNode,
    VariableNode,
)
from graphql.execution.collect_fields import FieldDetailsList, collect_fields, collect_subfields
from graphql.execution.values import get_argument_values
from sqlalchemy import (
    ColumnElement,
    False_,
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    case,
    cast,
    func,
    inspect,
    literal,
    literal_column,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.util import ClauseAdapter
from strawberry.relay.fields import NodeExtension
from strawberry.relay.types import PREFIX
from strawberry.types.arguments import convert_arguments
from strawberry.types.base import StrawberryObjectDefinition

from resolvers import global_ids
from resolvers.pagination import Window
from resolvers.permissions import FORBIDDEN_KEY, Sees, guard_of
from resolvers.plans import VariableParameter, variable_uses
from resolvers.sources import SOURCE, Computed, Lookup, Planned, Relation, Variant

# PostgreSQL's identifiers hold 63 bytes (NAMEDATALEN - 1); longer ones are cut short.
MAX_IDENTIFIER_BYTES = 63


class NotCompilable(Exception):
    """The operation needs something only the resolver path does."""


class RawJSON:
    """Response data as PostgreSQL built it: UTF-8 JSON, handed on without decoding.

    Not a dataclass, which orjson would write as an object of its fields: orjson hands
    it to `fragment_of` instead, which has it written as it is.
    """

    __slots__ = ("json",)

    def __init__(self, json: bytes) -> None:
        self.json = json


def fragment_of(value: Any) -> orjson.Fragment:
    """orjson's `default` for response data: the compiled path's JSON goes in as it is."""
    if isinstance(value, RawJSON):
        return orjson.Fragment(value.json)
    raise TypeError(f"{type(value).__name__} is not JSON")


@dataclass(frozen=True)
class Scope:
    """The row a selection is about: an alias of its model's table, and how to adapt SQL to it."""

    model: Any
    row: Any
    adapter: ClauseAdapter

    def adapt(self, expression: Any) -> Any:
        """`expression`, written against the model's table, re-targeted to this row."""
        # A mapped attribute (`City.slug`) is adapted through its column expression.
        if hasattr(expression, "__clause_element__"):
            expression = expression.__clause_element__()
        return self.adapter.traverse(expression)


@dataclass(frozen=True)
class Values:
    """A row that is no model's row (a statistics figure's, a search hit's): its SQL values by
    field name, which the compiler reads for plain fields as it reads a model's columns."""

    row: Any

    @classmethod
    def of(cls, **fields: Any) -> "Values":
        """The row of these fields; None stands for a value the row lacks."""
        return cls(SimpleNamespace(**{k: v for k, v in fields.items() if v is not None}))


class Compiler:
    """Plans one query operation into one SELECT of its `data` as JSON text."""

    def __init__(self, executor: Any, max_page_size: int) -> None:
        self.schema = executor.schema
        self.strawberry = executor.schema._strawberry_schema
        self.fragments = executor.fragments
        self.variables = executor.variable_values
        self.operation: OperationDefinitionNode = executor.operation
        self.max_page_size = max_page_size
        self.features = executor.context_value.features
        self.viewer = executor.context_value.viewer
        # The bind parameters that variables feed, and the variable nodes they stand for.
        self.parameters: dict[str, VariableParameter] = {}
        self.bound_uses: set[int] = set()
        # Whether the statement may write a forbidden field's marker for this viewer.
        self.marks_forbidden = False
        self._shared: dict[Any, Any] = {}

    def once(self, key: Any, make: Callable[[], Any]) -> Any:
        """What `make` makes, made once per statement for `key` and shared by the fields that
        read it (e.g. a CTE of the rows several statistics figures count)."""
        if key not in self._shared:
            self._shared[key] = make()
        return self._shared[key]

    def bound_variables(self) -> frozenset[str]:
        """The variables that only feed bind parameters: their values do not shape the SQL."""
        fragments = (details.definition for details in self.fragments.values())
        uses = variable_uses(self.operation, fragments)
        shaping = {use.name.value for use in uses if id(use) not in self.bound_uses}
        return frozenset(use.name.value for use in uses) - shaping

    def statement(self) -> Select[Any]:
        """SELECT the operation's data as JSON text."""
        query_type = self.schema.query_type
        fields = collect_fields(
            self.schema, self.fragments, self.variables, query_type, self.operation
        ).grouped_field_set
        data = self.object(query_type, fields.items(), None)
        return select(cast(data, Text))

    def object(self, object_type: GraphQLObjectType, fields: Any, scope: Any) -> ColumnElement[Any]:
        """The JSON object of the selected fields of `scope`'s row, in selection order."""
        return json_object(self.pairs(object_type, fields, scope))

    def object_row(self, object_type: GraphQLObjectType, fields: Any, scope: Any) -> "JSONRow":
        """The same object, for each row of the FROM clause of `scope`'s row."""
        return JSONRow.of(self.pairs(object_type, fields, scope))

    def pairs(
        self, object_type: GraphQLObjectType, fields: Any, scope: Any
    ) -> list[tuple[str, Any]]:
        """The response keys of the selected fields and their SQL, in selection order."""
        return [(key, self.field(object_type, details, scope)) for key, details in fields]

    def field(
        self, parent_type: GraphQLObjectType, details: FieldDetailsList, scope: Any
    ) -> ColumnElement[Any]:
        """The SQL of one selected field."""
        name = details[0].node.name.value
        if name == "__typename":
            return literal(parent_type.name)
        if name not in parent_type.fields:  # introspection: __schema, __type
            raise NotCompilable(name)
        field_def = parent_type.fields[name]
        strawberry_field = self.strawberry_field(parent_type.name, name)
        value = self.field_value(parent_type, field_def, strawberry_field, details, scope)
        guard = guard_of(strawberry_field)
        return value if guard is None else self.guarded(value, guard, details, scope)

    def field_value(
        self,
        parent_type: GraphQLObjectType,
        field_def: Any,
        strawberry_field: Any,
        details: FieldDetailsList,
        scope: Any,
    ) -> ColumnElement[Any]:
        """The SQL of one selected field's value, whoever asks."""
        name = details[0].node.name.value
        source = strawberry_field.metadata.get(SOURCE)
        if isinstance(source, Planned):
            return source.plan(self, field_def, details, scope)
        if name == "id" and scope is not None and source is None:
            return node_id(parent_type.name, scope)
        return_type = unwrap(field_def.type)
        if isinstance(source, Lookup):
            return self.lookup(field_def, details, source)
        if isinstance(source, Relation):
            return self.relation(strawberry_field, field_def, details, source, scope)
        if isinstance(source, Variant) and scope is not None:
            return self.variant(field_def, details, source, scope)
        if isinstance(source, Computed) and scope is not None:
            return output(scope.adapt(source.expression), return_type)
        plain = source is None and strawberry_field.base_resolver is None
        if plain and hasattr(getattr(scope, "row", None), strawberry_field.python_name):
            return output(getattr(scope.row, strawberry_field.python_name), return_type)
        if any(isinstance(extension, NodeExtension) for extension in strawberry_field.extensions):
            return self.nodes(field_def, details)
        raise NotCompilable(f"{parent_type.name}.{name}")

    def guarded(
        self, value: ColumnElement[Any], guard: Sees, details: FieldDetailsList, scope: Any
    ) -> ColumnElement[Any]:
        """A guarded field's value where the viewer may see it, elsewhere a marker of the
        forbidden field holding its place in the document (see `forbidden_fields`)."""
        condition = guard.rule(self.viewer)
        if isinstance(condition, True_):
            return value
        self.marks_forbidden = True
        forbidden = func.json_build_object(
            literal(FORBIDDEN_KEY), literal(details[0].node.loc.start if details[0].node.loc else 0)
        )
        if isinstance(condition, False_):
            return forbidden
        return case((scope.adapt(condition), func.to_json(value)), else_=forbidden)

    def nodes(self, field_def: Any, details: FieldDetailsList) -> Any:
        """Relay's `node(id:)` or `nodes(ids:)`: rows by global ID, null where none exists."""
        arguments = self.arguments(field_def, details)
        if "id" in arguments:
            return self.node(arguments["id"], details)
        return func.json_build_array(*(self.node(id_, details) for id_ in arguments["ids"]))

    def node(self, global_id: str, details: FieldDetailsList) -> Any:
        """The row a global ID names; IDs that are none (`global_ids`) are the resolvers' to
        refuse."""
        parts = global_ids.parts_of(global_id)
        if parts is None:
            raise NotCompilable("a malformed global ID")
        type_name, node_id = parts
        object_type = self.schema.get_type(type_name)
        is_node = isinstance(object_type, GraphQLObjectType) and any(
            interface.name == "Node" for interface in object_type.interfaces
        )
        if not is_node:
            raise NotCompilable(f"no node type {type_name}")
        model = self.model_of_type(type_name)
        key = getattr(model, model.__mapper__.primary_key[0].key)
        value = global_ids.key_in(node_id, key.type.python_type)
        if value is None:
            raise NotCompilable("a key out of its type's form or range")
        return self.row_where(object_type, details, key, value)

    def row_where(
        self, object_type: GraphQLObjectType, details: FieldDetailsList, column: Any, value: Any
    ) -> Any:
        """The selected fields of the row whose `column` (a model attribute) equals `value`,
        as a JSON object; null where there is none."""
        scope = new_scope(column.class_)
        row = self.object(object_type, self.subfields(object_type, details), scope)
        statement = select(row).where(scope.adapt(column) == value).limit(fixed(1))
        return statement.correlate_except(inspect(scope.row).selectable).scalar_subquery()

    def variant(
        self, field_def: Any, details: FieldDetailsList, variant: Variant, parent: Scope
    ) -> Any:
        """A union field: the related row of the relation the parent's discriminator picks."""
        union = unwrap(field_def.type)
        if not isinstance(union, GraphQLUnionType):
            raise NotCompilable(union.name)
        members = {self.model_of_type(member.name): member for member in union.types}
        branches = []
        for value, relation in variant.relations.items():
            member = members[relation.target]
            rows, scope = self.related_rows(relation, parent)
            row = self.object_row(member, self.subfields(member, details), scope)
            chosen = parent.adapt(variant.discriminator) == value
            related = row.beside(rows).with_only_columns(row.value).limit(fixed(1))
            branches.append((chosen, related.scalar_subquery()))
        return case(*branches, else_=null())

    def model_of_type(self, type_name: str) -> Any:
        """The model behind an object type of the schema."""
        model = getattr(self.strawberry.get_type_by_name(type_name).origin, "model", None)
        if model is None:
            raise NotCompilable(type_name)
        return model

    def strawberry_field(self, type_name: str, field_name: str) -> Any:
        """The strawberry field behind a GraphQL field."""
        definition = self.strawberry.get_type_by_name(type_name)
        if not isinstance(definition, StrawberryObjectDefinition):
            raise NotCompilable(type_name)
        for strawberry_field in definition.fields:
            if (
                self.strawberry.config.name_converter.get_graphql_name(strawberry_field)
                == field_name
            ):
                return strawberry_field
        raise NotCompilable(f"{type_name}.{field_name}")

    def subfields(self, object_type: GraphQLObjectType, details: FieldDetailsList) -> Any:
        """The fields selected below `details`, grouped by response key."""
        return collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, object_type, details
        ).grouped_field_set.items()

    def arguments(self, field_def: Any, details: FieldDetailsList) -> dict[str, Any]:
        """The field's argument values, coerced as graphql-core would."""
        if len(details) > 1 and any(d.node.arguments for d in details):
            raise NotCompilable("merged fields with arguments")
        return get_argument_values(field_def, details[0].node, self.variables)

    def bound_argument(
        self, field_def: Any, details: FieldDetailsList, name: str, convert: Any
    ) -> Any:
        """An argument's value, converted to its stored form; when a non-null variable gives
        it, a bind parameter that each run of the plan feeds from the variable."""
        value = convert(self.arguments(field_def, details)[name])
        arguments = details[0].node.arguments or ()
        given = next((arg.value for arg in arguments if arg.name.value == name), None)
        if len(details) > 1 or not isinstance(given, VariableNode):
            return value
        definition = next(
            definition
            for definition in self.operation.variable_definitions or ()
            if definition.variable.name.value == given.name.value
        )
        if not isinstance(definition.type, NonNullTypeNode):
            return value  # absent or null in some requests: its value shapes the SQL
        key = f"variable_{len(self.parameters)}"
        self.parameters[key] = VariableParameter(given.name.value, convert)
        self.bound_uses.add(id(given))
        return bindparam(key, value)

    def lookup(self, field_def: Any, details: FieldDetailsList, source: Lookup) -> Any:
        """A root lookup of one row by a unique column."""
        value = self.bound_argument(field_def, details, source.argument, source.key)
        return self.row_where(object_type_of(field_def), details, source.column, value)

    def relation(
        self,
        strawberry_field: Any,
        field_def: Any,
        details: FieldDetailsList,
        relation: Relation,
        parent: Scope | None,
    ) -> Any:
        """A related row, a list of rows, or a connection page of rows."""
        return_type = field_def.type
        named = unwrap(return_type)
        if not isinstance(named, GraphQLObjectType):
            raise NotCompilable(named.name)
        if named.name.endswith("Connection"):
            return self.connection(strawberry_field, field_def, details, relation, parent)
        rows, scope = self.related_rows(relation, parent)
        row = self.object_row(named, self.subfields(named, details), scope)
        rows = row.beside(rows)
        if isinstance(unwrap_non_null(return_type), GraphQLList):
            ordering = [scope.adapt(term) for term in relation.ordering]
            aggregated = func.coalesce(
                func.json_agg(aggregate_order_by(row.value, *ordering)),
                literal_column("'[]'::json"),
            )
            return rows.with_only_columns(aggregated).scalar_subquery()
        return rows.with_only_columns(row.value).limit(fixed(1)).scalar_subquery()

    def related_rows(
        self, relation: Relation, parent: Scope | None, where: tuple[Any, ...] = ()
    ) -> tuple[Select[Any], Scope]:
        """SELECT FROM the relation's target (and link) for the parent row, and its scope."""
        scope = new_scope(relation.target)
        statement = select(scope.row)
        # Everything but the target and its link comes from the enclosing rows, also where
        # this SELECT ends up as a derived table (connections number their rows in one).
        own = [inspect(scope.row).selectable]
        if relation.link is not None:
            link = inspect(relation.link[0]).selectable.alias()
            scope = Scope(scope.model, scope.row, scope.adapter.chain(ClauseAdapter(link)))
            statement = statement.join(link, scope.adapt(relation.link[1]))
            own.append(link)
        conditions = [scope.adapt(term) for term in (*relation.where, *where)]
        if relation.parent_key is not None:
            if parent is None:
                raise NotCompilable("a relation without its parent row")
            conditions.append(scope.adapt(relation.key) == parent.adapt(relation.parent_key))
        return statement.where(and_(true(), *conditions)).correlate_except(*own), scope

    def connection(
        self,
        strawberry_field: Any,
        field_def: Any,
        details: FieldDetailsList,
        relation: Relation,
        parent: Scope | None,
    ) -> Any:
        """A Relay connection: one window over the related rows, aggregated into JSON."""
        arguments = self.arguments(field_def, details)
        window, where, order_by = self.page_arguments(strawberry_field, arguments)
        rows, scope = self.related_rows(relation, parent, where)
        ordering = [scope.adapt(term) for term in (*order_by, *relation.ordering)]
        if window.end is None:
            # The last rows of all: numbering them needs every row, and so does the total.
            number = func.row_number().over(order_by=ordering).label("number")
            counted = rows.add_columns(number, func.count().over().label("total"))
            numbered = counted.subquery("numbered")
            total: Any = func.max(numbered.c["total"])
        else:
            total = (
                select(func.count()).select_from(rows.subquery()).scalar_subquery()
                if self.needs_total(field_def, details)
                else null()
            )
            if not self.selects_cursors(field_def, details):
                return self.ordered_page(field_def, details, rows, ordering, total, window, scope)
            # A page counted from the start whose edges have cursors: the rows up to its end
            # are numbered after the limit, as in `ordered_page`.
            limited = rows.order_by(*ordering).limit(fixed(window.end)).subquery()
            renumbered = [ClauseAdapter(limited).traverse(term) for term in ordering]
            number = func.row_number().over(order_by=renumbered).label("number")
            numbered = select(limited, number).subquery()
        page_scope = Scope(scope.model, aliased(scope.model, numbered), ClauseAdapter(numbered))
        return self.page(field_def, details, numbered, total, window, page_scope)

    def ordered_page(
        self,
        field_def: Any,
        details: FieldDetailsList,
        rows: Select[Any],
        ordering: list[Any],
        total: Any,
        window: Window,
        scope: Scope,
    ) -> Any:
        """A connection page with an end and without edge cursors: no row needs its number.

        The page's rows are read in order, from its start up to its end, and PostgreSQL
        stops reading there (an index in that order, or a bounded sort), as long as nothing
        stands between the sort and the limit. The edges are aggregated in the order the
        rows come in, which no sort, join or grouping changes here: aggregating in order by
        the row's number instead would sort every page once more. The page's first and last
        offsets, for pageInfo, follow from how many rows it holds. The total, where
        selected, is counted on its own. The subquery is anonymous: the count refers to the
        parent's rows, which a subquery of the same name around it would hide.
        """
        assert window.end is not None, "a page with an end"
        ordered = rows.order_by(*ordering).limit(fixed(window.end - window.start))
        limited = (ordered.offset(fixed(window.start)) if window.start else ordered).subquery()
        page_scope = Scope(scope.model, aliased(scope.model, limited), ClauseAdapter(limited))
        connection_type = object_type_of(field_def)
        edge = self.edge(connection_type, details, page_scope, None)
        count = func.count()
        page = (
            select(
                func.json_agg(edge.value).label("edges"),
                total.label("total"),
                case((count > 0, window.start + 1)).label("first"),
                case((count > 0, window.start + count)).label("last"),
            )
            .select_from(edge.beside(limited))
            .subquery("page")
        )
        return self.connection_object(connection_type, details, page, window)

    def selects_cursors(self, field_def: Any, details: FieldDetailsList) -> bool:
        """Whether a connection's selection asks for its edges' cursors."""
        connection_type = object_type_of(field_def)
        edge_type = object_type_of(connection_type.fields["edges"])
        return any(
            edge[0].node.name.value == "cursor"
            for _key, sub in self.subfields(connection_type, details)
            if sub[0].node.name.value == "edges"
            for _edge_key, edge in self.subfields(edge_type, sub)
        )

    def needs_total(self, field_def: Any, details: FieldDetailsList) -> bool:
        """Whether a connection's selection needs the number of all its rows: anything but
        its edges (totalCount, pageInfo) does."""
        selected = self.subfields(object_type_of(field_def), details)
        return any(sub[0].node.name.value not in ("edges", "__typename") for _key, sub in selected)

    def page(
        self,
        field_def: Any,
        details: FieldDetailsList,
        numbered: Any,
        total: Any,
        window: Window,
        scope: Any,
    ) -> Any:
        """A connection's JSON from its rows numbered from 1 (column `number`; with `last`,
        all rows and their count in column `total`) and the number of all its rows (`total`,
        an aggregate or a subquery): the window's edges, aggregated, with totalCount and
        pageInfo. `scope` is the numbered rows' scope, for the edges' nodes."""
        number = numbered.c["number"]
        in_page = window.contains(number, numbered.c["total"] if window.last is not None else None)
        connection_type = object_type_of(field_def)
        edge = self.edge(connection_type, details, scope, number)
        page = (
            select(
                func.json_agg(aggregate_order_by(edge.value, number))
                .filter(in_page)
                .label("edges"),
                total.label("total"),
                func.min(number).filter(in_page).label("first"),
                func.max(number).filter(in_page).label("last"),
            )
            .select_from(edge.beside(numbered))
            .where(or_(number == 1, in_page))
            .subquery("page")
        )
        return self.connection_object(connection_type, details, page, window)

    def connection_object(
        self,
        connection_type: GraphQLObjectType,
        details: FieldDetailsList,
        page: Any,
        window: Window,
    ) -> Any:
        """A connection's JSON from its aggregated page: columns `edges`, `total`, and the
        numbers (from 1) of the page's `first` and `last` rows, null for an empty page."""
        pairs = [
            (key, self.connection_field(connection_type, sub, page, window))
            for key, sub in self.subfields(connection_type, details)
        ]
        return select(json_object(pairs)).select_from(page).scalar_subquery()

    def page_arguments(
        self, strawberry_field: Any, arguments: dict[str, Any]
    ) -> tuple[Window, tuple[Any, ...], tuple[Any, ...]]:
        """The window, filter conditions and ordering the arguments ask for."""
        try:
            window = Window.from_arguments(
                None,  # type: ignore[arg-type]
                first=arguments.get("first"),
                after=arguments.get("after"),
                last=arguments.get("last"),
                before=arguments.get("before"),
                max_results=self.max_page_size,
            )
            filter_input = self.filter_input(strawberry_field, arguments)
            where = tuple(filter_input.conditions()) if filter_input else ()
        except GraphQLError as error:
            # The resolver path raises the same error, located and in its place.
            raise NotCompilable(error.message) from None
        order = arguments.get("orderBy")
        return window, where, order.ordering() if order else ()

    def filter_input(self, strawberry_field: Any, arguments: dict[str, Any]) -> Any:
        """The `filter` argument as the resolver receives it: an instance of its input class."""
        if arguments.get("filter") is None:
            return None
        converted = convert_arguments(
            {"filter": arguments["filter"]},
            strawberry_field.arguments,
            scalar_registry=self.strawberry.schema_converter.scalar_registry,
            config=self.strawberry.config,
        )
        return converted["filter"]

    def edge(
        self,
        connection_type: GraphQLObjectType,
        details: FieldDetailsList,
        scope: Any,
        number: Any,
    ) -> "JSONRow":
        """One edge's JSON (cursor and node, as selected) for each row of the page."""
        pairs: list[tuple[str, Any]] = []
        node: JSONRow | None = None
        edge_type = object_type_of(connection_type.fields["edges"])
        node_type = unwrap(edge_type.fields["node"].type)
        for _key, edges_details in self.subfields(connection_type, details):
            if edges_details[0].node.name.value != "edges":
                continue
            for key, sub in self.subfields(edge_type, edges_details):
                name = sub[0].node.name.value
                if name == "cursor":
                    value: Any = cursor(number - 1)
                elif name == "node" and isinstance(node_type, GraphQLObjectType):
                    node = self.object_row(node_type, self.subfields(node_type, sub), scope)
                    value = node.value
                else:  # __typename, or a field of an edge type of the schema's own
                    value = self.field(edge_type, sub, scope)
                pairs.append((key, value))
        return JSONRow.of(pairs, after=node)

    def connection_field(
        self,
        connection_type: GraphQLObjectType,
        details: FieldDetailsList,
        page: Any,
        window: Window,
    ) -> Any:
        """totalCount, edges or pageInfo of a connection, from its aggregated page."""
        name = details[0].node.name.value
        total = func.coalesce(page.c.total, 0)
        if name == "totalCount":
            return total
        if name == "edges":
            if len(details) > 1:
                raise NotCompilable("edges selected more than once")
            return func.coalesce(page.c.edges, literal_column("'[]'::json"))
        if name == "__typename":
            return literal(connection_type.name)
        if name != "pageInfo":
            raise NotCompilable(f"{connection_type.name}.{name}")
        info_type = object_type_of(connection_type.fields["pageInfo"])
        first_offset = func.coalesce(page.c.first - 1, window.start)
        next_offset = func.coalesce(page.c.last, window.start)
        values = {
            "hasNextPage": next_offset < total,
            "hasPreviousPage": and_(first_offset > 0, first_offset <= total),
            "startCursor": case((page.c.first.is_(None), null()), else_=cursor(page.c.first - 1)),
            "endCursor": case((page.c.last.is_(None), null()), else_=cursor(page.c.last - 1)),
            "__typename": literal(info_type.name),
        }
        pairs = [
            (key, values[sub[0].node.name.value]) for key, sub in self.subfields(info_type, details)
        ]
        return json_object(pairs)


def new_scope(model: Any) -> Scope:
    """A fresh alias of the model's table, so nested uses of one table never collide."""
    row = aliased(model)
    return Scope(model, row, ClauseAdapter(inspect(row).selectable))


def json_object(pairs: list[tuple[str, Any]]) -> ColumnElement[Any]:
    """A JSON object of (key, SQL value) pairs, in their order: `row_to_json` of a row with
    the keys as column names, as PostgreSQL writes it faster and without json_build_object's
    spaces (a sixth less to send), or `json_build_object` where a key is longer than a
    column name can be."""
    if not pairs or any(len(key.encode()) > MAX_IDENTIFIER_BYTES for key, _ in pairs):
        return func.json_build_object(
            *(item for key, value in pairs for item in (literal(key), value))
        )
    # The row's values refer to the rows of the enclosing queries: correlated, all of them.
    row = select(*(value.label(key) for key, value in pairs)).correlate_except(None).subquery()
    return select(func.row_to_json(row.table_valued())).scalar_subquery()


@dataclass(frozen=True)
class JSONRow:
    """A JSON object for each row of a FROM clause, built beside the rows: its fields are a
    LATERAL subquery joined to them, which `value` writes with `row_to_json`. PostgreSQL
    makes such a subquery part of the plan, where `json_object`'s scalar subquery runs as a
    subplan of its own for each row (cities-500: 9% less time). Each row joined gets its
    object, so the rows are those of the page, list or relation, not more (but for the first
    row that a numbered page keeps for its count)."""

    value: ColumnElement[Any]
    laterals: tuple[Any, ...]

    @classmethod
    def of(cls, pairs: list[tuple[str, Any]], after: "JSONRow | None" = None) -> "JSONRow":
        """The object of (key, SQL value) pairs, in their order; `after` is an object its
        values hold, whose subqueries are joined first."""
        inner = after.laterals if after else ()
        if not pairs or any(len(key.encode()) > MAX_IDENTIFIER_BYTES for key, _ in pairs):
            return cls(json_object(pairs), inner)
        fields = select(*(value.label(key) for key, value in pairs)).correlate_except(None)
        row = fields.lateral()
        return cls(func.row_to_json(row.table_valued()), (*inner, row))

    def beside(self, rows: Any) -> Any:
        """`rows` (a FROM clause) joined with the subqueries of the object's fields."""
        for row in self.laterals:
            rows = rows.join(row, true())
        return rows


def node_id(type_name: str, scope: Scope) -> ColumnElement[Any]:
    """The Relay global ID: base64 of `Type:primary key`, as strawberry encodes it."""
    key = scope.model.__mapper__.primary_key[0].key
    return base64(literal(f"{type_name}:") + cast(getattr(scope.row, key), Text))


def cursor(offset: Any) -> ColumnElement[Any]:
    """The cursor of an offset, as strawberry's connections encode it."""
    return base64(literal(f"{PREFIX}:") + cast(offset, Text))


def fixed(number: int) -> ColumnElement[int]:
    """A number the plan fixes (a page's size or start), written into the SQL, not bound.

    The plan's statement is prepared once per connection. PostgreSQL plans it anew on every
    run (custom plans) unless one plan for all runs (a generic plan) is as cheap by its
    estimate, which it is not where a page's size is a parameter it must guess; with the
    figure in the text, it is. Planning every run cost `cities-100` a sixth of its time.
    """
    return literal(number, Integer, literal_execute=True)


def base64(text: Any) -> ColumnElement[Any]:
    """Base64 of UTF-8 text (short texts: PostgreSQL wraps lines only after 76 characters).

    `textsend` gives the text's bytes in the connection's encoding, UTF-8 on every asyncpg
    connection (and the type names and keys of IDs and cursors are ASCII anyway): a third
    less time per ID than `convert_to(text, 'UTF8')`, which looks the encoding up by its name
    and checks the bytes on every call.
    """
    return func.encode(func.textsend(text), literal_column("'base64'"))


def output(value: Any, graphql_type: Any) -> ColumnElement[Any]:
    """A column's value in the form GraphQL serializes it."""
    if isinstance(graphql_type, GraphQLEnumType):
        check_enum_names(graphql_type)
        # GraphQL names are ASCII: in the "C" collation, upper() maps bytes, where a UTF-8
        # locale's converts each text to wide characters and back.
        return func.upper(value.collate("C"))
    if isinstance(graphql_type, GraphQLScalarType) and graphql_type.name == "Decimal":
        return cast(value, Text)
    if isinstance(graphql_type, GraphQLScalarType) and graphql_type.name == "DateTime":
        raise NotCompilable("DateTime")
    return value


def check_enum_names(enum_type: GraphQLEnumType) -> None:
    """Enum values are stored as the lower-case of their GraphQL names; refuse any other enum."""
    for name, value in enum_type.values.items():
        stored = getattr(value.value, "value", value.value)
        if str(stored).upper() != name:
            raise NotCompilable(enum_type.name)


def unwrap_non_null(graphql_type: Any) -> Any:
    """The type without its non-null wrapper."""
    return graphql_type.of_type if isinstance(graphql_type, GraphQLNonNull) else graphql_type


def unwrap(graphql_type: Any) -> Any:
    """The named type inside list and non-null wrappers."""
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def object_type_of(field_def: Any) -> GraphQLObjectType:
    """The object type a field returns (inside its wrappers)."""
    named = unwrap(field_def.type)
    if not isinstance(named, GraphQLObjectType):
        raise NotCompilable(named.name)
    return named
