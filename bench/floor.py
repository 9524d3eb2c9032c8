"""The floor: each query of the mix as one hand-written SQL statement behind a bare endpoint.

PostgreSQL builds the whole response (`json_build_object`, `json_agg`, LATERAL) and the endpoint
hands its text on as it is: no GraphQL, no objects in Python. Served by uvicorn with the hub's
settings, it is as fast as this stack can answer the mix.

    DATABASE_URL=postgresql://... uvicorn bench.floor:app

`POST /floor/<query>` takes `{"variables": {...}}`, the variables the hub gets.
"""

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.mix import MIX, Query

# The hub's SQLAlchemy pool: 5 connections kept, up to 10 more under load.
POOL_MIN_SIZE = 5
POOL_MAX_SIZE = 15
# Plans for the actual parameters, always: after five runs PostgreSQL may switch a prepared
# statement to a generic plan, whose higher estimates can cost a JIT compilation per request.
SESSION_SETTINGS = {"plan_cache_mode": "force_custom_plan"}


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    """Open the connection pool to the database named by DATABASE_URL."""
    dsn = os.environ["DATABASE_URL"].replace("postgresql+asyncpg://", "postgresql://", 1)
    async with asyncpg.create_pool(
        dsn, min_size=POOL_MIN_SIZE, max_size=POOL_MAX_SIZE, server_settings=SESSION_SETTINGS
    ) as pool:
        app.state.statements = await statements(pool)
        app.state.pool = pool
        yield


async def statements(pool: asyncpg.Pool) -> dict[str, str]:
    """Each query's statement, by name; without pg_trgm, search does without typo tolerance,
    as the hub's does."""
    trigram = await pool.fetchval(
        "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_trgm')"
    )
    return {
        query.name: query.floor
        if trigram or query.floor_without_trigram is None
        else query.floor_without_trigram
        for query in MIX
    }


def endpoint(query: Query) -> Route:
    """The endpoint answering `query` with its one statement."""

    async def answer(request: Request) -> Response:
        variables = json.loads(await request.body()).get("variables") or {}
        arguments = [bind_value(variables[name]) for name in query.floor_parameters]
        statement = request.app.state.statements[query.name]
        text = await request.app.state.pool.fetchval(statement, *arguments)
        return Response(text, media_type="application/json")

    return Route(f"/floor/{query.name}", answer, methods=["POST"])


def bind_value(variable: Any) -> Any:
    """A variable as the statement's parameter: lists and objects as JSON text."""
    return json.dumps(variable) if isinstance(variable, list | dict) else variable


async def readyz(request: Request) -> JSONResponse:
    """The database answers."""
    await request.app.state.pool.fetchval("SELECT 1")
    return JSONResponse({"status": "ready"})


app = Starlette(
    routes=[Route("/readyz", readyz), *(endpoint(query) for query in MIX)], lifespan=lifespan
)
