"""The benchmark's one command: `python -m bench` (see docs/benchmarks.md)."""

import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from bench.mix import MIX
from bench.report import write_report
from bench.results import Results
from bench.run import Options, run
from bench.servers import SERVERS

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_OUTPUT = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"

app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


def numbers(text: str) -> tuple[int, ...]:
    """`1000,10000` as (1000, 10000)."""
    return tuple(int(part) for part in text.split(",") if part.strip())


def chosen(text: str, known: Sequence[str], what: str) -> tuple[str, ...]:
    """`a,b` as ("a", "b"), each one of the `known` servers or queries (`what`)."""
    names = tuple(part.strip() for part in text.split(",") if part.strip())
    unknown = set(names) - set(known)
    if unknown:
        raise typer.BadParameter(f"unknown {what} {sorted(unknown)}; choose from {list(known)}")
    return names


@app.command()
def main(
    scales: Annotated[str, typer.Option(help="Cities of each data set.")] = "1000,10000",
    workers: Annotated[str, typer.Option(help="Worker processes of each server.")] = "1,2",
    connections: Annotated[str, typer.Option(help="wrk connections.")] = "1,10,50",
    servers: Annotated[str, typer.Option(help="Servers to time.")] = ",".join(SERVERS),
    queries: Annotated[str, typer.Option(help="Queries of the mix to time.")] = ",".join(
        query.name for query in MIX
    ),
    duration: Annotated[float, typer.Option(help="Seconds of each timed run, at least.")] = 3.0,
    max_duration: Annotated[
        float, typer.Option(help="Seconds a run may take for slow queries at many connections.")
    ] = 10.0,
    warmup: Annotated[
        float, typer.Option(help="Seconds of warm-up per server and query, at 10 connections.")
    ] = 5.0,
    rounds: Annotated[
        int, typer.Option(min=1, help="Rounds at 10 connections, the servers in turn.")
    ] = 3,
    soak: Annotated[float, typer.Option(help="Seconds of the hub's memory soak (0: none).")] = 300,
    quick: Annotated[
        bool,
        typer.Option(help="2 s runs (5 s at most), 2 s of warm-up, 5 s portal runs, no soak."),
    ] = False,
    smoke: Annotated[
        bool,
        typer.Option(
            help="20 cities, 1 worker, 10 connections in 2 rounds, 1 s, 2 s portal runs, "
            "hub and floor."
        ),
    ] = False,
    label: Annotated[str, typer.Option(help="The history row's label.")] = "unlabelled run",
    output: Annotated[Path, typer.Option(help="The report to write.")] = DEFAULT_OUTPUT,
    server_url: Annotated[
        str,
        typer.Option(
            envvar="BENCH_SERVER_URL", help="PostgreSQL server to create the bench databases on."
        ),
    ] = DEFAULT_SERVER_URL,
    hub_commit: Annotated[
        str | None,
        typer.Option(
            help="Time the hub of this commit (exported with git archive), not the work tree."
        ),
    ] = None,
    hub_setting: Annotated[
        list[str] | None,
        typer.Option(help="KEY=VALUE for the hub's environment, e.g. HUB_COMPILED=0; repeatable."),
    ] = None,
    portal: Annotated[
        bool, typer.Option(help="The realistic portal run, after the single queries.")
    ] = True,
    portal_duration: Annotated[
        float, typer.Option(help="Seconds of each server's portal run.")
    ] = 10.0,
    hub_variant: Annotated[
        list[str] | None,
        typer.Option(
            help="KEY=VALUE: the portal run also times the hub with this setting added "
            "(e.g. HUB_RESPONSE_CACHE_BYTES=0); repeatable."
        ),
    ] = None,
    render_only: Annotated[
        bool, typer.Option(help="Only write the report again from the last results.")
    ] = False,
) -> None:
    """Load the synthetic data sets, time the hub, PostGraphile and the floor, write the report."""
    if render_only:
        write_report(Results.load(results_path(output)), output, add_history=False)
        return
    options = Options(
        server_url=server_url,
        label=label,
        command=" ".join(["python -m bench", *map(shlex.quote, sys.argv[1:])]),
        scales=(20,) if smoke else numbers(scales),
        workers=(1,) if smoke else numbers(workers),
        connections=(10,) if smoke else numbers(connections),
        servers=("hub", "floor") if smoke else chosen(servers, SERVERS, "servers"),
        queries=chosen(queries, [query.name for query in MIX], "queries"),
        duration=1.0 if smoke else 2.0 if quick else duration,
        max_duration=1.0 if smoke else 5.0 if quick else max_duration,
        warmup=0.0 if smoke else 2.0 if quick else warmup,
        rounds=2 if smoke else rounds,
        soak=0.0 if smoke or quick else soak,
        hub_commit=hub_commit,
        hub_settings=tuple(settings(hub_setting or [])),
        portal=portal,
        portal_duration=2.0 if smoke else 5.0 if quick else portal_duration,
        hub_variants=tuple(settings(hub_variant or [])),
    )
    results = run(options)
    results.save(results_path(output))
    write_report(results, output, add_history=True)
    failed = [
        f for f in results.queries if any(s.startswith("mismatch") for s in f.status.values())
    ]
    if failed:
        raise typer.Exit(1)


def settings(pairs: list[str]) -> list[tuple[str, str]]:
    """`KEY=VALUE` pairs as tuples."""
    parsed = [pair.partition("=") for pair in pairs]
    if any(not key or not equals for key, equals, _ in parsed):
        raise typer.BadParameter("hub settings are KEY=VALUE")
    return [(key, value) for key, _, value in parsed]


def results_path(output: Path) -> Path:
    """Where the run's JSON goes: next to the report's images."""
    return output.with_suffix("") / "latest.json"


if __name__ == "__main__":
    app()
