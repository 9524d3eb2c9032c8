"""The `engagement-hub` command line: serve, migrate, seed, import, export, schema, db, keys,
views, privacy."""

import asyncio
import errno
import json
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn, TypeVar

import asyncpg
import typer
import uvicorn
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table
from sqlalchemy import delete
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from hub import migrations
from hub.config import ConfigurationError, Settings
from hub.database import Database, asyncpg_dsn, engine_for, open_database, session_factory
from hub.demo.dataset import Dataset
from hub.demo.demo import build_demo
from hub.demo.synthetic import build_synthetic
from hub.embedded import EmbeddedPostgres, EmbeddedPostgresError, NoPostgresAvailable
from hub.keys import (
    InvalidGrant,
    UnknownKey,
    create_key,
    list_keys,
    resolve_grant,
    revoke_key,
)
from hub.observability import MULTIPROCESS_DIRECTORY, configure_logging
from hub.privacy_cli import privacy
from hub.seeding import DatabaseNotEmpty, seed, seed_if_empty
from hub.transfer.exporting import Format, NoPlaceForCsv, export_path
from hub.transfer.importing import Summary, import_path
from hub.transfer.problems import ImportRefused
from hub.transfer.report import as_json, problems_table, summary_table
from hub.views import view_problems
from models.views import SavedView

app = typer.Typer(
    help="The GraphQL hub of the Engagierte Stadt network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys = typer.Typer(
    help="API keys of partner portals and internal tools (sent as `Authorization: Bearer`).",
    no_args_is_help=True,
)
app.add_typer(keys, name="keys")
views = typer.Typer(
    help="Saved views: named GraphQL queries served as JSON or CSV at /views/NAME.",
    no_args_is_help=True,
)
app.add_typer(views, name="views")
app.add_typer(privacy, name="privacy")
console = Console(stderr=True)
T = TypeVar("T")

# Failures a user can act on; they end the command with a one-line reason, not a traceback.
EXPECTED_FAILURES = (
    NoPostgresAvailable,
    EmbeddedPostgresError,
    DatabaseNotEmpty,
    ConnectionError,
    OSError,
    ConfigurationError,
    InvalidGrant,
    UnknownKey,
    ImportRefused,
    NoPlaceForCsv,
    migrations.WrongDirection,
)


class PortTaken(RuntimeError):
    """The port `serve` should listen on is in use."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Number of worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Load the demo data into an empty database.")] = True,
) -> None:
    """Migrate, load the demo data into an empty database, and serve GraphQL at /graphql."""
    check_port_free(host, port)
    with opened_database() as database:
        migrations.upgrade(database.url)
        if demo and asyncio.run(seed_if_empty(database.url, build_demo)):
            console.print("Loaded the demo data set.")
        # Workers inherit the resolved database instead of resolving it again.
        os.environ["DATABASE_URL"] = database.url
        console.print(f"GraphiQL: http://{host}:{port}/graphql")
        # uvicorn raises the signal that stopped it again once it has shut down; SIGTERM's
        # default action (what systemd and container runtimes send) would end the process
        # there, leaving the embedded PostgreSQL running. As SIGINT does, it exits instead.
        signal.signal(signal.SIGTERM, exit_quietly)
        with shared_metrics(workers):
            # The hub logs one line per request itself (hub/observability.py): no access log.
            uvicorn.run(
                "server:app",
                host=host,
                port=port,
                workers=workers,
                log_level="info",
                access_log=False,
            )


@contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for their metrics to count in together
    (prometheus-client's multiprocess mode), unless the environment names one already."""
    if workers == 1 or MULTIPROCESS_DIRECTORY in os.environ:
        yield
        return
    with tempfile.TemporaryDirectory(prefix="engagement-hub-metrics-") as directory:
        os.environ[MULTIPROCESS_DIRECTORY] = directory
        try:
            yield
        finally:
            del os.environ[MULTIPROCESS_DIRECTORY]


def exit_quietly(signum: int, frame: FrameType | None) -> None:
    """Leave the process through its `finally` blocks, as after a normal end."""
    raise SystemExit(0)


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option(help="Migrate down to REVISION (e.g. base).")] = False,
) -> None:
    """Migrate the database up (or down) to a revision."""
    with opened_database() as database:
        migrations.migrate(database.url, revision, down)


@app.command("seed")
def seed_command(
    synthetic: Annotated[
        bool, typer.Option(help="A synthetic data set instead of the demo.")
    ] = False,
    cities: Annotated[int, typer.Option(min=1, help="Cities of the synthetic data set.")] = 1000,
    random_seed: Annotated[int, typer.Option("--seed", help="Seed of the synthetic data set.")] = 1,
    reset: Annotated[bool, typer.Option(help="Replace whatever the database holds.")] = False,
) -> None:
    """Load the demo data set (or a synthetic one) into the database."""

    def build() -> Dataset:
        return build_synthetic(cities, random_seed) if synthetic else build_demo()

    with opened_database() as database, Progress(console=console) as progress:
        migrations.upgrade(database.url)
        task = progress.add_task("Loading", total=None)

        def report(table: str, rows: int) -> None:
            progress.update(task, advance=rows, description=f"Loaded {table}")

        asyncio.run(seed(database.url, build, reset=reset, progress=report))


@app.command("import")
def import_command(
    file: Annotated[
        Path,
        typer.Argument(
            metavar="FILE",
            exists=True,
            help="A .json file, a .zip or directory of CSV files, or one entity's .csv file.",
        ),
    ],
    report_json: Annotated[
        Path | None, typer.Option(help="Also write the report to this file as JSON.")
    ] = None,
) -> None:
    """Import themes, cities, state partnerships, actors, measures, funders and fundings:
    every row is checked first, and one bad row means nothing is written."""
    with opened_database() as database:
        migrations.upgrade(database.url)
        outcome: Summary | ImportRefused
        try:
            outcome = asyncio.run(import_path(database.url, file))
        except ImportRefused as refused:
            outcome = refused
        if report_json is not None:
            report_json.write_text(json.dumps(as_json(outcome), ensure_ascii=False, indent=2))
    if isinstance(outcome, ImportRefused):
        Console().print(problems_table(outcome))
        raise outcome
    Console().print(summary_table(outcome))
    console.print(f"Imported {escape(str(file))}.")


@app.command()
def export(
    format: Annotated[
        Format | None,
        typer.Option("--format", help="By default JSON for a .json or no --output, else CSV."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="A .json file, or a .zip file or directory for CSV; none: stdout."),
    ] = None,
) -> None:
    """Export everything `import` reads, in a stable order (contact persons stay out)."""
    with opened_database() as database:
        asyncio.run(export_path(database.url, output, format))


@app.command()
def schema() -> None:
    """Print the GraphQL schema (SDL)."""
    from schema import schema as graphql_schema

    typer.echo(graphql_schema.as_str())


@app.command()
def db(
    stop: Annotated[bool, typer.Option(help="Stop the embedded PostgreSQL instead.")] = False,
) -> None:
    """Print the database URL in use, for psql (starting the embedded PostgreSQL if needed)."""
    settings = Settings.from_env()
    if stop:
        EmbeddedPostgres.from_settings(settings).stop()
        return
    typer.echo(asyncpg_dsn(open_database(settings).url))


@keys.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="admin, state_partner, funder or coordinator.")],
    name: Annotated[str, typer.Option(help="Who uses the key, e.g. a partner portal.")],
    scope: Annotated[
        str | None,
        typer.Option(help="state:<code>, funder:<slug> or city:<slug>; none for admin."),
    ] = None,
) -> None:
    """Create an API key and print it; it is shown this once only."""

    async def create(session: AsyncSession) -> tuple[int, str]:
        return await create_key(session, name, await resolve_grant(session, role, scope))

    key_id, key = in_transaction(create)
    typer.echo(key)
    console.print(
        f"Created key {key_id} ({role}{f' of {scope}' if scope else ''}). "
        "Store it now: it cannot be shown again.",
        highlight=False,
    )


@views.command("save")
def views_save(
    name: Annotated[str, typer.Argument(help="The view's name in its URL, e.g. cities-of-nw.")],
    file: Annotated[Path, typer.Argument(help="A .graphql file with one query operation.")],
    description: Annotated[str, typer.Option(help="What the view shows.")] = "",
) -> None:
    """Save (or replace) a view: its query runs at /views/NAME, variables from the URL."""
    from schema import schema as graphql_schema

    values = {"name": name, "query": file.read_text(), "description": description}
    problems = view_problems(values, graphql_schema._schema)
    if problems:
        fail("; ".join(f"{problem.path[-1]}: {problem.message}" for problem in problems))

    async def save(session: AsyncSession) -> None:
        upsert = insert(SavedView).values(values)
        await session.execute(
            upsert.on_conflict_do_update(index_elements=["name"], set_=upsert.excluded)
        )

    in_transaction(save)
    console.print(f"Saved the view {name}: GET /views/{name}", highlight=False)


@views.command("remove")
def views_remove(name: Annotated[str, typer.Argument(help="The view's name.")]) -> None:
    """Remove a view."""

    async def remove(session: AsyncSession) -> bool:
        removed = delete(SavedView).where(SavedView.name == name).returning(SavedView.id)
        return (await session.scalar(removed)) is not None

    if not in_transaction(remove):
        fail(f"no view is named {name!r}")
    console.print(f"Removed the view {name}.", highlight=False)


@keys.command("list")
def keys_list() -> None:
    """List the API keys: id, name, role, scope, prefix, created, revoked (never the key)."""
    listings = in_transaction(list_keys)
    if not listings:
        console.print("No API keys yet; `engagement-hub keys create` makes one.")
        return
    table = Table("id", "name", "role", "scope", "prefix", "created (UTC)", "revoked (UTC)")
    for key in listings:
        table.add_row(
            str(key.id),
            escape(key.name),
            key.role.value,
            str(key.scope or ""),
            key.prefix,
            utc_minutes(key.created_at),
            utc_minutes(key.revoked_at) if key.revoked_at else "",
        )
    Console().print(table)


@keys.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(metavar="ID", help="The key's id.")]) -> None:
    """Revoke an API key; running hubs refuse it within HUB_AUTH_CACHE_SECONDS."""

    async def revoke(session: AsyncSession) -> tuple[datetime, bool]:
        return await revoke_key(session, key_id)

    revoked_at, revoked_just_now = in_transaction(revoke)
    if not revoked_just_now:
        console.print(f"Key {key_id} was revoked already, at {utc_minutes(revoked_at)} UTC.")
        return
    console.print(
        f"Revoked key {key_id}. Running hubs refuse it once their credential cache expires "
        "(HUB_AUTH_CACHE_SECONDS, 10 by default)."
    )


def in_transaction(work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database, committed if it succeeds."""

    async def run(url: str) -> T:
        async with engine_for(url) as engine, session_factory(engine).begin() as session:
            return await work(session)

    with opened_database() as database:
        return asyncio.run(run(database.url))


def utc_minutes(moment: datetime) -> str:
    """A moment to the minute, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


@contextmanager
def opened_database() -> Iterator[Database]:
    """The configured database, with the embedded server stopped afterwards if started here."""
    database = open_database(Settings.from_env())
    try:
        yield database
    finally:
        database.stop_if_started_here()


def check_port_free(host: str, port: int) -> None:
    """Fail early with a clear reason when `host:port` cannot be listened on: bound as uvicorn
    binds it (SO_REUSEADDR), so that the connections of a hub stopped a moment ago, waiting
    out TCP's TIME-WAIT, do not keep the next from its port."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = "is taken" if error.errno == errno.EADDRINUSE else f"cannot be used ({error})"
            raise PortTaken(f"port {port} on {host} {reason}; choose another with --port") from None


def main() -> None:
    """Run the command line; expected failures end it with one line and exit status 1."""
    try:
        settings = Settings.from_env()
        configure_logging(settings.log_json, settings.log_level)
        app()
    except (*EXPECTED_FAILURES, PortTaken) as error:
        fail(str(error))
    except (DBAPIError, asyncpg.PostgresError) as error:
        # The driver's own message, without the statement SQLAlchemy would append.
        cause = getattr(error, "orig", None) or error
        fail(f"database unreachable or refused the request: {str(cause).splitlines()[0]}")


def fail(reason: str) -> NoReturn:
    """End the command with a one-line reason and exit status 1."""
    console.print(f"[red]error:[/red] {escape(reason)}", highlight=False, soft_wrap=True)
    sys.exit(1)
