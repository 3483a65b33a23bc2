"""A listener's Apple Music history: recent plays, heavy rotation, library songs and recently added.

What Apple gives, and what it does not: recently played tracks come without play times or play counts
(the last 50, 10 a page); heavy rotation is Apple's own pick of what the listener plays most lately and
lists mostly albums and playlists, not songs; the library is listed alphabetically, with no date a song
was added; recently added lists albums with the date they were added. So: recent plays are ranked by
how recent they are, heavy-rotation albums rank the listener's songs that are on them, and a
recently added album dates the library songs on it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Final, Protocol

from fanapp.sources import History, ImportedTrack, Progress, merge
from fanapp.sources.apple.client import AppleMusicClient
from fanapp.sources.apple.convert import added_at, album_of, song_album, song_from_apple

RECENT_LIMIT: Final = 10  # Apple's largest page for recently played tracks
RECENT_PAGES: Final = 5  # Apple keeps the last 50
HEAVY_LIMIT: Final = 10
HEAVY_PAGES: Final = 1
LIBRARY_LIMIT: Final = 100  # Apple's largest page of library songs
LIBRARY_PAGES: Final = 2
ADDED_LIMIT: Final = 10  # Apple's largest page of recently added resources
ADDED_PAGES: Final = 2
MAX_CALLS: Final = RECENT_PAGES + HEAVY_PAGES + LIBRARY_PAGES + ADDED_PAGES

RECENT_RANK: Final = "apple_recent"
HEAVY_RANK: Final = "apple_heavy_rotation"
# Heavy rotation is "what you play a lot lately": for the engine that is the nearest Spotify range.
HEAVY_RANGE: Final = "short_term"

NO_PLAYER_NOTE: Final = (
    "Songs from Apple Music have no Spotify player here; their links search Spotify instead."
)
CONNECTION_ENDED: Final = (
    "Your Apple Music connection ended before we could read your music, so nothing was imported. "
    "Please connect Apple Music again, or use another way in."
)
EMPTY_NOTE: Final = (
    "Apple Music has no plays or library songs for this account yet, so there is nothing to build an "
    "episode from. Play some music first, or use another way in."
)


class Matcher(Protocol):
    """Finds imported songs on Spotify (by ISRC first) so players and playlists work (`spotify.matching`)."""

    def match(self, tracks: Iterable[ImportedTrack]) -> list[str]:
        """Fill in what was found; returns notes for the visitor."""
        ...


_DETAILS: Final = ("isrc", "image_url", "album", "release_year", "duration_ms")


def _unify(tracks: list[ImportedTrack]) -> None:
    """Make every copy of a song agree before `merge`, which keeps the first copy's details: a recent
    play listed as a library song has no ISRC, while its library copy (with its catalog song) has one."""
    known: dict[str, dict[str, object]] = {}
    for t in tracks:
        details = known.setdefault(t.source_id, {})
        for name in _DETAILS:
            if getattr(t, name) and name not in details:
                details[name] = getattr(t, name)
        details["explicit"] = bool(details.get("explicit")) or t.explicit
    for t in tracks:
        for name, value in known[t.source_id].items():
            if not getattr(t, name):
                setattr(t, name, value)


def _rank(track: ImportedTrack, name: str, rank: int) -> None:
    track.top_ranks[name] = min(rank, track.top_ranks.get(name, rank))


class AppleMusicSource:
    """A `HistorySource` over the Apple Music API with the listener's Music User Token.

    One import makes at most `MAX_CALLS` (10) Apple Music calls, one after another: recently played
    tracks (5 pages of 10), heavy rotation (1 page of 10), library songs with their catalog songs
    (2 pages of 100) and recently added (2 pages of 10); a list that ends early stops its pages.
    Any failure fails the whole import (nothing half-imported is kept). Matching on Spotify, when a
    matcher is given, is best effort and counts against Spotify's budget, not Apple's.
    """

    name = "apple-music"

    def __init__(self, client: AppleMusicClient, *, matcher: Matcher | None = None) -> None:
        self.client = client
        self.matcher = matcher

    def fetch(self, progress: Progress) -> History:
        """Fetch the history once (see the class docstring), then match it on Spotify if set up."""
        found: list[ImportedTrack] = []

        progress("Fetching your recent plays from Apple Music")
        position = 0
        for items in self.client.pages(
            "me/recent/played/tracks",
            limit=RECENT_LIMIT,
            max_pages=RECENT_PAGES,
            types="songs,library-songs",
        ):
            for item in items:
                if track := song_from_apple(item):
                    position += 1
                    track.play_count = 1
                    _rank(track, RECENT_RANK, position)
                    found.append(track)

        progress("Fetching your heavy rotation")
        heavy_albums: dict[str, int] = {}
        rank = 0
        for items in self.client.pages("me/history/heavy-rotation", limit=HEAVY_LIMIT, max_pages=HEAVY_PAGES):
            for item in items:
                rank += 1
                if track := song_from_apple(item):
                    _rank(track, HEAVY_RANK, rank)
                    _rank(track, HEAVY_RANGE, rank)
                    found.append(track)
                elif key := album_of(item):
                    heavy_albums.setdefault(key, rank)

        progress("Fetching your library")
        library = 0
        for page_no, items in enumerate(
            self.client.pages(
                "me/library/songs", limit=LIBRARY_LIMIT, max_pages=LIBRARY_PAGES, include="catalog"
            ),
            start=1,
        ):
            if page_no > 1:
                progress(f"Fetching your library (page {page_no})")
            songs = [t for t in (song_from_apple(i) for i in items) if t is not None]
            library += len(items)
            found.extend(songs)

        progress("Fetching what you added recently")
        added_albums: dict[str, datetime] = {}
        for items in self.client.pages("me/library/recently-added", limit=ADDED_LIMIT, max_pages=ADDED_PAGES):
            for item in items:
                attrs = item.get("attributes")
                when = added_at(attrs.get("dateAdded")) if isinstance(attrs, dict) else None
                if track := song_from_apple(item):
                    track.saved_at = when
                    found.append(track)
                elif (key := album_of(item)) and when is not None:
                    added_albums.setdefault(key, when)

        for track in found:
            album = song_album(track)
            if album is None:
                continue
            if album in heavy_albums:
                _rank(track, HEAVY_RANK, heavy_albums[album])
                _rank(track, HEAVY_RANGE, heavy_albums[album])
            if album in added_albums and track.saved_at is None:
                track.saved_at = added_albums[album]

        _unify(found)
        tracks = merge(found)
        history = History(tracks=tracks, notes=[])
        if not tracks:
            history.notes.append(EMPTY_NOTE)
            return history
        history.notes.extend(
            [
                "Apple Music shares your last 50 plays without dates or play counts, so we rank them by "
                "how recent they are.",
                "Heavy rotation is Apple's own pick of what you play most lately; it lists albums, so it "
                "lifts your songs from those albums.",
            ]
        )
        if library >= LIBRARY_LIMIT * LIBRARY_PAGES:
            history.notes.append(
                f"Apple lists your library alphabetically; we read its first {LIBRARY_LIMIT * LIBRARY_PAGES} "
                "songs."
            )
        if self.matcher is not None:
            progress("Finding your songs on Spotify")
            history.notes.extend(self.matcher.match(history.tracks))
        else:
            history.notes.append(NO_PLAYER_NOTE)
        return history
