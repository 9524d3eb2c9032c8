"""What a refused import reports: each problem with its entity, row, field and reason."""

from dataclasses import dataclass

from hub.failures import Refused


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a file, a row or a field; `row` is a CSV line or a JSON index."""

    entity: str
    row: int | None
    field: str | None
    reason: str


class ImportRefused(Refused):
    """An import wrote nothing, for the problems it carries."""

    def __init__(self, problems: list[Problem], row_unit: str) -> None:
        count = f"{len(problems)} problem{'' if len(problems) == 1 else 's'}"
        super().__init__(f"{count} found; nothing was imported")
        self.problems = problems
        self.row_unit = row_unit  # "line" (CSV) or "index" (JSON)
