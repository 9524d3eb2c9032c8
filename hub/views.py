"""Saved views: `GET /views/<name>` runs a registered operation, with its variables from the
query string, as JSON or (`?format=csv` or `Accept: text/csv`) as CSV, so that a spreadsheet or a
script can use it without writing GraphQL; `GET /views` lists the views the viewer may run. The
network office saves views with `engagement-hub views` or the `saveView` mutation; both check
them here (`view_problems`).

A view runs through the same schema as `/graphql`, for the same viewer: its authorization,
limits, rate limit budget and error masking apply alike. The answer carries an ETag; a client
sending it back in `If-None-Match` gets 304 while the answer is unchanged. A request the view
cannot run (a variable missing or of the wrong type, an unknown parameter or format, a view
that no longer fits the schema) is a 400 with GraphQL errors in JSON, as GraphQL over HTTP
answers a request error; an unknown view is a 404, an `Accept` header without JSON or CSV a 406.
"""

import hashlib
from collections.abc import Sequence
from functools import lru_cache, partial
from html import escape
from typing import Any

import orjson
from cross_web import HTTPException
from graphql import (
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_nullable_type,
    parse,
    print_ast,
    type_from_ast,
    validate,
)
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from strawberry.schema.schema_converter import GraphQLCoreConverter
from strawberry.types import ExecutionResult

from hub import http_protocol
from hub.http_protocol import JSON, media_ranges, quality
from hub.ratelimit import add_headers
from hub.view_csv import Selection, Table, csv_of, operation_of, table_of
from models.views import SavedView
from resolvers.access import Viewer
from resolvers.compiler import RawJSON
from resolvers.errors import VALIDATION_FAILED
from resolvers.mutations.ids import column_of
from resolvers.mutations.problems import Problem, invalid
from resolvers.mutations.validation import RULES, Rule, Values, column_problems, field_path
from resolvers.permissions import never_sees

CSV = "text/csv"
CSV_TYPE = "text/csv; charset=utf-8"
HTML = "text/html"
FORMATS = ("json", "csv")
FORMAT_PARAMETER = "format"
NO_SUCH_VIEW = "No view has this name; GET /views lists the views."
UNKNOWN_FORMAT = "The format of a view is json or csv (?format=json, ?format=csv)."
NOT_ACCEPTABLE = "A view answers in application/json or text/csv: accept either."
STALE_VIEW = "The view does not run in today's schema; the network office must save it again."
# The index links nothing outside itself and runs no script.
INDEX_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def view_problems(values: Values, graphql_schema: GraphQLSchema) -> list[Problem]:
    """Every reason a view of `values` (`name`, `query`, `description`) cannot be saved: what
    its columns cannot hold, a name that is no slug (it stands in the URL), a query that is
    not one valid query operation of `graphql_schema`."""
    # The caller hands in the schema: the schema's own mutations (saveView) import this module.
    rules: dict[str, Rule] = {
        "name": RULES["slug"],
        "query": partial(query_problem, graphql_schema=graphql_schema),
    }
    problems: list[Problem] = []
    for field, value in values.items():
        path = field_path(field)
        found = column_problems(column_of(SavedView, field), value, path)
        rule = rules.get(field)
        message = None if found or rule is None else rule(value)
        problems += found if message is None else [invalid(path, message)]
    return problems


def query_problem(query: str, graphql_schema: GraphQLSchema) -> str | None:
    """What keeps `query` from being one valid query operation of the schema, if anything."""
    checked = view_document(query, graphql_schema)
    return checked if isinstance(checked, str) else None


@lru_cache(maxsize=256)
def view_document(query: str, graphql_schema: GraphQLSchema) -> DocumentNode | str:
    """The document of `query`, if it is one valid query operation of the schema; otherwise
    what keeps it from being one."""
    try:
        document = parse(query)
    except GraphQLError as error:
        return f"Must be GraphQL: {error.message}"
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if len(operations) != 1 or operations[0].operation.value != "query":
        return "Must be exactly one query operation (no mutation or subscription)."
    errors = validate(graphql_schema, document)
    if errors:
        return f"Must be valid in the schema: {errors[0].message}"
    return document


def variables_of(
    document: DocumentNode, arguments: dict[str, str], graphql_schema: GraphQLSchema
) -> dict[str, Any]:
    """The operation's variables from query-string text: strings as they are, other types
    (numbers, booleans, lists, input objects) as JSON. A parameter that names no variable of
    the operation is refused (400): a misspelt variable would be missing without a word."""
    definitions = {
        definition.variable.name.value: definition
        for definition in operation_of(document).variable_definitions or ()
    }
    variables: dict[str, Any] = {}
    for name, text in arguments.items():
        definition = definitions.get(name)
        if definition is None:
            known = ", ".join([*definitions, FORMAT_PARAMETER])
            raise HTTPException(400, f"The view takes no parameter {name!r}; it takes {known}.")
        declared: Any = type_from_ast(graphql_schema, definition.type)
        if getattr(get_nullable_type(declared), "name", None) in ("String", "ID"):
            variables[name] = text
        else:
            try:
                variables[name] = orjson.loads(text)
            except orjson.JSONDecodeError:
                variables[name] = text  # the schema's coercion reports what is wrong with it
    return variables


def answer_format(request: Request) -> str:
    """`json` or `csv`: as the query string's `format` names it, else as the `Accept` header
    prefers (JSON without one); HTTPException where neither can be."""
    named = request.query_params.get(FORMAT_PARAMETER)
    if named is not None:
        if named not in FORMATS:
            raise HTTPException(400, UNKNOWN_FORMAT)
        return named
    accept = request.headers.get("accept")
    if accept is None or not accept.strip():
        return "json"
    ranges = media_ranges(accept)
    csv, json = quality(ranges, CSV), quality(ranges, JSON)
    if CSV in ranges and csv > 0 and csv >= json:
        return "csv"
    if json > 0:
        return "json"
    if csv > 0:
        return "csv"
    raise HTTPException(406, NOT_ACCEPTABLE)


async def serve_view(request: Request) -> Response:
    """Run the view named in the path; JSON or CSV, with an ETag; a request error as JSON."""
    async with request.app.state.sessions() as session:
        view = await session.scalar(
            select(SavedView).where(SavedView.name == request.path_params["name"])
        )
    if view is None:
        return refusal(HTTPException(404, NO_SUCH_VIEW))
    graphql_app = request.app.state.graphql
    schema = graphql_app.schema
    document = view_document(view.query, schema._schema)
    if isinstance(document, str):
        return refusal(HTTPException(400, f"{STALE_VIEW} {document}"), VALIDATION_FAILED)
    arguments = {k: v for k, v in request.query_params.items() if k != FORMAT_PARAMETER}
    try:
        chosen = answer_format(request)
        variables = variables_of(document, arguments, schema._schema)
    except HTTPException as error:
        return refusal(error)
    context = await graphql_app.get_context(request, None)
    result = await schema.execute(view.query, variable_values=variables, context_value=context)
    table = table_of(schema._schema, document) if chosen == "csv" else None
    response = answer(request, result, table)
    add_headers(request, response)  # the rate limit budget, charged as on /graphql
    return response


def answer(request: Request, result: ExecutionResult, table: Table | None) -> Response:
    """A view's result: a request error as a 400; else JSON, or CSV of `table` where CSV is
    asked for and there is data, with an ETag."""
    data = result.data
    if isinstance(data, RawJSON):
        data = orjson.loads(data.json)
    body: dict[str, Any] = {"data": data}
    if result.errors:
        body["errors"] = http_protocol.in_document_order([e.formatted for e in result.errors])
    if http_protocol.is_request_error(body):
        return JSONResponse({"errors": body["errors"]}, 400)
    if table is not None and data is not None:
        return cached(request, csv_of(table, data).encode(), CSV_TYPE)
    return cached(request, orjson.dumps(body), JSON)


def refusal(error: HTTPException, code: str | None = None) -> Response:
    """A request to a view refused before it ran: a GraphQL error with its code (by default
    the status's, as on /graphql), in JSON."""
    extensions = {"code": code or http_protocol.code_of(error)}
    body = {"errors": [{"message": error.reason, "extensions": extensions}]}
    return JSONResponse(body, error.status_code)


def cached(request: Request, content: bytes, media_type: str) -> Response:
    """The answer with its ETag, or 304 when the client holds it already."""
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


# --- The index ------------------------------------------------------------------------------


async def saved_views(session: AsyncSession) -> Sequence[SavedView]:
    """Every saved view, by name."""
    return (await session.scalars(select(SavedView).order_by(SavedView.name))).all()


def may_run(viewer: Viewer, query: str, graphql_schema: GraphQLSchema) -> bool:
    """Whether the view of `query` shows `viewer` anything: it is valid in today's schema,
    and it selects no field the viewer may see nothing of (an office-only list, contact
    persons for the public), which would only answer FORBIDDEN."""
    document = view_document(query, graphql_schema)
    if isinstance(document, str):
        return False
    selection = Selection(graphql_schema, document)
    return not any(
        never_sees(viewer, field.extensions[GraphQLCoreConverter.DEFINITION_BACKREF])
        for field in selection.every_field(selection.root)
        if GraphQLCoreConverter.DEFINITION_BACKREF in field.extensions
    )


def index_entry(view: SavedView, graphql_schema: GraphQLSchema) -> dict[str, Any]:
    """A view as the index lists it: what it shows, its variables and its URLs by format."""
    document = view_document(view.query, graphql_schema)
    assert not isinstance(document, str), "only valid views are listed"
    url = f"/views/{view.name}"
    return {
        "name": view.name,
        "description": view.description,
        "variables": [
            {"name": definition.variable.name.value, "type": print_ast(definition.type)}
            for definition in operation_of(document).variable_definitions or ()
        ],
        "formats": {"json": url, "csv": f"{url}?format=csv"},
    }


async def list_views(request: Request) -> Response:
    """The views the viewer may run, as JSON, or as an HTML list for a browser."""
    graphql_schema = request.app.state.graphql.schema._schema
    async with request.app.state.sessions() as session:
        views = await saved_views(session)
    entries = [
        index_entry(view, graphql_schema)
        for view in views
        if may_run(request.user.viewer, view.query, graphql_schema)
    ]
    if prefers_html(request.headers.get("accept")):
        return HTMLResponse(index_page(entries), headers={"Content-Security-Policy": INDEX_POLICY})
    return JSONResponse({"views": entries})


def prefers_html(accept: str | None) -> bool:
    """Whether an `Accept` header names HTML and likes it better than JSON (a browser's)."""
    ranges = media_ranges(accept or "")
    return HTML in ranges and quality(ranges, HTML) > quality(ranges, JSON)


def index_page(entries: list[dict[str, Any]]) -> str:
    """The index as a plain HTML list."""
    items = "\n".join(map(index_item, entries))
    listing = f"<ul>\n{items}\n</ul>" if entries else "<p>No views yet.</p>"
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        "<title>Saved views: Engagierte Stadt hub</title>\n</head>\n<body>\n"
        f"<h1>Saved views</h1>\n{listing}\n</body>\n</html>\n"
    )


def index_item(entry: dict[str, Any]) -> str:
    """One view of the index as an HTML list item: its name, description, parameters, links."""
    description = f": {escape(entry['description'])}" if entry["description"] else ""
    parameters = ", ".join(
        f"<code>{escape(variable['name'])}</code> ({escape(variable['type'])})"
        for variable in entry["variables"]
    )
    formats = entry["formats"]
    return (
        f"<li><strong>{escape(entry['name'])}</strong>{description}"
        f"{f'; parameters: {parameters}' if parameters else ''}: "
        f'<a href="{escape(formats["json"])}">JSON</a>, '
        f'<a href="{escape(formats["csv"])}">CSV</a></li>'
    )
