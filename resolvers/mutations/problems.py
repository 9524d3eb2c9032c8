"""Why a write was refused: user errors as data, each with the path of the input it concerns."""

import enum
from dataclasses import dataclass

# Where in the mutation's arguments a problem lies, e.g. ("input", "slug").
Path = tuple[str, ...]
INPUT: Path = ("input",)


class ProblemKind(enum.Enum):
    """The kinds of user error a mutation returns."""

    INVALID = "invalid"
    NOT_FOUND = "not_found"
    FORBIDDEN = "forbidden"
    CONFLICT = "conflict"
    INVALID_TRANSITION = "invalid_transition"


@dataclass(frozen=True)
class Problem:
    """One reason a write was refused, in words a client can show."""

    kind: ProblemKind
    message: str
    path: Path = INPUT


class Rejected(Exception):
    """Raised inside a write to refuse it: the transaction rolls back, the problems are returned."""

    def __init__(self, *problems: Problem) -> None:
        super().__init__(*(problem.message for problem in problems))
        self.problems = list(problems)


def refuse_any(problems: list[Problem]) -> None:
    """Refuse the write if there is any problem."""
    if problems:
        raise Rejected(*problems)


def invalid(path: Path, message: str) -> Problem:
    """A value the input must not hold."""
    return Problem(ProblemKind.INVALID, message, path)


def not_found(path: Path, message: str) -> Problem:
    """An ID or name that names nothing."""
    return Problem(ProblemKind.NOT_FOUND, message, path)


def forbidden(message: str, path: Path = ()) -> Problem:
    """A write the viewer may not make: the mutation as a whole (an empty path), or the field
    of `path`, which only the network office changes."""
    return Problem(ProblemKind.FORBIDDEN, message, path)


def conflict(path: Path, message: str) -> Problem:
    """A write that contradicts what is stored (a taken slug, a pair recorded already)."""
    return Problem(ProblemKind.CONFLICT, message, path)


def invalid_transition(path: Path, message: str) -> Problem:
    """A step an application cannot take from its current status."""
    return Problem(ProblemKind.INVALID_TRANSITION, message, path)
