"""The report: docs/benchmarks.md with the machine, the versions, the results per scale, the
goals, a chart, and the history of runs (kept in benchmarks/history.json next to it)."""

import json
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.chart import draw_throughput
from bench.mix import MIX
from bench.portal import STALE_AFTER_MS
from bench.results import (
    GOAL_CONNECTIONS,
    NOT_COMPARABLE,
    OK,
    Measurement,
    PortalRun,
    QueryFacts,
    Results,
)
from bench.servers import FLOOR, HUB, POSTGRAPHILE

# What a cell shows when there is nothing to show, and how a gain is written.
DASH = "\N{EN DASH}"
TIMES = "\N{MULTIPLICATION SIGN}"
SERVER_NAMES = {HUB: "hub", POSTGRAPHILE: "PostGraphile", FLOOR: "floor"}

INTRODUCTION_TEMPLATE = """\
# Benchmarks

The hub against PostGraphile and against the floor, on the same machine, the same database and
in the same run. **PostGraphile 5** (amber preset) serves the same PostgreSQL schema; the
**floor** answers each query with one hand-written SQL statement that builds the hub's response
in PostgreSQL (`json_build_object`, `json_agg`, LATERAL) behind a bare Starlette endpoint: what
this stack does with SQL as one writes it by hand. (The hub's compiled SQL is cheaper for
PostgreSQL on the large queries, where the hub passes the floor: `row_to_json` of LATERAL rows
instead of `json_build_object`, pages aggregated in the order their rows are read instead of
sorted again, and `textsend` for the global IDs; see docs/architecture.md.) All three run as
users run them: uvicorn over a real socket with uvloop, httptools
(the hub's protocol, `hub/uvicorn_protocol.py`: one write per turn of the event loop)
and no access log (the hub with `HUB_ENV=production` and without `HUB_DEBUG`), PostGraphile on
Node.js 22 in production mode; with several workers, each server runs that many processes
(uvicorn workers, node:cluster). `wrk` drives each query of the portal mix alone, in closed
loop, the three servers in turn on each query, so that a slower spell of the shared machine
falls on all three alike. At the goals' 10 connections they take turns in several rounds
(`--rounds`, 3): each server's figures are those of its median round, and the goals' ratios
are the medians of the rounds' ratios, each round's hub against the other server's next to
it, with their range in brackets. The machine's speed drifts from minute to minute by more
than the margins the goals are about; a pair of runs side by side drifts far less. Each server
is warmed up on each query first (`--warmup`, 5 s at 10 connections), long enough for Node.js
to have compiled PostGraphile's hot code.

Before anything is timed, every server must answer each query like the hub: the floor with the
very same JSON, PostGraphile with the same objects in the same order (its field names differ:
`bench/mix.py` keeps the equivalent queries). A server that answers differently is not timed on
that query.

**Goals** (at 10 connections): on every query the hub answers at least as many requests per
second as PostGraphile, and at least twice as many on the large-result queries
({large}); the hub reaches at least half of the floor's throughput on every query; p99 under
50 ms for the single-city query at the 10,000-city scale; memory flat (±10 %) under a 5-minute
load.

### The query mix

{mix}
Federation's `_entities` batch of 500 city references joins the mix once the hub offers
federation: one more `Query` in `bench/mix.py`.
"""

RUNNING_TEMPLATE = """\
## Running it

```sh
sudo apt-get install -y wrk                        # the load generator
make install                                       # tests and matplotlib, for the chart
.venv/bin/python -m bench --label "what changed"   # everything: about 25 minutes
```

The first run installs PostGraphile 5 and Node.js 22 from npm (`npm ci` in `bench/postgraphile`).

The response cache's goals (issue 22) take the portal run, `city` and the large queries, with
the hub also timed without the cache in the portal run; then the single queries again with the
cache off, into a report of their own
([benchmarks-without-cache.md](benchmarks-without-cache.md)), to compare with the runs before
the cache:

```sh
.venv/bin/python -m bench --scales 1000 --connections 10,50 --soak 0 \\
  --queries city,cities-100,cities-500 --hub-variant HUB_RESPONSE_CACHE_BYTES=0 \\
  --label "response cache"
.venv/bin/python -m bench --scales 1000 --connections 10,50 --soak 0 --no-portal \\
  --queries city,cities-100,cities-500 --hub-setting HUB_RESPONSE_CACHE_BYTES=0 \\
  --output docs/benchmarks-without-cache.md --label "response cache off"
```

Per scale, it creates a database on the PostgreSQL server of `--server-url` (default
`postgresql://postgres@127.0.0.1:5432/postgres`, or `BENCH_SERVER_URL`) named
`ehub_bench_<cities>_<random>`, loads the synthetic data set with the hub's own `engagement-hub
seed --synthetic`, and drops it when done; it touches no other database. It writes this file,
the chart and `benchmarks/latest.json` (every figure of the run), and appends the run to the
history (`benchmarks/history.json`). It exits non-zero when a server answers a query otherwise
than the hub.

{options}
How each figure is taken. **req/s** and the **latency percentiles** are wrk's: a closed loop, one
wrk thread, each request POSTs the query and its variables. **SQL** statements per request are
counted in one separate request that is not timed: the hub's with `HUB_DEBUG=1`
(`extensions.debug.sqlStatements`), PostGraphile's by counting its pg client's queries
(transaction control left out), the floor's is one by construction. **CPU ms per request** is the
user and system time of the server's processes, and of PostgreSQL (the postmaster's tree:
backends and parallel workers, those that ended during the run included; live backends of other
databases left out), from `/proc`, from the start of the run until the server is idle again,
divided by the requests completed plus the one each connection left in flight; **server
cores** is that CPU time per second of the run: with 1 worker, the hub's one process can keep
one core busy at most, while Node.js, PostGraphile's, does part of its work (garbage
collection, compiling) in threads of its own, on another core. **Peak RSS** is
the largest resident memory of the server's processes together, sampled every 0.25 s.
"""

OPTIONS = (
    ("`--scales`", "`1000,10000`", "cities of each data set (about 20 actors, 3 fundings each)"),
    ("`--workers`", "`1,2`", "worker processes of each server"),
    ("`--connections`", "`1,10,50`", "wrk connections"),
    ("`--servers`", "`hub,postgraphile,floor`", "the servers to time"),
    ("`--queries`", "all of the mix", "the queries to time (their names, e.g. `city,cities-500`)"),
    (
        "`--duration`, `--max-duration`",
        "`3`, `10`",
        "seconds per run: at least the first, up to the second for slow queries, so that "
        "every connection completes 2 requests",
    ),
    ("`--warmup`", "`5`", "seconds of warm-up per server and query, at 10 connections"),
    ("`--rounds`", "`3`", "rounds at 10 connections, the servers in turn"),
    ("`--soak`", "`300`", "seconds of the hub's memory soak (0: none)"),
    (
        "`--hub-commit`",
        "the work tree",
        "time the hub of a commit, exported with `git archive` (git only reads)",
    ),
    (
        "`--hub-setting`",
        "none",
        "`KEY=VALUE` for the hub's environment, repeatable (e.g. `HUB_COMPILED=0`)",
    ),
    (
        "`--portal`, `--no-portal`",
        "on",
        "the realistic portal run (below), after the single queries, at `--connections` from 10 on",
    ),
    ("`--portal-duration`", "`10`", "seconds of each server's portal run"),
    (
        "`--hub-variant`",
        "none",
        "`KEY=VALUE`: the portal run also times the hub with this setting added, repeatable "
        "(e.g. `HUB_RESPONSE_CACHE_BYTES=0`)",
    ),
    ("`--quick`", "", "2 s runs (5 s at most), 2 s of warm-up, 5 s portal runs, no soak"),
    (
        "`--smoke`",
        "",
        "20 cities, hub and floor, 1 worker, 10 connections in 2 rounds, 1 s, 2 s portal "
        "runs: what CI runs",
    ),
    ("`--label`", "`unlabelled run`", "the run's label in the history"),
    ("`--output`", "`docs/benchmarks.md`", "where the report goes"),
    ("`--render-only`", "", "only write the report again from the last results"),
)


# Measured apart from the main run, by `python -m bench.subscribers`; its figures are copied in.
SUBSCRIBERS_SECTION = """\
### Subscribers

Does an event for many subscribers delay other requests? `python -m bench.subscribers`
(`bench/subscribers.py`, about 35 s; `--hub-commit` times a commit, `--subscribers`,
`--events`, `--cities` change the defaults of 100, 3 and 100) starts the hub (1 worker,
production settings) on a synthetic data set, subscribes 100 WebSockets to `fundingRecorded`
with a selection of 50 fundings each, and has one client ask `{ states { code } }` in a closed
loop. After 2 quiet seconds it announces 3 events as a write does (NOTIFY), each once every
subscriber received the one before. It prints the trivial query's latency while no event is
delivered and while one is, and how long one event takes to reach all 100 subscribers (all
in ms).

| hub | p50 quiet | p99 quiet | p50 delivering | p99 delivering | max delivering | event to all |
|---|---|---|---|---|---|---|
| 5e082e4 (before) | 1.1 | 4.0 | 11.0 | 65.7 | 71.5 | 652 |
| 3711d3f (one delivery at a time) | 1.2 | 5.0 | 2.6 | 9.0 | 46.1 | 1075 |

Before, every subscriber's delivery ran at once, and a request waited behind all of them: its
p99 rose 16-fold while an event was delivered. Now the process delivers one event to one
subscriber at a time (`hub.events.DELIVERIES_AT_ONCE`), and a request waits at most for one
delivery's step: the p99 stays within 2x of the quiet one. The price: an event reaches its 100th
subscriber later (1.1 s instead of 0.65 s, for 100 selections of 50 fundings each on the
resolvers). Taken on 2026-12-07 on the 2-core machine with nothing else running, one run each
(a first run while other work ran gave 386.7 ms before and 40.0 ms after for the p99 while
delivering).
"""

# Measured apart from the main run, with --hub-commit; its figures are copied in.
CACHE_OFF_SECTION = """\
### The response cache off, against the hub before it

Does the hub without its response cache (`HUB_RESPONSE_CACHE_BYTES=0`) answer as fast as the
hub before the cache (`7fb81db`, the parent of the cache's commit)? Four runs in turn, before,
off, before, off, each `python -m bench --scales 1000 --workers 1 --connections 10 --servers
hub,floor --queries city,funder-portal,cities-100 --quick --no-portal` (the first with
`--hub-commit 7fb81db`, the second with `--hub-setting HUB_RESPONSE_CACHE_BYTES=0`). The
machine's speed drifted by a third between runs, so the hub is compared with the floor of the
same run, and its CPU time per request:

| hub | run | city / floor | funder-portal / floor | cities-100 / floor | city CPU ms/req |
|---|---|---:|---:|---:|---:|
| before the cache | 1 | 0.83 | 0.90 | 1.44 | 0.49 to 0.55 |
| cache off | 1 | 0.82 | 0.86 | 1.54 | 0.49 to 0.55 |
| before the cache | 2 | 0.88 | 0.71 | 1.40 | 0.51 to 0.52 |
| cache off | 2 | 0.90 | 0.91 | 1.29 | 0.49 to 0.53 |

No difference beyond the drift between runs. Taken on 2026-12-07 on the 2 cores shared with
other work. (Against the run of 2026-11-25 the hub's ratios to the floor are lower on this
day both before the cache and with it off: `city` 0.8 to 0.9 where they were 1.18; the hub
before the cache shows it too, so it is not the cache's doing.)
"""

POSTGRES_TIME_SECTION = """\
### PostgreSQL per request: statistics and search

How much PostgreSQL work does one request of `statistics` and `search` take, and does it grow
with the network? `python -m bench.postgres_time` (`bench/postgres_time.py`, about a minute;
`--scales` and `--queries` change the defaults of 1,000,10,000 and statistics,search) loads
each scale's synthetic data set as `python -m bench` does. The work tree's hub then answers
each query in process, and the tool captures the statements as the hub sends them. Each
statement is prepared, as asyncpg prepares it, and run under `EXPLAIN (ANALYZE, TIMING OFF)`.
The tool prints the medians of 30 runs of PostgreSQL's execution and planning milliseconds per
request, without the network, the driver or Python. A planning time near zero means that
PostgreSQL keeps a generic plan of the prepared statement.

| hub | query | cities | execution ms | planning ms |
|---|---|---:|---:|---:|
| 4f5f9be (before) | `statistics` | 1,000 | 14.88 | 0.07 |
| 4f5f9be (before) | `statistics` | 10,000 | 233.76 | 0.09 |
| 4f5f9be (before) | `search` | 1,000 | 6.41 | 2.81 |
| 4f5f9be (before) | `search` | 10,000 | 79.13 | 3.08 |
| kept statistics, bounded search | `statistics` | 1,000 | 0.43 | 1.05 |
| kept statistics, bounded search | `statistics` | 10,000 | 0.45 | 1.16 |
| kept statistics, bounded search | `search` | 1,000 | 2.50 | 0.05 |
| kept statistics, bounded search | `search` | 10,000 | 2.29 | 0.05 |

Before, both grew with the data. `statistics` counted the state's rows for each request, and
`search` ranked every hit, parsing each hit's texts again. Now the statistics of the network
and of a state read the figures the writes keep per state (see [api.md](api.md#statistics)),
and search ranks at most 100 candidates of each kind per way of matching, with stored
documents (see [api.md](api.md#search)). Both stay flat from 1,000 to 10,000 cities. Taken on
2026-12-07 on the 2-core machine while the test suite ran, one run each (a quiet run of the new
code gave 1.4 ms for `statistics` and 2.0 to 2.5 ms for `search`, planning included).
"""


def write_report(results: Results, output: Path, add_history: bool) -> None:
    """Write the report, its chart, and (for a new run) its row of the history."""
    images = output.with_suffix("")
    images.mkdir(parents=True, exist_ok=True)
    chart = images / "throughput.png"
    draw_throughput(results, chart)
    history = History(images / "history.json")
    if add_history:
        history.add(history_row(results))
    sections = [
        introduction(),
        RUNNING_TEMPLATE.format(options=table(("option", "default", "meaning"), OPTIONS)),
        latest_run(results, chart.relative_to(output.parent)),
        goals_section(results),
        portal_section(results),
        *(scale_section(results, scale) for scale in results.options["scales"]),
        soak_section(results),
        postgraphile_section(),
        SUBSCRIBERS_SECTION,
        POSTGRES_TIME_SECTION,
        CACHE_OFF_SECTION,
        history.section(),
    ]
    output.write_text("\n".join(section for section in sections if section))


def introduction() -> str:
    """What is compared, how, the goals and the query mix."""
    large = ", ".join(f"`{query.name}`" for query in MIX if query.large)
    mix = table(("Query", "What it asks for"), ([f"`{query.name}`", query.title] for query in MIX))
    return INTRODUCTION_TEMPLATE.format(large=large, mix=mix)


# --- Formatting ----------------------------------------------------------------------------


def number(value: float | None, digits: int = 0) -> str:
    """A number with thousands separators, or a dash for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return DASH
    return f"{value:,.{digits}f}"


def ratio(mine: float | None, theirs: float | None) -> float | None:
    """mine / theirs, when both are there."""
    if not mine or not theirs:
        return None
    return mine / theirs


def round_ratios(mine: Measurement | None, theirs: Measurement | None) -> list[float]:
    """mine / theirs of each round, paired in the order they ran (none without rounds)."""
    if mine is None or theirs is None or len(mine.round_rates) != len(theirs.round_rates):
        return []
    return [a / b for a, b in zip(mine.round_rates, theirs.round_rates, strict=True) if a and b]


def paired_ratio(mine: Measurement | None, theirs: Measurement | None) -> float | None:
    """mine / theirs: the median of their rounds' ratios where both ran in rounds, else the
    ratio of their runs."""
    ratios = round_ratios(mine, theirs)
    if ratios:
        return statistics.median(ratios)
    return ratio(mine and mine.rate, theirs and theirs.rate)


def table(header: Iterable[str], rows: Iterable[Iterable[str]]) -> str:
    """A Markdown table."""
    header = list(header)
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def check(passed: bool | None) -> str:
    """A tick, a cross, or a dash when it cannot be told."""
    return DASH if passed is None else "✅" if passed else "❌"


SATURATED_NOTE = """\
**sat.**: not run, the server is saturated: at the rate it reached with fewer connections, this
many connections could not each complete one request within the longest run; its throughput is
the one with fewer connections, and each request would wait for the others. \\*: fewer requests
completed than there were connections, so the rate is a lower bound and the latencies are those
of the requests that completed. Errors are wrk's: non-2xx answers and timeouts. A dash for CPU:
the server was still busy long after the run and was restarted, so its CPU time is unknown.
"""

# --- Sections ------------------------------------------------------------------------------


def latest_run(results: Results, chart: Path) -> str:
    """When, what and where the last run measured."""
    machine = results.machine
    versions = ", ".join(f"{name} {version}" for name, version in results.versions.items())
    return f"""\
## Latest run: {results.label}

- **When**: {results.started} to {results.finished} (UTC)
- **Hub**: commit `{results.commit}`{hub_settings(results)}
- **Command**: `{results.command}`
- **Timing**: {timing(results.options)}
- **Machine**: {machine["cores"]} cores ({machine["cpu"]}), {machine["memory"]} memory,
  {machine["os"]}, Linux {machine["kernel"]}; wrk, the servers and PostgreSQL share it
- **Versions**: {versions}

{datasets(results)}
![Requests per second at {results.focus_connections} connections, per query and server]({chart})
"""


def timing(options: dict[str, Any]) -> str:
    """How long each server was warmed up and timed, and in how many rounds."""
    # Runs before warm-ups at 10 connections and rounds warmed up at 1 and ran once.
    warmup = f"{number(options['warmup'], 1)} s at {options.get('warmup_connections', 1)}"
    return (
        f"warm-up {warmup} connection(s) per server and query, runs of "
        f"{number(options['duration'], 1)} s (up to {number(options['max_duration'], 1)} s), "
        f"{options.get('rounds', 1)} round(s) at {GOAL_CONNECTIONS} connections"
    )


def datasets(results: Results) -> str:
    """The rows of each scale's synthetic data set."""
    if not results.datasets:
        return ""
    tables = list(next(iter(results.datasets.values())))
    rows = [
        [number(int(scale)), *(number(counts[name]) for name in tables)]
        for scale, counts in results.datasets.items()
    ]
    return (
        "The synthetic data sets (`engagement-hub seed --synthetic`; they hold no state "
        "partnerships, so the partner fields the queries ask for are null):\n\n"
        + table(["Scale", *tables], rows)
    )


def hub_settings(results: Results) -> str:
    """The extra settings the hub ran with, if any."""
    settings = results.options.get("hub_settings") or []
    return "".join(f", `{key}={value}`" for key, value in settings)


def goals_section(results: Results) -> str:
    """Each goal per scale and workers, at 10 connections."""
    if GOAL_CONNECTIONS not in results.options["connections"]:
        return ""
    rows = []
    for scale in results.options["scales"]:
        for workers in results.options["workers"]:
            rows += goal_rows(results, scale, workers)
    header = ("Cities", "Workers", "Query", "hub / PostGraphile", "goal", "hub / floor ≥ 0.5")
    return (
        f"### Goals at {GOAL_CONNECTIONS} connections\n\n"
        + table(header, rows)
        + "\n"
        + latency_goal(results)
        + memory_goal(results)
    )


def goal_rows(results: Results, scale: int, workers: int) -> list[list[str]]:
    """The throughput goals of one scale and number of workers, one row per query."""
    rows = []
    for query in MIX:
        hub = results.measurement(scale, workers, HUB, query.name, GOAL_CONNECTIONS)
        if hub is None:
            continue
        wanted = 2.0 if query.large else 1.0
        postgraphile, floor = (
            results.measurement(scale, workers, server, query.name, GOAL_CONNECTIONS)
            for server in (POSTGRAPHILE, FLOOR)
        )
        rows.append(
            [
                number(scale),
                str(workers),
                query.name,
                goal_cell(hub, postgraphile, wanted) if query.postgraphile else "n/a",
                f"≥ {wanted:.0f}" if query.postgraphile else "",
                goal_cell(hub, floor, 0.5),
            ]
        )
    return rows


def goal_cell(hub: Measurement, other: Measurement | None, wanted: float) -> str:
    """The hub's ratio to another server with a tick when it reaches `wanted`, a cross when
    not, and the range of the rounds' ratios."""
    value = paired_ratio(hub, other)
    ratios = round_ratios(hub, other)
    spread = f" ({min(ratios):.2f} to {max(ratios):.2f})" if ratios else ""
    return f"{number(value, 2)} {check(None if value is None else value >= wanted)}{spread}"


def latency_goal(results: Results) -> str:
    """The single-city p99 at 10,000 cities (or the largest scale run), per number of workers."""
    scale = 10_000 if 10_000 in results.options["scales"] else max(results.options["scales"])
    parts = []
    for workers in results.options["workers"]:
        measured = results.measurement(scale, workers, HUB, "city", GOAL_CONNECTIONS)
        p99 = None if measured is None else measured.p99_ms
        parts.append(
            f"{workers} worker{'s' if workers > 1 else ''}: **{number(p99, 1)} ms** "
            f"{check(None if p99 is None else p99 < 50)}"
        )
    return f"Single-city p99 at {number(scale)} cities (goal < 50 ms): {'; '.join(parts)}.\n"


def memory_goal(results: Results) -> str:
    """The memory drift under the long mixed load."""
    soak = results.soak
    drift = soak.drift if soak else None
    if soak is None or drift is None:
        return "Memory under the 5-minute mixed load (goal ±10 %): not measured in this run.\n"
    return (
        f"Memory under the {number(soak.seconds / 60, 0)}-minute mixed load "
        f"(goal ±10 %): **{drift:+.1%}** {check(abs(drift) <= 0.10)}.\n"
    )


def city_p99(results: Results) -> float | None:
    """The hub's p99 on the single-city query at the largest scale, most workers, 10 connections."""
    scale, workers = max(results.options["scales"]), max(results.options["workers"])
    measured = results.measurement(scale, workers, HUB, "city", results.focus_connections)
    return None if measured is None else measured.p99_ms


# --- The portal run -------------------------------------------------------------------------

PORTAL_INTRODUCTION = """\
### The portal run

Many distinct requests with a skewed popularity, while the network office writes
(`bench/portal.py`). The reads are the shapes every server answers: a city's page (`city`,
70 %), a funder's portal (`funder-portal` with a page of 20 fundings, 25 %) and the list of
cities (`cities-100`'s query with a page of 20, 5 %). Cities and funders are asked by Zipf's
law (the n-th most popular 1/n as often as the first), in a popularity order drawn once, and
wrk sends the same drawn sequence of reads to every server. The state statistics and search,
which PostGraphile cannot answer, are left out. Each server is warmed up on the reads alone
first. Then, for `--portal-duration` seconds (10), wrk reads while a coroutine of the
benchmark, the office, writes 1 for every 100 reads wrk has sent (wrk's script counts them in
a file the office looks at every 5 ms; the table counts the writes; the office speaks HTTP
through aiohttp, whose CPU, taken from the server on these 2 cores, is a tenth of a core
against a quarter with httpx): it changes the website
of a city drawn by the same popularity, through the server's own API where it has one (the
hub's `updateCity` with an office API key, PostGraphile's generated `updateCityBySlug`) and
by SQL for the floor, which has none, all on the same database. After each write it asks
that city's page of the same server until the new website shows: **to visible** is the
longest time from a write's commit (its answer) to the first read that showed it, **stale**
counts the reads sent more than {stale_ms:.0f} ms after a commit that did not show it (the
goal: none). The writes and the checks' reads are not counted in reads/s.
"""


def portal_section(results: Results) -> str:
    """The portal run per scale: every server's reads, writes and staleness."""
    if not results.portal:
        return ""
    rows = [portal_row(results, run) for run in results.portal]
    header = (
        "Cities",
        "Workers",
        "Server",
        "connections",
        "reads/s",
        f"{TIMES} PostGraphile",
        "p50 / p99 ms",
        "writes (reads per write)",
        "seen",
        "to visible ms",
        "stale",
    )
    return (
        PORTAL_INTRODUCTION.format(stale_ms=STALE_AFTER_MS)
        + "\n"
        + table(header, rows)
        + "\n"
        + cache_goals(results)
    )


def portal_row(results: Results, run: PortalRun) -> list[str]:
    """One server's portal run."""
    postgraphile = portal_run_of(results, run, POSTGRAPHILE)
    per_write = run.requests / run.writes if run.writes else None
    errors = f", {run.errors} errors" if run.errors else ""
    return [
        number(run.scale),
        str(run.workers),
        SERVER_NAMES.get(run.server, run.server),
        str(run.connections),
        number(run.rate, 1) + errors,
        number(ratio(run.rate, postgraphile and postgraphile.rate), 2),
        f"{number(run.p50_ms, 1)} / {number(run.p99_ms, 1)}",
        f"{run.writes} ({number(per_write)})",
        str(run.seen),
        number(run.max_visible_ms, 1),
        str(run.stale),
    ]


def portal_run_of(results: Results, run: PortalRun, server: str) -> PortalRun | None:
    """Another server's portal run beside `run` (same scale, workers and connections)."""
    wanted = (run.scale, run.workers, run.connections, server)
    return next(
        (r for r in results.portal if (r.scale, r.workers, r.connections, r.server) == wanted),
        None,
    )


# The goals of the response cache (issue 22), against PostGraphile.
PORTAL_GOAL, CITY_GOAL, LARGE_GOAL, CITY_P99_GOAL_MS = 5.0, 5.0, 20.0, 5.0


def cache_goals(results: Results) -> str:
    """The response cache's goals: the hub's ratios to PostGraphile on the portal run, on
    `city` and on the large queries repeated, the p99 of `city`, and no stale answer."""
    rows = []
    for scale in results.options["scales"]:
        for workers in results.options["workers"]:
            rows += cache_goal_rows(results, scale, workers)
    stale = sum(run.stale for run in results.portal if run.server == HUB)
    unseen = sum(run.writes - run.seen for run in results.portal if run.server == HUB)
    header = ("Cities", "Workers", "What", "hub / PostGraphile", "goal")
    return (
        "Goals of the response cache (issue 22), the hub against PostGraphile: at least "
        f"{PORTAL_GOAL:.0f}{TIMES} on the portal run and on `city`, at least "
        f"{LARGE_GOAL:.0f}{TIMES} on the "
        "large queries (each run of a single query repeats one identical request), the p99 of "
        f"`city` under {CITY_P99_GOAL_MS:.0f} ms at {GOAL_CONNECTIONS} connections, and no "
        "stale answer beyond the bound.\n\n"
        + table(header, rows)
        + f"\nStale answers of the hub beyond the bound: **{stale}** {check(stale == 0)}"
        + (f"; writes it never showed: **{unseen}** ❌" if unseen else "")
        + ".\n"
    )


def cache_goal_rows(results: Results, scale: int, workers: int) -> list[list[str]]:
    """The cache's goals at one scale and number of workers."""
    rows = []
    for run in results.portal:
        if (run.scale, run.workers, run.server) != (scale, workers, HUB):
            continue
        other = portal_run_of(results, run, POSTGRAPHILE)
        value = ratio(run.rate, other and other.rate)
        cell = f"{number(value, 2)} {check(None if value is None else value >= PORTAL_GOAL)}"
        what = f"portal run, c={run.connections}"
        rows.append([number(scale), str(workers), what, cell, f"≥ {PORTAL_GOAL:.0f}"])
    for query in MIX:
        hub = results.measurement(scale, workers, HUB, query.name, GOAL_CONNECTIONS)
        if hub is None or query.postgraphile is None or not (query.large or query.name == "city"):
            continue
        wanted = LARGE_GOAL if query.large else CITY_GOAL
        postgraphile = results.measurement(
            scale, workers, POSTGRAPHILE, query.name, GOAL_CONNECTIONS
        )
        cell = goal_cell(hub, postgraphile, wanted)
        rows.append([number(scale), str(workers), f"`{query.name}`", cell, f"≥ {wanted:.0f}"])
        if query.name == "city":
            p99 = f"**{number(hub.p99_ms, 1)} ms** {check(hub.p99_ms < CITY_P99_GOAL_MS)}"
            rows.append(
                [number(scale), str(workers), "`city` p99", p99, f"< {CITY_P99_GOAL_MS:.0f} ms"]
            )
    return rows


def scale_section(results: Results, scale: int) -> str:
    """The results of one scale: per query and server, and the hub's ratios."""
    parts = [f"### {number(scale)} cities\n"]
    for workers in results.options["workers"]:
        parts.append(f"#### {workers} worker{'s' if workers > 1 else ''}\n")
        parts.append(results_table(results, scale, workers))
        parts.append(ratios_table(results, scale, workers))
    parts.append(SATURATED_NOTE)
    parts.append(statuses(results, scale))
    return "\n".join(parts)


def results_table(results: Results, scale: int, workers: int) -> str:
    """Per query and server: statements, req/s per connections, latency, CPU and memory."""
    connections = results.options["connections"]
    header = [
        "Query",
        "Server",
        "SQL",
        *(f"req/s c={c}" for c in connections),
        f"p50 / p95 / p99 ms c={results.focus_connections}",
        f"CPU ms/req server c={results.focus_connections}",
        f"server cores c={results.focus_connections}",
        f"CPU ms/req PostgreSQL c={results.focus_connections}",
        "peak RSS MB",
    ]
    rows = []
    for query_facts in (f for f in results.queries if f.scale == scale):
        for server in results.options["servers"]:
            runs = [
                results.measurement(scale, workers, server, query_facts.query, c)
                for c in connections
            ]
            if not any(runs):
                continue
            rates = [
                rate_cell(run, results.was_saturated(scale, workers, server, query_facts.query, c))
                for run, c in zip(runs, connections, strict=True)
            ]
            rows.append(result_row(query_facts, server, runs, rates, results.focus_connections))
    return table(header, rows)


def result_row(
    facts: QueryFacts,
    server: str,
    runs: list[Measurement | None],
    rates: list[str],
    focus: int,
) -> list[str]:
    """One query on one server: its runs at each number of connections."""
    at_goal = next((run for run in runs if run and run.connections == focus), None)
    heaviest = [run for run in runs if run]
    latency = (
        " / ".join(number(value, 1) for value in (at_goal.p50_ms, at_goal.p95_ms, at_goal.p99_ms))
        if at_goal
        else DASH
    )
    return [
        f"{facts.query}" + (f" ({number(facts.objects)} objects)" if server == HUB else ""),
        SERVER_NAMES[server],
        number(facts.statements.get(server)),
        *rates,
        latency,
        number(at_goal.server_cpu_ms if at_goal else None, 2),
        number(at_goal.server_cores if at_goal else None, 2),
        number(at_goal.postgres_cpu_ms if at_goal else None, 2),
        number(max(run.peak_rss_mb for run in heaviest)),
    ]


def rate_cell(run: Measurement | None, saturated: bool) -> str:
    """Requests per second, flagged when saturated or when wrk saw errors."""
    if run is None:
        return "sat." if saturated else DASH
    flags = ("*" if run.saturated else "") + (f" ({run.errors} errors)" if run.errors else "")
    return number(run.rate, 1) + flags


def ratios_table(results: Results, scale: int, workers: int) -> str:
    """The hub's throughput against PostGraphile's and the floor's, per connections."""
    connections = results.options["connections"]
    others = [server for server in (POSTGRAPHILE, FLOOR) if server in results.options["servers"]]
    header = ["Query"]
    header += [f"hub / {SERVER_NAMES[server]} c={c}" for server in others for c in connections]
    rows = []
    for query in MIX:
        hub = [results.measurement(scale, workers, HUB, query.name, c) for c in connections]
        if not any(hub):
            continue
        cells = [query.name]
        for server in others:
            for mine, c in zip(hub, connections, strict=True):
                theirs = results.measurement(scale, workers, server, query.name, c)
                cells.append(number(paired_ratio(mine, theirs), 2))
        rows.append(cells)
    return "\n" + table(header, rows)


def statuses(results: Results, scale: int) -> str:
    """Queries a server was not timed on at this scale (beyond the incomparable), and why."""
    lines = [
        f"- `{f.query}` on {SERVER_NAMES[server]}: {status}"
        for f in results.queries
        if f.scale == scale
        for server, status in f.status.items()
        if status not in (OK, NOT_COMPARABLE)
    ]
    return "\nNot timed:\n\n" + "\n".join(lines) + "\n" if lines else ""


def soak_section(results: Results) -> str:
    """The hub's memory during the long mixed load."""
    soak = results.soak
    if soak is None:
        return ""
    samples = soak.samples
    drift = soak.drift
    verdict = (
        f"a drift of {drift:+.1%} after the first minute"
        if drift is not None
        else "too short to tell a drift"
    )
    errors = f", {soak.errors} errors" if soak.errors else ""
    return f"""\
### Memory under load

The hub ({soak.workers} worker{"s" if soak.workers > 1 else ""}, {number(soak.scale)} cities) \
under the whole mix in turn at {soak.connections} connections for {number(soak.seconds)} s: \
{number(soak.rate, 1)} req/s{errors}. Resident memory of its processes: \
{number(samples[0][1])} MB at the start, {number(max(mb for _, mb in samples))} MB at most, \
{number(samples[-1][1])} MB at the end; {verdict}.
"""


def postgraphile_section() -> str:
    """How PostGraphile's equivalents differ, and the queries it cannot express."""
    differences = [
        f"- **{q.name}**: {q.postgraphile.differences}"
        for q in MIX
        if q.postgraphile is not None and q.postgraphile.differences
    ]
    missing = [f"- **{q.name}**: {q.not_comparable}" for q in MIX if q.postgraphile is None]
    return f"""\
### PostGraphile's queries

PostGraphile 5.1 with the amber preset over the same `public` schema, in production mode: no
GraphiQL, no explain, no watch mode, its generated CRUD mutations (the portal run's office
writes with `updateCityBySlug`), and the index behaviours off, so that any column can order
a list, as the hub orders by unindexed columns too (the amber preset has no connection-filter
plugin to switch off). Its pg pool holds 15 connections per
worker, as the hub's SQLAlchemy pool (5, and 10 more under load) and the floor's. Its queries
(`bench/mix.py`) ask for the same objects in the same order as the hub's; where the hub has one
field for what PostGraphile reaches through two foreign keys, PostGraphile follows both:

{chr(10).join(differences)}

It cannot express these, which are timed on the hub and the floor only:

{chr(10).join(missing)}
"""


# --- History -------------------------------------------------------------------------------


@dataclass
class HistoryRow:
    """One run in the history: the hub's rates at the largest scale and most workers."""

    date: str
    label: str
    commit: str
    setting: str
    rates: dict[str, float]
    city_p99_ms: float | None


def history_row(results: Results) -> HistoryRow:
    """The run's row: the hub's req/s per query at 10 connections (or the most measured)."""
    scale, workers = max(results.options["scales"]), max(results.options["workers"])
    connections = results.focus_connections
    rates = {}
    for query in MIX:
        measured = results.measurement(scale, workers, HUB, query.name, connections)
        if measured is not None:
            rates[query.name] = measured.rate
    return HistoryRow(
        date=results.started[:10],
        label=results.label,
        commit=results.commit,
        setting=f"{number(scale)} cities, {workers} worker{'s' if workers > 1 else ''}, "
        f"c={connections}",
        rates=rates,
        city_p99_ms=city_p99(results),
    )


class History:
    """The runs so far, oldest first, kept as JSON; each new run is appended."""

    def __init__(self, path: Path) -> None:
        self.path = path
        raw = json.loads(path.read_text()) if path.exists() else []
        self.rows = [HistoryRow(**row) for row in raw]

    def add(self, row: HistoryRow) -> None:
        """Append a row and save."""
        self.rows.append(row)
        self.path.write_text(
            json.dumps([vars(row) for row in self.rows], indent=1, ensure_ascii=False) + "\n"
        )

    def section(self) -> str:
        """The history table: the hub's req/s per query, and each run's gain on the one before."""
        names = [query.name for query in MIX]
        header = ["Date", "Label", "Commit", "Setting", *names, "city p99 ms", "Gain"]
        rows = []
        for previous, row in zip([None, *self.rows], self.rows, strict=False):
            rows.append(
                [
                    row.date,
                    row.label,
                    f"`{row.commit}`",
                    row.setting,
                    *(number(row.rates.get(name), 1) for name in names),
                    number(row.city_p99_ms, 1),
                    gain(previous, row),
                ]
            )
        return (
            "## History\n\nOne row per optimisation: the hub's requests per second per query, "
            "and the gain on the row before (the geometric mean of the per-query ratios).\n\n"
            + table(header, rows)
        )


def gain(previous: HistoryRow | None, row: HistoryRow) -> str:
    """The geometric mean of the hub's per-query rate ratios to the previous row."""
    if previous is None:
        return "baseline"
    shared = [name for name in row.rates if previous.rates.get(name)]
    if not shared:
        return DASH
    logs = [math.log(row.rates[name] / previous.rates[name]) for name in shared]
    return f"{TIMES}{math.exp(sum(logs) / len(logs)):.2f}"
