"""The servers under test, started as users run them and stopped with all their workers.

The hub and the floor run under uvicorn with production settings (uvloop, the hub's httptools
protocol, no access log); PostGraphile runs on Node.js 22 with node:cluster workers sharing the
port.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.mix import Query, Variables
from hub.uvicorn_protocol import PROTOCOL

ROOT = Path(__file__).resolve().parent.parent
POSTGRAPHILE_DIR = ROOT / "bench" / "postgraphile"
NODE = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "node"
HOST = "127.0.0.1"
# The 500-cities query asks for 500 cities in one page; the hub's default maximum is 100.
MAX_PAGE_SIZE = 500
# The benchmark times throughput, not the rate limits: a budget per hour that no run exhausts,
# so that each request is still charged as in production.
RATE_LIMIT = 10**15
STARTUP_SECONDS = 90.0

HUB, POSTGRAPHILE, FLOOR = "hub", "postgraphile", "floor"
SERVERS = (HUB, POSTGRAPHILE, FLOOR)


class ServerError(RuntimeError):
    """A server did not start, or answered a request with an error."""


@dataclass
class Server:
    """A server: its kind, how it starts, where it listens, and its process once started."""

    kind: str
    command: list[str]
    directory: Path
    environment: dict[str, str]
    port: int
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Start the server in a process group of its own; wait until it answers."""
        with self.log.open("ab") as output:
            self.process = subprocess.Popen(
                self.command,
                cwd=self.directory,
                env=self.environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_ready(self)

    def stop(self) -> None:
        """Stop the server with all its workers."""
        if self.process is not None:
            stop(self.process)
            self.process = None

    def restart(self) -> None:
        """Stop and start again: drops whatever the server is still busy with."""
        self.stop()
        self.start()

    @property
    def pid(self) -> int:
        """The root process (uvicorn's supervisor, node's cluster primary, or the only one)."""
        if self.process is None:
            raise ServerError(f"{self.kind} is not running")
        return self.process.pid

    def url(self, query: Query) -> str:
        """Where `query` is asked of this server."""
        path = f"/floor/{query.name}" if self.kind == FLOOR else "/graphql"
        return f"http://{HOST}:{self.port}{path}"

    def body(self, query: Query, variables: Variables) -> bytes:
        """The request body that asks `query` of this server."""
        if self.kind == FLOOR:
            return json.dumps({"variables": variables}).encode()
        if self.kind == HUB:
            graphql = query.hub
        elif query.postgraphile is not None:
            graphql = query.postgraphile.graphql
        else:
            raise ServerError(f"PostGraphile has no equivalent of {query.name}")
        return json.dumps({"query": graphql, "variables": variables}).encode()

    def ask(self, query: Query, variables: Variables) -> dict[str, Any]:
        """One request for `query`; the response's JSON (GraphQL errors included)."""
        return self._post(self.url(query), self.body(query, variables))

    def ask_graphql(self, graphql: str) -> dict[str, Any]:
        """One GraphQL request without variables (the hub's and PostGraphile's /graphql)."""
        return self._post(f"http://{HOST}:{self.port}/graphql", json.dumps({"query": graphql}))

    def _post(self, url: str, body: bytes | str) -> dict[str, Any]:
        """POST a JSON body; the response's JSON, or a ServerError for any status but 200."""
        response = httpx.post(
            url, content=body, headers={"content-type": "application/json"}, timeout=120
        )
        if response.status_code != 200:
            raise ServerError(f"{self.kind} answered {response.status_code}: {response.text[:300]}")
        answer: dict[str, Any] = response.json()
        return answer

    def statements(self) -> int:
        """SQL statements PostGraphile ran since the last call (its counting mode only)."""
        response = httpx.get(f"http://{HOST}:{self.port}/bench/statements", timeout=10)
        count: int = response.json()["statements"]
        return count


def free_port() -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        port: int = probe.getsockname()[1]
        return port


def uvicorn_command(app: str, port: int, workers: int, directory: Path) -> list[str]:
    """uvicorn as the hub runs in production: uvloop, the HTTP protocol of the code in
    `directory` (httptools' own for a commit from before `hub.uvicorn_protocol`), no access
    log."""
    protocol = PROTOCOL if (directory / "hub" / "uvicorn_protocol.py").exists() else "httptools"
    return [
        *(sys.executable, "-m", "uvicorn", app),
        *("--host", HOST, "--port", str(port), "--workers", str(workers)),
        *("--loop", "uvloop", "--http", protocol, "--no-access-log", "--log-level", "warning"),
    ]


@dataclass(frozen=True)
class HubSource:
    """The hub's code (a directory: the work tree, or an export of a commit) and settings."""

    directory: Path = ROOT
    commit: str = ""
    settings: tuple[tuple[str, str], ...] = ()

    def environment(self, database_url: str, debug: bool = False) -> dict[str, str]:
        """The hub's environment: production settings with the bench database, pages of 500,
        no rate limit in reach, the code of `directory` first on the path, the extra settings,
        and debugging only when asked for."""
        environment = {
            key: value for key, value in os.environ.items() if not key.startswith("HUB_")
        }
        environment |= {
            "DATABASE_URL": database_url,
            "HUB_ENV": "production",
            "HUB_MAX_PAGE_SIZE": str(MAX_PAGE_SIZE),
            "HUB_RATE_LIMIT_PUBLIC": str(RATE_LIMIT),
            "HUB_RATE_LIMIT_KEY": str(RATE_LIMIT),
            "PYTHONPATH": str(self.directory),
            **dict(self.settings),
        }
        if debug:
            environment["HUB_DEBUG"] = "1"
        return environment


def command_of(kind: str, port: int, workers: int, hub: HubSource) -> tuple[list[str], Path]:
    """The command line and working directory of a server."""
    if kind == HUB:
        return uvicorn_command("server:app", port, workers, hub.directory), hub.directory
    if kind == FLOOR:
        return uvicorn_command("bench.floor:app", port, workers, ROOT), ROOT
    install_postgraphile()
    return [str(NODE), "server.mjs"], POSTGRAPHILE_DIR


def install_postgraphile() -> None:
    """PostGraphile 5 and Node.js 22 from npm, as the lock file pins them, unless installed."""
    if not NODE.exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=POSTGRAPHILE_DIR, check=True)


def environment_of(
    kind: str, database_url: str, port: int, workers: int, debug: bool, hub: HubSource
) -> dict[str, str]:
    """The environment of a server; `debug` counts SQL statements (hub and PostGraphile)."""
    if kind == HUB:
        return hub.environment(database_url, debug)
    environment = HubSource().environment(database_url)
    if kind == POSTGRAPHILE:
        environment |= {
            "HOST": HOST,
            "PORT": str(port),
            "WORKERS": str(workers),
            "GRAPHILE_ENV": "production",
            "NODE_ENV": "production",
            "COUNT_STATEMENTS": "1" if debug else "0",
        }
    return environment


@contextmanager
def running(
    kind: str,
    database_url: str,
    workers: int = 1,
    debug: bool = False,
    hub: HubSource = HubSource(),
) -> Iterator[Server]:
    """A server of `kind` on the database, ready to answer; stopped with all its workers."""
    port = free_port()
    command, directory = command_of(kind, port, workers, hub)
    environment = environment_of(kind, database_url, port, workers, debug, hub)
    log = Path(tempfile.mkstemp(prefix=f"bench-{kind}-", suffix=".log")[1])
    server = Server(kind, command, directory, environment, port, log)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        log.unlink(missing_ok=True)


def wait_ready(server: Server) -> None:
    """Wait until the server answers a trivial request; fail with its log if it exits."""
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.process is None or server.process.poll() is not None:
            raise ServerError(f"{server.kind} exited: {server.log.read_text()[-2000:]}")
        if answers(server):
            return
        time.sleep(0.2)
    raise ServerError(f"{server.kind} did not start in {STARTUP_SECONDS:.0f} s")


def answers(server: Server) -> bool:
    """Whether the server answers: /readyz for the hub and the floor, a query for PostGraphile."""
    base = f"http://{HOST}:{server.port}"
    try:
        if server.kind == POSTGRAPHILE:
            response = httpx.post(f"{base}/graphql", json={"query": "{ __typename }"}, timeout=5)
        else:
            response = httpx.get(f"{base}/readyz", timeout=5)
    except httpx.TransportError:
        return False
    return response.status_code == 200


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server's process group (the server and its workers): TERM, then KILL.

    The group is the one the server was started in, so nothing else is signalled; its KILL
    also ends workers that outlived their parent.
    """
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with suppress(subprocess.TimeoutExpired):
        process.wait(timeout=15)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
