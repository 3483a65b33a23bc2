"""The Camelot wheel: the full table, codes, transposition and how two keys mix."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanapp.engine import camelot as camelot_from_package
from fanapp.engine.camelot import CODES, camelot, index, key_name, open_key, parse, relation, shift

# Every pitch class (C=0) in minor (mode 0) and major (mode 1), as printed on the wheel.
WHEEL = {
    (0, 0): "5A",
    (1, 0): "12A",
    (2, 0): "7A",
    (3, 0): "2A",
    (4, 0): "9A",
    (5, 0): "4A",
    (6, 0): "11A",
    (7, 0): "6A",
    (8, 0): "1A",
    (9, 0): "8A",
    (10, 0): "3A",
    (11, 0): "10A",
    (0, 1): "8B",
    (1, 1): "3B",
    (2, 1): "10B",
    (3, 1): "5B",
    (4, 1): "12B",
    (5, 1): "7B",
    (6, 1): "2B",
    (7, 1): "9B",
    (8, 1): "4B",
    (9, 1): "11B",
    (10, 1): "6B",
    (11, 1): "1B",
}


@pytest.mark.parametrize(("key", "mode", "code"), [(k, m, c) for (k, m), c in WHEEL.items()])
def test_every_key_has_its_camelot_code(key: int, mode: int, code: str) -> None:
    assert camelot(key, mode) == code


def test_the_table_covers_the_wheel_once() -> None:
    assert sorted(WHEEL.values()) == sorted(CODES)
    assert len(set(CODES)) == 24
    assert camelot_from_package is camelot


@pytest.mark.parametrize(
    ("code", "name"),
    [("8A", "A minor"), ("8B", "C major"), ("1A", "G♯ minor"), ("3B", "D♭ major"), ("12B", "E major")],
)
def test_key_names(code: str, name: str) -> None:
    assert key_name(code) == name


def test_key_names_are_all_different() -> None:
    assert len({key_name(code) for code in CODES}) == 24


@pytest.mark.parametrize(("key", "mode"), [(-1, 0), (12, 1), (3, 2), (3, -1)])
def test_no_code_for_impossible_keys(key: int, mode: int) -> None:
    with pytest.raises(ValueError, match="no Camelot code"):
        camelot(key, mode)


@pytest.mark.parametrize("code", ["", "8", "0A", "13B", "8C", "A8", "8AB"])
def test_parse_rejects_what_is_not_a_code(code: str) -> None:
    with pytest.raises(ValueError, match="not a Camelot code"):
        parse(code)


def test_parse_and_index() -> None:
    assert parse("10b") == (10, "B")
    assert [index(code) for code in CODES] == list(range(24))


@pytest.mark.parametrize(
    ("code", "semitones", "moved"),
    [
        ("8A", 1, "3A"),
        ("8A", -1, "1A"),
        ("8A", 2, "10A"),
        ("12B", 1, "7B"),
        ("5A", 12, "5A"),
        ("8B", 0, "8B"),
    ],
)
def test_a_semitone_is_seven_steps_round_the_wheel(code: str, semitones: int, moved: str) -> None:
    assert shift(code, semitones) == moved


@pytest.mark.parametrize(("key", "mode"), list(WHEEL))
def test_shift_matches_transposing_the_key(key: int, mode: int) -> None:
    for semitones in range(-13, 14):
        assert shift(camelot(key, mode), semitones) == camelot((key + semitones) % 12, mode)


@pytest.mark.parametrize(
    ("a", "b", "name", "points"),
    [
        ("8A", "8A", "same key", 100),
        ("8A", "8B", "relative", 95),
        ("8B", "8A", "relative", 95),
        ("8A", "9A", "adjacent", 88),
        ("8A", "7A", "adjacent", 88),
        ("12A", "1A", "adjacent", 88),
        ("1B", "12B", "adjacent", 88),
        # DJ transition moves clash when both songs sound at once.
        ("8A", "9B", "clash", 0),
        ("8B", "7A", "clash", 0),
        ("8A", "7B", "clash", 0),
        ("8A", "10A", "clash", 0),
        ("10A", "8A", "clash", 0),
        ("8A", "3A", "clash", 0),
        ("8A", "2B", "clash", 0),
        ("8A", "10B", "clash", 0),
    ],
)
def test_overlay_relations(a: str, b: str, name: str, points: int) -> None:
    assert relation(a, b) == (name, points)


def test_relative_is_at_least_as_good_as_one_step() -> None:
    assert relation("8A", "8B").points >= relation("8A", "9A").points > 0


codes = st.sampled_from(CODES)


@settings(deadline=None)  # no wall-clock limit: the machine may be loaded
@given(codes, codes)
def test_relations_are_symmetric(a: str, b: str) -> None:
    assert relation(a, b) == relation(b, a)
    assert 0 <= relation(a, b).points <= 100


@settings(deadline=None)  # no wall-clock limit: the machine may be loaded
@given(codes, codes)
def test_good_overlays_share_six_or_seven_notes(a: str, b: str) -> None:
    def notes(code: str) -> set[int]:
        number, letter = parse(code)
        major_tonic = (number - 8) * 7 % 12 if letter == "B" else ((number - 5) * 7 + 3) % 12
        return {(major_tonic + step) % 12 for step in (0, 2, 4, 5, 7, 9, 11)}

    shared = len(notes(a) & notes(b))
    if relation(a, b).points:
        assert shared >= 6


@pytest.mark.parametrize(
    ("code", "open_key_code"),
    [("8B", "1d"), ("8A", "1m"), ("9B", "2d"), ("7A", "12m"), ("1B", "6d"), ("12A", "5m")],
)
def test_open_key_notation(code: str, open_key_code: str) -> None:
    assert open_key(code) == open_key_code


@settings(deadline=None)  # no wall-clock limit: the machine may be loaded
@given(codes, codes, st.integers(-24, 24))
def test_transposing_both_keys_keeps_their_relation(a: str, b: str, semitones: int) -> None:
    assert relation(shift(a, semitones), shift(b, semitones)) == relation(a, b)


@settings(deadline=None)  # no wall-clock limit: the machine may be loaded
@given(codes)
def test_a_key_is_the_same_as_itself(code: str) -> None:
    assert relation(code, code) == ("same key", 100)
