"""Files and zips: what was uploaded, checked against the limits before and while it is read.

`read_files` takes the uploaded (name, stream) pairs, loose JSON files or Spotify's zip, opens only
the streaming-history files (by name inside a zip), refuses hostile zips (too many entries, unsafe
names, bombs, encryption) before decompressing them, counts every byte against `ExportLimits`, skips
a file uploaded twice, and reads each history file with `reader.JsonArray` into plays.
"""

from __future__ import annotations

import codecs
import hashlib
import re
import struct
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import IO, BinaryIO, Final

from fanapp.sources import clean_text
from fanapp.sources.export.limits import MB, ExportError, ExportLimits
from fanapp.sources.export.plays import (
    HISTORY,
    NOTHING_FOUND,
    PODCASTS,
    VIDEOS,
    Counts,
    Plays,
    read_entries,
)
from fanapp.sources.export.reader import BLOCK, NOT_A_LIST, JsonArray, NotAList, refuse_not_json

CHUNK: Final = 1 * MB  # copying a zip that is not seekable
CHUNK_PEEK: Final = 4 * 1024  # the first bytes of a file, to tell what it is


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
        self.decompressed = 0  # bytes of JSON given to the reader
        self.inflated = 0  # bytes inflated out of zip members
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


Report = Callable[[int, int], None]
"""Told (entries read, songs found) now and then while an upload is read; songs may count twice
across files until the end."""

REPORT_EVERY: Final = 2 * MB  # JSON bytes read between two reports


class Upload:
    """The state of one `parse_upload` call: limits spent, plays so far, counts so far."""

    def __init__(self, limits: ExportLimits, report: Report | None = None) -> None:
        self.limits = limits
        self.report = report
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
                    inflated = _Inflated(zipped, info, member_label, self.budget)
                    self._add_json(inflated.read, member_label, kind, named=True)
                    inflated.finish()
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
        extended, account, counts = Plays(), Plays(), Counts()
        next_report = self.budget.decompressed + REPORT_EVERY

        def hashed(size: int) -> bytes:
            nonlocal next_report
            data = read(size)
            digest.update(data)
            self.budget.add_json(len(data))
            if self.report is not None and self.budget.decompressed >= next_report:
                next_report = self.budget.decompressed + REPORT_EVERY
                self.report(
                    self.budget.entries + entries.entries,
                    len(self.extended.songs)
                    + len(self.account.songs)
                    + len(extended.songs)
                    + len(account.songs),
                )
            return data

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
        if self.report is not None:
            self.report(self.budget.entries, len(self.extended.songs) + len(self.account.songs))


_LOCAL_HEADER: Final = struct.Struct("<4s2B4HL2L2H")  # zipfile's own layout of a local file header
_STORED, _DEFLATED = 0, 8


class _Inflated:
    """One zip member's bytes, inflated here rather than by `zipfile.ZipFile.open`, to count real sizes.

    A zip's sizes are only what its headers say: a member can declare a large compressed size (padding
    after its deflate stream) to get a 99 MB member past a ratio check on declared sizes. Here the ratio
    is checked as the member is inflated, against the compressed bytes zlib actually consumed, and the
    output against the declared size; each read inflates at most what was asked for (zlib's
    `max_length`), so memory stays at one input block and one output piece. Only stored and deflated
    members are read (Spotify's zips are deflated); the CRC is checked at the end of the stream.
    """

    def __init__(self, zipped: IO[bytes], info: zipfile.ZipInfo, label: str, budget: _Budget) -> None:
        limits = budget.limits
        self.zipped = zipped
        self.info = info
        self.label = label
        self.limits = limits
        self.budget = budget
        self.cap = min(info.file_size, limits.max_member_bytes)
        if info.compress_type not in (_STORED, _DEFLATED):
            raise NotImplementedError(f"compression method {info.compress_type}")
        zipped.seek(info.header_offset)
        header = zipped.read(_LOCAL_HEADER.size)
        if len(header) != _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
            raise zipfile.BadZipFile("no local file header")
        fields = _LOCAL_HEADER.unpack(header)
        self.at = info.header_offset + _LOCAL_HEADER.size + fields[10] + fields[11]
        self.left = info.compress_size  # compressed bytes not yet read from the zip
        self.inflater = zlib.decompressobj(-15) if info.compress_type == _DEFLATED else None
        self.fed = 0  # compressed bytes read from the zip
        self.produced = 0  # bytes inflated
        self.crc = 0
        self.ended = False

    @property
    def consumed(self) -> int:
        """Compressed bytes zlib has used so far (read, less what it has not taken or left over)."""
        if self.inflater is None:
            return self.fed
        return self.fed - len(self.inflater.unconsumed_tail) - len(self.inflater.unused_data)

    def _more(self, size: int = BLOCK) -> bytes:
        size = min(self.left, size)
        if not size:
            return b""
        self.zipped.seek(self.at)
        data = self.zipped.read(size)
        if not data:
            raise EOFError("the zip ends inside a member")
        self.at += len(data)
        self.left -= len(data)
        self.fed += len(data)
        return data

    def read(self, size: int) -> bytes:
        """Up to `size` inflated bytes (b"" at the end of the member), counted against the limits."""
        if self.ended or size <= 0:
            return b""
        out = b""
        while not out and not self.ended:
            if self.inflater is None:  # stored
                out = self._more(size)
                self.ended = not out
                continue
            data = self.inflater.unconsumed_tail or self._more()
            if not data:
                raise zlib.error("the member's deflate stream ends too early")
            out = self.inflater.decompress(data, size)
            self.ended = self.inflater.eof
        self.produced += len(out)
        self.budget.inflated += len(out)
        self.crc = zlib.crc32(out, self.crc)
        if self.produced > self.cap:
            raise ExportError(
                f"{self.label} unpacks to more than it says, like a zip bomb. Nothing was kept."
            )
        if self.produced > MB and self.produced > self.limits.max_ratio * max(self.consumed, 1):
            raise ExportError(
                f"{self.label} is compressed suspiciously well, like a zip bomb. Nothing was kept."
            )
        return out

    def finish(self) -> None:
        """Refuse a member whose stream did not end where and as its headers say (size and CRC)."""
        while not self.ended and self.read(BLOCK):
            pass  # the reader stopped early (a file that is not history): check the rest all the same
        if self.produced != self.info.file_size or self.crc != self.info.CRC:
            raise zipfile.BadZipFile("a member's size or CRC does not match its header")


def read_files(
    files: Iterable[tuple[str, BinaryIO]], limits: ExportLimits, report: Report | None = None
) -> Upload:
    """Read uploaded export files (each a .json or a .zip) into plays and counts, all or nothing.

    Raises `ExportError` with a message for the visitor for anything refused, damaged zips included.
    """
    upload = Upload(limits, report)
    with _zip_errors():
        for name, stream in files:
            upload.add(str(name or "upload"), stream)
    return upload


def check_files(files: Iterable[tuple[str, BinaryIO]], limits: ExportLimits) -> None:
    """Refuse at once what can be told from names and first bytes, without reading the history.

    The cheap part of `read_files`, for the web request before the upload goes to the import job: not
    JSON or a zip, a zip whose directory is hostile (too many entries, unsafe names, encryption,
    declared bombs), or nothing that could be streaming history. Each stream is left at its start.
    """
    check = Upload(limits)
    candidates = 0
    with _zip_errors():
        for name, stream in files:
            name = str(name or "upload").replace("\\", "/")[-400:]
            label = _shown(name)
            stream.seek(0)
            head = stream.read(CHUNK_PEEK)
            if head[:4] in _ZIP_MAGIC:
                stream.seek(0)
                _check_zip_directory(stream, limits)
                with zipfile.ZipFile(stream) as archive:
                    candidates += len(check._zip_members(archive, label))
            elif name.lower().endswith(".json") or _file_kind(name) is not None:
                refuse_not_json(head, label)
                first = head.removeprefix(codecs.BOM_UTF8).lstrip(b" \t\r\n")[:1]
                if first not in (b"[", b"{", b""):
                    raise ExportError(NOT_A_LIST.format(label=label))
                candidates += 1
            stream.seek(0)
    if not candidates:
        raise ExportError(NOTHING_FOUND)


@contextmanager
def _zip_errors() -> Iterator[None]:
    """zipfile's and zlib's errors as refusals a visitor can read."""
    try:
        yield
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
