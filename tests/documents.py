"""The Markdown documents of the repository (README.md and docs/), parsed as their readers see
them rendered: by the parser the hub renders them with (CommonMark with GitHub's tables)."""

from functools import cache
from pathlib import Path

from graphql import DocumentNode, parse
from markdown_it.token import Token

from hub.documents import MARKDOWN

REPOSITORY = Path(__file__).resolve().parent.parent
README = REPOSITORY / "README.md"
DOCUMENTS = [README, *sorted((REPOSITORY / "docs").rglob("*.md"))]
# The pages a newcomer follows step by step: their queries must answer on the demo data.
WALKTHROUGHS = [README, *sorted((REPOSITORY / "docs" / "guides").glob("*.md"))]


@cache
def tokens(path: Path) -> list[Token]:
    """The document's block tokens, in order."""
    return MARKDOWN.parse(path.read_text())


def code_blocks(path: Path, language: str) -> list[str]:
    """The text of the document's fenced code blocks in `language`."""
    return [
        token.content for token in tokens(path) if token.type == "fence" and token.info == language
    ]


def graphql_documents(path: Path) -> list[DocumentNode]:
    """The document's GraphQL code blocks, parsed."""
    return [parse(block) for block in code_blocks(path, "graphql")]


def where(path: Path) -> str:
    """The document's path in the repository, for messages."""
    return str(path.relative_to(REPOSITORY))
