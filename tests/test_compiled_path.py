"""The compiled read path answers exactly as the resolver path does: same data, same errors."""

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import event, given
from hypothesis import strategies as st
from sqlalchemy import literal, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hub.config import Settings
from hub.database import asyncpg_dsn, create_engine, create_read_pool, session_factory
from hub.features import detect
from models import City, Funder, Funding, Role
from resolvers.context import Context
from resolvers.executor import PLANS
from schema import schema
from server import create_app
from tests.conftest import sessions_on
from tests.factories import add_key
from tests.generated_queries import cursor, queries
from tests.helpers import property_settings
from tests.test_read_api import TRAVERSALS

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "queries"

# Queries the compiler plans, each exercising a different part of it.
COMPILED = {
    "lookup with nested to-one, list and computed": (
        """{ city(slug: "dessau-rosslau") { id name kind population latitude longitude status
            joinedOn state { code isoCode partnership { institution startsOn } }
            localNetwork { name composition sectorCount sectors { code labelDe labelEn }
              coordinator { name role } } } }""",
        {},
    ),
    "aliases, fragments, typename and directives": (
        """query($skip: Boolean!, $with: Boolean!) {
            a: city(slug: "koenigswinter") { ...C __typename }
            b: city(slug: "apolda") { ... on City { n: name, s: state { c: code } } }
            c: city(slug: "apolda") { name @skip(if: $skip) slug @include(if: $with) } }
          fragment C on City { name alias: slug state { ...S } }
          fragment S on State { code name }""",
        {"skip": True, "with": True},
    ),
    "unknown lookup is null": (
        '{ city(slug: "atlantis") { name } funder(slug: "x") { name } }',
        {},
    ),
    "state lookup in any case": ('{ state(code: "rp") { code cities { totalCount } } }', {}),
    "forward page with cursors": (
        """query($after: String) { cities(first: 7, after: $after) { totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor __typename }
            edges { cursor node { name } __typename } __typename } }""",
        {"after": cursor("Query.cities", "D", "0")},
    ),
    "forward pages without edge cursors": (
        """query($m: String, $t: String) { m: cities(first: 4, after: $m) { totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { node { name } } }
          t: cities(first: 3, after: $t, orderBy: POPULATION_DESC) {
            pageInfo { startCursor endCursor } edges { node { name localNetwork {
              actors(first: 2) { pageInfo { hasNextPage endCursor }
              edges { node { name } } } } } } } }""",
        {
            "m": cursor("Query.cities", "C", "0"),
            "t": cursor("Query.cities:population_desc", "100000", "A", "0"),
        },
    ),
    "backward page": (
        """query($before: String) { cities(last: 3, before: $before) {
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor node { slug } } } }""",
        {"before": cursor("Query.cities", "M", "0")},
    ),
    "last of the whole list, and an empty page": (
        """query($end: String) {
            l: cities(last: 2) { pageInfo { hasNextPage hasPreviousPage } edges { node { name } } }
            e: cities(first: 0) { totalCount pageInfo { hasNextPage hasPreviousPage startCursor
              endCursor } edges { node { name } } }
            b: cities(first: 5, after: $end) { totalCount
              pageInfo { hasNextPage hasPreviousPage } edges { node { name } } } }""",
        {"end": cursor("Query.cities", "zzz", "0")},
    ),
    "variables for page and filter": (
        """query($n: Int, $f: CityFilter, $o: CityOrder) {
            cities(first: $n, filter: $f, orderBy: $o) { totalCount edges { node {
              name population joinedOn } } } }""",
        {"n": 15, "f": {"states": ["nw", "HE"], "kinds": ["CITY"]}, "o": "POPULATION_DESC"},
    ),
    "every city filter": (
        """{ a: cities(filter: {sectorsPresent: [SCIENCE]}) { totalCount edges { node { slug } } }
            b: cities(filter: {compositions: [MULTISECTORAL]}) { totalCount }
            c: cities(filter: {joinedFrom: "2020-01-01", joinedUntil: "2021-12-31"},
                      orderBy: JOINED_ON_DESC) { edges { node { slug joinedOn } } }
            d: cities(filter: {text: "Königs"}) { edges { node { slug } } }
            e: cities(filter: {near: {lat: 51.05, lon: 13.74, radiusKm: 80}, statuses: [MEMBER]})
              { edges { node { slug } } } }""",
        {},
    ),
    "nested connections with filters": (
        """{ states { code cities(first: 2, orderBy: JOINED_ON) { edges { node { name
            localNetwork { actors(first: 3, filter: {sectors: [BUSINESS, MEDIA]}) { totalCount
              edges { cursor node { name sector { code } measures(first: 1) { totalCount } } } }
            measures(filter: {activeFrom: "2023-01-01", themes: ["jugend", "kultur"]}) {
              totalCount edges { node { title theme { slug } actors { totalCount } } } }
            goals(first: 2) { edges { node { title measures { totalCount } } } } } } } } } }""",
        {},
    ),
    "funders and fundings with amounts": (
        """{ funders(first: 30, filter: {kinds: [FOUNDATION, PUBLIC_BODY], states: ["RP"]}) {
            edges { node { slug kind scope states { code } themes { slug }
              fundings(first: 3, orderBy: AMOUNT_DESC, filter: {contributionTypes: [FINANCIAL]}) {
                totalCount edges { node { title amountEur amountConfidential startsOn endsOn
                  recipientKind city { slug state { code } } theme { slug } } } }
              cities(first: 2) { totalCount edges { node { slug } } } } } }
            fundings(first: 20, filter: {recipientStates: ["BY"], minAmountEur: "1000",
                     activeUntil: "2022-12-31"}) { totalCount edges { node { title } } } }""",
        {},
    ),
    "partner cities, working groups and themes": (
        """{ workingGroups { totalCount edges { node { slug theme { nameDe }
            memberCities(first: 4) { edges { node { slug partnerCities { edges { node {
              slug funders(first: 2) { edges { node { slug } } } } } } } } } } } }
            themes(first: 3) { edges { node { slug funders { totalCount } fundings(first: 1) {
              edges { node { title } } } workingGroups { totalCount } } } }
            sectors { code actors(first: 2, filter: {roles: [COORDINATOR]}) { totalCount
              edges { node { slug localNetwork { city { slug } } } } } } }""",
        {},
    ),
    "union recipients of every kind": (
        """{ fundings(first: 60, orderBy: STARTS_ON) { edges { node { recipientKind
            recipient { __typename ... on LocalNetwork { name city { slug } }
              ... on Measure { title } ... on StatePartnership { institution state { code } } }
            } } } }""",
        {},
    ),
    "nodes by global ID": (
        """{ node(id: "Q2l0eToxMA==") { id __typename ... on City { name } }
            nodes(ids: ["U3RhdGU6Tlc=", "Q2l0eTo5OTk5OTk=", "RnVuZGVyOjM="]) {
              id ... on State { code cities { totalCount } } ... on Funder { slug } } }""",
        {},
    ),
    "search": ('{ search(text: "Bürgerstiftung", first: 3) { totalCount } }', {}),
    "search hits of every kind, with aliases and fragments": (
        """query($text: String!) { hits: search(text: $text) { total: totalCount
            pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
            edges { cursor rank score: rank __typename node { __typename ...Named
              ... on City { slug state { code } } ... on Actor { sector { code } }
              ... on Measure { title theme { slug } } ... on Funder { shortName } } } } }
          fragment Named on SearchResult { ... on City { name } ... on Actor { name }
            ... on Funder { name } }""",
        {"text": "Weinheim"},
    ),
    "search pages after a cursor and from the end": (
        """{ a: search(text: "Familie", first: 4, after: "YXJyYXljb25uZWN0aW9uOjM=") {
              totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
              edges { cursor rank node { ... on Measure { slug } ... on Actor { slug } } } }
            l: search(text: "Familie", last: 3) { pageInfo { hasNextPage hasPreviousPage
              startCursor } edges { cursor node { __typename } } }
            b: search(text: "Familie", last: 2, before: "YXJyYXljb25uZWN0aW9uOjU=") {
              edges { cursor rank } } }""",
        {},
    ),
    "search by prefix, typo and exact name, and without hits": (
        """{ p: search(text: "Königs", first: 5) { edges { rank node { ... on City { name } } } }
            t: search(text: "Königswintr", first: 2) { totalCount edges { rank } }
            x: search(text: "DSEE") { edges { rank node { ... on Funder { slug } } } }
            n: search(text: "Xylophonquartett") { totalCount pageInfo { hasNextPage
              startCursor } edges { cursor node { __typename } } } }""",
        {},
    ),
    # PostgreSQL's column names hold 63 bytes: an object with a longer key is built otherwise.
    "response keys as long as a column name and longer": (
        f"""{{ states {{ {"a" * 63}: code }}
            cities(first: 2) {{ edges {{ node {{ {"b" * 64}: name
              state {{ {"a" * 63}: name }} }} }} }}
            c: cities(first: 2) {{ edges {{ {"c" * 64}: node {{ name }} }} }} }}""",
        {},
    ),
    "root lists and lookups of every kind": (
        """{ states { code name nameEn capital } statePartnerships { institution state { code } }
            actor(slug: "freiwilligenagentur-apolda") { name website organisationType }
            theme(slug: "jugend") { nameEn } workingGroup(slug: "x") { name }
            measures(first: 5) { edges { node {
              slug title goal { title } localNetwork { name } } } }
            actors(first: 5, filter: {text: "Stiftung"}) { totalCount } }""",
        {},
    ),
    "federation entities of every type and key, unknown keys, mixed and repeated": (
        """query($r: [_Any!]!) { _entities(representations: $r) { __typename
            ... on City { id slug state { code } localNetwork { name } }
            ... on State { code cities(first: 2) { totalCount edges { node { slug } } } }
            ... on LocalNetwork { name composition actors(first: 1) { edges { node { slug } } } }
            ... on Actor { name sector { code } } ... on Measure { title theme { slug } }
            ... on Funder { slug kind fundings(first: 2) { totalCount } }
            ... on Funding { title amountEur recipient { __typename } }
            ... on Goal { title goalNetwork: localNetwork { name } }
            ... on Sector { sectorCode: code labelEn } ... on Theme { slug }
            ... on WorkingGroup { slug memberCities { totalCount } }
            ... on StatePartnership { institution state { code } } } }""",
        {
            "r": [
                {"__typename": "City", "id": "Q2l0eToxMA=="},
                {"__typename": "Funder", "slug": "koerber-stiftung"},
                {"__typename": "City", "slug": "apolda"},
                {"__typename": "State", "code": "BY"},
                {"__typename": "LocalNetwork", "id": "TG9jYWxOZXR3b3JrOjM="},
                {"__typename": "Actor", "id": "QWN0b3I6MTA="},
                {"__typename": "Measure", "id": "TWVhc3VyZToy"},
                {"__typename": "Funder", "id": "RnVuZGVyOjM="},
                {"__typename": "Funding", "id": "RnVuZGluZzox"},
                {"__typename": "City", "slug": "atlantis"},
                {"__typename": "City", "id": "Q2l0eTo5OTk5OTk="},
                {"__typename": "Actor", "id": "QWN0b3I6OTk5OTk5"},
                {"__typename": "State", "code": "nw"},
                {"__typename": "City", "id": "Q2l0eToxMA=="},
                {"__typename": "State", "id": "U3RhdGU6Tlc="},
                {"__typename": "Goal", "id": "R29hbDox"},
                {"__typename": "Sector", "id": "U2VjdG9yOm1lZGlh"},
                {"__typename": "Theme", "id": "VGhlbWU6MQ=="},
                {"__typename": "WorkingGroup", "id": "V29ya2luZ0dyb3VwOjE="},
                {"__typename": "StatePartnership", "id": "U3RhdGVQYXJ0bmVyc2hpcDox"},
            ]
        },
    ),
    "federation entities given inline, aliased, with a type selecting nothing": (
        """{ e: _entities(representations: [{__typename: "State", code: "NW"},
              {__typename: "City", slug: "koenigswinter"}, {__typename: "State", code: "XX"}])
            { ... on City { n: name } } none: _entities(representations: []) { __typename } }""",
        {},
    ),
}

# Queries the compiler leaves to the resolvers, which must still answer the same.
STATISTICS = """
query Statistics($state: String) {
  statistics(state: $state) {
    __typename
    citiesByState { code count state { name partnership { institution } } }
    citiesByKind { kind count }
    byStatus: citiesByStatus { status count }
    actorsBySector { sector count }
    sectorComposition {
      networkCount networksWithActors
      byComposition { composition count __typename }
      trisectoralShare multisectoralShare
    }
    fundingTotals {
      byFunder { funder { slug name } amountEur fundingCount }
      byContributionType { contributionType amountEur fundingCount }
      byState { code state { code } amountEur }
      byTheme { theme { slug } fundingCount }
      byYear { year amountEur fundingCount }
    }
    engagedPeople { value year sources descriptionEn }
  }
}
"""
COMPILED |= {
    "statistics of the network": (STATISTICS, {}),
    "statistics of a state": (STATISTICS, {"state": "st"}),
    "statistics of a state without cities": (STATISTICS, {"state": "HB"}),
    "pages of edges only, read up to their end": (
        """query($after: String) {
             cities(first: 3, after: $after, orderBy: POPULATION_DESC) {
               edges { cursor node { slug localNetwork { actors(first: 2) {
                 edges { node { slug } } } } } } }
             states { cities(first: 2) { edges { node { name } } } } }""",
        {"after": cursor("Query.cities:population_desc", "500000", "A", "0")},
    ),
    "fundings of two scopes and twice of one": (
        """{ nw: statistics(state: "NW") { fundingTotals { byYear { year amountEur } } }
             all: statistics { fundingTotals { byFunder { amountEur } byYear { year } } }
             again: statistics(state: "NW") { fundingTotals { byTheme { fundingCount } } } }""",
        {},
    ),
}

FALLBACK = {
    "introspection": ('{ __schema { queryType { name } } __type(name: "City") { name } }', {}),
    "global ID of no type": ('{ node(id: "Tm90aGluZzox") { id } }', {}),
    "malformed global ID": ('{ nodes(ids: ["nope"]) { id } }', {}),
    "key of another form": ('{ nodes(ids: ["Q2l0eTp4", "Q2l0eTowNTg="]) { id } }', {}),
    "empty search text": ('{ search(text: " ") { totalCount } }', {}),
    "search page too large": ('{ search(text: "Weinheim", first: 500) { totalCount } }', {}),
    "statistics of a funder": ('{ statistics(funder: "nobody") { citiesByKind { count } } }', {}),
    "statistics of an unknown state": (
        '{ statistics(state: "XX") { citiesByKind { count } } }',
        {},
    ),
    "statistics of a state, through the state": (
        '{ state(code: "NW") { statistics { citiesByKind { count } } } }',
        {},
    ),
    "bad page argument": ("{ cities(first: 500) { totalCount } }", {}),
    "bad filter value": ('{ cities(filter: {states: ["XX"]}) { totalCount } }', {}),
    "bad cursor": ('{ cities(after: "nonsense") { totalCount } }', {}),
    "entity of no entity type": (
        '{ _entities(representations: [{__typename: "Sector", code: "media"}]) { __typename } }',
        {},
    ),
    "entity without a key": (
        """query($r: [_Any!]!) { _entities(representations: $r) { ... on City { slug } } }""",
        {"r": [{"__typename": "City", "slug": "apolda"}, {"__typename": "City", "name": "x"}]},
    ),
    "entity by an ID the hub never gives out": (
        """query($r: [_Any!]!) { _entities(representations: $r) { ... on City { slug } } }""",
        {"r": [{"__typename": "City", "id": "U3RhdGU6Tlc="}, {"__typename": "Actor", "id": "x"}]},
    ),
    "federation service": ("{ _service { sdl } }", {}),
}

EXAMPLES = {path.stem: (path.read_text(), {}) for path in sorted(EXAMPLES_DIR.glob("*.graphql"))}
TRAVERSAL_QUERIES = {name: (query, {}) for name, (query, _leaf) in TRAVERSALS.items()}


async def answer(
    connection: AsyncConnection,
    compiled: bool,
    query: str,
    variables: dict[str, Any],
    key: str | None = None,
) -> tuple[dict[str, Any], list[str]]:
    """The response body (without the debug figures) and the read path that answered; `key`
    is the bearer credential, if any.

    With the compiled path on, the app is asked twice: a query the compiled path answered
    without errors is answered again as a prepared operation (schema.prepared), which must
    answer exactly as the first time. The read paths of both answers are returned then.
    """
    settings = replace(Settings.from_env(), compiled=compiled, debug=True)
    app = create_app(sessions_on(connection), settings=settings, features=await detect(connection))
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    bodies, paths = [], []
    async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
        for _ask in range(2 if compiled else 1):
            response = await client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=headers
            )
            body = response.json()
            paths.append(body.get("extensions", {}).pop("debug", {}).get("readPath", "none"))
            bodies.append(body)
    assert all(body == bodies[0] for body in bodies)
    bodies[0].pop("extensions", None)
    return bodies[0], paths


async def both_paths(
    connection: AsyncConnection, query: str, variables: dict[str, Any], key: str | None = None
) -> tuple[dict[str, Any], str]:
    """The compiled path's answer and read path, after checking it equals the resolvers' (and
    that a query the compiled path answered without errors is prepared, and answered alike
    again)."""
    compiled, (path, again) = await answer(connection, True, query, variables, key)
    reference, reference_paths = await answer(connection, False, query, variables, key)
    assert reference_paths == ["resolvers"]
    assert compiled == reference
    if path == "compiled" and "errors" not in compiled and not marks_forbidden(query):
        assert again == "prepared"
    return compiled, path


def marks_forbidden(query: str) -> bool:
    """Whether a plan of `query` (for any viewer) may mark forbidden fields: those are not
    prepared (their answers may hold errors the normal path reports)."""
    return any(
        plan is not None and plan.marks_forbidden
        for key, entry in PLANS.documents.items()
        if key[0] == query
        for plan in entry.plans.values()
    )


@pytest.mark.parametrize(("query", "variables"), COMPILED.values(), ids=COMPILED.keys())
async def test_compiled_answers_equal_the_resolvers(
    demo_connection: AsyncConnection, query: str, variables: dict[str, Any]
) -> None:
    body, path = await both_paths(demo_connection, query, variables)
    assert path == "compiled"
    assert "errors" not in body


@pytest.mark.parametrize(("query", "variables"), FALLBACK.values(), ids=FALLBACK.keys())
async def test_what_the_compiler_cannot_plan_falls_back(
    demo_connection: AsyncConnection, query: str, variables: dict[str, Any]
) -> None:
    _body, path = await both_paths(demo_connection, query, variables)
    assert path == "resolvers"


ALL = EXAMPLES | TRAVERSAL_QUERIES


@pytest.mark.parametrize(("query", "variables"), ALL.values(), ids=ALL.keys())
async def test_examples_and_traversals_answer_the_same(
    demo_connection: AsyncConnection, query: str, variables: dict[str, Any]
) -> None:
    body, _path = await both_paths(demo_connection, query, variables)
    assert "errors" not in body


@property_settings(300)
@given(generated=queries(schema._schema), role=st.sampled_from(list(Role)))
async def test_generated_queries_answer_the_same(
    demo_connection: AsyncConnection, generated: tuple[str, dict[str, Any]], role: Role
) -> None:
    """Random queries, asked by every role (with some amounts confidential), answer alike."""
    query, variables = generated
    # A savepoint per example: a failing one must not spoil the connection for the next.
    savepoint = await demo_connection.begin_nested()
    try:
        key = await key_of_role(demo_connection, role)
        _body, path = await both_paths(demo_connection, query, variables, key)
    finally:
        await savepoint.rollback()
    event(f"read path: {path}")


async def key_of_role(connection: AsyncConnection, role: Role) -> str | None:
    """A key of `role` with a scope in the demo data (None for the public), in the test's
    transaction, where a third of the fundings have been made confidential."""
    await connection.execute(
        update(Funding).where(Funding.id % 3 == 0).values(amount_confidential=True)
    )
    if role is Role.PUBLIC:
        return None
    scope = {
        Role.ADMIN: {},
        Role.STATE_PARTNER: {"state_code": select(literal("ST"))},
        Role.FUNDER: {"funder_id": select(Funder.id).order_by(Funder.id).limit(1)},
        Role.COORDINATOR: {"city_id": select(City.id).where(City.slug == "dessau-rosslau")},
    }[role]
    async with sessions_on(connection)() as session:
        values = {name: await session.scalar(value) for name, value in scope.items()}
        key = await add_key(session, role, **values)
        await session.commit()
    return key


async def test_a_plan_serves_every_value_of_the_variables_it_binds(
    demo_connection: AsyncConnection,
) -> None:
    query = """query Place($slug: String!, $code: String!, $first: Int!) {
      city(slug: $slug) { slug localNetwork { actors(first: $first) { totalCount } } }
      state(code: $code) { code }
    }"""
    PLANS.documents.clear()
    runs = [("dessau-rosslau", "st", 2), ("no-such-city", "NW", 2), ("dessau-rosslau", "be", 3)]
    for slug, code, first in runs:
        variables = {"slug": slug, "code": code, "first": first}
        body, path = await both_paths(demo_connection, query, variables)
        assert path == "compiled"
        assert (body["data"]["city"] or {}).get("slug", "no-such-city") == slug
        assert body["data"]["state"] == {"code": code.upper()}
    (entry,) = PLANS.documents.values()
    # The slug and the state code are bind values; the page size shapes the SQL.
    assert entry.bound_variables == {"slug", "code"}
    assert len(entry.plans) == 2


async def test_a_variable_that_also_shapes_the_sql_keys_the_plan(
    demo_connection: AsyncConnection,
) -> None:
    query = """query ($slug: String!, $nowhere: String!) {
      city(slug: $slug) { slug }
      other: city(slug: $nowhere) @include(if: false) { slug }
    }"""
    PLANS.documents.clear()
    for slug in ("dessau-rosslau", "no-such-city"):
        await both_paths(demo_connection, query, {"slug": slug, "nowhere": "x"})
    (entry,) = PLANS.documents.values()
    # `$nowhere` stands in a skipped field, so the compiler never bound it.
    assert entry.bound_variables == {"slug"}


async def test_page_sizes_are_written_into_the_sql(demo_connection: AsyncConnection) -> None:
    """A page's size stands in the statement's text, not in a parameter: PostgreSQL
    then plans the prepared statement once for all its runs (a generic plan) as well as it
    would plan each run, instead of planning each run anew."""
    query = """query Pages($first: Int!, $after: String) {
      cities(first: $first, after: $after) {
        edges { node { slug localNetwork { actors(first: 3) { edges { node { name } } } } } }
      }
    }"""
    PLANS.documents.clear()
    variables = {"first": 7, "after": cursor("Query.cities", "C", "0")}
    _body, path = await both_paths(demo_connection, query, variables)
    (entry,) = PLANS.documents.values()
    (plan,) = entry.plans.values()
    assert path == "compiled" and plan is not None
    assert re.search(r"LIMIT 7\b", plan.sql)
    assert re.search(r"LIMIT 3\b", plan.sql)


async def test_compiled_reads_survive_a_lost_database_connection(
    demo_database_url: str,
) -> None:
    """Outside tests' transactions, reads run without a transaction on pooled connections that
    are not pinged: one the server dropped costs the read a second try, not an error."""
    engine = create_engine(demo_database_url, pool_size=1)
    reads = await create_read_pool(demo_database_url, size=1)
    settings = replace(Settings.from_env(), compiled=True, debug=True)
    app = create_app(session_factory(engine), reads=reads, settings=settings)
    transport = httpx.ASGITransport(app=app)
    query = {"query": '{ city(slug: "dessau-rosslau") { name } }'}
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            first = (await client.post("/graphql", json=query)).json()
            async with reads.acquire() as connection:  # the pool's one connection
                backend = await connection.fetchval("SELECT pg_backend_pid()")
            await terminate(demo_database_url, backend)
            second = (await client.post("/graphql", json=query)).json()
    finally:
        await reads.close()
        await engine.dispose()
    assert first["data"] == second["data"] == {"city": {"name": "Dessau-Roßlau"}}
    assert second["extensions"]["debug"]["readPath"] == "prepared"  # the same pool's read


async def test_a_cancelled_compiled_read_leaves_its_pooled_connection_usable(
    demo_database_url: str,
) -> None:
    """A client that goes away cancels its request's read halfway; the pool's one connection
    then serves the next read at once (asyncpg has PostgreSQL cancel the statement before it
    hands the connection out again), not after the cancelled statement's end."""
    reads = await create_read_pool(demo_database_url, size=1)
    engine = create_engine(demo_database_url, pool_size=1)
    sessions = session_factory(engine)
    try:
        slow = asyncio.create_task(
            Context(None, sessions, reads=reads).read_json("SELECT 'slow' FROM pg_sleep(60)", [])
        )
        await asyncio.sleep(0.5)  # the statement runs
        slow.cancel()
        with pytest.raises(asyncio.CancelledError):
            await slow
        read = Context(None, sessions, reads=reads).read_json("SELECT 'next'", [])
        answer = await asyncio.wait_for(read, timeout=20)
    finally:
        await reads.close()
        await engine.dispose()
    assert answer == b"next"


async def terminate(url: str, backend: int) -> None:
    """End a connection to the database's server, as a server restart would."""
    connection = await asyncpg.connect(asyncpg_dsn(url))
    try:
        assert await connection.fetchval("SELECT pg_terminate_backend($1)", backend)
    finally:
        await connection.close()


async def test_one_search_plan_serves_every_text(demo_connection: AsyncConnection) -> None:
    query = """query Find($text: String!) {
      search(text: $text, first: 3) { totalCount edges { rank node { __typename } } }
    }"""
    PLANS.documents.clear()
    for searched in ("Bürgerstiftung", "Königs", "Dessau Roßlau", "Königswintr"):
        _body, path = await both_paths(demo_connection, query, {"text": searched})
        assert path == "compiled"
    (entry,) = PLANS.documents.values()
    assert entry.bound_variables == {"text"}
    assert len(entry.plans) == 1
    # A text the resolvers refuse runs there, with their error, on the same cached plan.
    body, path = await both_paths(demo_connection, query, {"text": "  "})
    assert path == "resolvers"
    assert body["errors"][0]["message"] == "The search text is empty."


# Connections, nested too, in their orders: `{page}` stands for the arguments of a page,
# `{s}` for its selection.
PAGED = {
    "cities": "cities({page}) {{ {s} }}",
    "cities by population": "cities(orderBy: POPULATION_DESC, {page}) {{ {s} }}",
    "cities joined last": "cities(orderBy: JOINED_ON_DESC, {page}) {{ {s} }}",
    "a state's cities": 'state(code: "NW") {{ cities(orderBy: JOINED_ON, {page}) {{ {s} }} }}',
    "fundings by amount": "fundings(orderBy: AMOUNT_DESC, {page}) {{ {s} }}",
    "a funder's fundings": 'funder(slug: "bmfsfj") {{ fundings({page}) {{ {s} }} }}',
    "a network's actors": 'city(slug: "apolda") {{ localNetwork {{ actors({page}) {{ {s} }} }} }}',
}
PAGE_SELECTION = """totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
    edges { cursor node { id } }"""


@pytest.mark.parametrize("template", PAGED.values(), ids=PAGED.keys())
async def test_pages_by_cursors_from_answers_answer_the_same(
    demo_connection: AsyncConnection, template: str
) -> None:
    """Cursors taken from an answer lead both paths to the same pages, either way and both
    bounds at once (`before` earlier than `after` too)."""

    def query(page: str) -> str:
        used = ", ".join(f"${name}: String" for name in "ab" if f"${name}" in page)
        body = template.format(page=page, s=PAGE_SELECTION)
        return f"query({used}) {{ {body} }}" if used else f"{{ {body} }}"

    first, _path = await both_paths(demo_connection, query("first: 6"), {})
    connection = first["data"]
    while "edges" not in connection:
        (connection,) = connection.values()
    cursors = [edge["cursor"] for edge in connection["edges"]]
    if len(cursors) < 5:
        pytest.skip("too few rows")
    pages = {
        "first: 3, after: $a": {"a": cursors[1]},
        "last: 2, before: $b": {"b": cursors[4]},
        "last: 3, before: $b": {"b": cursors[1]},
        "first: 4, after: $a, before: $b": {"a": cursors[0], "b": cursors[3]},
        "last: 1, after: $a, before: $b": {"a": cursors[0], "b": cursors[4]},
        "first: 2, after: $a, before: $b": {"a": cursors[4], "b": cursors[1]},
        "first: 2, after: $a": {"a": connection["pageInfo"]["endCursor"]},
    }
    for page, variables in pages.items():
        body, path = await both_paths(demo_connection, query(page), variables)
        assert "errors" not in body and path == "compiled", (page, body)
