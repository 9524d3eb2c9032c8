"""A saved view as CSV: its columns follow from the view's query (the fields it selects,
through objects, connections and lists), its rows from the answer; so an answer without rows
has the columns of one with many, and a field that is null is an empty cell, never a missing
column.

The rows are the items of the first list the query selects (depth first, in the query's
order); in a connection's edges, the node's fields are the row's own. Nested objects become
dotted columns (`state.code`), a list inside a row one cell of JSON. A query without any list
is one row.
"""

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLCompositeType,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    NamedTypeNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    get_nullable_type,
    is_list_type,
)

# Where a field's own fields are selected: the type they are fields of, and the selection set.
SelectionSets = tuple[tuple[GraphQLCompositeType, SelectionSetNode], ...]


@dataclass(frozen=True)
class Selected:
    """A field a selection selects, with every selection set of its own fields (a field
    selected twice under one response key, e.g. in two fragments, selects them all)."""

    field: GraphQLField
    selection_sets: SelectionSets


@dataclass(frozen=True)
class Column:
    """A column of the CSV: its name in the header, and the response keys leading from a row
    to its value."""

    name: str
    path: tuple[str, ...]


@dataclass(frozen=True)
class Table:
    """Where a query's answer holds its rows, and the columns of each row."""

    rows_at: tuple[str, ...]  # response keys from `data` to the list; () for `data` itself
    listed: bool  # whether `rows_at` leads to a list of rows, or to the one row
    columns: tuple[Column, ...]


class Selection:
    """The fields a valid query document selects, fragments expanded, with their schema
    fields."""

    def __init__(self, graphql_schema: GraphQLSchema, document: DocumentNode) -> None:
        self.schema = graphql_schema
        self.fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        operation = operation_of(document)
        query_type = graphql_schema.query_type
        assert query_type is not None, "the hub's schema has queries"
        self.root: SelectionSets = ((query_type, operation.selection_set),)

    def fields(self, selection_sets: SelectionSets) -> dict[str, Selected]:
        """The fields the selection sets select, by response key, in the query's order."""
        fields: dict[str, Selected] = {}
        for parent, selection_set in selection_sets:
            for key, field, node in self.fields_in(parent, selection_set):
                own: SelectionSets = ()
                if node.selection_set is not None:
                    named = get_named_type(field.type)
                    assert isinstance(named, GraphQLCompositeType), "validation says so"
                    own = ((named, node.selection_set),)
                earlier = fields[key].selection_sets if key in fields else ()
                fields[key] = Selected(field, earlier + own)
        return fields

    def fields_in(
        self, parent: GraphQLCompositeType, selection_set: SelectionSetNode
    ) -> Iterator[tuple[str, GraphQLField, FieldNode]]:
        """The fields of one selection set and of the fragments it spreads, with their keys."""
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                field = self.schema.get_field(parent, selection.name.value)
                if field is not None:
                    yield (selection.alias or selection.name).value, field, selection
            elif isinstance(selection, FragmentSpreadNode):
                fragment = self.fragments[selection.name.value]
                typed = self.condition_type(fragment.type_condition, parent)
                yield from self.fields_in(typed, fragment.selection_set)
            elif isinstance(selection, InlineFragmentNode):
                typed = self.condition_type(selection.type_condition, parent)
                yield from self.fields_in(typed, selection.selection_set)

    def condition_type(
        self, condition: NamedTypeNode | None, parent: GraphQLCompositeType
    ) -> GraphQLCompositeType:
        """The type a fragment's fields are fields of: its condition's, else its parent's."""
        typed = self.schema.get_type(condition.name.value) if condition else parent
        assert isinstance(typed, GraphQLCompositeType), "validation says so"
        return typed

    def every_field(self, selection_sets: SelectionSets) -> Iterator[GraphQLField]:
        """Every field the selection sets select, at any depth (`root`: the query's)."""
        for selected in self.fields(selection_sets).values():
            yield selected.field
            yield from self.every_field(selected.selection_sets)


def operation_of(document: DocumentNode) -> OperationDefinitionNode:
    """The one operation of a view's document."""
    return next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))


def table_of(graphql_schema: GraphQLSchema, document: DocumentNode) -> Table:
    """Where the answer to a valid query holds the CSV's rows, and its columns."""
    selection = Selection(graphql_schema, document)
    root = selection.fields(selection.root)
    found = first_list(selection, root, ())
    if found is None:
        return Table((), False, tuple(columns_of(selection, root, (), ())))
    rows_at, listed = found
    if not listed.selection_sets:  # a list of scalars: one column of them
        return Table(rows_at, True, (Column(rows_at[-1], ()),))
    return Table(rows_at, True, tuple(row_columns(selection, listed)))


def first_list(
    selection: Selection, fields: dict[str, Selected], path: tuple[str, ...]
) -> tuple[tuple[str, ...], Selected] | None:
    """The first field, depth first, that holds a list, and the response keys leading to it."""
    for key, selected in fields.items():
        if is_list_type(get_nullable_type(selected.field.type)):
            return (*path, key), selected
        if selected.selection_sets:
            inner = selection.fields(selected.selection_sets)
            found = first_list(selection, inner, (*path, key))
            if found is not None:
                return found
    return None


def row_columns(selection: Selection, listed: Selected) -> Iterator[Column]:
    """The columns of a list's items; an edge's node is no column prefix of its own."""
    node_field = edge_node_field(listed.field)
    for key, selected in selection.fields(listed.selection_sets).items():
        if selected.field is node_field:
            yield from columns_of(selection, selection.fields(selected.selection_sets), (), (key,))
        else:
            yield from columns_of(selection, {key: selected}, (), ())


def edge_node_field(field: GraphQLField) -> GraphQLField | None:
    """The `node` field of the items of a connection's `edges`, if `field` is such a list."""
    item = get_named_type(field.type)
    if isinstance(item, GraphQLObjectType) and {"node", "cursor"} <= item.fields.keys():
        return item.fields["node"]
    return None


def columns_of(
    selection: Selection,
    fields: dict[str, Selected],
    names: tuple[str, ...],
    path: tuple[str, ...],
) -> Iterator[Column]:
    """The columns of `fields`: a leaf or a list is one, an object's fields are its own."""
    for key, selected in fields.items():
        listed = is_list_type(get_nullable_type(selected.field.type))
        if listed or not selected.selection_sets:
            yield Column(".".join((*names, key)), (*path, key))
        else:
            inner = selection.fields(selected.selection_sets)
            yield from columns_of(selection, inner, (*names, key), (*path, key))


def csv_of(table: Table, data: dict[str, Any] | None) -> str:
    """The CSV of an answer's `data`: the table's header, then a line per row."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(column.name for column in table.columns)
    for row in rows_of(table, data):
        writer.writerow(cell(value_at(row, column.path)) for column in table.columns)
    return out.getvalue()


def rows_of(table: Table, data: dict[str, Any] | None) -> list[Any]:
    """The rows in `data`; none where a value on the way to them is null."""
    found = value_at(data, table.rows_at)
    if found is None:
        return []
    return found if table.listed else [found]


def value_at(value: Any, path: tuple[str, ...]) -> Any:
    """The value the response keys lead to; None where one of the way is null."""
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def cell(value: Any) -> Any:
    """A value as the csv module writes it: a list or an object as JSON, null as nothing."""
    if isinstance(value, list | dict):
        return orjson.dumps(value).decode()
    return value
