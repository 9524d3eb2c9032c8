"""The hub served on the demo data by a real process, and a browser per test."""

from collections.abc import Iterator

import pytest
from selenium import webdriver

from tests.browser.chromium import chromium
from tests.test_cli import environment, free_port, serving


@pytest.fixture(scope="session")
def hub_url(demo_database_url: str) -> Iterator[str]:
    """The address of `engagement-hub serve` on the demo database."""
    port = free_port()
    with serving(port, environment(DATABASE_URL=demo_database_url)):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    """A fresh headless Chromium."""
    driver = chromium()
    try:
        yield driver
    finally:
        driver.quit()
