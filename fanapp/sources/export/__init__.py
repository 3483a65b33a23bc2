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
of the decoder's dict: only the song, the time and the milliseconds played are read.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
import struct
import tempfile
import zipfile
import zlib
from array import array
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any, BinaryIO, Final

import numpy as np

from fanapp.sources import History, ImportedTrack, Progress, SourceError, clean_text
from fanapp.tracks import song_key

MB: Final = 1024 * 1024
CHUNK: Final = 1 * MB
MIN_PLAY_MS: Final = 30_000
DAY: Final = 86_400


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
    max_tracks: int = 500  # songs kept in the history, the most played first
    top_size: int = 50  # songs ranked per period
    plays_per_track: int = 50  # most recent play times kept per song
    recent_plays: int = 50  # the last plays overall, always kept


DEFAULT_LIMITS: Final = ExportLimits()


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


# -- file names ------------------------------------------------------------------------------------

_COPY = r"(?:\s*\(\d+\))?"  # "name (1).json" after a second download
_EXTENDED = re.compile(rf"(?:streaming_history_audio_.*|endsong_\d+){_COPY}\.json", re.IGNORECASE)
_EXTENDED_VIDEO = re.compile(rf"streaming_history_video_.*{_COPY}\.json", re.IGNORECASE)
_ACCOUNT = re.compile(rf"streaminghistory(?:_music)?_?\d+{_COPY}\.json", re.IGNORECASE)
_ACCOUNT_PODCAST = re.compile(rf"streaminghistory_podcast_?\d+{_COPY}\.json", re.IGNORECASE)
_ACCOUNT_VIDEO = re.compile(rf"streaminghistory_video_?\d+{_COPY}\.json", re.IGNORECASE)

HISTORY, PODCASTS, VIDEOS = "history", "podcasts", "videos"


def _file_kind(name: str) -> str | None:
    """What a file holds, by its name: history, podcasts, videos, or None for anything else."""
    base = name.rsplit("/", 1)[-1]
    if base.startswith("._"):  # macOS resource forks (__MACOSX/._x.json) are not JSON
        return None
    if _EXTENDED.fullmatch(base) or _ACCOUNT.fullmatch(base):
        return HISTORY
    if _ACCOUNT_PODCAST.fullmatch(base):
        return PODCASTS
    if _EXTENDED_VIDEO.fullmatch(base) or _ACCOUNT_VIDEO.fullmatch(base):
        return VIDEOS
    return None


def _shown(name: str) -> str:
    """A file name fit for a message: the last part, cleaned and short (escaped on output anyway)."""
    return "“" + clean_text(name.replace("\\", "/").rsplit("/", 1)[-1], 80) + "”"


# -- the incremental JSON reader -------------------------------------------------------------------

_WS: Final = re.compile(r"[ \t\n\r]*")
_NUMBER_TAIL: Final = re.compile(r"[0-9.eE+-]*\Z")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


_DECODER: Final = json.JSONDecoder(parse_constant=_no_constant)
_MAGIC: Final = (
    (b"\x89PNG", "an image (PNG)"),
    (b"\xff\xd8\xff", "an image (JPEG)"),
    (b"GIF8", "an image (GIF)"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"PK\x03\x04", "a zip archive"),
)


def _depth(value: Any, limit: int) -> bool:
    """Whether `value` nests no deeper than `limit` levels (an object of scalars is 1)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return False
        if isinstance(item, dict):
            stack.extend((v, depth + 1) for v in item.values() if isinstance(v, dict | list))
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item if isinstance(v, dict | list))
    return True


class _Budget:
    """Bytes and files read so far, against the limits."""

    def __init__(self, limits: ExportLimits) -> None:
        self.limits = limits
        self.uploaded = 0
        self.decompressed = 0
        self.files = 0

    def add_file(self) -> None:
        self.files += 1
        if self.files > self.limits.max_files:
            raise ExportError(
                f"That is too many files: we read at most {self.limits.max_files}. Please upload only "
                "the StreamingHistory or Streaming_History_Audio files, or Spotify's zip as it came."
            )

    def add_upload(self, size: int) -> None:
        self.uploaded += size
        if self.uploaded > self.limits.max_upload_bytes:
            raise ExportError(
                f"The upload is too big: we accept up to {self.limits.max_upload_bytes // MB} MB in all. "
                "Please upload only your streaming history files."
            )

    def add_json(self, size: int) -> None:
        self.decompressed += size
        if self.decompressed > self.limits.max_total_bytes:
            raise ExportError(
                f"These files unpack to more than {self.limits.max_total_bytes // MB} MB, far more than "
                "any Spotify export. Nothing was kept."
            )


class _NotAList(Exception):
    """The document is a JSON object, not a list: some other file of the export."""


def _read_json_array(
    read: Callable[[int], bytes], label: str, limits: ExportLimits, budget: _Budget
) -> Iterator[Any]:
    """Yield the elements of the JSON array in a byte stream, one at a time, in bounded memory.

    Why not `json.load`: a 40 MB history file would become a list of 100,000 dicts at once (several
    hundred MB), and a hostile file could be far bigger. ijson is not a dependency, so this reads
    1 MB chunks, decodes UTF-8 incrementally, and hands each element to `JSONDecoder.raw_decode`;
    an element cut by a chunk boundary is retried once the next chunk is in. Each element is capped
    (`max_entry_bytes`) and so is nesting (`max_depth`, counting the array), so the buffer holds at
    most one chunk plus one element. Raises `_NotAList` if the document is a JSON object (some other
    file of the export) and ExportError for anything that is not valid JSON within the limits.
    """
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    buf = ""
    pos = 0
    eof = False
    total = 0

    def more() -> None:
        nonlocal buf, pos, eof, total
        data = read(CHUNK)
        if not total:
            what = next((name for magic, name in _MAGIC if data.startswith(magic)), None)
            if what is not None:
                raise ExportError(f"{label} is {what}, not a Spotify history JSON file. Nothing was kept.")
        total += len(data)
        budget.add_json(len(data))
        if total > limits.max_member_bytes:
            raise ExportError(
                f"{label} is larger than {limits.max_member_bytes // MB} MB, far more than any Spotify "
                "history file. Nothing was kept."
            )
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError:
            raise ExportError(
                f"{label} is not a text file, so it cannot be Spotify history. Nothing was kept."
            ) from None
        buf = buf[pos:] + text
        pos = 0
        eof = not data

    def refuse(why: str) -> ExportError:
        return ExportError(f"{label} is not valid JSON ({why}), so nothing was kept. {_UNCHANGED}")

    # The first character says what the file is: a list, an object, or not JSON at all.
    more()
    while not (head := buf.lstrip(" \t\r\n")) and not eof:
        buf = ""
        more()
    if not head:
        raise ExportError(f"{label} is empty. Nothing was kept.")
    if head[0] == "{":
        raise _NotAList
    if head[0] != "[":
        raise ExportError(f"{label} is not a JSON list, so it cannot be Spotify history. Nothing was kept.")
    buf = head
    pos = 1

    expect_element = True  # after "[" or ","; the first time "]" is allowed too
    first = True
    max_inner = limits.max_depth - 1
    while True:
        pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
        if pos >= len(buf):
            if eof:
                raise refuse("it ends too early")
            more()
            continue
        char = buf[pos]
        if not expect_element:
            if char == ",":
                pos += 1
                expect_element = True
                continue
            if char == "]":
                break
            raise refuse("a comma is missing between entries")
        if char == "]" and first:
            break
        failure = ""
        where, what = 0, ""
        try:
            value, end = _DECODER.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            # Not raised from here: the exception holds the whole buffer (`exc.doc`), so it must not
            # travel on as a cause or context; only the position and message are kept.
            failure, where, what = "syntax", exc.pos, exc.msg
        except RecursionError:
            failure = "depth"
        except ValueError:  # NaN, Infinity: Python accepts them, JSON does not
            failure = "syntax"
        if failure == "depth":
            raise refuse(f"it nests deeper than {limits.max_depth} levels")
        if failure:
            if not eof and len(buf) - pos <= limits.max_entry_bytes:
                more()  # probably an entry cut by the chunk boundary: read on and try again
                continue
            cut = what.startswith("Unterminated") or where >= len(buf.rstrip(" \t\r\n"))
            if (cut and not eof) or where - pos > limits.max_entry_bytes:
                raise refuse(f"an entry is larger than {limits.max_entry_bytes // 1024} KB")
            raise refuse("it ends too early" if cut else "there is a syntax error")
        if not eof and (end == len(buf) or (type(value) in (int, float) and _NUMBER_TAIL.match(buf, end))):
            more()  # a number at the very end ("1." of "1.5") may go on in the next chunk
            continue
        if end - pos > limits.max_entry_bytes:
            raise refuse(f"an entry is larger than {limits.max_entry_bytes // 1024} KB")
        if (buf.count("{", pos, end) + buf.count("[", pos, end) > max_inner) and not _depth(value, max_inner):
            raise refuse(f"it nests deeper than {limits.max_depth} levels")
        pos = end
        expect_element = first = False
        yield value

    # Only whitespace may follow the closing bracket.
    pos += 1
    while True:
        pos = _WS.match(buf, pos).end()  # type: ignore[union-attr]
        if pos < len(buf):
            raise refuse("there is more after the end of the list")
        if eof:
            return
        more()


_UNCHANGED: Final = "Please upload the files exactly as Spotify sent them."


# -- plays -----------------------------------------------------------------------------------------

_TRACK_URI: Final = re.compile(r"spotify:track:([0-9A-Za-z]{22})")
_SPACES: Final = re.compile(r"\s+")
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


class _Plays:
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

    def absorb(self, other: _Plays) -> None:
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
class _Counts:
    kept_extended: int = 0
    kept_account: int = 0
    podcasts: int = 0
    videos: int = 0
    short: int = 0
    malformed: int = 0
    files_read: int = 0
    files_skipped: int = 0

    def absorb(self, other: _Counts) -> None:
        """Add another file's counts."""
        for name in ("kept_extended", "kept_account", "podcasts", "videos", "short", "malformed"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _play(counts: _Counts, ms: Any, when: int | None, title: Any, artist: Any) -> tuple[int, str, str] | None:
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


def _read_entries(
    entries: Iterator[Any], kind: str, extended: _Plays, account: _Plays, counts: _Counts, *, named: bool
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


# -- uploads and zips ------------------------------------------------------------------------------

_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")
_NOTHING_FOUND: Final = (
    "We could not find Spotify streaming history in these files. Please upload the "
    "StreamingHistory_music_….json files of your account data, the Streaming_History_Audio_….json "
    "files of your extended streaming history, or the zip Spotify sent you."
)


def _safe_member_name(name: str) -> bool:
    """No absolute paths, drive letters, backslashes, ".." parts or control characters."""
    if not name or len(name) > 400 or "\\" in name or name.startswith("/") or re.match(r"[A-Za-z]:", name):
        return False
    if any(ord(c) < 32 for c in name):
        return False
    return ".." not in name.split("/")


def _check_zip_directory(stream: IO[bytes], limits: ExportLimits) -> None:
    """Refuse a zip that lists too many entries before zipfile parses the list.

    zipfile builds a ZipInfo for every entry listed, and a hostile zip can list millions; the
    end-of-central-directory record at the end of the file says how many there are and how long the
    list is, so the check costs one small read.
    """
    stream.seek(0, 2)
    size = stream.tell()
    tail_size = min(size, 22 + 65535)
    stream.seek(size - tail_size)
    tail = stream.read(tail_size)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        raise ExportError("This zip file is damaged or incomplete. Please download it from Spotify again.")
    entries, directory = struct.unpack("<HI", tail[at + 10 : at + 16])
    if entries > limits.max_zip_entries or entries == 0xFFFF or directory > limits.max_zip_entries * 1024:
        raise ExportError(
            f"This zip holds too many files (we accept up to {limits.max_zip_entries}; Spotify's export "
            "has a few dozen). Nothing was kept."
        )
    stream.seek(0)


class _Upload:
    """The state of one `parse_upload` call: limits spent, plays so far, counts so far."""

    def __init__(self, limits: ExportLimits) -> None:
        self.limits = limits
        self.budget = _Budget(limits)
        self.extended = _Plays()
        self.account = _Plays()
        self.counts = _Counts()
        self.seen: set[bytes] = set()

    def add(self, name: str, stream: BinaryIO) -> None:
        """One uploaded file: a zip (by its first bytes, whatever its name) or a JSON file."""
        name = name.replace("\\", "/")[-400:]  # some browsers send a Windows path
        label = _shown(name)
        self.budget.add_file()
        start = stream.tell() if stream.seekable() else None
        head = stream.read(4)
        if head in _ZIP_MAGIC:
            self._add_zip(stream, start, head, label)
            return
        if not name.lower().endswith(".json") and _file_kind(name) is None:
            self.budget.add_upload(len(head))
            self.counts.files_skipped += 1  # a PDF, an image...: not something Spotify's history comes in
            return
        pending = [head]

        def read(size: int) -> bytes:
            data = pending.pop() if pending else stream.read(size)
            self.budget.add_upload(len(data))
            return data

        self._add_json(read, label, _file_kind(name) or HISTORY, named=_file_kind(name) is not None)

    def _add_zip(self, stream: BinaryIO, start: int | None, head: bytes, label: str) -> None:
        if start == 0:
            zipped: IO[bytes] = stream
        else:  # not seekable or not at its start: copy it (still compressed), within the upload limit
            zipped = tempfile.SpooledTemporaryFile(max_size=8 * MB)  # noqa: SIM115 - closed below
            zipped.write(head)
            while data := stream.read(CHUNK):
                zipped.write(data)
                if self.budget.uploaded + zipped.tell() > self.limits.max_upload_bytes:
                    zipped.close()
                    self.budget.add_upload(self.limits.max_upload_bytes + 1)  # raises
        try:
            zipped.seek(0, 2)
            self.budget.add_upload(zipped.tell())
            _check_zip_directory(zipped, self.limits)
            with zipfile.ZipFile(zipped) as archive:
                for info, kind in self._zip_members(archive, label):
                    self.budget.add_file()
                    member_label = f"{_shown(info.filename)} (in {label})"
                    with archive.open(info) as member:
                        self._add_json(
                            _Counted(member, info.file_size, member_label, self.limits).read,
                            member_label,
                            kind,
                            named=True,
                        )
        finally:
            if zipped is not stream:
                zipped.close()

    def _zip_members(self, archive: zipfile.ZipFile, label: str) -> list[tuple[zipfile.ZipInfo, str]]:
        """The history members to read, after checking every entry's name and declared sizes."""
        limits = self.limits
        infos = archive.infolist()
        if len(infos) > limits.max_zip_entries:
            raise ExportError(f"{label} holds too many files (we accept up to {limits.max_zip_entries}).")
        for info in infos:
            if not _safe_member_name(info.filename) or not _safe_member_name(info.orig_filename):
                raise ExportError(
                    f"{label} contains a file with an unsafe name (a path outside the archive), so it is "
                    "not a Spotify export. Nothing was kept."
                )
        wanted: list[tuple[zipfile.ZipInfo, str]] = []
        for info in infos:
            if info.is_dir():
                continue
            kind = _file_kind(info.filename)
            if kind is None:
                self.counts.files_skipped += 1  # the rest of the export: user data, playlists, a PDF...
                continue
            shown = _shown(info.filename)
            if info.flag_bits & 0x1:
                raise ExportError(
                    f"{shown} in {label} is password-protected. Please upload Spotify's zip as it came."
                )
            if info.file_size > limits.max_member_bytes:
                raise ExportError(
                    f"{shown} in {label} unpacks to more than {limits.max_member_bytes // MB} MB, far more "
                    "than any Spotify history file. Nothing was kept."
                )
            if info.file_size > MB and info.file_size > limits.max_ratio * max(info.compress_size, 1):
                raise ExportError(
                    f"{shown} in {label} is compressed suspiciously well, like a zip bomb. Nothing was kept."
                )
            wanted.append((info, kind))
        if sum(info.file_size for info, _ in wanted) + self.budget.decompressed > limits.max_total_bytes:
            raise ExportError(
                f"{label} unpacks to more than {limits.max_total_bytes // MB} MB of history, far more than "
                "any Spotify export. Nothing was kept."
            )
        return wanted

    def _add_json(self, read: Callable[[int], bytes], label: str, kind: str, *, named: bool) -> None:
        """Read one JSON file into its own plays and counts, then keep them unless it is a duplicate."""
        digest = hashlib.sha1(usedforsecurity=False)

        def hashed(size: int) -> bytes:
            data = read(size)
            digest.update(data)
            return data

        extended, account, counts = _Plays(), _Plays(), _Counts()
        try:
            is_history = _read_entries(
                _read_json_array(hashed, label, self.limits, self.budget),
                kind,
                extended,
                account,
                counts,
                named=named,
            )
        except _NotAList:
            is_history = False
        if not is_history or digest.digest() in self.seen:
            self.counts.files_skipped += 1  # not listening history, or the same file twice
            return
        self.seen.add(digest.digest())
        self.extended.absorb(extended)
        self.account.absorb(account)
        self.counts.absorb(counts)
        self.counts.files_read += 1


class _Counted:
    """A zip member's bytes, counted as they are decompressed: headers can lie about sizes."""

    def __init__(self, member: IO[bytes], declared: int, label: str, limits: ExportLimits) -> None:
        self.member = member
        self.cap = min(declared, limits.max_member_bytes)
        self.label = label
        self.total = 0

    def read(self, size: int) -> bytes:
        data = self.member.read(size)
        self.total += len(data)
        if self.total > self.cap:
            raise ExportError(
                f"{self.label} unpacks to more than it says, like a zip bomb. Nothing was kept."
            )
        return data


def parse_upload(
    files: Iterable[tuple[str, BinaryIO]], *, limits: ExportLimits = DEFAULT_LIMITS
) -> ExportResult:
    """Read uploaded export files (each a .json or a .zip) into a history, all or nothing.

    `files` are (file name as uploaded, binary stream) pairs, e.g. from `request.files.getlist(...)`.
    Raises `ExportError` with a message for the visitor for anything refused: nothing is returned
    (or kept) from a refused upload. Time and memory are bounded by `limits`.
    """
    upload = _Upload(limits)
    try:
        for name, stream in files:
            upload.add(str(name or "upload"), stream)
    except ExportError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, struct.error) as exc:
        raise ExportError(
            "A zip file in the upload is damaged, so nothing was kept. Please download it from Spotify again."
        ) from exc
    except NotImplementedError as exc:  # a compression method zipfile cannot read
        raise ExportError("A zip file in the upload uses a format we cannot read. Nothing was kept.") from exc
    except (OSError, ValueError, RuntimeError) as exc:
        raise ExportError("We could not read the upload, so nothing was kept. Please try again.") from exc
    return _result(upload.extended, upload.account, upload.counts, limits)


# -- from plays to a history -----------------------------------------------------------------------


def _day(seconds: int) -> str:
    when = datetime.fromtimestamp(seconds, UTC)
    return f"{when.day} {when:%b %Y}"


def _n(count: int, one: str, many: str | None = None) -> str:
    return f"{count:,} {one if count == 1 else many or one + 's'}"


def _result(extended: _Plays, account: _Plays, counts: _Counts, limits: ExportLimits) -> ExportResult:
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

    def groups(plays: _Plays, song_plays: Any) -> Any:
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
            raise ExportError(_NOTHING_FOUND)
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
                title=title,
                artists=[artist],
                album=album,
                spotify_url=f"https://open.spotify.com/track/{spotify_id}" if spotify_id else None,
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


def _skipped_text(counts: _Counts, overlap: int = 0) -> str:
    parts = [
        _n(counts.podcasts, "podcast or audiobook play") if counts.podcasts else "",
        _n(counts.videos, "video play") if counts.videos else "",
        _n(counts.short, "play") + " under 30 seconds" if counts.short else "",
        _n(counts.malformed, "entry", "entries") + " without a song or time" if counts.malformed else "",
        _n(overlap, "account-data play") + " already in your extended history" if overlap else "",
    ]
    parts = [p for p in parts if p]
    return ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else "".join(parts)


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
