"""The pure converters: schema-shaped provider JSON in, sanitised `{feature: value}` out."""

from __future__ import annotations

from typing import Any

import pytest

from fanapp.enrich.features import (
    deezer_error_code,
    from_deezer,
    from_reccobeats,
    from_spotify,
    sanitise,
)
from fanapp.tracks import is_spotify_id, normalise_isrc, spotify_id
from tests.fakes.deezer import NO_DATA, QUOTA_EXCEEDED, deezer_track
from tests.fakes.reccobeats import reccobeats_features
from tests.fakes.spotify import audio_features_object

SP_A = "4uLU6hMCjMI75M1A2tKUQC"
SP_B = "7ouMYWpwJ422jRcDASZB7P"
SP_UNKNOWN = "0000000000000000000000"


def test_sanitise_keeps_plausible_values_only() -> None:
    raw = {
        "tempo": 128.0,
        "key": 11,
        "mode": 1,
        "energy": 0.0,
        "valence": 1.0,
        "danceability": 0.5,
        "acousticness": 0.3,
        "loudness": -5.0,  # not a feature the engine reads
    }
    assert sanitise(raw) == {
        "tempo": 128.0,
        "key": 11.0,
        "mode": 1.0,
        "energy": 0.0,
        "valence": 1.0,
        "danceability": 0.5,
        "acousticness": 0.3,
    }


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("tempo", 0),
        ("tempo", 39.9),
        ("tempo", 250.1),
        ("tempo", float("nan")),
        ("tempo", float("inf")),
        ("tempo", "120"),
        ("tempo", None),
        ("tempo", True),
        ("key", -1),
        ("key", 12),
        ("key", 4.5),
        ("mode", 2),
        ("mode", 0.5),
        ("energy", 1.01),
        ("valence", -0.1),
    ],
)
def test_sanitise_drops_implausible_values(name: str, value: Any) -> None:
    assert sanitise({name: value}) == {}


def test_sanitise_restricts_to_allowed() -> None:
    assert sanitise({"tempo": 100, "energy": 0.5}, allowed=("tempo",)) == {"tempo": 100.0}


def test_from_spotify_maps_ids_and_skips_nulls() -> None:
    payload = {
        "audio_features": [audio_features_object(SP_A), None, audio_features_object(SP_B, key=-1, tempo=0)]
    }
    result = from_spotify(payload, [SP_A, SP_B, SP_UNKNOWN])
    assert result[SP_A] == {
        "tempo": 118.211,
        "key": 9.0,
        "mode": 0.0,
        "energy": 0.842,
        "valence": 0.428,
        "danceability": 0.585,
        "acousticness": 0.00242,
        "instrumentalness": 0.00686,
        "speechiness": 0.0556,
    }
    # Spotify's key -1 ("no key detected") and tempo 0 are dropped, the rest is kept.
    assert "key" not in result[SP_B] and "tempo" not in result[SP_B]
    assert result[SP_B]["energy"] == 0.842
    assert SP_UNKNOWN not in result


def test_from_spotify_ignores_ids_not_asked_and_garbage() -> None:
    assert from_spotify({"audio_features": [audio_features_object(SP_A)]}, [SP_B]) == {}
    assert from_spotify({"audio_features": "nope"}, [SP_A]) == {}
    assert from_spotify(None, [SP_A]) == {}
    assert from_spotify({"audio_features": [1, "x", {"id": 3}]}, [SP_A]) == {}


def test_from_reccobeats_maps_back_through_href() -> None:
    payload = {"content": [reccobeats_features(SP_A, tempo=99.5, key=2, mode=0), reccobeats_features(SP_B)]}
    result = from_reccobeats(payload, [SP_A, SP_B, SP_UNKNOWN])
    assert set(result) == {SP_A, SP_B}
    assert result[SP_A]["tempo"] == 99.5
    assert result[SP_A]["key"] == 2.0
    assert result[SP_A]["mode"] == 0.0
    assert result[SP_B] == {
        "tempo": 118.2,
        "key": 5.0,
        "mode": 1.0,
        "energy": 0.71,
        "valence": 0.55,
        "danceability": 0.64,
        "acousticness": 0.12,
        "instrumentalness": 0.0001,
        "speechiness": 0.04,
    }


def test_from_reccobeats_ignores_entries_without_a_spotify_href() -> None:
    entry = reccobeats_features(SP_A)
    payload = {
        "content": [
            {**entry, "href": "https://evil.example/track/" + SP_A},
            {**entry, "href": None},
            {k: v for k, v in entry.items() if k != "href"},
        ]
    }
    assert from_reccobeats(payload, [SP_A]) == {}
    assert from_reccobeats({"content": [reccobeats_features(SP_B)]}, [SP_A]) == {}
    assert from_reccobeats([], [SP_A]) == {}


def test_spotify_id() -> None:
    assert spotify_id(f"https://open.spotify.com/track/{SP_A}") == SP_A
    assert spotify_id(f"https://open.spotify.com/track/{SP_A}?si=abc") == SP_A
    assert spotify_id(f"https://open.spotify.com/album/{SP_A}") is None
    assert spotify_id(42) is None


def test_from_deezer_reads_bpm() -> None:
    assert from_deezer(deezer_track("GBAYE0601498", bpm=123.4)) == {"tempo": 123.4}


def test_from_deezer_bpm_zero_is_no_tempo() -> None:
    assert from_deezer(deezer_track("GBAYE0601498", bpm=0)) == {}


def test_from_deezer_error_bodies() -> None:
    assert from_deezer(NO_DATA) == {}
    assert deezer_error_code(NO_DATA) == 800
    assert deezer_error_code(QUOTA_EXCEEDED) == 4
    assert deezer_error_code({"error": {"type": "Exception"}}) == -1
    assert deezer_error_code(deezer_track("GBAYE0601498")) is None


def test_identifiers() -> None:
    assert is_spotify_id(SP_A)
    assert not is_spotify_id("local:abc")
    assert not is_spotify_id(SP_A + "x")
    assert not is_spotify_id(None)
    assert normalise_isrc(" gb-aye-06-01498 ") == "GBAYE0601498"
    assert normalise_isrc("GBAYE0601498/../x") is None
    assert normalise_isrc("") is None
