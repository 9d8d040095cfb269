"""Playwright driving Debian's Chromium (never Playwright's own download) against the local run."""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright
from playwright.sync_api import Error as PlaywrightError

from tests.local.conftest import local_run

__all__ = ["local_run"]

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--use-fake-ui-for-media-stream",
    "--use-fake-device-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]


def chromium_path() -> str:
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("Debian's chromium is not installed: `make test` installs it (apt-get install chromium)")
    return executable


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as running:
        yield running


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
    yield launched
    launched.close()


# Debian's Firefox ESR through WebDriver BiDi. Fake devices with no prompt; with camera and
# microphone allowed it gathers candidates on every interface (else on the default route only);
# loopback and unobfuscated host candidates, as the worker's are; no OpenH264 download (offline:
# VP8 only, which the worker forwards).
FIREFOX_PREFS: dict[str, str | float | bool] = {
    "media.navigator.streams.fake": True,
    "media.navigator.permission.disabled": True,
    "permissions.default.camera": 1,
    "permissions.default.microphone": 1,
    "media.peerconnection.ice.loopback": True,
    "media.peerconnection.ice.obfuscate_host_addresses": False,
    "media.gmp-gmpopenh264.enabled": False,
    "media.gmp-manager.updateEnabled": False,
    "media.autoplay.default": 0,
}


@pytest.fixture(scope="session")
def firefox(playwright: Playwright) -> Iterator[Browser]:
    executable = shutil.which("firefox-esr")
    if executable is None:
        pytest.fail(
            "Debian's firefox-esr is not installed: `make test` installs it (apt-get install firefox-esr)"
        )
    launched = playwright.firefox.launch(
        channel="moz-firefox", executable_path=executable, headless=True, firefox_user_prefs=FIREFOX_PREFS
    )
    yield launched
    launched.close()


class PageErrors:
    """Collects uncaught script errors so a test can assert there were none, and closes every
    watched page's browser context when the test ends: a page left open keeps its call, its
    fake camera and its worker relay running for the rest of the suite, which starves the later
    tests of CPU on a 2-core machine."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self._contexts: list[BrowserContext] = []

    def watch(self, page: Page) -> Page:
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        if page.context not in self._contexts:
            self._contexts.append(page.context)
        return page

    def close_all(self) -> None:
        for context in self._contexts:
            with contextlib.suppress(PlaywrightError):  # its browser is gone already
                context.close()
        self._contexts.clear()


@pytest.fixture
def page_errors() -> Iterator[PageErrors]:
    errors = PageErrors()
    yield errors
    errors.close_all()


def new_page(
    browser: Browser, errors: PageErrors, width: int = 1280, height: int = 860, **options: Any
) -> Page:
    context = browser.new_context(viewport={"width": width, "height": height}, **options)
    context.set_default_timeout(15000)
    return errors.watch(context.new_page())


def log_in(page: Page, base_url: str, email: str) -> None:
    page.goto(base_url + "/")
    page.get_by_test_id("login-email").fill(email)
    page.get_by_test_id("login-password").fill("Clinic-Demo-2026!")
    page.get_by_test_id("login-submit").click()
    page.get_by_test_id("invite-button").wait_for()
