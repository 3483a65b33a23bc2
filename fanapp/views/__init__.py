"""Blueprints: thin views over the service modules."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import Flask

from fanapp import pagecache, security
from fanapp.sources.lastfm import PERIOD_LABELS
from fanapp.sources.spotify import track_id_of


def spotify_link(song: dict[str, Any]) -> str:
    """The song's Spotify page, or a Spotify search for it when the source had no Spotify id."""
    url = song.get("spotify_url") or ""
    if isinstance(url, str) and url.startswith("https://open.spotify.com/"):
        return url
    terms = f"{song.get('title', '')} {' '.join(song.get('artists', []))}"[:200]
    return "https://open.spotify.com/search/" + quote(terms, safe="")


def init_app(app: Flask) -> None:
    """Register every blueprint and the helpers templates share."""
    from fanapp.views import builder, connect, embed, images, mydata, pages, pick, share

    for module in (pages, connect, builder, share, embed, images, mydata, pick):
        app.register_blueprint(module.bp)
    images.init_app(app)

    app.add_template_filter(spotify_link)
    app.add_template_filter(track_id_of, "spotify_id")
    cache = pagecache.for_app(app.config["SETTINGS"])
    app.extensions["fanapp.page_cache"] = cache
    base = app.config["SETTINGS"].public_base_url
    app.wsgi_app = pagecache.PublicPages(app.wsgi_app, cache, public_base_url=base)  # type: ignore[method-assign]

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "htmx_url": security.HTMX_URL,
            "htmx_sri": security.HTMX_SRI,
            "lastfm_periods": list(PERIOD_LABELS.items()),
        }
