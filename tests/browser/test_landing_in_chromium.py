"""The landing page in a real Chromium: figures and charts drawn from the hub's statistics."""

import httpx
from selenium import webdriver
from selenium.webdriver.common.by import By

from tests.browser.chromium import (
    console_errors,
    left_the_machine,
    requested_urls,
    wait_for,
)

EXPECTED = """{
  cities { totalCount }
  statistics {
    citiesByState { count state { name } }
    sectorComposition { byComposition { count } }
  }
}"""
BAR_TITLES = "return [...document.querySelectorAll(arguments[0])].map((title) => title.textContent)"


def bar_titles(browser: webdriver.Chrome, chart: str) -> list[str]:
    """The tooltip of each bar of a chart: `label: figure`."""
    titles: list[str] = browser.execute_script(BAR_TITLES, f"#{chart} .bar title")
    return titles


def test_landing_page_draws_its_charts_with_nothing_from_elsewhere(
    hub_url: str, browser: webdriver.Chrome
) -> None:
    expected = httpx.post(f"{hub_url}/graphql", json={"query": EXPECTED}).json()["data"]
    by_state = expected["statistics"]["citiesByState"]
    compositions = expected["statistics"]["sectorComposition"]["byComposition"]

    browser.get(f"{hub_url}/")
    wait_for(browser, lambda page: bar_titles(page, "sector-composition-chart"))

    assert sorted(bar_titles(browser, "cities-by-state-chart")) == sorted(
        f"{group['state']['name']}: {group['count']:,}" for group in by_state
    )
    assert len(browser.find_elements(By.CSS_SELECTOR, "#cities-by-state-chart rect")) == len(
        by_state
    )
    assert [title.split(": ")[1] for title in bar_titles(browser, "sector-composition-chart")] == [
        f"{group['count']:,}" for group in compositions
    ]
    cities = browser.find_element(By.CSS_SELECTOR, '[data-figure="cities"]').text
    assert cities == f"{expected['cities']['totalCount']:,}"
    assert left_the_machine(requested_urls(browser)) == []
    assert console_errors(browser) == []
