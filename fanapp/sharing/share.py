"""Public pages of a published episode: the share page and its JSON (no login, no cookies)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from typing import NoReturn
from urllib.parse import urlencode

from flask import Blueprint, abort, render_template, request
from werkzeug.wrappers import Response

from fanapp import config, duets, episodes
from fanapp.episodes import EpisodeView
from fanapp.sharing.pagecache import CACHEABLE
from fanapp.site.db import db
from fanapp.site.limits import count_miss
from fanapp.site.urls import absolute_url

bp = Blueprint("share", __name__)

# Browsers and caches we cannot purge keep public answers 5 minutes; the cache tier keeps them until a
# take-down purges them (`pagecache.tier_headers`).
PUBLIC_CACHE = "public, max-age=300, stale-while-revalidate=60"


TAKEN_DOWN_MESSAGE = (
    "This episode was taken down by the site's operators after a report. "
    "You can make your own episode from the home page."
)


def not_public(slug: str) -> NoReturn:
    """No published episode at `slug`: 410 when the operators took it down, else a 404 counted against
    the guess limit."""
    if episodes.was_taken_down(db(), slug):
        abort(410, description=TAKEN_DOWN_MESSAGE)
    count_miss()
    abort(404, description="There is no published episode at this address. It may have been removed.")


def cached_page(render_page: Callable[[], tuple[str | bytes, str] | None], *, slug: str) -> Response:
    """A public page of the episode at `slug`, marked so `PublicPages` stores and replays it.

    `render_page` returns (body, mimetype), or None when there is no such episode (`not_public`: a 410
    or a 404, never cached). Cookie-free and cacheable by browsers and CDNs, with a strong ETag from the
    bytes.
    """
    rendered = render_page()
    if rendered is None:
        not_public(slug)
    body, mimetype = rendered
    data = body.encode() if isinstance(body, str) else body
    response = Response(data, mimetype=mimetype)
    response.headers["Cache-Control"] = PUBLIC_CACHE
    response.headers[CACHEABLE] = slug
    response.set_etag(hashlib.sha256(data).hexdigest()[:32])
    return response.make_conditional(request)


def share_links(url: str, title: str) -> list[tuple[str, str]]:
    """Plain share links for the main networks: no third-party script runs on our page."""
    text = f"My Soundtrack episode: {title}"
    return [
        ("X", "https://twitter.com/intent/tweet?" + urlencode({"text": text, "url": url})),
        ("Facebook", "https://www.facebook.com/sharer/sharer.php?" + urlencode({"u": url})),
        ("WhatsApp", "https://wa.me/?" + urlencode({"text": f"{text} {url}"})),
        ("Telegram", "https://t.me/share/url?" + urlencode({"url": url, "text": text})),
        ("Bluesky", "https://bsky.app/intent/compose?" + urlencode({"text": f"{text} {url}"})),
        ("Reddit", "https://www.reddit.com/submit?" + urlencode({"url": url, "title": text})),
    ]


def describe(view: EpisodeView) -> str:
    """One sentence for link previews: who the two characters are and the mash-up."""
    a, b = view.characters
    text = f"{a.name} and {b.name}: two characters, two soundtracks"
    if view.mashup:
        pair = view.mashup
        text += f", and a mash-up of “{pair.a.title}” × “{pair.b.title}” ({pair.score}/100)"
    return text + "."


@bp.get("/s/<slug>")
def page(slug: str) -> Response:
    """The public share page."""
    return cached_page(lambda: _share_html(slug), slug=slug)


def _share_html(slug: str) -> tuple[str, str] | None:
    view = episodes.public_view(db(), slug)
    if view is None:
        return None
    share_url = absolute_url("share.page", slug=slug)
    html = render_template(
        "pages/share.html",
        view=view,
        share_url=share_url,
        og_description=describe(view),
        image_url=absolute_url("images.card", slug=slug),
        story_url=absolute_url("images.story", slug=slug),
        # Built with urlencode, not url_for: the share link in `url=` must be percent-encoded whole
        # (":" and "/" too), as oEmbed consumers such as WordPress expect.
        oembed_url=absolute_url("embed.oembed") + "?" + urlencode({"url": share_url, "format": "json"}),
        share_links=share_links(share_url, view.title),
        can_save=config.current().spotify_enabled and bool(view.playlist()),
        duet_count=duets.published_count(db(), slug=slug),
        original_url=(
            absolute_url("share.page", slug=view.duet_of)
            if view.duet_of and episodes.published(db(), view.duet_of)
            else ""
        ),
    )
    return html, "text/html"


@bp.get("/s/<slug>.json")
def as_json(slug: str) -> Response:
    """The published episode as JSON."""

    def render_json() -> tuple[str, str] | None:
        view = episodes.public_view(db(), slug)
        if view is None:
            return None
        data = {**view.as_dict(), "url": absolute_url("share.page", slug=slug)}
        return json.dumps(data, ensure_ascii=False), "application/json"

    return cached_page(render_json, slug=slug)
