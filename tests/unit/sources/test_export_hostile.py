"""Hostile and broken uploads: each refused with a clear ExportError, in bounded time and memory."""

from __future__ import annotations

import io
import json
import struct
import time
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from fanapp.sources import SourceError
from fanapp.sources.export import DEFAULT_LIMITS, MB, ExportError, ExportLimits, parse_upload
from fanapp.sources.export.reader import BLOCK
from fanapp.sources.export.upload import Upload

DATA = Path(__file__).parents[2] / "data" / "export"
GOOD = (DATA / "Streaming_History_Audio_2024_0.json").read_bytes()


def refuse(files: dict[str, bytes], limits: ExportLimits = DEFAULT_LIMITS) -> ExportError:
    with pytest.raises(ExportError) as caught:
        parse_upload([(n, io.BytesIO(b)) for n, b in files.items()], limits=limits)
    assert isinstance(caught.value, SourceError)
    assert 20 < len(caught.value.message) < 400
    return caught.value


@contextmanager
def bounded(seconds: float, megabytes: float) -> Iterator[None]:
    """Fail unless the block does under `seconds` of work and allocates under `megabytes` at its peak.

    Work is this thread's CPU time, not the wall clock: on a loaded machine a refusal that reads a few
    bytes can still wait seconds for a core, while one that inflates a bomb spends the CPU itself."""
    tracemalloc.start()
    started = time.thread_time()
    try:
        yield
    finally:
        elapsed = time.thread_time() - started
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert elapsed < seconds, f"took {elapsed:.2f} s of CPU"
    assert peak < megabytes * MB, f"peaked at {peak / MB:.1f} MB"


def zip_of(members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def zeros_zip(name: str, size: int) -> bytes:
    """A zip with one member of `size` zero bytes, written in chunks (a few hundred KB compressed)."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive,
        archive.open(name, "w") as member,
    ):
        chunk = bytes(4 * MB)
        for _ in range(size // len(chunk)):
            member.write(chunk)
        member.write(bytes(size % len(chunk)))
    return buffer.getvalue()


# -- JSON --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (GOOD[: len(GOOD) // 2], "ends too early"),
        (b'[{"ts": "2024-01-01T00:00:00Z"},]', "syntax error"),
        (b'[{"ts": "2024-01-01T00:00:00Z"} {"ts": 1}]', "comma is missing"),
        (b"[1, 2] [3]", "more after the end"),
        (b"[", "ends too early"),
        (b'[{"a": tru}]', "syntax error"),
        (b"[NaN]", "syntax error"),
    ],
)
def test_malformed_json_is_refused(content: bytes, words: str) -> None:
    error = refuse({"Streaming_History_Audio_2024_0.json": content})
    assert words in error.message
    assert "“Streaming_History_Audio_2024_0.json”" in error.message
    assert "nothing was kept" in error.message


def test_a_good_file_then_a_bad_one_keeps_nothing() -> None:
    error = refuse(
        {"Streaming_History_Audio_2024_0.json": GOOD, "Streaming_History_Audio_2024_1.json": b"[{"}
    )
    assert "Streaming_History_Audio_2024_1.json" in error.message


def test_decode_errors_do_not_carry_the_file_contents() -> None:
    content = GOOD[: GOOD.index(b"198.51.100.23") + 200] + b"}}}}"
    error = refuse({"endsong_0.json": content})
    assert "198.51.100.23" not in str(error)
    assert error.__cause__ is None and error.__context__ is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4, "an image (PNG)"),
        (b"\xff\xd8\xff\xe0" + bytes(100), "an image (JPEG)"),
        (b"%PDF-1.7\n", "a PDF document"),
        (b"\x1f\x8b\x08\x00", "gzip"),
        (bytes(range(128, 256)), "not a text file"),
        (b"hello world", "not a JSON list"),
        (b'"a string"', "not a JSON list"),
        (b"", "is empty"),
        (b"   \n\t ", "is empty"),
    ],
)
def test_a_wrong_file_named_json_is_refused(content: bytes, words: str) -> None:
    error = refuse({"StreamingHistory_music_0.json": content})
    assert words in error.message


def test_nothing_usable_is_refused_with_guidance() -> None:
    error = refuse({"Userdata.json": b'{"username": "x"}', "cover.png": b"\x89PNG", "notes.txt": b"hi"})
    assert "could not find Spotify streaming history" in error.message
    assert "Streaming_History_Audio" in error.message


def test_history_without_music_is_refused() -> None:
    podcasts = (
        b'[{"endTime": "2024-01-01 10:00", "podcastName": "P", "episodeName": "E", "msPlayed": 999999}]'
    )
    error = refuse({"StreamingHistory_podcast_0.json": podcasts, "StreamingHistory_music_0.json": b"[]"})
    assert "no music plays of 30 seconds or more" in error.message
    assert "1 podcast or audiobook play" in error.message


def test_deep_nesting_is_refused_fast() -> None:
    content = b"[" + b"[" * 200_000 + b"]" * 200_001
    with bounded(seconds=2, megabytes=10):
        error = refuse({"endsong_0.json": content})
    assert "nests deeper" in error.message or "larger than" in error.message


def test_nesting_over_the_limit_inside_an_entry_is_refused() -> None:
    error = refuse({"endsong_0.json": b'[{"a": {"b": {"c": {"d": 1}}}}]'})
    assert "nests deeper than 4 levels" in error.message
    # Brackets inside strings are not nesting.
    ok = json.loads(GOOD)[:1]
    ok[0]["master_metadata_track_name"] = "[[[{{{Song}}}]]]"
    ok[0]["ms_played"] = 100_000
    ok[0]["episode_name"] = ok[0]["spotify_episode_uri"] = ok[0]["audiobook_title"] = None
    ok[0]["audiobook_uri"] = None
    ok[0]["master_metadata_album_artist_name"] = "A"
    result = parse_upload([("endsong_0.json", io.BytesIO(json.dumps(ok).encode()))])
    assert result.history.tracks[0].title == "[[[{{{Song}}}]]]"


def test_an_entry_over_64_kb_is_refused() -> None:
    entry = {"ts": "2024-01-01T00:00:00Z", "master_metadata_track_name": "x" * 70_000}
    error = refuse({"endsong_0.json": json.dumps([entry]).encode()})
    assert "larger than 64 KB" in error.message


def test_an_endless_string_is_refused_in_bounded_memory() -> None:
    content = b'[{"ts": "' + b"x" * (20 * MB)
    with bounded(seconds=3, megabytes=10):
        error = refuse({"endsong_0.json": content})
    assert "larger than 64 KB" in error.message or "syntax error" in error.message


def test_a_file_over_the_member_limit_is_refused() -> None:
    limits = ExportLimits(max_member_bytes=MB)
    entries = json.dumps([{"ts": "2024-01-01T00:00:00Z", "n": i} for i in range(60_000)]).encode()
    error = refuse({"endsong_0.json": entries}, limits)
    assert "larger than 1 MB" in error.message


# -- limits on the upload --------------------------------------------------------------------------


def test_too_many_files_are_refused() -> None:
    files = {f"endsong_{i}.json": b"[]" for i in range(DEFAULT_LIMITS.max_files + 1)}
    assert "too many files" in refuse(files).message


def test_an_upload_over_the_size_limit_is_refused() -> None:
    limits = ExportLimits(max_upload_bytes=len(GOOD) + 10)
    error = refuse({"endsong_0.json": GOOD, "endsong_1.json": GOOD.replace(b"Glory", b"Story")}, limits)
    assert "upload is too big" in error.message


def test_too_much_decompressed_json_in_all_is_refused() -> None:
    limits = ExportLimits(max_total_bytes=len(GOOD) + 10)
    members = {
        f"Streaming_History_Audio_2024_{i}.json": GOOD.replace(b"Glory", b"Glor" + bytes([65 + i]))
        for i in range(3)
    }
    error = refuse({"export.zip": zip_of(members)}, limits)
    assert "more than 0 MB" in error.message or "unpacks to more than" in error.message


# -- zips ------------------------------------------------------------------------------------------


def test_a_zip_with_10000_entries_is_refused_quickly() -> None:
    data = zip_of({f"f{i}.txt": b"" for i in range(10_000)}, compression=zipfile.ZIP_STORED)
    with bounded(seconds=1, megabytes=5):
        error = refuse({"my_spotify_data.zip": data})
    assert "too many files" in error.message
    assert "200" in error.message


def test_a_101_mb_member_is_refused_by_its_declared_size() -> None:
    data = zeros_zip("Streaming_History_Audio_2024_0.json", 101 * MB)
    assert len(data) < 1 * MB
    with bounded(seconds=1, megabytes=10):
        error = refuse({"export.zip": data})
    assert "unpacks to more than 100 MB" in error.message


def test_a_compression_bomb_is_refused_by_its_ratio() -> None:
    data = zeros_zip("Streaming_History_Audio_2024_0.json", 20 * MB)
    with bounded(seconds=1, megabytes=10):
        error = refuse({"export.zip": data})
    assert "compressed suspiciously well" in error.message


def test_a_member_bigger_than_its_header_says_is_refused_in_bounded_memory() -> None:
    # 8 MB of zeros, but the central directory claims 1 KB: zipfile stops at 1 KB and the CRC fails.
    data = bytearray(zeros_zip("Streaming_History_Audio_2024_0.json", 8 * MB))
    at = data.rfind(b"PK\x01\x02")  # the central directory entry; its uncompressed size is at +24
    assert struct.unpack("<I", data[at + 24 : at + 28])[0] == 8 * MB
    data[at + 24 : at + 28] = struct.pack("<I", 1024)
    with bounded(seconds=2, megabytes=20):
        error = refuse({"export.zip": bytes(data)}, ExportLimits(max_ratio=10**9))
    assert "unpacks to more than it says" in error.message


def test_bomb_with_limits_lowered_reads_no_more_than_allowed() -> None:
    # A member within the declared limits but over a lowered per-member limit is refused up front.
    data = zeros_zip("Streaming_History_Audio_2024_0.json", 5 * MB)
    with bounded(seconds=1, megabytes=10):
        error = refuse({"export.zip": data}, ExportLimits(max_member_bytes=MB, max_ratio=10**9))
    assert "unpacks to more than 1 MB" in error.message


@pytest.mark.parametrize(
    "name",
    [
        "../../etc/passwd",
        "Spotify/../../etc/passwd",
        "/etc/passwd",
        "C:/Windows/win.ini",
        "..\\..\\evil.json",
        "a/../Streaming_History_Audio_2024_0.json",
    ],
)
def test_path_traversal_names_are_refused(name: str) -> None:
    data = zip_of({"Streaming_History_Audio_2024_0.json": GOOD, name: b"root:x:0:0"})
    error = refuse({"export.zip": data})
    assert "unsafe name" in error.message


def test_a_damaged_zip_is_refused() -> None:
    data = (DATA / "my_spotify_data_extended.zip").read_bytes()
    assert "damaged" in refuse({"export.zip": data[:200] + data[-100:]}).message
    assert "damaged" in refuse({"export.zip": b"PK\x03\x04" + bytes(50)}).message


def test_a_corrupted_member_is_refused() -> None:
    data = bytearray(zip_of({"Streaming_History_Audio_2024_0.json": GOOD}))
    data[100:140] = bytes(40)  # inside the compressed stream
    assert "damaged" in refuse({"export.zip": bytes(data)}).message


def test_a_zip_inside_a_zip_is_not_opened() -> None:
    inner = zip_of({"Streaming_History_Audio_2024_0.json": GOOD})
    error = refuse({"export.zip": zip_of({"inner.zip": inner})})
    assert "could not find Spotify streaming history" in error.message


def test_an_encrypted_member_is_refused() -> None:
    data = bytearray(zip_of({"Streaming_History_Audio_2024_0.json": GOOD}))
    at = data.rfind(b"PK\x01\x02")
    flags = struct.unpack("<H", data[at + 8 : at + 10])[0]
    data[at + 8 : at + 10] = struct.pack("<H", flags | 1)
    assert "password-protected" in refuse({"export.zip": bytes(data)}).message


def test_refusals_leave_no_result_behind() -> None:
    files = [("Streaming_History_Audio_2024_0.json", io.BytesIO(GOOD)), ("x.zip", io.BytesIO(b"PK\x03\x04"))]
    with pytest.raises(ExportError):
        parse_upload(files)
    # parse_upload keeps no state between calls: the next good upload is unaffected.
    good = parse_upload([("Streaming_History_Audio_2024_0.json", io.BytesIO(GOOD))])
    assert good.plays_kept == 28


def test_a_non_seekable_zip_over_the_upload_limit_is_refused() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any) -> int:
            data = self.inner.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    data = zip_of({"Streaming_History_Audio_2024_0.json": GOOD}, compression=zipfile.ZIP_STORED)
    with pytest.raises(ExportError, match="upload is too big"), Pipe(data) as pipe:
        parse_upload([("export.zip", pipe)], limits=ExportLimits(max_upload_bytes=len(data) // 2))  # type: ignore[list-item]


def padded_zip(name: str, content: bytes, padding: int) -> bytes:
    """A zip whose member's deflate stream is followed by `padding` junk bytes counted in its declared
    compressed size: the declared ratio looks ordinary, the real one is the content's."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    stream = squeeze.compress(content) + squeeze.flush()
    body = stream + bytes(range(256)) * (padding // 256)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr(name, body)
    data = bytearray(buffer.getvalue())
    crc, size = zlib.crc32(content), len(content)
    # The method (8: deflated), CRC and uncompressed size, in the local header and the directory entry.
    data[8:10] = struct.pack("<H", 8)
    data[14:18] = struct.pack("<I", crc)
    data[22:26] = struct.pack("<I", size)
    at = data.rfind(b"PK\x01\x02")
    data[at + 10 : at + 12] = struct.pack("<H", 8)
    data[at + 16 : at + 20] = struct.pack("<I", crc)
    data[at + 24 : at + 28] = struct.pack("<I", size)
    return bytes(data)


def test_a_padded_zip_is_refused_by_its_real_ratio_after_a_bounded_inflate() -> None:
    # 60 MB of tiny entries squeezed to ~60 KB, then padded to 1 MB: the declared ratio is 60:1, within
    # the limit of 100, so only the compressed bytes zlib really consumed show the bomb.
    content = b"[" + b"0," * (30 * MB) + b"0]"
    data = padded_zip("Streaming_History_Audio_2024_0.json", content, padding=MB)
    info = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    assert info.file_size < DEFAULT_LIMITS.max_ratio * info.compress_size  # the declared sizes pass
    upload = Upload(DEFAULT_LIMITS)
    with pytest.raises(ExportError, match="compressed suspiciously well"):
        upload.add("my_spotify_data.zip", io.BytesIO(data))
    # The work done is bounded by the limit, whatever the member's size: 1 MB and one piece more.
    assert upload.budget.inflated <= MB + BLOCK
    assert upload.budget.decompressed <= MB + BLOCK


def test_a_padded_zip_of_real_history_is_read() -> None:
    data = padded_zip("Streaming_History_Audio_2024_0.json", GOOD, padding=64 * 1024)
    assert parse_upload([("my_spotify_data.zip", io.BytesIO(data))]).plays_kept == 28
