"""Track profiles: sanitised features, stable ids for local files, and how much a song is loved."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanapp.engine import FEATURE_NAMES, Feature, Features, TrackProfile
from fanapp.engine.profile import feature_matrix


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("tempo", 122.0, 122.0),
        ("tempo", 40.0, 40.0),
        ("tempo", 250.0, 250.0),
        ("tempo", 0.0, None),
        ("tempo", 1000.0, None),
        ("tempo", 39.9, None),
        ("tempo", math.nan, None),
        ("tempo", math.inf, None),
        ("key", 0.0, 0.0),
        ("key", 11.0, 11.0),
        ("key", -1.0, None),
        ("key", 12.0, None),
        ("key", 3.5, None),
        ("mode", 1.0, 1.0),
        ("mode", 0.0, 0.0),
        ("mode", 2.0, None),
        ("mode", 0.5, None),
        ("energy", 0.0, 0.0),
        ("energy", 1.0, 1.0),
        ("energy", -0.1, None),
        ("energy", 1.2, None),
        ("speechiness", math.nan, None),
    ],
)
def test_get_returns_only_believable_values(name: str, value: float, expected: float | None) -> None:
    assert Features(**{name: Feature(value, "test")}).get(name) == expected


def test_missing_features_are_none() -> None:
    assert all(Features().get(name) is None for name in FEATURE_NAMES)


def test_unknown_feature_name_is_a_programming_error() -> None:
    with pytest.raises(KeyError, match="loudness"):
        Features().get("loudness")


def test_of_builds_features_from_one_source() -> None:
    features = Features.of("demo", tempo=122, energy=0.7, key=None)
    assert features.tempo == Feature(122, "demo")
    assert features.key is None
    assert features.source("tempo") == "demo"
    assert features.source("key") is None


def test_source_of_an_absurd_value_is_unknown() -> None:
    assert Features.of("spotify", tempo=0).source("tempo") is None


def test_not_a_number_is_unknown() -> None:
    odd = Features(tempo=Feature("fast", "x"), energy=Feature("0.5", "x"))  # type: ignore[arg-type]
    assert odd.get("tempo") is None
    assert odd.get("energy") == 0.5
    matrix = feature_matrix([odd])
    assert math.isnan(matrix[0, FEATURE_NAMES.index("tempo")])
    assert matrix[0, FEATURE_NAMES.index("energy")] == 0.5


values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-5, max_value=300),
    st.sampled_from([0.0, 1.0, 11.0, 40.0, 250.0, 0.5, -1.0, 12.0]),
)


@settings(deadline=None)  # no wall-clock limit: the machine may be loaded
@given(st.lists(st.fixed_dictionaries({name: values for name in FEATURE_NAMES}), max_size=6))
def test_feature_matrix_follows_get(rows: list[dict[str, float | None]]) -> None:
    features = [
        Features(**{k: None if v is None else Feature(v, "x") for k, v in row.items()}) for row in rows
    ]
    matrix = feature_matrix(features)
    assert matrix.shape == (len(rows), len(FEATURE_NAMES))
    for f, line in zip(features, matrix, strict=True):
        expected = [math.nan if (v := f.get(name)) is None else v for name in FEATURE_NAMES]
        np.testing.assert_array_equal(line, expected)


def test_stable_id_is_the_source_id() -> None:
    assert TrackProfile(id="abc", title="Song", artists=("A",)).stable_id == "abc"


def test_local_files_get_a_stable_id_from_title_and_artists() -> None:
    local = TrackProfile(id="", title="Demo Tape", artists=("Me",))
    again = TrackProfile(id="  ", title=" demo tape ", artists=("ME",), album="Other")
    other = TrackProfile(id="", title="Demo Tape", artists=("You",))
    assert local.stable_id.startswith("local:")
    assert local.stable_id == again.stable_id
    assert local.stable_id != other.stable_id


def test_weight_is_positive_even_with_nothing_known() -> None:
    assert TrackProfile(id="a", title="", artists=()).weight() > 0


def test_weight_rewards_ranks_plays_and_saving() -> None:
    def song(**kwargs: object) -> TrackProfile:
        return TrackProfile(id="a", title="Song", artists=("A",), **kwargs)  # type: ignore[arg-type]

    plain = song().weight()
    assert song(top_ranks={"short_term": 1}).weight() > song(top_ranks={"short_term": 50}).weight() > plain
    assert (
        song(top_ranks={"long_term": 1, "short_term": 1}).weight() > song(top_ranks={"long_term": 1}).weight()
    )
    assert song(play_count=100).weight() > song(play_count=3).weight() > plain
    assert song(saved_at=datetime(2024, 1, 1, tzinfo=UTC)).weight() > plain


def test_weight_counts_the_larger_of_counted_and_timed_plays() -> None:
    times = tuple(datetime(2025, 1, d, 12, tzinfo=UTC) for d in range(1, 11))
    timed = TrackProfile(id="a", title="Song", artists=(), play_times=times, play_count=2)
    counted = TrackProfile(id="a", title="Song", artists=(), play_count=10)
    assert timed.plays == counted.plays == 10
    assert timed.weight() == counted.weight()


def test_weight_ignores_nonsense_ranks_and_counts() -> None:
    odd = TrackProfile(
        id="a",
        title="Song",
        artists=(),
        top_ranks={"short_term": 0, "medium_term": -3, "long_term": True},
        play_count=-5,
    )
    assert odd.weight() == TrackProfile(id="a", title="Song", artists=()).weight()
    assert math.isfinite(TrackProfile(id="a", title="", artists=(), play_count=10**400).weight())
