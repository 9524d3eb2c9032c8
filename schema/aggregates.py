"""The `aggregates` field of the connections of cities, actors, measures, funders and fundings:
its GraphQL types, made from each type's declaration (resolvers/aggregates.py)."""

import enum
import inspect
import types as python_types
from decimal import Decimal
from types import GenericAlias
from typing import Annotated, Any

import strawberry
from strawberry.types.field import StrawberryField

from hub.config import Settings
from resolvers import aggregates as agg
from resolvers.context import Info
from resolvers.sources import SOURCE
from schema.connections import Connection

MAX_GROUPS = Settings.from_env().max_page_size

AggregateFunction = strawberry.enum(
    agg.Function, name="AggregateFunction", description="A figure of a group of rows."
)
for _value in AggregateFunction.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = {
        "COUNT": "How many rows the group holds (no field).",
        "COUNT_DISTINCT": "How many distinct values of a field to group by the rows hold.",
        "SUM": "The sum of a numeric field.",
        "AVG": "The average of a numeric field.",
        "MIN": "The least value of a numeric field.",
        "MAX": "The greatest value of a numeric field.",
    }[_value.name]


def object_type(name: str, description: str, fields: dict[str, tuple[Any, str]]) -> Any:
    """A GraphQL object type of plain fields: name to (annotation, description)."""
    namespace: dict[str, Any] = {
        "__annotations__": {key: annotation for key, (annotation, _) in fields.items()},
        "__module__": __name__,
    }
    for key, (_, text) in fields.items():
        namespace[key] = strawberry.field(description=text)
    return strawberry.type(type(name, (), namespace), name=name, description=description)


def input_fields(fields: dict[str, tuple[Any, Any, str]]) -> dict[str, Any]:
    """The namespace of an input class: name to (annotation, default, description)."""
    namespace: dict[str, Any] = {
        "__annotations__": {key: annotation for key, (annotation, _, _) in fields.items()},
        "__module__": __name__,
    }
    for key, (_, default, text) in fields.items():
        namespace[key] = strawberry.field(default=default, description=text)
    return namespace


def enum_of(name: str, description: str, values: dict[str, str]) -> Any:
    """A GraphQL enum of field names (`values`: each name's description)."""
    python_enum: Any = enum.Enum(name, {key.upper(): key for key in values})  # type: ignore[misc]
    described: Any = strawberry.enum(python_enum, name=name, description=description)
    for value in described.__strawberry_definition__.values:
        value.description = values[value.value]
    return python_enum


class AggregateTypes:
    """The GraphQL types of one node type's aggregates."""

    def __init__(self, aggregation: agg.Aggregation) -> None:
        self.aggregation = aggregation
        prefix, plural = aggregation.type_name, aggregation.plural
        dimensions = aggregation.dimensions
        measures = aggregation.measures
        self.dimension = enum_of(
            f"{prefix}Dimension",
            f"What {plural} may be grouped by.",
            {k: d.description for k, d in dimensions.items()},
        )
        fields = {**{k: d.description for k, d in dimensions.items()}}
        fields.update({k: m.description for k, m in measures.items()})
        self.field = enum_of(
            f"{prefix}AggregateField",
            f"A field of {plural} a figure is of: numeric ones for SUM, AVG, MIN and MAX, "
            "ones to group by for COUNT_DISTINCT.",
            fields,
        )
        self.key = object_type(
            f"{prefix}GroupKey",
            f"The values a group of {plural} shares; null for dimensions not grouped by.",
            {k: (d.python_type | None, d.description) for k, d in dimensions.items()},
        )
        self.distinct = object_type(
            f"{prefix}DistinctCounts",
            f"How many distinct values of each dimension the group's {plural} hold.",
            {k: (int, d.description) for k, d in dimensions.items()},
        )
        group_fields: dict[str, tuple[Any, str]] = {
            "key": (self.key, "The values the group's rows share."),
            "count": (int, f"How many {plural} the group holds."),
            "count_distinct": (self.distinct, "How many distinct values of each dimension."),
        }
        if measures:
            numbers = object_type(
                f"{prefix}Numbers",
                f"A figure of each numeric field of the group's {plural}; null where no "
                "value is there (or none the viewer may see).",
                {k: (m.python_type | None, m.description) for k, m in measures.items()},
            )
            averages = object_type(
                f"{prefix}Averages",
                f"The average of each numeric field of the group's {plural} (amounts to "
                "the cent); null where no value is there (or none the viewer may see).",
                {k: (averaged(m) | None, m.description) for k, m in measures.items()},
            )
            group_fields.update(
                {
                    "sum": (numbers, "The sums."),
                    "avg": (averages, "The averages."),
                    "min": (numbers, "The least values."),
                    "max": (numbers, "The greatest values."),
                }
            )
        self.group = object_type(
            f"{prefix}Group", f"A group of {plural} and its figures.", group_fields
        )
        self.aggregates = object_type(
            f"{prefix}Aggregates",
            f"The groups of the {plural} of a list (all its rows, not a page).",
            {"groups": (listed(self.group), "The groups, in the order asked for.")},
        )
        self.numbers_types = group_fields
        figure_fields = {
            "function": (AggregateFunction, strawberry.UNSET, "The figure."),
            "field": (
                self.field | None,
                None,
                "The field it is of (none for COUNT).",
            ),
        }
        self.condition = strawberry.input(
            type(
                f"{prefix}AggregateCondition",
                (Comparisons,),
                input_fields(
                    {
                        **figure_fields,
                        **{
                            op: (Decimal | None, None, text)
                            for op, text in COMPARISON_DESCRIPTIONS.items()
                        },
                    },
                ),
            ),
            name=f"{prefix}AggregateCondition",
            description=f"A condition on a figure of a group of {plural}; all given "
            "comparisons must hold.",
        )
        self.order = strawberry.input(
            type(
                f"{prefix}AggregateOrder",
                (),
                input_fields(
                    {
                        **figure_fields,
                        "descending": (
                            bool,
                            True,
                            "Largest first (the default); false: smallest first.",
                        ),
                    },
                ),
            ),
            name=f"{prefix}AggregateOrder",
            description=f"An order of groups of {plural} by one of their figures.",
        )

    def group_of(self, request: agg.Request, row: Any) -> Any:
        """A group as the resolver path answers it, from a row of the grouped statement."""
        aggregation = self.aggregation
        values = row._mapping
        key = {
            name: agg.dimension_value(aggregation, name, values[f"key_{name}"])
            if name in request.group_by
            else None
            for name in aggregation.dimensions
        }
        fields: dict[str, Any] = {
            "key": self.key(**key),
            "count": values["count"],
            "count_distinct": self.distinct(
                **{name: values[f"count_distinct_{name}"] for name in aggregation.dimensions}
            ),
        }
        for function in ("sum", "avg", "min", "max"):
            if function in self.numbers_types:
                numbers_type = self.numbers_types[function][0]
                fields[function] = numbers_type(
                    **{name: values[f"{function}_{name}"] for name in aggregation.measures}
                )
        return self.group(**fields)

    def field_of_connection(self) -> Any:
        """The `aggregates` field of the type's connections."""
        types = self

        async def resolve(root: Any, info: Info, **arguments: Any) -> Any:
            request = agg.request_of(types.aggregation, max_groups=MAX_GROUPS, **arguments)
            connection = root.rows_request
            relation = connection.relation
            rows = relation.rows().where(*connection.where)
            if relation.key is not None:
                rows = rows.where(relation.group == connection.parent)
            statement = agg.grouped(
                types.aggregation, rows, agg.copied, request, info.context.viewer
            ).limit(request.first)
            groups = await info.context.rows(statement)
            return types.aggregates(groups=[types.group_of(request, row) for row in groups])

        resolve.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
            [
                inspect.Parameter("root", inspect.Parameter.POSITIONAL_OR_KEYWORD),
                inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info),
                argument(
                    "group_by",
                    listed(self.dimension) | None,
                    "The dimensions to group by; none: one group of all rows.",
                ),
                argument(
                    "having",
                    listed(self.condition) | None,
                    "Only the groups whose figures meet all these conditions.",
                ),
                argument(
                    "order_by",
                    listed(self.order) | None,
                    "The order of the groups, by their figures; ties by the keys, ascending.",
                ),
                argument(
                    "first",
                    int | None,
                    f"Only the first this many groups in their order (at most {MAX_GROUPS}, "
                    "the default).",
                ),
            ],
            return_annotation=self.aggregates,
        )
        return StrawberryField(
            description="Figures of the list's rows (all that match its filter, not only "
            "the page), grouped by the given dimensions.",
            metadata={SOURCE: self},
        )(resolve)


COMPARISON_DESCRIPTIONS = {
    "gt": "The figure is greater than this.",
    "gte": "The figure is at least this.",
    "lt": "The figure is less than this.",
    "lte": "The figure is at most this.",
    "eq": "The figure equals this.",
}


class Comparisons:
    """The comparisons of a condition input that are given."""

    def comparisons(self) -> list[tuple[str, Decimal]]:
        """(comparison, value) for each comparison given."""
        given = ((op, getattr(self, op)) for op in COMPARISON_DESCRIPTIONS)
        return [(op, value) for op, value in given if value is not None]


def listed(item_type: Any) -> Any:
    """The type of a list of `item_type` (a type made at runtime)."""
    return GenericAlias(list, (item_type,))


def averaged(measure: agg.Measure) -> Any:
    """The GraphQL type of a measure's average."""
    return Decimal if measure.python_type is Decimal else float


def argument(name: str, annotation: Any, description: str) -> inspect.Parameter:
    """An optional, described argument of a generated resolver."""
    described = Annotated[annotation, strawberry.argument(description=description)]
    return inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=described, default=None
    )


def node(name: str) -> Any:
    """A lazy reference to the object type `name` of schema.types."""
    return Annotated[name, strawberry.lazy("schema.types")]


def aggregated_connection(types: AggregateTypes) -> Any:
    """The connection type of a node type with aggregates."""
    name = f"{types.aggregation.type_name}Connection"
    base: Any = Connection[node(types.aggregation.type_name)]  # type: ignore[misc]
    namespace = {"aggregates": types.field_of_connection(), "__module__": __name__}
    return strawberry.type(
        python_types.new_class(name, (base,), {}, lambda body: body.update(namespace)),
        name=name,
        description="A page of a list, with cursors to move on, the total count and "
        "grouped figures of the whole list.",
    )


AGGREGATED_CONNECTIONS = {
    aggregation.type_name: aggregated_connection(AggregateTypes(aggregation))
    for aggregation in (agg.CITIES, agg.ACTORS, agg.MEASURES, agg.FUNDERS, agg.FUNDINGS)
}
