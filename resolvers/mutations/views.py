"""Saved views: the network office saves (or replaces) and removes them by name.

A view is checked as the command line checks it (`hub.views.view_problems`): a query that
does not parse, is not one query operation or does not fit the schema is a user error.
"""

from graphql import GraphQLSchema
from sqlalchemy import select
from strawberry.relay import to_base64

import models as m
from hub.views import view_problems
from resolvers.access import OFFICE
from resolvers.mutations.problems import Rejected, not_found, refuse_any
from resolvers.mutations.validation import Values, field_path
from resolvers.mutations.write import Write

OFFICE_ONLY = "Only the network office saves and removes views."
NAME = field_path("name")


async def save_view(write: Write, values: Values, graphql_schema: GraphQLSchema) -> m.SavedView:
    """The view named `name`, new or replaced by the query and description `values` give."""
    write.allow(OFFICE, OFFICE_ONLY)
    refuse_any(view_problems(values, graphql_schema))
    stored = await stored_view(write, values["name"])
    if stored is None:
        return await write.add(m.SavedView(**values), values)
    return await write.change(stored, values)


async def remove_view(write: Write, values: Values) -> str:
    """Remove the view named `name`; its ID."""
    write.allow(OFFICE, OFFICE_ONLY)
    stored = await stored_view(write, values["name"])
    if stored is None:
        raise Rejected(not_found(NAME, "No view has this name."))
    removed_id = to_base64("SavedView", stored.id)
    await write.remove(stored, NAME)
    return removed_id


async def stored_view(write: Write, name: str) -> m.SavedView | None:
    """The view saved under `name`, if any."""
    return await write.session.scalar(select(m.SavedView).where(m.SavedView.name == name))
