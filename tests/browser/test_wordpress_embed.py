"""The episode card where partners put it: a WordPress post on another origin.

The host page is our own stand-in for WordPress's wp-embed script (WordPress's code is GPL; this does
what its documentation and `wp-includes/js/wp-embed.js` are described to do): it keeps the oEmbed
answer's `<blockquote class="wp-embedded-content">` and `<iframe>`, puts the iframe inside
`sandbox="allow-scripts"` with `security="restricted"` and a `#?secret=` on its address, hides it until
the card speaks, says `ready`, sizes it from `height` messages (clamped to 200-1000 px) and follows a
`link` message only for an http(s) URL on the iframe's own host while the iframe has focus.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from html import escape
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenTab, ServeApp, Site
from tests.browser.test_embed import FONT_REFUSED, CampaignPage

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

# What wp-embed does with the messages of an embedded post (our own code, written from its behaviour).
WP_EMBED = """
<script>
(function () {
  function frames() {
    return Array.prototype.slice.call(document.querySelectorAll("iframe.wp-embedded-content"));
  }
  window.log = [];
  window.addEventListener("message", function (e) {
    var d = e.data;
    if (!d || !d.secret || !d.message) return;
    frames().forEach(function (frame) {
      if (frame.getAttribute("data-secret") !== d.secret || frame.contentWindow !== e.source) return;
      window.log.push(d.message);
      frame.removeAttribute("style");
      var quote = frame.previousElementSibling;
      if (quote && quote.tagName === "BLOCKQUOTE") quote.style.display = "none";
      if (d.message === "height") {
        var h = Math.min(Math.max(parseInt(d.value, 10) || 0, 200), 1000);
        frame.height = String(h);
      }
      if (d.message === "link") {
        var source = new URL(frame.getAttribute("src")), target = new URL(d.value);
        var focused = document.activeElement === frame;
        if (/^https?:$/.test(target.protocol) && target.host === source.host && focused) {
          window.top.location.href = d.value;
        }
      }
    });
  });
  function ready() {
    frames().forEach(function (frame) {
      frame.contentWindow.postMessage({ message: "ready", secret: frame.getAttribute("data-secret") }, "*");
    });
  }
  document.addEventListener("DOMContentLoaded", ready);
  window.addEventListener("load", ready);
})();
</script>
"""


def wordpress_markup(site: Site, slug: str, secret: str) -> str:
    """The oEmbed answer as WordPress stores it for an unknown provider: the leading blockquote and the
    iframe, re-attributed (sandbox, security, the secret, hidden until it speaks), at 500 px wide."""
    from bs4 import BeautifulSoup

    client = site.server.app.test_client()  # type: ignore[union-attr]
    share_url = f"{site.url}/s/{slug}"
    answer = client.get(
        f"/oembed?url={quote(share_url, safe='')}&format=json&maxwidth=500&maxheight=750&dnt=1",
        base_url=site.url,
    )
    assert answer.status_code == 200
    html = json.loads(answer.get_data())["html"]
    parsed = BeautifulSoup(html, "html.parser")
    quote_tag, frame = parsed.find("blockquote"), parsed.find("iframe")
    assert quote_tag is not None and "wp-embedded-content" in quote_tag["class"]
    assert frame is not None
    return (
        f"{quote_tag}"
        f'<iframe class="wp-embedded-content" sandbox="allow-scripts" security="restricted" '
        f'src="{escape(frame["src"])}#?secret={secret}" data-secret="{secret}" width="500" height="750" '
        f'title="{escape(frame["title"])}" frameborder="0" marginwidth="0" marginheight="0" scrolling="no" '
        'style="position: absolute; clip: rect(1px, 1px, 1px, 1px);"></iframe>'
    )


class WordPressPost(CampaignPage):
    """A blog post on another origin with WordPress's embed behaviour (and no embed-host.js)."""

    def show(self, body: str, app_url: str) -> None:
        """Serve the post."""
        del app_url
        self.html = (
            "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>A partner's post</title>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'></head>"
            f"<body><h1>Our favourite episode</h1>{body}{WP_EMBED}</body></html>"
        ).encode()


@pytest.fixture
def post() -> Iterator[WordPressPost]:
    page = WordPressPost()
    yield page
    page.server.stop()


def test_the_card_works_inside_a_wordpress_post(
    serve_app: ServeApp, post: WordPressPost, open_tab: OpenTab
) -> None:
    site = serve_app(lambda _server: {"embed_allowed_origins": (post.allowed_origin,)})
    slug = site.publish_demo()
    secret = secrets.token_hex(5)
    post.show(wordpress_markup(site, slug, secret), site.url)

    tab = open_tab("desktop")
    tab.guard.expect(FONT_REFUSED)  # the sandboxed card's font request (see test_embed)
    page = tab.page
    tab.goto(post.allowed_origin + "/")
    card = page.frame_locator("iframe.wp-embedded-content")
    expect(card.get_by_test_id("character-a")).to_be_visible()
    expect(card.get_by_test_id("mashup").get_by_test_id("mashup-track")).to_have_count(2)

    # It renders: the card answered "ready", WordPress unhid it and took its height.
    page.wait_for_function("() => window.log.includes('height')")
    frame_el = page.locator("iframe.wp-embedded-content")
    expect(frame_el).not_to_have_attribute("style", "position: absolute; clip: rect(1px, 1px, 1px, 1px);")
    expect(page.locator("blockquote.wp-embedded-content")).to_be_hidden()
    card_frame = next(f for f in page.frames if "/embed/s/" in f.url)
    inner = card_frame.evaluate("() => Math.ceil(document.documentElement.getBoundingClientRect().height)")
    # It fits WordPress's range at 500 px wide: no clipped card, no inner scroll.
    assert 200 <= inner <= 1000, inner
    page.wait_for_function(
        "h => Math.abs(parseInt(document.querySelector('iframe').height, 10) - h) <= 1", arg=inner
    )
    assert card_frame.evaluate("() => document.documentElement.classList.contains('embed-wp')")
    tab.shot("wordpress-post")

    # It opens the episode through the "link" message (the sandbox has no popups, no top navigation).
    with page.expect_navigation():
        card.get_by_role("link", name="Open the episode").click()
    assert page.url == f"{site.url}/s/{slug}"
    expect(page.get_by_test_id("share-link")).to_be_visible()
    assert tab.context.cookies() == []  # the card, the post and the share page set no cookie
    tab.assert_clean()
