"""Beatmatching rules: tolerance tiers, half and double time, and the key shift from pitching."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanapp.engine.tempo import (
    key_steps,
    match,
    pitch_steps,
    pitch_steps_array,
    points,
    points_array,
    semitone_shift,
    tier,
)

bpm = st.floats(min_value=40, max_value=250)


def test_equal_tempos_match_as_they_are() -> None:
    found = match(120, 120)
    assert (found.multiple, found.ratio, found.drift, found.tier) == (1.0, 1.0, 0.0, 3)
    assert found.points == 100


def test_half_speed_plays_at_double_time() -> None:
    found = match(124, 62)
    assert found.multiple == 2.0
    assert found.ratio == pytest.approx(1.0)
    assert found.tier == 3


def test_double_speed_plays_at_half_time() -> None:
    found = match(62, 124)
    assert found.multiple == 0.5
    assert found.tier == 3


def test_near_double_time_within_a_tier() -> None:
    found = match(128, 62)  # 124 when counted double, 3.2% short
    assert found.multiple == 2.0
    assert found.tier == 6


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (100, 100, 3),
        (100, 103, 3),
        (103, 100, 3),
        (100, 104, 6),
        (100, 106, 6),
        (100, 107, 8),
        (100, 108, 8),
        (100, 109, None),
        (120, 240, 3),
        (120, 60, 3),
        (120, 90, None),
    ],
)
def test_tiers(a: float, b: float, expected: int | None) -> None:
    assert match(a, b).tier == expected


def test_tier_boundaries() -> None:
    assert [tier(d) for d in (0.0, 0.03, 0.0301, 0.06, 0.0601, 0.08, 0.0801)] == [3, 3, 6, 6, 8, 8, None]


def test_drift_counts_from_the_slower_tempo() -> None:
    # 97 -> 100 is 3.1% faster, even though 100 -> 97 is 3% slower: the same in either direction.
    assert match(100, 97).drift == pytest.approx(match(97, 100).drift) == pytest.approx(3 / 97)
    assert match(100, 97).tier == 6


def test_points_fall_with_drift() -> None:
    drifts = [i / 1000 for i in range(0, 200)]
    scores = [points(d) for d in drifts]
    assert scores[0] == 100
    assert scores == sorted(scores, reverse=True)
    assert points(0.03) > points(0.06) > points(0.08) > points(0.12) > points(0.16) == 0
    assert points(0.5) == 0


def test_half_and_double_time_cost_a_little() -> None:
    assert points(0.0, 2.0) == points(0.0, 0.5) == 95
    assert points(0.2, 2.0) == 0


@pytest.mark.parametrize("a", [0.0, -120.0, math.nan, math.inf])
def test_match_needs_real_tempos(a: float) -> None:
    with pytest.raises(ValueError, match="positive"):
        match(a, 120)


def test_semitone_shift() -> None:
    assert semitone_shift(2.0) == pytest.approx(12)
    assert semitone_shift(1.0) == 0
    assert semitone_shift(1.06) == pytest.approx(1.0, abs=0.01)  # about 6% is a semitone
    assert semitone_shift(0.94) == pytest.approx(-1.07, abs=0.01)
    assert match(120, 113.2).semitones == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize(
    ("ratio", "steps"), [(1.0, 0), (1.02, 0), (1.03, 1), (1.06, 1), (0.94, -1), (1.12, 2)]
)
def test_key_steps_round_the_shift(ratio: float, steps: int) -> None:
    assert key_steps(ratio) == steps


@pytest.mark.parametrize(
    ("ratio", "steps"),
    [
        (1.0, 0),
        (1.02, 0),
        (1 / 1.02, 0),
        (1.03, 0),
        (1.035, 1),
        (1.06, 1),
        (1 / 1.06, -1),
        (1.08, 1),
        (1.1, 0),
    ],
)
def test_pitching_moves_the_key_only_between_three_and_eight_percent(ratio: float, steps: int) -> None:
    assert pitch_steps(ratio) == steps
    assert match(100, 100 / ratio).steps == steps


@given(bpm, bpm)
def test_match_is_the_same_either_way_round(a: float, b: float) -> None:
    forth, back = match(a, b), match(b, a)
    assert forth.drift == pytest.approx(back.drift)
    if max(a, b) <= 2 * min(a, b):  # then half or double time always brings them within a factor √2
        assert forth.drift <= math.sqrt(2) - 1 + 1e-9


@given(st.floats(min_value=0, max_value=1), st.sampled_from([1.0, 2.0, 0.5]))
def test_vector_points_agree_with_points(drift: float, multiple: float) -> None:
    vector = points_array(np.array([drift]), np.array([multiple]))
    assert vector[0] == pytest.approx(points(drift, multiple))
    assert 0 <= points(drift, multiple) <= 100


@given(st.floats(min_value=0.5, max_value=2.0))
def test_vector_steps_agree_with_pitch_steps(ratio: float) -> None:
    assert pitch_steps_array(np.array([math.log(ratio)]))[0] == pitch_steps(ratio)
