"""Mash-ups: two songs played at once, scored by overlay harmony with key lock.

Both songs sound together, so the rules are an overlay's, not a DJ transition's: the keys must be the
same, relative (the same seven notes) or one step round the Camelot wheel; anything else clashes.
Tempos are matched by time-stretching with key lock, which leaves keys where they are, up to 8% after
counting a beat at half or double time. When the keys do not fit, one song may be transposed by one or
two semitones, at a cost that keeps every transposed pair below an untouched pair that is as good.

One honest scale, in bands that never overlap where it matters:

    60-100  clean: key and tempo both measured and both fit
    40-58   partly checked: one of them measured and fitting, the other unknown
    30-48   not checked: neither key nor tempo known (story, mood and era only)
     0-29   clash: a measured key or tempo that does not fit, whatever the story

so a pair that was not checked never outranks a clean one, and a clash never looks good. The score
of a pair depends on its two songs alone, so it reads the same in the builder, after a pick, on the
share page and in the images.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from fanapp.engine.camelot import ADJACENT, CODES, RELATIVE, SAME, key_name, relation
from fanapp.engine.history import BoolArray, IntArray, Table, fold, require_tracks
from fanapp.engine.model import MashupPair, Mix
from fanapp.engine.profile import FloatArray, TrackProfile
from fanapp.engine.tempo import (
    HALF_DOUBLE_PENALTY,
    MULTIPLES,
    POINTS_CURVE,
    meeting,
    points_array,
    tier,
    within,
)

HARMONY_SHARE, TEMPO_SHARE, MOOD_SHARE, LOVE_SHARE = 0.45, 0.35, 0.10, 0.10
# Transposing costs: a semitone is audible on voices, two more so. 15 points per semitone put a transposed
# same-key pair (85) below an untouched adjacent one (88): touching a song is the last resort.
SHIFTS: Final = (0, -1, 1, -2, 2)  # tried in this order; the first of equal results wins
TRANSPOSE_COST: Final = {0: 0.0, 1: 15.0, 2: 30.0}
NEUTRAL: Final = 50.0
MOOD_SPAN: Final = 0.5  # energies this far apart (or more) get no mood points
ERA_SPAN: Final = 20  # years apart that get no era points
LOVE_HALF: Final = 3.0  # a song's weight at which it counts as half loved

CLEAN_FLOOR, PARTIAL_FLOOR, PARTIAL_TOP, UNCHECKED_FLOOR, UNCHECKED_TOP, CLASH_TOP = 60, 40, 58, 30, 48, 29
# The least a clean pair can make of its measured points: the loosest key (adjacent, transposed two
# semitones), the loosest tempo (8% at double time), nothing for mood and love. It maps to CLEAN_FLOOR.
RAW_MIN: Final = HARMONY_SHARE * (ADJACENT.points - TRANSPOSE_COST[2]) + TEMPO_SHARE * (
    POINTS_CURVE[-1][1] - HALF_DOUBLE_PENALTY
)

NOT_CHECKED: Final = "not checked: no key/tempo known"
NO_KEY: Final = "not checked: no key known"
NO_TEMPO: Final = "not checked: no tempo known"

_KEY_POINTS: Final = np.array([[relation(a, b).points for b in CODES] for a in CODES], dtype=np.float64)
_MULTIPLES: Final = np.array(MULTIPLES)
_SEMITONES: Final = {1: "a semitone", 2: "two semitones"}


@dataclass(frozen=True, eq=False)
class Grid:
    """Every component of every pair's score, as (songs in A) x (songs in B) arrays."""

    key_known: BoolArray
    key_good: BoolArray
    shift: IntArray  # semitones B would move (transposing A instead moves it the other way)
    harmony: FloatArray
    tempo_known: BoolArray
    tempo_good: BoolArray
    multiple: FloatArray
    drift: FloatArray
    tempo: FloatArray
    mood: FloatArray  # NaN when neither energy nor valence is known for both
    love: FloatArray
    era: FloatArray
    score: FloatArray  # -inf for pairs that may not be made (the same song, a shared artist)


def love(weight: FloatArray) -> FloatArray:
    """How loved songs are, 0-1, from their weights alone (so a pair's score needs no other songs)."""
    result: FloatArray = weight / (weight + LOVE_HALF)
    return result


def _closeness(a: FloatArray, b: FloatArray, span: float) -> FloatArray:
    """100 for equal values falling to 0 at `span` apart, NaN where either is unknown."""
    result: FloatArray = 100 * np.clip(1 - np.abs(a[:, None] - b[None, :]) / span, 0.0, 1.0)
    return result


def _artists(track: TrackProfile) -> frozenset[str]:
    return frozenset(f for name in track.artists or () if isinstance(name, str) and (f := fold(name)))


def forbidden(a: Table, b: Table) -> BoolArray:
    """Pairs that may not be made: a song with itself, or two songs that share an artist."""
    same = np.array(a.ids, dtype=object)[:, None] == np.array(b.ids, dtype=object)[None, :]
    a_sets, b_sets = [_artists(t) for t in a.tracks], [_artists(t) for t in b.tracks]
    shared = np.array([[bool(x & y) for y in b_sets] for x in a_sets], dtype=bool).reshape(len(a), len(b))
    result: BoolArray = same | shared
    return result


def _harmony(a: Table, b: Table) -> tuple[BoolArray, BoolArray, IntArray, FloatArray]:
    ca, cb = a.code[:, None], b.code[None, :]
    known = (ca >= 0) & (cb >= 0)
    ca0, cb0 = np.maximum(ca, 0), np.maximum(cb, 0)
    options = []
    for semitones in SHIFTS:
        moved = cb0 // 12 * 12 + (cb0 % 12 + 7 * semitones) % 12
        points = _KEY_POINTS[ca0, moved]
        options.append(np.where(points > 0, points - TRANSPOSE_COST[abs(semitones)], -np.inf))
    stacked = np.stack(options)
    best = np.argmax(stacked, axis=0)
    value = np.take_along_axis(stacked, best[None], axis=0)[0]
    good = known & np.isfinite(value)
    shift = np.where(good, np.array(SHIFTS)[best], 0).astype(np.int64)
    return known, good, shift, np.where(good, value, 0.0)


def _tempo(a: Table, b: Table) -> tuple[BoolArray, BoolArray, FloatArray, FloatArray, FloatArray]:
    ta, tb = a.feature("tempo")[:, None], b.feature("tempo")[None, :]
    known = ~np.isnan(ta) & ~np.isnan(tb)
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.stack([np.log(ta / (tb * m)) for m in MULTIPLES])
    pick = np.argmin(np.where(np.isnan(logs), np.inf, np.abs(logs)), axis=0)
    log_ratio = np.where(known, np.take_along_axis(logs, pick[None], axis=0)[0], 0.0)
    drift = np.expm1(np.abs(log_ratio))
    multiple = _MULTIPLES[pick]
    good = known & within(drift)
    return known, good, multiple, drift, np.where(known, points_array(drift, multiple), 0.0)


def grid(a: Table, b: Table) -> Grid:
    """Score every pair of one song of `a` with one of `b`."""
    key_known, key_good, shift, harmony = _harmony(a, b)
    tempo_known, tempo_good, multiple, drift, tempo = _tempo(a, b)
    energy = _closeness(a.feature("energy"), b.feature("energy"), MOOD_SPAN)
    valence = _closeness(a.feature("valence"), b.feature("valence"), MOOD_SPAN)
    mood = np.where(np.isnan(energy), valence, energy)
    loved = 100 * (love(a.weight)[:, None] + love(b.weight)[None, :]) / 2
    era = _closeness(a.year, b.year, ERA_SPAN)
    mood_or_neutral = np.where(np.isnan(mood), NEUTRAL, mood)
    extras = MOOD_SHARE * mood_or_neutral + LOVE_SHARE * loved

    clash = (key_known & ~key_good) | (tempo_known & ~tempo_good)
    full = HARMONY_SHARE * harmony + TEMPO_SHARE * tempo + extras
    clean = CLEAN_FLOOR + (100 - CLEAN_FLOOR) * np.clip((full - RAW_MIN) / (100 - RAW_MIN), 0.0, 1.0)
    share = np.where(key_known, HARMONY_SHARE, 0.0) + np.where(tempo_known, TEMPO_SHARE, 0.0)
    one = (HARMONY_SHARE * harmony * key_known + TEMPO_SHARE * tempo * tempo_known + extras) / (
        share + MOOD_SHARE + LOVE_SHARE
    )
    partial = PARTIAL_FLOOR + (PARTIAL_TOP - PARTIAL_FLOOR) * one / 100
    facts = np.stack([mood, era, loved])
    counted = (~np.isnan(facts)).sum(axis=0)
    meta = np.nansum(facts, axis=0) / np.maximum(counted, 1)
    unchecked = UNCHECKED_FLOOR + (UNCHECKED_TOP - UNCHECKED_FLOOR) * meta / 100
    clashing = (
        CLASH_TOP
        * (
            HARMONY_SHARE * np.where(key_known, harmony, NEUTRAL)
            + TEMPO_SHARE * np.where(tempo_known, tempo, NEUTRAL)
            + extras
        )
        / 100
    )
    score = np.select(
        [clash, key_known & tempo_known, key_known | tempo_known], [clashing, clean, partial], unchecked
    )
    return Grid(
        key_known=key_known,
        key_good=key_good,
        shift=shift,
        harmony=harmony,
        tempo_known=tempo_known,
        tempo_good=tempo_good,
        multiple=multiple,
        drift=drift,
        tempo=tempo,
        mood=mood,
        love=loved,
        era=era,
        score=np.where(forbidden(a, b), -np.inf, np.clip(score, 0.0, 100.0)),
    )


def best_pairs(a: Table, b: Table, top: int, *, bonus: FloatArray | None = None) -> tuple[MashupPair, ...]:
    """The `top` best pairs of one song of `a` with one of `b`, best first, each with its reasons.

    Ties on the score go to the larger `bonus` (how well each pair ends its two stories), then to
    the earlier rows.
    """
    if top <= 0 or len(a) == 0 or len(b) == 0:
        return ()
    found = grid(a, b)
    rows, cols = np.indices(found.score.shape)
    extra = np.zeros(found.score.shape) if bonus is None else bonus
    order = np.lexsort((cols.ravel(), rows.ravel(), -extra.ravel(), -found.score.ravel()))
    pairs = []
    for flat in order[:top]:
        i, j = int(rows.flat[flat]), int(cols.flat[flat])
        if not np.isfinite(found.score[i, j]):
            break
        pairs.append(explain(a, b, found, i, j))
    return tuple(pairs)


def _title(track: TrackProfile) -> str:
    title = track.title.strip() if isinstance(track.title, str) else ""
    return f"'{title}'" if title else "an untitled song"


def _bpm(value: float) -> str:
    return f"{value:.0f}"


def _percent(fraction: float) -> str:
    """A whole percentage, or one decimal where rounding would hide which side of a tier it is on."""
    whole = round(fraction * 100)
    return f"{whole}%" if tier(whole / 100) == tier(fraction) else f"{fraction * 100:.1f}%"


def _key(code: str) -> str:
    return f"{code} ({key_name(code)})"


_PITCHES: Final = ("C", "C♯/D♭", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")


def explain(a: Table, b: Table, found: Grid, i: int, j: int) -> MashupPair:
    """The pair at row i of `a` and row j of `b`: its score, its mix and its reasons in words."""
    return _Explained(a, b, found, i, j).pair()


class _Explained:
    """One pair as measured, and in words, in the order a fan asks: beat, key, mood, love."""

    def __init__(self, a: Table, b: Table, found: Grid, i: int, j: int) -> None:
        self.a, self.b, self.g, self.i, self.j = a, b, found, i, j
        self.track_a, self.track_b = a.tracks[i], b.tracks[j]
        self.titles = (_title(self.track_a), _title(self.track_b))

    def pair(self) -> MashupPair:
        mix = self.mix()
        reasons = [*self.tempo(mix), *self.key(mix), *self.mood(), self.love()]
        if mix.verdict == "not checked":
            unchecked = ("tempo not checked", "key not checked")
            reasons = [NOT_CHECKED, *self.era(), *[r for r in reasons if not r.startswith(unchecked)]]
        return MashupPair(
            a_id=self.a.ids[self.i],
            b_id=self.b.ids[self.j],
            score=round(float(self.g.score[self.i, self.j])),
            reasons=tuple(reasons),
            mix=mix,
        )

    def mix(self) -> Mix:
        g, i, j = self.g, self.i, self.j
        code_a, code_b = int(self.a.code[i]), int(self.b.code[j])
        pitch_a, pitch_b = int(self.a.pitch[i]), int(self.b.pitch[j])
        semitones = int(g.shift[i, j])
        transposed = shifted = None
        if semitones:
            # Pitch the less-loved song, so the one the listener knows best sounds as they know it.
            if self.a.weight[i] < self.b.weight[j]:
                transposed, semitones = "a", -semitones
                shifted = CODES[code_a // 12 * 12 + (code_a % 12 + 7 * semitones) % 12]
            else:
                transposed = "b"
                shifted = CODES[code_b // 12 * 12 + (code_b % 12 + 7 * semitones) % 12]
        key_check = "unknown" if not g.key_known[i, j] else "good" if g.key_good[i, j] else "clash"
        tempo_check = "unknown" if not g.tempo_known[i, j] else "good" if g.tempo_good[i, j] else "clash"
        relation_name = None
        if key_check != "unknown":
            heard_a = shifted if transposed == "a" else CODES[code_a]
            heard_b = shifted if transposed == "b" else CODES[code_b]
            relation_name = relation(str(heard_a), str(heard_b)).name
        bpm_a, bpm_b = float(self.a.feature("tempo")[i]), float(self.b.feature("tempo")[j])
        multiple = float(g.multiple[i, j]) if tempo_check != "unknown" else 1.0
        if "clash" in (key_check, tempo_check):
            verdict, label = "clash", ""
        elif key_check == tempo_check == "good":
            verdict, label = "clean", ""
        elif key_check == tempo_check == "unknown":
            verdict, label = "not checked", NOT_CHECKED
        else:
            verdict, label = "partly checked", NO_KEY if key_check == "unknown" else NO_TEMPO
        return Mix(
            a_key=CODES[code_a] if code_a >= 0 else None,
            b_key=CODES[code_b] if code_b >= 0 else None,
            a_pitch=_PITCHES[pitch_a] if pitch_a >= 0 else None,
            b_pitch=_PITCHES[pitch_b] if pitch_b >= 0 else None,
            transposed=transposed,
            semitones=semitones,
            shifted=shifted,
            relation=relation_name,
            key_check=key_check,
            a_bpm=None if math.isnan(bpm_a) else round(bpm_a, 1),
            b_bpm=None if math.isnan(bpm_b) else round(bpm_b, 1),
            multiple=multiple,
            meet_bpm=round(meeting(bpm_a, bpm_b, multiple), 1) if tempo_check == "good" else None,
            drift=round(float(g.drift[i, j]), 4) if tempo_check != "unknown" else None,
            tempo_check=tempo_check,
            verdict=verdict,
            label=label,
        )

    def _missing(self, known: tuple[bool, bool]) -> str:
        return " or ".join(t for t, ok in zip(self.titles, known, strict=True) if not ok)

    def tempo(self, mix: Mix) -> list[str]:
        if mix.tempo_check == "unknown":
            missing = self._missing((mix.a_bpm is not None, mix.b_bpm is not None))
            return [f"tempo not checked: no tempo known for {missing}"]
        assert mix.a_bpm is not None and mix.b_bpm is not None and mix.drift is not None
        title_a, title_b = self.titles
        counted = {2.0: "counted at double time", 0.5: "counted at half time"}.get(mix.multiple)
        b_side = f"{title_b} {_bpm(mix.b_bpm)} BPM" + (
            f" {counted} ({_bpm(mix.b_bpm * mix.multiple)})" if counted else ""
        )
        both = f"{title_a} {_bpm(mix.a_bpm)} BPM and {b_side}"
        if mix.tempo_check == "clash":
            return [f"{both}: {_percent(mix.drift)} apart, too far to stretch (8% at most)"]
        assert mix.meet_bpm is not None
        if mix.drift < 0.005:
            return [f"{both}: the same tempo"]
        return [
            f"{both}: {_percent(mix.drift)} apart, both stretched to {_bpm(mix.meet_bpm)} BPM "
            "with key lock, keys unchanged"
        ]

    def key(self, mix: Mix) -> list[str]:
        if mix.key_check == "unknown":
            half = [
                f"{title} is in {pitch} but its mode is unknown"
                for title, pitch, code in zip(
                    self.titles, (mix.a_pitch, mix.b_pitch), (mix.a_key, mix.b_key), strict=True
                )
                if pitch is not None and code is None
            ]
            missing = self._missing((mix.a_key is not None, mix.b_key is not None))
            return [f"key not checked: no key known for {missing}", *half]
        assert mix.a_key is not None and mix.b_key is not None
        if mix.key_check == "clash":
            return [
                f"{_key(mix.a_key)} and {_key(mix.b_key)} clash, even with one song transposed "
                "by up to two semitones"
            ]
        found = []
        heard_a, heard_b = mix.a_key, mix.b_key
        if mix.transposed is not None and mix.shifted is not None:
            title = self.titles[0] if mix.transposed == "a" else self.titles[1]
            direction = "up" if mix.semitones > 0 else "down"
            found.append(
                f"{title} is transposed {direction} {_SEMITONES[abs(mix.semitones)]} "
                f"to {key_name(mix.shifted)} ({mix.shifted})"
            )
            heard_a, heard_b = (mix.shifted, mix.b_key) if mix.transposed == "a" else (mix.a_key, mix.shifted)
        move = relation(heard_a, heard_b)
        if move == SAME:
            found.append(f"both in {_key(heard_a)}: the same key")
        elif move == RELATIVE:
            found.append(f"{_key(heard_a)} and {_key(heard_b)}: relative keys, the same seven notes")
        else:
            found.append(f"{_key(heard_a)} and {_key(heard_b)}: one step round the wheel, six notes shared")
        return found

    def mood(self) -> list[str]:
        i, j = self.i, self.j
        for name, label in (("energy", "energy"), ("valence", "mood")):
            value_a, value_b = float(self.a.feature(name)[i]), float(self.b.feature(name)[j])
            if not (math.isnan(value_a) or math.isnan(value_b)):
                alike = "similar" if abs(value_a - value_b) <= 0.15 else "contrasting"
                return [f"{alike} {label} ({value_a:.2f} vs {value_b:.2f})"]
        return []

    def era(self) -> list[str]:
        year_a, year_b = float(self.a.year[self.i]), float(self.b.year[self.j])
        if math.isnan(year_a) or math.isnan(year_b):
            return []
        if int(year_a) // 10 == int(year_b) // 10:
            return [f"both from the {int(year_a) // 10 * 10}s"]
        gap = abs(year_a - year_b)
        if gap >= ERA_SPAN:
            return [f"released {year_a:.0f} and {year_b:.0f}, decades apart"]
        return [f"released {year_a:.0f} and {year_b:.0f}, {'close in time' if gap <= 5 else 'years apart'}"]

    def love(self) -> str:
        loved = love(np.array([self.a.weight[self.i], self.b.weight[self.j]]))
        favourite = loved >= 0.6
        if favourite.all():
            return "two of your favourites"
        if favourite.any():
            return f"{self.titles[0] if favourite[0] else self.titles[1]} is one of your favourites"
        return "two songs from deeper in your history"


def _table(tracks: Sequence[TrackProfile]) -> Table:
    unique: dict[str, TrackProfile] = {}
    for track in tracks:
        unique.setdefault(track.stable_id, track)
    return Table.of(list(unique.values()))


def score_mashups(
    a: Sequence[TrackProfile], b: Sequence[TrackProfile], *, top: int = 3
) -> tuple[MashupPair, ...]:
    """The best mash-ups of one song of `a` with one of `b`, best first.

    A song never pairs with itself or with a song that shares an artist; an empty side gives no pairs.
    """
    a_songs, b_songs = require_tracks(a), require_tracks(b)
    if not a_songs or not b_songs or top <= 0:
        return ()
    return best_pairs(_table(a_songs), _table(b_songs), top)


def score_pair(a: TrackProfile, b: TrackProfile) -> MashupPair | None:
    """The mash-up of exactly these two songs, or None when they may not be paired (one artist, one song)."""
    (track_a,), (track_b,) = require_tracks([a]), require_tracks([b])
    table_a, table_b = Table.of([track_a]), Table.of([track_b])
    found = grid(table_a, table_b)
    if not np.isfinite(found.score[0, 0]):
        return None
    return explain(table_a, table_b, found, 0, 0)
