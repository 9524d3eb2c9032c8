"""What an import reports, as tables for people and as JSON for programs."""

from typing import Any

from rich.markup import escape
from rich.table import Table

from hub.transfer.importing import Summary
from hub.transfer.problems import ImportRefused


def problems_table(refused: ImportRefused) -> Table:
    """One line per problem: entity, row, field, reason."""
    table = Table("entity", refused.row_unit, "field", "reason")
    for problem in refused.problems:
        table.add_row(
            escape(problem.entity),
            "" if problem.row is None else str(problem.row),
            escape(problem.field or ""),
            escape(problem.reason),
        )
    return table


def summary_table(summary: Summary) -> Table:
    """One line per entity: how many rows were created, updated and left unchanged."""
    table = Table("entity", "created", "updated", "unchanged")
    for entity, tally in summary.items():
        table.add_row(entity, str(tally.created), str(tally.updated), str(tally.unchanged))
    return table


def as_json(outcome: Summary | ImportRefused) -> dict[str, Any]:
    """The report as a JSON object: `imported`, then the tallies or the problems."""
    if isinstance(outcome, ImportRefused):
        return {
            "imported": False,
            "row_unit": outcome.row_unit,
            "problems": [vars(problem) for problem in outcome.problems],
        }
    return {"imported": True, "entities": {name: vars(tally) for name, tally in outcome.items()}}
