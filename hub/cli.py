"""The `engagement-hub` command line: serve, migrate, seed, import, export, schema, db, keys,
views, privacy.

Building the command line imports typer, rich and the standard library only, so that `--help`
and `--version` answer at once: a command imports what it needs when it runs, once it has
checked its arguments.
"""

import asyncio
import errno
import os
import signal
import socket
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Annotated, Literal, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from hub.config import Settings
from hub.embedded import EmbeddedPostgres
from hub.failures import Refused
from hub.privacy_cli import privacy

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from hub.database import Database
    from hub.demo.dataset import Dataset

PACKAGE = "engagement-hub"

# Plain help (rich_markup_mode=None): typer's rich panels label every flag `<bool>`, as if it
# took a value.
app = typer.Typer(
    rich_markup_mode=None,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
keys = typer.Typer(
    help="API keys of partner portals and internal tools (sent as `Authorization: Bearer`).",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(keys, name="keys")
views = typer.Typer(
    help="Saved views: named GraphQL queries served as JSON or CSV at /views/NAME.",
    rich_markup_mode=None,
    no_args_is_help=True,
)
app.add_typer(views, name="views")
app.add_typer(privacy, name="privacy")
# Messages are one line each, however long, for logs and the programs that read them.
console = Console(stderr=True, soft_wrap=True, highlight=False)
T = TypeVar("T")

# Data set tables a summary names, in this order (the rest count among the rows only).
HEADLINE_TABLES = (
    "states", "cities", "actors", "goals", "measures", "working_groups", "funders", "fundings",
    "applications",
)  # fmt: skip


class PortTaken(Refused):
    """The port `serve` should listen on is in use."""


def print_version(asked: bool) -> None:
    """`--version`: print the installed package's version and end."""
    if not asked:
        return
    try:
        typer.echo(f"{PACKAGE} {version(PACKAGE)}")
    except PackageNotFoundError:
        typer.echo(f"{PACKAGE} (not installed: run from its source tree)")
    raise typer.Exit()


@app.callback()
def hub(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """The GraphQL hub of the Engagierte Stadt network."""


@app.command()
def serve(
    host: Annotated[str, typer.Option(envvar="HUB_HOST", help="Interface to listen on.")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(envvar="HUB_PORT", min=1, max=65535, help="Port to listen on.")
    ] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Number of worker processes.")] = 1,
    demo: Annotated[bool, typer.Option(help="Load the demo data into an empty database.")] = True,
) -> None:
    """Migrate, load the demo data into an empty database, and serve GraphQL at /graphql."""
    check_port_free(host, port)
    import uvicorn

    from hub import migrations, uvicorn_protocol
    from hub.demo.demo import build_demo
    from hub.seeding import seed_if_empty

    with opened_database() as database:
        migrations.upgrade(database.url)
        if demo and (dataset := asyncio.run(seed_if_empty(database.url, build_demo))):
            console.print(f"Loaded the demo data set: {summary_of(dataset.rows, HEADLINE_TABLES)}.")
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
                http=uvicorn_protocol.PROTOCOL,
                log_level="info",
                access_log=False,
            )


@contextmanager
def shared_metrics(workers: int) -> Iterator[None]:
    """With several workers, a fresh directory for their metrics to count in together
    (prometheus-client's multiprocess mode), unless the environment names one already."""
    from hub.observability import MULTIPROCESS_DIRECTORY

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
    from hub import migrations

    with opened_database() as database:
        migrations.migrate(database.url, revision, down)


@app.command("seed")
def seed_command(
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="A synthetic data set instead of the demo.")
    ] = False,
    cities: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Cities of the synthetic data set (1000 unless given); implies --synthetic.",
        ),
    ] = None,
    random_seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seed of the synthetic data set (1 unless given); implies --synthetic."
        ),
    ] = None,
    reset: Annotated[
        bool, typer.Option("--reset", help="Replace whatever the database holds.")
    ] = False,
) -> None:
    """Load the demo data set (or a synthetic one) into an empty database."""
    from hub import migrations
    from hub.demo.demo import build_demo
    from hub.demo.synthetic import build_synthetic
    from hub.seeding import seed

    synthetic = synthetic or cities is not None or random_seed is not None

    def build() -> "Dataset":
        return build_synthetic(cities or 1000, random_seed or 1) if synthetic else build_demo()

    with opened_database() as database:
        migrations.upgrade(database.url)
        with LoadingBar() as bar:
            dataset = asyncio.run(seed(database.url, build, reset=reset, progress=bar))
    kind = "synthetic" if synthetic else "demo"
    console.print(f"Loaded the {kind} data set: {summary_of(dataset.rows, HEADLINE_TABLES)}.")


class LoadingBar:
    """A bar over a data set's rows, by table; drawn once loading begins, after the checks."""

    def __init__(self) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskID,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        self.progress = Progress(
            TextColumn("{task.description:<36}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            TaskProgressColumn(),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = TaskID(0)

    def __enter__(self) -> "LoadingBar":
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        if self.progress.live.is_started:  # stopping, it would print an empty line otherwise
            self.progress.stop()

    def begin(self, dataset: "Dataset") -> None:
        """Draw the bar, empty, over all of `dataset`'s rows."""
        total = sum(len(rows) for rows in dataset.rows.values())
        self.task = self.progress.add_task("Loading", total=total)
        self.progress.start()

    def loaded(self, table: str, rows: int) -> None:
        """Move the bar on by `rows` rows of `table`."""
        self.progress.update(self.task, advance=rows, description=f"Loading {table}")


def summary_of(rows: dict[str, list[T]], names: Iterable[str] | None = None) -> str:
    """How many rows of the tables (or entities) `names` (all unless given) hold, and of all:
    `16 states, 104 cities, … (4,813 rows in all)`."""
    shown = [name for name in names or rows if rows.get(name)]
    counts = ", ".join(f"{len(rows[name]):,} {name.replace('_', ' ')}" for name in shown)
    total = sum(len(table) for table in rows.values())
    return f"{counts} ({total:,} rows in all)"


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
    import json

    from hub import migrations
    from hub.transfer.importing import Summary, import_path
    from hub.transfer.problems import ImportRefused
    from hub.transfer.report import as_json, problems_table, summary_table

    check_place_for(report_json)
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
        stdout_console().print(problems_table(outcome))
        raise outcome
    stdout_console().print(summary_table(outcome))
    console.print(f"Imported {escape(str(file))}.")


@app.command()
def export(
    format: Annotated[
        Literal["json", "csv"] | None,
        typer.Option("--format", help="By default JSON for a .json or no --output, else CSV."),
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="A .json file, or a .zip file or directory for CSV; none: stdout."),
    ] = None,
) -> None:
    """Export everything `import` reads, in a stable order (contact persons stay out)."""
    if format == "csv" and output is None:
        raise typer.BadParameter(
            "CSV needs --output: a directory or a .zip file", param_hint="--format"
        )
    check_place_for(output)
    from hub.transfer.exporting import export_path

    with opened_database() as database:
        document = asyncio.run(export_path(database.url, output, format))
    place = "standard output" if output is None else escape(str(output))
    console.print(f"Exported {summary_of(document)} to {place}.")


@app.command()
def schema(
    output: Annotated[
        Path | None, typer.Option(help="Write the SDL to this file instead of stdout.")
    ] = None,
) -> None:
    """Print the GraphQL schema (SDL)."""
    check_place_for(output)
    from schema import schema as graphql_schema

    if output is None:
        typer.echo(graphql_schema.as_str())
        return
    output.write_text(graphql_schema.as_str() + "\n")
    console.print(f"Wrote the schema to {escape(str(output))}.")


@app.command()
def db(
    stop: Annotated[
        bool, typer.Option("--stop", help="Stop the embedded PostgreSQL instead.")
    ] = False,
    force: Annotated[
        bool, typer.Option("--force", help="With --stop: stop it even while hubs use it.")
    ] = False,
) -> None:
    """Print the database URL in use, for psql; the embedded PostgreSQL is started if needed
    and kept running until `db --stop`."""
    if force and not stop:
        raise typer.BadParameter("it goes with --stop only", param_hint="--force")
    if stop:
        embedded = EmbeddedPostgres.from_settings(configured_settings())
        if embedded.stop_unless_used(force):
            console.print(f"Stopped the embedded PostgreSQL in {escape(str(embedded.data_dir))}.")
        else:
            console.print("The embedded PostgreSQL is not running.")
        return
    from hub.database import asyncpg_dsn

    with opened_database() as database:
        if database.embedded is not None:
            database.embedded.keep_running()
        typer.echo(asyncpg_dsn(database.url))


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
    from hub.keys import create_key, resolve_grant

    async def create(session: "AsyncSession") -> tuple[int, str]:
        return await create_key(session, name, await resolve_grant(session, role, scope))

    key_id, key = in_transaction(create)
    typer.echo(key)
    console.print(
        f"Created key {key_id} ({role}{f' of {scope}' if scope else ''}). "
        "Store it now: it cannot be shown again."
    )


@keys.command("list")
def keys_list() -> None:
    """List the API keys: id, name, role, scope, prefix, created, revoked (never the key)."""
    from hub.keys import list_keys

    listings = in_transaction(list_keys)
    if not listings:
        console.print("No API keys yet; `engagement-hub keys create` makes one.")
        return
    table = listing_table("id", "name", "role", "scope", "prefix", "created (UTC)", "revoked (UTC)")
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
    stdout_console().print(table)


@keys.command("revoke")
def keys_revoke(key_id: Annotated[int, typer.Argument(metavar="ID", help="The key's id.")]) -> None:
    """Revoke an API key; running hubs refuse it within HUB_AUTH_CACHE_SECONDS."""
    from hub.keys import revoke_key

    async def revoke(session: "AsyncSession") -> tuple[datetime, bool]:
        return await revoke_key(session, key_id)

    revoked_at, revoked_just_now = in_transaction(revoke)
    if not revoked_just_now:
        console.print(f"Key {key_id} was revoked already, at {utc_minutes(revoked_at)} UTC.")
        return
    console.print(
        f"Revoked key {key_id}. Running hubs refuse it once their credential cache expires "
        "(HUB_AUTH_CACHE_SECONDS, 10 by default)."
    )


@views.command("save")
def views_save(
    name: Annotated[str, typer.Argument(help="The view's name in its URL, e.g. cities-of-nw.")],
    file: Annotated[Path, typer.Argument(help="A .graphql file with one query operation.")],
    description: Annotated[str, typer.Option(help="What the view shows.")] = "",
) -> None:
    """Save (or replace) a view: its query runs at /views/NAME, variables from the URL."""
    # Read first: a missing file is refused before the schema is even imported.
    values = {"name": name, "query": file.read_text(), "description": description}
    from sqlalchemy.dialects.postgresql import insert

    from hub.views import view_problems
    from models.views import SavedView
    from schema import schema as graphql_schema

    problems = view_problems(values, graphql_schema._schema)
    if problems:
        fail("; ".join(f"{problem.path[-1]}: {problem.message}" for problem in problems))

    async def save(session: "AsyncSession") -> None:
        upsert = insert(SavedView).values(values)
        await session.execute(
            upsert.on_conflict_do_update(index_elements=["name"], set_=upsert.excluded)
        )

    in_transaction(save)
    console.print(f"Saved the view {name}: GET /views/{name}")


@views.command("list")
def views_list() -> None:
    """List the saved views: name, URL, variables, description, when saved."""
    from graphql import parse
    from sqlalchemy import select

    from models.views import SavedView

    async def saved(session: "AsyncSession") -> list[SavedView]:
        return list(await session.scalars(select(SavedView).order_by(SavedView.name)))

    listings = in_transaction(saved)
    if not listings:
        console.print("No saved views yet; `engagement-hub views save NAME FILE` saves one.")
        return
    table = listing_table("name", "URL", "variables", "description", "saved (UTC)")
    for view in listings:
        variables = [
            f"${variable.variable.name.value}"
            for operation in parse(view.query).definitions
            for variable in getattr(operation, "variable_definitions", None) or ()
        ]
        table.add_row(
            view.name,
            f"/views/{view.name}",
            " ".join(variables),
            escape(view.description),
            utc_minutes(view.saved_at),
        )
    stdout_console().print(table)


@views.command("remove")
def views_remove(name: Annotated[str, typer.Argument(help="The view's name.")]) -> None:
    """Remove a view."""
    from sqlalchemy import delete

    from models.views import SavedView

    async def remove(session: "AsyncSession") -> bool:
        removed = delete(SavedView).where(SavedView.name == name).returning(SavedView.id)
        return (await session.scalar(removed)) is not None

    if not in_transaction(remove):
        fail(f"no view is named {name!r}")
    console.print(f"Removed the view {escape(name)}.")


def listing_table(*columns: str) -> Table:
    """A table of `columns` whose values fold onto further lines in a narrow terminal rather
    than being cut short."""
    table = Table()
    for column in columns:
        table.add_column(column, overflow="fold")
    return table


def stdout_console() -> Console:
    """Standard output: a terminal's width, or no limit for a pipe or file (whatever COLUMNS
    says), so that what programs read is never cut or folded."""
    terminal = Console()
    return terminal if terminal.is_terminal else Console(width=sys.maxsize, soft_wrap=True)


def in_transaction(work: Callable[["AsyncSession"], Awaitable[T]]) -> T:
    """Run `work` in one transaction on the configured database, committed if it succeeds."""
    from hub.database import engine_for, session_factory

    async def run(url: str) -> T:
        async with engine_for(url) as engine, session_factory(engine).begin() as session:
            return await work(session)

    with opened_database() as database:
        return asyncio.run(run(database.url))


def utc_minutes(moment: datetime) -> str:
    """A moment to the minute, in UTC."""
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def configured_settings() -> Settings:
    """The settings, with logging set up as they say."""
    from hub.observability import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_json, settings.log_level)
    return settings


@contextmanager
def opened_database() -> Iterator["Database"]:
    """The configured database; the embedded server (started or reused) counts this process
    among its users until the block ends, and the last user out stops it."""
    from hub.database import open_database

    database = open_database(configured_settings())
    try:
        yield database
    finally:
        database.release()


def check_place_for(output: Path | None) -> None:
    """Fail before anything starts when `output` could not be written: its directory is missing."""
    if output is None:
        return
    if not output.parent.exists():
        raise FileNotFoundError(errno.ENOENT, "no such directory", str(output.parent))
    if not output.parent.is_dir():
        raise NotADirectoryError(errno.ENOTDIR, "not a directory", str(output.parent))


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
    """Run the command line; failures the user can act on end it with one line and exit
    status 1."""
    try:
        app()
    except Exception as error:
        reason = reason_for(error)
        if reason is None:
            raise
        fail(reason)


def reason_for(error: Exception) -> str | None:
    """The one line to show for a failure the user can act on; None for a bug."""
    if isinstance(error, Refused):
        return str(error)
    if isinstance(error, ConnectionError):
        return f"database unreachable: {sentence_of(error)}"
    if isinstance(error, OSError):
        return sentence_of(error)
    # Imported only now, as a command that ran into one has imported them already.
    import asyncpg
    from sqlalchemy.exc import DBAPIError

    if isinstance(error, DBAPIError | asyncpg.PostgresError):
        # The driver's own message, without the statement SQLAlchemy would append.
        cause = getattr(error, "orig", None) or error
        return f"database unreachable or refused the request: {str(cause).splitlines()[0]}"
    return None


def sentence_of(error: OSError) -> str:
    """An operating system's refusal as a sentence, `PATH: no such file or directory`,
    rather than Python's `[Errno 2] No such file or directory: 'PATH'`."""
    reason = error.strerror or str(error)
    reason = reason[:1].lower() + reason[1:]
    return f"{os.fsdecode(error.filename)}: {reason}" if error.filename is not None else reason


def fail(reason: str) -> NoReturn:
    """End the command with a one-line reason and exit status 1."""
    console.print(f"[red]error:[/red] {escape(reason)}")
    sys.exit(1)
