"""The benchmark runs end to end at a tiny scale, so that it never rots: every query of the mix
answered alike by the hub and the floor, then timed by wrk in rounds, then the portal run with
the office's writes and their staleness check. No figure of speed is checked."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.mix import MIX

ROOT = Path(__file__).resolve().parent.parent
SERVERS = ("hub", "floor")


def run_bench(module: str, *arguments: str) -> str:
    """Run a benchmark module as its documented command does; what it printed."""
    finished = subprocess.run(
        [sys.executable, "-m", module, *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr[-3000:]
    return finished.stdout


@pytest.mark.slow
def test_benchmark_smoke_run_times_every_query_on_hub_and_floor(
    server_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "benchmarks.md"
    run_bench(
        "bench", "--smoke", "--no-portal", "--output", str(report), "--server-url", server_url
    )
    results = json.loads((tmp_path / "benchmarks" / "latest.json").read_text())
    statuses = {facts["query"]: facts["status"] for facts in results["queries"]}
    assert statuses == {query.name: dict.fromkeys(SERVERS, "ok") for query in MIX}
    timed = {
        (run["server"], run["query"])
        for run in results["measurements"]
        if run["requests"] > 0 and run["errors"] == 0 and len(run["round_rates"]) == 2
    }
    assert timed == {(server, query.name) for server in SERVERS for query in MIX}
    text = report.read_text()
    assert "### Goals at 10 connections" in text
    assert "## History" in text
    assert (tmp_path / "benchmarks" / "throughput.png").stat().st_size > 0


@pytest.mark.slow
def test_benchmark_smoke_portal_run_writes_and_checks_every_write(
    server_url: str, tmp_path: Path
) -> None:
    report = tmp_path / "benchmarks.md"
    run_bench(
        "bench", "--smoke", "--queries", "city", "--output", str(report), "--server-url", server_url
    )
    portal = json.loads((tmp_path / "benchmarks" / "latest.json").read_text())["portal"]
    assert [(run["server"], run["connections"]) for run in portal] == [
        (server, 10) for server in SERVERS
    ]
    for run in portal:
        assert run["requests"] > 0 and run["errors"] == 0, run
        # The office wrote while wrk read, and a read showed each write.
        assert run["writes"] > 0 and run["seen"] == run["writes"], run
        assert run["max_visible_ms"] is not None, run
    text = report.read_text()
    assert "### The portal run" in text
    assert "| 20 | 1 | floor | 10 |" in text


@pytest.mark.slow
def test_subscribers_benchmark_smoke_run_reports_its_figures(server_url: str) -> None:
    printed = run_bench(
        "bench.subscribers",
        "--subscribers",
        "5",
        "--events",
        "1",
        "--cities",
        "10",
        "--server-url",
        server_url,
    )
    *_, row = printed.strip().splitlines()
    hub, *figures = [cell.strip() for cell in row.strip("|").split("|")]
    assert hub.endswith("(work tree)")
    assert len(figures) == 6 and all(float(figure) >= 0 for figure in figures), row
