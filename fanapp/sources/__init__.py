"""Where a listener's history comes from: each source turns its service's data into `History`."""

from __future__ import annotations

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from fanapp.errors import FanappError
from fanapp.tracks import ImportedTrack

__all__ = ["History", "HistorySource", "ImportedTrack", "Progress", "SourceError", "clean_text", "merge"]

Progress = Callable[[str], None]


@dataclass
class History:
    """What a source returned: the songs, who the listener is, and honest notes on what is missing."""

    tracks: list[ImportedTrack]
    external_id: str | None = None
    display_name: str = ""
    notes: list[str] = field(default_factory=list)


class SourceError(FanappError):
    """A source failed; `message` says what happened and what to do, in words for the visitor."""


class HistorySource(Protocol):
    """Anything that can fetch a listener's history once (Spotify, demo, Last.fm, an export)."""

    name: str

    def fetch(self, progress: Progress) -> History:
        """Fetch the whole history, reporting each step through `progress`."""
        ...


_CONTROL = dict.fromkeys(c for c in range(32) if c not in (9,))


def clean_text(value: Any, limit: int = 300) -> str:
    """Names from services and visitors: text only, no control characters, bounded length.

    Markup is left as it is (it is escaped on output, everywhere); this only keeps storage sane.
    """
    text = unicodedata.normalize("NFC", str(value or "")).translate(_CONTROL).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


def merge(tracks: list[ImportedTrack]) -> list[ImportedTrack]:
    """Deduplicate by id, keeping every signal (top ranks, plays, saved date) of each copy."""
    merged: dict[str, ImportedTrack] = {}
    for t in tracks:
        seen = merged.get(t.source_id)
        if seen is None:
            merged[t.source_id] = t
            continue
        for time_range, rank in t.top_ranks.items():
            seen.top_ranks[time_range] = min(rank, seen.top_ranks.get(time_range, rank))
        seen.play_times.extend(p for p in t.play_times if p not in seen.play_times)
        seen.play_count = max(seen.play_count, t.play_count, len(seen.play_times))
        seen.saved_at = seen.saved_at or t.saved_at
        if not seen.spotify_id and t.spotify_id:
            seen.known_on_spotify(t.spotify_id)
        for name, value in t.features.items():
            seen.features.setdefault(name, value)
    return list(merged.values())
