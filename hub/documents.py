"""The documents served under /docs/: the README and docs/, their Markdown rendered as HTML.

Links between documents point at their rendered pages, wherever in the repository the
document that links lies; raw HTML in the Markdown is shown as text, never passed through.
"""

import posixpath
import re
from functools import cache
from html import escape
from pathlib import Path
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.token import Token
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, PlainTextResponse, Response

from hub.resources import CHECKOUT, folder

DOCS_DIR = folder("docs")
# A checkout's README; an installed wheel has none.
README = CHECKOUT / "README.md"
DOCS_URL = "/docs/"
# What docs/ holds for readers: texts, example queries and the pictures the texts show.
SERVED_SUFFIXES = {".md", ".graphql", ".png"}

# Styles from the hub itself, no script at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>{title} · Engagierte Stadt</title>
  <link rel="icon" href="data:,">
  <link rel="stylesheet" href="/static/landing.css">
</head>
<body class="document">
<nav aria-label="The hub"><a href="/">Engagierte Stadt: the network's GraphQL hub</a></nav>
<main>
{body}</main>
</body>
</html>
"""


@cache
def documents() -> dict[str, Path]:
    """The files served under /docs/, by their name there: the README and what docs/ holds."""
    named = {"README.md": README} if README.is_file() else {}
    for path in sorted(DOCS_DIR.rglob("*")):
        if path.suffix in SERVED_SUFFIXES:
            named[path.relative_to(DOCS_DIR).as_posix()] = path
    return named


def path_in_repository(name: str) -> str:
    """Where the document served as `name` lies in the repository (`docs/http.md`)."""
    return name if name == "README.md" else f"docs/{name}"


@cache
def names_in_repository() -> dict[str, str]:
    """The documents' names under /docs/, by their path in the repository."""
    return {path_in_repository(name): name for name in documents()}


def served_link(link: str, folder: str) -> str:
    """A relative link of a document in `folder` (of the repository) as the hub serves it."""
    parts = urlsplit(link)
    if parts.scheme or parts.netloc or not parts.path:
        return link
    name = names_in_repository().get(posixpath.normpath(posixpath.join(folder, parts.path)))
    if name is None:
        return link
    return DOCS_URL + name + (f"#{parts.fragment}" if parts.fragment else "")


def slug(heading: str, taken: set[str]) -> str:
    """The anchor GitHub gives a heading, so that links like `#limits` work here as there."""
    anchor = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
    unique, count = anchor, 0
    while unique in taken:
        count += 1
        unique = f"{anchor}-{count}"
    taken.add(unique)
    return unique


def plain_text(inline: Token) -> str:
    """The text of an inline token, without its markup."""
    return "".join(child.content for child in inline.children or [])


def link_and_anchor(tokens: list[Token], folder: str) -> None:
    """Give headings their anchors and point relative links at the served pages."""
    taken: set[str] = set()
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            token.attrSet("id", slug(plain_text(tokens[index + 1]), taken))
        for child in token.children or []:
            if child.type == "link_open":
                child.attrSet("href", served_link(str(child.attrGet("href")), folder))
            if child.type == "image":
                child.attrSet("src", served_link(str(child.attrGet("src")), folder))


# CommonMark with GitHub's tables and strikethrough; HTML in the text is escaped.
MARKDOWN = MarkdownIt("commonmark", {"html": False}).enable(["table", "strikethrough"])


def title_of(tokens: list[Token]) -> str:
    """The text of the first heading."""
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            return plain_text(tokens[index + 1])
    return ""


def html_page(markdown: str, folder: str) -> str:
    """Markdown of a document in `folder` (of the repository, e.g. `docs`) as an HTML page."""
    tokens = MARKDOWN.parse(markdown)
    link_and_anchor(tokens, folder)
    body = MARKDOWN.renderer.render(tokens, MARKDOWN.options, {})
    return PAGE.format(title=escape(title_of(tokens) or "Documentation"), body=body)


@cache
def rendered(name: str) -> str:
    """The Markdown document served as `name` as an HTML page."""
    markdown = documents()[name].read_text()
    return html_page(markdown, posixpath.dirname(path_in_repository(name)))


async def document(request: Request) -> Response:
    """One of the documents: Markdown as HTML, example queries as text, pictures as they are."""
    name = request.path_params["name"]
    path = documents().get(name)
    if path is None:
        raise HTTPException(404)
    if path.suffix == ".md":
        return HTMLResponse(
            rendered(name), headers={"Content-Security-Policy": CONTENT_SECURITY_POLICY}
        )
    if path.suffix == ".graphql":
        return PlainTextResponse(path.read_text())
    return FileResponse(path)
