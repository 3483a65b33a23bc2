"""The Apple Music way in, in Chromium: landing -> MusicKit (a stand-in at Apple's CDN URL) -> builder with
the double's songs -> publish -> share page -> save to Apple Music; a listener who declines; a browser
without JavaScript."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Route, expect

from fanapp import create_app
from tests.browser import harness
from tests.browser.conftest import OpenTab, Site, Tab
from tests.browser.test_journeys import assert_complete_episode, track_ids
from tests.conftest import make_settings
from tests.fakes.apple_music import FakeAppleMusic
from tests.fakes.spotify import cover_jpeg

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

MUSICKIT_URL = "https://js-cdn.music.apple.com/musickit/v3/musickit.js"
STAND_IN = Path(__file__).resolve().parents[1] / "fakes" / "apple_musickit.js"
BUILDER = re.compile(r"/build/\d+$")
SHARE = re.compile(r"/s/[A-Za-z0-9_-]{22}$")


@pytest.fixture
def apple_site(database_url: str) -> Iterator[Site]:
    """The app wired to the Apple Music double (its MusicKit key, its API URL); MusicKit's URL is Apple's."""
    with FakeAppleMusic.running() as fake:
        server = harness.LiveServer()
        server.mount(create_app(make_settings(database_url, **fake.settings(), upstream_timeout=2.0)))
        try:
            yield Site(server, extra={"apple": fake})
        finally:
            server.stop()


def with_stand_ins(tab: Tab, fake: FakeAppleMusic) -> list[str]:
    """Answer Apple's CDN URLs in this tab: MusicKit JS with the stand-in, artwork with generated covers.
    Returns the list the MusicKit requests are recorded in."""
    loads: list[str] = []
    prelude = f"window.__appleMusicStandIn = {json.dumps({'authorizeUrl': fake.authorize_url})};\n"
    body = prelude + STAND_IN.read_text(encoding="utf-8")

    def musickit(route: Route) -> None:
        loads.append(route.request.url)
        route.fulfill(
            status=200, body=body, headers={"Content-Type": "application/javascript; charset=utf-8"}
        )

    def artwork(route: Route) -> None:
        name = re.sub(r"[^A-Za-z0-9]", "", route.request.url)[-24:]
        route.fulfill(status=200, body=cover_jpeg(name, 300), headers={"Content-Type": "image/jpeg"})

    # Registered after the guard's catch-all, so these answer first (Playwright: last route wins).
    tab.context.route(MUSICKIT_URL, musickit)
    tab.context.route(re.compile(r"^https://[a-z0-9.-]+\.mzstatic\.com/"), artwork)
    return loads


def test_apple_music_journey(apple_site: Site, open_tab: OpenTab) -> None:
    fake: FakeAppleMusic = apple_site.extra["apple"]
    tab = open_tab("desktop")
    loads = with_stand_ins(tab, fake)
    page = tab.page
    tab.goto(apple_site.url + "/")
    connect = page.get_by_test_id("connect-apple-music")
    expect(connect).to_be_visible()
    assert loads == []  # MusicKit JS is loaded only when asked
    violations = harness.serious(harness.run_axe(page))
    assert not violations, harness.describe_violations(violations)
    tab.shot("1-landing")

    connect.click()
    page.wait_for_url(BUILDER)
    assert loads == [MUSICKIT_URL]
    assert_complete_episode(page)
    catalogue = {"apple:" + s.catalog_id for s in fake.songs}
    history = page.get_by_test_id("history-track").evaluate_all("els => els.map(e => e.dataset.trackId)")
    assert history and set(history) <= catalogue
    assert set(track_ids(page, "a")) <= catalogue
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.cover')].slice(0, 6)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    tab.shot("2-builder")

    page.get_by_test_id("publish").click()
    page.wait_for_url(SHARE)
    expect(page.get_by_test_id("share-link")).to_have_value(page.url)
    tab.shot("3-share")

    # Saving the episode asks Apple again, only now (incremental consent), and keeps nothing.
    page.get_by_test_id("save-to-apple-music").click()
    # The button's submit handler comes with the page's deferred script: a click before it runs posts
    # the form without a token (the designed 400 for browsers without JavaScript). Seen under load.
    page.wait_for_url("**/save-to-apple-music")
    page.wait_for_load_state("load")
    page.get_by_test_id("confirm-save-to-apple-music").click()
    expect(page.get_by_role("heading", name="Saved to your Apple Music")).to_be_visible()
    [playlist] = fake.playlists
    assert playlist["tracks"] and all("apple:" + t in catalogue for t in playlist["tracks"])

    # Each consent: the page's developer token, bound to the page's origin, as Apple checks it.
    assert len(fake.authorize_calls) == 2
    for consent in fake.authorize_calls:
        assert consent.developer_token_ok and consent.claims["origin"] == [apple_site.url]
    # The import: the server's developer token and the listener's user token on every call.
    calls = fake.api_calls()
    issued = fake.user_tokens
    assert calls and all(c.developer_token_ok and c.user_token in issued and c.user_token_ok for c in calls)
    tab.assert_clean()


def test_a_listener_who_declines_stays_on_the_landing_with_the_other_ways_in(
    apple_site: Site, open_tab: OpenTab
) -> None:
    fake: FakeAppleMusic = apple_site.extra["apple"]
    fake.deny_authorize = True
    tab = open_tab("phone")
    with_stand_ins(tab, fake)
    tab.guard.expect(r"musickit/authorize")  # the refused consent (401) is the point of this test
    page = tab.page
    tab.goto(apple_site.url + "/")
    page.get_by_test_id("connect-apple-music").click()
    status = page.locator("[data-apple-music-status]")
    expect(status).to_contain_text("did not give us permission")
    assert page.url == apple_site.url + "/"
    expect(page.get_by_test_id("upload-export")).to_be_visible()
    assert fake.api_calls() == []  # nothing was read
    tab.assert_fits()


def test_without_javascript_the_card_explains_and_the_post_says_why(
    apple_site: Site, open_tab: OpenTab
) -> None:
    tab = open_tab("desktop", java_script_enabled=False)
    loads = with_stand_ins(tab, apple_site.extra["apple"])
    tab.guard.expect(r"400.*/connect/apple-music")  # the post without a token is answered 400
    page = tab.page
    tab.goto(apple_site.url + "/")
    # (Playwright's text matching skips <noscript>, so the element is asked for by its place.)
    explanation = page.locator("#apple-music noscript p")
    expect(explanation).to_be_visible()
    expect(explanation).to_contain_text("Apple asks for your permission in a window that needs JavaScript")
    page.get_by_test_id("connect-apple-music").click()
    page.wait_for_load_state("load")
    expect(page.locator("#apple-music-error")).to_contain_text("needs JavaScript")
    expect(page.get_by_test_id("try-demo")).to_be_visible()
    assert loads == []
