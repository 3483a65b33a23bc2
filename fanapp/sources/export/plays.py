"""From entries to plays, and from plays to a history: what a Spotify export says was listened to.

`read_entries` counts every entry of one file into `Plays` (one per export format) and `Counts`;
`build_result` ranks the songs per period and keeps the most loved ones as `ImportedTrack`s. Only the
time, the milliseconds played, the song's names and Spotify URI, and whether it is an episode or an
audiobook are ever read out of an entry: personal fields stay in the parser's dict.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import numpy as np

from fanapp.sources import History, ImportedTrack, clean_text
from fanapp.sources.export.limits import ExportError, ExportLimits
from fanapp.tracks import song_key, spotify_link

MIN_PLAY_MS: Final = 30_000
DAY: Final = 86_400

HISTORY, PODCASTS, VIDEOS = "history", "podcasts", "videos"  # what a file holds, by its name
NOTHING_FOUND: Final = (
    "We could not find Spotify streaming history in these files. Please upload the "
    "StreamingHistory_music_….json files of your account data, the Streaming_History_Audio_….json "
    "files of your extended streaming history, or the zip Spotify sent you."
)


@dataclass(frozen=True)
class ExportResult:
    """What an upload gave: the history and honest counts of what was kept and what was skipped."""

    history: History
    kind: str  # "extended", "account" or "extended+account"
    plays_kept: int
    songs: int  # distinct songs among the kept plays
    skipped_podcasts: int  # podcast episodes and audiobook chapters
    skipped_videos: int
    skipped_short: int  # music plays under 30 seconds
    skipped_malformed: int  # entries without a song, a time or a duration
    skipped_overlap: int  # account-data plays already in the extended history
    files_read: int
    files_skipped: int  # other files: not streaming history, duplicates, not JSON
    first_play: datetime | None = None
    last_play: datetime | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def summary(self) -> str:
        """One paragraph for the visitor: what was kept and what was skipped, with counts."""
        return self.notes[0] if self.notes else ""


# -- plays -----------------------------------------------------------------------------------------

_TRACK_URI: Final = re.compile(r"spotify:track:([0-9A-Za-z]{22})")
_EARLIEST: Final = datetime(2000, 1, 1, tzinfo=UTC).timestamp()
_LATEST: Final = datetime(2100, 1, 1, tzinfo=UTC).timestamp()


def _epoch(text: Any) -> int | None:
    """Seconds since 1970 for "2024-01-31T23:59:59Z" or "2024-01-31 23:59" (UTC), if plausible."""
    if not isinstance(text, str) or len(text) > 40:
        return None
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    seconds = when.timestamp()
    return int(seconds) if _EARLIEST <= seconds < _LATEST else None


class Plays:
    """Plays of one export format, compactly: a song index and a time per play, songs' names once."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}
        self.songs: list[tuple[str | None, str, str, str]] = []  # (spotify id, title, artist, album)
        self.times = array("q")
        self.song_of = array("q")

    def add(self, key: Any, when: int, spotify_id: str | None, title: str, artist: str, album: Any) -> None:
        i = self.index.get(key)
        if i is None:
            i = self.index[key] = len(self.songs)
            self.songs.append(
                (
                    spotify_id,
                    clean_text(title),
                    clean_text(artist, 200),
                    clean_text(album) if isinstance(album, str) else "",
                )
            )
        self.times.append(when)
        self.song_of.append(i)

    def absorb(self, other: Plays) -> None:
        """Add another file's plays (its songs matched to ours by key)."""
        if not other.songs:
            return
        remap = array("q")
        for key, i in other.index.items():
            j = self.index.get(key)
            if j is None:
                j = self.index[key] = len(self.songs)
                self.songs.append(other.songs[i])
            remap.append(j)
        # other.index is in insertion order, so remap[i] is song i's new index.
        self.times.extend(other.times)
        if remap.tolist() == list(range(len(remap))):
            self.song_of.extend(other.song_of)
        else:
            mapped = np.frombuffer(remap, dtype=np.int64)[np.frombuffer(other.song_of, dtype=np.int64)]
            self.song_of.frombytes(mapped.astype(np.int64).tobytes())


@dataclass
class Counts:
    kept_extended: int = 0
    kept_account: int = 0
    podcasts: int = 0
    videos: int = 0
    short: int = 0
    malformed: int = 0
    files_read: int = 0
    files_skipped: int = 0

    def absorb(self, other: Counts) -> None:
        """Add another file's counts."""
        for name in ("kept_extended", "kept_account", "podcasts", "videos", "short", "malformed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _play(counts: Counts, ms: Any, when: int | None, title: Any, artist: Any) -> tuple[int, str, str] | None:
    """(time, title, artist) if it is a real song play of 30 s or more, else None with the reason counted.

    Both export formats check the same things; only their field names differ.
    """
    if type(ms) is not int or when is None or not isinstance(title, str) or not isinstance(artist, str):
        counts.malformed += 1
        return None
    if ms < MIN_PLAY_MS:
        counts.short += 1
        return None
    if not title.strip() or not artist.strip():
        counts.malformed += 1
        return None
    return when, title, artist


def read_entries(
    entries: Iterator[Any], kind: str, extended: Plays, account: Plays, counts: Counts, *, named: bool
) -> bool:
    """Count every entry of one file into `extended` or `account`; False if it is not history at all.

    Only these fields are ever read: the time, the milliseconds played, the song's names and Spotify
    URI, and whether it is an episode or audiobook. Personal fields stay in the decoder's dict.
    """
    first = True
    for entry in entries:
        if kind == VIDEOS:
            counts.videos += 1
            continue
        if not isinstance(entry, dict):
            if first and not named:
                return False
            counts.malformed += 1
            first = False
            continue
        get = entry.get
        if "ts" in entry or "ms_played" in entry:  # extended history
            first = False
            if (
                get("episode_name")
                or get("spotify_episode_uri")
                or get("audiobook_title")
                or get("audiobook_uri")
                or get("audiobook_chapter_uri")
                or kind == PODCASTS
            ):
                counts.podcasts += 1
                continue
            title, artist = get("master_metadata_track_name"), get("master_metadata_album_artist_name")
            play = _play(counts, get("ms_played"), _epoch(get("ts")), title, artist)
            if play is None:
                continue
            when, title, artist = play
            uri = get("spotify_track_uri")
            match = _TRACK_URI.fullmatch(uri) if isinstance(uri, str) else None
            spotify_id = match.group(1) if match else None
            key = spotify_id or (artist, title)
            extended.add(key, when, spotify_id, title, artist, get("master_metadata_album_album_name"))
            counts.kept_extended += 1
        elif "endTime" in entry or "msPlayed" in entry:  # account data
            first = False
            if "podcastName" in entry or "episodeName" in entry or kind == PODCASTS:
                counts.podcasts += 1
                continue
            title, artist = get("trackName"), get("artistName")
            if (artist, title) == ("Unknown Artist", "Unknown Track"):  # the account export's blanks
                title = ""
            play = _play(counts, get("msPlayed"), _epoch(get("endTime")), title, artist)
            if play is None:
                continue
            when, title, artist = play
            account.add((artist, title), when, None, title, artist, None)
            counts.kept_account += 1
        else:
            if first and not named:
                return False  # some other list (search queries, playlists...): not listening history
            first = False
            counts.malformed += 1
    return True


# -- from plays to a history -----------------------------------------------------------------------


def _day(seconds: int) -> str:
    when = datetime.fromtimestamp(seconds, UTC)
    return f"{when.day} {when:%b %Y}"


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def build_result(extended: Plays, account: Plays, counts: Counts, limits: ExportLimits) -> ExportResult:
    """Rank the songs per period, keep the most loved ones with their latest play times."""
    # One group per song, whatever the format: by normalised artist and title. A song's Spotify id
    # is its most played one (a single and its album version have different ids).
    ext_songs = (
        np.frombuffer(extended.song_of, dtype=np.int64) if len(extended.song_of) else np.zeros(0, np.int64)
    )
    acc_songs = (
        np.frombuffer(account.song_of, dtype=np.int64) if len(account.song_of) else np.zeros(0, np.int64)
    )
    ext_times = (
        np.frombuffer(extended.times, dtype=np.int64) if len(extended.times) else np.zeros(0, np.int64)
    )
    acc_times = np.frombuffer(account.times, dtype=np.int64) if len(account.times) else np.zeros(0, np.int64)

    # Both exports uploaded: the extended history already holds the account data's year, so account
    # plays count only after the extended history ends.
    overlap = 0
    if len(ext_times) and len(acc_times):
        newer = acc_times > ext_times.max()
        overlap = int(len(acc_times) - newer.sum())
        acc_times, acc_songs = acc_times[newer], acc_songs[newer]

    group_of: dict[str, int] = {}
    meta: list[tuple[str, str, str]] = []  # (title, artist, album) of each group
    best_id: list[tuple[int, str] | None] = []

    def groups(plays: Plays, song_plays: Any) -> Any:
        per_song = (
            np.bincount(song_plays, minlength=len(plays.songs)) if len(plays.songs) else np.zeros(0, np.int64)
        )
        mapping = np.zeros(len(plays.songs), dtype=np.int64)
        for i, (spotify_id, title, artist, album) in enumerate(plays.songs):
            plays_i = int(per_song[i])
            if not plays_i:
                continue  # only played before the extended history ends: counted as overlap
            key = song_key(artist, title)
            g = group_of.get(key)
            if g is None:
                g = group_of[key] = len(meta)
                meta.append((title, artist, album))
                best_id.append(None)
            mapping[i] = g
            current = best_id[g]
            if spotify_id and (current is None or (plays_i, spotify_id) > current):
                best_id[g] = (plays_i, spotify_id)
            if album and not meta[g][2]:
                meta[g] = (meta[g][0], meta[g][1], album)
        return mapping

    ext_map = groups(extended, ext_songs)
    acc_map = groups(account, acc_songs)
    times = np.concatenate([ext_times, acc_times])
    songs = np.concatenate([ext_map[ext_songs], acc_map[acc_songs]]).astype(np.int64)
    kind = "+".join(k for k, n in (("extended", len(ext_times)), ("account", len(acc_times))) if n) or "none"

    if not len(times):
        if not counts.files_read:
            raise ExportError(NOTHING_FOUND)
        raise ExportError(
            "We read your streaming history but found no music plays of 30 seconds or more in it "
            f"({_skipped_text(counts) or 'it is empty'}), so there is nothing to build an episode from."
        )

    n = len(meta)
    last = int(times.max())
    first = int(times.min())
    all_time = np.bincount(songs, minlength=n)
    last_play = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_play, songs, times)

    ranks: dict[int, dict[str, int]] = {}
    for time_range, since in (
        ("short_term", last - 28 * DAY),
        ("medium_term", last - 182 * DAY),
        ("long_term", None),
    ):
        played = all_time if since is None else np.bincount(songs[times > since], minlength=n)
        order = np.lexsort((-last_play, -played))  # most played, then most recently played
        for rank, g in enumerate(order[: limits.top_size].tolist(), start=1):
            if played[g] == 0:
                break
            ranks.setdefault(g, {})[time_range] = rank

    recent = songs[np.argsort(times, kind="stable")[-limits.recent_plays :]]
    kept: list[int] = list(dict.fromkeys([*ranks, *recent.tolist()[::-1]]))
    if len(kept) < limits.max_tracks:
        chosen = set(kept)
        for g in np.lexsort((-last_play, -all_time)).tolist():
            if len(kept) >= limits.max_tracks:
                break
            if g not in chosen:
                kept.append(g)
    kept = kept[: max(limits.max_tracks, 1)]

    by_song = np.lexsort((-times, songs))  # grouped by song, newest play first
    sorted_songs = songs[by_song]
    starts = np.searchsorted(sorted_songs, np.array(kept, dtype=np.int64), side="left")
    tracks: list[ImportedTrack] = []
    for g, start in zip(kept, starts.tolist(), strict=True):
        title, artist, album = meta[g]
        count = int(all_time[g])
        latest = times[by_song[start : start + min(count, limits.plays_per_track)]]
        spotify = best_id[g]
        spotify_id = spotify[1] if spotify else None
        tracks.append(
            ImportedTrack(
                source_id=spotify_id or "export:" + song_key(artist, title),
                spotify_id=spotify_id,
                title=title,
                artists=[artist],
                album=album,
                spotify_url=spotify_link(spotify_id) if spotify_id else None,
                top_ranks=ranks.get(g, {}),
                play_times=[datetime.fromtimestamp(int(t), UTC) for t in sorted(latest.tolist())],
                play_count=count,
            )
        )
    tracks.sort(key=lambda t: (-t.play_count, t.source_id))

    kept_plays = len(times)
    summary = (
        f"We kept {_n(kept_plays, 'music play')} of {_n(n, 'song')} ({_day(first)} to {_day(last)}) "
        f"from {_n(counts.files_read, 'file')}."
    )
    if skipped := _skipped_text(counts, overlap):
        summary += f" We skipped {skipped}."
    if counts.files_skipped:
        summary += (
            f" {_n(counts.files_skipped, 'other file')} "
            f"{'was' if counts.files_skipped == 1 else 'were'} not listening history and "
            f"{'was' if counts.files_skipped == 1 else 'were'} left out."
        )
    notes = [
        summary,
        f"Your top songs are counted back from your last play on {_day(last)}: the last 4 weeks, the last "
        "6 months and all time. Play times are in UTC, as Spotify records them.",
    ]
    if n > len(tracks):
        notes.append(f"The episode draws on your {len(tracks):,} most played and most recent songs.")
    return ExportResult(
        history=History(tracks=tracks, notes=list(notes)),
        kind=kind,
        plays_kept=kept_plays,
        songs=n,
        skipped_podcasts=counts.podcasts,
        skipped_videos=counts.videos,
        skipped_short=counts.short,
        skipped_malformed=counts.malformed,
        skipped_overlap=overlap,
        files_read=counts.files_read,
        files_skipped=counts.files_skipped,
        first_play=datetime.fromtimestamp(first, UTC),
        last_play=datetime.fromtimestamp(last, UTC),
        notes=tuple(notes),
    )


def _skipped_text(counts: Counts, overlap: int = 0) -> str:
    parts = [
        _n(counts.podcasts, "podcast or audiobook play") if counts.podcasts else "",
        _n(counts.videos, "video play") if counts.videos else "",
        _n(counts.short, "play") + " under 30 seconds" if counts.short else "",
        _n(counts.malformed, "entry", "entries") + " without a song or time" if counts.malformed else "",
        _n(overlap, "account-data play") + " already in your extended history" if overlap else "",
    ]
    parts = [p for p in parts if p]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)
