"""The search root field: cities, actors, measures and funders in one ranked list."""

from typing import Annotated, Self

import strawberry
from strawberry import relay

from resolvers import search as sql
from resolvers.context import Info
from resolvers.pagination import Page, Window
from schema.connections import page_info_of
from schema.fields import MAX_PAGE_SIZE
from schema.types import Actor, City, Funder, Measure

SearchResult = Annotated[
    City | Actor | Measure | Funder,
    strawberry.union(
        "SearchResult", description="What search finds: a city, an actor, a measure or a funder."
    ),
]


@strawberry.type(description="A search hit, with its cursor and how well it matches.")
class SearchEdge:
    cursor: str = strawberry.field(
        description="Where the hit lies in the list, for `after`/`before`."
    )
    node: SearchResult = strawberry.field(description="The city, actor, measure or funder found.")
    rank: float = strawberry.field(
        description="How well the hit matches the text, higher is better; comparable only "
        "within one search."
    )


@strawberry.type(description="A page of search hits, best first, with the total count.")
class SearchConnection:
    page_info: relay.PageInfo = strawberry.field(description="Where this page lies among the hits.")
    edges: list[SearchEdge] = strawberry.field(description="The hits of this page, best first.")
    total_count: int = strawberry.field(description="How many hits there are, across all pages.")

    @classmethod
    def from_page(cls, page: Page) -> Self:
        """The connection of a page of `resolvers.search.Hit`s."""
        edges = [
            SearchEdge(cursor=page.cursor(offset), node=hit.row, rank=hit.rank)
            for offset, hit in page.rows
        ]
        return cls(edges=edges, page_info=page_info_of(page), total_count=page.total)


@strawberry.type(description="Search across the network.")
class SearchQuery:
    @strawberry.field(
        description="Cities, actors, measures and funders matching the text, best first (an "
        "exact name first of all). Words match in any form (`Ehrenamtliche` finds `Ehrenamt`) "
        'and as beginnings of words (`Königs` finds Königswinter); `"..."` matches a phrase '
        "and `or` either side. Names also match with typos (`Königswintr`) where the database "
        "has the pg_trgm extension."
    )
    async def search(
        self,
        info: Info,
        text: Annotated[
            str,
            strawberry.argument(
                description="What to look for: words or a name, at most "
                f"{sql.MAX_TEXT_LENGTH} characters."
            ),
        ],
        first: Annotated[int | None, strawberry.argument(description="The first n hits.")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="The hits after this cursor.")
        ] = None,
        last: Annotated[int | None, strawberry.argument(description="The last n hits.")] = None,
        before: Annotated[
            str | None, strawberry.argument(description="The hits before this cursor.")
        ] = None,
    ) -> SearchConnection:
        search_text = sql.SearchText.parse(text)
        window = Window.from_arguments(
            info, first=first, after=after, last=last, before=before, max_results=MAX_PAGE_SIZE
        )
        return SearchConnection.from_page(await sql.search(info.context, search_text, window))
