"""Search over cities, actors, measures and funders: the hits ranked in one statement.

A row is a hit when its German full-text document matches the text as a web search, or every
word of the text as the beginning of a word, or (with pg_trgm) when the text is similar to a
part of its name. The documents are stored columns (`search_document`), which GIN indexes
index, as the trigram indexes index the names.

What a search costs is bounded: each way of matching takes at most MAX_CANDIDATES rows of
each kind from its index before any is ranked, so a text matching thousands of rows ranks a
few hundred, whatever the size of the network.
"""

import re
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLUnionType
from graphql.execution.collect_fields import FieldDetailsList
from sqlalchemy import (
    ColumnElement,
    Select,
    Subquery,
    bindparam,
    case,
    cast,
    func,
    literal,
    literal_column,
    null,
    or_,
    select,
    union_all,
)
from sqlalchemy.dialects.postgresql import DOUBLE_PRECISION, REGCONFIG, TSQUERY

import models
from resolvers.compiler import Compiler, NotCompilable, Values, unwrap
from resolvers.context import Context
from resolvers.errors import bad_input
from resolvers.pagination import Page, Window, offset_cursor
from resolvers.sources import SqlColumn

MAX_TEXT_LENGTH = 200
# Letters and digits only: what a word of tsquery syntax can be without quoting.
WORD = re.compile(r"[^\W_]+")

# Full-text ranks and trigram similarity are at most 1 each: an exact name outranks them all.
EXACT_NAME_BONUS = 3.0

# How many rows of each kind each way of matching (words, a similar name) hands on to be
# ranked, in the order its index finds them: a search ranks at most 8 times MAX_CANDIDATES hits.
MAX_CANDIDATES = 100

GERMAN = literal_column("'german'", REGCONFIG)


@dataclass(frozen=True)
class Searchable:
    """A table search covers; typos are tolerated in `name`."""

    model: Any
    name: SqlColumn

    @property
    def document(self) -> SqlColumn:
        """The row's stored full-text document: its names weighted above its description (a
        column of the table, not of the model: models.base.search_document_column)."""
        return self.model.__table__.c.search_document


# The kinds of hits, in the order that breaks ties between equally ranked hits.
SEARCHABLE = (
    Searchable(models.City, models.City.name),
    Searchable(models.Actor, models.Actor.name),
    Searchable(models.Measure, models.Measure.title),
    Searchable(models.Funder, models.Funder.name),
)


@dataclass(frozen=True)
class SearchText:
    """What a client searches for: the text, and its words.

    In SQL, the text and its words' beginnings are bind parameters of their own values, unless
    `text_sql` and `prefixes_sql` say otherwise: the compiled path's plans feed them from the
    request's variable, so that one plan serves every text.
    """

    text: str
    words: tuple[str, ...]
    text_sql: ColumnElement[str] | None = None
    prefixes_sql: ColumnElement[str] | None = None

    @classmethod
    def parse(cls, text: str) -> "SearchText":
        """The search text; empty, overlong or wordless text is the client's error."""
        text = text.strip()
        if not text:
            raise bad_input("The search text is empty.")
        if len(text) > MAX_TEXT_LENGTH:
            raise bad_input(f"The search text is longer than {MAX_TEXT_LENGTH} characters.")
        words = tuple(WORD.findall(text))
        if not words:
            raise bad_input("The search text holds no word (letters or digits).")
        return cls(text, words)

    @property
    def prefixes(self) -> str:
        """Every word as the beginning of a word, in tsquery syntax (`königs:* & winter:*`);
        words are letters and digits only, so they need no quoting."""
        return " & ".join(f"{word}:*" for word in self.words)

    @property
    def bound(self) -> ColumnElement[str]:
        """The text as a bound parameter."""
        if self.text_sql is not None:
            return self.text_sql
        # Unique: two texts in one statement (say, two filters) must not share one parameter.
        return bindparam("search_text", self.text, unique=True)

    @property
    def web_query(self) -> ColumnElement[Any]:
        """The text as a web search: words in any form, "phrases", `or`."""
        return func.websearch_to_tsquery(GERMAN, self.bound, type_=TSQUERY)

    @property
    def prefix_query(self) -> ColumnElement[Any]:
        """Every word as the beginning of a word, stemmed first: `Königs` finds Königswinter."""
        prefixes = self.prefixes_sql
        if prefixes is None:
            prefixes = bindparam("search_prefixes", self.prefixes, unique=True)
        return func.to_tsquery(GERMAN, prefixes, type_=TSQUERY)

    @property
    def words_query(self) -> ColumnElement[Any]:
        """The web search, or else every word as the beginning of a word."""
        return self.web_query.op("||", return_type=TSQUERY)(self.prefix_query)


SEARCHABLE_BY_MODEL = {table.model: table for table in SEARCHABLE}
KIND_BY_MODEL = {table.model: kind for kind, table in enumerate(SEARCHABLE)}


def matches_text(model: Any, text: str) -> ColumnElement[bool]:
    """SQL: the row's indexed document matches `text` as words or word beginnings.

    The `text` filters of the connections; search itself also ranks and tolerates typos.
    """
    document = SEARCHABLE_BY_MODEL[model].document
    return document.bool_op("@@")(SearchText.parse(text).words_query)


def _hits(kind: int, table: Searchable, text: SearchText, trigram: bool) -> list[Select[Any]]:
    """SELECT the kind, id and rank of the hits in one table, one SELECT per index, each of at
    most MAX_CANDIDATES rows: without an order, PostgreSQL ranks only the rows it returns."""
    words = text.words_query
    matches_words = table.document.bool_op("@@")(words)
    exact_name = case(
        (func.lower(table.name) == func.lower(text.bound), EXACT_NAME_BONUS), else_=0.0
    )
    # One rank for both queries: a whole word counts twice, as a word and as a prefix.
    rank = func.ts_rank(table.document, words) + exact_name
    if trigram:
        rank += func.similarity(table.name, text.bound)
    ranked = select(
        literal(kind).label("kind"),
        table.model.id.label("id"),
        # A double, not ts_rank's real: PostgreSQL writes a double into JSON with the same
        # digits as Python's repr of the value, so both read paths print the same rank.
        cast(rank, DOUBLE_PRECISION).label("rank"),
    )
    word_hits = ranked.where(matches_words).limit(MAX_CANDIDATES)
    if not trigram:
        return [word_hits]
    # The text is similar to a part of the name (word_similarity above pg_trgm's threshold, 0.6
    # by default), which the trigram index narrows down well, unlike `%`. Not OR-ed with the
    # words: PostgreSQL would recheck the whole OR for every candidate of either index.
    similar_name = text.bound.bool_op("<%")(table.name)
    # Typos are looked for only where the words leave room among the candidates: a trigram
    # index scan reads every row sharing the text's trigrams, however few it hands on.
    nth_word_hit = select(literal(1)).where(matches_words).offset(MAX_CANDIDATES - 1)
    room = ~nth_word_hit.correlate(None).exists()
    # OFFSET 0 plans the matching rows apart from the LIMIT: under it, PostgreSQL may take a
    # scan of the whole table that stops early for cheaper than the trigram index, wherever
    # it overestimates how many names are similar (it guesses thousands where none are).
    similar = ranked.where(room, similar_name, ~matches_words).offset(0).subquery()
    similar_hits = select(*similar.c).limit(MAX_CANDIDATES)
    return [word_hits, similar_hits]


def numbered_hits(text: SearchText, trigram: bool) -> Subquery:
    """Every hit, best first: (kind, id, rank, number from 1, total), for both read paths."""
    hits = union_all(
        *(hit for kind, table in enumerate(SEARCHABLE) for hit in _hits(kind, table, text, trigram))
    ).subquery("hits")
    best_first = (hits.c.rank.desc(), hits.c.kind, hits.c.id)
    return select(
        hits,
        func.row_number().over(order_by=best_first).label("number"),
        func.count().over().label("total"),
    ).subquery("numbered")


def search_statement(text: SearchText, window: Window, trigram: bool) -> Select[Any]:
    """One SELECT of the window's hits, best first, with the number of all hits.

    Rows come as (kind, id, rank, number from 1, total, in window); the best hit comes along
    even outside the window, carrying the total, as in `pagination.page_statement`.
    """
    numbered = numbered_hits(text, trigram)
    in_window = window.contains(numbered.c.number, numbered.c.total)
    return (
        select(numbered, in_window.label("in_window"))
        .where(or_(numbered.c.number == 1, in_window))
        .order_by(numbered.c.number)
    )


def plan_page(
    compiler: Compiler,
    field_def: Any,
    details: FieldDetailsList,
    text: SearchText,
    window: Window,
) -> Any:
    """The compiled read path's search connection: the window of the numbered hits, as JSON."""
    numbered = numbered_hits(text, compiler.features.trigram)
    total = func.max(numbered.c.total)
    return compiler.page(field_def, details, numbered, total, window, Values(numbered.c))


def plan_node(compiler: Compiler, field_def: Any, details: FieldDetailsList, hit: Values) -> Any:
    """The compiled read path's hit: the row of the hit's kind, as its union member selects it."""
    union = unwrap(field_def.type)
    if not isinstance(union, GraphQLUnionType):
        raise NotCompilable(union.name)
    branches = []
    for member in union.types:
        kind = KIND_BY_MODEL[compiler.model_of_type(member.name)]
        row = compiler.row_where(member, details, SEARCHABLE[kind].model.id, hit.row.id)
        branches.append((hit.row.kind == kind, row))
    return case(*branches, else_=null())


@dataclass(frozen=True)
class Hit:
    """One search result: the row found, and how well it matches (higher is better)."""

    row: Any
    rank: float


async def search(context: Context, text: SearchText, window: Window) -> Page:
    """The window's hits, best first; their rows load in one statement per kind."""
    page = Page(window.start)
    in_window = []
    for ranked in await context.rows(search_statement(text, window, context.features.trigram)):
        page.total = ranked.total
        if ranked.in_window:
            in_window.append(ranked)
    rows = await _load(context, [(ranked.kind, ranked.id) for ranked in in_window])
    page.rows = [
        (
            ranked.number - 1,
            Hit(rows[ranked.kind, ranked.id], ranked.rank),
            offset_cursor(ranked.number - 1),
        )
        for ranked in in_window
    ]
    return page


async def _load(context: Context, keys: list[tuple[int, Any]]) -> dict[tuple[int, Any], Any]:
    """The rows of (kind, id) keys, through the request's loaders: one statement per kind."""
    rows: dict[tuple[int, Any], Any] = {}
    for kind, table in enumerate(SEARCHABLE):
        ids = [row_id for key_kind, row_id in keys if key_kind == kind]
        if ids:
            loaded = await context.loaders.by_key(table.model.id).load_many(ids)
            rows.update(zip([(kind, row_id) for row_id in ids], loaded, strict=True))
    return rows
