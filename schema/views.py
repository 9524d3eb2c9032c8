"""Saved views, as the network office reads them: named queries answering at /views/<name>.

Views are no Relay nodes and have no SQL source for the compiled read path: they are read
through the network office's `savedViews` list only (and returned by their own mutations).
"""

from datetime import datetime

import strawberry
from strawberry.relay import to_base64

import models as m
from resolvers.sources import Relation
from schema.contracts import INTERNAL
from schema.fields import office_connection
from schema.types import described


@strawberry.type(
    description="A saved view: a named query operation that answers at `GET /views/<name>` "
    "as JSON or CSV, its variables taken from the query string.",
    directives=INTERNAL,
)
class SavedView:
    name: str = described("The view's name in its URL, e.g. `cities-of-a-state`.")
    description: str = described("What the view shows.")
    query: str = described("The query operation the view runs.")
    saved_at: datetime = described("When the view was saved or last changed.")

    @strawberry.field(description="The view's ID, as the audit log names it.")
    def id(self, root: strawberry.Parent[m.SavedView]) -> strawberry.ID:
        return strawberry.ID(to_base64("SavedView", root.id))


@strawberry.type(description="Saved views, for the network office.")
class ViewsQuery:
    saved_views = office_connection(
        Relation(m.SavedView, order_by=(m.SavedView.name,)),
        SavedView,
        "The saved views, by name (the network office only).",
        None,
    )
