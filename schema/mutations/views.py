"""Writes of saved views: the network office saves (or replaces) and removes them."""

from typing import Annotated

import strawberry

from resolvers.context import Info
from resolvers.mutations import views
from schema.mutations.payloads import Payload, RemovalPayload, given, payload, removal
from schema.types import described
from schema.views import SavedView


@strawberry.input(
    description="A view to save; a view of the same name is replaced (its description too)."
)
class SaveViewInput:
    name: str = described(
        "The view's name in its URL (`/views/<name>`): lower-case letters and digits in words "
        "joined by hyphens."
    )
    query: str = described(
        "Exactly one query operation, valid in this schema; its variables come from the "
        "view's query string."
    )
    description: str = strawberry.field(default="", description="What the view shows.")


@strawberry.input(description="The view to remove.")
class RemoveViewInput:
    name: str = described("The view's name.")


@strawberry.type(description="Writes of saved views (the network office).")
class ViewMutation:
    @strawberry.mutation(description="Save a view, or replace the view of the same name.")
    async def save_view(
        self,
        info: Info,
        input: Annotated[SaveViewInput, strawberry.argument(description="The view.")],
    ) -> Payload[SavedView]:
        # The view's query is checked against the schema that runs it.
        graphql_schema = info.schema._schema
        return await payload(
            info, lambda write: views.save_view(write, given(input), graphql_schema)
        )

    @strawberry.mutation(description="Remove a saved view; its URL answers 404 from then on.")
    async def remove_view(
        self,
        info: Info,
        input: Annotated[RemoveViewInput, strawberry.argument(description="The view.")],
    ) -> RemovalPayload:
        return await removal(info, lambda write: views.remove_view(write, given(input)))
