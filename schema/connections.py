"""The Relay connection type: edges, pageInfo and totalCount, paginated in SQL."""

from typing import Any, Self

import strawberry
from strawberry import relay

from resolvers.context import Info
from resolvers.pagination import Page, Window


@strawberry.type(description="A page of a list, with cursors to move on and the total count.")
class Connection(relay.Connection[relay.NodeType]):
    total_count: int = strawberry.field(
        description="How many items the whole list holds, across all pages."
    )

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
        window = Window.from_arguments(
            info, first=first, after=after, last=last, before=before, max_results=max_results
        )
        page = await nodes.page(info, window)
        edges = [relay.Edge(cursor=page.cursor(offset), node=row) for offset, row in page.rows]
        return cls(edges=edges, page_info=page_info_of(page), total_count=page.total)


def page_info_of(page: Page) -> relay.PageInfo:
    """Relay's page info of a page: whether more lies either side, and the end cursors."""
    offsets = [offset for offset, _ in page.rows]
    return relay.PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.cursor(offsets[0]) if offsets else None,
        end_cursor=page.cursor(offsets[-1]) if offsets else None,
    )
