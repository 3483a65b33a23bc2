"""The operators' pages and the report form in a real browser: axe finds nothing serious, the dashboard's
charts are drawn, and a report made by clicking reaches the operators' list."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenTab, ServeApp
from tests.browser.test_accessibility import assert_axe_clean, axe_page

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

TOKEN = "operator-" + "x" * 40


def test_report_dashboard_and_reports_pages(serve_app: ServeApp, open_tab: OpenTab) -> None:
    site = serve_app(lambda _server: {"admin_token": TOKEN})
    slug = site.publish_demo()
    tab = open_tab("desktop")
    page = tab.page
    found: dict[str, list[dict[str, Any]]] = {}

    # A visitor reports the episode from its share page.
    page.goto(f"{site.url}/s/{slug}?utm_campaign=summer")
    page.get_by_test_id("report-episode").click()
    axe_page(page, None, "report form", found)
    page.get_by_label("Spam or advertising").check()
    page.get_by_test_id("send-report").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()

    # The operator signs in and sees it.
    axe_page(page, f"{site.url}/admin/login", "operator sign-in", found)
    page.get_by_label("Operator token").fill(TOKEN)
    page.get_by_test_id("admin-sign-in").click()
    expect(page.get_by_test_id("funnel-table")).to_be_visible()
    expect(
        page.locator('[data-testid="funnel-row"][data-campaign="summer"] [data-step="share_views"]')
    ).to_have_text("1")
    assert page.locator("svg.chart").count() >= 3
    axe_page(page, None, "dashboard", found)
    page.get_by_role("link", name="Reports").click()
    expect(page.locator(f'[data-testid="reported-episode"][data-slug="{slug}"]')).to_be_visible()
    axe_page(page, None, "reports", found)
    page.get_by_test_id("take-down").click()
    expect(page.get_by_text("Taken down.")).to_be_visible()
    assert_axe_clean(found)
    tab.guard.expect(rf"/s/{slug}")  # the share page answers 410 now, on purpose
    response = page.goto(f"{site.url}/s/{slug}")
    assert response is not None and response.status == 410


def test_behind_a_cache_tier_the_share_page_counts_itself(serve_app: ServeApp, open_tab: OpenTab) -> None:
    site = serve_app(lambda _server: {"cdn_purge_url": "http://127.0.0.1:9/"})
    slug = site.publish_demo()
    tab = open_tab("phone")
    with tab.page.expect_request(lambda r: r.url.endswith("/count") and r.method == "POST") as beacon:
        tab.goto(f"{site.url}/s/{slug}?utm_campaign=summer&utm_source=insta")
    body = beacon.value.post_data or ""
    assert f"p=%2Fs%2F{slug}" in body and "utm_campaign%3Dsummer" in body
    assert tab.context.cookies() == []
    tab.assert_clean()
