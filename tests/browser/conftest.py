"""Fixtures of the browser tests: one Chromium per session, a fresh context per test, the live app.

Every test module here is marked `browser` and put in the xdist group "browser", so one worker runs them
all and the browser starts once. A missing Chromium fails these tests (it never skips them in CI):
`make install` and `.ci/run` install Debian's package when it is absent.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser import harness
from tests.conftest import make_settings


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    """Playwright's driver, started once (after checking Chromium is there)."""
    reason = harness.chromium_missing_reason()
    if reason:
        if os.environ.get("FANAPP_SKIP_BROWSER_TESTS") == "1" and not os.environ.get("CI"):
            pytest.skip(reason + " (FANAPP_SKIP_BROWSER_TESTS=1)")
        pytest.fail(reason, pytrace=False)
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    """Debian's Chromium, shared by every browser test of the session."""
    shutil.rmtree(harness.SCREENSHOTS, ignore_errors=True)  # this run's screenshots only
    chromium = harness.launch(playwright_driver)
    yield chromium
    chromium.close()


@dataclass
class Tab:
    """One browser context with its page and the guard watching it."""

    context: BrowserContext
    page: Page
    guard: harness.Guard
    name: str

    def goto(self, url: str) -> None:
        """Open `url` and wait for the page to be loaded."""
        self.page.goto(url, wait_until="load")

    def shot(self, step: str, *, full_page: bool = False) -> None:
        """Screenshot of the page as a test artefact."""
        harness.screenshot(self.page, f"{self.name}-{step}", full_page=full_page)

    def assert_clean(self) -> None:
        """No console error, page error, failed request or request off this machine so far."""
        problems = self.guard.problems()
        assert not problems, "the browser saw problems:\n" + "\n".join(problems)

    def assert_fits(self) -> None:
        """The page does not scroll sideways at the current viewport."""
        overflow = harness.horizontal_overflow(self.page)
        assert not overflow, f"wider than the viewport: {overflow}"


OpenTab = Callable[..., Tab]


@pytest.fixture
def open_tab(browser: Browser, request: pytest.FixtureRequest) -> Iterator[OpenTab]:
    """`open_tab(viewport="desktop"|"phone", **context_options)`: a fresh context and page, guarded.

    At teardown every guard must be clean (a test that provokes an error declares it with
    `tab.guard.expect(regex)`), and on failure each page leaves a screenshot in test-artifacts/.
    """
    tabs: list[Tab] = []
    test_name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-")

    def _open(viewport: str = "desktop", *, htmx_body: bytes | None = None, **options: Any) -> Tab:
        context = harness.new_context(browser, harness.VIEWPORTS[viewport], **options)
        guard = harness.Guard().attach(context, htmx_body=htmx_body)
        page = context.new_page()
        page.set_default_timeout(10_000)
        tab = Tab(context, page, guard, f"{test_name}-{len(tabs)}" if tabs else test_name)
        tabs.append(tab)
        return tab

    request.node.browser_tabs = tabs
    yield _open
    problems = [f"{tab.name}: {line}" for tab in tabs for line in tab.guard.problems()]
    for tab in tabs:
        tab.context.close()
    assert not problems, "the browser saw problems:\n" + "\n".join(problems)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """On a failing browser test, keep a screenshot of each of its pages."""
    report = yield
    if report.when == "call" and report.failed:
        for tab in getattr(item, "browser_tabs", []):
            with contextlib.suppress(Exception):  # a closed page must not hide the real failure
                harness.screenshot(tab.page, f"FAILED-{tab.name}", full_page=True)
    return report


@dataclass
class Site:
    """The live app (and, when asked, the Spotify double it talks to)."""

    server: harness.LiveServer
    spotify: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def url(self) -> str:
        """The app's base URL."""
        return self.server.url

    def publish_demo(self) -> str:
        """A published demo episode, made through the app's test client (fast); returns the slug."""
        from tests.conftest import publish_demo

        return publish_demo(self.server.app.test_client())  # type: ignore[union-attr]


ServeApp = Callable[..., Site]


@pytest.fixture
def serve_app(database_url: str) -> Iterator[ServeApp]:
    """`serve_app(**settings)`: the real app on a fresh database, served on 127.0.0.1."""
    servers: list[harness.LiveServer] = []

    def _serve(settings_for: Callable[[harness.LiveServer], dict[str, Any]] | None = None) -> Site:
        server = harness.serve_app(database_url, settings_for)
        servers.append(server)
        return Site(server)

    yield _serve
    for server in servers:
        server.stop()


@pytest.fixture
def site(serve_app: ServeApp) -> Site:
    """The app with its defaults: no Spotify credentials, so the demo is the way in."""
    return serve_app()


@pytest.fixture
def spotify_site(database_url: str) -> Iterator[Site]:
    """The app wired to the Spotify double, whose redirect URI names the live server's port."""
    from fanapp import create_app
    from tests.fakes.spotify import FakeSpotify

    server = harness.LiveServer()
    redirect_uri = f"{server.url}/callback/spotify"
    with FakeSpotify.running(redirect_uri=redirect_uri) as fake:
        settings = make_settings(
            database_url,
            spotify_client_id=fake.client_id,
            spotify_client_secret=fake.client_secret,
            spotify_redirect_uri=redirect_uri,
            spotify_accounts_url=fake.accounts_url,
            spotify_api_url=fake.api_url,
            upstream_timeout=2.0,
        )
        server.mount(create_app(settings))
        try:
            yield Site(server, spotify=fake)
        finally:
            server.stop()
