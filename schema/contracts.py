"""Tags for a supergraph's contracts (Apollo GraphOS, Hive): which parts of the API are public.

The internal parts are tagged `internal` where they are declared (`INTERNAL`): personal data,
what only the network office reads, and the writes, which all need a credential. The subgraph
SDL a gateway reads tags every other part `public` (`tagged`), so that a contract including
`public` keeps the network's public data and one excluding `internal` drops the rest alike.
A new part is public unless declared internal, and a field whose type is internal is too.
"""

from dataclasses import replace
from typing import Any, TypeVar

from graphql import (
    ConstArgumentNode,
    ConstDirectiveNode,
    DocumentNode,
    FieldDefinitionNode,
    InputValueDefinitionNode,
    InterfaceTypeDefinitionNode,
    NamedTypeNode,
    NameNode,
    ObjectTypeDefinitionNode,
    StringValueNode,
    TypeDefinitionNode,
    TypeNode,
)
from strawberry.federation.schema_directives import Tag

PUBLIC, INTERNAL_TAG = "public", "internal"
# The directives that declare a type or field internal.
INTERNAL = [Tag(name=INTERNAL_TAG)]

T = TypeVar("T", TypeDefinitionNode, FieldDefinitionNode, InputValueDefinitionNode)
FieldsOwner = ObjectTypeDefinitionNode | InterfaceTypeDefinitionNode
Tagged = TypeDefinitionNode | FieldDefinitionNode | InputValueDefinitionNode


def tagged(document: DocumentNode) -> DocumentNode:
    """The subgraph SDL with `@tag(name: "public")` on every part not internal, and `internal`
    on the fields whose type is. A type with internal fields has its other fields and their
    arguments tagged one by one, as a type's tag would include all its fields."""
    internal_types = {
        each.name.value
        for each in document.definitions
        if isinstance(each, TypeDefinitionNode) and has_tag(each, INTERNAL_TAG)
    }
    definitions = tuple(
        tagged_definition(each, internal_types)
        if isinstance(each, TypeDefinitionNode) and each.name.value not in internal_types
        else each
        for each in document.definitions
    )
    return replace(document, definitions=definitions)


def tagged_definition(definition: TypeDefinitionNode, internal_types: set[str]) -> Any:
    """A type not internal, tagged: as a whole, or field by field where some are internal.
    Federation's own types (`_Service`, ...) are a gateway's, in no contract."""
    if definition.name.value.startswith("_"):
        return definition
    fields = (definition.fields or ()) if isinstance(definition, FieldsOwner) else ()
    internal = {field.name.value for field in fields if is_internal(field, internal_types)}
    if not internal:
        return with_tag(definition, PUBLIC)
    tagged_fields = tuple(tagged_field(field, internal) for field in fields)
    return replace(definition, fields=tagged_fields)  # type: ignore[call-arg]


def tagged_field(field: FieldDefinitionNode, internal: set[str]) -> FieldDefinitionNode:
    """A field of a type with internal fields, tagged with its arguments (unless it is one of
    federation's own, `_entities` and `_service`)."""
    name = field.name.value
    if name in internal:
        return with_tag(field, INTERNAL_TAG)
    if name.startswith("_"):
        return field
    arguments = (
        tuple(with_tag(argument, PUBLIC) for argument in field.arguments or ())
        if field.arguments
        else ()
    )
    return replace(with_tag(field, PUBLIC), arguments=arguments)


def is_internal(field: FieldDefinitionNode, internal_types: set[str]) -> bool:
    """Whether a field is declared internal or holds an internal type."""
    return has_tag(field, INTERNAL_TAG) or named_type(field.type) in internal_types


def named_type(type_node: TypeNode) -> str:
    """The name of the type a (list or non-null) type reference names."""
    while not isinstance(type_node, NamedTypeNode):
        type_node = type_node.type  # type: ignore[attr-defined]
    return type_node.name.value


def has_tag(node: Tagged, name: str) -> bool:
    """Whether the SDL node carries `@tag(name: <name>)`."""
    return any(
        directive.name.value == "tag"
        and any(
            getattr(argument.value, "value", None) == name for argument in directive.arguments or ()
        )
        for directive in node.directives or ()
    )


def with_tag(node: T, name: str) -> T:
    """The SDL node with `@tag(name: <name>)`."""
    if has_tag(node, name):
        return node
    return replace(node, directives=(*(node.directives or ()), directive("tag", name=name)))


def directive(name: str, /, **arguments: str) -> ConstDirectiveNode:
    """The SDL's `@<name>(<argument>: "<value>", ...)`."""
    return ConstDirectiveNode(
        name=NameNode(value=name),
        arguments=tuple(
            ConstArgumentNode(name=NameNode(value=argument), value=StringValueNode(value=value))
            for argument, value in arguments.items()
        ),
    )
