"""What GraphiQL shows in the browser: its tabs and the texts of its editors."""

import time

from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from tests.browser.chromium import wait_for

QUERY_EDITOR = ".graphiql-query-editor .CodeMirror"
VARIABLES_EDITOR = ".graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror"
RESULT_EDITOR = ".result-window .CodeMirror"
# GraphiQL reads which operation a query holds 100 ms after its text changes (a debounce);
# run sooner and it sends the name of the tab before.
OPERATION_READ_SECONDS = 0.5
# An editor holds its whole text; its DOM only the lines in view.
EDITOR_TEXT = "return document.querySelector(arguments[0])?.CodeMirror.getValue()"


def editor_text(browser: webdriver.Chrome, editor: str) -> str:
    """The text of one of GraphiQL's editors (empty while there is none)."""
    text: str | None = browser.execute_script(EDITOR_TEXT, editor)
    return text or ""


def tabs(browser: webdriver.Chrome) -> list[WebElement]:
    """GraphiQL's tabs, once it has drawn them."""
    return wait_for(
        browser, lambda page: page.find_elements(By.CSS_SELECTOR, ".graphiql-tab-button")
    )


def open_tab(browser: webdriver.Chrome, name: str) -> None:
    """Open the tab of the operation `name`, once GraphiQL has read which one it holds."""
    shown = tabs(browser)
    shown[[tab.text for tab in shown].index(name)].click()
    time.sleep(OPERATION_READ_SECONDS)


def run_and_read(browser: webdriver.Chrome) -> str:
    """Run the open tab's query; the result GraphiQL shows."""
    browser.find_element(By.CSS_SELECTOR, ".graphiql-execute-button").click()
    return wait_for(browser, lambda page: editor_text(page, RESULT_EDITOR))
