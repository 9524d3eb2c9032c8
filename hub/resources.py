"""The repository's folders an installed hub reads too: the migrations and the docs.

A checkout has them at its top level; a wheel ships them inside `hub` (pyproject.toml maps
them there), as Python packaging installs nothing beside the packages.
"""

from pathlib import Path

HUB = Path(__file__).resolve().parent
CHECKOUT = HUB.parent


def folder(name: str) -> Path:
    """The repository's top-level folder `name` (`alembic`, `docs`), wherever it is installed."""
    packaged = HUB / name
    return packaged if packaged.is_dir() else CHECKOUT / name
