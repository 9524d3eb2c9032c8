"""Debian's Chromium, headless, driven through its chromedriver; kept on this machine.

Selenium with the chromedriver of the same Debian release as the browser: the two always match,
and nothing is downloaded at run time (a browser build of Playwright's own would be).
"""

import json
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import urlsplit

import pytest
from selenium import webdriver
from selenium.common.exceptions import TimeoutException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
WAIT_SECONDS = 20
# Chromium sends everything but loopback through this proxy, where nothing listens: a page
# that reaches for another host fails there instead of leaving the machine.
NOWHERE = "http://127.0.0.1:9"


def chromium() -> webdriver.Chrome:
    """A new headless Chromium that records its network requests and console messages."""
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests may run as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--disable-background-networking",
        f"--proxy-server={NOWHERE}",
        "--window-size=1280,1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"performance": "ALL", "browser": "ALL"})
    return webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))


def requested_urls(browser: webdriver.Chrome) -> list[str]:
    """Every URL the pages asked for since the last call, embedded data included."""
    events = (json.loads(entry["message"])["message"] for entry in browser.get_log("performance"))
    return [
        event["params"]["request"]["url"]
        for event in events
        if event["method"] == "Network.requestWillBeSent"
    ]


def left_the_machine(urls: list[str]) -> list[str]:
    """The URLs that name another host than this machine."""
    return [
        url
        for url in urls
        if urlsplit(url).scheme != "data" and urlsplit(url).hostname not in LOCAL_HOSTS
    ]


def console_errors(browser: webdriver.Chrome) -> list[str]:
    """The console's errors since the last call: failed loads, CSP refusals, exceptions."""
    return [entry["message"] for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]


def wait_for(browser: webdriver.Chrome, condition: Callable[[webdriver.Chrome], T]) -> T:
    """The condition's first true value; on a timeout, a failure saying what the page did."""
    try:
        return WebDriverWait(browser, WAIT_SECONDS).until(condition)
    except TimeoutException:
        pytest.fail(
            f"the page did not get there in {WAIT_SECONDS} s; console errors: "
            f"{console_errors(browser)}; requests elsewhere: "
            f"{left_the_machine(requested_urls(browser))}"
        )
