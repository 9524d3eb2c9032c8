"""The Starlette app: routes, lifespan, context factory."""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from hub.config import Settings
from hub.database import create_engine, open_database, session_factory
from resolvers.context import Context
from schema import schema

logger = logging.getLogger(__name__)

READINESS_TIMEOUT_SECONDS = 2.0


class GraphQLApp(GraphQL[Context, None]):
    """Strawberry's ASGI app, with a context holding the request's session and loaders."""

    async def get_context(self, request: Request | WebSocket, response: object) -> Context:
        return Context(request=request, session=request.app.state.sessions())


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
    """Open the database the settings name (starting the embedded one if needed) for the app."""
    database = await asyncio.to_thread(open_database, Settings.from_env())
    engine = create_engine(database.url)
    app.state.sessions = session_factory(engine)
    try:
        yield
    finally:
        await engine.dispose()
        await asyncio.to_thread(database.stop_if_started_here)


@asynccontextmanager
async def no_lifespan(app: Starlette) -> AsyncIterator[None]:
    """Sessions were given up front (tests); nothing to open or close."""
    yield


def create_app(sessions: async_sessionmaker[AsyncSession] | None = None) -> Starlette:
    """The hub's ASGI app; without `sessions`, its lifespan opens the configured database."""
    graphql = GraphQLApp(schema)
    app = Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
        ],
        lifespan=open_configured_database if sessions is None else no_lifespan,
    )
    app.state.sessions = sessions
    return app


app = create_app()
