"""Absolute URLs for what leaves the site (share links, link previews, oEmbed, playlists)."""

from __future__ import annotations

from typing import Any

from flask import current_app, url_for


def absolute_url(endpoint: str, **values: Any) -> str:
    """An absolute URL, on PUBLIC_BASE_URL when it is set (share links, OG tags, oEmbed)."""
    base: str = current_app.config["SETTINGS"].public_base_url
    if base:
        return base + url_for(endpoint, **values)
    return url_for(endpoint, _external=True, **values)
