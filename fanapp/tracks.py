"""One song, one record, one identity, whatever the source.

The record family (SQLModel, as in the FastAPI template's `ItemBase` → `Item` → `ItemPublic`):
`SongFields` is what a song is wherever it is kept; `TrackFields` adds what it was to the listener
and the musical features known of it; `ImportedTrack` is what a source returns; the tables
(`fanapp.data.models.Track`, `EpisodeSong`) are the same fields stored. Converting between them is
`model_dump`, never a hand-copied list of fields.

The identity: a song's Spotify id (from an id, a link or a URI) is kept in one field, `spotify_id`,
set by whichever source or matcher learned it; its ISRC; and the stable ids of songs no service names
(a hash of artist and title). The engine keeps its own, stricter duplicate rule
(`fanapp.engine.history`): it imports nothing of fanapp outside itself.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final

from sqlalchemy import JSON
from sqlmodel import Field, SQLModel

SPOTIFY_ID: Final = re.compile(r"[0-9A-Za-z]{22}")
ISRC: Final = re.compile(r"[A-Z]{2}[A-Z0-9]{3}[0-9]{7}")
SPOTIFY_TRACK_LINK: Final = "https://open.spotify.com/track/"
_LINK: Final = re.compile(
    r"https://open\.spotify\.com/(?:intl-[a-z]{2}(?:-[a-z]{2})?/)?track/([0-9A-Za-z]{22})(?:[/?#].*)?"
)
_URI: Final = re.compile(r"spotify:track:([0-9A-Za-z]{22})")
_SPACES: Final = re.compile(r"\s+")
_NOT_WORD: Final = re.compile(r"[\W_]+")
# Loose comparison only (matching a song found elsewhere): any " - …" tail and any bracketed part.
_ANY_EDITION: Final = re.compile(r"\s+-\s+.*$|\s*[(\[].*?[)\]]")


def is_spotify_id(value: object) -> bool:
    """True for a Spotify track id (22 base-62 characters)."""
    return isinstance(value, str) and SPOTIFY_ID.fullmatch(value) is not None


def spotify_id(value: object) -> str | None:
    """The Spotify track id in a bare id, an `https://open.spotify.com/track/<id>` link or a
    `spotify:track:<id>` URI; None for anything else (albums, other hosts, local files)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if SPOTIFY_ID.fullmatch(text):
        return text
    match = _LINK.fullmatch(text) or _URI.fullmatch(text)
    return match.group(1) if match else None


def spotify_link(track_id: str) -> str:
    """The song's page on Spotify."""
    return SPOTIFY_TRACK_LINK + track_id


def spotify_id_of(song: Mapping[str, Any]) -> str | None:
    """A song record's Spotify id: its `spotify_id`, else its Spotify link, else its own id."""
    for field in ("spotify_id", "spotify_url", "id", "source_id"):
        found = spotify_id(song.get(field))
        if found:
            return found
    return None


def normalise_isrc(value: object) -> str | None:
    """An ISRC in canonical form (upper case, no hyphens or spaces), or None when it is not one."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip().upper().replace("-", "").replace(" ", "")
    return text if ISRC.fullmatch(text) else None


def song_key(artist: str, title: str) -> str:
    """A stable id for a song no service names: a hash of its normalised "artist|title"."""
    norm = "|".join(
        _SPACES.sub(" ", unicodedata.normalize("NFC", s)).strip().casefold() for s in (artist, title)
    )
    return hashlib.sha1(norm.encode(), usedforsecurity=False).hexdigest()[:16]


def local_id(title: str, artists: list[str]) -> str:
    """The id of a Spotify local file (it has no Spotify id): stable across imports."""
    digest = hashlib.sha1(f"{title}|{'|'.join(artists)}".encode(), usedforsecurity=False).hexdigest()
    return "local:" + digest[:16]


def loose(text: str) -> str:
    """Text as compared when matching a song across services: case, punctuation and edition set aside."""
    folded = text.casefold()
    return _NOT_WORD.sub("", _ANY_EDITION.sub("", folded)) or _NOT_WORD.sub("", folded)


def bare_title(title: str) -> str:
    """A title without its edition tail or bracketed parts (for search queries); the title if nothing
    would be left."""
    return _ANY_EDITION.sub("", title) or title


# -- the record family ---------------------------------------------------------------------------------


class SongFields(SQLModel):
    """What a song is, wherever it is kept: in a listener's history, in an episode's soundtrack."""

    source_id: str = Field(max_length=255)  # the source's stable id (a Spotify id for Spotify songs)
    spotify_id: str | None = Field(default=None, max_length=22)  # whenever the song is known on Spotify
    title: str = Field(max_length=500)
    artists: list[str] = Field(default_factory=list, sa_type=JSON)
    album: str = Field(default="", max_length=500)
    image_url: str | None = Field(default=None, max_length=1000)
    spotify_url: str | None = Field(default=None, max_length=1000)


class TrackFields(SongFields):
    """A song as a source knows it, with what it was to the listener and its musical features."""

    release_year: int | None = None
    duration_ms: int | None = None
    explicit: bool = False
    isrc: str | None = Field(default=None, max_length=20)
    top_ranks: dict[str, int] = Field(default_factory=dict, sa_type=JSON)
    play_count: int = 0
    saved_at: datetime | None = None
    # {"tempo": {"value": 120.0, "source": "deezer"}, ...}; missing features are absent, never invented
    features: dict[str, Any] = Field(default_factory=dict, sa_type=JSON)

    def known_on_spotify(self, track_id: str | None) -> None:
        """Remember the song's Spotify id (and its link) once a source or a matcher has found it."""
        found = spotify_id(track_id)
        if found:
            self.spotify_id = found
            self.spotify_url = spotify_link(found)


class ImportedTrack(TrackFields):
    """One song as a source saw it, with what it was to the listener (merged across calls later)."""

    play_times: list[datetime] = Field(default_factory=list)
