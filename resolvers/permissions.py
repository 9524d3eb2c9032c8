"""Field permissions: fields only some viewers may see (personal data, confidential amounts).

A guarded field resolves to null with a FORBIDDEN error for viewers its rule does not admit.
The rule (resolvers/access.py) is a condition on the field's row: the resolver path asks the
database which rows of the request pass it, in one batched statement per rule, and the
compiled read path puts the same condition into its one statement.
"""

from functools import partial
from typing import Any

from graphql import GraphQLError, Source
from sqlalchemy import ColumnElement, False_, True_, select
from strawberry.extensions import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

from resolvers.access import ReadRule, Viewer
from resolvers.context import Context, Info

FORBIDDEN_MESSAGE = "You may not see this field."
FORBIDDEN = {"code": "FORBIDDEN"}
# The compiled read path writes `{"$forbidden": <offset of the field in the document>}` where
# a viewer may not see a field: `$` cannot start a GraphQL name, so no response key is this.
FORBIDDEN_KEY = "$forbidden"
FORBIDDEN_MARKER = f'{{"{FORBIDDEN_KEY}" :'.encode()
# In a field's metadata: only the network office reads the field (schema.fields.office_connection).
OFFICE_ONLY = "office_only"


class Sees(BasePermission):
    """Only viewers whom `rule` admits for the field's row of `model` see the field."""

    message = FORBIDDEN_MESSAGE
    error_extensions = FORBIDDEN

    def __init__(self, model: Any, rule: ReadRule) -> None:
        self.model = model
        self.rule = rule

    async def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        condition = self.rule(info.context.viewer)
        if isinstance(condition, True_ | False_):
            return isinstance(condition, True_)
        key = self.model.__mapper__.primary_key[0]
        load = partial(admitted, info.context, key, condition)
        loader = info.context.loaders.loader(("sees", self.rule), load)
        return bool(await loader.load(getattr(source, key.key)))


async def admitted(
    context: Context, key: Any, condition: ColumnElement[bool], keys: list[Any]
) -> list[bool]:
    """Whether the rows of `keys` meet `condition`, in one statement."""
    passing = {row[0] for row in await context.rows(select(key).where(key.in_(keys), condition))}
    return [value in passing for value in keys]


def guarded(model: Any, rule: ReadRule) -> list[FieldExtension]:
    """The extensions of a field only viewers admitted by `rule` see."""
    return [PermissionExtension([Sees(model, rule)], use_directives=False)]


def guard_of(field: Any) -> Sees | None:
    """The permission guarding a strawberry field, if any."""
    for extension in field.extensions:
        if isinstance(extension, PermissionExtension):
            for permission in extension.permissions:
                if isinstance(permission, Sees):
                    return permission
    return None


def never_sees(viewer: Viewer, field: Any) -> bool:
    """Whether `viewer` may see nothing of a strawberry field, whatever the data: a field only
    the network office reads, for the others; a guarded field whose rule admits no row."""
    if field.metadata.get(OFFICE_ONLY):
        return not viewer.is_admin
    guard = guard_of(field)
    return guard is not None and isinstance(guard.rule(viewer), False_)


def without_forbidden(data: Any, source: Source) -> tuple[Any, list[GraphQLError]]:
    """`data` with the compiled path's markers of forbidden fields made null, and the FORBIDDEN
    errors the resolver path reports for them, in the order of the data."""
    errors: list[GraphQLError] = []

    def visit(value: Any, path: list[str | int]) -> Any:
        if isinstance(value, dict):
            if value.keys() == {FORBIDDEN_KEY}:
                errors.append(forbidden_error(source, value[FORBIDDEN_KEY], path))
                return None
            return {key: visit(item, [*path, key]) for key, item in value.items()}
        if isinstance(value, list):
            return [visit(item, [*path, index]) for index, item in enumerate(value)]
        return value

    return visit(data, []), errors


def forbidden_error(source: Source, position: int, path: list[str | int]) -> GraphQLError:
    """The error of a field the viewer may not see, as the permission raises it."""
    return GraphQLError(
        FORBIDDEN_MESSAGE, source=source, positions=[position], path=path, extensions=FORBIDDEN
    )
