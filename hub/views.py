"""Saved views: `GET /views/<name>` runs a registered operation, with its variables from the
query string, as JSON or (`?format=csv` or `Accept: text/csv`) as CSV, so that a spreadsheet or a
script can use it without writing GraphQL. The network office saves views with `engagement-hub
views` or the `saveView` mutation; both check them here (`view_problems`).

A view runs through the same schema as `/graphql`, for the same viewer: its authorization,
limits, rate limit budget and error masking apply alike. The answer carries an ETag; a client
sending it back in `If-None-Match` gets 304 while the answer is unchanged.
"""

import csv
import hashlib
import io
from functools import partial
from typing import Any

import orjson
from graphql import (
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    get_nullable_type,
    parse,
    type_from_ast,
    validate,
)
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from hub.ratelimit import add_headers
from models.views import SavedView
from resolvers.compiler import RawJSON
from resolvers.mutations.ids import column_of
from resolvers.mutations.problems import Problem, invalid
from resolvers.mutations.validation import RULES, Rule, Values, column_problems, field_path

CSV_TYPE = "text/csv; charset=utf-8"


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
    return None


def variables_of(
    query: str, arguments: dict[str, str], graphql_schema: GraphQLSchema
) -> dict[str, Any]:
    """The operation's variables from query-string text: strings as they are, other types
    (numbers, booleans, lists, input objects) as JSON."""
    operation = next(d for d in parse(query).definitions if isinstance(d, OperationDefinitionNode))
    variables: dict[str, Any] = {}
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        if name not in arguments:
            continue
        declared: Any = type_from_ast(graphql_schema, definition.type)
        text = arguments[name]
        if getattr(get_nullable_type(declared), "name", None) in ("String", "ID"):
            variables[name] = text
        else:
            try:
                variables[name] = orjson.loads(text)
            except orjson.JSONDecodeError:
                variables[name] = text  # the schema's coercion reports what is wrong with it
    return variables


async def serve_view(request: Request) -> Response:
    """Run the view named in the path; JSON or CSV, with an ETag."""
    async with request.app.state.sessions() as session:
        view = await session.scalar(
            select(SavedView).where(SavedView.name == request.path_params["name"])
        )
    if view is None:
        return JSONResponse({"errors": [{"message": "No view has this name."}]}, status_code=404)
    graphql_app = request.app.state.graphql
    schema = graphql_app.schema
    context = await graphql_app.get_context(request, None)
    arguments = {k: v for k, v in request.query_params.items() if k != "format"}
    variables = variables_of(view.query, arguments, schema._schema)
    result = await schema.execute(view.query, variable_values=variables, context_value=context)
    data = result.data
    if isinstance(data, RawJSON):
        data = orjson.loads(data.json)
    body: dict[str, Any] = {"data": data}
    if result.errors:
        body["errors"] = [error.formatted for error in result.errors]
    wants_csv = request.query_params.get("format") == "csv" or "text/csv" in request.headers.get(
        "accept", ""
    )
    content, media_type = (
        (csv_of(data), CSV_TYPE) if wants_csv and data else (orjson.dumps(body), "application/json")
    )
    response = cached(
        request, content if isinstance(content, bytes) else content.encode(), media_type
    )
    add_headers(request, response)  # the rate limit budget, charged as on /graphql
    return response


def cached(request: Request, content: bytes, media_type: str) -> Response:
    """The answer with its ETag, or 304 when the client holds it already."""
    etag = '"' + hashlib.sha256(content).hexdigest()[:32] + '"'
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    return Response(content, media_type=media_type, headers=headers)


def csv_of(data: dict[str, Any]) -> str:
    """The first list in `data` (a connection's nodes, or a plain list) as CSV rows, nested
    objects flattened into dotted column names, lists inside a row as JSON."""
    rows = [flat(row) for row in first_list(data)]
    columns = list(dict.fromkeys(column for row in rows for column in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, columns)
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def first_list(value: Any) -> list[Any]:
    """The rows of the first list found depth-first; a connection's edges become their nodes;
    an object without any list is one row."""
    if isinstance(value, list):
        return [item.get("node", item) if isinstance(item, dict) else item for item in value]
    if isinstance(value, dict):
        for item in value.values():
            if isinstance(item, list | dict):
                found = first_list(item)
                if found and not (isinstance(item, dict) and found == [item]):
                    return found
        return [value]
    return []


def flat(row: Any, prefix: str = "") -> dict[str, Any]:
    """One row's values by dotted column name."""
    if not isinstance(row, dict):
        return {prefix or "value": row}
    columns: dict[str, Any] = {}
    for key, value in row.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            columns |= flat(value, f"{name}.")
        elif isinstance(value, list):
            columns[name] = orjson.dumps(value).decode()
        else:
            columns[name] = value
    return columns
