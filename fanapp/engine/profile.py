"""What the engine knows about one song: who made it, how the listener relates to it, how it sounds."""

from __future__ import annotations

import hashlib
import itertools
import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

FEATURE_NAMES: Final = (
    "tempo",
    "key",
    "mode",
    "energy",
    "valence",
    "danceability",
    "acousticness",
    "instrumentalness",
    "speechiness",
)

# Inclusive bounds of a believable value. Anything else (tempo 0, key -1, NaN) is unknown, never repaired.
FEATURE_RANGES: Final[Mapping[str, tuple[float, float]]] = {
    "tempo": (40.0, 250.0),
    "key": (0.0, 11.0),
    "mode": (0.0, 1.0),
    **dict.fromkeys(FEATURE_NAMES[3:], (0.0, 1.0)),
}
_WHOLE_NUMBERS: Final = frozenset({"key", "mode"})

# What a top-list rank says about devotion: a long-term favourite has lasted, a short-term one may be a phase.
_RANGE_WEIGHT: Final[Mapping[str, float]] = {"short_term": 2.0, "medium_term": 2.5, "long_term": 3.0}
_OTHER_RANGE_WEIGHT: Final = 1.5
_MOST_PLAYS: Final = 10**9  # more is a data error, and would overflow a float


def clean_feature(name: str, value: object) -> float | None:
    """The value as a float when it is believable for feature `name`, else None (unknown)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    low, high = FEATURE_RANGES[name]
    if not low <= number <= high:  # also rejects NaN
        return None
    if name in _WHOLE_NUMBERS and number != math.floor(number):
        return None
    return number


def rank_score(rank: object) -> float:
    """What a top-list rank is worth: 1 for rank 1, half that at rank 11, 0 for no rank or a nonsense one."""
    if isinstance(rank, int) and not isinstance(rank, bool) and rank >= 1:
        return 10 / (9 + rank)
    return 0.0


def rank_weight(top_ranks: Mapping[str, int] | None) -> float:
    """What a song's places in the top lists add to how loved it is (0 when it is in none)."""
    ranks = 0.0
    if top_ranks:
        for time_range, rank in top_ranks.items():
            ranks += _RANGE_WEIGHT.get(time_range, _OTHER_RANGE_WEIGHT) * rank_score(rank)
    return ranks


@dataclass(frozen=True, slots=True)
class Feature:
    """One measured value and where it came from ("demo", "spotify", "deezer", "reccobeats", ...)."""

    value: float
    source: str


@dataclass(frozen=True, slots=True)
class Features:
    """Optional musical features; None means unknown.

    key is a pitch class 0-11 (C=0), mode 1 major / 0 minor, tempo in BPM, the rest between 0 and 1.
    """

    tempo: Feature | None = None
    key: Feature | None = None
    mode: Feature | None = None
    energy: Feature | None = None
    valence: Feature | None = None
    danceability: Feature | None = None
    acousticness: Feature | None = None
    instrumentalness: Feature | None = None
    speechiness: Feature | None = None

    @classmethod
    def of(cls, source: str, **values: float | None) -> Features:
        """Features from plain numbers that share one source, e.g. `Features.of("demo", tempo=122)`."""
        return cls(**{name: Feature(value, source) for name, value in values.items() if value is not None})

    def get(self, name: str) -> float | None:
        """The value of feature `name`, or None when it is missing or not believable."""
        if name not in FEATURE_RANGES:
            raise KeyError(f"unknown feature {name!r}; expected one of {', '.join(FEATURE_NAMES)}")
        feature: Feature | None = getattr(self, name)
        return None if feature is None else clean_feature(name, feature.value)

    def source(self, name: str) -> str | None:
        """Where the value of feature `name` came from, or None when it is unknown."""
        if self.get(name) is None:
            return None
        feature: Feature = getattr(self, name)
        return feature.source


_ALL_FEATURES: Final = operator.attrgetter(*FEATURE_NAMES)


def feature_matrix(all_features: Sequence[Features]) -> FloatArray:
    """Believable feature values as an (n, 9) array in FEATURE_NAMES order, NaN where unknown.

    The same rules as `Features.get`, vectorised: the engine reads thousands of songs per request.
    """
    flat = [
        math.nan if f is None else f.value
        for f in itertools.chain.from_iterable(map(_ALL_FEATURES, all_features))
    ]
    try:
        try:  # `fromiter` is quicker than `array` on a long list, and takes plain numbers the same way
            matrix = np.fromiter(flat, np.float64, len(flat))
        except (TypeError, ValueError, OverflowError):  # something odd: as `array` takes it, or not at all
            matrix = np.array(flat, dtype=np.float64)
        matrix = matrix.reshape(len(all_features), len(FEATURE_NAMES))
    except (TypeError, ValueError, OverflowError):
        # Something that is not a number slipped in: take the slow, forgiving path.
        return np.array(
            [[math.nan if (v := x.get(name)) is None else v for name in FEATURE_NAMES] for x in all_features],
            dtype=np.float64,
        ).reshape(len(all_features), len(FEATURE_NAMES))
    low, high = np.array([FEATURE_RANGES[name] for name in FEATURE_NAMES]).T
    believable = (matrix >= low) & (matrix <= high)
    whole = [FEATURE_NAMES.index(name) for name in sorted(_WHOLE_NUMBERS)]
    believable[:, whole] &= matrix[:, whole] == np.floor(matrix[:, whole])
    return np.where(believable, matrix, np.nan)


@dataclass(frozen=True, slots=True)
class TrackProfile:
    """Everything the engine knows about one song in a listener's history."""

    id: str
    title: str
    artists: tuple[str, ...]
    album: str = ""
    release_year: int | None = None
    duration_ms: int | None = None
    explicit: bool = False
    isrc: str | None = None
    top_ranks: Mapping[str, int] = field(default_factory=dict)
    play_times: tuple[datetime, ...] = ()
    play_count: int = 0
    saved_at: datetime | None = None
    features: Features = Features()

    @property
    def stable_id(self) -> str:
        """The source's id, or for a local file without one an id derived from its title and artists."""
        if self.id and not self.id.isspace():
            return self.id
        # Local files have no id; the title and artists are the best stable identity they have.
        name = "\x1f".join(s.strip().casefold() for s in (self.title or "", *(self.artists or ())))
        return "local:" + hashlib.blake2b(name.encode(), digest_size=8).hexdigest()

    @property
    def plays(self) -> int:
        """How many plays are known: counted plays or timed plays, whichever says more."""
        count = self.play_count if isinstance(self.play_count, int) else 0
        return max(count, len(self.play_times or ()), 0)

    def weight(self) -> float:
        """How much the listener cares about this song (> 0): top-list ranks, plays and saving it."""
        plays = min(self.plays, _MOST_PLAYS)
        return (
            0.25
            + rank_weight(self.top_ranks)
            + math.log1p(plays)
            + (0.5 if self.saved_at is not None else 0.0)
        )
