"""One benchmark run: per scale a fresh database, the hub's reference answers, then every
server timed on every query it answers like the hub, at every number of connections."""

import asyncio
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from bench import facts
from bench.checks import (
    MismatchError,
    Reference,
    check_same_objects,
    hub_root_fields,
    reference_of,
)
from bench.database import office_key, row_counts, server_facts, synthetic_database
from bench.load import LoadResult, run_wrk
from bench.mix import MIX, Query
from bench.portal import (
    Portal,
    portal_of,
    run_portal,
    warm_up,
    write_request_files,
)
from bench.procfs import Sampler, postgres_cpu, tree_cpu, tree_rss
from bench.results import (
    GOAL_CONNECTIONS,
    NOT_COMPARABLE,
    OK,
    Measurement,
    PortalRun,
    QueryFacts,
    Results,
    Saturated,
    Soak,
)
from bench.servers import (
    FLOOR,
    HUB,
    POSTGRAPHILE,
    HubSource,
    Server,
    install_postgraphile,
    running,
)
from bench.source import hub_source

SOAK_CONNECTIONS = 10
# A timed run lasts until each connection completed this many requests (within the maximum).
ROUNDS_PER_RUN = 2
# After a run the server and PostgreSQL are idle when they used less CPU than this in 0.2 s,
# twice in a row; a server still busy after SETTLE_SECONDS is restarted.
IDLE_CPU_SECONDS = 0.02
SETTLE_SECONDS = 10.0
SOAK_SAMPLE_SECONDS = 5.0
MEGABYTE = 2**20


@dataclass(frozen=True)
class Options:
    """What to run: scales, workers, connections, servers, and for how long."""

    server_url: str
    label: str
    command: str
    scales: tuple[int, ...] = (1000, 10000)
    workers: tuple[int, ...] = (1, 2)
    connections: tuple[int, ...] = (1, 10, 50)
    servers: tuple[str, ...] = (HUB, POSTGRAPHILE, FLOOR)
    queries: tuple[str, ...] = tuple(query.name for query in MIX)
    hub_commit: str | None = None
    hub_settings: tuple[tuple[str, str], ...] = ()
    rounds: int = 3
    duration: float = 3.0
    max_duration: float = 10.0
    warmup: float = 5.0
    warmup_connections: int = GOAL_CONNECTIONS
    soak: float = 0.0
    portal: bool = True
    portal_duration: float = 10.0
    hub_variants: tuple[tuple[str, str], ...] = ()


@dataclass
class Scale:
    """One scale's database, the hub's code, and what the run learnt before timing."""

    cities: int
    url: str
    database: str
    postmaster: int | None
    hub: HubSource
    references: list[Reference]


def say(message: str) -> None:
    """Progress on stderr."""
    print(message, file=sys.stderr, flush=True)


def run(options: Options) -> Results:
    """Run the whole benchmark; the results, whatever failed on the way, are returned."""
    results = Results(
        label=options.label,
        command=options.command,
        started=datetime.now(UTC).isoformat(timespec="seconds"),
        commit="",
        options={key: value for key, value in vars(options).items() if key != "server_url"},
        machine=facts.machine(),
    )
    with hub_source(options.hub_commit, dict(options.hub_settings)) as hub:
        results.commit = hub.commit
        for cities in options.scales:
            run_scale(cities, hub, options, results)
    results.finished = datetime.now(UTC).isoformat(timespec="seconds")
    return results


def run_scale(cities: int, hub: HubSource, options: Options, results: Results) -> None:
    """One scale: a fresh database, the references, every server timed, maybe the soak."""
    say(f"== {cities:,} cities: loading the synthetic data set")
    started = time.monotonic()
    with synthetic_database(options.server_url, cities, hub) as url:
        say(f"   loaded in {time.monotonic() - started:.1f} s")
        scale = prepare(url, cities, hub, options, results)
        for workers in options.workers:
            measure_servers(scale, workers, options, results)
        # After all the runs of single queries: the portal's writes change the answers.
        if options.portal:
            key = office_key(url, hub)
            for workers in options.workers:
                portal_run(scale, workers, key, options, results)
        if options.soak and cities == max(options.scales):
            results.soak = soak(scale, max(options.workers), options.soak)


def prepare(url: str, cities: int, source: HubSource, options: Options, results: Results) -> Scale:
    """The hub's reference answers and statement counts, and PostGraphile's, before timing."""
    postgres, postmaster = asyncio.run(server_facts(url))
    if POSTGRAPHILE in options.servers:
        install_postgraphile()  # first, so that the report names its version
    results.versions = facts.versions(postgres)
    results.datasets[str(cities)] = asyncio.run(row_counts(url))
    scale = Scale(cities, url, url.rsplit("/", 1)[1].split("?")[0], postmaster, source, [])
    offered = hub_root_fields(source)
    with running(HUB, url, debug=True, hub=source) as hub:
        for query in (query for query in MIX if query.name in options.queries):
            query_facts = QueryFacts(cities, query.name, query.title, query.large)
            results.queries.append(query_facts)
            if query.root_field not in offered:
                reason = f"n/a: the hub has no `{query.root_field}` yet"
                query_facts.status = dict.fromkeys(options.servers, reason)
                continue
            try:
                reference = reference_of(hub, query, cities)
            except MismatchError as error:
                query_facts.status = dict.fromkeys(options.servers, f"not timed: {error}")
                say(f"   {error}")
                continue
            scale.references.append(reference)
            query_facts.objects = reference.objects
            query_facts.kilobytes = reference.bytes / 1024
            query_facts.statements = {HUB: reference.statements, FLOOR: 1}
            query_facts.status = dict.fromkeys(options.servers, OK)
    if POSTGRAPHILE in options.servers:
        count_postgraphile_statements(scale, results)
    return scale


def count_postgraphile_statements(scale: Scale, results: Results) -> None:
    """PostGraphile's statements per query, where it answers with the hub's objects."""
    with running(POSTGRAPHILE, scale.url, debug=True) as postgraphile:
        postgraphile.statements()
        for reference in scale.references:
            query_facts = results.facts(scale.cities, reference.query.name)
            if reference.query.postgraphile is None:
                query_facts.status[POSTGRAPHILE] = NOT_COMPARABLE
                continue
            if verified(postgraphile, reference, query_facts):
                query_facts.statements[POSTGRAPHILE] = postgraphile.statements()


def verified(server: Server, reference: Reference, query_facts: QueryFacts) -> bool:
    """Whether the server answers like the hub; a mismatch is recorded, not raised."""
    if query_facts.status.get(server.kind) != OK:
        return False
    try:
        check_same_objects(server, reference)
    except MismatchError as error:
        query_facts.status[server.kind] = f"mismatch: {error}"
        say(f"   {server.kind}: {error}")
        return False
    return True


def measure_servers(scale: Scale, workers: int, options: Options, results: Results) -> None:
    """Time every server on every query it answers like the hub, query by query, the servers
    in turn: whatever slows the machine down for a while (a neighbour, a checkpoint) falls on
    all of them alike, not on the one that happens to be timed then."""
    say(f"-- {scale.cities:,} cities, {workers} worker(s)")
    with ExitStack() as stack, tempfile.TemporaryDirectory() as bodies:
        servers = [
            stack.enter_context(running(kind, scale.url, workers, hub=scale.hub))
            for kind in options.servers
        ]
        for reference in scale.references:
            query = reference.query
            query_facts = results.facts(scale.cities, query.name)
            timed = []
            for server in servers:
                if not verified(server, reference, query_facts):
                    continue
                body = Path(bodies) / f"{server.kind}-{query.name}.json"
                body.write_bytes(server.body(query, reference.variables))
                measure_query(server, scale, workers, query, body, options, results)
                timed.append((server, body))
            repeat_at_goal(timed, scale, workers, query, options, results)


def repeat_at_goal(
    timed: list[tuple[Server, Path]],
    scale: Scale,
    workers: int,
    query: Query,
    options: Options,
    results: Results,
) -> None:
    """Time the servers at the goals' connections in more rounds, in turn, and keep each
    server's median round, with the rates of all rounds: the goals' ratios pair the servers'
    rounds, which ran side by side (on a shared machine the speed drifts from minute to
    minute, more than the differences the goals are about)."""
    rounds = {}
    for server, _ in timed:
        first = results.measurement(
            scale.cities, workers, server.kind, query.name, GOAL_CONNECTIONS
        )
        if first is not None:  # not run: the server is saturated, or 10 is no number run
            rounds[server.kind] = [first]
    for _ in range(options.rounds - 1):
        for server, body in timed:
            if server.kind not in rounds:
                continue
            duration = run_duration(options, GOAL_CONNECTIONS, rounds[server.kind][0].rate)
            again = measure(server, scale, workers, query, body, GOAL_CONNECTIONS, duration)
            report_progress(again)
            rounds[server.kind].append(again)
    for measured in rounds.values():
        if len(measured) < 2:
            continue
        median = sorted(measured, key=lambda run: run.rate)[len(measured) // 2]
        median.round_rates = [run.rate for run in measured]
        results.measurements[results.measurements.index(measured[0])] = median


def measure_query(
    server: Server,
    scale: Scale,
    workers: int,
    query: Query,
    body: Path,
    options: Options,
    results: Results,
) -> None:
    """Warm the server up on one query, then time it at each number of connections.

    The warm-up runs at the goals' connections for seconds: Node.js compiles PostGraphile's hot
    code only after thousands of calls, and with one second at one connection its first timed
    rounds ran a third slower than the later ones.

    A run with more connections than the goals' 10, which could not each complete one request
    within the longest run at the rate measured with fewer connections, is not run: the server
    is saturated.
    """
    rate = None
    if options.warmup:
        rate = run_wrk(server.url(query), [body], options.warmup_connections, options.warmup).rate
        calm_down(server, scale)
    for connections in options.connections:
        saturated = rate and connections / rate > options.max_duration
        if saturated and connections > GOAL_CONNECTIONS:
            results.saturated.append(
                Saturated(scale.cities, workers, server.kind, query.name, connections, rate)
            )
            say(
                f"   {query.name:<14} {server.kind:<12} c={connections:<3} "
                f"saturated at {rate:.1f} req/s: not run"
            )
            continue
        duration = run_duration(options, connections, rate)
        measurement = measure(server, scale, workers, query, body, connections, duration)
        results.measurements.append(measurement)
        report_progress(measurement)
        rate = measurement.rate or rate


def run_duration(options: Options, connections: int, rate: float | None) -> float:
    """Long enough for every connection to complete a few requests, within the maximum.

    In a closed loop each connection waits for its answer: at a rate r, `connections`
    connections complete a round every connections / r seconds.
    """
    if not rate:
        return options.max_duration if connections > 1 else options.duration
    needed = ROUNDS_PER_RUN * connections / rate
    return min(max(options.duration, needed), max(options.max_duration, options.duration))


def settle(server: Server, scale: Scale) -> bool:
    """Wait until the server and PostgreSQL have finished what wrk left in flight (they go on
    after wrk stops); whether they did within the time allowed."""
    deadline = time.monotonic() + SETTLE_SECONDS
    idle_samples = 0
    before = busy_seconds(server, scale)
    while idle_samples < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
        now = busy_seconds(server, scale)
        idle_samples = idle_samples + 1 if now - before < IDLE_CPU_SECONDS else 0
        before = now
    return idle_samples == 2


def busy_seconds(server: Server, scale: Scale) -> float:
    """CPU time of the server's tree and of PostgreSQL (without other databases' backends)."""
    seconds = tree_cpu(server.pid)
    if scale.postmaster is not None:
        total, others = postgres_cpu(scale.postmaster, scale.database)
        seconds += total - others
    return seconds


def calm_down(server: Server, scale: Scale) -> None:
    """Let the server settle; restart it when it does not in time."""
    if settle(server, scale):
        return
    say(f"   {server.kind} still busy after {SETTLE_SECONDS:.0f} s: restarting it")
    server.restart()
    settle(server, scale)


def measure(
    server: Server,
    scale: Scale,
    workers: int,
    query: Query,
    body: Path,
    connections: int,
    duration: float,
) -> Measurement:
    """One wrk run, with the CPU time and memory it cost the server and PostgreSQL.

    When wrk stops, each connection leaves one request in flight, which the server still
    answers: the CPU time is taken until the server is idle again and shared among the
    completed requests and those. When that takes too long, the server is restarted and the
    CPU time is left unknown.
    """
    with Sampler(server.pid, scale.postmaster, scale.database) as sampler:
        load = run_wrk(server.url(query), [body], connections, duration)
        settled = settle(server, scale)
    usage = sampler.usage()
    if not settled:
        calm_down(server, scale)
    requests = load.requests + connections
    return Measurement(
        scale=scale.cities,
        workers=workers,
        server=server.kind,
        query=query.name,
        connections=connections,
        requests=load.requests,
        seconds=load.seconds,
        rate=load.rate,
        p50_ms=load.p50_ms,
        p95_ms=load.p95_ms,
        p99_ms=load.p99_ms,
        errors=load.errors,
        server_cpu_ms=usage.server_cpu * 1000 / requests if settled else None,
        postgres_cpu_ms=usage.postgres_cpu * 1000 / requests
        if settled and usage.postgres_cpu is not None
        else None,
        peak_rss_mb=usage.peak_rss / MEGABYTE,
    )


def number(value: float | None) -> str:
    """A CPU time in ms for the progress lines."""
    return "?" if value is None else f"{value:.2f}"


def report_progress(measurement: Measurement) -> None:
    """One line per wrk run."""
    errors = f", {measurement.errors} errors" if measurement.errors else ""
    say(
        f"   {measurement.query:<14} {measurement.server:<12} "
        f"c={measurement.connections:<3} "
        f"{measurement.rate:9.1f} req/s  p50 {measurement.p50_ms:7.1f} ms  "
        f"p99 {measurement.p99_ms:7.1f} ms  cpu {number(measurement.server_cpu_ms)} + "
        f"{number(measurement.postgres_cpu_ms)} ms{errors}"
    )


def portal_run(scale: Scale, workers: int, key: str, options: Options, results: Results) -> None:
    """The realistic portal run (bench/portal.py): every server, in turn, at each number of
    connections from the goals' on, reads drawn by popularity while the office writes.

    One server runs at a time (PostgreSQL's connections are few); each is checked against
    the hub's answers before anything is written."""
    say(f"-- portal run: {scale.cities:,} cities, {workers} worker(s)")
    portal = asyncio.run(portal_of(scale.url))
    servers = list(portal_servers(scale.hub, options))
    references: list[Reference] = []
    answering = []
    for label, kind, source in servers:
        with running(kind, scale.url, workers, hub=source) as server:
            if kind == HUB and not references:
                references = portal_references(server, portal)
            if answers_like_hub(server, references):
                answering.append((label, kind, source))
    for connections in portal_connections(options):
        for label, kind, source in answering:
            with (
                running(kind, scale.url, workers, hub=source) as server,
                tempfile.TemporaryDirectory() as directory,
            ):
                arguments = write_request_files(server, portal, Path(directory))
                run = time_portal(
                    label, server, arguments, connections, workers, key, portal, scale, options
                )
            results.portal.append(run)
            report_portal_progress(run)


def time_portal(
    label: str,
    server: Server,
    arguments: list[str],
    connections: int,
    workers: int,
    key: str,
    portal: Portal,
    scale: Scale,
    options: Options,
) -> PortalRun:
    """Warm the server up on the portal's reads, then time them while the office writes."""
    warm_up(server, arguments, connections, max(options.warmup, 1.0))
    calm_down(server, scale)
    load, found = asyncio.run(
        run_portal(
            server,
            portal,
            arguments,
            connections,
            options.portal_duration,
            scale.url,
            key,
        )
    )
    settle(server, scale)
    return PortalRun(
        scale=scale.cities,
        workers=workers,
        server=label,
        connections=connections,
        requests=load.requests,
        seconds=load.seconds,
        rate=load.rate,
        p50_ms=load.p50_ms,
        p99_ms=load.p99_ms,
        errors=load.errors,
        writes=found.writes,
        seen=found.seen,
        stale=found.stale,
        max_visible_ms=max(found.visible_ms, default=None),
    )


def portal_servers(hub: HubSource, options: Options) -> Iterator[tuple[str, str, HubSource]]:
    """The portal run's servers: (label, kind, hub code); after the hub, the hub with each of
    the `hub_variants` settings added."""
    for kind in options.servers:
        yield kind, kind, hub
        if kind == HUB:
            for key, value in options.hub_variants:
                variant = replace(hub, settings=(*hub.settings, (key, value)))
                yield f"hub {key}={value}", HUB, variant


def portal_connections(options: Options) -> list[int]:
    """The portal run's connections: those from the goals' on (all when none are)."""
    many = [c for c in options.connections if c >= GOAL_CONNECTIONS]
    return many or list(options.connections)


def portal_references(hub: Server, portal: Portal) -> list[Reference]:
    """The hub's answers to the portal's most popular reads."""
    return [
        Reference(read.query, read.variables, hub.ask(read.query, read.variables)["data"], 0, 0)
        for read in portal.most_popular()
    ]


def answers_like_hub(server: Server, references: list[Reference]) -> bool:
    """Whether the server answers like the hub (the floor with the same JSON, PostGraphile
    with the same objects); a mismatch is said, not raised."""
    try:
        for reference in references:
            check_same_objects(server, reference)
    except MismatchError as error:
        say(f"   portal: {server.kind} not timed: {error}")
        return False
    return True


def report_portal_progress(run: PortalRun) -> None:
    """One line per portal run."""
    visible = "?" if run.max_visible_ms is None else f"{run.max_visible_ms:.1f}"
    say(
        f"   portal {run.server:<12} c={run.connections:<3} {run.rate:9.1f} req/s  "
        f"p50 {run.p50_ms:7.1f} ms  p99 {run.p99_ms:7.1f} ms  {run.writes} writes, "
        f"{run.seen} seen, at most {visible} ms, {run.stale} stale"
        + (f", {run.errors} errors" if run.errors else "")
    )


def soak(scale: Scale, workers: int, seconds: float) -> Soak:
    """The hub's memory under the whole mix at 10 connections for `seconds`."""
    if not scale.references:
        raise RuntimeError("the soak needs at least one query the hub answers")
    say(f"-- soak: the hub, {workers} worker(s), the mix for {seconds:.0f} s")
    with (
        running(HUB, scale.url, workers, hub=scale.hub) as hub,
        tempfile.TemporaryDirectory() as directory,
    ):
        bodies = []
        for reference in scale.references:
            body = Path(directory) / f"{reference.query.name}.json"
            body.write_bytes(hub.body(reference.query, reference.variables))
            bodies.append(body)
        url = hub.url(scale.references[0].query)
        load, samples = sampled_while(lambda: run_wrk(url, bodies, SOAK_CONNECTIONS, seconds), hub)
    say(f"   {load.rate:.1f} req/s, memory {samples[0][1]:.0f} → {samples[-1][1]:.0f} MB")
    return Soak(scale.cities, workers, SOAK_CONNECTIONS, seconds, load.rate, load.errors, samples)


def sampled_while(
    work: Callable[[], LoadResult], server: Server
) -> tuple[LoadResult, list[tuple[float, float]]]:
    """Run `work` in a thread; sample the server's memory every few seconds meanwhile."""
    outcome: list[LoadResult] = []
    thread = threading.Thread(target=lambda: outcome.append(work()))
    started = time.monotonic()
    thread.start()
    samples = list(memory_samples(server, thread, started))
    thread.join()
    if not outcome:
        raise RuntimeError("the soak's wrk run failed")
    return outcome[0], samples


def memory_samples(
    server: Server, thread: threading.Thread, started: float
) -> Iterator[tuple[float, float]]:
    """(seconds since start, MB) of the server's tree while `thread` runs."""
    while thread.is_alive():
        yield (round(time.monotonic() - started, 1), tree_rss(server.pid) / MEGABYTE)
        thread.join(SOAK_SAMPLE_SECONDS)
    yield (round(time.monotonic() - started, 1), tree_rss(server.pid) / MEGABYTE)
