"""Campaign embeds and oEmbed: cookie-free, read-only cards that live on other sites."""

from __future__ import annotations

from contextlib import suppress
from html import escape
from urllib.parse import urlparse

from flask import Blueprint, abort, jsonify, make_response, render_template, request
from werkzeug.wrappers import Response

from fanapp import duets, episodes
from fanapp.sharing.pagecache import CACHEABLE, tier_headers
from fanapp.sharing.share import PUBLIC_CACHE, cached_page, not_public
from fanapp.site import campaign
from fanapp.site.db import db
from fanapp.site.urls import absolute_url

bp = Blueprint("embed", __name__)

# The iframe oEmbed suggests: the compact card (mash-up score, reasons and links included) is 823 px tall
# at 480 px for the demo and 874 px with 40-character names (tests/browser/test_oembed_size.py).
EMBED_WIDTH, EMBED_HEIGHT = 480, 940
MIN_SIDE = 200


def _cookie_free(response: Response) -> Response:
    # Embeds run in third-party iframes where cookies are blocked anyway: never set one, so they work
    # the same everywhere and a CDN may cache them.
    response.headers["Cache-Control"] = PUBLIC_CACHE
    return response


@bp.get("/embed/s/<slug>")
def episode_card(slug: str) -> Response:
    """An episode as a card for an iframe."""

    def render_card() -> tuple[str, str] | None:
        view = episodes.public_view(db(), slug)
        if view is None:
            return None
        html = render_template(
            "embed/episode.html",
            view=view,
            share_url=absolute_url("share.page", slug=slug),
            report_url=absolute_url("report.report", slug=slug),
            start_url=absolute_url("pages.landing", **(campaign.from_args() or {"utm_source": "embed"})),
        )
        return html, "text/html"

    return cached_page(render_card, slug=slug)


@bp.get("/embed/start")
def start_card() -> Response:
    """A start card for campaign pages; its button opens the journey in a top-level tab."""
    came_from = campaign.from_args() or {"utm_source": "embed"}
    start_url = absolute_url("pages.landing", **came_from)
    duet_of = request.args.get("duet", "")[:32]
    duet_title, named = "", ""
    if duet_of:  # ?duet=<slug>: the card opens that episode's duet invitation (if it takes duets)
        with suppress(duets.DuetRefused):  # refused: the card starts an episode of one's own instead
            found = duets.invitation(db(), slug=duet_of)
            start_url = absolute_url("duet.invitation", slug=found.slug, **came_from)
            duet_title, named = found.view.title, found.slug
    html = render_template("embed/start.html", start_url=start_url, duet_title=duet_title)
    response = _cookie_free(make_response(html))
    if named:
        # It shows that episode's title: a cache tier keeps it under the episode's key, so taking the
        # episode down (its owner, or an operator for a hateful title) purges this card too.
        response.headers.extend(tier_headers(named))
    return response


def _dimension(name: str, default: int) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        abort(400, description=f"{name} must be a whole number of pixels.")
    return max(MIN_SIDE, min(default, value))


@bp.get("/oembed")
def oembed() -> Response | tuple[Response, int]:
    """oEmbed 1.0 provider for share links (JSON, type "rich")."""
    fmt = request.args.get("format", "json")
    if fmt != "json":
        abort(501, description="Only the JSON format is supported.")
    url = request.args.get("url", "")
    if not url or len(url) > 2048:
        abort(400, description="Give the share link as the url parameter.")
    width, height = _dimension("maxwidth", EMBED_WIDTH), _dimension("maxheight", EMBED_HEIGHT)
    parsed = urlparse(url)
    base = urlparse(absolute_url("pages.landing"))
    parts = parsed.path.strip("/").split("/")
    if (
        parsed.scheme not in ("http", "https")
        or parsed.netloc != base.netloc
        or len(parts) != 2
        or parts[0] != "s"
    ):
        abort(404, description="That URL is not a share link of this site.")
    episode = episodes.published(db(), parts[1])
    if episode is None or episode.slug is None:
        not_public(parts[1])
    # "#compact": the card's tight layout (embed.js), which fits EMBED_HEIGHT at EMBED_WIDTH; a fragment,
    # so every partner's iframe still reads the one cached card.
    src = absolute_url("embed.episode_card", slug=episode.slug) + "#compact"
    share_url = absolute_url("share.page", slug=episode.slug)
    title = episode.title or "A Soundtrack episode"
    payload = {
        "version": "1.0",
        "type": "rich",
        "provider_name": "your Soundtrack",
        "provider_url": absolute_url("pages.landing"),
        "title": title,
        "width": width,
        "height": height,
        "cache_age": 86400,
        # WordPress keeps only a leading <blockquote> and the <iframe> of a provider it does not know,
        # and loads its embed script only when the blockquote is class="wp-embedded-content": the
        # blockquote is the link people see until the card is ready (and where scripts never run).
        "html": (
            f'<blockquote class="wp-embedded-content"><a href="{escape(share_url)}">{escape(title)}</a>'
            "</blockquote>"
            f'<iframe src="{escape(src)}" width="{width}" height="{height}" title="{escape(title)}" '
            'style="border:0;border-radius:16px;max-width:100%" loading="lazy" '
            'sandbox="allow-scripts allow-popups allow-popups-to-escape-sandbox '
            'allow-top-navigation-by-user-activation">'
            "</iframe>"
        ),
        "thumbnail_url": absolute_url("images.card", slug=episode.slug),
        "thumbnail_width": 1200,
        "thumbnail_height": 630,
    }
    response = jsonify(payload)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers[CACHEABLE] = episode.slug  # stored per url and size (`PublicPages.key`)
    return response
