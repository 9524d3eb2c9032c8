"""The `engagement-hub` command line: serve, migrate, seed, schema, db."""

import asyncio
import errno
import logging
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated

import asyncpg
import typer
import uvicorn
from rich.console import Console
from rich.progress import Progress
from sqlalchemy.exc import DBAPIError

from hub import migrations
from hub.config import Settings
from hub.database import Database, asyncpg_dsn, open_database
from hub.demo.dataset import Dataset
from hub.demo.demo import build_demo
from hub.demo.synthetic import build_synthetic
from hub.embedded import EmbeddedPostgres, EmbeddedPostgresError, NoPostgresAvailable
from hub.seeding import DatabaseNotEmpty, seed, seed_if_empty

app = typer.Typer(
    help="The GraphQL hub of the Engagierte Stadt network.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console(stderr=True)

# Failures a user can act on; they end the command with a one-line reason, not a traceback.
EXPECTED_FAILURES = (
    NoPostgresAvailable,
    EmbeddedPostgresError,
    DatabaseNotEmpty,
    ConnectionError,
    OSError,
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
        uvicorn.run("server:app", host=host, port=port, workers=workers, log_level="info")


@app.command()
def migrate(
    revision: Annotated[str, typer.Argument(help="Target revision.")] = "head",
    down: Annotated[bool, typer.Option(help="Migrate down to REVISION (e.g. base).")] = False,
) -> None:
    """Migrate the database up (or down) to a revision."""
    with opened_database() as database:
        (migrations.downgrade if down else migrations.upgrade)(database.url, revision)


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


@contextmanager
def opened_database() -> Iterator[Database]:
    """The configured database, with the embedded server stopped afterwards if started here."""
    database = open_database(Settings.from_env())
    try:
        yield database
    finally:
        database.stop_if_started_here()


def check_port_free(host: str, port: int) -> None:
    """Fail early with a clear reason when `host:port` cannot be listened on."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as error:
            reason = "is taken" if error.errno == errno.EADDRINUSE else f"cannot be used ({error})"
            raise PortTaken(f"port {port} on {host} {reason}; choose another with --port") from None


def main() -> None:
    """Run the command line; expected failures end it with one line and exit status 1."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        app()
    except (*EXPECTED_FAILURES, PortTaken) as error:
        fail(str(error))
    except (DBAPIError, asyncpg.PostgresError) as error:
        # The driver's own message, without the statement SQLAlchemy would append.
        cause = getattr(error, "orig", None) or error
        fail(f"database unreachable or refused the request: {str(cause).splitlines()[0]}")


def fail(reason: str) -> None:
    """End the command with a one-line reason and exit status 1."""
    console.print(f"[red]error:[/red] {reason}", highlight=False)
    sys.exit(1)
