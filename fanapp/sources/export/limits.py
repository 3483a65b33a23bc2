"""What every part of the export reader shares: the hard limits and the one error a visitor reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from fanapp.sources import SourceError

MB: Final = 1024 * 1024


class ExportError(SourceError):
    """The upload was refused; `message` says why, in words for the visitor. Nothing was kept."""


@dataclass(frozen=True)
class ExportLimits:
    """Hard limits on an upload. Spotify's exports are far below them (a few dozen files, tens of MB)."""

    max_upload_bytes: int = 200 * MB  # all uploaded files together, as uploaded (zips compressed)
    max_files: int = 50  # uploaded files plus zip members opened
    max_zip_entries: int = 200  # entries listed in one zip (Spotify's have a few dozen)
    max_member_bytes: int = 100 * MB  # one file, decompressed
    max_total_bytes: int = 500 * MB  # all JSON read, decompressed
    max_ratio: int = 100  # decompressed / compressed, for members over 1 MB (JSON is about 10:1)
    max_depth: int = 4  # JSON nesting: the array, an entry, and two levels inside it
    max_entry_bytes: int = 64 * 1024  # one entry of the array (a real one is under 1 KB)
    max_entry_brackets: int = 512  # "[" and "{" in one entry, in strings too (a real one has 1)
    max_entries: int = 2_000_000  # entries of all files together (8 years of heavy listening: 100,000)
    max_tracks: int = 500  # songs kept in the history, the most played first
    top_size: int = 50  # songs ranked per period
    plays_per_track: int = 50  # most recent play times kept per song
    recent_plays: int = 50  # the last plays overall, always kept


DEFAULT_LIMITS: Final = ExportLimits()
