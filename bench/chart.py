"""The report's chart: requests per second per query and server, at 10 connections."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt

from bench.mix import MIX
from bench.results import Results
from bench.servers import FLOOR, HUB, POSTGRAPHILE

COLOURS = {HUB: "#1f77b4", POSTGRAPHILE: "#ff7f0e", FLOOR: "#7f7f7f"}
NAMES = {HUB: "hub", POSTGRAPHILE: "PostGraphile", FLOOR: "floor"}


def draw_throughput(results: Results, path: Path) -> None:
    """Grouped bars, one panel per scale and number of workers, on a logarithmic axis."""
    scales, workers = results.options["scales"], results.options["workers"]
    connections = results.focus_connections
    figure, axes = plt.subplots(
        len(scales), len(workers), figsize=(6 * len(workers), 3.6 * len(scales)), squeeze=False
    )
    for row, scale in enumerate(scales):
        for column, count in enumerate(workers):
            panel(axes[row][column], results, scale, count, connections)
    figure.suptitle(f"Requests per second at {connections} connections (higher is better)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def panel(axes: plt.Axes, results: Results, scale: int, workers: int, connections: int) -> None:
    """One scale and number of workers: a group of bars per query."""
    names = [query.name for query in MIX]
    servers = results.options["servers"]
    width = 0.8 / len(servers)
    for index, server in enumerate(servers):
        rates = []
        for name in names:
            measured = results.measurement(scale, workers, server, name, connections)
            rates.append(measured.rate if measured else 0.0)
        positions = [n + (index - (len(servers) - 1) / 2) * width for n in range(len(names))]
        axes.bar(positions, rates, width, label=NAMES[server], color=COLOURS[server])
    axes.set_yscale("log")
    axes.set_xticks(range(len(names)), names, rotation=20, fontsize=8)
    axes.set_title(f"{scale:,} cities, {workers} worker{'s' if workers > 1 else ''}", fontsize=10)
    axes.set_ylabel("req/s")
    axes.legend(fontsize=8)
