"""Accessibility: axe-core on every page type, and the whole journey by keyboard with a visible focus ring."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.browser import harness
from tests.browser.conftest import OpenTab, ServeApp, Site
from tests.browser.test_journeys import BUILDER, SHARE, track_ids

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

FOCUSABLE = (
    "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), select:not([disabled]),"
    " textarea:not([disabled]), summary, [tabindex]:not([tabindex='-1'])"
)

MARK_FOCUSABLE_JS = """sel => {
  const els = [...document.querySelectorAll(sel)].filter(el =>
    el.getClientRects().length && getComputedStyle(el).visibility !== 'hidden' && !el.closest('[inert]')
    // Folded in a closed <details>: reached by opening its summary (which is itself focusable).
    && !el.closest('details:not([open]) > :not(summary)'));
  els.forEach((el, i) => { el.dataset.kbd = String(i); });
  return els.map(el => el.dataset.testid || el.id || el.getAttribute('aria-label')
                       || el.textContent.trim().slice(0, 40));
}"""

FOCUSED_JS = """() => {
  const el = document.activeElement;
  if (!el || el === document.body || el === document.documentElement) return null;
  const cs = getComputedStyle(el);
  const r = el.getBoundingClientRect();
  return {
    kbd: el.dataset.kbd ?? null, tag: el.tagName.toLowerCase(), testid: el.dataset.testid || null,
    label: el.getAttribute('aria-label') || el.textContent.trim().slice(0, 40),
    focusVisible: el.matches(':focus-visible'), outlineStyle: cs.outlineStyle,
    outlineWidth: parseFloat(cs.outlineWidth), outlineColor: cs.outlineColor,
    onScreen: r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth,
  };
}"""


def axe_page(page: Page, url: str | None, label: str, found: dict[str, list[dict[str, Any]]]) -> None:
    """Open `url` (or stay) and record axe's serious/critical violations under `label`."""
    if url:
        page.goto(url, wait_until="load")
    page.evaluate("() => document.fonts.ready")
    violations = harness.serious(harness.run_axe(page))
    if violations:
        found[label] = violations


def assert_axe_clean(found: dict[str, list[dict[str, Any]]]) -> None:
    report = "\n".join(f"== {label}\n{harness.describe_violations(v)}" for label, v in found.items())
    assert not found, "axe-core found serious or critical violations:\n" + report


@pytest.fixture
def allowing_site(serve_app: ServeApp) -> Site:
    """The app, with its own origin allowed to frame embeds (axe also checks the card in a frame)."""
    return serve_app(lambda server: {"embed_allowed_origins": (server.url,)})


@pytest.mark.parametrize(("viewport", "scheme"), [("desktop", "dark"), ("phone", "light")])
def test_axe_finds_nothing_serious_on_any_page(
    allowing_site: Site, open_tab: OpenTab, viewport: str, scheme: str
) -> None:
    # The light preference is ignored on purpose (one checked, dark palette): it must change nothing.
    tab = open_tab(viewport, color_scheme=scheme)
    page = tab.page
    site = allowing_site
    slug = site.publish_demo()
    found: dict[str, list[dict[str, Any]]] = {}

    axe_page(page, site.url + "/", "landing", found)
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    axe_page(page, None, "builder", found)
    # The builder after an edit that is refused: the error notice is part of the page too.
    used = set(track_ids(page, "a")) | set(track_ids(page, "b"))
    history = page.get_by_test_id("history-track").evaluate_all("els => els.map(e => e.dataset.trackId)")
    spares = [t for t in history if t not in used]
    songs_of_a = page.get_by_test_id("character-a").get_by_test_id("track")
    for spare in spares[: 6 - songs_of_a.count()]:
        with page.expect_response(re.compile(r"/add$")):
            page.locator(f'[data-testid=history-track][data-track-id="{spare}"]').get_by_test_id(
                "add-to-a"
            ).click()
        harness.settled(page)
    expect(page.locator("#episode .notice-error")).to_be_visible()
    axe_page(page, None, "builder with an error", found)
    axe_page(page, f"{site.url}/s/{slug}", "share page", found)
    axe_page(page, f"{site.url}/embed/s/{slug}", "episode embed", found)
    axe_page(page, f"{site.url}/embed/start", "start embed", found)
    axe_page(page, f"{site.url}/pick/", "pick songs", found)
    axe_page(page, f"{site.url}/privacy", "privacy", found)
    axe_page(page, f"{site.url}/my-data/", "your data", found)
    tab.guard.expect(r"/s/no-such-episode")  # the 404 page is asked for on purpose
    axe_page(page, f"{site.url}/s/no-such-episode", "not found", found)
    assert_axe_clean(found)


def tab_through(page: Page, *, limit: int = 400) -> tuple[list[str], list[dict[str, Any]]]:
    """Press Tab from the top of the page until focus comes round again; returns what could be focused
    and, in order, every element that got the focus."""
    focusable: list[str] = page.evaluate(MARK_FOCUSABLE_JS, FOCUSABLE)
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); window.scrollTo(0, 0); }")
    seen: list[dict[str, Any]] = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate(FOCUSED_JS)
        if info is None:
            if seen:
                break
            continue
        if seen and info["kbd"] is not None and info["kbd"] == seen[0]["kbd"]:
            break
        seen.append(info)
    return focusable, seen


def assert_keyboard_reaches_everything(page: Page, name: str) -> list[dict[str, Any]]:
    focusable, seen = tab_through(page)
    reached = {s["kbd"] for s in seen}
    missed = [label for i, label in enumerate(focusable) if str(i) not in reached]
    assert not missed, f"{name}: Tab never reaches {missed}"
    unmarked = [s for s in seen if s["kbd"] is None]
    assert not unmarked, f"{name}: focus went to elements that are not controls: {unmarked}"
    no_ring = [
        s for s in seen if not (s["focusVisible"] and s["outlineStyle"] != "none" and s["outlineWidth"] >= 2)
    ]
    assert not no_ring, f"{name}: no visible focus ring on {no_ring[:5]}"
    off_screen = [s for s in seen if not s["onScreen"]]
    assert not off_screen, f"{name}: focused but not scrolled into view: {off_screen[:5]}"
    return seen


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_keyboard_alone_from_landing_to_share_page(site: Site, open_tab: OpenTab, viewport: str) -> None:
    tab = open_tab(viewport)
    page = tab.page
    tab.goto(site.url + "/")

    landing = assert_keyboard_reaches_everything(page, "landing")
    assert landing[0]["label"] == "Skip to content"
    order = [s["testid"] for s in landing if s["testid"]]
    # Spotify is off in this app: the demo comes first, the switched-off Spotify card last, in the same
    # order on screen and for the keyboard.
    assert order.index("try-demo") < order.index("connect-spotify")

    # The skip link takes the keyboard past the header.
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"

    page.get_by_test_id("try-demo").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(BUILDER)
    builder = assert_keyboard_reaches_everything(page, "builder")
    reached = {s["testid"] for s in builder}
    for testid in ("character-name", "move-down", "move-up", "remove", "add-to-a", "add-to-b", "publish"):
        assert testid in reached, testid

    # Reorder with the keyboard: Enter on "later", and the focus stays on that song's button.
    a_ids = track_ids(page, "a")
    first = page.get_by_test_id("character-a").get_by_test_id("track").first.get_by_test_id("move-down")
    first.focus()
    with page.expect_response(re.compile(r"/move$")):
        page.keyboard.press("Enter")
    expect(page.get_by_test_id("character-a").get_by_test_id("track").nth(1)).to_have_attribute(
        "data-track-id", a_ids[0]
    )
    assert page.evaluate("() => document.activeElement.closest('li').dataset.trackId") == a_ids[0]
    # Space on "+ B" adds a song; typing a name and Enter renames.
    add = page.get_by_test_id("history-track").nth(10).get_by_test_id("add-to-b")
    added = page.get_by_test_id("history-track").nth(10).get_attribute("data-track-id")
    add.focus()
    page.keyboard.press("Space")
    expect(page.get_by_test_id("character-b").locator(f'[data-track-id="{added}"]')).to_have_count(1)
    name = page.get_by_test_id("character-b").get_by_test_id("character-name")
    name.focus()
    page.keyboard.press("ControlOrMeta+A")
    page.keyboard.type("Backing Vocals")
    with page.expect_response(re.compile(r"/rename$")):
        page.keyboard.press("Enter")
    harness.settled(page)
    expect(page.get_by_test_id("character-b").get_by_test_id("character-name")).to_have_value(
        "Backing Vocals"
    )

    page.get_by_test_id("publish").focus()
    page.keyboard.press("Enter")
    page.wait_for_url(SHARE)
    assert_keyboard_reaches_everything(page, "share page")
    tab.assert_clean()
