"""The documents under /docs/: the README and docs/ as HTML pages, their links between them."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import httpx
import pytest

from hub.documents import documents, html_page

MARKDOWN_NAMES = [name for name in documents() if name.endswith(".md")]


class PageLinks(HTMLParser):
    """A page's link targets and the ids its elements carry."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.links: list[str] = []
        self.ids: set[str] = set()
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(str(attributes["id"]))
        if tag in {"a", "img"}:
            self.links.append(str(attributes.get("href") or attributes.get("src")))


def test_documents_are_the_readme_the_docs_their_pictures_and_the_examples() -> None:
    assert {
        "README.md",
        "architecture.md",
        "benchmarks/throughput.png",
        "queries/statistics.graphql",
    } <= set(documents())
    assert not any(name.endswith(".json") for name in documents())


async def test_a_markdown_document_is_an_html_page_titled_by_its_heading(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/docs/architecture.md")
    assert response.headers["content-type"].startswith("text/html")
    heading = re.search(r"^# (.+)$", documents()["architecture.md"].read_text(), re.MULTILINE)
    assert heading
    assert f"<title>{heading[1]} · Engagierte Stadt</title>" in response.text
    assert '<link rel="stylesheet" href="/static/landing.css">' in response.text
    assert "script-src" not in response.headers["Content-Security-Policy"]


async def test_examples_and_pictures_are_served_as_they_are(client: httpx.AsyncClient) -> None:
    example = await client.get("/docs/queries/statistics.graphql")
    assert example.headers["content-type"].startswith("text/plain")
    assert "query NetworkStatistics" in example.text
    picture = await client.get("/docs/benchmarks/throughput.png")
    assert picture.headers["content-type"] == "image/png"
    assert picture.content == documents()["benchmarks/throughput.png"].read_bytes()


@pytest.mark.parametrize(
    "path",
    [
        "/docs/pyproject.toml",
        "/docs/../pyproject.toml",
        "/docs/%2e%2e/pyproject.toml",
        "/docs/..%2fpyproject.toml",
        "/docs/queries/../../pyproject.toml",
        "/docs//etc/passwd",
        "/docs/benchmarks/latest.json",
        "/docs/docs/architecture.md",
    ],
)
async def test_nothing_but_the_documents_is_served(client: httpx.AsyncClient, path: str) -> None:
    assert (await client.get(path)).status_code == 404


@pytest.mark.parametrize("name", MARKDOWN_NAMES)
async def test_every_link_between_documents_reaches_its_page_and_anchor(
    client: httpx.AsyncClient, name: str
) -> None:
    page = PageLinks((await client.get(f"/docs/{name}")).text)
    for link in page.links:
        target = urlsplit(link)
        if target.scheme in {"http", "https", "data"}:
            continue
        assert target.path.startswith("/") or not target.path, f"{name}: {link} is not served"
        anchors = page.ids
        if target.path:
            answer = await client.get(target.path)
            assert answer.status_code == 200, f"{name}: {link}"
            anchors = PageLinks(answer.text).ids if target.path.endswith(".md") else set()
        assert not target.fragment or target.fragment in anchors, f"{name}: {link}"


def test_links_are_read_from_where_the_document_lies() -> None:
    readme = html_page("[Writes](docs/writes.md#saved-views)", "")
    assert '<a href="/docs/writes.md#saved-views">' in readme
    doc = html_page("[Back](../README.md#quick-start) [Next](http.md) [Here](#top)", "docs")
    assert '<a href="/docs/README.md#quick-start">' in doc
    assert '<a href="/docs/http.md">' in doc
    assert '<a href="#top">' in doc
    picture = html_page("![Throughput](benchmarks/throughput.png)", "docs")
    assert '<img src="/docs/benchmarks/throughput.png" alt="Throughput" />' in picture


def test_headings_get_the_anchors_github_gives_them() -> None:
    page = html_page("# The hub\n## GraphiQL, offline & `HUB_X`\n## Limits\n## Limits", "docs")
    assert '<h1 id="the-hub">' in page
    assert '<h2 id="graphiql-offline--hub_x">' in page
    assert '<h2 id="limits">' in page
    assert '<h2 id="limits-1">' in page


def test_tables_render_as_tables() -> None:
    page = html_page("| variable | default |\n| --- | --- |\n| `HUB_X` | unset |", "docs")
    assert "<table>" in page
    assert "<th>variable</th>" in page
    assert "<td><code>HUB_X</code></td>" in page


def test_html_in_markdown_is_shown_as_text_never_passed_through() -> None:
    page = html_page(
        '<script>alert("hi")</script>\n\nSee <img src=x onerror=alert(1)>\n\n'
        "[click](javascript:alert(1))\n\n```html\n<b>bold</b>\n```",
        "docs",
    )
    body = page.split("<main>", 1)[1]
    assert "<script" not in body
    assert "<img" not in body
    assert 'href="javascript:' not in body
    assert "&lt;script&gt;" in body
    assert '<pre><code class="language-html">&lt;b&gt;bold&lt;/b&gt;' in body
