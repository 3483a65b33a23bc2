"""A listener's Spotify history: top tracks, recent plays and saved songs, as `ImportedTrack`s."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import spotipy

from fanapp.sources import History, ImportedTrack, Progress, clean_text, merge
from fanapp.sources.spotify.client import call
from fanapp.tracks import local_id, spotify_id, spotify_link

TOP_RANGES = ("short_term", "medium_term", "long_term")
PAGE = 50  # Spotify's maximum page size for these endpoints


def _year(release_date: Any) -> int | None:
    text = str(release_date or "")[:4]
    return int(text) if text.isdigit() and text != "0000" else None


def _best_image(images: Any) -> str | None:
    # The 300 px cover is enough for cards and share images; take the smallest one at least that big.
    candidates = [i for i in images or [] if isinstance(i, dict) and str(i.get("url", "")).startswith("http")]
    if not candidates:
        return None
    big_enough = [i for i in candidates if (i.get("width") or 0) >= 300]
    pick = min(big_enough, key=lambda i: i.get("width") or 0) if big_enough else candidates[0]
    return str(pick["url"])[:1000]


def _time(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def track_from_spotify(obj: Any) -> ImportedTrack | None:
    """Convert a Web API TrackObject into an `ImportedTrack` (None for anything that is not a track)."""
    if not isinstance(obj, dict) or obj.get("type", "track") != "track" or not obj.get("name"):
        return None
    artists = [clean_text(a.get("name"), 200) for a in obj.get("artists") or [] if isinstance(a, dict)]
    title = clean_text(obj.get("name"))
    track_id = obj.get("id")
    if not track_id:
        # Local files have no Spotify id: give them a stable one of our own.
        track_id = local_id(title, artists)
    album: dict[str, Any] = obj["album"] if isinstance(obj.get("album"), dict) else {}
    isrc = (obj.get("external_ids") or {}).get("isrc")
    url = (obj.get("external_urls") or {}).get("spotify")
    known = spotify_id(track_id)
    if known:
        url = spotify_link(known)
    elif not (isinstance(url, str) and url.startswith("https://open.spotify.com/") and len(url) <= 1000):
        url = None
    return ImportedTrack(
        source_id=clean_text(track_id, 255),
        spotify_id=known,
        title=title,
        artists=[a for a in artists if a] or ["Unknown artist"],
        album=clean_text(album.get("name")),
        release_year=_year(album.get("release_date")),
        duration_ms=obj.get("duration_ms") if isinstance(obj.get("duration_ms"), int) else None,
        explicit=bool(obj.get("explicit")),
        isrc=clean_text(isrc, 20) or None if isrc else None,
        image_url=_best_image(album.get("images")),
        spotify_url=url,
    )


class SpotifySource:
    """A `HistorySource` over the Web API: top tracks (3 ranges), last 50 plays, first saved pages."""

    name = "spotify"

    def __init__(self, sp: spotipy.Spotify, *, saved_pages: int = 2) -> None:
        self.sp = sp
        self.saved_pages = saved_pages

    def fetch(self, progress: Progress) -> History:
        """Fetch the history once: at most 5 + `saved_pages` + 1 calls (see the README)."""
        progress("Saying hello to Spotify")
        me = call(self.sp.current_user)
        found: list[ImportedTrack] = []
        for time_range, label in zip(TOP_RANGES, ("last 4 weeks", "last 6 months", "last year"), strict=True):
            progress(f"Fetching your top tracks ({label})")
            page = call(self.sp.current_user_top_tracks, limit=PAGE, offset=0, time_range=time_range)
            for rank, item in enumerate(page.get("items") or [], start=1):
                if t := track_from_spotify(item):
                    t.top_ranks[time_range] = rank
                    found.append(t)

        progress("Fetching your last 50 plays")
        recent = call(self.sp.current_user_recently_played, limit=PAGE)
        for item in recent.get("items") or []:
            if isinstance(item, dict) and (t := track_from_spotify(item.get("track"))):
                played = _time(item.get("played_at"))
                t.play_times = [played] if played else []
                t.play_count = len(t.play_times)
                found.append(t)

        # Pages by offset, never by the payload's `next` URL: that URL could point to another host, and
        # following it would send the bearer token there.
        for page_no in range(self.saved_pages):
            progress(f"Fetching your saved songs (page {page_no + 1})")
            page = call(self.sp.current_user_saved_tracks, limit=PAGE, offset=page_no * PAGE)
            items = page.get("items") or []
            for item in items:
                if isinstance(item, dict) and (t := track_from_spotify(item.get("track"))):
                    t.saved_at = _time(item.get("added_at"))
                    found.append(t)
            if len(items) < PAGE or not page.get("next"):
                break

        tracks = merge(found)
        notes = [
            "Spotify shares only your last 50 plays, so play counts cover recent listening only.",
            "Top tracks are Spotify's own ranking for the last 4 weeks, 6 months and year.",
        ]
        return History(
            tracks=tracks,
            external_id=clean_text(me.get("id"), 255) or None,
            display_name=clean_text(me.get("display_name"), 200),
            notes=notes,
        )
