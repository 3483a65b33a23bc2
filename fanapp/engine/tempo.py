"""Beatmatching with key lock: how far two tempos are apart, counting half and double time.

Mash-up tools and modern decks time-stretch with key lock: a song plays faster or slower and its key
stays where it was. So a tempo change never moves a key here; transposing is a separate, costed choice
(`fanapp.engine.mashup`).
"""

from __future__ import annotations

import math
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

# A beat can be counted as it is, twice as fast, or half as fast; earlier entries win ties.
MULTIPLES: Final = (1.0, 2.0, 0.5)

# Stretch tolerances: within 2% nobody hears it, 5% is clean with key lock, 8% is the most we stretch.
TIERS: Final = (2, 5, 8)
LIMIT: Final = TIERS[-1] / 100
_SLACK: Final = 1e-9  # so that 100 and 108 BPM count as 8% apart despite binary floating point

# Points for a drift (as a fraction): linear between these corners; beyond the limit a tempo clash.
POINTS_CURVE: Final = ((0.0, 100.0), (0.02, 94.0), (0.05, 78.0), (0.08, 55.0))
HALF_DOUBLE_PENALTY: Final = 6.0  # counting a beat twice works, but a straight match grooves tighter
_CURVE_X: Final = np.array([x for x, _ in POINTS_CURVE])
_CURVE_Y: Final = np.array([y for _, y in POINTS_CURVE])


class TempoMatch(NamedTuple):
    """How track b meets track a: counted at `multiple` times its tempo, then stretched by `ratio`."""

    multiple: float
    ratio: float

    @property
    def drift(self) -> float:
        """How far apart the two tempos are as a fraction (0.05 = 5%), the same in either direction."""
        return math.expm1(abs(math.log(self.ratio)))

    @property
    def tier(self) -> int | None:
        """The tightest tolerance (2, 5 or 8 percent) the match falls within, None beyond 8%."""
        return tier(self.drift)

    @property
    def points(self) -> float:
        """Tempo points 0-100 for this match (0 beyond the 8% limit)."""
        return points(self.drift, self.multiple)


def match(a_bpm: float, b_bpm: float) -> TempoMatch:
    """The closest way for b to meet a's tempo: as is, at double time, or at half time."""
    if not (a_bpm > 0 and b_bpm > 0 and math.isfinite(a_bpm) and math.isfinite(b_bpm)):
        raise ValueError(f"tempos must be positive numbers, not {a_bpm!r} and {b_bpm!r}")
    multiple = min(MULTIPLES, key=lambda m: abs(math.log(a_bpm / (b_bpm * m))))
    return TempoMatch(multiple, a_bpm / (b_bpm * multiple))


def tier(drift: float) -> int | None:
    """The tightest tolerance (2, 5 or 8 percent) a drift such as 0.04 falls within, None beyond."""
    return next((t for t in TIERS if drift <= t / 100 + _SLACK), None)


def within(drift: FloatArray) -> npt.NDArray[np.bool_]:
    """Which drifts can be stretched away with key lock (8% or less)."""
    result: npt.NDArray[np.bool_] = drift <= LIMIT + _SLACK
    return result


def points(drift: float, multiple: float = 1.0) -> float:
    """Tempo points 0-100 for a drift, a little less at half or double time, 0 beyond the limit."""
    return float(points_array(np.array([drift]), np.array([multiple]))[0])


def points_array(drift: FloatArray, multiple: FloatArray) -> FloatArray:
    """`points` for whole arrays of drifts and multiples at once."""
    penalty = np.where(multiple == 1.0, 0.0, HALF_DOUBLE_PENALTY)
    curve: FloatArray = np.interp(drift, _CURVE_X, _CURVE_Y)
    return np.where(within(drift), np.maximum(curve - penalty, 0.0), 0.0)


def meeting(a_bpm: float, b_bpm: float, multiple: float) -> float:
    """The tempo both songs are stretched to: halfway (geometrically), so each moves half as far."""
    return math.sqrt(a_bpm * b_bpm * multiple)
