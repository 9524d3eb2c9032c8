"""Fetch the files strawberry's GraphiQL page loads from a CDN into hub/static/graphiql/.

`npm pack` downloads each package's tarball alone, without a dependency tree: the page loads
self-contained bundles. The page pins every file by a subresource-integrity hash, so a file is
kept only when it matches it (the browser would refuse any other) and no lock file is needed;
the versions follow strawberry's page when strawberry is upgraded.

    python -m hub.assets    # what `make install` runs; exits 1 when a file could not be had
"""

import base64
import hashlib
import json
import logging
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

from hub.graphiql import ASSETS_DIR, Asset, PageParts, strawberry_page

logger = logging.getLogger(__name__)


def matches(data: bytes, integrity: str) -> bool:
    """Whether `data` has the subresource-integrity hash `integrity` (e.g. `sha384-...`)."""
    algorithm, _, expected = integrity.partition("-")
    if algorithm not in {"sha256", "sha384", "sha512"}:
        return False
    return base64.b64encode(hashlib.new(algorithm, data).digest()).decode() == expected


def pack(packages: set[str], directory: Path) -> dict[str, Path]:
    """Each package's tarball from npm, by its `name@version`."""
    # npm's own errors (the registry unreachable, a version unknown) go to the terminal.
    listing = subprocess.run(
        ["npm", "pack", "--json", "--loglevel=error", *sorted(packages)],
        cwd=directory,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    return {packed["id"]: directory / packed["filename"] for packed in json.loads(listing.stdout)}


def unpack(asset: Asset, tarball: Path, target: Path) -> bool:
    """Write the asset's file from its package's tarball, if its integrity hash matches."""
    with tarfile.open(tarball) as archive:
        try:
            member = archive.extractfile(f"package/{asset.file}")
        except KeyError:
            member = None
        data = member.read() if member else b""
    if not matches(data, asset.integrity):
        logger.error("%s is not in npm's package as the page's integrity hash has it", asset.path)
        return False
    destination = target / asset.path
    destination.parent.mkdir(parents=True, exist_ok=True)
    destination.write_bytes(data)
    return True


def clear(target: Path) -> None:
    """Remove what `target` holds but its README (git keeps the folder, a wheel its package)."""
    target.mkdir(parents=True, exist_ok=True)
    for child in target.iterdir():
        if child.is_dir():
            shutil.rmtree(child)
        elif child.name != "README.md":
            child.unlink()


def fetch(assets: list[Asset], target: Path) -> bool:
    """Replace `target`'s files with the page's; whether every one of them is there."""
    clear(target)
    with tempfile.TemporaryDirectory() as scratch:
        tarballs = pack({asset.package for asset in assets}, Path(scratch))
        unpacked = [unpack(asset, tarballs[asset.package], target) for asset in assets]
    return all(unpacked)


def main() -> None:
    logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO)
    assets = PageParts(strawberry_page()).assets
    try:
        complete = fetch(assets, ASSETS_DIR)
    except FileNotFoundError:
        logger.error("npm is not installed")
        sys.exit(1)
    except subprocess.CalledProcessError:
        logger.error("npm pack failed, for the reason npm gave above")
        sys.exit(1)
    if not complete:
        sys.exit(1)
    logger.info("GraphiQL's %d files are in %s", len(assets), ASSETS_DIR)


if __name__ == "__main__":
    main()
