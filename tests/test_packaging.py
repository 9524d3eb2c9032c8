"""A release is a wheel built from the repository: it holds everything the hub reads, and an
installed wheel migrates a database from any working directory."""

import asyncio
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest
from uv import find_uv_bin

from tests.conftest import create_database, drop_database

REPOSITORY = Path(__file__).resolve().parent.parent
# Top-level folders the wheel ships inside `hub` (pyproject.toml's package-dir).
PACKAGED_FOLDERS = {"alembic": "hub/alembic", "docs": "hub/docs"}
PACKAGES = ("hub", "models", "schema", "resolvers", *PACKAGED_FOLDERS)


def run(*command: str | Path, cwd: Path = REPOSITORY) -> str:
    """Run `command` to success; its output, stderr included."""
    done = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def in_wheel(tracked: str) -> str:
    """Where the repository's file `tracked` lies inside the wheel."""
    top, _, rest = tracked.partition("/")
    return f"{PACKAGED_FOLDERS[top]}/{rest}" if top in PACKAGED_FOLDERS else tracked


def tracked_files() -> list[str]:
    """The files git tracks (or will, once added), as a clean clone has them."""
    listed = run("git", "ls-files", "--cached", "--others", "--exclude-standard")
    return [name for name in listed.splitlines() if (REPOSITORY / name).is_file()]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The wheel `uv build` makes of a clean copy of this checkout, and what the build printed.

    A copy: setuptools' build folder would otherwise carry files from one build to the next.
    """
    source, output = tmp_path_factory.mktemp("source"), tmp_path_factory.mktemp("dist")
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPOSITORY / name, source / name)
    printed = run(find_uv_bin(), "build", "--wheel", "--out-dir", output, cwd=source)
    return next(output.glob("*.whl")), printed


@pytest.mark.slow
def test_the_wheel_holds_every_file_the_hub_reads(wheel: tuple[Path, str]) -> None:
    path, printed = wheel
    names = set(zipfile.ZipFile(path).namelist())
    shipped = [name for name in tracked_files() if name.split("/")[0] in PACKAGES]
    missing = [name for name in [*shipped, "server.py"] if in_wheel(name) not in names]
    assert not missing, f"add their folders to pyproject.toml's packages: {missing}"
    # A folder left out of `packages` is a warning today and a missing folder tomorrow.
    assert "absent from the `packages` configuration" not in printed


@pytest.mark.slow
async def test_an_installed_wheel_migrates_from_any_directory(
    wheel: tuple[Path, str], server_url: str, tmp_path: Path
) -> None:
    environment = tmp_path / "venv"
    run(find_uv_bin(), "venv", "--quiet", environment)
    run(find_uv_bin(), "pip", "install", "--quiet", "--python", environment, wheel[0])
    url = await create_database(server_url)
    try:
        done = await asyncio.to_thread(
            subprocess.run,
            [str(environment / "bin" / "engagement-hub"), "migrate"],
            cwd=tmp_path,
            env=os.environ | {"DATABASE_URL": url},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        assert "Running upgrade" in done.stderr
    finally:
        await drop_database(server_url, url)
