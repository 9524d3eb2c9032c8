"""GraphiQL in a real Chromium: served by the hub alone, it runs a preloaded example query."""

import json
import re

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By

from hub.graphiql import ASSETS_URL, EXAMPLES_DIR, PageParts, strawberry_page
from tests.browser.chromium import (
    console_errors,
    left_the_machine,
    requested_urls,
    wait_for,
)

EXAMPLES = sorted(EXAMPLES_DIR.glob("*.graphql"))
STATISTICS = EXAMPLES_DIR / "statistics.graphql"
ASSETS = PageParts(strawberry_page()).assets
# The result pane's editor holds the whole result; its DOM only the lines in view.
RESULT = "return document.querySelector('.result-window .CodeMirror')?.CodeMirror.getValue()"


def operation_name(text: str) -> str:
    """The name of the first operation of a document."""
    match = re.search(r"^(?:query|mutation|subscription)\s+(\w+)", text, re.MULTILINE)
    assert match, "every example names its operation"
    return match[1]


def test_graphiql_runs_a_preloaded_example_with_nothing_from_elsewhere(
    hub_url: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{hub_url}/graphql")
    tabs = wait_for(
        browser, lambda page: page.find_elements(By.CSS_SELECTOR, ".graphiql-tab-button")
    )
    # The first tab is GraphiQL's own (the welcome text); one tab per example follows.
    names = [tab.text for tab in tabs]
    assert names[1:] == [operation_name(path.read_text()) for path in EXAMPLES]

    tabs[names.index(operation_name(STATISTICS.read_text()))].click()
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    shown = wait_for(browser, lambda page: page.execute_script(RESULT))

    expected = httpx.post(f"{hub_url}/graphql", json={"query": STATISTICS.read_text()})
    assert json.loads(shown) == expected.json()
    urls = requested_urls(browser)
    assert {f"{hub_url}{ASSETS_URL}{asset.path}" for asset in ASSETS} <= set(urls)
    assert left_the_machine(urls) == []
    assert console_errors(browser) == []
