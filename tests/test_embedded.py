"""The embedded PostgreSQL: both binary sources, restarts, reuse, its users, long paths and
clear errors."""

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from hub import embedded
from hub.config import Settings
from hub.embedded import (
    EmbeddedPostgres,
    EmbeddedPostgresError,
    InUse,
    NoPostgresAvailable,
    PgBinaries,
    find_binaries,
)

MakeServer = Callable[..., EmbeddedPostgres]


def binaries_or_skip(source: str) -> PgBinaries:
    """The binaries of `source`, or skip the test on machines without them."""
    try:
        return find_binaries(source)
    except NoPostgresAvailable:
        pytest.skip(f"no {source} PostgreSQL binaries on this machine")


async def query(url: str, *statements: str) -> list[Any]:
    """Run `statements` in one transaction over `url`; return the rows of the last one."""
    engine = create_async_engine(url)
    try:
        async with engine.begin() as connection:
            for statement in statements:
                result = await connection.execute(text(statement))
            return list(result.all()) if result.returns_rows else []
    finally:
        await engine.dispose()


@pytest.fixture
def workdir() -> Iterator[Path]:
    """A fresh directory in /tmp that the service user can traverse (pytest's tmp_path is 0700)."""
    path = Path(tempfile.mkdtemp(dir="/tmp", prefix="ehub-test-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def make_server(workdir: Path) -> Iterator[MakeServer]:
    """Build servers (default: `<workdir>/data`, auto binaries); stop them all afterwards."""
    servers: list[EmbeddedPostgres] = []

    def make(data_dir: Path | None = None, source: str = "auto") -> EmbeddedPostgres:
        server = EmbeddedPostgres(data_dir or workdir / "data", binaries_or_skip(source))
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.stop()
        if not server.socket_dir.is_relative_to(workdir):
            shutil.rmtree(server.socket_dir, ignore_errors=True)


@pytest.mark.parametrize("source", ["system", "pgserver"])
async def test_each_binary_source_serves_the_hub_database(
    source: str, make_server: MakeServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = make_server(source=source)
    with caplog.at_level(logging.INFO, logger="hub.embedded"):
        url = server.start()

    assert server.started_here and server.is_running()
    assert url == server.url and url.startswith("postgresql+asyncpg://postgres@/engagement_hub?")
    [(version, database, listen)] = await query(
        url, "select version(), current_database(), current_setting('listen_addresses')"
    )
    assert version.startswith(f"PostgreSQL {server.binaries.version}.")
    assert (database, listen) == ("engagement_hub", "")
    assert str(server.binaries.bindir) in caplog.text
    assert ("pg_trgm" in caplog.text) == (source == "pgserver")


async def test_data_survives_stop_and_start(make_server: MakeServer) -> None:
    first = make_server()
    await query(first.start(), "create table kept (n int)", "insert into kept values (42)")
    first.stop()
    assert not first.is_running()

    again = make_server(first.data_dir)
    assert await query(again.start(), "select n from kept") == [(42,)]
    assert again.started_here


async def test_second_instance_reuses_the_running_server(make_server: MakeServer) -> None:
    first = make_server()
    url = first.start()
    second = make_server(first.data_dir)

    assert second.start() == url
    assert first.started_here and not second.started_here  # so only the first one stops it
    assert await query(url, "select 1") == [(1,)]
    first.stop()
    assert not second.is_running()


@pytest.mark.parametrize("first_out", ["starter", "reuser"])
def test_the_last_user_out_stops_the_server_whoever_started_it(
    first_out: str, make_server: MakeServer
) -> None:
    starter = make_server()
    starter.start()
    reuser = make_server(starter.data_dir)
    reuser.start()
    first, last = (starter, reuser) if first_out == "starter" else (reuser, starter)

    first.release()
    assert last.is_running()
    last.release()
    assert not last.is_running()


def test_stop_is_refused_while_a_user_remains_unless_forced(make_server: MakeServer) -> None:
    make_server().start()
    stopper = make_server()

    with pytest.raises(InUse, match=rf"in use by pid {os.getpid()} \(.+\); stop them first"):
        stopper.stop_unless_used()
    assert stopper.is_running()
    assert stopper.stop_unless_used(force=True)
    assert not stopper.is_running()


def test_stopping_a_server_never_made_is_nothing_to_do(workdir: Path) -> None:
    server = EmbeddedPostgres(workdir / "never-made", binaries_or_skip("auto"))
    assert not server.stop_unless_used()
    assert not server.data_dir.exists()


def test_a_user_that_ended_without_releasing_counts_no_more(make_server: MakeServer) -> None:
    """A hub killed outright (SIGKILL, a crash) never releases; the kernel drops its lock."""
    server = make_server()
    using = (
        "import sys, time; from pathlib import Path; from hub.embedded import *; "
        "EmbeddedPostgres(Path(sys.argv[1]), find_binaries(sys.argv[2])).start(); "
        "print('started', flush=True); time.sleep(600)"
    )
    source = server.binaries.source
    with subprocess.Popen(
        [sys.executable, "-c", using, str(server.data_dir), source],
        stdout=subprocess.PIPE,
        text=True,
    ) as user:
        assert user.stdout is not None and user.stdout.readline() == "started\n"
        with pytest.raises(InUse, match=f"pid {user.pid} "):
            server.stop_unless_used()
        user.send_signal(signal.SIGKILL)
    assert server.stop_unless_used()
    assert list((server.data_dir / "users").iterdir()) == []


def test_kept_running_the_server_outlives_its_last_user(make_server: MakeServer) -> None:
    """What `db` asks for, so that psql can use it."""
    server = make_server()
    server.start()
    server.keep_running()
    server.release()
    assert server.is_running()
    assert server.stop_unless_used()
    assert not server.keep_file.exists()


def test_concurrent_starts_start_one_server(make_server: MakeServer) -> None:
    servers = [make_server(), make_server()]
    with ThreadPoolExecutor(max_workers=2) as pool:
        urls = set(pool.map(EmbeddedPostgres.start, servers))

    assert len(urls) == 1
    assert sorted(server.started_here for server in servers) == [False, True]


async def test_long_data_dir_gets_a_short_socket_dir(
    workdir: Path, make_server: MakeServer
) -> None:
    data_dir = workdir / ("d" * 100) / "data"
    server = make_server(data_dir)

    assert server.socket_dir.parent == Path("/tmp") and server.socket_dir.name.startswith("ehub-")
    assert EmbeddedPostgres(data_dir, server.binaries).socket_dir == server.socket_dir
    assert await query(server.start(), "select 1") == [(1,)]


def test_no_binaries_names_the_ways_out(monkeypatch: pytest.MonkeyPatch, workdir: Path) -> None:
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(embedded, "SYSTEM_BIN_GLOB", str(workdir / "*" / "bin"))

    with pytest.raises(NoPostgresAvailable) as raised:
        find_binaries("system")
    message = str(raised.value)
    assert "DATABASE_URL" in message and "apt-get install postgresql" in message
    assert "pip install pgserver" in message


def test_unknown_binary_preference_is_rejected() -> None:
    with pytest.raises(ValueError, match="auto, system, pgserver"):
        find_binaries("homebrew")


def test_from_settings_prefers_binaries_of_the_cluster_version(workdir: Path) -> None:
    system, bundled = binaries_or_skip("system"), binaries_or_skip("pgserver")
    if system.version == bundled.version:
        pytest.skip("both binary sources have the same major version")
    (workdir / "data" / "pgdata").mkdir(parents=True)
    (workdir / "data" / "pgdata" / "PG_VERSION").write_text(f"{bundled.version}\n")
    settings = replace(
        Settings.from_env(), database_url=None, data_dir=workdir / "data", pg_binaries="auto"
    )

    assert EmbeddedPostgres.from_settings(settings).binaries == bundled
    with pytest.raises(EmbeddedPostgresError, match=f"PostgreSQL {bundled.version} cluster"):
        EmbeddedPostgres(workdir / "data", system).start()


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_untraversable_ancestor_is_a_clear_error(workdir: Path) -> None:
    locked = workdir / "locked"
    locked.mkdir(mode=0o700)
    server = EmbeddedPostgres(locked / "hub", binaries_or_skip("auto"))

    with pytest.raises(EmbeddedPostgresError, match="HUB_DATA_DIR") as raised:
        server.start()
    assert f"cannot traverse {locked} " in str(raised.value)
    assert not (locked / "hub").exists()
