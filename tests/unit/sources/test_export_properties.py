"""Property tests: whatever is uploaded, parse_upload returns a result or raises ExportError, nothing else."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanapp.sources.export import DEFAULT_LIMITS, ExportError, ExportResult, parse_upload, reader

IP = "203.0.113.99"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Numbers are read as 64-bit integers and doubles (ijson's C backend with `use_float`): a larger one
# is refused, and tested so in test_export_reader.py. yajl refuses -2**63 itself.
int64 = st.integers(-(2**63) + 1, 2**63 - 1)
json_values = st.recursive(
    st.none() | st.booleans() | int64 | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
names = st.sampled_from(
    [
        "StreamingHistory_music_0.json",
        "Streaming_History_Audio_2020-2021_3.json",
        "Streaming_History_Video_2020.json",
        "endsong_0.json",
        "StreamingHistory_podcast_1.json",
        "Userdata.json",
        "whatever.json",
        "export.zip",
        "photo.png",
    ]
)


def outcome(files: list[tuple[str, bytes]]) -> ExportResult | ExportError:
    try:
        return parse_upload([(n, io.BytesIO(b)) for n, b in files])
    except ExportError as error:
        assert error.message
        return error


@SETTINGS
@given(st.lists(st.tuples(names, st.binary(max_size=2000)), min_size=1, max_size=4))
def test_random_bytes(files: list[tuple[str, bytes]]) -> None:
    outcome(files)


@SETTINGS
@given(names, st.binary(max_size=500))
def test_random_bytes_that_look_like_a_zip(name: str, tail: bytes) -> None:
    outcome([(name, b"PK\x03\x04" + tail)])
    outcome([(name, b"PK\x05\x06" + tail)])


@SETTINGS
@given(names, json_values)
def test_random_json(name: str, value: Any) -> None:
    outcome([(name, json.dumps(value).encode())])


entry_fields = st.fixed_dictionaries(
    {},
    optional={
        "ts": st.one_of(st.text(max_size=30), st.just("2023-05-01T10:00:00Z"), int64),
        "endTime": st.one_of(st.text(max_size=20), st.just("2023-05-01 10:00")),
        "ms_played": st.one_of(int64, st.text(max_size=5), st.none()),
        "msPlayed": st.integers(-10, 10**7),
        "master_metadata_track_name": st.one_of(st.none(), st.text(max_size=20)),
        "master_metadata_album_artist_name": st.one_of(st.none(), st.text(max_size=20)),
        "master_metadata_album_album_name": st.one_of(st.none(), st.text(max_size=20), int64),
        "trackName": st.one_of(st.none(), st.text(max_size=20)),
        "artistName": st.one_of(st.none(), st.text(max_size=20)),
        "spotify_track_uri": st.one_of(st.none(), st.text(max_size=40), st.just("spotify:track:" + "A" * 22)),
        "episode_name": st.one_of(st.none(), st.text(max_size=5)),
        "ip_addr": st.just(IP),
        "conn_country": st.just("QQ-country"),
    },
)


@SETTINGS
@given(names, st.lists(st.one_of(entry_fields, json_values), max_size=30))
def test_random_entries_never_leak_personal_fields(name: str, entries: list[Any]) -> None:
    result = outcome([(name, json.dumps(entries).encode())])
    if isinstance(result, ExportResult):
        text = repr(result)
        assert IP not in text and "QQ-country" not in text
        assert result.plays_kept == sum(t.play_count for t in result.history.tracks) or len(
            result.history.tracks
        ) == min(result.songs, DEFAULT_LIMITS.max_tracks)
        for t in result.history.tracks:
            assert len(t.play_times) <= DEFAULT_LIMITS.plays_per_track
            assert all(p.tzinfo is not None for p in t.play_times)


@SETTINGS
@given(names, st.lists(entry_fields, max_size=10))
def test_random_entries_in_a_zip(name: str, entries: list[Any]) -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Spotify/" + name, json.dumps(entries))
    outcome([("upload.zip", buffer.getvalue())])


@SETTINGS
@given(
    st.lists(st.one_of(json_values, entry_fields), max_size=15),
    st.integers(1, 64),
    st.sampled_from([None, 0, 2, 4]),
)
def test_the_reader_agrees_with_json_loads_at_any_chunk_size(
    values: list[Any], chunk: int, indent: int | None
) -> None:
    text = json.dumps(values, indent=indent, ensure_ascii=chunk % 2 == 0)
    data = io.BytesIO(text.encode())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "CHUNK", chunk)
        try:
            read = list(reader.JsonArray(data.read, "x", DEFAULT_LIMITS))
        except ExportError as error:
            # Only the depth limit may refuse valid JSON here.
            assert "nests deeper" in error.message
            return
    assert read == json.loads(text)


def nesting(value: Any) -> int:
    """Levels of lists and objects in a value (an object of scalars is 1, a scalar 0)."""
    if isinstance(value, dict):
        return 1 + max((nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((nesting(v) for v in value), default=0)
    return 0


bracket_text = st.text(alphabet='[]{}"\\ab,:é😀', max_size=12)
nested_values = st.recursive(
    st.none() | int64 | bracket_text,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(bracket_text, children, max_size=3),
    max_leaves=12,
)


@SETTINGS
@given(st.lists(nested_values, max_size=12), st.integers(1, 64), st.integers(1, 200))
def test_the_reader_refuses_exactly_the_entries_nested_too_deep(
    values: list[Any], chunk: int, block: int
) -> None:
    text = json.dumps(values, ensure_ascii=block % 2 == 0)
    deepest = max((nesting(v) for v in values), default=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(reader, "CHUNK", chunk)
        patch.setattr(reader, "BLOCK", block)
        try:
            read = list(reader.JsonArray(io.BytesIO(text.encode()).read, "x", DEFAULT_LIMITS))
        except ExportError as error:
            assert "nests deeper" in error.message
            assert deepest > DEFAULT_LIMITS.max_depth - 1
            return
    assert deepest <= DEFAULT_LIMITS.max_depth - 1
    assert read == values
