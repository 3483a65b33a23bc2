"""htmx swaps stay inside the CSP (style-src 'self', no inline style): htmx never writes a style attribute,
not even when it carries attributes across a swap (attributesToSettle), and never adds its style tag."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenTab, Site
from tests.browser.test_journeys import BUILDER

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

RECORD = """() => { window.__violations = [];
  document.addEventListener('securitypolicyviolation',
    e => window.__violations.push(e.violatedDirective + ' ' + (e.blockedURI || e.sample || ''))); }"""

STYLE_FROM_SCRIPT = (
    "() => document.querySelectorAll('#episode [id]').forEach(el => { el.style.outlineOffset = '2px'; })"
)


def test_builder_swaps_raise_no_csp_violation(site: Site, open_tab: OpenTab) -> None:
    tab = open_tab("desktop")
    page = tab.page
    tab.goto(site.url + "/")
    page.get_by_test_id("try-demo").click()
    page.wait_for_url(BUILDER)
    page.evaluate(RECORD)
    # A style set from script (the CSSOM is allowed) on elements that a swap replaces by id: htmx's
    # settling used to copy it across with setAttribute("style"), which the CSP refuses.
    page.evaluate(STYLE_FROM_SCRIPT)
    for _ in range(2):
        with page.expect_response(re.compile(r"/move$")):
            page.get_by_test_id("character-a").get_by_test_id("move-down").first.click()
        page.wait_for_timeout(100)  # settling
        page.evaluate(STYLE_FROM_SCRIPT)
    name = page.get_by_test_id("character-a").get_by_test_id("character-name")
    name.fill("Renamed Once")
    with page.expect_response(re.compile(r"/rename$")):
        name.press("Enter")
    expect(page.get_by_test_id("character-a").get_by_test_id("character-name")).to_have_value("Renamed Once")
    page.locator("#q").fill("love")
    expect(page.get_by_test_id("history-track").first).to_be_visible()
    page.wait_for_timeout(600)  # the search's debounce and swap
    assert page.evaluate("window.__violations") == []
    assert page.evaluate("document.querySelectorAll('head style').length") == 0  # no htmx style tag
