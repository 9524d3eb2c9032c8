"""The GraphiQL page: named after the hub, opening on its first query; its files from the hub
once fetched, from the CDN otherwise."""

import base64
import hashlib
import io
import json
import re
import tarfile
from pathlib import Path

import httpx

from hub.assets import matches, unpack
from hub.graphiql import (
    ASSETS_URL,
    CDN,
    FIRST_QUERY,
    Asset,
    PageParts,
    graphiql_page,
    strawberry_page,
)
from tests.helpers import graphql

ASSETS = PageParts(strawberry_page()).assets
OPENING_QUERY = re.compile(r"const EXAMPLE_QUERY = (\".*?\");")


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


async def test_graphiql_is_named_after_the_hub(client: httpx.AsyncClient) -> None:
    page = (await client.get("/graphql", headers={"Accept": "text/html"})).text
    assert "<title>GraphiQL · Engagierte Stadt</title>" in page
    assert 'React.createElement(GraphiQL.Logo, null, "Engagierte Stadt")' in page
    assert "Strawberry" not in page
    assert "&#x1f353;" not in page
    assert "Welcome to GraphiQL" not in page


async def test_graphiql_opens_on_a_trisectoral_city_of_a_partner_state(
    demo_client: httpx.AsyncClient,
) -> None:
    page = (await demo_client.get("/graphql", headers={"Accept": "text/html"})).text
    opening = OPENING_QUERY.search(page)
    assert opening
    query = json.loads(opening[1])
    assert query == FIRST_QUERY.read_text()
    body = await graphql(demo_client, query)
    assert "errors" not in body, body
    city = body["data"]["city"]
    assert city["name"] == "Bitburg"
    assert city["state"]["partnership"] is not None
    assert city["localNetwork"]["composition"] == "TRISECTORAL"


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
