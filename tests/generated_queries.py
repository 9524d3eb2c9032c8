"""Random queries over the hub's schema (a hypothesis strategy), for the differential test.

The walk follows the schema itself: any object field may be selected, aliased or wrapped in
an inline fragment; arguments come from the demo data's real values plus some that are wrong
(an unknown state, a page too large, a broken cursor), so errors are compared too.
"""

import base64
import json
from datetime import date
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)
from hypothesis import strategies as st
from sqlalchemy import Date, Integer, Numeric, String

from resolvers.pagination import sort_key
from resolvers.sources import SOURCE, Relation

MAX_DEPTH = 3
MAX_FIELDS = 4

ROOT_FIELDS = [
    "city",
    "state",
    "states",
    "sectors",
    "statePartnerships",
    "cities",
    "actors",
    "measures",
    "themes",
    "workingGroups",
    "funders",
    "fundings",
    "funder",
    "actor",
    "theme",
    "search",
    "node",
]

SLUGS = {
    "city": ["koenigswinter", "apolda", "dessau-rosslau", "zwickau", "atlantis"],
    "funder": ["koerber-stiftung", "bmfsfj", "land-rheinland-pfalz", "nobody"],
    "theme": ["jugend", "kultur", "nothing"],
    "actor": ["freiwilligenagentur-apolda", "nobody"],
    "measure": ["nothing"],
    "workingGroup": ["nothing"],
}

# Values of input fields and arguments, by name; enums come from the schema.
VALUES: dict[str, st.SearchStrategy[Any]] = {
    "code": st.sampled_from(["NW", "rp", "BY", "HB", "XX"]),
    "states": st.lists(st.sampled_from(["NW", "RP", "by", "SN", "XX"]), min_size=1, max_size=2),
    "recipientStates": st.lists(st.sampled_from(["NW", "RP", "BY", "XX"]), max_size=2),
    "themes": st.lists(st.sampled_from(["jugend", "kultur", "familie", "nope"]), max_size=2),
    "funders": st.lists(st.sampled_from(["koerber-stiftung", "bmfsfj", "nope"]), max_size=2),
    "text": st.sampled_from(["Stiftung", "Königs", "Ehrenamtliche", "Verein", "?!", ""]),
    "minAmountEur": st.sampled_from(["0", "5000", "20000.50", "-1"]),
    "near": st.fixed_dictionaries(
        {
            "lat": st.floats(47, 55, allow_nan=False),
            "lon": st.floats(6, 15, allow_nan=False),
            "radiusKm": st.sampled_from([0, 20, 120, 400, 1001]),
        }
    ),
    "first": st.one_of(st.none(), st.integers(0, 8), st.just(101)),
    "last": st.one_of(st.none(), st.integers(0, 8), st.just(-1)),
    "ids": st.lists(st.sampled_from(["Q2l0eTox", "U3RhdGU6Tlc=", "RnVuZGVyOjM=", "bm9wZQ=="])),
    "id": st.sampled_from(["Q2l0eTox", "U3RhdGU6Tlc=", "QWN0b3I6MTA=", "bm9wZQ=="]),
}
# Offset cursors, search's own (and once those of every connection): within and beyond int64.
OFFSET_CURSORS = st.one_of(st.integers(0, 40), st.just(10**23)).map(
    lambda n: base64.b64encode(f"arrayconnection:{n}".encode()).decode()
)
# The text of a sort key's value, by the value's type: real values, others between them, and
# some no row can have (out of range, or of another type).
KEY_VALUES: list[tuple[type, st.SearchStrategy[str | None]]] = [
    (Integer, st.sampled_from(["0", "3", "58", "100000", "-1", "2147483648", "x"])),
    (Numeric, st.sampled_from(["0", "5000.00", "25000", "1e5"])),
    (Date, st.sampled_from(["2020-01-01", "2023-06-30", "2031-12-31", "2020-13-45"])),
    (String, st.sampled_from(["", "A", "Apolda", "Königswinter", "zzz", "Ä\u0000"])),
]


def key_value(sql_type: Any) -> st.SearchStrategy[str | None]:
    """The text of a sort key's value of `sql_type`, or null."""
    values = next(values for kind, values in KEY_VALUES if isinstance(sql_type, kind))
    return st.one_of(st.none(), values)


def cursors(connection: str, field: Any, order: Any) -> st.SearchStrategy[str | None]:
    """Cursors for a connection field (`connection`: its type and field) in an order: of
    its own form at any position, of another connection, of old, and none at all."""
    relation = field.extensions["strawberry-definition"].metadata.get(SOURCE)
    others = st.sampled_from(["not-a-cursor", cursor("Query.cities", "A", "1")])
    if not isinstance(relation, Relation):  # search: offset cursors
        return st.one_of(st.none(), OFFSET_CURSORS, others)
    enum = named(field.args["orderBy"].type).wrapped_cls[order] if order else None
    key = sort_key(connection, relation, enum)
    own = st.tuples(*(key_value(term.expression.type) for term in key.terms))
    return st.one_of(
        st.none(), own.map(lambda values: cursor(key.name, *values)), OFFSET_CURSORS, others
    )


def cursor(name: str, *key: str | None) -> str:
    """A cursor of the connection and order `name` at the position of `key` (the sort key's
    values as text), in the format of resolvers.pagination.SortKey, whether a row has that
    key or not: a forged cursor, which a client may send as well as one it was given."""
    return base64.b64encode(json.dumps([1, name, *key]).encode()).decode()


DATES = st.dates(date(2010, 1, 1), date(2027, 12, 31)).map(str)


def named(graphql_type: Any) -> Any:
    """The named type inside list and non-null wrappers."""
    while isinstance(graphql_type, GraphQLNonNull | GraphQLList):
        graphql_type = graphql_type.of_type
    return graphql_type


def literal(value: Any, graphql_type: Any) -> str:
    """A GraphQL literal of `value` for an argument of `graphql_type`."""
    target = named(graphql_type)
    if value is None:
        return "null"
    if isinstance(value, list):
        return "[" + ", ".join(literal(item, target) for item in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{k}: {literal(v, target.fields[k].type)}" for k, v in value.items())
            + "}"
        )
    if isinstance(target, GraphQLEnumType) or isinstance(value, bool):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


@st.composite
def input_value(draw: st.DrawFn, name: str, graphql_type: Any) -> Any:
    """A value for an input field or argument called `name`."""
    target = named(graphql_type)
    if name in VALUES:
        return draw(VALUES[name])
    if isinstance(target, GraphQLEnumType):
        values = st.sampled_from(sorted(target.values))
        is_list = isinstance(getattr(graphql_type, "of_type", graphql_type), GraphQLList)
        return draw(st.lists(values, min_size=1, max_size=2)) if is_list else draw(values)
    if isinstance(target, GraphQLInputObjectType):
        chosen = draw(st.lists(st.sampled_from(sorted(target.fields)), max_size=3, unique=True))
        return {key: draw(input_value(key, target.fields[key].type)) for key in chosen}
    if target.name == "Date":
        return draw(DATES)
    return None


@st.composite
def arguments(draw: st.DrawFn, owner: str, field_name: str, field: Any) -> str:
    """The argument list of one field of the type `owner`, possibly empty."""
    parts, order = [], None
    for arg_name, arg in field.args.items():
        required = isinstance(arg.type, GraphQLNonNull)
        if not required and not draw(st.booleans()):
            continue
        if arg_name == "slug":
            value: Any = draw(st.sampled_from(SLUGS.get(field_name, ["nothing"])))
        elif arg_name in ("after", "before"):
            value = draw(cursors(f"{owner}.{field_name}", field, order))
        else:
            value = draw(input_value(arg_name, arg.type))
        if arg_name == "orderBy":
            order = value
        if value is None and required:
            value = "Stiftung"
        parts.append(f"{arg_name}: {literal(value, arg.type)}")
    return f"({', '.join(parts)})" if parts else ""


@st.composite
def selection(draw: st.DrawFn, schema: GraphQLSchema, graphql_type: Any, depth: int) -> str:
    """A selection set on an object, interface or union type."""
    if isinstance(graphql_type, GraphQLInterfaceType | GraphQLUnionType):
        members = schema.get_possible_types(graphql_type)
        member = draw(st.sampled_from(sorted(members, key=lambda t: t.name)))
        inner = draw(selection(schema, member, depth))
        return f"{{ __typename ... on {member.name} {inner} }}"
    names = sorted(
        name
        for name, field in graphql_type.fields.items()
        if depth < MAX_DEPTH or not isinstance(named(field.type), GraphQLObjectType)
    )
    if not names:  # only objects below, and no depth left for them
        return "{ __typename }"
    chosen = draw(st.lists(st.sampled_from(names), min_size=1, max_size=MAX_FIELDS, unique=True))
    parts = [draw(field_selection(schema, graphql_type, name, depth)) for name in chosen]
    if draw(st.integers(0, 4)) == 0:
        parts.append("__typename")
    if draw(st.integers(0, 5)) == 0:
        return f"{{ ... on {graphql_type.name} {{ {' '.join(parts)} }} }}"
    return "{ " + " ".join(parts) + " }"


@st.composite
def field_selection(
    draw: st.DrawFn, schema: GraphQLSchema, owner: Any, name: str, depth: int
) -> str:
    """One field with its arguments, an alias sometimes, and its subselection."""
    field = owner.fields[name]
    text = name + draw(arguments(owner.name, name, field))
    if draw(st.integers(0, 5)) == 0:
        text = f"{name}Alias: {text}"
    target = named(field.type)
    if isinstance(target, GraphQLObjectType | GraphQLInterfaceType | GraphQLUnionType):
        text += " " + draw(selection(schema, target, depth + 1))
    return text


@st.composite
def queries(draw: st.DrawFn, schema: GraphQLSchema) -> tuple[str, dict[str, Any]]:
    """A query document and its variables; a page size is passed as a variable at times."""
    query_type = schema.query_type
    roots = draw(st.lists(st.sampled_from(ROOT_FIELDS), min_size=1, max_size=2, unique=True))
    body = " ".join(draw(field_selection(schema, query_type, name, 1)) for name in roots)
    variables: dict[str, Any] = {}
    if "first: " in body and draw(st.booleans()):
        size = body.split("first: ", 1)[1].split(")")[0].split(",")[0]
        body = body.replace(f"first: {size}", "first: $size", 1)
        variables["size"] = None if size == "null" else int(size)
        return f"query Generated($size: Int) {{ {body} }}", variables
    return f"{{ {body} }}", variables
