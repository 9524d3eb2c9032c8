"""What one request of a query costs PostgreSQL: the hub's own SQL, timed by EXPLAIN ANALYZE.

`python -m bench.postgres_time` (see docs/benchmarks.md): for each scale, a synthetic database
as `python -m bench` loads it; the work tree's hub answers each query in process, its
statements captured as sent; each is then prepared, as the hub's driver prepares it, and run
under `EXPLAIN (ANALYZE, TIMING OFF)`: PostgreSQL's own execution and planning times per
request, without the network, the driver or Python, medians of REPETITIONS.
"""

import asyncio
import itertools
import json
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any

import httpx
import typer
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from bench.__main__ import DEFAULT_SERVER_URL, chosen, numbers
from bench.database import synthetic_database
from bench.mix import MIX, Query
from bench.servers import HubSource

MIX_BY_NAME = {query.name: query for query in MIX}

# Enough repetitions that the median hides a slow spell of the machine.
REPETITIONS = 30
# Names of the prepared statements, unique on every connection of the pool.
PREPARED_NUMBERS = itertools.count()


@dataclass(frozen=True)
class Statement:
    """One SQL statement the hub sent, with its parameters."""

    sql: str
    parameters: tuple[Any, ...]


async def statements_of(engine: AsyncEngine, query: Query, cities: int) -> list[Statement]:
    """The statements the hub sends to answer `query` once (compiled read path)."""
    from hub.database import session_factory
    from hub.features import detect
    from server import create_app

    async with engine.connect() as connection:
        features = await detect(connection)
    app = create_app(session_factory(engine), features=features)
    sent: list[Statement] = []

    def capture(_conn: Any, _cursor: Any, sql: str, parameters: Any, *_args: Any) -> None:
        sent.append(Statement(sql, tuple(parameters or ())))

    event.listen(engine.sync_engine, "before_cursor_execute", capture)
    try:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
            body = {"query": query.hub, "variables": query.variables(cities)}
            response = await client.post("/graphql", json=body)
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", capture)
    if response.status_code != 200 or "errors" in response.json():
        raise RuntimeError(f"{query.name}: the hub answered {response.text[:300]}")
    return [statement for statement in sent if is_read(statement.sql)]


def is_read(sql: str) -> bool:
    """Whether `sql` reads (the hub's transaction control and settings are not timed)."""
    return sql.lstrip().upper().startswith(("SELECT", "WITH"))


@dataclass(frozen=True)
class Milliseconds:
    """What a request's statements cost PostgreSQL: executing them, and planning them."""

    execution: float
    planning: float


def literal(value: Any) -> str:
    """An argument of EXECUTE as SQL (it takes no bound parameters): the bench's values only."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if isinstance(value, list | tuple) and value:
        return f"ARRAY[{', '.join(map(literal, value))}]"
    raise TypeError(f"no SQL literal for {type(value).__name__}")


async def milliseconds(engine: AsyncEngine, statements: Sequence[Statement]) -> Milliseconds:
    """The medians over REPETITIONS of the statements' summed execution and planning times.

    Each statement is a prepared statement, as the hub's driver (asyncpg) sends it: PostgreSQL
    plans its first executions for their parameters, and may then keep a generic plan.
    """
    executions, plannings = [], []
    async with engine.connect() as connection:
        names = [f"bench_{next(PREPARED_NUMBERS)}" for _ in statements]
        for name, statement in zip(names, statements, strict=True):
            await connection.exec_driver_sql(f"PREPARE {name} AS {statement.sql}")
        for _ in range(REPETITIONS):
            execution = planning = 0.0
            for name, statement in zip(names, statements, strict=True):
                arguments = ", ".join(map(literal, statement.parameters))
                explain = f"EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) EXECUTE {name}({arguments})"
                result = await connection.exec_driver_sql(explain)
                plan = result.scalar_one()
                plan = json.loads(plan) if isinstance(plan, str) else plan
                execution += plan[0]["Execution Time"]
                planning += plan[0]["Planning Time"]
            executions.append(execution)
            plannings.append(planning)
    return Milliseconds(statistics.median(executions), statistics.median(plannings))


async def measure(url: str, queries: Sequence[Query], cities: int) -> dict[str, Milliseconds]:
    """Each query's PostgreSQL milliseconds per request on the database at `url`."""
    from hub.database import engine_for

    driver_url = make_url(url).set(drivername="postgresql+asyncpg")
    async with engine_for(driver_url.render_as_string(hide_password=False)) as engine:
        return {
            query.name: await milliseconds(engine, await statements_of(engine, query, cities))
            for query in queries
        }


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def main(
    scales: Annotated[str, typer.Option(help="Cities of each data set.")] = "1000,10000",
    queries: Annotated[str, typer.Option(help="Queries of the mix.")] = "statistics,search",
    server_url: Annotated[
        str, typer.Option(help="The PostgreSQL server the databases are made on.")
    ] = DEFAULT_SERVER_URL,
) -> None:
    """Print PostgreSQL's milliseconds per request of each query at each scale (a table)."""
    chosen_queries = [MIX_BY_NAME[name] for name in chosen(queries, list(MIX_BY_NAME), "query")]
    print("| Query | Cities | Execution ms/request | Planning ms/request |")
    print("|---|---:|---:|---:|")
    for cities in numbers(scales):
        with synthetic_database(server_url, cities, HubSource()) as url:
            timed = asyncio.run(measure(url, chosen_queries, cities))
        for name, spent in timed.items():
            print(f"| `{name}` | {cities:,} | {spent.execution:.2f} | {spent.planning:.2f} |")


if __name__ == "__main__":
    app()
