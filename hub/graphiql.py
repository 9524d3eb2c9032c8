"""The GraphiQL page, opened with the example queries of docs/queries/ as tabs."""

import json
from functools import cache
from pathlib import Path

from strawberry.http.ides import get_graphql_ide_html

EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "docs" / "queries"

# Where strawberry's page hands GraphiQL its options; the tabs go in beside them.
GRAPHIQL_OPTIONS_ANCHOR = "defaultEditorToolsVisibility: true,"


def example_tabs() -> list[dict[str, str]]:
    """One GraphiQL tab per example query, in file-name order."""
    return [{"query": path.read_text()} for path in sorted(EXAMPLES_DIR.glob("*.graphql"))]


@cache
def graphiql_html() -> str:
    """Strawberry's GraphiQL page with the example tabs (the page stays as it is without them)."""
    page = get_graphql_ide_html(graphql_ide="graphiql")
    # Escaping "</" keeps a query's text from closing the page's <script> element.
    tabs = json.dumps(example_tabs()).replace("</", "<\\/")
    return page.replace(
        GRAPHIQL_OPTIONS_ANCHOR, f"{GRAPHIQL_OPTIONS_ANCHOR} defaultTabs: {tabs},", 1
    )
