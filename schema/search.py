"""The search root field: cities, actors, measures and funders in one ranked list."""

from dataclasses import replace
from typing import Annotated, Any, Self

import strawberry
from graphql import GraphQLError
from graphql.execution.collect_fields import FieldDetailsList
from sqlalchemy import BindParameter

from resolvers import search as sql
from resolvers.compiler import Compiler, NotCompilable
from resolvers.context import Info
from resolvers.pagination import Page, Window
from resolvers.plans import RefusedValue
from resolvers.sources import SOURCE, Planned
from schema.connections import PageInfo, page_info_of
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
    node: SearchResult = strawberry.field(
        description="The city, actor, measure or funder found.",
        metadata={SOURCE: Planned(sql.plan_node)},
    )
    rank: float = strawberry.field(
        description="How well the hit matches the text, higher is better; comparable only "
        "within one search."
    )


@strawberry.type(description="A page of search hits, best first, with the total count.")
class SearchConnection:
    page_info: PageInfo = strawberry.field(description="Where this page lies among the hits.")
    edges: list[SearchEdge] = strawberry.field(description="The hits of this page, best first.")
    total_count: int = strawberry.field(
        description="How many hits there are, across all pages: at most "
        f"{sql.MAX_CANDIDATES} of each kind per way of matching (see `search`)."
    )

    @classmethod
    def from_page(cls, page: Page) -> Self:
        """The connection of a page of `resolvers.search.Hit`s."""
        edges = [
            SearchEdge(cursor=cursor, node=hit.row, rank=hit.rank) for _, hit, cursor in page.rows
        ]
        return cls(edges=edges, page_info=page_info_of(page), total_count=page.total)


def search_arguments(
    text: str, first: int | None, after: str | None, last: int | None, before: str | None
) -> tuple[sql.SearchText, Window]:
    """The text and window of a search, alike on both read paths; bad ones are the client's
    error."""
    search_text = sql.SearchText.parse(text)
    window = Window.from_arguments(
        None,  # type: ignore[arg-type]  # read only for a default of max_results
        first=first,
        after=after,
        last=last,
        before=before,
        max_results=MAX_PAGE_SIZE,
    )
    return search_text, window


def plan_search(compiler: Compiler, field_def: Any, details: FieldDetailsList, _parent: Any) -> Any:
    """The compiled read path's `search`; bad arguments leave it to the resolver, which raises
    their error, located and in its place."""
    arguments = compiler.arguments(field_def, details)
    try:
        text, window = search_arguments(
            arguments["text"],
            first=arguments.get("first"),
            after=arguments.get("after"),
            last=arguments.get("last"),
            before=arguments.get("before"),
        )
    except GraphQLError as error:
        raise NotCompilable(error.message) from None
    # One plan for every text a variable gives: the text and its words' beginnings are fed
    # to the plan on each run, and a text the resolvers would refuse leaves the run to them.
    text_sql = compiler.bound_argument(field_def, details, "text", lambda value: valid(value).text)
    prefixes_sql = compiler.bound_argument(
        field_def, details, "text", lambda value: valid(value).prefixes
    )
    if isinstance(text_sql, BindParameter):
        text = replace(text, text_sql=text_sql, prefixes_sql=prefixes_sql)
    return sql.plan_page(compiler, field_def, details, text, window)


def valid(text: str) -> sql.SearchText:
    """The search text a variable gives, refused for the compiled path where it is invalid."""
    try:
        return sql.SearchText.parse(text)
    except GraphQLError:
        raise RefusedValue(text) from None


@strawberry.type(description="Search across the network.")
class SearchQuery:
    @strawberry.field(
        description="Cities, actors, measures and funders matching the text, best first (an "
        "exact name first of all). Words match in any form (`Ehrenamtliche` finds `Ehrenamt`) "
        'and as beginnings of words (`Königs` finds Königswinter); `"..."` matches a phrase '
        "and `or` either side. Names also match with typos (`Königswintr`) where the database "
        "has the pg_trgm extension. Of a text matching many rows, the first "
        f"{sql.MAX_CANDIDATES} of each kind its index finds are ranked, and as many with "
        "similar names where the words found fewer: a search costs the same in a network of "
        "any size.",
        metadata={SOURCE: Planned(plan_search)},
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
        search_text, window = search_arguments(
            text, first=first, after=after, last=last, before=before
        )
        return SearchConnection.from_page(await sql.search(info.context, search_text, window))
