"""The checked-in SDL is the schema; every type, field, argument and enum value is described."""

from collections.abc import Iterator
from pathlib import Path

from graphql import GraphQLNamedType, build_schema, find_breaking_changes

from schema import schema

SDL_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"


def test_checked_in_sdl_matches_the_schema() -> None:
    """On an intended change, run `engagement-hub schema > schema.graphql` and commit it."""
    assert SDL_FILE.read_text() == schema.as_str() + "\n"


def test_no_breaking_changes_against_the_checked_in_sdl() -> None:
    """A breaking change must be deliberate: it passes only once schema.graphql records it."""
    checked_in = build_schema(SDL_FILE.read_text())
    changes = find_breaking_changes(checked_in, schema._schema)
    assert [f"{change.type.name}: {change.description}" for change in changes] == []


def undescribed(graphql_type: GraphQLNamedType) -> Iterator[str]:
    """The names of the type's parts that lack a description."""
    name = graphql_type.name
    if not graphql_type.description:
        yield name
    for field_name, field in getattr(graphql_type, "fields", {}).items():
        if not field.description:
            yield f"{name}.{field_name}"
        for argument_name, argument in getattr(field, "args", {}).items():
            if not argument.description:
                yield f"{name}.{field_name}({argument_name})"
    for value_name, value in getattr(graphql_type, "values", {}).items():
        if not value.description:
            yield f"{name}.{value_name}"


# GraphQL's scalars, and Apollo Federation's types of its directives' arguments (`@key`, `@link`).
NOT_OWN = {"String", "Int", "Float", "Boolean", "ID", "_FieldSet", "link__Import", "link__Purpose"}


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    own_types = [
        graphql_type
        for name, graphql_type in schema._schema.type_map.items()
        if not name.startswith("__") and name not in NOT_OWN
    ]
    assert [part for graphql_type in own_types for part in undescribed(graphql_type)] == []


def paging_arguments() -> Iterator[tuple[str, str, str]]:
    """Each paging argument of the schema (`first`, `after`, `last`, `before`) as its field's
    coordinate, its name and its description."""
    for type_name, graphql_type in schema._schema.type_map.items():
        for field_name, field in getattr(graphql_type, "fields", {}).items():
            for name, argument in getattr(field, "args", {}).items():
                if name in ("first", "after", "last", "before"):
                    yield f"{type_name}.{field_name}", name, argument.description or ""


def test_every_paging_argument_says_what_it_does() -> None:
    """Each description names its own argument's direction (strawberry's said of `last` that
    it returns the items after the cursor), and none is strawberry's wording."""
    arguments = list(paging_arguments())
    assert len({coordinate for coordinate, _, _ in arguments}) > 30
    wrong = [
        f"{coordinate}({name}): {description}"
        for coordinate, name, description in arguments
        if name not in description or "specified cursor" in description
    ]
    assert wrong == []
