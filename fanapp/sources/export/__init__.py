"""Spotify data-export uploads: the account data export and the extended streaming history.

A visitor uploads the files Spotify e-mails on request, loose or zipped:

* account data: ``StreamingHistory_music_N.json`` (older: ``StreamingHistoryN.json``), a JSON array of
  ``{"endTime": "2024-01-31 23:59", "artistName", "trackName", "msPlayed"}``; podcasts come in
  ``StreamingHistory_podcast_N.json``;
* extended history: ``Streaming_History_Audio_YYYY-YYYY_N.json`` (older: ``endsong_N.json``), a JSON
  array of ``{"ts": "2024-01-31T23:59:59Z", "ms_played", "master_metadata_track_name",
  "master_metadata_album_artist_name", "master_metadata_album_album_name", "spotify_track_uri",
  "episode_name", ..., "ip_addr", "conn_country", "platform", ...}``; videos come in
  ``Streaming_History_Video_*.json``.

Everything is read in memory, streaming, under hard limits (`ExportLimits`), and all or nothing:
`parse_upload` either returns a complete `ExportResult` or raises `ExportError` with a message for the
visitor. Personal fields (IP address, user agent, country, platform, username) are never copied out
of the parser's dict: only the song, the time and the milliseconds played are read.

The parts, in the order an upload goes through them:

* `upload`: files and zips, the byte and file budgets, duplicates;
* `reader`: one JSON array, entry by entry, with ijson, under the per-file limits;
* `plays`: entries into plays, plays into the ranked history of `ImportedTrack`s;
* `limits`: `ExportLimits` and `ExportError`, which all of them share.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import BinaryIO

from fanapp.sources import History, Progress
from fanapp.sources.export.limits import DEFAULT_LIMITS, MB, ExportError, ExportLimits
from fanapp.sources.export.plays import ExportResult, build_result
from fanapp.sources.export.upload import read_files

__all__ = [
    "DEFAULT_LIMITS",
    "MB",
    "ExportError",
    "ExportLimits",
    "ExportResult",
    "ExportSource",
    "parse_upload",
]


def parse_upload(
    files: Iterable[tuple[str, BinaryIO]], *, limits: ExportLimits = DEFAULT_LIMITS
) -> ExportResult:
    """Read uploaded export files (each a .json or a .zip) into a history, all or nothing.

    `files` are (file name as uploaded, binary stream) pairs, e.g. from `request.files.getlist(...)`.
    Raises `ExportError` with a message for the visitor for anything refused: nothing is returned
    (or kept) from a refused upload. Time and memory are bounded by `limits`.
    """
    upload = read_files(files, limits)
    return build_result(upload.extended, upload.account, upload.counts, limits)


class ExportSource:
    """A `HistorySource` over an upload already read by `parse_upload` (so the fetch cannot fail)."""

    name = "export"

    def __init__(self, result: ExportResult) -> None:
        self.result = result

    def fetch(self, progress: Progress) -> History:
        """The parsed history, with notes on what was kept and skipped."""
        progress("Reading your Spotify data export")
        history = self.result.history
        return History(tracks=list(history.tracks), notes=list(self.result.notes))
