"""Share images of a published episode: rendered once per episode version, then served from a cache."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from flask import Blueprint, Flask, current_app, request
from werkzeug.wrappers import Response

from fanapp import content, episodes
from fanapp.sharing.cards import render
from fanapp.sharing.cards.cache import ImageCache
from fanapp.sharing.cards.covers import HttpCovers
from fanapp.sharing.pagecache import CACHEABLE
from fanapp.sharing.share import not_public
from fanapp.site.db import db
from fanapp.upstream.session import guarded_session

bp = Blueprint("images", __name__)

# A published image does not change, but it must disappear after an unpublish: five minutes in browsers
# (the cache tier keeps it until a take-down purges it), and the strong ETag makes later checks a 304.
IMAGE_CACHE = "public, max-age=300"


def init_app(app: Flask) -> ImageCache:
    """One image cache and one cover fetcher per app, under the instance folder."""
    settings = app.config["SETTINGS"]
    cache_root = Path(app.instance_path) / "cache"
    # Rendered images are stored on disk, bounded, by the serving layer (`store.FileStore`); this memory
    # cache only makes concurrent first requests of one worker render once.
    cache = ImageCache(max_bytes=16 * 1024 * 1024)
    app.extensions["fanapp.image_cache"] = cache
    timeout = min(3.0, settings.upstream_timeout)
    app.extensions["fanapp.covers"] = HttpCovers(
        timeout=timeout,
        # Through the app's pause store: a 429 from the image host pauses covers in every worker.
        session=guarded_session(settings, "covers", timeout=timeout),
        cache_dir=cache_root / "covers",
        # The Spotify double serves its covers from loopback; production fetches Spotify's CDN only.
        allow_loopback=not settings.production,
    )
    return cache


def _image(slug: str, size: Literal["card", "story"]) -> Response:
    episode = episodes.published(db(), slug)
    if episode is None or episode.slug is None:
        not_public(slug)
    cache: ImageCache = current_app.extensions["fanapp.image_cache"]
    covers = current_app.extensions["fanapp.covers"]
    entry = cache.get_or_render(
        episode.slug,
        episode.version,
        size,
        lambda: _render(episodes.view(db(), episode).as_dict(), covers, size),
    )
    response = Response(entry.png, mimetype="image/png")
    response.headers["Cache-Control"] = IMAGE_CACHE
    response.headers[CACHEABLE] = episode.slug
    response.set_etag(entry.etag.strip('"'))
    return response.make_conditional(request)


def _render(view: dict[str, object], covers: HttpCovers, size: Literal["card", "story"]) -> bytes:
    pack = content.current()
    render.set_palette(pack.rgb("a"), pack.rgb("b"), pack.rgb("gold"))
    return render.render_card(view, covers, size)


@bp.get("/s/<slug>.png")
def card(slug: str) -> Response:
    """The 1200x630 link-preview image."""
    return _image(slug, "card")


@bp.get("/s/<slug>/story.png")
def story(slug: str) -> Response:
    """The 1080x1920 story image."""
    return _image(slug, "story")
