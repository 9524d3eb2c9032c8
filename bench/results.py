"""What a run found, kept as JSON next to the report so that it can be read again."""

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# The goals are set at 10 connections; summaries look there when the run measured it.
GOAL_CONNECTIONS = 10
OK = "ok"
NOT_COMPARABLE = "n/a: not comparable"


@dataclass
class Measurement:
    """One wrk run: one server, one query, one number of connections (at the goals'
    connections, the median of several rounds)."""

    scale: int
    workers: int
    server: str
    query: str
    connections: int
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    errors: int
    server_cpu_ms: float | None
    postgres_cpu_ms: float | None
    peak_rss_mb: float
    # At the goals' connections, the rate of every round in the order they ran (this run is
    # the median one); empty where the run was a single one.
    round_rates: list[float] = field(default_factory=list)

    @property
    def server_cores(self) -> float | None:
        """How many cores the server's processes kept busy, on average over the run."""
        return None if self.server_cpu_ms is None else self.server_cpu_ms * self.rate / 1000

    @property
    def saturated(self) -> bool:
        """Fewer requests completed than there were connections: the rate is a lower bound."""
        return self.requests < self.connections


@dataclass
class Saturated:
    """A run not run: its connections could not each complete a request within the longest
    run, at the rate the server reached with fewer connections."""

    scale: int
    workers: int
    server: str
    query: str
    connections: int
    rate: float


@dataclass
class QueryFacts:
    """One query at one scale: its size, its statements and whether each server answers it.

    `status` holds `ok` per server, or why the server was not timed on the query.
    """

    scale: int
    query: str
    title: str
    large: bool
    objects: int | None = None
    kilobytes: float | None = None
    statements: dict[str, int] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


@dataclass
class Soak:
    """The hub's memory under a long mixed load: (seconds, MB) samples."""

    scale: int
    workers: int
    connections: int
    seconds: float
    rate: float
    errors: int
    samples: list[tuple[float, float]]

    @property
    def drift(self) -> float | None:
        """How much the memory moved from the first warm sample to the last, as a fraction."""
        warm = [mb for seconds, mb in self.samples if seconds >= min(60.0, self.seconds / 5)]
        if len(warm) < 2 or warm[0] == 0:
            return None
        return warm[-1] / warm[0] - 1


@dataclass
class PortalRun:
    """One server in the portal run: the reads wrk timed, and the office's writes meanwhile
    with what the staleness check saw of them.

    `seen` counts the writes whose new value a read showed; `stale` the reads sent more than
    STALE_AFTER_MS after a write's commit that still showed the value before it;
    `max_visible_ms` is the longest time from a commit to the first read that showed it.
    """

    scale: int
    workers: int
    server: str
    connections: int
    requests: int
    seconds: float
    rate: float
    p50_ms: float
    p99_ms: float
    errors: int
    writes: int
    seen: int
    stale: int
    max_visible_ms: float | None


@dataclass
class Results:
    """Everything one run measured, with where and how."""

    label: str
    command: str
    started: str
    commit: str
    options: dict[str, Any]
    machine: dict[str, str]
    versions: dict[str, str] = field(default_factory=dict)
    datasets: dict[str, dict[str, int]] = field(default_factory=dict)
    queries: list[QueryFacts] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    saturated: list[Saturated] = field(default_factory=list)
    soak: Soak | None = None
    portal: list[PortalRun] = field(default_factory=list)
    finished: str = ""

    @property
    def focus_connections(self) -> int:
        """The connections summaries (latency, CPU, chart, history) report: the goals' 10 when
        measured, else the most measured."""
        measured = self.options["connections"]
        return GOAL_CONNECTIONS if GOAL_CONNECTIONS in measured else max(measured)

    def facts(self, scale: int, query: str) -> QueryFacts:
        """The facts of one query at one scale."""
        return next(f for f in self.queries if f.scale == scale and f.query == query)

    def measurement(
        self, scale: int, workers: int, server: str, query: str, connections: int
    ) -> Measurement | None:
        """The run of one server on one query at one scale, workers and connections, if any."""
        wanted = (scale, workers, server, query, connections)
        return next(
            (
                m
                for m in self.measurements
                if (m.scale, m.workers, m.server, m.query, m.connections) == wanted
            ),
            None,
        )

    def was_saturated(
        self, scale: int, workers: int, server: str, query: str, connections: int
    ) -> bool:
        """Whether that run was left out because the server was saturated."""
        wanted = (scale, workers, server, query, connections)
        return any(
            (s.scale, s.workers, s.server, s.query, s.connections) == wanted for s in self.saturated
        )

    def save(self, path: Path) -> None:
        """Write the results as JSON."""
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(asdict(self), indent=1, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, path: Path) -> "Results":
        """Read results written by `save`."""
        raw = json.loads(path.read_text())
        soak = raw.pop("soak")
        return cls(
            **{
                key: value
                for key, value in raw.items()
                if key not in ("queries", "measurements", "saturated", "portal")
            },
            queries=[QueryFacts(**facts) for facts in raw["queries"]],
            measurements=[Measurement(**measurement) for measurement in raw["measurements"]],
            saturated=[Saturated(**run) for run in raw.get("saturated", [])],
            soak=None if soak is None else Soak(**soak),
            portal=[PortalRun(**run) for run in raw.get("portal", [])],
        )
