"""What processes cost, read from /proc: CPU time, resident memory, process trees.

A server is a process tree (uvicorn's supervisor and its workers, node's cluster primary and its
workers). PostgreSQL is the postmaster's tree, whose backends and parallel workers come and go
during a run; the kernel keeps the time of those that ended with the postmaster.
"""

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

PROC = Path("/proc")
TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
# How a client backend's title names its client: `127.0.0.1(53290)`.
CLIENT_ADDRESS = re.compile(r"\(\d+\)$")


def stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name, or None once the process is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name is in parentheses and may hold spaces; the fields follow the last `)`.
    return text.rpartition(")")[2].split()


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU time the process has used, in seconds."""
    fields = stat_fields(pid)
    if fields is None:
        return None
    # After the name: state(0) ppid(1) ... utime(11) stime(12).
    return (int(fields[11]) + int(fields[12])) / TICKS_PER_SECOND


def rss_bytes(pid: int) -> int:
    """The process's resident memory, in bytes (0 once it is gone)."""
    fields = stat_fields(pid)
    # rss(21), in pages.
    return 0 if fields is None else int(fields[21]) * PAGE_SIZE


def parent_of(pid: int) -> int | None:
    """The process's parent, or None once it is gone."""
    fields = stat_fields(pid)
    return None if fields is None else int(fields[1])


def children_of(pid: int) -> list[int]:
    """The process's direct children."""
    children: list[int] = []
    for task in (PROC / str(pid) / "task").glob("*"):
        try:
            children.extend(int(child) for child in (task / "children").read_text().split())
        except FileNotFoundError:
            continue
    return children


def tree(pid: int) -> list[int]:
    """The process and all its descendants."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(children_of(current))
    return found


def command_line(pid: int) -> str:
    """The process's command line (PostgreSQL backends show their database there)."""
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def client_database(pid: int) -> str | None:
    """The database a PostgreSQL client backend serves, from its process title, else None.

    Titles read `postgres: [cluster: ]user database host(port) activity`; background
    processes and parallel workers have other titles.
    """
    title = command_line(pid).rsplit(": ", 1)[-1].split()
    if len(title) >= 3 and (title[2] == "[local]" or CLIENT_ADDRESS.search(title[2])):
        return title[1]
    return None


def postgres_cpu(postmaster: int, database: str) -> tuple[float, float]:
    """CPU seconds PostgreSQL has used: (the whole server, the backends of other databases).

    The whole server is the postmaster, its live children (backends, parallel workers,
    background processes) and the children it has reaped, which the kernel adds to its
    children's time: backends and parallel workers that come and go during a run still count.
    """
    fields = stat_fields(postmaster)
    if fields is None:
        return 0.0, 0.0
    # utime(11) stime(12) cutime(13) cstime(14), in ticks.
    total = sum(int(value) for value in fields[11:15]) / TICKS_PER_SECOND
    others = 0.0
    for child in children_of(postmaster):
        seconds = cpu_seconds(child) or 0.0
        total += seconds
        if client_database(child) not in (None, database):
            others += seconds
    return total, others


@dataclass
class Usage:
    """What a run cost: CPU seconds of the server and of PostgreSQL, peak RSS of the server."""

    server_cpu: float
    postgres_cpu: float | None
    peak_rss: int


@dataclass
class Sampler:
    """Measures a server's tree and PostgreSQL while a load runs; samples the server's memory.

    PostgreSQL's CPU time is the whole server's, less what live backends of other databases
    used meanwhile (their exited backends would still count: keep the server otherwise quiet).
    """

    server_pid: int
    postmaster: int | None
    database: str
    interval: float = 0.25
    _server_start: float = 0.0
    _postgres_start: tuple[float, float] = (0.0, 0.0)
    _peak_rss: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def __enter__(self) -> "Sampler":
        self._server_start = tree_cpu(self.server_pid)
        self._postgres_start = self._postgres()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()

    def usage(self) -> Usage:
        """The CPU time used since the sampler started, and the peak RSS seen."""
        postgres = None
        if self.postmaster is not None:
            (total, others), (total_0, others_0) = self._postgres(), self._postgres_start
            postgres = (total - total_0) - (others - others_0)
        return Usage(
            server_cpu=tree_cpu(self.server_pid) - self._server_start,
            postgres_cpu=postgres,
            peak_rss=self._peak_rss,
        )

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        self._peak_rss = max(self._peak_rss, tree_rss(self.server_pid))

    def _postgres(self) -> tuple[float, float]:
        if self.postmaster is None:
            return 0.0, 0.0
        return postgres_cpu(self.postmaster, self.database)


def tree_cpu(pid: int) -> float:
    """The CPU time a process tree has used, in seconds."""
    return sum(cpu_seconds(member) or 0.0 for member in tree(pid))


def tree_rss(pid: int) -> int:
    """The resident memory of a process tree, in bytes."""
    return sum(rss_bytes(member) for member in tree(pid))
