"""The export's JSON reader on ijson: every limit kept, and work bounded by the bytes it reads.

Work is asserted as bytes read from the stream (never seconds): a long value or deep nesting must
be refused after a bounded number of bytes whatever its length, and a file of many tiny entries
must be read once, in chunks, from start to end.
"""

from __future__ import annotations

import io
import json
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import ijson
import pytest

from fanapp.sources.export import DEFAULT_LIMITS, MB, ExportError, ExportLimits, parse_upload, reader
from fanapp.sources.export.reader import BLOCK, CHUNK, JsonArray, NotAList

SECRET = "198.51.100.77-secret"
ENTRY = {"ts": "2024-01-01T00:00:00Z", "ms_played": 200_000, "ip_addr": SECRET}
# Bytes a refused long value may cost: the entry limit, the two pieces it is measured between, and
# the rest of the block the stream was last read in.
VALUE_BOUND = DEFAULT_LIMITS.max_entry_bytes + 2 * CHUNK + BLOCK


class Counted(io.BytesIO):
    """A byte stream that counts what is read from it, and the largest single read."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.bytes_read = 0
        self.reads = 0
        self.largest = 0

    def read(self, size: int | None = -1) -> bytes:
        data = super().read(size)
        self.bytes_read += len(data)
        self.reads += 1
        self.largest = max(self.largest, len(data))
        return data


def read_all(stream: Counted, limits: ExportLimits = DEFAULT_LIMITS) -> list[Any]:
    return list(JsonArray(stream.read, "“f.json”", limits))


def refused(data: bytes, limits: ExportLimits = DEFAULT_LIMITS) -> tuple[ExportError, Counted]:
    stream = Counted(data)
    with pytest.raises(ExportError) as caught:
        read_all(stream, limits)
    error = caught.value
    assert "“f.json”" in error.message
    assert SECRET not in error.message
    assert error.__cause__ is None and error.__context__ is None
    return error, stream


@contextmanager
def peak_memory(megabytes: float) -> Iterator[None]:
    """Fail unless the block allocates under `megabytes` at its peak (the input is made before)."""
    tracemalloc.start()
    try:
        yield
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < megabytes * MB, f"peaked at {peak / MB:.1f} MB"


def long_string(size: int) -> bytes:
    return b'[{"ts": "2024-01-01T00:00:00Z", "master_metadata_track_name": "' + b"x" * size + b'"}]'


def long_number(size: int) -> bytes:
    return b'[{"ts": "2024-01-01T00:00:00Z", "ms_played": 1' + b"0" * size + b"}]"


def long_float(size: int) -> bytes:
    # The case that made the old reader quadratic: a number that parses at every chunk boundary.
    return b"[1." + b"0" * size + b"]"


def deep(levels: int, after: bytes = b"") -> bytes:
    return b"[" + after + b"[" * levels + b"]" * levels + b"]"


# -- work is bounded by bytes read, not by the input's length -------------------------------------


@pytest.mark.parametrize("make", [long_string, long_number, long_float], ids=["string", "number", "float"])
def test_a_long_value_is_refused_after_a_bounded_read(make: Callable[[int], bytes]) -> None:
    data = make(5 * MB)
    with peak_memory(2):
        error, stream = refused(data)
    assert "an entry is larger than 64 KB" in error.message
    assert stream.bytes_read <= VALUE_BOUND
    # The work does not depend on how long the value is.
    assert refused(make(1 * MB))[1].bytes_read == stream.bytes_read


@pytest.mark.parametrize("after", [b"", b"[], ", b'{"a": 1}, ' * 3], ids=["first", "after-a-list", "after-3"])
def test_50000_deep_nesting_is_refused_after_a_bounded_read(after: bytes) -> None:
    data = deep(50_000, after)
    with peak_memory(4):
        error, stream = refused(data)
    assert "nests deeper than 4 levels" in error.message
    assert stream.bytes_read <= CHUNK + BLOCK
    assert refused(deep(5_000, after))[1].bytes_read <= stream.bytes_read


def test_many_tiny_entries_are_read_once_in_chunks() -> None:
    data = b"[" + b"0," * (MB // 2) + b"0]"
    stream = Counted(data)
    assert sum(1 for _ in JsonArray(stream.read, "f", DEFAULT_LIMITS)) == MB // 2 + 1
    assert stream.bytes_read == len(data)  # every byte read once, none twice
    assert stream.largest <= BLOCK
    assert stream.reads <= len(data) // BLOCK + 3


def test_5_mb_of_tiny_entries_stop_at_the_entry_limit() -> None:
    data = b"[" + b"0," * (5 * MB // 2) + b"0]"
    error, stream = refused(data)
    assert "more than 2,000,000 entries" in error.message
    assert stream.bytes_read <= 2 * DEFAULT_LIMITS.max_entries + CHUNK + BLOCK


def test_the_entry_limit_counts_every_file_of_the_upload() -> None:
    play = {
        "ts": "2024-01-01T00:00:00Z",
        "ms_played": 200_000,
        "master_metadata_track_name": "Song",
        "master_metadata_album_artist_name": "Artist",
    }
    files = [(f"endsong_{i}.json", io.BytesIO(json.dumps([play] * 600).encode())) for i in range(2)]
    with pytest.raises(ExportError, match="more than 1,000 entries in all"):
        parse_upload(files, limits=ExportLimits(max_entries=1_000))
    one = parse_upload(
        [("endsong_0.json", io.BytesIO(json.dumps([play] * 600).encode()))],
        limits=ExportLimits(max_entries=1_000),
    )
    assert one.plays_kept == 600


@pytest.mark.parametrize("tiny", [b"{}", b"[]", b'""'])
def test_many_tiny_containers_are_read(tiny: bytes) -> None:
    data = b"[" + b",".join([tiny] * 200_000) + b"]"
    stream = Counted(data)
    assert len(read_all(stream)) == 200_000
    assert stream.bytes_read == len(data)


def test_entries_come_while_the_file_is_read() -> None:
    data = json.dumps([ENTRY] * 20_000).encode()
    stream = Counted(data)
    entries = iter(JsonArray(stream.read, "f", DEFAULT_LIMITS))
    assert next(entries) == ENTRY
    assert stream.bytes_read <= CHUNK + BLOCK  # not the whole file first
    assert sum(1 for _ in entries) == 19_999


def test_an_upload_of_a_long_number_reads_a_bounded_part_of_it() -> None:
    stream = Counted(long_float(5 * MB))
    with pytest.raises(ExportError, match="larger than 64 KB"):
        parse_upload([("Streaming_History_Audio_2024_0.json", stream)])
    assert stream.bytes_read <= VALUE_BOUND


# -- the limits ------------------------------------------------------------------------------------


def test_entries_up_to_the_size_limit_pass_and_larger_ones_do_not() -> None:
    def entry_of(size: int) -> bytes:
        padding = size - len(json.dumps({"ts": "", "t": ""}))
        return json.dumps([ENTRY, {"ts": "", "t": "y" * padding}, ENTRY]).encode()

    assert len(read_all(Counted(entry_of(DEFAULT_LIMITS.max_entry_bytes - 16)))) == 3
    error, _ = refused(entry_of(DEFAULT_LIMITS.max_entry_bytes + 2 * CHUNK + 1))
    assert "an entry is larger than 64 KB" in error.message


def test_entries_up_to_the_bracket_limit_pass_and_more_do_not() -> None:
    wide = DEFAULT_LIMITS.max_entry_brackets - 2  # the entry's own "{" and its list's "["
    ok = b'[{"a": [' + b",".join([b"[]"] * wide) + b"]}]"
    assert read_all(Counted(ok)) == [{"a": [[]] * wide}]
    too_many = b'[{"a": [' + b",".join([b"[]"] * (wide + 100)) + b"]}]"
    error, _ = refused(too_many)
    assert "holds more than 512 brackets" in error.message


@pytest.mark.parametrize("before", [0, 1, 2, 3_000])
def test_depth_is_checked_after_any_number_of_flat_entries(before: int) -> None:
    flat = json.dumps([ENTRY] * before)[1:-1].encode() + (b", " if before else b"")
    three = b'{"a": {"b": {"c": 1}}}'
    four = b'{"a": {"b": {"c": {"d": 1}}}}'
    assert len(read_all(Counted(b"[" + flat + three + b"]"))) == before + 1
    assert "nests deeper than 4 levels" in refused(b"[" + flat + four + b"]")[0].message
    # Brackets inside strings are not nesting, however many.
    titles = b'{"t": "[[[{{{"}, ' * 50
    assert len(read_all(Counted(b"[" + flat + titles + three + b"]"))) == before + 51
    assert "nests deeper" in refused(b"[" + flat + titles + four + b", 1]")[0].message


@pytest.mark.parametrize(
    "number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"9223372036854775808", b"1" * 4301]
)
def test_numbers_json_or_64_bits_do_not_allow_are_refused(number: bytes) -> None:
    # A 4301-digit integer crashes CPython in ijson 3.6's C backend without `use_float`: not here.
    error, _ = refused(b'[{"ip_addr": "' + SECRET.encode() + b'", "ms_played": ' + number + b"}]")
    assert "syntax error" in error.message or "a number in it is too large" in error.message


def test_64_bit_numbers_are_read_as_json_loads_reads_them() -> None:
    text = "[9223372036854775807, -9223372036854775807, 0.1, -0.0, 1e308, 5e-324, 1E2]"
    assert read_all(Counted(text.encode())) == json.loads(text)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (b'[{"ip_addr": "' + SECRET.encode() + b'"} {"a": 1}]', "a comma is missing"),
        (b'[{"ip_addr": "' + SECRET.encode() + b'"}] [2]', "more after the end"),
        (b'[{"ip_addr": "' + SECRET.encode() + b'", "a": tru}]', "syntax error"),
        (b'[{"ip_addr": "' + SECRET.encode() + b'", "a": 1', "ends too early"),
        (b'[{"ip_addr": "' + SECRET.encode() + b'\x01"}]', "syntax error"),
        (b'[{"ip_addr": "' + SECRET.encode() + b'", "a": "\xed\xa0\x80"}]', "not a text file"),
        (b'[{"ip_addr": "' + SECRET.encode() + b'", "a": "\xff"}]', "not a text file"),
        (json.dumps([ENTRY] * 2000).encode()[:-1] + b', "\xc3', "not a text file"),  # cut at the end
    ],
)
def test_refusals_say_why_and_never_quote_the_file(content: bytes, words: str) -> None:
    error, _ = refused(content)
    assert words in error.message


def test_an_object_is_not_a_list() -> None:
    with pytest.raises(NotAList):
        read_all(Counted(b' \n{"username": "x"}'))


def test_the_document_size_limit_counts_every_byte() -> None:
    data = json.dumps([ENTRY] * 20_000).encode()
    assert len(data) > MB
    error, stream = refused(data, ExportLimits(max_member_bytes=MB))
    assert "is larger than 1 MB" in error.message
    assert stream.bytes_read <= MB + BLOCK


# -- the backend -----------------------------------------------------------------------------------


def test_the_c_backend_that_ijson_wheels_ship_is_used() -> None:
    assert reader.BACKEND == "yajl2_c"


@pytest.mark.parametrize(
    ("data", "words", "bound"),
    [
        (long_string(MB), "larger than 64 KB", VALUE_BOUND),
        (long_float(MB), "larger than 64 KB", VALUE_BOUND),
        (deep(50_000), "nests deeper", CHUNK + BLOCK),
        (b'[{"a": {"b": {"c": {"d": 1}}}}]', "nests deeper", CHUNK + BLOCK),
        (b"[NaN]", "syntax error", CHUNK + BLOCK),
        (b"[1] [2]", "more after the end", CHUNK + BLOCK),
        (b'["\xff"]', "not a text file", CHUNK + BLOCK),
    ],
)
def test_the_pure_python_fallback_keeps_the_limits(
    data: bytes, words: str, bound: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reader, "_IJSON", ijson.get_backend("python"))
    error, stream = refused(data)
    assert words in error.message
    assert stream.bytes_read <= bound
