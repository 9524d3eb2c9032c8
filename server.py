"""The Starlette app: routes, lifespan, context factory."""

import asyncio
import gc
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any, ClassVar, cast

import asyncpg
import orjson
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError, get_operation_ast, parse
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.authentication import AuthenticationError
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import Message, Send
from starlette.websockets import WebSocket, WebSocketDisconnect
from strawberry.asgi import ASGIWebSocketAdapter, GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLHTTPResponse, GraphQLRequestData
from strawberry.http.base import BaseRequestProtocol
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.http.streaming import (
    HTTPStreamTransport,
    MultipartSubscriptionTransport,
    SSETransport,
)
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.subscriptions import (
    GRAPHQL_SSE_PROTOCOL,
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from strawberry.types.unset import UnsetType

from hub import (
    http_caching,
    http_protocol,
    incremental,
    landing,
    response_cache,
    shortcut,
    tracing,
)
from hub.auth import BearerAuthentication, BearerBackend, close_reason, refusal_error
from hub.body_limit import BodySizeLimit
from hub.config import Settings
from hub.connections import LimitedTransportWSHandler, LimitedWSHandler, OpenConnections
from hub.database import (
    create_engine,
    create_read_pool,
    open_database,
    session_factory,
    to_asyncpg_url,
)
from hub.events import Events
from hub.features import BASELINE, Features, detect
from hub.graphiql import graphiql_page
from hub.http_protocol import JSON, SEVERAL_OPERATIONS
from hub.observability import (
    MetricsEndpoint,
    RequestObserver,
    configure_logging,
    forget_process,
    pool_connections_counted,
)
from hub.persisted import PersistedQueries, PersistedQueryError
from hub.ratelimit import RateLimiter, add_headers
from hub.response_cache import Answer, ResponseCache
from hub.shortcut import AnswerShortcut, KnownRequests
from hub.views import list_views, serve_view
from resolvers.compiler import fragment_of
from resolvers.context import Context
from schema import cached, schema
from schema.deferred import uses_incremental_delivery
from schema.prepared import PreparedOperations, answered

logger = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 2.0
# A client takes a message at once unless it stopped reading (uvicorn waits for its buffers to
# drain); its pings would drop it only after 40 seconds. The same for a stream over HTTP.
WEBSOCKET_SEND_SECONDS = 5.0
# Subscriptions go over WebSocket, and over HTTP as Server-Sent Events and Apollo's multipart
# protocol (Hive Gateway's and Apollo Router's transports to subgraphs).
SUBSCRIPTION_PROTOCOLS = (
    GRAPHQL_TRANSPORT_WS_PROTOCOL,
    GRAPHQL_WS_PROTOCOL,
    GRAPHQL_SSE_PROTOCOL,
    MULTIPART_SUBSCRIPTION_PROTOCOL,
)
# A WebSocket counts for its client's connections from its connection_init on; until then it
# may stay open this long (strawberry's default: a minute).
CONNECTION_INIT_SECONDS = 10.0
NOT_ACCEPTABLE = (
    "The hub answers in application/graphql-response+json or application/json: accept either."
)
SUBSCRIPTION_OVER_HTTP = (
    "Subscriptions run over a WebSocket at /graphql (graphql-transport-ws or graphql-ws), or "
    "over HTTP with Accept: text/event-stream or multipart/mixed;subscriptionSpec=1.0."
)


class JSONBody:
    """A POST request whose body `http_protocol.check_content_type` found to be JSON, as
    strawberry reads it: strawberry compares media types case-sensitively, and would refuse
    `Application/JSON`, which is JSON too (RFC 9110: media types ignore case)."""

    content_type = JSON

    def __init__(self, request: AsyncHTTPRequestAdapter) -> None:
        self.request = request

    def __getattr__(self, name: str) -> Any:
        return getattr(self.request, name)


class WebSocketAdapter(ASGIWebSocketAdapter):
    """Strawberry's WebSocket adapter, closing a connection refused for its credential with
    the refusal's message as the reason: strawberry's graphql-transport-ws handler closes it
    with 4403 and only "Forbidden", which leaves the client guessing what is wrong."""

    # Whether a send gave up: the client is taken to be gone.
    stalled = False

    async def close(self, code: int, reason: str) -> None:
        await super().close(code, getattr(self.ws.state, "refusal", reason))

    async def send_json(self, message: Mapping[str, object]) -> None:
        """Send a message as a text frame, the only kind GraphQL clients read: strawberry
        sends the bytes of `encode_json` as a binary frame. A client that has not taken it
        within WEBSOCKET_SEND_SECONDS (its buffers full: it stopped reading) is dropped, as
        events are delivered one at a time and a stalled send would hold every other
        subscriber's: its operations end, and its pings time out."""
        if self.stalled:
            raise WebSocketDisconnected
        try:
            sent = self.ws.send_text(self.view.encode_json(message).decode())
            await asyncio.wait_for(sent, WEBSOCKET_SEND_SECONDS)
        except TimeoutError:
            self.stalled = True
            raise WebSocketDisconnected from None
        except WebSocketDisconnect as exc:
            raise WebSocketDisconnected from exc


class ServerSentEvents(SSETransport):
    """Strawberry's Server-Sent Events, their lines ending in LF: the event stream format
    allows CRLF as well, but Hive Gateway's client (graphql-tools' executor-http) finds events
    only where two LFs end them, and so would never see one of strawberry's."""

    def encode_event(self, event: str, data: str | None = None) -> str:
        return super().encode_event(event, data).replace("\r\n", "\n")

    def encode_comment(self, comment: str) -> str:
        return super().encode_comment(comment).replace("\r\n", "\n")


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app, with a context holding the request's session and loaders."""

    websocket_adapter_class = WebSocketAdapter  # type: ignore[assignment]
    graphql_transport_ws_handler_class = LimitedTransportWSHandler
    graphql_ws_handler_class = LimitedWSHandler
    stream_transport_classes_by_protocol: ClassVar[dict[str, type[HTTPStreamTransport]]] = {
        MULTIPART_SUBSCRIPTION_PROTOCOL: MultipartSubscriptionTransport,
        GRAPHQL_SSE_PROTOCOL: ServerSentEvents,
    }

    async def render_graphql_ide(self, request: Request) -> Response:
        """GraphiQL with the hub's example queries as tabs, under its Content-Security-Policy."""
        page = graphiql_page()
        return HTMLResponse(
            page.html, headers={"Content-Security-Policy": page.content_security_policy}
        )

    async def get_context(self, request: Request | WebSocket, response: object) -> Context:
        state = request.app.state
        return Context(
            request=request,
            sessions=state.sessions,
            debug=state.settings.debug,
            features=state.features,
            compiled=state.settings.compiled,
            max_page_size=state.settings.max_page_size,
            viewer=request.user.viewer,
            authorization=request.headers.get("authorization"),
            reads=state.reads,
            events=state.events,
            replica=state.replica_sessions,
            federation_version=state.settings.federation_version,
            federation_node_key=state.settings.federation_node_key,
            answers=state.answers,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Authenticate a WebSocket by the credential its `connection_init` payload may carry
        (browsers cannot send headers with the upgrade); a bad one refuses the connection:
        graphql-transport-ws closes it with 4403, graphql-ws answers `connection_error`."""
        websocket = context.request
        assert isinstance(websocket, WebSocket), "only WebSockets send connection_init"
        authentication: BearerBackend = websocket.app.state.authentication
        try:
            context.viewer, context.authorization = await authentication.connection_credential(
                websocket, context.connection_params
            )
        except AuthenticationError as error:
            websocket.state.refusal = close_reason(error)
            raise ConnectionRejectionError(refusal_error(error)) from None
        connections: OpenConnections = websocket.app.state.connections
        refusal = connections.admit(websocket, context.viewer)
        if refusal is not None:
            websocket.state.refusal = refusal
            error = {"message": refusal, "extensions": {"code": "TOO_MANY_CONNECTIONS"}}
            raise ConnectionRejectionError(error)
        return await super().on_ws_connect(context)

    async def run(self, request: Request | WebSocket, **options: Any) -> Any:
        """Strawberry's answer, with the client's rate limit budget and what HTTP caches may do
        with it (`hub.http_caching`) in its headers; a request refused before it runs is
        answered as a GraphQL error (`hub.http_protocol`); a WebSocket's connection counts for
        its client until it closes."""
        try:
            response = await super().run(request, **options)
        except HTTPException as error:
            if isinstance(request, WebSocket):
                raise
            response = refused(request, error)
        finally:
            if isinstance(request, WebSocket):
                request.app.state.connections.release(request)
        later = getattr(request.state, "incremental", None)
        if later is not None and isinstance(response, Response) and response.status_code == 200:
            response = self.incremental_response(response, *later)
        if isinstance(response, Response):
            add_headers(request, response)
            if isinstance(request, Request):
                response = http_caching.cached(request, response)
                known: KnownRequests | None = request.app.state.known_requests
                if known is not None:
                    known.record(request, response)
        return response

    def incremental_response(
        self, initial: Response, transport: str, later: AsyncIterator[dict[str, Any]]
    ) -> Response:
        """The initial answer and the payloads that follow it, as the transport frames them
        (`hub.incremental`)."""
        first = orjson.loads(initial.body) | {"hasNext": True}

        async def bodies() -> AsyncIterator[bytes]:
            yield self.encode_json(first)
            async for payload in later:
                yield self.encode_json(payload)

        framed = incremental.framed(transport, bodies())
        own = {"content-length", "content-type"}
        headers = {name: value for name, value in initial.headers.items() if name not in own}
        media_type = incremental.media_type(transport)
        return StreamingResponse(framed, headers=headers, media_type=media_type)

    async def get_sub_response(self, request: Request | WebSocket) -> Response:
        """Strawberry's response to fill in, of the media type the request accepts."""
        sub_response = await super().get_sub_response(request)
        accept = request.headers.get("accept")
        sub_response.media_type = http_protocol.response_media_type(accept) or JSON
        return sub_response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        """Strawberry's response, in the media type and with the status code GraphQL over HTTP
        asks for (a request error is a 400 in `application/graphql-response+json`)."""
        media_type = sub_response.media_type or JSON
        body, status = http_protocol.shaped(response_data, media_type)
        response = super().create_response(body, sub_response)
        response.headers["content-type"] = media_type
        response.status_code = sub_response.status_code or status
        return response

    async def process_result(
        self, request: Request | WebSocket, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        """Strawberry's response to a result, its errors in document order; one with errors
        is no answer HTTP caches may keep (`hub.http_caching`)."""
        response = await super().process_result(request, result)
        if result.errors:
            request.state.answered_with_errors = True
            response["errors"] = http_protocol.in_document_order(response["errors"])
        return response

    def encode_json(self, response_data: Any) -> bytes:
        """The response or WebSocket message as UTF-8 JSON (orjson's, a multiple faster
        than the standard library's); data the compiled path built goes in as PostgreSQL
        wrote it."""
        return orjson.dumps(response_data, default=fragment_of)

    def decode_json(self, data: str | bytes) -> object:
        """Request bodies and WebSocket messages parsed by orjson (its errors are JSON's)."""
        return orjson.loads(data)

    def parse_json(self, data: str | bytes) -> Any:
        """Strawberry's JSON parsing, refusing bodies that are not objects (e.g. `null`), not
        UTF-8, or nested deeper than Python's JSON parser goes.

        Strawberry itself calls `.get` on whatever it parsed and catches only syntax errors of
        the JSON, so any of these would be a 500.
        """
        try:
            parsed = super().parse_json(data)
        except UnicodeDecodeError:
            raise HTTPException(400, "The request body is not UTF-8.") from None
        except RecursionError:
            raise HTTPException(400, "The request body is nested too deeply.") from None
        if not isinstance(parsed, dict | list):
            raise HTTPException(400, "The request body must be a JSON object.")
        return parsed

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        """Strawberry's request parsing, once the request accepts an answer the hub writes
        (else 406) and POSTs JSON (else 415); refusing JSON nested too deeply for the walks
        over it and NUL characters anywhere (`hub.http_protocol.request_refusal`).

        graphql-core does not allow redefining `String` to refuse NUL there.
        """
        accept = request.headers.get("accept")
        # Subscriptions stream over SSE or multipart, @defer and @stream answer incrementally.
        streamed = self._get_stream_transport_from_headers(request.headers) is not None
        if (
            not streamed
            and http_protocol.response_media_type(accept) is None
            and not incremental.transport_of(accept)
        ):
            raise HTTPException(406, NOT_ACCEPTABLE)
        if request.method == "POST":
            http_protocol.check_content_type(request.content_type)
            request = cast(AsyncHTTPRequestAdapter, JSONBody(request))
        parsed = await super().parse_http_body(request)
        for item in parsed if isinstance(parsed, list) else [parsed]:
            refusal = http_protocol.request_refusal(item.query, item.operation_name, item.variables)
            if refusal is not None:
                raise HTTPException(400, refusal)
        if isinstance(parsed, GraphQLRequestData) and asks_incremental_delivery(parsed):
            # Its answer streams as @defer and @stream have it (`hub.incremental`), not as
            # strawberry streams a subscription's events.
            return replace(parsed, protocol="http")
        return parsed

    async def create_streaming_response(
        self,
        request: Request | WebSocket,
        stream: Callable[[], AsyncIterator[str]],
        sub_response: Response,
        headers: Mapping[str, str],
    ) -> Response:
        """An operation streamed over HTTP (Server-Sent Events, multipart), which counts for
        its client's connections as a WebSocket does, until it ends; refused (429) when the
        client holds the limit."""
        assert isinstance(request, Request), "WebSockets stream through their own protocols"
        connections: OpenConnections = request.app.state.connections
        refusal = connections.admit(request, request.user.viewer)
        if refusal is not None:
            error = HTTPException(429, refusal)
            media_type = http_protocol.response_media_type(request.headers.get("accept")) or JSON
            return http_protocol.refusal(error, media_type, {})

        async def counted() -> AsyncIterator[str]:
            try:
                async for chunk in stream():
                    yield chunk
            finally:
                connections.release(request)

        return Stream(counted(), headers={**sub_response.headers, **headers})

    def should_render_graphql_ide(self, request: BaseRequestProtocol) -> bool:
        """Strawberry's rule (a GET without a query), except for GET requests naming a persisted
        query instead: clients accepting */* want its answer, not the GraphiQL page."""
        return "extensions" not in request.query_params and super().should_render_graphql_ide(
            request
        )

    async def execute_operation(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> Any:
        """Strawberry's execution; an operation whose answer streams (its request accepts
        Server-Sent Events or Apollo's multipart protocol) may be a subscription."""
        if isinstance(request_data, GraphQLRequestData) and request_data.protocol != "http":
            request.state.streamed = True
        return await super().execute_operation(
            request=request,
            request_adapter=request_adapter,
            request_data=request_data,
            context=context,
            root_value=root_value,
            sub_response=sub_response,
        )

    async def execute_single(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        root_value: None,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The answer to the request's query, or to the query its persisted-query hash stands
        for (`hub.persisted`): from the response cache if it holds it (`hub.response_cache`),
        else computed and kept there."""
        persisted: PersistedQueries = request.app.state.persisted
        try:
            query = await persisted.query_of(request_data.query, request_data.extensions)
        except PersistedQueryError as error:
            sub_response.status_code = error.status
            # Uncacheable, as Apollo Server answers: the same GET succeeds once it is registered.
            sub_response.headers["Cache-Control"] = "private, no-cache, must-revalidate"
            return ExecutionResult(data=None, errors=[error])
        if query is not None and uses_incremental_delivery(query):
            delivered = await self.deliver_incrementally(
                request, request_adapter, sub_response, context, replace(request_data, query=query)
            )
            if delivered is not None:
                return delivered
        answers: ResponseCache | None = request.app.state.answers
        ticket = None
        streamed = getattr(request.state, "streamed", False)
        if answers is not None and query is not None and not streamed:
            key = answers.key(
                query, request_data.operation_name, request_data.variables, context.viewer.access
            )
            answer, ticket = await answers.lookup(key)
            if answer is not None:
                remember_answer(request, request_data, key, answer)
                return await cached.served(answer, query, context, answers.charge)
        kept = None
        try:
            result = await self.compute(
                request, request_adapter, sub_response, context, replace(request_data, query=query)
            )
            if answers is not None and ticket is not None:
                kept = cached.keepable(result, context)
                if kept is not None:
                    await answers.keep(ticket, kept, context.answer_reads)
                    remember_answer(request, request_data, ticket.key, kept)
        finally:
            if answers is not None and ticket is not None:
                answers.settle(ticket, kept)
        return result

    async def compute(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult:
        """The request's answer, computed: by its prepared operation (`schema.prepared`) if
        there is one, else by strawberry's execution."""
        query = request_data.query
        operations: PreparedOperations | None = request.app.state.prepared
        prepared = (
            operations.get(query, request_data.operation_name, context) if operations else None
        )
        if prepared is not None:
            result = await answered(prepared, self.schema, context, request_data.variables)
            if result is not None:
                return result
        result = await super().execute_single(
            request=request,
            request_adapter=request_adapter,
            sub_response=sub_response,
            context=context,
            root_value=None,
            request_data=request_data,
        )
        if operations is not None and prepared is None:
            operations.learn(query, request_data.operation_name, context, result)
        return result

    async def deliver_incrementally(
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        sub_response: Response,
        context: Context,
        request_data: GraphQLRequestData,
    ) -> ExecutionResult | None:
        """The answer of an operation asking for @defer or @stream (`hub.incremental`), its
        later payloads left for `run` to send; None where strawberry's execution answers it."""

        async def run_part(query: str, fresh: bool) -> ExecutionResult:
            own = await self.get_context(request, sub_response) if fresh else context
            return await super(GraphQLApp, self).execute_single(
                request=request,
                request_adapter=request_adapter,
                sub_response=sub_response,
                context=own,
                root_value=None,
                request_data=replace(request_data, query=query),
            )

        transport = incremental.transport_of(request.headers.get("accept"))
        answer = await incremental.answer(
            request_data.query,
            request_data.operation_name,
            request_data.variables or {},
            transport,
            run_part,
        )
        if answer is None:
            return None
        if answer.later is not None:
            request.state.incremental = (transport, answer.later)
        return answer.initial


class Stream(StreamingResponse):
    """A streamed answer that ends when its client has not taken a part within
    WEBSOCKET_SEND_SECONDS (it stopped reading): events are delivered one at a time, and a
    stalled send would hold every other subscriber's."""

    async def stream_response(self, send: Send) -> None:
        async def send_in_time(message: Message) -> None:
            try:
                await asyncio.wait_for(send(message), WEBSOCKET_SEND_SECONDS)
            except TimeoutError:
                raise OSError("the client stopped reading its stream") from None

        await super().stream_response(send_in_time)


def remember_answer(
    request: Request, request_data: GraphQLRequestData, key: str, answer: Answer
) -> None:
    """Leave the response cache's answer of a request where `hub.shortcut` records it."""
    if shortcut.recordable(request_data.extensions, request_data.query):
        request.state.answered_from_cache = (key, answer)


def refused(request: Request, error: HTTPException) -> Response:
    """A request refused before it ran, as a GraphQL error in the media type it accepts,
    saying what to send instead where strawberry's reason does not."""
    media_type = http_protocol.response_media_type(request.headers.get("accept")) or JSON
    cause = error.__cause__
    if isinstance(cause, CannotGetOperationTypeError) and cause.operation_name is None:
        error = HTTPException(400, SEVERAL_OPERATIONS)
    elif isinstance(cause, InvalidOperationTypeError):
        if cause.operation_type is OperationType.SUBSCRIPTION:
            error = HTTPException(400, SUBSCRIPTION_OVER_HTTP)
        elif request.method == "GET":
            # GraphQL over HTTP: GET is safe, so only queries go by GET.
            error = HTTPException(405, "Mutations are sent by POST, not GET.")
            return http_protocol.refusal(error, media_type, {"Allow": "POST"})
    return http_protocol.refusal(error, media_type, {})


async def healthz(request: Request) -> JSONResponse:
    """The process is alive."""
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    """The database answers within a short timeout."""
    try:
        async with request.app.state.sessions() as session:
            await asyncio.wait_for(session.execute(text("SELECT 1")), READINESS_TIMEOUT_SECONDS)
    except Exception:  # any failure means "not ready"; the reason goes to the log, not the client
        logger.warning("readiness check failed", exc_info=True)
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ready"})


@asynccontextmanager
async def open_configured_database(app: Starlette) -> AsyncIterator[None]:
    """Open the configured database (starting the embedded one if needed); detect its features."""
    settings = app.state.settings
    configure_logging(settings.log_json, settings.log_level)
    database = await asyncio.to_thread(open_database, settings)
    timeout_ms = settings.statement_timeout_ms
    engine = create_engine(
        database.url, pool_size=settings.pool_size, statement_timeout_ms=timeout_ms
    )
    app.state.sessions = session_factory(engine)
    # Queries read from the replica if there is one: compiled reads and resolvers alike.
    reads_url = to_asyncpg_url(settings.replica_url) if settings.replica_url else database.url
    replica = (
        create_engine(reads_url, pool_size=settings.pool_size, statement_timeout_ms=timeout_ms)
        if settings.replica_url
        else None
    )
    app.state.replica_sessions = session_factory(replica) if replica else None
    app.state.reads = await create_read_pool(reads_url, settings.pool_size, timeout_ms)
    app.state.events = Events(database.url)
    tracer_provider = tracing.start(engine)
    try:
        async with engine.connect() as connection:
            app.state.features = await detect(connection)
        app.state.features.log()
        app.state.answers = response_cache.configured(settings, database.url, app.state.features)
        if app.state.answers is not None:
            app.state.events.follow_changes(app.state.answers)
        await app.state.events.start()
        # Everything loaded so far (the schema, the models, the plans' machinery) lives as long
        # as the process: frozen, the collector's full passes no longer walk it, which would
        # otherwise pause a request now and then for tens of milliseconds (the p99).
        gc.collect()
        gc.freeze()
        async with pool_connections_counted(app.state):
            yield
    finally:
        forget_process()
        await app.state.events.stop()
        if app.state.answers is not None:
            await app.state.answers.close()
        if tracer_provider is not None:
            tracer_provider.shutdown()
        await app.state.persisted.close()
        await app.state.rate_limiter.close()
        await app.state.reads.close()
        if replica is not None:
            await replica.dispose()
        await engine.dispose()
        await asyncio.to_thread(database.release)


@asynccontextmanager
async def no_lifespan(app: Starlette) -> AsyncIterator[None]:
    """Sessions were given up front (tests); nothing to open or close."""
    yield


def cors(origins: tuple[str, ...]) -> list[Middleware]:
    """CORS for pages of `origins`, outside authentication so that refusals (401) carry the
    headers browsers need to read them; none without origins (it would only cost time).
    Any request header: the origins are the guard, and clients add their own."""
    if not origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=["GET", "POST"],
            allow_headers=["*"],
        )
    ]


def create_app(
    sessions: async_sessionmaker[AsyncSession] | None = None,
    *,
    reads: asyncpg.Pool | None = None,
    events: Events | None = None,
    settings: Settings | None = None,
    features: Features = BASELINE,
) -> Starlette:
    """The hub's ASGI app; without `sessions`, its lifespan opens the configured database.

    `reads` is the compiled read path's pool; without it, that path reads through `sessions`.
    `events` delivers what other processes announce to subscriptions (none without it).
    `settings` default to the environment's. `features` are those of the database behind
    `sessions`; without `sessions`, the lifespan detects them.
    """
    settings = settings or Settings.from_env()
    known_requests = known_requests_of(settings)
    # One backend for HTTP headers and WebSocket payloads alike: they share its cache.
    authentication = BearerBackend(settings)
    graphql = GraphQLApp(
        schema,
        graphql_ide="graphiql" if settings.graphiql else None,
        # Cross-origin WebSockets are allowed from the origins CORS allows.
        allowed_origins=settings.cors_origins,
        max_subscriptions_per_connection=settings.max_subscriptions_per_connection,
        connection_init_wait_timeout=timedelta(seconds=CONNECTION_INIT_SECONDS),
        subscription_protocols=SUBSCRIPTION_PROTOCOLS,
    )
    graphql_route = Route("/graphql", tracing.traced(graphql), methods=["GET", "POST"])
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/views", list_views),
            Route("/views/{name}", serve_view),
            graphql_route,
            WebSocketRoute("/graphql", tracing.traced(graphql)),
            *landing.routes,
        ],
        middleware=[
            # Outermost: every request gets its id, log line and metrics, refusals included.
            Middleware(RequestObserver),
            *answer_shortcut(known_requests, graphql_route, settings),
            # /metrics, ahead of the API's authentication: scrapers bear a token of their own.
            Middleware(
                MetricsEndpoint, token=settings.metrics_token, production=settings.production
            ),
            *cors(settings.cors_origins),
            Middleware(BodySizeLimit, max_bytes=settings.max_body_bytes),
            Middleware(BearerAuthentication, backend=authentication),
        ],
        lifespan=open_configured_database if sessions is None else no_lifespan,
    )
    app.state.sessions = sessions
    app.state.graphql = graphql
    app.state.authentication = authentication
    app.state.reads = reads
    app.state.replica_sessions = None
    app.state.events = events
    app.state.settings = settings
    app.state.features = features
    app.state.persisted = PersistedQueries.from_settings(settings)
    # Prepared operations skip the extensions, and with them the spans of tracing.
    prepared = settings.compiled and not tracing.enabled()
    app.state.prepared = PreparedOperations() if prepared else None
    app.state.rate_limiter = RateLimiter(settings)
    # Without `sessions` the lifespan makes the response cache, which follows the writes
    # through `events`; tests give events that follow a database (or none: no cache).
    app.state.answers = None
    if events is not None:
        app.state.answers = response_cache.configured(settings, "given", features)
        if app.state.answers is not None:
            events.follow_changes(app.state.answers)
    app.state.connections = OpenConnections(settings.max_connections_per_client)
    app.state.known_requests = known_requests
    return app


def known_requests_of(settings: Settings) -> KnownRequests | None:
    """Where the requests answered from the response cache are recorded, to be answered
    again ahead of the full path (`hub.shortcut`); none without the cache, and none when
    debugging or tracing, whose figures and spans come from the full path."""
    if settings.response_cache_bytes <= 0 or settings.debug or tracing.enabled():
        return None
    return KnownRequests(settings.response_cache_bytes)


def answer_shortcut(
    known: KnownRequests | None, route: Route, settings: Settings
) -> list[Middleware]:
    """The shortcut answering the recorded requests of `route` (`hub.shortcut`), if they are
    recorded."""
    if known is None:
        return []
    limit = settings.max_body_bytes
    return [Middleware(AnswerShortcut, known=known, route=route, max_body_bytes=limit)]


app = create_app()


def asks_incremental_delivery(request_data: GraphQLRequestData) -> bool:
    """Whether the request is a query or mutation asking for @defer or @stream."""
    query = request_data.query
    if not query or not uses_incremental_delivery(query):
        return False
    try:
        document = parse(query)
    except GraphQLError:
        return False
    operation = get_operation_ast(document, request_data.operation_name)
    return operation is not None and operation.operation.value != OperationType.SUBSCRIPTION.value
