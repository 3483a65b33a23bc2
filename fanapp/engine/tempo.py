"""Beatmatching: how far two tempos are apart, counting half and double time, and what pitching costs."""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# A beat can be counted as it is, twice as fast, or half as fast; earlier entries win ties.
MULTIPLES: Final = (1.0, 2.0, 0.5)

# Tolerances DJs work with: ±3% is seamless, ±6% fine, ±8% a stretch.
TIERS: Final = (3, 6, 8)
_SLACK: Final = 1e-9  # so that 100 and 103 BPM count as 3% apart despite binary floating point

# Points for a drift (as a fraction): linear between these corners, 0 beyond the last.
POINTS_CURVE: Final = ((0.0, 100.0), (0.03, 92.0), (0.06, 75.0), (0.08, 55.0), (0.16, 0.0))
HALF_DOUBLE_PENALTY: Final = 5.0  # counting a beat twice works, but a straight match feels tighter
_CURVE_X: Final = np.array([x for x, _ in POINTS_CURVE])
_CURVE_Y: Final = np.array([y for _, y in POINTS_CURVE])


class TempoMatch(NamedTuple):
    """How track b meets track a: counted at `multiple` times its tempo, then sped up by `ratio`."""

    multiple: float
    ratio: float

    @property
    def drift(self) -> float:
        """How far apart the two tempos are as a fraction (0.05 = 5%), the same in either direction."""
        return math.expm1(abs(math.log(self.ratio)))

    @property
    def tier(self) -> int | None:
        """The tightest tolerance (3, 6 or 8 percent) the match falls within, None beyond 8%."""
        return tier(self.drift)

    @property
    def semitones(self) -> float:
        """How far pitching b by `ratio` moves its key, in semitones."""
        return semitone_shift(self.ratio)

    @property
    def steps(self) -> int:
        """Whole semitones b's key moves when a DJ pitches it to meet a (see `pitch_steps`)."""
        return pitch_steps(self.ratio)

    @property
    def points(self) -> float:
        """Tempo points 0-100 for this match."""
        return points(self.drift, self.multiple)


def match(a_bpm: float, b_bpm: float) -> TempoMatch:
    """The closest way for b to meet a's tempo: as is, at double time, or at half time."""
    if not (a_bpm > 0 and b_bpm > 0 and math.isfinite(a_bpm) and math.isfinite(b_bpm)):
        raise ValueError(f"tempos must be positive numbers, not {a_bpm!r} and {b_bpm!r}")
    multiple = min(MULTIPLES, key=lambda m: abs(math.log(a_bpm / (b_bpm * m))))
    return TempoMatch(multiple, a_bpm / (b_bpm * multiple))


def tier(drift: float) -> int | None:
    """The tightest tolerance (3, 6 or 8 percent) a drift such as 0.05 falls within, None beyond."""
    return next((t for t in TIERS if drift <= t / 100 + _SLACK), None)


def points(drift: float, multiple: float = 1.0) -> float:
    """Tempo points 0-100 for a drift, a little less when a beat is counted at half or double time."""
    return float(points_array(np.array([drift]), np.array([multiple]))[0])


def points_array(drift: FloatArray, multiple: FloatArray) -> FloatArray:
    """`points` for whole arrays of drifts and multiples at once."""
    penalty = np.where(multiple == 1.0, 0.0, HALF_DOUBLE_PENALTY)
    curve: FloatArray = np.interp(drift, _CURVE_X, _CURVE_Y)
    return np.maximum(curve - penalty, 0.0)


def semitone_shift(ratio: float) -> float:
    """Semitones a track moves when played `ratio` times as fast without key lock: 12·log2(ratio).

    About 6% faster is one semitone up, which is 7 steps clockwise on the Camelot wheel.
    """
    return 12 * math.log2(ratio)


def key_steps(ratio: float) -> int:
    """Whole semitones a `ratio` change of speed moves a key (rounded), e.g. 1.06 -> 1."""
    return round(semitone_shift(ratio))


def pitch_steps(ratio: float) -> int:
    """Semitones a track's key moves when a DJ pitches it by `ratio` to beatmatch.

    None within ±3% (the key still sounds the same) or beyond ±8% (nobody pitches that far);
    in between, the rounded 12·log2(ratio): one semitone either way.
    """
    return int(pitch_steps_array(np.array([math.log(ratio)]))[0])


def pitch_steps_array(log_ratio: FloatArray) -> IntArray:
    """`pitch_steps` for a whole array of natural-log speed ratios."""
    drift = np.expm1(np.abs(log_ratio))
    pitched = (drift > TIERS[0] / 100 + _SLACK) & (drift <= TIERS[-1] / 100 + _SLACK)
    steps: IntArray = np.where(pitched, np.rint(12 * log_ratio / math.log(2)), 0).astype(np.int64)
    return steps
