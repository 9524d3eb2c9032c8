"""Mutation fields of the shapes most mutations share: taking an `input`, taking the `id` of
an entry and an `input`, or removing the entry of an `id`.

Each gets a generated resolver that runs the write in one transaction and turns its outcome
into a payload; the signature is built here because each names its own input type, and
strawberry reads the arguments from it (as for connections, `schema.fields`).
"""

import inspect
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import strawberry

from resolvers.context import Info
from resolvers.mutations.validation import Values
from resolvers.mutations.write import Write
from schema.mutations.payloads import Payload, RemovalPayload, given, payload, removal

OnInput = Callable[[Write, Values], Awaitable[Any]]
OnEntry = Callable[[Write, str, Values], Awaitable[Any]]
Remove = Callable[[Write, str], Awaitable[str]]


def id_argument(type_name: str) -> inspect.Parameter:
    """The `id` argument naming the entry an update or removal concerns."""
    return argument("id", strawberry.ID, f"The ID of the {type_name} to change.")


def input_argument(input_type: type) -> inspect.Parameter:
    """The `input` argument with the entry's fields."""
    return argument("input", input_type, "The fields to write.")


def on_input(work: OnInput, result_type: type, input_type: type, description: str) -> Any:
    """A mutation doing `work` with the fields its `input` gives."""

    async def resolve(info: Info, input: Any) -> Payload[Any]:
        return await payload(info, lambda write: work(write, given(input)))

    return mutation(resolve, [input_argument(input_type)], Payload[result_type], description)  # type: ignore[valid-type]


def on_entry(work: OnEntry, result_type: type, input_type: type, description: str) -> Any:
    """A mutation doing `work` on the entry `id` names, with the fields its `input` gives."""

    async def resolve(info: Info, id: str, input: Any) -> Payload[Any]:
        return await payload(info, lambda write: work(write, id, given(input)))

    arguments = [id_argument(result_type.__name__), input_argument(input_type)]
    return mutation(resolve, arguments, Payload[result_type], description)  # type: ignore[valid-type]


def removing(work: Remove, node_type: type, description: str) -> Any:
    """A mutation removing the entry `id` names."""

    async def resolve(info: Info, id: str) -> RemovalPayload:
        return await removal(info, lambda write: work(write, id))

    return mutation(resolve, [id_argument(node_type.__name__)], RemovalPayload, description)


def mutation(
    resolve: Callable[..., Any], arguments: list[inspect.Parameter], result: Any, description: str
) -> Any:
    """A mutation field resolved by `resolve`, taking `arguments`."""
    info = inspect.Parameter("info", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Info)
    resolve.__signature__ = inspect.Signature([info, *arguments])  # type: ignore[attr-defined]
    return strawberry.mutation(resolver=resolve, graphql_type=result, description=description)


def argument(name: str, annotation: Any, description: str) -> inspect.Parameter:
    """A required, described GraphQL argument of a generated resolver."""
    described = Annotated[annotation, strawberry.argument(description=description)]
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=described)
