"""htmx really loads from its pinned CDN URL with the right SRI hash, and pages stay within their weight.

The machine has no internet: the guard answers htmx's CDN URL with the file from the npm package of the
same version (package-lock.json), so a page that runs htmx proves the `integrity` attribute matches it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from playwright.sync_api import Browser, expect

from fanapp.site.security import HTMX_SRI, HTMX_URL, HTMX_VERSION
from tests.browser import harness
from tests.browser.conftest import OpenTab, Site
from tests.browser.test_journeys import BUILDER, track_ids

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

OWN_CODE_BUDGET = 100_000  # bytes of our own HTML, CSS and JS on a share page


def test_npm_htmx_is_the_pinned_version_and_matches_the_sri_hash() -> None:
    package = json.loads((harness.HTMX_FILE.parents[1] / "package.json").read_text())
    assert package["version"] == HTMX_VERSION
    digest = base64.b64encode(hashlib.sha384(harness.HTMX_FILE.read_bytes()).digest()).decode()
    assert f"sha384-{digest}" == HTMX_SRI


def test_pages_load_htmx_from_the_cdn_with_sri_and_nothing_inline(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    page = tab.page
    slug = site.publish_demo()
    for path in ("/", f"/s/{slug}", "/privacy"):
        tab.goto(site.url + path)
        scripts = page.evaluate(
            """() => [...document.scripts].map(s => ({src: s.src, integrity: s.integrity,
                 crossOrigin: s.crossOrigin, defer: s.defer, async: s.async,
                 inline: !s.src && !!s.text.trim()}))"""
        )
        htmx = [s for s in scripts if s["src"] == HTMX_URL]
        assert htmx == [
            {
                "src": HTMX_URL,
                "integrity": HTMX_SRI,
                "crossOrigin": "anonymous",
                "defer": True,
                "async": False,
                "inline": False,
            }
        ], path
        others = [s for s in scripts if s["src"] != HTMX_URL]
        assert all(s["src"].startswith(site.url + "/static/") for s in others), others
        assert not [s for s in scripts if s["inline"]], "inline scripts are refused by the CSP"
        # Nothing blocks rendering: every script is deferred.
        assert all(s["defer"] or s["async"] for s in scripts), scripts
        assert harness.htmx_version(page) == HTMX_VERSION
        assert page.evaluate("() => htmx.config.allowEval === false && htmx.config.selfRequestsOnly === true")
    assert tab.guard.htmx_served == 3
    tab.assert_clean()


def test_a_tampered_htmx_is_refused_and_every_action_still_works(site: Site, open_tab: OpenTab) -> None:
    tampered = harness.HTMX_FILE.read_bytes() + b"\n/* changed on the way */\n"
    tab = open_tab("desktop", htmx_body=tampered)
    tab.guard.expect(r"integrity|cdn\.jsdelivr\.net/npm/htmx")  # the browser's refusal is the point
    page = tab.page
    with page.expect_console_message(lambda m: "integrity" in m.text):
        tab.goto(site.url + "/")
    assert harness.htmx_version(page) is None

    # Without htmx the app is plain HTML forms: the journey goes on, page by page.
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    a_before = track_ids(page, "a")
    used = set(a_before) | set(track_ids(page, "b"))
    spare = next(
        t
        for t in page.get_by_test_id("history-track").evaluate_all("els => els.map(e => e.dataset.trackId)")
        if t not in used
    )
    with page.expect_navigation():
        page.locator(f'[data-testid=history-track][data-track-id="{spare}"]').get_by_test_id(
            "add-to-a"
        ).click()
    assert track_ids(page, "a") == [*a_before, spare]
    page.get_by_test_id("publish").click()
    page.wait_for_url(re.compile(r"/s/[A-Za-z0-9_-]{22}$"))
    expect(page.get_by_test_id("share-link")).to_have_value(page.url)


def test_share_page_weight(site: Site, browser: Browser) -> None:
    slug = site.publish_demo()
    context = harness.new_context(browser, harness.PHONE)
    guard = harness.Guard().attach(context)
    try:
        weights = {
            "landing": harness.measure(context, site.url + "/", own_origin=site.url),
            "share": harness.measure(context, f"{site.url}/s/{slug}", own_origin=site.url),
        }
    finally:
        context.close()
    for name, weight in weights.items():
        print(weight.line(name))
    share = weights["share"]
    assert share.own_code < OWN_CODE_BUDGET, share.by_url
    assert share.htmx > 0, "htmx was not loaded"
    assert all(w.blocking_scripts == [] for w in weights.values()), "a script blocks rendering"
    assert all(w.lcp_ms is not None for w in weights.values()), "no largest contentful paint reported"
    assert not guard.problems(), guard.problems()
