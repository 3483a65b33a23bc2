"""What every template may use: song links, mash-up pictures, the pinned htmx file, the Last.fm periods."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from functools import cache
from typing import Any
from urllib.parse import quote

from flask import Flask
from markupsafe import Markup

from fanapp import content
from fanapp.config import ROOT
from fanapp.site import mixview, security, theme
from fanapp.sources.lastfm import PERIOD_LABELS
from fanapp.tracks import spotify_id_of
from fanapp.words import count


def _fields(song: Any) -> Mapping[str, Any]:
    """A song as a mapping, whether it is a `SongView`, a stored row or a plain dict."""
    if isinstance(song, Mapping):
        return song
    return {
        name: getattr(song, name, None)
        for name in ("spotify_id", "spotify_url", "id", "source_id", "title", "artists")
    }


def spotify_link(song: Any) -> str:
    """The song's Spotify page, or a Spotify search for it when the source had no Spotify id."""
    fields = _fields(song)
    url = fields.get("spotify_url") or ""
    if isinstance(url, str) and url.startswith("https://open.spotify.com/"):
        return url
    terms = f"{fields.get('title') or ''} {' '.join(fields.get('artists') or [])}"[:200]
    return "https://open.spotify.com/search/" + quote(terms, safe="")


def spotify_id(song: Any) -> str | None:
    """The song's Spotify track id, if it has one (players, playlists)."""
    return spotify_id_of(_fields(song))


# Spotify's icon as the simple-icons npm package ships it (CC0 1.0; the mark is Spotify's trademark, used
# as Spotify's design guidelines ask: beside content from Spotify, linking back to it). Spotify's own
# logo files (its brand resources) are not reachable from here. `make install` puts it in node_modules.
SPOTIFY_ICON = ROOT / "node_modules" / "simple-icons" / "icons" / "spotify.svg"
_PATH = re.compile(r'<path d="([MmLlHhVvCcSsQqTtAaZz0-9.,\s-]+)"\s*/>')


@cache
def spotify_icon_path() -> str:
    """The icon's SVG path data (SVG path commands and numbers only), or "" when it is not installed."""
    try:
        found = _PATH.search(SPOTIFY_ICON.read_text("utf-8"))
    except OSError:
        found = None
    if found is None:
        logging.getLogger(__name__).warning("Spotify icon missing at %s: run `make install`", SPOTIFY_ICON)
        return ""
    return found.group(1)


@cache
def spotify_logo() -> Markup:
    """Spotify's icon as inline SVG (in the text colour), or nothing when the file is not installed."""
    path = spotify_icon_path()
    if not path:
        return Markup("")
    # Safe: only the path data, checked above to be SVG path commands and numbers, enters the markup.
    return Markup(  # noqa: S704
        '<svg class="spotify-logo" viewBox="0 0 24 24" aria-hidden="true" focusable="false">'
        f'<path fill="currentColor" d="{path}"/></svg>'
    )


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.add_template_filter(count)
    app.add_template_filter(spotify_link)
    app.add_template_filter(spotify_id)
    app.add_template_global(mixview.wheel, "mix_wheel")
    app.add_template_global(spotify_logo)
    app.add_template_global(mixview.tempo_bar, "mix_tempo")

    @app.context_processor
    def _globals() -> dict[str, Any]:
        return {
            "htmx_url": security.HTMX_URL,
            "htmx_sri": security.HTMX_SRI,
            "lastfm_periods": list(PERIOD_LABELS.items()),
            "pack": content.current(),
            "theme_version": theme.version,
        }
