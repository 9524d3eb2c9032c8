"""Safety limits on what one request may ask: depth, aliases, tokens and cost.

Each refuses a request before anything runs, with an error that names the limit, gives the
request's own figure and carries an `extensions.code`. The cost of an operation is known before
it runs and goes to the client in `extensions.cost` on every response; the rate limits of
`hub.ratelimit` charge it.
"""

import math
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from graphlib import CycleError, TopologicalSorter
from typing import Any, NamedTuple, cast

from graphql import (
    ArgumentNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSyntaxError,
    GraphQLUnionType,
    InlineFragmentNode,
    ListTypeNode,
    NonNullTypeNode,
    OperationDefinitionNode,
    SelectionNode,
    SelectionSetNode,
    ValidationRule,
    VariableDefinitionNode,
    VariableNode,
    Visitor,
    get_named_type,
    get_nullable_type,
    get_operation_ast,
    is_leaf_type,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    FragmentDetails,
    collect_fields,
    collect_subfields,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.language import Lexer, Source, TokenKind
from starlette.requests import HTTPConnection
from strawberry.extensions import ParserCache, SchemaExtension
from strawberry.types import ExecutionContext

from hub.config import Settings
from hub.ratelimit import charge
from resolvers.access import Viewer
from resolvers.errors import PARSE_FAILED, coded

LIMITS = Settings.from_env()

# The arguments whose values can change a cost, besides lists (see Cost.list_items): page
# sizes, and the conditions of @include and @skip.
SHAPING_ARGUMENTS = frozenset({"first", "last", "if"})
MAX_DOCUMENTS = 1000
MAX_COSTS_PER_DOCUMENT = 50
MISSING = object()

# Lists that are no connection hold a short domain (schema.fields.to_list: the 16 states, the
# 5 sectors) or one figure per group (the demo data's 17 funders, 12 themes, 8 years); each
# counts as this many items, unless a list argument says how many (Cost.list_items) or it is
# one of introspection (introspection_lists).
ASSUMED_LIST_ITEMS = 20


def limit_error(message: str, code: str) -> GraphQLError:
    """A request refused by a limit: the message says which and by how much."""
    return GraphQLError(message, extensions={"code": code})


class TokenLimitedParsing(ParserCache):
    """Strawberry's parser cache, where the parser stops reading at the token limit
    (graphql-core's `max_tokens`, comments included) and the refusal says how many tokens
    the document has: it is counted to the end only then, which the request body limit bounds.

    One extension for both (strawberry's MaxTokensLimiter only sets the parser's option):
    each extension costs every request the same hook set-up, whatever it does.
    """

    def on_parse(self) -> Iterator[None]:
        context = self.execution_context
        context.parse_options["max_tokens"] = LIMITS.max_tokens
        try:
            yield from super().on_parse()
        except GraphQLSyntaxError as error:
            query = context.query or ""
            # A token takes at least one character: a short document is within the limit.
            tokens = count_tokens(query) if len(query) > LIMITS.max_tokens else 0
            if tokens <= LIMITS.max_tokens:
                raise coded(error, PARSE_FAILED) from None
            raise limit_error(
                f"Query has {tokens} tokens, more than the limit of {LIMITS.max_tokens}.",
                "TOO_MANY_TOKENS",
            ) from None


def count_tokens(query: str) -> int:
    """The tokens of `query` as graphql-core's `max_tokens` counts them (comments included),
    up to the end or to the first character that is no token."""
    lexer = Lexer(Source(query))
    start = lexer.token
    try:
        while lexer.advance().kind is not TokenKind.EOF:
            pass
    except GraphQLSyntaxError:
        pass
    count, token = 0, start.next
    while token is not None and token.kind is not TokenKind.EOF:
        count, token = count + 1, token.next
    return count


class Shape(NamedTuple):
    """How deep a selection nests fields, and how many aliases it uses (fragments expanded)."""

    depth: int
    aliases: int


NO_SHAPE = Shape(0, 0)


class ShapeLimit(ValidationRule):
    """Refuse operations nested deeper, or using more aliases, than the limits allow.

    The depth counts like strawberry's QueryDepthLimiter (a field with a selection is one
    level; introspection too, so that nesting `__schema` cannot bypass it), and aliases like
    its MaxAliasesLimiter (per use of a fragment). Hand-written because both walk every
    fragment anew on each spread and stop measuring at the limit: a 300-token document that
    spreads each fragment twice keeps them busy for hours, and neither can say by how much a
    query is over. Here each fragment is measured once, after those it spreads.
    """

    def enter_document(self, document: DocumentNode, *_: Any) -> None:
        measured = self.measure_fragments(document)
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                self.check(shape_of(definition.selection_set, measured))

    def check(self, shape: Shape) -> None:
        """Report each limit an operation of this shape exceeds."""
        depth, aliases = LIMITS.max_query_depth, LIMITS.max_aliases
        if shape.depth > depth:
            message = f"Query depth {shape.depth} exceeds the limit of {depth}."
            self.report_error(limit_error(message, "QUERY_TOO_DEEP"))
        if shape.aliases > aliases:
            message = f"Query has {shape.aliases} aliases, more than the limit of {aliases}."
            self.report_error(limit_error(message, "TOO_MANY_ALIASES"))

    def measure_fragments(self, document: DocumentNode) -> dict[str, Shape]:
        """The shape of each fragment, measured after the fragments it spreads (none where
        fragments spread each other in a cycle, which NoFragmentCycles reports)."""
        fragments = {
            definition.name.value: definition
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }
        spreads = {
            name: {
                spread.name.value
                for spread in self.context.get_fragment_spreads(fragment.selection_set)
            }
            for name, fragment in fragments.items()
        }
        measured: dict[str, Shape] = {}
        try:
            for name in TopologicalSorter(spreads).static_order():
                if name in fragments:
                    measured[name] = shape_of(fragments[name].selection_set, measured)
        except CycleError:
            return {}
        return measured


def shape_of(selection_set: SelectionSetNode, fragments: dict[str, Shape]) -> Shape:
    """The shape of a selection whose fragments are measured already (unknown ones: none)."""
    shapes = [shape_of_selection(selection, fragments) for selection in selection_set.selections]
    return Shape(max((shape.depth for shape in shapes), default=0), sum(s.aliases for s in shapes))


def shape_of_selection(selection: SelectionNode, fragments: dict[str, Shape]) -> Shape:
    """The shape of one selection: a field with a selection of its own is one level more."""
    if isinstance(selection, FragmentSpreadNode):
        return fragments.get(selection.name.value, NO_SHAPE)
    assert isinstance(selection, FieldNode | InlineFragmentNode)
    inner = shape_of(selection.selection_set, fragments) if selection.selection_set else NO_SHAPE
    if isinstance(selection, InlineFragmentNode):
        return inner
    depth = inner.depth + 1 if selection.selection_set else 0
    return Shape(depth, inner.aliases + (selection.alias is not None))


class QueryCost(SchemaExtension):
    """Refuse operations that cost more than the limit; charge the request's rate budget;
    report `extensions.cost` as `{"requested": cost, "limit": limit}`.

    The cost is the most list items a response can hold, counted like GitHub's node limit:
    a connection's page (`first`/`last`, else the maximum page size) multiplies the cost of
    what each item selects, a list that is no connection counts ASSUMED_LIST_ITEMS items, and
    objects and scalars cost nothing in themselves. Every operation costs at least 1. Where
    the variables do not fit the operation, execution refuses them before any SQL runs, and
    there is no cost to report.
    """

    cost: int | None = None

    async def on_execute(self) -> Any:
        self.cost = COSTS.cost(self.execution_context)
        if self.cost is not None:
            refuse_over_limit(self.cost)
            context = self.execution_context.context
            await charge_or_refuse(context.request, context.viewer, self.cost)
        yield

    def get_results(self) -> dict[str, Any]:
        return cost_report(self.cost)


def refuse_over_limit(cost: int) -> None:
    """Refuse an operation costing more than the limit."""
    if cost > LIMITS.max_query_cost:
        raise limit_error(
            f"Query cost {cost} exceeds the limit of {LIMITS.max_query_cost}: ask for "
            "smaller pages (first/last) or fewer nested connections.",
            "QUERY_TOO_COSTLY",
        )


async def charge_or_refuse(request: HTTPConnection | None, viewer: Viewer, cost: int) -> None:
    """Charge the cost to the client's rate budget; refuse the operation if it cannot pay."""
    charged = await charge(request, viewer, cost)
    if charged is not None and not charged.allowed:
        raise limit_error(
            f"Rate limit exceeded: this query costs {cost} points, and "
            f"{math.floor(charged.points)} of the {charged.limit} points per hour remain; "
            f"retry in {charged.retry_after} s.",
            "RATE_LIMITED",
        )


def cost_of_operation(info: GraphQLResolveInfo) -> int:
    """The cost of the operation a resolver runs in, with its variables: for a subscription,
    what each event it delivers costs."""
    document = DocumentNode(definitions=(info.operation, *info.fragments.values()))
    variables = info.variable_values
    if not isinstance(variables, VariableValues):
        # Resolvers get the coerced values alone (a subscription with variables, e.g.
        # through a gateway): the sources only matter for defaults of fragment variables.
        variables = VariableValues(sources={}, coerced=dict(variables))
    cost = Cost(info.schema, document, info.operation, variables, LIMITS.max_page_size)
    return cost.total()


def cost_report(cost: int | None) -> dict[str, Any]:
    """`extensions.cost` of an operation whose cost is known."""
    if cost is None:
        return {}
    return {"cost": {"requested": cost, "limit": LIMITS.max_query_cost}}


def measure(execution: ExecutionContext) -> int | None:
    """The cost of the operation with the request's variables (None: they do not fit)."""
    document = execution.graphql_document
    assert document is not None, "execution follows parsing"
    operation = get_operation_ast(document, execution.operation_name)
    if operation is None:
        return None
    schema = execution.schema._schema
    variables = get_variable_values(
        schema, operation.variable_definitions or (), execution.variables or {}
    )
    if not isinstance(variables, VariableValues):
        return None
    return Cost(schema, document, operation, variables, LIMITS.max_page_size).total()


@dataclass
class DocumentCosts:
    """The costs of one document and operation, by the values of its shaping variables."""

    shaping: tuple[str, ...]
    costs: dict[str, int] = field(default_factory=dict)

    def key(self, variables: dict[str, Any]) -> str:
        """The values of the shaping variables, a list by its length."""
        return repr([length_or_value(variables.get(name, MISSING)) for name in self.shaping])


def length_or_value(value: Any) -> Any:
    """What of a variable's value a cost depends on: a list's length, another value itself."""
    return ("list", len(value)) if isinstance(value, list) else value


class CostCache:
    """Costs by document and operation, and by the values of the variables that can change
    them (those given to `first`, `last` and `if`, and the lengths of lists): measuring an
    operation takes about 80 µs, a sixth of the CPU a compiled read takes, so each cost is
    measured once."""

    def __init__(self) -> None:
        self.documents: OrderedDict[tuple[str, str | None], DocumentCosts] = OrderedDict()

    def cost(self, execution: ExecutionContext) -> int | None:
        """The cost of the request's operation (None: its variables do not fit)."""
        assert execution.query is not None and execution.graphql_document is not None
        variables = execution.variables or {}
        entry = self.entry((execution.query, execution.operation_name), execution.graphql_document)
        key = entry.key(variables)
        if key not in entry.costs:
            cost = measure(execution)
            if cost is None:
                return None
            if len(entry.costs) >= MAX_COSTS_PER_DOCUMENT:
                entry.costs.clear()
            entry.costs[key] = cost
        return entry.costs[key]

    def known(
        self, query: str, operation_name: str | None, variables: dict[str, Any]
    ) -> int | None:
        """The cost of an operation measured before with these variables, or None."""
        key = (query, operation_name)
        entry = self.documents.get(key)
        if entry is None:
            return None
        self.documents.move_to_end(key)
        return entry.costs.get(entry.key(variables))

    def entry(self, key: tuple[str, str | None], document: DocumentNode) -> DocumentCosts:
        """The document's entry, made if new; least recently used documents go first."""
        entry = self.documents.get(key)
        if entry is None:
            entry = self.documents[key] = DocumentCosts(shaping_variables(document))
            if len(self.documents) > MAX_DOCUMENTS:
                self.documents.popitem(last=False)
        self.documents.move_to_end(key)
        return entry


def shaping_variables(document: DocumentNode) -> tuple[str, ...]:
    """The variables a cost can depend on: those given to SHAPING_ARGUMENTS, and those of a
    list type (`nodes(ids: $ids)`, `_entities(representations: $representations)`)."""

    class Collect(Visitor):
        def __init__(self) -> None:
            super().__init__()
            self.names: set[str] = set()
            self.inside = 0

        def enter_argument(self, node: ArgumentNode, *_: Any) -> None:
            self.inside += node.name.value in SHAPING_ARGUMENTS

        def leave_argument(self, node: ArgumentNode, *_: Any) -> None:
            self.inside -= node.name.value in SHAPING_ARGUMENTS

        def enter_variable(self, node: VariableNode, *_: Any) -> None:
            if self.inside:
                self.names.add(node.name.value)

        def enter_variable_definition(self, node: VariableDefinitionNode, *_: Any) -> None:
            wrapped = node.type.type if isinstance(node.type, NonNullTypeNode) else node.type
            if isinstance(wrapped, ListTypeNode):
                self.names.add(node.variable.name.value)

    collect = Collect()
    visit(document, collect)
    return tuple(sorted(collect.names))


COSTS = CostCache()


class Cost:
    """The cost of one operation with given variables (see QueryCost)."""

    def __init__(
        self,
        schema: GraphQLSchema,
        document: DocumentNode,
        operation: OperationDefinitionNode,
        variables: VariableValues,
        max_page_size: int,
    ) -> None:
        self.schema = schema
        self.operation = operation
        self.variables = variables
        self.max_page_size = max_page_size
        self.fragments = {
            definition.name.value: FragmentDetails(definition)
            for definition in document.definitions
            if isinstance(definition, FragmentDefinitionNode)
        }

    def total(self) -> int:
        """The operation's cost, at least 1."""
        root = self.schema.get_root_type(self.operation.operation)
        assert root is not None, "validation refuses operations the schema has no root for"
        fields = collect_fields(self.schema, self.fragments, self.variables, root, self.operation)
        return max(1, self.of_fields(root, fields.grouped_field_set.values(), page=None))

    def of_fields(
        self, parent: GraphQLObjectType, fields: Iterable[FieldDetailsList], page: int | None
    ) -> int:
        """The cost of the fields selected on `parent`; `page` bounds the lists of the
        connection `parent` is (None: it is none)."""
        total = 0
        introspection = introspection_lists(self.schema)
        for details in fields:
            name = details[0].node.name.value
            definition = self.schema.get_field(parent, name)
            if definition is not None:
                bound = introspection.get((parent.name, name), page)
                total += self.of_field(definition, details, bound)
        return total

    def of_field(
        self, definition: GraphQLField, details: FieldDetailsList, page: int | None
    ) -> int:
        """The cost of one field: its items times the cost of what each selects (the most
        of what it selects on any type it can return)."""
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        arguments = self.arguments(definition, details)
        # A field taking `first` is a connection: its page bounds the lists it holds.
        inner_page = self.page_size(arguments) if "first" in definition.args else None
        each = max(
            (self.of_selection(kind, details, inner_page) for kind in self.runtime_types(named)),
            default=0,
        )
        if not isinstance(get_nullable_type(definition.type), GraphQLList):
            return each
        items = page if page is not None else self.list_items(arguments)
        return items * (1 + each)

    def of_selection(
        self, kind: GraphQLObjectType, details: FieldDetailsList, page: int | None
    ) -> int:
        """The cost of what a field selects on an object of type `kind`."""
        subfields = collect_subfields(
            self.schema, self.fragments, self.variables, self.operation, kind, details
        )
        return self.of_fields(kind, subfields.grouped_field_set.values(), page)

    def runtime_types(self, named: GraphQLNamedType) -> Sequence[GraphQLObjectType]:
        """The object types a field of type `named` can return."""
        if isinstance(named, GraphQLObjectType):
            return [named]
        return self.schema.get_possible_types(cast(GraphQLAbstractType, named))

    def arguments(self, definition: GraphQLField, details: FieldDetailsList) -> dict[str, Any]:
        """The field's argument values (none where they are invalid: execution refuses them)."""
        try:
            return get_argument_values(definition, details[0].node, self.variables)
        except GraphQLError:
            return {}

    def page_size(self, arguments: dict[str, Any]) -> int:
        """The most items a connection's page holds with these arguments."""
        sizes = [arguments.get("first"), arguments.get("last")]
        asked = [size for size in sizes if isinstance(size, int)]
        size = min(asked) if asked else self.max_page_size
        return max(0, min(size, self.max_page_size))

    @staticmethod
    def list_items(arguments: dict[str, Any]) -> int:
        """The items of a list that is no connection: one per item of its longest list
        argument (`nodes(ids:)`, `_entities(representations:)` answer one object for each),
        else the assumed number."""
        lengths = [len(value) for value in arguments.values() if isinstance(value, list)]
        return max(lengths, default=ASSUMED_LIST_ITEMS)


@cache
def introspection_lists(schema: GraphQLSchema) -> dict[tuple[str, str], int]:
    """The most items each list of introspection can hold, by its type and field: they grow
    with the schema, not with the data (e.g. `__Schema.types`: every type of the schema)."""
    types = list(schema.type_map.values())
    with_fields = [t for t in types if isinstance(t, GraphQLObjectType | GraphQLInterfaceType)]
    fields = [field for t in with_fields for field in t.fields.values()]
    abstract = [t for t in types if isinstance(t, GraphQLInterfaceType | GraphQLUnionType)]
    enums = [t for t in types if isinstance(t, GraphQLEnumType)]
    inputs = [t for t in types if isinstance(t, GraphQLInputObjectType)]
    return {
        ("__Schema", "types"): len(types),
        ("__Schema", "directives"): len(schema.directives),
        ("__Type", "fields"): max((len(t.fields) for t in with_fields), default=0),
        ("__Type", "interfaces"): max((len(t.interfaces) for t in with_fields), default=0),
        ("__Type", "possibleTypes"): max(
            (len(schema.get_possible_types(t)) for t in abstract), default=0
        ),
        ("__Type", "enumValues"): max((len(t.values) for t in enums), default=0),
        ("__Type", "inputFields"): max((len(t.fields) for t in inputs), default=0),
        ("__Field", "args"): max((len(field.args) for field in fields), default=0),
        ("__Directive", "args"): max((len(d.args) for d in schema.directives), default=0),
    }
