"""The Relay connection type: edges, pageInfo and totalCount, paginated in SQL."""

from typing import Any, Self

import strawberry
from strawberry import relay

from resolvers.context import Info
from resolvers.pagination import Keyset, Page


@strawberry.federation.type(
    name="PageInfo", shareable=True, description="Information to aid in pagination."
)
class PageInfo(relay.PageInfo):
    """Relay's page info, shareable: other subgraphs of a supergraph have theirs too, and a
    gateway may take it from any of them."""


@strawberry.type(description="A page of a list, with cursors to move on and the total count.")
class Connection(relay.Connection[relay.NodeType]):
    page_info: PageInfo = strawberry.field(description="Pagination data for this connection")
    total_count: int = strawberry.field(
        description="How many items the whole list holds, across all pages."
    )
    # The field's ConnectionRequest: the whole list, for its aggregates (schema/aggregates.py).
    rows_request: strawberry.Private[Any] = None

    @classmethod
    async def resolve_connection(
        cls,
        nodes: Any,
        *,
        info: Info,
        before: str | None = None,
        after: str | None = None,
        first: int | None = None,
        last: int | None = None,
        max_results: int | None = None,
        **kwargs: Any,
    ) -> Self:
        """Fetch the page the arguments ask for; `nodes` is the field's ConnectionRequest."""
        keyset = Keyset.from_arguments(
            nodes.key,
            first=first,
            after=after,
            last=last,
            before=before,
            max_results=max_results or info.schema.config.relay_max_results,
        )
        page = await nodes.page(info, keyset)
        edges = [relay.Edge(cursor=cursor, node=row) for _, row, cursor in page.rows]
        return cls(
            edges=edges,
            page_info=page_info_of(page),
            total_count=page.total,
            rows_request=nodes,
        )


def page_info_of(page: Page) -> PageInfo:
    """Relay's page info of a page: whether more lies either side, and the end cursors."""
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.rows[0][2] if page.rows else None,
        end_cursor=page.rows[-1][2] if page.rows else None,
    )
