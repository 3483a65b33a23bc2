"""On a phone: the builder keeps the episode, its mash-up and Publish within reach before the history (a
bar of tabs at the bottom of the screen), and picking by hand keeps the tray and its Cast button in view."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import OpenTab, Site
from tests.browser.test_journeys import BUILDER

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def top(page: Page, selector: str) -> float:
    value: float = page.locator(selector).first.evaluate("el => el.getBoundingClientRect().top + scrollY")
    return value


def unhidden(element: Locator, page: Page) -> bool:
    """Inside the viewport and not under the bottom bar."""
    inside: bool = element.evaluate(
        """el => { const r = el.getBoundingClientRect();
          const bar = document.querySelector('[data-testid=builder-nav]');
          const shown = bar && getComputedStyle(bar).display !== 'none';
          const floor = shown ? bar.getBoundingClientRect().top : innerHeight;
          return r.height > 0 && r.top >= 0 && r.bottom <= floor + 1; }"""
    )
    return inside


def test_the_phone_builder_keeps_publish_and_the_mashup_in_reach(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("phone")
    page = tab.page
    tab.goto(site.url + "/")
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    screen = page.evaluate("innerHeight")
    # The episode, the mash-up and Publish come before the history, and the other pairs are folded away.
    assert top(page, '[data-testid="mashup"]') < top(page, '[data-testid="publish"]') < top(page, "#history")
    assert top(page, '[data-testid="publish"]') < 4 * screen  # was 4.4 screens down, the history after it
    expect(page.locator(".choices-drawer")).not_to_have_attribute("open", "")
    nav = page.get_by_test_id("builder-nav")
    expect(nav).to_be_in_viewport()
    for label, target in (
        ("Mash-up", '[data-testid="mashup-score"]'),
        ("Publish", '[data-testid="publish"]'),
    ):
        nav.get_by_role("link", name=label).click()
        expect(page.locator(target)).to_be_in_viewport()
        assert unhidden(page.locator(target), page), f"{label}: under the bar"
    nav.get_by_role("link", name="History").click()
    expect(page.locator("#history h2")).to_be_in_viewport()
    expect(nav).to_be_in_viewport()  # still there, to come back
    tab.shot("phone-builder-history")
    tab.assert_fits()


def test_the_desktop_builder_has_no_tab_bar(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    tab.goto(site.url + "/")
    tab.page.get_by_test_id("try-demo").click()
    tab.page.wait_for_url(BUILDER)
    expect(tab.page.get_by_test_id("builder-nav")).to_be_hidden()


def test_the_pick_tray_stays_in_reach_on_a_phone(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("phone")
    page = tab.page
    tab.goto(site.url + "/pick/")
    expect(page.get_by_test_id("pick-searches")).to_contain_text("songs that come with the app")
    results = page.get_by_test_id("pick-result")
    expect(results.first).to_be_visible()
    hint = page.get_by_test_id("pick-hint")
    expect(hint).to_have_text("Pick 2 more songs to cast your episode.")
    for i, expected in enumerate(("Pick 1 more song to cast your episode", None)):
        row = results.nth(results.count() - 1 - i)
        row.scroll_into_view_if_needed()  # browsing the bottom of the list
        with page.expect_response(lambda r: r.url.endswith("/pick/add")):
            row.get_by_test_id("pick-add").click()
        done = page.get_by_test_id("pick-done")
        expect(done).to_be_in_viewport()  # the tray's Cast button, without scrolling back
        if expected:
            expect(hint).to_contain_text(expected)
            expect(done).to_be_disabled()
        else:
            expect(hint).to_have_count(0)
            expect(done).to_be_enabled()
    page.locator("#pick-q").fill("beyonce")
    expect(results.first).to_contain_text("Beyoncé")
    tab.shot("phone-pick-tray")
    page.get_by_test_id("pick-done").click()
    page.wait_for_url(BUILDER)
