"""The `engagement-hub` command: real processes, a real embedded PostgreSQL, real HTTP."""

import asyncio
import importlib.metadata
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg
import httpx
import pytest
import typer.main
from rich.console import Console
from typer.testing import CliRunner

from hub import migrations
from hub.cli import PortTaken, app, check_port_free, listing_table
from hub.database import asyncpg_dsn, engine_for, session_factory
from hub.embedded import find_binaries
from hub.keys import hash_key
from server import create_app
from tests.conftest import create_database, drop_database
from tests.factories import add_city, add_funder

COMMAND = str(Path(sys.executable).parent / "engagement-hub")
SDL_FILE = Path(__file__).resolve().parent.parent / "schema.graphql"
STARTUP_SECONDS = 90
# What serving and the database need; the command line itself must not import it.
HEAVY_MODULES = (
    "sqlalchemy", "asyncpg", "strawberry", "graphql", "uvicorn", "starlette", "alembic",
    "schema", "server", "models", "resolvers", "hub.database", "hub.demo", "hub.transfer",
)  # fmt: skip
UNREACHABLE_DATABASE = "postgresql://postgres@127.0.0.1:1/none"


def hub(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the command to completion."""
    return subprocess.run(
        [COMMAND, *args], env=env, capture_output=True, text=True, timeout=STARTUP_SECONDS
    )


def environment(**overrides: str) -> dict[str, str]:
    """This process's environment without DATABASE_URL, plus `overrides`."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    return env | overrides


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def serving(
    port: int,
    env: dict[str, str],
    stop: signal.Signals = signal.SIGINT,
    options: tuple[str, ...] = (),
) -> Iterator[subprocess.Popen[str]]:
    """`engagement-hub serve` on `port` (with `options`) until its /readyz answers; stopped by
    `stop` afterwards (Ctrl+C's SIGINT unless told)."""
    process = started_hub(port, env, options)
    try:
        yield process
    finally:
        stop_hub(process, stop)


def started_hub(
    port: int, env: dict[str, str], options: tuple[str, ...] = ()
) -> subprocess.Popen[str]:
    """`engagement-hub serve` on `port` (with `options`), once its /readyz answers."""
    process = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port), *options],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    wait_until_ready(port, process)
    return process


def stop_hub(process: subprocess.Popen[str], stop: signal.Signals = signal.SIGINT) -> None:
    """Stop a hub as `stop` (Ctrl+C's SIGINT unless told) does, and wait for it to end."""
    process.send_signal(stop)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def wait_until_ready(port: int, process: subprocess.Popen[str]) -> None:
    """Poll /readyz until it answers 200; fail with the server's output if it dies first."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode}:\n{process.stdout.read()}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz").status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    pytest.fail("serve did not become ready in time")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    """A data directory for an embedded PostgreSQL of the test's own."""
    path = Path(tempfile.mkdtemp(prefix="ehub-cli-", dir="/tmp"))
    yield path
    hub("db", "--stop", "--force", env=environment(HUB_DATA_DIR=str(path)))
    subprocess.run(["rm", "-rf", str(path)], check=False)


@pytest.mark.slow
def test_serve_on_the_embedded_database_answers_states_and_demo_cities(data_dir: Path) -> None:
    env = environment(HUB_DATA_DIR=str(data_dir))
    first_port, second_port = free_port(), free_port()
    query = {"query": "{ states { code } cities { totalCount } }"}
    first = started_hub(first_port, env)
    try:
        data = httpx.post(f"http://127.0.0.1:{first_port}/graphql", json=query).json()["data"]
        assert len(data["states"]) == 16
        assert data["cities"]["totalCount"] == 104
        # A second hub on the same data directory reuses the running PostgreSQL.
        second = started_hub(second_port, env)
    finally:
        stop_hub(first)
    try:
        assert first.returncode == 0
        # The first hub started the embedded PostgreSQL; the second still uses it.
        answer = httpx.post(f"http://127.0.0.1:{second_port}/graphql", json=query)
        assert answer.json()["data"]["cities"]["totalCount"] == 104
        refused = hub("db", "--stop", env=env)
        assert refused.returncode == 1
        assert refused.stderr.startswith(
            f"error: the embedded PostgreSQL is in use by pid {second.pid} (engagement-hub serve "
        )
    finally:
        stop_hub(second)
    assert second.returncode == 0
    # The last hub out stopped it.
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


@pytest.mark.slow
def test_db_stop_force_stops_the_embedded_database_while_a_hub_uses_it(data_dir: Path) -> None:
    env = environment(HUB_DATA_DIR=str(data_dir))
    with serving(free_port(), env):
        forced = hub("db", "--stop", "--force", env=env)
        assert forced.returncode == 0, forced.stderr
        assert forced.stderr.strip() == f"Stopped the embedded PostgreSQL in {data_dir}."
        assert not (data_dir / "pgdata" / "postmaster.pid").exists()


@pytest.mark.slow
def test_db_keeps_the_embedded_database_running_for_psql(data_dir: Path) -> None:
    env = environment(HUB_DATA_DIR=str(data_dir))
    printed = hub("db", env=env)
    assert printed.returncode == 0, printed.stderr
    psql = [find_binaries().bindir / "psql", printed.stdout.strip(), "-Atc", "select 1"]
    assert subprocess.run(psql, capture_output=True, text=True).stdout == "1\n"
    stopped = hub("db", "--stop", env=env)
    assert stopped.returncode == 0, stopped.stderr
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


@pytest.mark.slow
def test_serve_stopped_by_sigterm_stops_the_embedded_database(data_dir: Path) -> None:
    """What systemd and container runtimes send ends the hub as Ctrl+C does."""
    env = environment(HUB_DATA_DIR=str(data_dir))
    with serving(free_port(), env, stop=signal.SIGTERM) as hub:
        assert (data_dir / "pgdata" / "postmaster.pid").exists()
    assert hub.returncode == 0
    assert not (data_dir / "pgdata" / "postmaster.pid").exists()


def test_serve_refuses_a_taken_port_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = hub("serve", "--port", str(port), env=environment(HUB_DATA_DIR="/nonexistent"))
    assert result.returncode == 1
    assert (
        result.stderr.strip()
        == f"error: port {port} on 127.0.0.1 is taken; choose another with --port"
    )


def test_a_port_whose_last_connections_wait_out_time_wait_is_free() -> None:
    """A hub stopped a moment ago leaves its closed connections in TIME-WAIT; its port is free
    to listen on again (uvicorn binds with SO_REUSEADDR), and `serve` said it was taken."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn listens
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with socket.create_connection(("127.0.0.1", port)) as client:
            accepted, _ = listener.accept()
            accepted.close()  # the server's side closes first: it waits out TIME-WAIT
            client.recv(1)
    check_port_free("127.0.0.1", port)
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", port))
        taken.listen()
        with pytest.raises(PortTaken):
            check_port_free("127.0.0.1", port)


def test_serve_takes_host_and_port_from_the_environment() -> None:
    """As containers and `make serve PORT=…` choose them."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = hub(
            "serve",
            env=environment(HUB_HOST="localhost", HUB_PORT=str(port), HUB_DATA_DIR="/nonexistent"),
        )
    assert result.returncode == 1
    assert result.stderr.startswith(f"error: port {port} on localhost is taken")


def test_unreachable_database_is_one_line_and_exit_1() -> None:
    result = hub("migrate", env=environment(DATABASE_URL=UNREACHABLE_DATABASE))
    assert result.returncode == 1
    assert result.stderr.startswith("error: ")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.stderr


def test_schema_prints_the_checked_in_sdl() -> None:
    result = hub("schema", env=environment())
    assert result.returncode == 0
    assert result.stdout == SDL_FILE.read_text()


def test_db_prints_a_url_psql_accepts(database_url: str) -> None:
    result = hub("db", env=environment(DATABASE_URL=database_url))
    assert result.stdout.strip() == asyncpg_dsn(database_url)
    psql = subprocess.run(
        [
            find_binaries().bindir / "psql",
            result.stdout.strip(),
            "-Atc",
            "select count(*) from states",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert psql.stdout.strip() == "0"


def test_seed_refuses_a_database_with_data_before_drawing_a_bar(demo_database_url: str) -> None:
    result = hub("seed", env=environment(DATABASE_URL=demo_database_url))
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1] == (
        "error: the database already holds data; seed --reset replaces it"
    )
    assert "Loading" not in result.stderr


async def test_seed_with_cities_loads_a_synthetic_set_counting_rows_and_sums_it_up(
    empty_url: str,
) -> None:
    """--cities implies --synthetic; the bar counts rows up to all of them."""
    result = await asyncio.to_thread(
        hub, "seed", "--cities", "3", env=environment(DATABASE_URL=empty_url)
    )
    assert result.returncode == 0, result.stderr
    summary = re.search(
        r"^Loaded the synthetic data set: 16 states, 3 cities, .*\(([\d,]+) rows in all\)\.$",
        result.stderr,
        re.MULTILINE,
    )
    assert summary is not None, result.stderr
    rows = summary.group(1).replace(",", "")
    assert re.search(rf"\b{rows}/{rows} rows 100%", result.stderr)
    connection = await asyncpg.connect(asyncpg_dsn(empty_url))
    try:
        assert await connection.fetchval("SELECT count(*) FROM cities") == 3
    finally:
        await connection.close()


def test_export_of_csv_without_a_place_is_refused_before_anything_starts() -> None:
    result = hub("export", "--format", "csv", env=environment(DATABASE_URL=UNREACHABLE_DATABASE))
    assert result.returncode == 2
    assert "CSV needs --output: a directory or a .zip file" in result.stderr
    assert "unreachable" not in result.stderr


def test_export_says_what_it_wrote_where(demo_database_url: str, tmp_path: Path) -> None:
    output = tmp_path / "network.json"
    result = hub("export", "--output", str(output), env=environment(DATABASE_URL=demo_database_url))
    assert result.returncode == 0, result.stderr
    counts = r"12 themes, 104 cities, .*, [\d,]+ fundings \([\d,]+ rows in all\)"
    assert re.fullmatch(rf"Exported {counts} to {output}\.\n", result.stderr)
    assert output.stat().st_size > 0


NO_DIRECTORY = "/nonexistent: no such directory"
NO_FILE = "/nonexistent.graphql: no such file or directory"


@pytest.mark.parametrize(
    ("arguments", "reason"),
    [
        (["views", "save", "v", "/nonexistent.graphql"], NO_FILE),
        (["views", "save", "v", "/"], "/: is a directory"),
        (["schema", "--output", "/nonexistent/schema.graphql"], NO_DIRECTORY),
        (["schema", "--output", f"{SDL_FILE}/schema.graphql"], f"{SDL_FILE}: not a directory"),
        (["export", "--output", "/nonexistent/network.json"], NO_DIRECTORY),
        (["import", str(SDL_FILE), "--report-json", "/nonexistent/report.json"], NO_DIRECTORY),
    ],
)  # fmt: skip
def test_a_path_that_cannot_be_used_is_one_sentence_before_anything_starts(
    arguments: list[str], reason: str
) -> None:
    """Never Python's `[Errno 2] No such file or directory: '…'`; and the unreachable database
    shows that the command refused before it started anything."""
    result = hub(*arguments, env=environment(DATABASE_URL=UNREACHABLE_DATABASE))
    assert result.returncode == 1
    assert result.stderr == f"error: {reason}\n"


def test_help_lists_the_commands() -> None:
    result = hub("--help", env=environment())
    for command in (
        "serve",
        "migrate",
        "seed",
        "import",
        "export",
        "schema",
        "db",
        "keys",
        "views",
    ):
        assert command in result.stdout


def test_version_is_the_installed_package_version() -> None:
    result = hub("--version", env=environment())
    assert result.returncode == 0
    assert result.stdout == f"engagement-hub {importlib.metadata.version('engagement-hub')}\n"


@pytest.mark.parametrize(
    "arguments", [["--help"], ["--version"], ["seed", "--help"], ["keys", "list", "--help"]]
)
def test_help_and_version_import_nothing_of_the_server_or_database(arguments: list[str]) -> None:
    """What makes them answer at once: every module Python imports (`-X importtime` lists
    them) is of the command line itself, typer, rich or the standard library."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", COMMAND, *arguments],
        env=environment(),
        capture_output=True,
        text=True,
        check=True,
    )
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines()}
    assert "hub.cli" in imported and "typer" in imported
    heavy = sorted(
        name
        for name in imported
        for root in HEAVY_MODULES
        if name == root or name.startswith(root + ".")
    )
    assert heavy == []


def every_command(
    group: typer.main.TyperGroup, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, ...]]:
    """The path of every command and group of the command line, the root's included."""
    yield path
    for name, command in group.commands.items():
        if isinstance(command, typer.main.TyperGroup):
            yield from every_command(command, (*path, name))
        else:
            yield (*path, name)


@pytest.mark.parametrize(
    "path",
    list(every_command(typer.main.get_group(app))),
    ids=lambda path: " ".join(path) or "root",
)
def test_help_shows_flags_as_flags(path: tuple[str, ...]) -> None:
    """A flag takes no value: its help shows `--reset` or `--demo / --no-demo`, never `<bool>`."""
    result = CliRunner().invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "--help" in result.output
    assert "bool" not in result.output


@pytest.fixture(scope="module")
async def keys_database_url(server_url: str) -> AsyncIterator[str]:
    """A migrated database with a city and a funder, for the `keys` commands to commit to."""
    url = await create_database(server_url)
    await asyncio.to_thread(migrations.upgrade, url)
    async with engine_for(url) as engine, session_factory(engine).begin() as session:
        await add_city(session, slug="koenigswinter", state_code="NW")
        await add_funder(session, slug="buergerstiftung")
    yield url
    await drop_database(server_url, url)


async def keys(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run `engagement-hub keys ARGS` on the database of `url`, with COLUMNS narrower than
    its tables: read through a pipe, they are shown whole whatever the width."""
    return await asyncio.to_thread(
        hub, "keys", *args, env=environment(DATABASE_URL=url, COLUMNS="40")
    )


async def created_key(url: str, *args: str) -> tuple[int, str]:
    """`keys create ARGS`: the id it reports and the key it prints."""
    result = await keys(url, "create", *args)
    assert result.returncode == 0, result.stderr
    created = re.search(r"Created key (\d+)", result.stderr)
    assert created is not None, result.stderr
    return int(created.group(1)), result.stdout.strip()


async def status_with_key(url: str, key: str) -> int:
    """The HTTP status of a GraphQL query to the app on `url` with `key` as bearer."""
    async with engine_for(url) as engine:
        app = create_app(sessions=session_factory(engine))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub.test") as client:
            response = await client.post(
                "/graphql",
                json={"query": "{ states { code } }"},
                headers={"Authorization": f"Bearer {key}"},
            )
    return response.status_code


async def test_keys_create_prints_a_key_once_that_opens_the_api(keys_database_url: str) -> None:
    result = await keys(
        keys_database_url, "create", "--role", "coordinator", "--scope", "city:koenigswinter",
        "--name", "Portal Königswinter",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    [key] = result.stdout.split()
    assert key.startswith("ehub_")
    assert "cannot be shown again" in " ".join(result.stderr.split())
    assert await status_with_key(keys_database_url, key) == 200


async def test_keys_list_shows_scope_and_prefix_never_the_key_or_its_hash(
    keys_database_url: str,
) -> None:
    key_id, key = await created_key(
        keys_database_url, "--role", "funder", "--scope", "funder:buergerstiftung",
        "--name", "Förderportal der Bürgerstiftung Königswinter",
    )  # fmt: skip
    result = await keys(keys_database_url, "list")
    assert result.returncode == 0, result.stderr
    [row] = [line for line in result.stdout.splitlines() if f" {key_id} " in line]
    for shown in (
        "Förderportal der Bürgerstiftung Königswinter",
        "funder",
        "funder:buergerstiftung",
        key[:12],
    ):
        assert shown in row
    assert key not in result.stdout
    assert hash_key(key) not in result.stdout


async def test_keys_revoke_refuses_the_key_and_is_idempotent(keys_database_url: str) -> None:
    key_id, key = await created_key(keys_database_url, "--role", "admin", "--name", "Intern")
    first = await keys(keys_database_url, "revoke", str(key_id))
    assert first.returncode == 0, first.stderr
    assert f"Revoked key {key_id}." in first.stderr
    assert await status_with_key(keys_database_url, key) == 401
    again = await keys(keys_database_url, "revoke", str(key_id))
    assert again.returncode == 0
    assert "was revoked already" in again.stderr


async def test_keys_revoke_of_an_unknown_id_is_an_error(keys_database_url: str) -> None:
    result = await keys(keys_database_url, "revoke", "999999")
    assert result.returncode == 1
    assert result.stderr.startswith("error: No API key has the id 999999")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--role", "admin", "--scope", "state:NW"], "The admin role takes no scope"),
        (["--role", "funder"], "The funder role needs the scope funder:<slug>."),
        (
            ["--role", "state_partner", "--scope", "city:koenigswinter"],
            "The state_partner role needs the scope state:<code>.",
        ),
        (["--role", "state_partner", "--scope", "state:XX"], "Unknown state in scope 'state:XX'"),
        (["--role", "funder", "--scope", "funder:nobody"], "Unknown funder in scope"),
        (["--role", "public"], "Unknown role 'public'"),
        (["--role", "funder", "--scope", "funder:[/red]"], "Unknown funder in scope"),
    ],
)
async def test_keys_create_refuses_a_scope_that_does_not_fit(
    keys_database_url: str, arguments: list[str], message: str
) -> None:
    result = await keys(keys_database_url, "create", *arguments, "--name", "Refused")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {message}")


def test_a_listing_in_a_narrow_terminal_folds_its_values_rather_than_cutting_them() -> None:
    values = ("12", "Förderportal der Bürgerstiftung Königswinter", "funder:buergerstiftung")
    table = listing_table("id", "name", "scope")
    table.add_row(*values)
    terminal = Console(width=30, record=True)
    terminal.print(table)
    body = [line.split("│")[1:-1] for line in terminal.export_text().splitlines() if "│" in line]
    columns = ["".join(column).replace(" ", "") for column in zip(*body, strict=True)]
    assert columns == [value.replace(" ", "") for value in values]


async def test_views_list_shows_each_view_with_its_url_and_variables(
    keys_database_url: str, tmp_path: Path
) -> None:
    query = tmp_path / "cities.graphql"
    query.write_text("query Cities($first: Int) { cities(first: $first) { totalCount } }")
    env = environment(DATABASE_URL=keys_database_url, COLUMNS="40")
    saved = await asyncio.to_thread(
        hub, "views", "save", "cities-of-nw", str(query), "--description", "Cities of NW", env=env
    )
    assert saved.returncode == 0, saved.stderr
    listed = await asyncio.to_thread(hub, "views", "list", env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = [line for line in listed.stdout.splitlines() if " cities-of-nw " in line]
    for shown in ("/views/cities-of-nw", "$first", "Cities of NW"):
        assert shown in row
