"""The embed card inside an iframe on a campaign page served from a second local origin.

The campaign page is its own tiny server on another port: origin http://127.0.0.1:PORT when it is
allowed (EMBED_ALLOWED_ORIGINS), and the same page as http://localhost:PORT, a different origin, when it
is not: Chromium then refuses to show the card (CSP frame-ancestors) and says so in the console.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Frame, Page, expect

from tests.browser import harness
from tests.browser.conftest import OpenTab, ServeApp, Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

REFUSED = r"frame-ancestors|Refused to (frame|display)|ERR_BLOCKED_BY_RESPONSE"
# The oEmbed iframe is sandboxed without allow-same-origin: its document has the opaque origin "null",
# and a web font is a CORS request, which /static/ answers without Access-Control-Allow-Origin.
FONT_REFUSED = r"fonts/bebas-neue-bold-latin\.woff2"


class CampaignPage:
    """A partner's page on another origin: our iframes and the documented embed-host.js snippet."""

    def __init__(self) -> None:
        self.server = harness.LiveServer()
        self.html = b""
        self.server.mount(self._app)

    def _app(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        start_response(
            "200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Cache-Control", "no-store")]
        )
        return [self.html]

    def show(self, body: str, app_url: str) -> None:
        """Serve `body` with fanapp's embed-host.js, as the README tells partners to."""
        self.html = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Campaign</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
            f"<body><h1>Soundtrack, the campaign</h1>{body}"
            f"<script src='{app_url}/static/js/embed-host.js' async></script></body></html>"
        ).encode()

    @property
    def allowed_origin(self) -> str:
        return self.server.url  # http://127.0.0.1:PORT

    @property
    def other_origin(self) -> str:
        return f"http://localhost:{self.server.port}"


@pytest.fixture
def campaign() -> Iterator[CampaignPage]:
    page = CampaignPage()
    yield page
    page.server.stop()


@pytest.fixture
def embed_site(serve_app: ServeApp, campaign: CampaignPage) -> Site:
    """The app allowing the campaign page's 127.0.0.1 origin to frame its embeds."""
    return serve_app(lambda _server: {"embed_allowed_origins": (campaign.allowed_origin,)})


def oembed_snippet(site: Site, slug: str) -> str:
    """The iframe HTML the app's oEmbed endpoint gives partners for a share link."""
    client = site.server.app.test_client()  # type: ignore[union-attr]
    share_url = f"{site.url}/s/{slug}"
    response = client.get(f"/oembed?url={quote(share_url, safe='')}&format=json", base_url=site.url)
    assert response.status_code == 200, response.get_data(as_text=True)
    html: str = json.loads(response.get_data())["html"]
    return html


def card_frame(page: Page) -> Frame:
    frame = next((f for f in page.frames if "/embed/" in f.url), None)
    assert frame is not None, [f.url for f in page.frames]
    return frame


def iframe_height(page: Page, selector: str = "iframe") -> float:
    height: float = page.locator(selector).first.evaluate("el => el.getBoundingClientRect().height")
    return height


@pytest.mark.parametrize("snippet", ["oembed", "plain"])
def test_embed_on_an_allowed_origin_shows_and_resizes(
    embed_site: Site, campaign: CampaignPage, open_tab: OpenTab, snippet: str
) -> None:
    slug = embed_site.publish_demo()
    if snippet == "oembed":
        body = oembed_snippet(embed_site, slug)  # sandboxed, fixed height 640 until resized
    else:
        body = (
            f"<iframe class='fanapp-embed' src='{embed_site.url}/embed/s/{slug}' width='100%'"
            " title='Soundtrack episode'></iframe>"
        )
    campaign.show(body, embed_site.url)

    tab = open_tab("phone")
    if snippet == "oembed":
        tab.guard.expect(FONT_REFUSED)  # see test_oembed_card_gets_its_display_font
    page = tab.page
    tab.goto(campaign.allowed_origin + "/")
    card = page.frame_locator("iframe")
    expect(card.get_by_test_id("character-a")).to_be_visible()
    expect(card.get_by_test_id("character-b").get_by_test_id("track")).to_have_count(3)
    expect(card.get_by_test_id("mashup").get_by_test_id("mashup-track")).to_have_count(2)

    # The card reports its height (embed.js) and the host script sizes the iframe to it: no inner scroll.
    frame = card_frame(page)
    page.wait_for_function(
        "h => Math.abs(document.querySelector('iframe').clientHeight - h) <= 1",
        arg=frame.evaluate("() => Math.ceil(document.documentElement.getBoundingClientRect().height)"),
    )
    assert iframe_height(page) > 400
    assert frame.evaluate("() => document.documentElement.scrollHeight <= window.innerHeight + 1")
    # Its links leave the frame: a new tab, never a navigation inside the partner's page.
    for link in card.locator("a[href]").all():
        assert link.get_attribute("target") in ("_blank", "_top")
    tab.assert_fits()
    tab.shot("card")
    tab.assert_clean()


def test_embed_on_another_origin_is_refused(
    embed_site: Site, campaign: CampaignPage, open_tab: OpenTab
) -> None:
    slug = embed_site.publish_demo()
    campaign.show(
        f"<iframe class='fanapp-embed' src='{embed_site.url}/embed/s/{slug}'"
        " title='Soundtrack episode'></iframe>",
        embed_site.url,
    )
    tab = open_tab("desktop")
    tab.guard.expect(REFUSED)  # Chromium's own report of the refusal is the point of this test
    page = tab.page
    with page.expect_console_message(lambda m: "frame-ancestors" in m.text) as refusal:
        tab.goto(campaign.other_origin + "/")
    assert embed_site.url in refusal.value.text or "/embed/s/" in refusal.value.text
    # Chromium shows its own error page in the frame (its URL is filled in a moment after the refusal).
    frame = page.frames[1]
    for _ in range(50):
        if frame.url.startswith("chrome-error://"):
            break
        page.wait_for_timeout(100)
    assert frame.url.startswith("chrome-error://"), frame.url
    expect(page.frame_locator("iframe").get_by_test_id("character-a")).to_have_count(0)
    assert iframe_height(page) < 160  # no card, no resize message: the browser's default 150 px + border


def test_oembed_card_gets_its_display_font(
    embed_site: Site, campaign: CampaignPage, open_tab: OpenTab
) -> None:
    slug = embed_site.publish_demo()
    campaign.show(oembed_snippet(embed_site, slug), embed_site.url)
    tab = open_tab("desktop")
    tab.goto(campaign.allowed_origin + "/")
    frame = tab.page.frame_locator("iframe")
    expect(frame.get_by_test_id("character-a")).to_be_visible()
    loaded = card_frame(tab.page).evaluate(
        "async () => { await document.fonts.ready; return document.fonts.check('1em \"Soundtrack Display\"')"
        " && [...document.fonts].some(f => f.status === 'loaded'); }"
    )
    problems = [p for p in tab.guard.problems() if "bebas-neue" in p]
    tab.guard.expect(FONT_REFUSED)
    assert loaded and not problems, problems


def test_embed_is_refused_everywhere_by_default(
    serve_app: ServeApp, campaign: CampaignPage, open_tab: OpenTab
) -> None:
    site = serve_app()  # EMBED_ALLOWED_ORIGINS empty
    slug = site.publish_demo()
    campaign.show(f"<iframe src='{site.url}/embed/s/{slug}' title='Soundtrack episode'></iframe>", site.url)
    tab = open_tab("desktop")
    tab.guard.expect(REFUSED)
    with tab.page.expect_console_message(lambda m: "frame-ancestors" in m.text):
        tab.goto(campaign.allowed_origin + "/")
    expect(tab.page.frame_locator("iframe").get_by_test_id("character-a")).to_have_count(0)


def test_start_card_opens_the_journey_in_a_new_tab(
    embed_site: Site, campaign: CampaignPage, open_tab: OpenTab
) -> None:
    campaign.show(
        f"<iframe class='fanapp-embed' src='{embed_site.url}/embed/start?utm_campaign=launch'"
        " title='Make your Soundtrack episode'></iframe>",
        embed_site.url,
    )
    tab = open_tab("desktop")
    page = tab.page
    tab.goto(campaign.allowed_origin + "/")
    start = page.frame_locator("iframe").get_by_test_id("start-journey")
    expect(start).to_be_visible()
    with tab.context.expect_page() as new_tab:
        start.click()
    landing = new_tab.value
    landing.wait_for_load_state()
    assert landing.url.startswith(embed_site.url + "/")
    expect(landing.get_by_test_id("try-demo")).to_be_visible()
    tab.assert_clean()
