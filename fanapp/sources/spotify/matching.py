"""Finding songs from other sources (Last.fm, exports) on Spotify, with the app's own token."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

from fanapp.errors import FanappError
from fanapp.sources import ImportedTrack
from fanapp.sources.lastfm import NO_PLAYER_NOTE
from fanapp.sources.spotify.client import call
from fanapp.sources.spotify.history import track_from_spotify
from fanapp.tracks import bare_title, loose


class SearchClient(Protocol):
    """The part of spotipy.Spotify the matcher uses (an app client-credentials client is enough)."""

    def search(
        self, q: str, limit: int = 10, offset: int = 0, type: str = "track", market: Any = None
    ) -> Any:
        """Spotify's /search."""
        ...


_QUERY_JUNK: Final = re.compile(r"[\"':]")


class SpotifyMatcher:
    """Find Last.fm songs on Spotify so share pages can play them; optional and best effort.

    `client_factory` makes a spotipy client with the app's own client-credentials token (no visitor
    login). At most `limit` searches, most loved songs first; a song whose first result is not the
    same title and artist stays unmatched, and any Spotify failure stops matching (never the import).
    """

    def __init__(self, client_factory: Callable[[], SearchClient] | None, *, limit: int = 50) -> None:
        self.client_factory = client_factory
        self.limit = limit

    def match(self, tracks: Iterable[ImportedTrack]) -> list[str]:
        """Set `spotify_id` (with its link, and a cover) on the songs found; returns notes for the visitor."""
        if self.client_factory is None:
            return [NO_PLAYER_NOTE]
        pending = sorted(
            (t for t in tracks if not t.spotify_id and t.artists),
            key=lambda t: (min(t.top_ranks.values(), default=10_000), -t.play_count, t.source_id),
        )
        tried = matched = 0
        try:
            sp = self.client_factory()
            for t in pending[: self.limit]:
                tried += 1
                if t.isrc:
                    query = f"isrc:{_QUERY_JUNK.sub(' ', t.isrc)}"
                else:
                    title = _QUERY_JUNK.sub(" ", bare_title(t.title))[:100]
                    query = f"track:{title} artist:{_QUERY_JUNK.sub(' ', t.artists[0])[:100]}"
                result = call(sp.search, q=query, type="track", limit=1)
                items = ((result.get("tracks") or {}).get("items") or []) if isinstance(result, dict) else []
                hit = track_from_spotify(items[0]) if items else None
                if hit is None or not hit.spotify_id:
                    continue
                same_artist = loose(t.artists[0]) in {loose(a) for a in hit.artists}
                if loose(hit.title) != loose(t.title) or not same_artist:
                    continue
                t.known_on_spotify(hit.spotify_id)
                t.image_url = hit.image_url or t.image_url
                t.isrc = t.isrc or hit.isrc
                t.release_year = t.release_year or hit.release_year
                t.duration_ms = t.duration_ms or hit.duration_ms
                matched += 1
        except FanappError:
            pass  # Spotify is busy or down: keep what matched, the rest work without the player
        if not tried:
            return []
        return [f"We found {matched} of your top {tried} songs on Spotify; the others have no player."]
