"""HTTP caching of /graphql's answers: their `ETag`, `Cache-Control` and `Vary`, and `304 Not
Modified` where a GET's `If-None-Match` names the answer it would get (docs/caching.md).

Only a query's successful answer to a GET (200, no `errors`) may be kept: GET is what HTTP
caches store and revalidate (GraphQL over HTTP sends queries by GET for that), while no HTTP
cache reuses the answer to a POST (RFC 9111) and a failed If-None-Match on a POST would be a
412 (RFC 9110), not a 304. The public's answers are `public` for the configured seconds
(HUB_HTTP_MAX_AGE_SECONDS); those of a credential, or of a federation gateway (its secret
lets past the allowlist what the public's request would not), are `private, no-cache`: a
browser may keep them, and asks again each time, so that whoever writes reads their write.
Everything else (POST, mutations, errors, refusals, 429, streams) is `no-store`, unless its
answer says otherwise (a persisted query's refusal).
"""

import hashlib
import re

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hub.config import Settings
from hub.gateway import from_gateway
from hub.http_protocol import GRAPHQL_RESPONSE, JSON
from resolvers.access import Role

# The request headers an answer depends on besides its URL: its media type follows Accept,
# its data the viewer of Authorization. (The CORS middleware adds Origin where it applies.)
VARY = ("Accept", "Authorization")
NOT_STORED = "no-store"
PRIVATE = "private, no-cache"
# An entity tag of an If-None-Match list, strong or weak (its `W/` does not count in the weak
# comparison If-None-Match asks for); hand-written as Starlette parses no entity tags.
ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')
# The headers of a 200 that a 304 leaves out: it has no body.
BODY_HEADERS = (b"content-length", b"content-type")


def cached(request: Request, response: Response) -> Response:
    """`response` with the headers HTTP caches follow, or a 304 Not Modified in its stead
    where the request's If-None-Match names it; GraphiQL's page is left as it is."""
    if response.headers.get("content-type", "").startswith("text/html"):
        return response
    if not cacheable(request, response):
        response.headers.setdefault("Cache-Control", NOT_STORED)
        return response
    tag = entity_tag(response)
    response.headers["ETag"] = tag
    response.headers["Cache-Control"] = cache_control(request, request.app.state.settings)
    response.headers["Vary"] = ", ".join([*response.headers.getlist("Vary"), *VARY])
    if matches(request.headers.get("If-None-Match"), tag):
        return not_modified(response)
    return response


def cacheable(request: Request, response: Response) -> bool:
    """Whether `response` is a successful answer to a GET, whole and in JSON."""
    return (
        request.method == "GET"
        and response.status_code == 200
        and not isinstance(response, StreamingResponse)
        and response.headers.get("content-type") in (JSON, GRAPHQL_RESPONSE)
        and not getattr(request.state, "answered_with_errors", False)
    )


def cache_control(request: Request, settings: Settings) -> str:
    """The Cache-Control of a cacheable answer, by whom it is for."""
    if request.user.viewer.role is not Role.PUBLIC or from_gateway(request):
        return PRIVATE
    if settings.http_max_age_seconds == 0:
        return "no-cache"
    directives = ["public", f"max-age={settings.http_max_age_seconds}"]
    if settings.http_stale_while_revalidate_seconds:
        directives.append(f"stale-while-revalidate={settings.http_stale_while_revalidate_seconds}")
    return ", ".join(directives)


def entity_tag(response: Response) -> str:
    """A strong entity tag of the answer: a hash of its body and its media type, as one URL
    answers the same JSON in two media types, and a strong tag tells them apart."""
    digest = hashlib.blake2b(digest_size=16)
    digest.update(response.headers["content-type"].encode())
    digest.update(b"\n")
    digest.update(response.body)
    return f'"{digest.hexdigest()}"'


def matches(if_none_match: str | None, tag: str) -> bool:
    """Whether an If-None-Match header names `tag` among its entity tags, or any answer
    (`*`), by the weak comparison (RFC 9110, 13.1.2)."""
    if if_none_match is None:
        return False
    if if_none_match.strip() == "*":
        return True
    return tag[1:-1] in ENTITY_TAG.findall(if_none_match)


def not_modified(response: Response) -> Response:
    """A 304 Not Modified in place of `response`: its headers (ETag, Cache-Control, Vary, the
    rate limit's) without those of its body."""
    answer = Response(status_code=304, background=response.background)
    answer.raw_headers = [
        (name, value) for name, value in response.raw_headers if name not in BODY_HEADERS
    ]
    return answer
