"""The landing page in a real Chromium: figures, charts and the map drawn from the hub's data."""

import json
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By

from hub.graphiql import FIRST_QUERY
from tests.browser.chromium import (
    console_errors,
    left_the_machine,
    requested_urls,
    wait_for,
)
from tests.browser.graphiql import (
    QUERY_EDITOR,
    VARIABLES_EDITOR,
    editor_text,
    run_and_read,
    tabs,
)

EXPECTED = """{
  cities { totalCount }
  statistics {
    citiesByState { count state { name } }
    sectorComposition { byComposition { count } }
  }
}"""
STATUSES = "{ cities { totalCount } statistics { citiesByStatus { status count } } }"
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


def test_landing_page_tells_members_from_former_members(
    hub_url: str, browser: webdriver.Chrome
) -> None:
    expected = httpx.post(f"{hub_url}/graphql", json={"query": STATUSES}).json()["data"]
    by_status = {row["status"]: row["count"] for row in expected["statistics"]["citiesByStatus"]}
    browser.get(f"{hub_url}/")
    membership = wait_for(
        browser,
        lambda page: page.find_element(By.CSS_SELECTOR, '[data-figure="membership"]').text,
    )
    assert membership == (
        f"{expected['cities']['totalCount']} cities: {by_status['MEMBER']} members, "
        f"{by_status['FORMER_MEMBER']} former members"
    )


# Each label shown on the map: its text, its box on the screen and its font's size in pixels.
LABELS = """return [...document.querySelectorAll('#map .city.labelled text')].map((text) => {
  const box = text.getBoundingClientRect();
  return {name: text.textContent, left: box.left, right: box.right, top: box.top,
          bottom: box.bottom, pixels: box.height};
});"""
MAP_BOX = "return document.getElementById('map').getBoundingClientRect().toJSON()"


def labels(browser: webdriver.Chrome) -> list[dict[str, Any]]:
    """The labels the map shows."""
    shown: list[dict[str, Any]] = browser.execute_script(LABELS)
    return shown


def overlap(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two boxes on the screen overlap."""
    return (
        one["left"] < other["right"]
        and other["left"] < one["right"]
        and one["top"] < other["bottom"]
        and other["top"] < one["bottom"]
    )


@pytest.mark.parametrize("width", [1280, 375], ids=["desktop", "phone"])
def test_the_map_shows_every_city_with_readable_labels(
    hub_url: str, browser: webdriver.Chrome, width: int
) -> None:
    expected = httpx.post(f"{hub_url}/graphql", json={"query": STATUSES}).json()["data"]
    by_status = {row["status"]: row["count"] for row in expected["statistics"]["citiesByStatus"]}
    browser.set_window_size(width, 900)
    browser.get(f"{hub_url}/")
    markers = wait_for(browser, lambda page: page.find_elements(By.CSS_SELECTOR, "#map .city"))

    assert len(markers) == expected["cities"]["totalCount"]
    former = browser.find_elements(By.CSS_SELECTOR, "#map .city.former")
    assert len(former) == by_status["FORMER_MEMBER"]
    assert all(marker.get_dom_attribute("href").startswith("/graphql?q=") for marker in markers)
    assert len(browser.find_elements(By.CSS_SELECTOR, "#map path.state")) == 16
    credit = browser.find_element(By.CSS_SELECTOR, '[data-figure="outlinesCredit"]').text
    assert "Natural Earth" in credit

    shown, map_box = labels(browser), browser.execute_script(MAP_BOX)
    assert len(shown) >= 5
    for index, label in enumerate(shown):
        assert label["pixels"] >= 12, label
        assert map_box["left"] <= label["left"] and label["right"] <= map_box["right"], label
        assert not any(overlap(label, other) for other in shown[index + 1 :]), label
    assert browser.execute_script("return document.documentElement.scrollWidth") <= width
    assert console_errors(browser) == []


def test_a_city_on_the_map_opens_its_query_in_graphiql(
    hub_url: str, browser: webdriver.Chrome
) -> None:
    browser.get(f"{hub_url}/")
    aachen = wait_for(
        browser,
        lambda page: page.find_element(By.CSS_SELECTOR, '#map .city[aria-label^="Aachen:"]'),
    )
    aachen.find_element(By.CSS_SELECTOR, "circle").click()

    assert tabs(browser)[0].text == "City"
    assert browser.title == "GraphiQL · Engagierte Stadt"
    assert editor_text(browser, QUERY_EDITOR) == FIRST_QUERY.read_text()
    assert json.loads(editor_text(browser, VARIABLES_EDITOR)) == {"city": "aachen"}
    shown = json.loads(run_and_read(browser))
    assert shown["data"]["city"]["name"] == "Aachen"
    assert console_errors(browser) == []
