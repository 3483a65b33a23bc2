"""What every template may use: song links, mash-up pictures, the pinned htmx file, the Last.fm periods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from flask import Flask

from fanapp import content
from fanapp.site import mixview, security, theme
from fanapp.sources.lastfm import PERIOD_LABELS
from fanapp.tracks import spotify_id_of


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


IRREGULAR = {"history": "histories", "story": "stories", "match": "matches"}


def count(n: int, word: str, plural: str | None = None) -> str:
    """A number with its noun in the right form: "1 episode", "2 episodes", "1,200 songs"."""
    if n == 1:
        return f"1 {word}"
    return f"{n:,} {plural or IRREGULAR.get(word, word + 's')}"


def init_app(app: Flask) -> None:
    """Register the filters and globals."""
    app.add_template_filter(count)
    app.add_template_filter(spotify_link)
    app.add_template_filter(spotify_id)
    app.add_template_global(mixview.wheel, "mix_wheel")
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
