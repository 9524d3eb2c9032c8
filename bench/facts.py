"""The machine and the software versions a run measured, for the report."""

import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from bench.servers import NODE, POSTGRAPHILE_DIR, ROOT

PYTHON_PACKAGES = (
    "strawberry-graphql",
    "graphql-core",
    "starlette",
    "uvicorn",
    "uvloop",
    "httptools",
    "sqlalchemy",
    "asyncpg",
)


def machine() -> dict[str, str]:
    """Cores, memory, CPU model, kernel and OS of this machine."""
    return {
        "cores": str(os.cpu_count()),
        "memory": f"{memory_gib():.0f} GiB",
        "cpu": cpu_model(),
        "kernel": platform.release(),
        "os": os_name(),
    }


def memory_gib() -> float:
    """Total memory, from /proc/meminfo."""
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return int(line.split()[1]) / 2**20
    return 0.0


def cpu_model() -> str:
    """The CPU's model name, from /proc/cpuinfo."""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return platform.processor() or "unknown"


def os_name() -> str:
    """The distribution's pretty name, from /etc/os-release."""
    release = Path("/etc/os-release")
    if release.exists():
        for line in release.read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.partition("=")[2].strip('"')
    return platform.system()


def versions(postgres: str) -> dict[str, str]:
    """Python, the hub's stack, PostgreSQL, PostGraphile, Node.js and wrk."""
    found = {"Python": platform.python_version()}
    for package in PYTHON_PACKAGES:
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            found[package] = "not installed"
    found["PostgreSQL"] = postgres
    found["PostGraphile"] = postgraphile_version()
    found["Node.js"] = command_output([str(NODE), "--version"]).removeprefix("v")
    found["wrk"] = command_output(["wrk", "--version"]).split(" [")[0].removeprefix("wrk ")
    return found


def postgraphile_version() -> str:
    """The installed PostGraphile, from its package.json."""
    package = POSTGRAPHILE_DIR / "node_modules" / "postgraphile" / "package.json"
    if not package.exists():
        return "not installed"
    return str(json.loads(package.read_text())["version"])


def command_output(command: list[str]) -> str:
    """The first line a command prints (stdout or stderr), or `not installed`."""
    try:
        finished = subprocess.run(command, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        return "not installed"
    lines = (finished.stdout or finished.stderr).strip().splitlines()
    return lines[0] if lines else "unknown"


def commit() -> str:
    """The checked-out commit, marked `+changes` when the work tree differs from it."""
    head = command_output(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
    # Without optional locks git status only reads: it leaves the index to others at work.
    status = subprocess.run(
        ["git", "--no-optional-locks", "-C", str(ROOT), "status", "--porcelain", "-uno"],
        capture_output=True,
        text=True,
        check=False,
    )
    return f"{head}+changes" if status.stdout.strip() else head
