"""What a mutation returns: its result, or the typed user errors that refused it.

User errors are data, not exceptions: a refused mutation answers with its `errors` (and a
null result), and nothing was written. Only bugs and outages end up in the response's
top-level `errors`, masked.
"""

import enum
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

import strawberry

from resolvers.context import Info
from resolvers.mutations.problems import Problem, ProblemKind
from resolvers.mutations.validation import Values
from resolvers.mutations.write import Write, perform

T = TypeVar("T")


@strawberry.enum(description="The kind of a user error; each kind has an error type of its own.")
class UserErrorCode(enum.Enum):
    INVALID = strawberry.enum_value(
        ProblemKind.INVALID.value, description="An input value is not acceptable."
    )
    NOT_FOUND = strawberry.enum_value(
        ProblemKind.NOT_FOUND.value, description="An ID names nothing (that you may see)."
    )
    FORBIDDEN = strawberry.enum_value(
        ProblemKind.FORBIDDEN.value, description="You may not make this change."
    )
    CONFLICT = strawberry.enum_value(
        ProblemKind.CONFLICT.value, description="The change contradicts what is stored."
    )
    INVALID_TRANSITION = strawberry.enum_value(
        ProblemKind.INVALID_TRANSITION.value,
        description="The entry's status does not allow this step.",
    )


@strawberry.interface(description="Why a mutation was refused, in words a client can show.")
class UserError:
    message: str = strawberry.field(description="What is wrong, in English.")
    code: UserErrorCode = strawberry.field(description="The kind of error.")
    path: list[str] = strawberry.field(
        description='The argument concerned, e.g. `["input", "slug"]` or `["id"]`; `["input"]` '
        "for the input as a whole, empty for the mutation as a whole (a ForbiddenError, "
        "unless it names a field only the network office changes)."
    )


@strawberry.type(description="An input value is too long, malformed, out of range or missing.")
class ValidationError(UserError):
    pass


@strawberry.type(description="An ID names nothing, or nothing you may see.")
class NotFoundError(UserError):
    pass


@strawberry.type(
    description="The entry belongs to another part of the network than yours, or the field "
    "is one only the network office changes."
)
class ForbiddenError(UserError):
    pass


@strawberry.type(description="The change contradicts what is stored, e.g. a slug that is taken.")
class ConflictError(UserError):
    pass


@strawberry.type(
    description="An entry cannot take this step from its current status, e.g. a withdrawn "
    "application cannot be accepted, a former member cannot leave again."
)
class InvalidTransitionError(UserError):
    pass


ERROR_TYPES: dict[ProblemKind, type[UserError]] = {
    ProblemKind.INVALID: ValidationError,
    ProblemKind.NOT_FOUND: NotFoundError,
    ProblemKind.FORBIDDEN: ForbiddenError,
    ProblemKind.CONFLICT: ConflictError,
    ProblemKind.INVALID_TRANSITION: InvalidTransitionError,
}


def user_error(problem: Problem) -> UserError:
    """The GraphQL error type of a problem."""
    return ERROR_TYPES[problem.kind](
        message=problem.message, code=UserErrorCode(problem.kind.value), path=list(problem.path)
    )


@strawberry.type(
    description="What a mutation did: the entry as it is now, or the user errors that refused "
    "the mutation (then nothing was written)."
)
class Payload(Generic[T]):
    result: T | None = strawberry.field(
        description="The entry after the mutation; null when the mutation was refused."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the mutation was refused; empty when it succeeded."
    )


@strawberry.type(description="What a removal did, or the user errors that refused it.")
class RemovalPayload:
    removed_id: strawberry.ID | None = strawberry.field(
        description="The ID of the removed entry; null when the removal was refused."
    )
    errors: list[UserError] = strawberry.field(
        description="Why the removal was refused; empty when it succeeded."
    )


async def payload(info: Info, work: Callable[[Write], Awaitable[Any]]) -> Payload[Any]:
    """Run a mutation's `work` as one transaction; its result or its user errors."""
    outcome = await perform(info.context, info.field_name, work)
    return Payload(result=outcome.result, errors=[user_error(p) for p in outcome.problems])


async def removal(info: Info, work: Callable[[Write], Awaitable[str]]) -> RemovalPayload:
    """Run a removal's `work` (returning the removed ID) as one transaction."""
    outcome = await perform(info.context, info.field_name, work)
    return RemovalPayload(
        removed_id=strawberry.ID(outcome.result) if outcome.result else None,
        errors=[user_error(problem) for problem in outcome.problems],
    )


def given(input: Any) -> Values:
    """The fields an input gives, by name: those of its `strawberry.Maybe` fields the client
    sent (null included), and its plain fields that are not null (null leaves the column to
    its default)."""
    return {
        name: value.value if isinstance(value, strawberry.Some) else value
        for name, value in vars(input).items()
        if value is not None
    }
