"""Building by hand in the browser: add, remove, reorder, rename, and the mash-up following every change.

With JavaScript (htmx swaps the episode in place, with loading states and focus kept) and without it
(every control is a plain form that posts and redirects back).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser import harness
from tests.browser.conftest import OpenTab, Site
from tests.browser.test_journeys import BUILDER, SHARE, track_ids

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def side(page: Page, key: str) -> Locator:
    return page.get_by_test_id(f"character-{key}")


def song(page: Page, key: str, track_id: str) -> Locator:
    return side(page, key).locator(f'[data-testid="track"][data-track-id="{track_id}"]')


def history_row(page: Page, track_id: str) -> Locator:
    return page.locator(f'[data-testid="history-track"][data-track-id="{track_id}"]')


def mashup_pair(page: Page) -> list[str]:
    pair: list[str] = (
        page.get_by_test_id("mashup")
        .get_by_test_id("mashup-track")
        .evaluate_all("els => els.map(e => e.dataset.trackId)")
    )
    return pair


def spare_tracks(page: Page) -> list[str]:
    """History songs in neither soundtrack."""
    used = set(track_ids(page, "a")) | set(track_ids(page, "b"))
    history: list[str] = page.get_by_test_id("history-track").evaluate_all(
        "els => els.map(e => e.dataset.trackId)"
    )
    return [t for t in history if t not in used]


def focused_testid(page: Page) -> str | None:
    result: str | None = page.evaluate(
        "() => document.activeElement && document.activeElement.dataset.testid"
    )
    return result


def test_build_by_hand(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    page = tab.page
    harness.start_demo(page, site.url)
    builder_url = page.url
    a_before, b_before = track_ids(page, "a"), track_ids(page, "b")
    spares = spare_tracks(page)

    # Add: a history song goes to the end of A's story, as its new finale; the button keeps the focus.
    add = history_row(page, spares[0]).get_by_test_id("add-to-a")
    with page.expect_response(re.compile(r"/add$")):
        add.click()
    expect(side(page, "a").get_by_test_id("track")).to_have_count(4)
    assert track_ids(page, "a") == [*a_before, spares[0]]
    expect(song(page, "a", spares[0])).to_have_attribute("data-slot", "finale")
    expect(add).to_be_focused()
    expect(page.locator("#announce")).to_contain_text("Episode updated")

    # Reorder: one place earlier; the "earlier" button of that song still has the focus afterwards.
    with page.expect_response(re.compile(r"/move$")):
        song(page, "a", spares[0]).get_by_test_id("move-up").click()
    expect(side(page, "a").get_by_test_id("track").nth(2)).to_have_attribute("data-track-id", spares[0])
    assert track_ids(page, "a") == [*a_before[:2], spares[0], a_before[2]]
    assert focused_testid(page) == "move-up"
    assert page.evaluate("() => document.activeElement.closest('li').dataset.trackId") == spares[0]

    # Remove B's opening: the song is gone and the keyboard lands on B's name, not the top of the page.
    song(page, "b", b_before[0]).get_by_test_id("remove").click()
    expect(song(page, "b", b_before[0])).to_have_count(0)
    assert track_ids(page, "b") == b_before[1:]
    expect(side(page, "b").get_by_test_id("character-name")).to_be_focused()

    # Rename A (Enter submits the name's own form).
    name = side(page, "a").get_by_test_id("character-name")
    name.fill("Stage Left")
    with page.expect_response(re.compile(r"/rename$")):
        name.press("Enter")
    harness.settled(page)
    expect(side(page, "a").get_by_test_id("character-name")).to_have_value("Stage Left")

    # The mash-up follows: take A's half of the pair out of A, and a new pair is found.
    pair = mashup_pair(page)
    a_half = next(t for t in pair if t in track_ids(page, "a"))
    with page.expect_response(re.compile(r"/remove$")):
        song(page, "a", a_half).get_by_test_id("remove").click()
    expect(page.get_by_test_id("mashup").locator(f'[data-track-id="{a_half}"]')).to_have_count(0)
    new_pair = mashup_pair(page)
    assert len(new_pair) == 2 and new_pair != pair
    a_now, b_now = set(track_ids(page, "a")), set(track_ids(page, "b"))
    assert (new_pair[0] in a_now and new_pair[1] in b_now) or (new_pair[0] in b_now and new_pair[1] in a_now)
    score = int(page.get_by_test_id("mashup-score").inner_text())
    expect(page.locator("#announce")).to_have_text(f"Episode updated. Mash-up score {score} out of 100.")

    # A sixth song is refused with a message, and nothing changes.
    for spare in spares[1:4]:
        with page.expect_response(re.compile(r"/add$")):
            history_row(page, spare).get_by_test_id("add-to-a").click()
    expect(side(page, "a").get_by_test_id("track")).to_have_count(5)
    with page.expect_response(re.compile(r"/add$")):
        history_row(page, spares[4]).get_by_test_id("add-to-a").click()
    expect(page.locator("#episode .notice-error")).to_contain_text("at most 5")
    expect(side(page, "a").get_by_test_id("track")).to_have_count(5)
    tab.shot("builder-after-edits")

    # Everything was saved: a reload shows the same episode.
    a_final = track_ids(page, "a")
    page.reload()
    assert page.url == builder_url
    assert track_ids(page, "a") == a_final
    expect(side(page, "a").get_by_test_id("character-name")).to_have_value("Stage Left")
    tab.assert_clean()


def test_loading_states(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    page = tab.page

    # A plain form post (the demo button) shows it is busy until the builder arrives.
    site.server.delay("POST", r"^/demo$", 0.8)
    tab.goto(site.url + "/")
    # The page is left as soon as the answer comes, so it notes its own state when the form is sent
    # (this listener runs after app.js's, both on document) for the next page to read.
    page.evaluate(
        """() => document.addEventListener('submit', event => {
            const button = event.target.querySelector('[type=submit]');
            sessionStorage.setItem('busy', JSON.stringify([event.target.className,
              event.target.getAttribute('aria-busy'), getComputedStyle(button, '::after').animationName]));
        })"""
    )
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    assert page.evaluate("() => JSON.parse(sessionStorage.getItem('busy'))") == ["is-busy", "true", "spin"]

    # An htmx edit: the asking form is marked, its button spins and cannot be pressed twice, and the
    # cassette reels of both sides turn until the new episode is in.
    # (A long delay, and the three styles read in one call: each call is a round trip to the browser,
    # and on a loaded machine a short request could end between them.)
    site.server.delay("POST", r"/add$", 2.5)
    spare = spare_tracks(page)[0]
    history_row(page, spare).get_by_test_id("add-to-b").click()
    busy = page.locator("form.htmx-request")
    expect(busy).to_have_count(1)
    styles = busy.locator("button").evaluate(
        "b => [getComputedStyle(b).pointerEvents, getComputedStyle(b, '::after').animationName]"
    )
    assert styles == ["none", "spin"]
    reel = side(page, "a").evaluate("el => getComputedStyle(el, '::before').animationName")
    assert reel == "spin"
    expect(song(page, "b", spare)).to_have_count(1)
    expect(page.locator(".htmx-request")).to_have_count(0)
    assert side(page, "a").evaluate("el => getComputedStyle(el, '::before').animationName") == "none"

    # Searching dims the list while the results come.
    site.server.delay("GET", r"^/build/\d+$", 0.8)
    page.locator("#q").fill("queen")
    expect(page.locator("#history-list.htmx-request")).to_have_count(1)
    expect(page.locator("#history-list.htmx-request")).to_have_count(0)
    tab.assert_clean()


def test_reduced_motion_stops_the_lights(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("phone", reduced_motion="reduce")
    page = tab.page
    harness.start_demo(page, site.url)
    durations = page.evaluate(
        """() => [getComputedStyle(document.body, '::before').animationDuration,
                  getComputedStyle(document.querySelector('[data-testid=mashup-score]').parentElement).animationDuration]"""
    )
    assert durations == ["0s", "0s"]
    tab.assert_clean()


def test_search_keeps_focus_and_history_works(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    page = tab.page
    builder_url = harness.start_demo(page, site.url)
    everything = page.get_by_test_id("history-track").count()

    search = page.locator("#q")
    search.click()
    search.press_sequentially("queen", delay=20)
    page.wait_for_url(re.compile(r"\?q=queen$"))
    expect(page.get_by_test_id("history-track")).not_to_have_count(everything)
    titles = page.get_by_test_id("history-track").all_inner_texts()
    assert titles and all("queen" in t.lower() for t in titles)
    # Only the list was swapped: the field still has the focus and what was typed.
    expect(search).to_be_focused()
    expect(search).to_have_value("queen")

    # Reload keeps the search; Back returns to the whole history as a full page; Forward to the search.
    page.reload()
    expect(page.locator("#q")).to_have_value("queen")
    expect(page.get_by_test_id("history-track")).to_have_count(len(titles))
    page.go_back()
    page.wait_for_url(builder_url)
    expect(page.get_by_test_id("history-track")).to_have_count(everything)
    expect(page.locator("#q")).to_have_value("")
    expect(page.locator("header.site-header")).to_have_count(1)
    expect(page.get_by_test_id("publish")).to_have_count(1)
    page.go_forward()
    page.wait_for_url(re.compile(r"\?q=queen$"))
    expect(page.get_by_test_id("history-track")).to_have_count(len(titles))
    expect(page.locator("header.site-header")).to_have_count(1)
    tab.assert_clean()


def test_every_action_works_without_javascript(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("phone", java_script_enabled=False)
    page = tab.page
    tab.goto(site.url + "/")
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    builder_url = page.url
    a_before, b_before = track_ids(page, "a"), track_ids(page, "b")
    spare = spare_tracks(page)[0]

    with page.expect_navigation():
        history_row(page, spare).get_by_test_id("add-to-a").click()
    assert page.url == builder_url  # posted, then redirected back (303)
    assert track_ids(page, "a") == [*a_before, spare]

    with page.expect_navigation():
        song(page, "a", spare).get_by_test_id("move-up").click()
    assert track_ids(page, "a") == [*a_before[:2], spare, a_before[2]]

    with page.expect_navigation():
        song(page, "b", b_before[0]).get_by_test_id("remove").click()
    assert track_ids(page, "b") == b_before[1:]

    side(page, "b").get_by_test_id("character-name").fill("Stage Right")
    with page.expect_navigation():
        side(page, "b").get_by_role("button", name="Rename").click()
    expect(side(page, "b").get_by_test_id("character-name")).to_have_value("Stage Right")

    page.locator("#q").fill("adele")
    page.get_by_role("button", name="Search").click()
    page.wait_for_url(re.compile(r"\?q=adele$"))
    titles = page.get_by_test_id("history-track").all_inner_texts()
    assert titles and all("adele" in t.lower() for t in titles)
    tab.assert_fits()
    tab.shot("builder-no-js")

    page.get_by_test_id("publish").click()
    page.wait_for_url(SHARE)
    expect(page.get_by_test_id("character-b").get_by_test_id("character-name")).to_have_text(
        re.compile("Stage Right", re.IGNORECASE)
    )
    expect(page.get_by_test_id("share-link")).to_have_value(page.url)
    tab.assert_clean()
