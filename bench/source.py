"""The hub's code under test: the work tree, or a commit exported with `git archive`.

An export lets a run measure a commit (a baseline, say) while the work tree changes; git only
reads the repository for it.
"""

import io
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bench import facts
from bench.servers import ROOT, HubSource


@contextmanager
def hub_source(commit: str | None, settings: dict[str, str]) -> Iterator[HubSource]:
    """The work tree when `commit` is None, else that commit exported to a temporary directory."""
    if commit is None:
        yield HubSource(ROOT, facts.commit(), tuple(settings.items()))
        return
    with tempfile.TemporaryDirectory(prefix="bench-hub-") as directory:
        export(commit, Path(directory))
        yield HubSource(Path(directory), resolve(commit), tuple(settings.items()))


def git(*arguments: str) -> bytes:
    """A read-only git command's output; a clear error when it fails."""
    finished = subprocess.run(
        ["git", "-C", str(ROOT), *arguments], capture_output=True, check=False
    )
    if finished.returncode != 0:
        raise RuntimeError(f"git {' '.join(arguments)}: {finished.stderr.decode().strip()}")
    return finished.stdout


def resolve(commit: str) -> str:
    """The short hash of a commit (a branch, a tag, `HEAD`, ...)."""
    return git("rev-parse", "--short", f"{commit}^{{commit}}").decode().strip()


def export(commit: str, directory: Path) -> None:
    """Write the commit's files into `directory`."""
    with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", commit))) as archive:
        archive.extractall(directory, filter="data")
