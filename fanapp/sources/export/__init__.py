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

Everything is read streaming, under hard limits (`ExportLimits`), and all or nothing:
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

import time
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import BinaryIO, Protocol

from fanapp.sources import History, ImportedTrack, Progress
from fanapp.sources.export.limits import DEFAULT_LIMITS, MB, ExportError, ExportLimits
from fanapp.sources.export.plays import ExportResult, build_result
from fanapp.sources.export.upload import Report, check_files, read_files
from fanapp.words import count

__all__ = [
    "DEFAULT_LIMITS",
    "MB",
    "ExportError",
    "ExportFilesSource",
    "ExportLimits",
    "ExportResult",
    "check_files",
    "parse_upload",
]


def parse_upload(
    files: Iterable[tuple[str, BinaryIO]],
    *,
    limits: ExportLimits = DEFAULT_LIMITS,
    report: Report | None = None,
) -> ExportResult:
    """Read uploaded export files (each a .json or a .zip) into a history, all or nothing.

    `files` are (file name as uploaded, binary stream) pairs, e.g. from `request.files.getlist(...)`.
    Raises `ExportError` with a message for the visitor for anything refused: nothing is returned
    (or kept) from a refused upload. Time and memory are bounded by `limits`. `report`, if given, is
    told (entries read, songs found) every 2 MB of JSON and after each file.
    """
    upload = read_files(files, limits, report)
    return build_result(upload.extended, upload.account, upload.counts, limits)


class Matcher(Protocol):
    """Finds songs without a Spotify id on Spotify (`sources.spotify.matching.SpotifyMatcher`)."""

    def match(self, tracks: Iterable[ImportedTrack]) -> list[str]:
        """Fill in what was found; returns notes for the visitor."""
        ...


REPORT_SECONDS = 0.5  # at most this often a progress stage, so the import's row is not written per MB


class ExportFilesSource:
    """A `HistorySource` over uploaded export files on disk, parsed when the import job runs.

    The account data export names songs but gives no Spotify ids: those songs are looked up with
    `matcher` (the app's own Spotify token) when there is one, and a note says how many are left
    without a player.
    """

    name = "export"

    def __init__(
        self,
        files: Sequence[tuple[str, Path]],
        *,
        matcher: Matcher | None = None,
        limits: ExportLimits = DEFAULT_LIMITS,
    ) -> None:
        self.files = list(files)
        self.matcher = matcher
        self.limits = limits

    def fetch(self, progress: Progress) -> History:
        """Parse the files (telling `progress` the plays read and songs found), then match songs."""
        progress("Reading your Spotify data export")
        last = 0.0

        def report(entries: int, songs: int) -> None:
            nonlocal last
            now = time.monotonic()
            if now - last >= REPORT_SECONDS:
                last = now
                plays, found = count(entries, "play"), count(songs, "song")
                progress(f"Reading your Spotify data export: {plays} read, {found} found")

        with ExitStack() as stack:
            streams = [(name, stack.enter_context(path.open("rb"))) for name, path in self.files]
            result = parse_upload(streams, limits=self.limits, report=report)
        history = result.history
        tracks = list(history.tracks)
        notes = list(result.notes)
        unknown = [t for t in tracks if not t.spotify_id]
        if unknown:
            if self.matcher is not None:
                progress(f"Finding {count(len(unknown), 'song')} on Spotify")
                notes.extend(self.matcher.match(unknown))
            left = sum(1 for t in unknown if not t.spotify_id)
            if left:
                notes.append(
                    f"{left:,} of your {count(len(tracks), 'song')} could not be matched to Spotify "
                    "(Spotify's account data names songs without their Spotify ids), "
                    "so they have no player here."
                )
        return History(tracks=tracks, notes=notes)
