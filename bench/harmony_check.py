"""An independent judge of mash-up pairs for the evaluation, written apart from the engine's scoring.

It imports nothing of `fanapp.engine` and knows no Camelot wheel: two keys are compared by correlating
their Krumhansl-Kessler key profiles (how strongly each of the 12 pitch classes belongs to a key, from
listening experiments), allowing one song to be transposed by up to two semitones at a cost, and two
tempos by how far apart they are once half or double time is allowed.
"""

from __future__ import annotations

import math

import numpy as np

# Krumhansl & Kessler (1982) probe-tone profiles, tonic first.
MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
CLEAN_KEYS = 0.30  # at or above: same, relative, a fifth, parallel modes; below: diagonals, +2, semitones
CLEAN_TEMPO = 0.08  # the most a tempo may be stretched
SHIFT_COST = 0.06  # per semitone of transposition


def profile(key: int, mode: int) -> np.ndarray:
    """The key profile of a pitch class (0-11) in a mode (1 major, 0 minor), indexed by pitch class."""
    return np.roll(MAJOR if mode == 1 else MINOR, key)


def key_fit(a: tuple[int, int], b: tuple[int, int]) -> tuple[float, int]:
    """How well two keys sound together (correlation, after the cheapest helpful transposition of b)."""
    best, moved = -1.0, 0
    for shift in (0, -1, 1, -2, 2):
        r = float(np.corrcoef(profile(*a), profile((b[0] + shift) % 12, b[1]))[0, 1]) - SHIFT_COST * abs(
            shift
        )
        if r > best + 1e-12:
            best, moved = r, shift
    return best, moved


def tempo_gap(a: float, b: float) -> float:
    """How far apart two tempos are, as a fraction, counting half and double time."""
    return min(math.expm1(abs(math.log(a / (b * m)))) for m in (1.0, 2.0, 0.5))


def score(a: dict[str, float], b: dict[str, float]) -> float:
    """0-1: keys (60%) and tempo (40%), from the songs' published features."""
    fit, _ = key_fit((int(a["key"]), int(a["mode"])), (int(b["key"]), int(b["mode"])))
    gap = tempo_gap(a["tempo"], b["tempo"])
    return 0.6 * max(fit, 0.0) + 0.4 * (max(0.0, 1 - gap / CLEAN_TEMPO) if gap <= CLEAN_TEMPO else 0.0)


def clean(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether the two songs play cleanly at once with key lock (allowing a two-semitone transposition)."""
    fit, _ = key_fit((int(a["key"]), int(a["mode"])), (int(b["key"]), int(b["mode"])))
    return fit >= CLEAN_KEYS and tempo_gap(a["tempo"], b["tempo"]) <= CLEAN_TEMPO + 1e-9
