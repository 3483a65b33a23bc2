"""The two ways in, landing to share page, on a desktop and on a 375x812 phone, as a visitor clicks them."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from fanapp.site.security import HTMX_VERSION
from tests.browser import harness
from tests.browser.conftest import OpenTab, Site, Tab

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BUILDER = re.compile(r"/build/\d+$")
SHARE = re.compile(r"/s/[A-Za-z0-9_-]{22}$")


def track_ids(page: Page, key: str) -> list[str]:
    """The story order of a character's songs, by track id."""
    ids: list[str] = (
        page.get_by_test_id(f"character-{key}")
        .get_by_test_id("track")
        .evaluate_all("els => els.map(e => e.dataset.trackId)")
    )
    return ids


def assert_in_first_screen(page: Page, testid: str) -> None:
    """The control is visible without scrolling: the first step of the journey is one tap away."""
    box = page.get_by_test_id(testid).bounding_box()
    viewport = page.viewport_size
    assert box is not None and viewport is not None
    assert box["y"] + box["height"] <= viewport["height"], f"{testid} is below the fold: {box}"


def assert_complete_episode(page: Page) -> None:
    """Both characters have a named three-song arc and the mash-up pairs one song of each."""
    for key in ("a", "b"):
        side = page.get_by_test_id(f"character-{key}")
        songs = side.get_by_test_id("track")
        expect(songs).to_have_count(3)
        assert [songs.nth(i).get_attribute("data-slot") for i in range(3)] == ["opening", "turn", "finale"]
    mashup = page.get_by_test_id("mashup")
    pair = mashup.get_by_test_id("mashup-track").evaluate_all("els => els.map(e => e.dataset.trackId)")
    assert len(pair) == 2
    a, b = set(track_ids(page, "a")), set(track_ids(page, "b"))
    assert not a & b
    assert (pair[0] in a and pair[1] in b) or (pair[0] in b and pair[1] in a)
    score = int(mashup.get_by_test_id("mashup-score").inner_text())
    assert 0 <= score <= 100
    expect(mashup.get_by_test_id("mashup-reason").first).to_be_visible()


def finish_on_share_page(tab: Tab, viewport: str) -> None:
    """Builder -> publish -> share page; checks the share page, reload and Back."""
    page = tab.page
    tab.assert_fits()
    tab.shot("2-builder")
    names = [
        page.get_by_test_id(f"character-{k}").get_by_test_id("character-name").input_value() for k in "ab"
    ]
    a_ids = track_ids(page, "a")

    page.get_by_test_id("publish").click()
    page.wait_for_url(SHARE)
    share_url = page.url
    expect(page.get_by_test_id("share-link")).to_have_value(share_url)
    assert track_ids(page, "a") == a_ids
    for key, name in zip("ab", names, strict=True):
        expect(page.get_by_test_id(f"character-{key}").get_by_test_id("character-name")).to_have_text(
            re.compile(re.escape(name), re.IGNORECASE)
        )
    expect(page.get_by_test_id("mashup").get_by_test_id("mashup-track")).to_have_count(2)
    assert harness.htmx_version(page) == HTMX_VERSION
    tab.assert_fits()
    tab.shot("3-share")

    # Reload shows the same published episode (Back: see test_back_from_the_share_page).
    page.reload()
    expect(page.get_by_test_id("share-link")).to_have_value(share_url)
    assert track_ids(page, "a") == a_ids


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_demo_journey(site: Site, open_tab: OpenTab, viewport: str) -> None:
    tab = open_tab(viewport)
    page = tab.page
    tab.goto(site.url + "/")
    expect(page.get_by_test_id("try-demo")).to_be_visible()
    expect(page.get_by_test_id("connect-spotify")).to_have_attribute("aria-disabled", "true")
    assert_in_first_screen(page, "try-demo")
    assert harness.htmx_version(page) == HTMX_VERSION, "htmx did not load (CDN route or SRI)"
    tab.assert_fits()
    tab.shot("1-landing")

    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    assert_complete_episode(page)
    expect(page.get_by_test_id("history-track").first).to_be_visible()
    finish_on_share_page(tab, viewport)

    assert tab.guard.htmx_served >= 3  # landing, builder and share page each loaded the pinned file
    tab.assert_clean()


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_spotify_journey(spotify_site: Site, open_tab: OpenTab, viewport: str) -> None:
    tab = open_tab(viewport)
    page = tab.page
    tab.goto(spotify_site.url + "/")
    connect = page.get_by_test_id("connect-spotify")
    expect(connect).to_be_visible()
    expect(connect).not_to_have_attribute("aria-disabled", "true")
    assert_in_first_screen(page, "connect-spotify")
    tab.assert_fits()
    tab.shot("1-landing")

    # The double's consent page approves at once and sends the browser back to /callback/spotify.
    with page.expect_request(re.compile(r"/accounts/authorize\?")) as authorize:
        connect.click()
    assert "code_challenge_method=S256" in authorize.value.url
    page.wait_for_url(BUILDER)
    assert_complete_episode(page)

    # Cover art comes from the double (loopback): every cover on screen really loaded.
    covers = page.get_by_test_id("character-a").locator("img.cover")
    expect(covers).to_have_count(3)
    page.wait_for_function(
        "() => [...document.querySelectorAll('img.cover')].slice(0, 6)"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    calls = [path for _, path, *_ in spotify_site.spotify.calls]
    assert "/v1/me/top/tracks" in calls

    finish_on_share_page(tab, viewport)
    # Spotify's own players for the mash-up pair (a stand-in page here: no internet).
    expect(page.locator("iframe.player")).to_have_count(2)
    tab.assert_clean()


def test_back_from_the_share_page(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    page = tab.page
    builder_url = harness.start_demo(page, site.url)
    share_url = harness.publish(page)
    tab.guard.expect(r"404")
    page.go_back()
    # The builder's address now leads to what became of the draft: the published episode.
    page.wait_for_url(share_url, timeout=3_000)
    assert page.url != builder_url
    expect(page.get_by_test_id("share-link")).to_have_value(share_url)
