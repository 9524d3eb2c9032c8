"""GraphiQL in a real Chromium: served by the hub alone and named after it, it opens on the
hub's first query and runs the preloaded examples."""

import json
import re

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By

from hub.graphiql import ASSETS_URL, EXAMPLES_DIR, FIRST_QUERY, PageParts, strawberry_page
from tests.browser.chromium import (
    console_errors,
    left_the_machine,
    requested_urls,
)
from tests.browser.graphiql import QUERY_EDITOR, editor_text, open_tab, run_and_read, tabs

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.graphql"))
STATISTICS = EXAMPLES_DIR / "statistics.graphql"
ASSETS = PageParts(strawberry_page()).assets


def operation_name(text: str) -> str:
    """The name of the first operation of a document."""
    match = re.search(r"^(?:query|mutation|subscription)\s+(\w+)", text, re.MULTILINE)
    assert match, "every example names its operation"
    return match[1]


def test_graphiql_runs_a_preloaded_example_with_nothing_from_elsewhere(
    hub_url: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{hub_url}/graphql")
    names = [tab.text for tab in tabs(browser)]
    # The first tab is the hub's first query; one tab per other example follows.
    others = [path for path in EXAMPLES if path != FIRST_QUERY]
    assert names == [operation_name(FIRST_QUERY.read_text())] + [
        operation_name(path.read_text()) for path in others
    ]

    open_tab(browser, operation_name(STATISTICS.read_text()))
    shown = run_and_read(browser)

    expected = httpx.post(f"{hub_url}/graphql", json={"query": STATISTICS.read_text()})
    assert json.loads(shown) == expected.json()
    urls = requested_urls(browser)
    assert {f"{hub_url}{ASSETS_URL}{asset.path}" for asset in ASSETS} <= set(urls)
    assert left_the_machine(urls) == []
    assert console_errors(browser) == []


def test_graphiql_bears_the_hubs_name_and_opens_on_its_first_query(
    hub_url: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{hub_url}/graphql")
    tabs(browser)
    assert browser.title == "GraphiQL · Engagierte Stadt"
    assert browser.find_element(By.CSS_SELECTOR, ".graphiql-logo").text == "Engagierte Stadt"
    assert editor_text(browser, QUERY_EDITOR) == FIRST_QUERY.read_text()

    shown = json.loads(run_and_read(browser))
    assert "errors" not in shown
    assert shown["data"]["city"]["localNetwork"]["composition"] == "TRISECTORAL"
    assert shown["data"]["city"]["state"]["partnership"] is not None
    assert console_errors(browser) == []
