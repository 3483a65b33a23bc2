"""After a failed upload or a refused publish the visitor sees the message at once (focused, or in view
without scrolling) on a phone and a desktop, with and without JavaScript; a reload then posts nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import OpenTab, ServeApp, Site, Tab
from tests.browser.test_journeys import BUILDER

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

VIEWPORTS = ["phone", "desktop"]


def in_view(message: Locator) -> bool:
    """The whole message is inside the viewport as it is now (no scrolling done by the test)."""
    inside: bool = message.evaluate(
        "el => { const r = el.getBoundingClientRect();"
        " return r.height > 0 && r.top >= -1 && r.bottom <= window.innerHeight + 1; }"
    )
    return inside


def focused(message: Locator) -> bool:
    result: bool = message.evaluate("el => document.activeElement === el")
    return result


def posts_seen(page: Page) -> list[str]:
    """Every POST this page sends from now on (method and path)."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(r.url) if r.method == "POST" else None)
    return seen


def assert_seen_at_once(message: Locator, *, javascript: bool) -> None:
    expect(message).to_be_visible()
    assert in_view(message), "the message is off screen: " + str(
        message.evaluate(
            "el => [el.getBoundingClientRect().top, el.getBoundingClientRect().bottom, "
            "window.innerHeight, window.scrollY, document.documentElement.scrollHeight]"
        )
    )
    if javascript:
        assert focused(message), "focus did not move to the message"


def assert_reload_posts_nothing(tab: Tab) -> None:
    posts = posts_seen(tab.page)
    tab.page.reload(wait_until="load")
    assert posts == [], f"the reload re-submitted: {posts}"


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_failed_upload_is_seen_at_once(
    site: Site, open_tab: OpenTab, tmp_path: Path, viewport: str, javascript: bool
) -> None:
    tab = open_tab(viewport, java_script_enabled=javascript)
    tab.guard.expect(r"400 .*(POST )?http://127\.0\.0\.1:\d+/upload|status of 400 .*/upload")  # provoked
    tab.goto(site.url + "/")
    bad = tmp_path / "notes.txt"
    bad.write_text("these are my holiday notes, not a Spotify export")
    form = tab.page.get_by_test_id("upload-export")
    form.locator("input[type=file]").set_input_files(str(bad))
    with tab.page.expect_response(re.compile(r"/upload$")):
        form.get_by_role("button", name="Upload and build").click()
    tab.page.wait_for_load_state("load")
    message = tab.page.locator('#export-error[data-testid="error-message"]')
    expect(message).to_contain_text("streaming history")
    assert_seen_at_once(message, javascript=javascript)
    tab.shot(f"upload-refused-{viewport}")
    assert not tab.page.url.endswith("/upload")  # the address is a GET
    assert_reload_posts_nothing(tab)
    if not javascript:
        expect(tab.page.locator('[data-testid="error-message"]')).to_have_count(0)  # shown once


def _empty_side_a(tab: Tab) -> None:
    page = tab.page
    songs = page.get_by_test_id("character-a").get_by_test_id("track")
    while songs.count():
        before = songs.count()
        songs.first.get_by_test_id("remove").click()
        page.wait_for_load_state("load")
        expect(songs).to_have_count(before - 1)


@pytest.mark.parametrize("javascript", [True, False], ids=["js", "no-js"])
@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_a_refused_publish_is_seen_at_once(
    site: Site, open_tab: OpenTab, viewport: str, javascript: bool
) -> None:
    tab = open_tab(viewport, java_script_enabled=javascript)
    tab.guard.expect(r"400 .*/publish|status of 400 .*/publish")  # provoked
    page = tab.page
    tab.goto(site.url + "/")
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    _empty_side_a(tab)
    publish = page.get_by_test_id("publish")
    publish.scroll_into_view_if_needed()
    with page.expect_response(re.compile(r"/publish$")):
        publish.click()
    page.wait_for_load_state("load")
    message = page.locator('#publish-error[data-testid="error-message"]')
    expect(message).to_contain_text("at least one song")
    assert_seen_at_once(message, javascript=javascript)
    tab.shot(f"publish-refused-{viewport}")
    assert BUILDER.search(page.url.split("#")[0]), page.url  # the builder's own GET address
    assert_reload_posts_nothing(tab)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_an_htmx_error_shows_beside_the_control_that_asked(
    serve_app: ServeApp, open_tab: OpenTab, viewport: str
) -> None:
    site = serve_app(lambda _server: {"limit_search": "3 per minute"})
    tab = open_tab(viewport)
    tab.guard.expect(r"429|TOO MANY REQUESTS")  # provoked
    page = tab.page
    tab.goto(site.url + "/pick/")
    statuses: list[int] = []
    while 429 not in statuses and len(statuses) < 6:  # picks until the limit answers
        with page.expect_response(re.compile(r"/pick/add$")) as answer:
            page.get_by_test_id("pick-add").last.click()
        statuses.append(answer.value.status)
    assert statuses[-1] == 429, statuses
    message = page.locator('.error-slot [data-testid="error-message"]')
    expect(message).to_contain_text("Slow down")
    assert_seen_at_once(message, javascript=True)
    assert message.evaluate("el => !!el.closest('[data-testid=pick-result]')")  # beside that song's button
