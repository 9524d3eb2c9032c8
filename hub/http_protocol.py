"""GraphQL over HTTP (https://graphql.github.io/graphql-over-http/) for the view in server.py:
the media type of an answer, its status code, the request bodies it runs, and request errors
as GraphQL errors (strawberry answers those as plain text).

With `application/graphql-response+json`, a request error (the request failed before
execution: syntax, validation, variables, the choice of operation, its cost) answers 400
without `data`; with `application/json`, every well-formed request answers 200, as clients
written before the specification expect.
"""

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

import orjson
from cross_web import HTTPException
from starlette.responses import JSONResponse, Response

GRAPHQL_RESPONSE = "application/graphql-response+json"
JSON = "application/json"
# Deeper than any input of the schema nests (a filter, a gateway's representation), and
# shallow enough for any walk over the values, graphql-core's coercion included.
MAX_JSON_DEPTH = 64
NUL_MESSAGE = "Text must not contain the NUL character (U+0000)."
DEPTH_MESSAGE = f"The request's JSON nests deeper than {MAX_JSON_DEPTH} levels."
SEVERAL_OPERATIONS = (
    "The document holds several operations, or none: name the one to run in `operationName`."
)
# The `extensions.code` of a refused request, by its status.
CODES = {
    400: "BAD_REQUEST",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    406: "NOT_ACCEPTABLE",
    415: "UNSUPPORTED_MEDIA_TYPE",
    429: "TOO_MANY_CONNECTIONS",
}


def in_document_order(errors: list[Any]) -> list[Any]:
    """Formatted errors in the order of the fields they belong to in the document, and of
    their items in a list: fields resolved at once fail in either order, and one answer should
    be one body (for clients comparing bodies, and for ETags). Errors of no field first."""
    return sorted(errors, key=document_position)


def document_position(error: Mapping[str, Any]) -> tuple[Any, ...]:
    """Where a formatted error's field is in the document (line, column), then its path, its
    list indexes as numbers."""
    locations = error.get("locations") or [{"line": 0, "column": 0}]
    path = error.get("path") or ()
    field = (locations[0]["line"], locations[0]["column"])
    return field, tuple((isinstance(step, str), step) for step in path)


@lru_cache(maxsize=256)
def response_media_type(accept: str | None) -> str | None:
    """The media type answering a request with this `Accept` header; None: it accepts none
    the hub writes. `application/graphql-response+json` where the client names it and likes
    it no less than `application/json`; `application/json` otherwise, and without a header."""
    if accept is None or not accept.strip():
        return JSON
    ranges = media_ranges(accept)
    graphql, json = quality(ranges, GRAPHQL_RESPONSE), quality(ranges, JSON)
    if GRAPHQL_RESPONSE in ranges and graphql >= json and graphql > 0:
        return GRAPHQL_RESPONSE
    if json > 0:
        return JSON
    return GRAPHQL_RESPONSE if graphql > 0 else None


def media_ranges(accept: str) -> dict[str, float]:
    """The media ranges of an `Accept` header and their quality (`q`, 1 if not given)."""
    ranges: dict[str, float] = {}
    for each in accept.split(","):
        name, *parameters = each.split(";")
        quality = 1.0
        for parameter in parameters:
            key, _, value = parameter.partition("=")
            if key.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges[name.strip().lower()] = quality
    return ranges


def quality(ranges: dict[str, float], media_type: str) -> float:
    """How much the client accepts `media_type`: the quality of the most specific range."""
    for candidate in (media_type, media_type.split("/")[0] + "/*", "*/*"):
        if candidate in ranges:
            return ranges[candidate]
    return 0.0


def check_content_type(content_type: str | None) -> None:
    """Refuse (415) a POST body that is not JSON in UTF-8, the one the hub reads."""
    media_type, _, parameters = (content_type or "").partition(";")
    charset = next(
        (
            value.strip().strip('"').lower()
            for key, _, value in (each.partition("=") for each in parameters.split(";"))
            if key.strip().lower() == "charset"
        ),
        "utf-8",
    )
    if media_type.strip().lower() != JSON or charset != "utf-8":
        raise HTTPException(415, "A GraphQL request is POSTed as application/json (UTF-8).")


def request_refusal(*values: object) -> str | None:
    """Why the JSON values of a request (its query, operation name and variables) are not
    run, or None: nested deeper than MAX_JSON_DEPTH, or text holding NUL, which no text
    column can store (such input could only fail later, inside the database)."""
    if any(nests_too_deeply(value) for value in values):
        return DEPTH_MESSAGE
    return NUL_MESSAGE if contains_nul(list(values)) else None


def nests_too_deeply(value: object) -> bool:
    """Whether lists and objects nest in `value` deeper than MAX_JSON_DEPTH; level by level,
    without recursion (whose limit a deep body would reach)."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for item in level
            for child in (item.values() if isinstance(item, dict) else item)
            if isinstance(child, dict | list)
        ]
        if not level:
            return False
    return True


def contains_nul(value: object) -> bool:
    """Whether a NUL character stands in any string inside `value` (keys included)."""
    # orjson writes NUL as \u0000: where its JSON of the value holds no such sequence, there
    # is none, an answer in C for the usual request (a gateway's batch holds a thousand
    # strings); otherwise, or where orjson cannot write the value, the value is searched.
    try:
        if b"\\u0000" not in orjson.dumps(value):
            return False
    except orjson.JSONEncodeError:
        pass
    return searched_for_nul(value)


def searched_for_nul(value: object) -> bool:
    """Whether a NUL character stands in any string inside `value`, level by level."""
    level = [value]
    while level:
        deeper: list[object] = []
        for item in level:
            if isinstance(item, str) and "\x00" in item:
                return True
            if isinstance(item, dict):
                deeper += [*item.keys(), *item.values()]
            elif isinstance(item, list):
                deeper += item
        level = deeper
    return False


def shaped(response: Any, media_type: str) -> tuple[Any, int]:
    """A GraphQL response as the media type carries it, and its status code."""
    if media_type == GRAPHQL_RESPONSE and is_request_error(response):
        return {key: value for key, value in response.items() if key != "data"}, 400
    return response, 200


def is_request_error(response: Any) -> bool:
    """Whether a GraphQL response is a request error's: no data, and errors of the request as a
    whole (a field's error has a path, even where it nulls all of `data`)."""
    if not isinstance(response, Mapping) or response.get("data") is not None:
        return False
    errors = response.get("errors") or []
    return bool(errors) and all("path" not in error for error in errors)


def refusal(error: HTTPException, media_type: str, headers: Mapping[str, str]) -> Response:
    """A request refused before it ran, as a GraphQL error with an `extensions.code`."""
    body = {"errors": [{"message": error.reason, "extensions": {"code": code_of(error)}}]}
    return JSONResponse(body, error.status_code, dict(headers), media_type=media_type)


def code_of(error: HTTPException) -> str:
    """The `extensions.code` of a refused request."""
    return CODES.get(error.status_code, "BAD_REQUEST")
