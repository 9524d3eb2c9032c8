"""Load from wrk: one closed-loop run of some request bodies against one URL."""

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).with_name("mix.lua")
RESULT_MARKER = "BENCH_RESULT "
# Slow queries at 50 connections queue for seconds; they count, they are not timeouts.
REQUEST_TIMEOUT = "60s"


class LoadError(RuntimeError):
    """wrk is missing, failed, or the server answered with errors."""


@dataclass(frozen=True)
class LoadResult:
    """What one wrk run measured."""

    requests: int
    seconds: float
    errors: int
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def wrk_path() -> str:
    """Where wrk is; a clear error when it is not installed."""
    path = shutil.which("wrk")
    if path is None:
        raise LoadError("wrk is not installed: apt-get install -y wrk")
    return path


def run_wrk(url: str, bodies: list[Path], connections: int, seconds: float) -> LoadResult:
    """Drive `url` with `connections` connections for `seconds`, POSTing `bodies` in turn."""
    command = wrk_command(url, list(map(str, bodies)), connections, seconds)
    finished = subprocess.run(command, capture_output=True, text=True, check=False)
    return parse_output(finished.stdout, finished.stderr)


def wrk_command(url: str, arguments: list[str], connections: int, seconds: float) -> list[str]:
    """wrk with the benchmark's script and its `arguments` (see bench/mix.lua).

    One wrk thread: on a small machine a second one only takes CPU from the server under test.
    """
    return [
        wrk_path(),
        "--threads=1",
        f"--connections={connections}",
        f"--duration={max(round(seconds), 1)}s",
        f"--timeout={REQUEST_TIMEOUT}",
        f"--script={SCRIPT}",
        url,
        "--",
        *arguments,
    ]


def parse_output(stdout: str, stderr: str = "") -> LoadResult:
    """The result line the script prints; a LoadError when there is none."""
    for line in stdout.splitlines():
        if line.startswith(RESULT_MARKER):
            return result_of(json.loads(line.removeprefix(RESULT_MARKER)))
    raise LoadError(f"wrk printed no result: {(stderr or stdout).strip()[:500]}")


def result_of(raw: dict[str, Any]) -> LoadResult:
    """A LoadResult from the script's JSON (microseconds become milliseconds)."""
    latency = raw["latency_us"]
    return LoadResult(
        requests=raw["requests"],
        seconds=raw["duration_us"] / 1e6,
        errors=sum(raw["errors"].values()),
        p50_ms=latency["p50"] / 1000,
        p95_ms=latency["p95"] / 1000,
        p99_ms=latency["p99"] / 1000,
    )
