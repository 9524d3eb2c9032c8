"""The GraphiQL page: strawberry's, named after the hub, opening on a first query that shows
the network off (docs/queries/city.graphql), with the other example queries as tabs.

Strawberry's page loads React, GraphiQL and its explorer plugin from a CDN, each file pinned by
version and by a subresource-integrity hash. When `make install` (python -m hub.assets) has put
those files into hub/static/graphiql/, the page loads them from the hub instead, so that
GraphiQL works offline; otherwise it stays on the CDN.
"""

import base64
import hashlib
import json
import logging
import re
from dataclasses import dataclass
from functools import cache
from html.parser import HTMLParser
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

from hub.resources import folder

logger = logging.getLogger(__name__)

HUB_NAME = "Engagierte Stadt"
EXAMPLES_DIR = folder("docs") / "queries"
# A city whose state is a state partner and whose local network is trisectoral.
FIRST_QUERY = EXAMPLES_DIR / "city.graphql"
STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS_DIR = STATIC_DIR / "graphiql"
ASSETS_URL = "/static/graphiql/"
CDN = "https://unpkg.com/"

# Where strawberry's page hands GraphiQL its options; the tabs and the logo go in beside them.
GRAPHIQL_OPTIONS_ANCHOR = "defaultEditorToolsVisibility: true,"
# Strawberry's branding: its name in the title, its emoji as the icon, its welcome text as the
# query GraphiQL opens on.
STRAWBERRY_TITLE = "<title>Strawberry GraphiQL</title>"
STRAWBERRY_ICON = re.compile(r'<link\s+rel="icon".*?/>', re.DOTALL)
STRAWBERRY_WELCOME = re.compile(r"const EXAMPLE_QUERY = `.*?`;", re.DOTALL)

# A CDN path: the package (scoped or not) at its version, then the file inside it.
CDN_PATH = re.compile(r"(?P<package>(?:@[^/@]+/)?[^/@]+@[^/]+)/(?P<file>.+)")


@dataclass(frozen=True)
class Asset:
    """One file the page loads from the CDN, e.g. `react@18.2.0` `umd/react.production.min.js`."""

    package: str
    file: str
    integrity: str

    @property
    def path(self) -> str:
        """Its path below the CDN's root, and below hub/static/graphiql/."""
        return f"{self.package}/{self.file}"


@dataclass(frozen=True)
class Page:
    """The page and the Content-Security-Policy it works under."""

    html: str
    content_security_policy: str


class PageParts(HTMLParser):
    """Collects a page's CDN files (with their integrity hashes) and its inline scripts."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.assets: list[Asset] = []
        self.inline_scripts: list[str] = []
        self.in_inline_script = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        url = attributes.get("src") or attributes.get("href") or ""
        if url.startswith(CDN) and (match := CDN_PATH.fullmatch(url.removeprefix(CDN))):
            integrity = attributes.get("integrity") or ""
            self.assets.append(Asset(match["package"], match["file"], integrity))
        if tag == "script" and "src" not in attributes:
            self.in_inline_script = True
            self.inline_scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self.in_inline_script = False

    def handle_data(self, data: str) -> None:
        if self.in_inline_script:
            self.inline_scripts[-1] += data


def strawberry_page() -> str:
    """Strawberry's GraphiQL page as it ships."""
    return get_graphql_ide_html(graphql_ide="graphiql")


def script_value(value: object) -> str:
    """`value` as a JavaScript literal inside a <script> element."""
    # Escaping "</" keeps a query's text from closing the page's <script> element.
    return json.dumps(value).replace("</", "<\\/")


def example_tabs() -> list[dict[str, str]]:
    """One GraphiQL tab per example query but the first, in file-name order."""
    examples = sorted(EXAMPLES_DIR.glob("*.graphql"))
    return [{"query": path.read_text()} for path in examples if path != FIRST_QUERY]


def branded(page: str) -> str:
    """The page under the hub's name, opening on its first query and its examples as tabs."""
    page = page.replace(STRAWBERRY_TITLE, f"<title>GraphiQL · {HUB_NAME}</title>", 1)
    page = STRAWBERRY_ICON.sub('<link rel="icon" href="data:,">', page, count=1)
    first_query = script_value(FIRST_QUERY.read_text())
    page = STRAWBERRY_WELCOME.sub(lambda _: f"const EXAMPLE_QUERY = {first_query};", page, count=1)
    # The first tab is the page's own: the first query, or the one a link shares (`?q=`, with
    # its `?variables=`); the examples follow.
    options = (
        f"{GRAPHIQL_OPTIONS_ANCHOR} defaultTabs: [{{ query: parameters.q || EXAMPLE_QUERY, "
        f"variables: parameters.variables }}, ...{script_value(example_tabs())}], "
        f"children: React.createElement(GraphiQL.Logo, null, {script_value(HUB_NAME)}),"
    )
    return page.replace(GRAPHIQL_OPTIONS_ANCHOR, options, 1)


def served_locally(assets: list[Asset], assets_dir: Path) -> bool:
    """Whether the hub has every file the page loads (hub.assets writes only verified ones)."""
    return bool(assets) and all((assets_dir / asset.path).is_file() for asset in assets)


def script_hash(script: str) -> str:
    """The CSP source that allows exactly this inline script."""
    digest = hashlib.sha256(script.encode()).digest()
    return f"'sha256-{base64.b64encode(digest).decode()}'"


def content_security_policy(origins: str, inline_scripts: list[str]) -> str:
    """Scripts and styles from `origins` only, plus the page's own inline scripts by hash.

    Styles also allow inline ones: the page has a <style> element, and GraphiQL's dialogs add
    more as they open (react-remove-scroll).
    Data URLs are the page's icon and the fonts GraphiQL's stylesheet embeds.
    """
    scripts = " ".join([origins, *map(script_hash, inline_scripts)])
    return (
        f"default-src 'self'; script-src {scripts}; style-src {origins} 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


@cache
def graphiql_page(assets_dir: Path = ASSETS_DIR) -> Page:
    """The page with the example tabs, on the hub's copies of its files when it has them all."""
    page = branded(strawberry_page())
    if served_locally(PageParts(page).assets, assets_dir):
        logger.info("GraphiQL loads its scripts and styles from the hub (%s)", ASSETS_URL)
        page, origins = page.replace(CDN, ASSETS_URL), "'self'"
    else:
        logger.warning(
            "GraphiQL loads its scripts and styles from %s; `python -m hub.assets` fetches them",
            CDN,
        )
        origins = f"'self' {CDN.rstrip('/')}"
    return Page(page, content_security_policy(origins, PageParts(page).inline_scripts))
