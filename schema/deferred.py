"""@defer and @stream taken apart: a query's initial part and each deferred fragment become
operations of their own, which the hub plans like any query (one statement each on the
compiled path); the response keys say where each part's answer goes."""

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from graphql import (
    DirectiveDefinitionNode,
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLDeferDirective,
    GraphQLStreamDirective,
    InlineFragmentNode,
    NameNode,
    Node,
    OperationDefinitionNode,
    OperationType,
    SelectionNode,
    SelectionSetNode,
    VariableNode,
    parse,
    print_ast,
)
from graphql.execution.values import VariableValues, get_directive_values

# Where a selection set is left empty by what it defers, it asks for this instead (GraphQL
# allows no empty selection); its key is taken out of the answers again (`without_placeholders`).
PLACEHOLDER = "hubDeferredPlaceholder"
PLACEHOLDER_FIELD = FieldNode(alias=NameNode(value=PLACEHOLDER), name=NameNode(value="__typename"))
INCREMENTAL = (GraphQLDeferDirective, GraphQLStreamDirective)
INCREMENTAL_DIRECTIVES = frozenset(directive.name for directive in INCREMENTAL)

# A selection leading from the operation's root towards a deferred fragment.
Chain = tuple[FieldNode | InlineFragmentNode, ...]


@dataclass(frozen=True)
class Printed:
    """An operation made of a client's, as text, and where its nodes stood in the client's
    document: errors point there (line and column by line and column)."""

    text: str
    locations: Mapping[tuple[int, int], tuple[int, int]]

    def original(self, line: int, column: int) -> tuple[int, int]:
        """Where a position of the text stood in the client's document."""
        return self.locations.get((line, column), (line, column))


@dataclass(frozen=True)
class Deferred:
    """A deferred fragment, asked by an operation of its own: along the way to it, only what
    leads there; then the fragment's fields (without the fragments deferred inside it)."""

    query: Printed
    keys: tuple[str, ...]  # response keys from the root to the objects the fragment is on
    depth: int  # how many fields lead to those objects (errors above them are the parents')
    label: str | None


@dataclass(frozen=True)
class Streamed:
    """A list asked with @stream: its first `initial_count` items come with the initial
    payload, the others after it."""

    keys: tuple[str, ...]  # response keys from the root to the list
    initial_count: int
    label: str | None


@dataclass
class Split:
    """An operation with @defer or @stream, taken apart: `whole` asks everything at once (for
    clients that take one answer), `initial` all but what is deferred. A mutation is never
    taken apart: it runs once."""

    whole: Printed
    initial: Printed
    deferred: list[Deferred] = field(default_factory=list)
    streamed: list[Streamed] = field(default_factory=list)


def uses_incremental_delivery(query: str) -> bool:
    """Whether a query may ask for @defer or @stream (a quick look at its text)."""
    return "@defer" in query or "@stream" in query


def split(
    document: DocumentNode, operation: OperationDefinitionNode, variables: VariableValues
) -> Split | None:
    """The operation whole, and its initial, deferred and streamed parts; None for a
    subscription."""
    if operation.operation is OperationType.SUBSCRIPTION:
        return None
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    inlined = inline(operation.selection_set, fragments)
    whole = query_of(operation, stripped(inlined))
    if operation.operation is not OperationType.QUERY:
        return Split(whole, whole)
    splitter = Splitter(variables)
    initial = splitter.selections(inlined, (), stream=True)
    result = Split(whole, query_of(operation, initial), streamed=splitter.streamed)
    while splitter.found:
        chain, fragment = splitter.found.pop(0)
        own = replace(fragment, directives=without_incremental(fragment.directives))
        inner = splitter.selections(fragment.selection_set, (*chain, own), stream=False)
        selection: SelectionNode = replace(own, selection_set=inner)
        for step in reversed(chain):
            selection = replace(step, selection_set=SelectionSetNode(selections=(selection,)))
        keys = keys_of(chain)
        label = splitter.directive(GraphQLDeferDirective, fragment).get("label")
        query = query_of(operation, SelectionSetNode(selections=(selection,)))
        result.deferred.append(Deferred(query, keys, len(keys), label))
    return result


class Splitter:
    """Takes deferred fragments and @stream out of selections, and remembers where they were."""

    def __init__(self, variables: VariableValues) -> None:
        self.variables = variables
        self.found: list[tuple[Chain, InlineFragmentNode]] = []
        self.streamed: list[Streamed] = []

    def directive(self, directive: Any, node: Any) -> dict[str, Any]:
        """The directive's arguments on the node (empty where it is not there)."""
        return get_directive_values(directive, node, self.variables) or {}

    def is_deferred(self, selection: SelectionNode) -> bool:
        """Whether a selection is a fragment deferred (@defer without `if: false`)."""
        if not isinstance(selection, InlineFragmentNode):
            return False
        arguments = get_directive_values(GraphQLDeferDirective, selection, self.variables)
        return arguments is not None and arguments["if"] is not False

    def selections(self, selection_set: SelectionSetNode, chain: Chain, stream: bool) -> Any:
        """The selection set without its deferred fragments, which are remembered with the
        way to them; @stream is taken out too, and remembered where `stream` says so."""
        kept = []
        for selection in selection_set.selections:
            if self.is_deferred(selection):
                assert isinstance(selection, InlineFragmentNode), "is_deferred says so"
                self.found.append((chain, selection))
                continue
            assert isinstance(selection, FieldNode | InlineFragmentNode), "fragments inlined"
            if stream and isinstance(selection, FieldNode):
                self.remember_stream(selection, chain)
            kept.append(self.descend(selection, chain, stream))
        if not kept:
            kept.append(
                FieldNode(alias=NameNode(value=PLACEHOLDER), name=NameNode(value="__typename"))
            )
        return SelectionSetNode(selections=tuple(kept))

    def descend(self, selection: FieldNode | InlineFragmentNode, chain: Chain, stream: bool) -> Any:
        """The selection without @defer or @stream, its own selections split alike."""
        bare = replace(selection, directives=without_incremental(selection.directives))
        if selection.selection_set is None:
            return bare
        inner = self.selections(selection.selection_set, (*chain, bare), stream)
        return replace(bare, selection_set=inner)

    def remember_stream(self, selection: FieldNode, chain: Chain) -> None:
        """Remember a list asked with @stream (where `if` is not false)."""
        arguments = get_directive_values(GraphQLStreamDirective, selection, self.variables)
        if arguments is None or arguments["if"] is False:
            return
        keys = tuple(
            response_key(step) for step in (*chain, selection) if isinstance(step, FieldNode)
        )
        self.streamed.append(Streamed(keys, arguments["initialCount"], arguments.get("label")))


def inline(
    selection_set: SelectionSetNode, fragments: Mapping[str, FragmentDefinitionNode]
) -> SelectionSetNode:
    """The selection set with every named fragment written in place (validation has refused
    cycles and unknown fragments)."""
    selections = []
    for selection in selection_set.selections:
        if isinstance(selection, FragmentSpreadNode):
            fragment = fragments[selection.name.value]
            selection = InlineFragmentNode(
                type_condition=fragment.type_condition,
                directives=selection.directives,
                selection_set=fragment.selection_set,
            )
        selections.append(with_inner(selection, lambda inner: inline(inner, fragments)))
    return SelectionSetNode(selections=tuple(selections))


def with_inner(selection: Any, change: Callable[[SelectionSetNode], SelectionSetNode]) -> Any:
    """A field or inline fragment with its selections changed (a leaf field as it is)."""
    if selection.selection_set is None:
        return selection
    return replace(selection, selection_set=change(selection.selection_set))


def stripped(selection_set: SelectionSetNode) -> SelectionSetNode:
    """The selection set without @defer and @stream: everything, at once."""
    selections = tuple(
        with_inner(
            replace(selection, directives=without_incremental(selection.directives)), stripped
        )
        for selection in selection_set.selections
    )
    return SelectionSetNode(selections=selections)


def without_incremental(directives: tuple[DirectiveNode, ...] | None) -> tuple[DirectiveNode, ...]:
    """The directives but @defer and @stream."""
    return tuple(d for d in directives or () if d.name.value not in INCREMENTAL_DIRECTIVES)


def keys_of(chain: Chain) -> tuple[str, ...]:
    """The response keys of the fields along a chain of selections."""
    return tuple(response_key(step) for step in chain if isinstance(step, FieldNode))


def response_key(selection: FieldNode) -> str:
    """The key of a field in the response: its alias, else its name."""
    return (selection.alias or selection.name).value


def query_of(operation: OperationDefinitionNode, selection_set: SelectionSetNode) -> Printed:
    """The operation with these selections, declaring only the variables they use (GraphQL
    refuses unused ones)."""
    used = set(variables_in(selection_set))
    definitions = tuple(
        definition
        for definition in operation.variable_definitions or ()
        if definition.variable.name.value in used
    )
    made = DocumentNode(
        definitions=(
            replace(operation, selection_set=selection_set, variable_definitions=definitions),
        )
    )
    text = print_ast(made)
    locations: dict[tuple[int, int], tuple[int, int]] = {}
    pair_locations(parse(text), made, locations)
    return Printed(text, locations)


def pair_locations(printed: Any, made: Any, locations: dict[tuple[int, int], Any]) -> None:
    """Map the positions of the printed document's nodes to those the nodes it was printed
    from had in the client's document (where they have one: placeholders have none)."""
    if isinstance(printed, tuple | list):
        for mine, theirs in zip(printed, made, strict=True):
            pair_locations(mine, theirs, locations)
        return
    if not isinstance(printed, Node):
        return
    if printed.loc is not None and made.loc is not None:
        start, original = printed.loc.start_token, made.loc.start_token
        locations[start.line, start.column] = (original.line, original.column)
    for key in printed.keys:
        if key != "loc":
            pair_locations(getattr(printed, key), getattr(made, key), locations)


def variables_in(node: Any) -> Iterator[str]:
    """The names of the variables a node uses."""
    if isinstance(node, VariableNode):
        yield node.name.value
        return
    if isinstance(node, tuple | list):
        for item in node:
            yield from variables_in(item)
        return
    for key in getattr(node, "keys", ()):
        if key != "loc":
            yield from variables_in(getattr(node, key))


def without_incremental_definitions(document: DocumentNode) -> DocumentNode:
    """An SDL document without the definitions of @defer and @stream."""
    definitions = tuple(
        definition
        for definition in document.definitions
        if not (
            isinstance(definition, DirectiveDefinitionNode)
            and definition.name.value in INCREMENTAL_DIRECTIVES
        )
    )
    return replace(document, definitions=definitions)


def without_placeholders(data: Any) -> Any:
    """An answer without the placeholders empty selection sets asked for."""
    if isinstance(data, dict):
        return {k: without_placeholders(v) for k, v in data.items() if k != PLACEHOLDER}
    if isinstance(data, list):
        return [without_placeholders(item) for item in data]
    return data
