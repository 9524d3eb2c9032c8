"""The GraphiQL page: its files from the hub once fetched, from the CDN otherwise."""

import base64
import hashlib
import io
import re
import tarfile
from pathlib import Path

import httpx

from hub.assets import matches, unpack
from hub.graphiql import ASSETS_URL, CDN, Asset, PageParts, graphiql_page, strawberry_page

ASSETS = PageParts(strawberry_page()).assets


def integrity(data: bytes) -> str:
    """The subresource-integrity hash of `data`, as strawberry's page writes them."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def tarball(directory: Path, file: str, data: bytes) -> Path:
    """An npm package tarball holding one file."""
    path = directory / "package.tgz"
    with tarfile.open(path, "w:gz") as archive:
        member = tarfile.TarInfo(f"package/{file}")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    return path


async def test_graphiql_loads_every_file_from_the_hub(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert CDN not in response.text
    for asset in ASSETS:
        assert f'"{ASSETS_URL}{asset.path}"' in response.text
        served = await client.get(f"{ASSETS_URL}{asset.path}")
        assert served.status_code == 200
        assert matches(served.content, asset.integrity)


async def test_graphiql_allows_scripts_from_the_hub_only(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response.headers["Content-Security-Policy"].split(";")
    )
    # The page's one inline script, its bootstrap, is allowed by its hash alone.
    assert re.fullmatch(r"'self' 'sha256-[A-Za-z0-9+/]+=*'", policy["script-src"])
    assert policy["connect-src"] == "'self'"


def test_graphiql_stays_on_the_cdn_without_its_files(tmp_path: Path) -> None:
    page = graphiql_page(tmp_path)
    assert ASSETS_URL not in page.html
    assert all(f"{CDN}{asset.path}" in page.html for asset in ASSETS)
    assert "script-src 'self' https://unpkg.com 'sha256-" in page.content_security_policy


def test_a_fetched_file_is_kept_only_when_it_matches_the_page_hash(tmp_path: Path) -> None:
    bundle = b"console.log('the bundle');"
    package = tarball(tmp_path, "umd/bundle.js", bundle)
    target = tmp_path / "assets"

    tampered = Asset("bundle@1.0.0", "umd/bundle.js", integrity(b"another bundle"))
    assert not unpack(tampered, package, target)
    assert not (target / tampered.path).exists()

    missing = Asset("bundle@1.0.0", "umd/other.js", integrity(bundle))
    assert not unpack(missing, package, target)

    genuine = Asset("bundle@1.0.0", "umd/bundle.js", integrity(bundle))
    assert unpack(genuine, package, target)
    assert (target / genuine.path).read_bytes() == bundle
