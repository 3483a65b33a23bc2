"""Files and zips: what was uploaded, checked against the limits before and while it is read.

`read_files` takes the uploaded (name, stream) pairs, loose JSON files or Spotify's zip, opens only
the streaming-history files (by name inside a zip), refuses hostile zips (too many entries, unsafe
names, bombs, encryption) before decompressing them, counts every byte against `ExportLimits`, skips
a file uploaded twice, and reads each history file with `reader.JsonArray` into plays.
"""

from __future__ import annotations

import hashlib
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from typing import IO, BinaryIO, Final

from fanapp.sources import clean_text
from fanapp.sources.export.limits import MB, ExportError, ExportLimits
from fanapp.sources.export.plays import HISTORY, PODCASTS, VIDEOS, Counts, Plays, read_entries
from fanapp.sources.export.reader import JsonArray, NotAList

CHUNK: Final = 1 * MB  # copying a zip that is not seekable


# -- file names ------------------------------------------------------------------------------------

_COPY = r"(?:\s*\(\d+\))?"  # "name (1).json" after a second download
_EXTENDED = re.compile(rf"(?:streaming_history_audio_.*|endsong_\d+){_COPY}\.json", re.IGNORECASE)
_EXTENDED_VIDEO = re.compile(rf"streaming_history_video_.*{_COPY}\.json", re.IGNORECASE)
_ACCOUNT = re.compile(rf"streaminghistory(?:_music)?_?\d+{_COPY}\.json", re.IGNORECASE)
_ACCOUNT_PODCAST = re.compile(rf"streaminghistory_podcast_?\d+{_COPY}\.json", re.IGNORECASE)
_ACCOUNT_VIDEO = re.compile(rf"streaminghistory_video_?\d+{_COPY}\.json", re.IGNORECASE)


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


class _Budget:
    """Bytes and files read so far, against the limits."""

    def __init__(self, limits: ExportLimits) -> None:
        self.limits = limits
        self.uploaded = 0
        self.decompressed = 0
        self.files = 0
        self.entries = 0  # entries of the JSON files read so far

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


# -- uploads and zips ------------------------------------------------------------------------------

_ZIP_MAGIC: Final = (b"PK\x03\x04", b"PK\x05\x06")


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


class Upload:
    """The state of one `parse_upload` call: limits spent, plays so far, counts so far."""

    def __init__(self, limits: ExportLimits) -> None:
        self.limits = limits
        self.budget = _Budget(limits)
        self.extended = Plays()
        self.account = Plays()
        self.counts = Counts()
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
            self.budget.add_json(len(data))
            return data

        extended, account, counts = Plays(), Plays(), Counts()
        entries = JsonArray(
            hashed, label, self.limits, max_entries=self.limits.max_entries - self.budget.entries
        )
        try:
            is_history = read_entries(
                iter(entries),
                kind,
                extended,
                account,
                counts,
                named=named,
            )
        except NotAList:
            is_history = False
        self.budget.entries += entries.entries
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


def read_files(files: Iterable[tuple[str, BinaryIO]], limits: ExportLimits) -> Upload:
    """Read uploaded export files (each a .json or a .zip) into plays and counts, all or nothing.

    Raises `ExportError` with a message for the visitor for anything refused, damaged zips included.
    """
    upload = Upload(limits)
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
    return upload
