"""The bundled catalogue for picking songs by hand without Spotify: the demo listener's songs and about
1,900 chart hits of 2000-2019 with the audio features Spotify used to publish (`catalogue_hits.csv.gz`,
made from the public reference file by `scripts/build_catalogue.py`).

Search is accent- and case-insensitive ("beyonce" finds Beyoncé): text is compared in Unicode
compatibility form (NFKD) with its combining marks dropped and case folded, every word of the query must
appear in the title, artist or album, and title matches come before artist matches, then popularity.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources

from fanapp.engine import FEATURE_NAMES
from fanapp.sources import History, ImportedTrack, Progress
from fanapp.sources.demo import DemoSource
from fanapp.tracks import loose, song_key

HITS_PREFIX = "hits-"
_WORDS = re.compile(r"[^\w]+")


def fold(text: str) -> str:
    """Text as search compares it: compatibility form, no accents, case folded, punctuation as spaces."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(_WORDS.sub(" ", bare.casefold()).split())


@dataclass(frozen=True)
class _Entry:
    track: ImportedTrack
    title: str  # folded
    artists: str  # folded
    everything: str  # folded title, artists and album
    popularity: int


def _hit(row: dict[str, str]) -> ImportedTrack:
    features = {
        name: {"value": float(row[name]), "source": "catalogue"} for name in FEATURE_NAMES if row.get(name)
    }
    return ImportedTrack(
        source_id=HITS_PREFIX + song_key(row["artist"], row["song"]),
        title=row["song"],
        artists=[row["artist"]],
        release_year=int(row["year"]) if row.get("year") else None,
        duration_ms=int(row["duration_ms"]) if row.get("duration_ms") else None,
        explicit=row.get("explicit", "").upper() == "TRUE",
        features=features,
    )


@cache
def _entries() -> tuple[_Entry, ...]:
    """Every bundled song, folded for search once per process (the demo's first, then the hits)."""
    entries: list[_Entry] = []
    seen: set[str] = set()
    for track in DemoSource().fetch(lambda _stage: None).tracks:
        signals = {"top_ranks": {}, "play_times": [], "play_count": 0, "saved_at": None}
        plain = track.model_copy(update=signals)
        seen.add(_same_song(plain.artists[0] if plain.artists else "", plain.title))
        entries.append(_entry(plain, popularity=100))  # the well-known classics: first when browsing
    data = resources.files("fanapp.sources").joinpath("catalogue_hits.csv.gz").read_bytes()
    for row in csv.DictReader(io.StringIO(gzip.decompress(data).decode("utf-8"))):
        if _same_song(row["artist"], row["song"]) in seen:
            continue  # a demo classic again, or the same song in another edition ("(feat. …)")
        seen.add(_same_song(row["artist"], row["song"]))
        entries.append(_entry(_hit(row), popularity=int(row.get("popularity") or 0)))
    return tuple(entries)


def _same_song(artist: str, title: str) -> str:
    return f"{loose(artist)}|{loose(title)}"


def _entry(track: ImportedTrack, *, popularity: int) -> _Entry:
    title, artists = fold(track.title), fold(" ".join(track.artists))
    return _Entry(track, title, artists, f"{title} {artists} {fold(track.album)}", popularity)


@cache
def _by_id() -> dict[str, ImportedTrack]:
    return {e.track.source_id: e.track for e in _entries()}


def size() -> int:
    """How many songs the catalogue holds (the pick page says what it searches)."""
    return len(_entries())


def songs() -> list[ImportedTrack]:
    """Every bundled song, without any listener's signals."""
    return [e.track for e in _entries()]


def search(query: str, limit: int = 20) -> list[ImportedTrack]:
    """Bundled songs matching every word of `query` in their title, artist or album, accents and case
    aside; title matches first, then artist matches, then the more popular. The best known for an empty
    query."""
    words = fold(query).split()
    if not words:
        ranked = sorted(_entries(), key=lambda e: -e.popularity)
        return [e.track for e in ranked[:limit]]
    phrase = " ".join(words)
    found = [e for e in _entries() if all(_has_word(e.everything, w) for w in words)]

    def rank(e: _Entry) -> tuple[int, int]:
        if e.title == phrase or e.title.startswith(phrase + " "):
            place = 0
        elif phrase in e.title:
            place = 1
        elif phrase in e.artists:
            place = 2
        else:
            place = 3
        return place, -e.popularity

    return [e.track for e in sorted(found, key=rank)[:limit]]


def _has_word(text: str, word: str) -> bool:
    """`word` starts a word of `text` ("swif" finds Swift, "ove" does not find Love)."""
    return text.startswith(word) or f" {word}" in text


def by_id(source_id: str) -> ImportedTrack | None:
    """One bundled song by its id (a demo or a chart-hit id): a copy, the cached one stays as it is."""
    track = _by_id().get(source_id)
    return track.model_copy(deep=True) if track is not None else None


class PickedSource:
    """A `HistorySource` over songs a visitor picked by hand."""

    name = "pick"

    def __init__(self, tracks: list[ImportedTrack]) -> None:
        self.tracks = tracks

    def fetch(self, progress: Progress) -> History:
        """The picks, as they are."""
        progress("Reading the songs you picked")
        return History(tracks=list(self.tracks), notes=["You picked these songs by hand."])
