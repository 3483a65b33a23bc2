"""Mash-ups: score pairs of one song from each character by the rules of harmonic mixing."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np

from fanapp.engine.camelot import (
    ADJACENT,
    CODES,
    DIAGONAL,
    ENERGY_BOOST,
    ENERGY_DROP,
    LOOSE_DIAGONAL,
    RELATIVE,
    SAME,
    key_name,
    relation,
)
from fanapp.engine.history import BoolArray, IntArray, Table, require_tracks
from fanapp.engine.model import MashupPair
from fanapp.engine.profile import FloatArray, TrackProfile
from fanapp.engine.tempo import MULTIPLES, pitch_steps_array, points_array, tier

SHORTLIST: Final = 40  # songs per character worth pairing: the most played, plus the arcs
TEMPO_SHARE, KEY_SHARE, MOOD_SHARE, STORY_SHARE = 0.3, 0.35, 0.15, 0.2
UNKNOWN_POINTS: Final = 40.0  # a tempo or key we cannot check is a risk, so a little below average
NEUTRAL_POINTS: Final = 50.0
MOOD_SPAN: Final = 0.5  # energies this far apart (or more) get no mood points
ERA_SPAN: Final = 20  # years apart that get no era points
# Without tempo and key a pair can still be a good story, but never outranks a verified harmonic match.
FALLBACK_FLOOR, FALLBACK_SPAN, FALLBACK_STORY_SHARE = 10.0, 0.75, 0.55
FALLBACK_NOTE: Final = "no tempo/key known: scored on story and metadata"
FINALE, ARC_SONG, OTHER_SONG = 1.0, 0.5, 0.0
PLACE_SHARE: Final = 0.8  # in the story term, a song's place in its arc; how loved it is settles the rest

_KEY_POINTS: Final = np.array([[relation(a, b).points for b in CODES] for a in CODES])
_MULTIPLES: Final = np.array(MULTIPLES)


@dataclass(frozen=True, eq=False)
class Side:
    """One character's candidate songs and their place in its story (1 finale, 0.5 arc song, 0 other)."""

    table: Table
    story: FloatArray


def shortlist(weight: FloatArray, must: IntArray, size: int = SHORTLIST) -> IntArray:
    """Rows worth pairing, most played first: the `size` most played plus the rows in `must`.

    Pairing only these keeps the search linear in the history, and a mash-up of deep cuts
    nobody plays would make a poor finale anyway.
    """
    by_love = np.lexsort((np.arange(len(weight)), -weight))
    rows = np.union1d(by_love[:size], must).astype(np.int64)
    return rows[np.lexsort((rows, -weight[rows]))]


@dataclass(frozen=True, eq=False)
class _Grid:
    """Every component of every pair's score, as (songs in A) x (songs in B) arrays."""

    multiple: FloatArray
    ratio: FloatArray  # speed change for B's song to meet A's tempo
    drift: FloatArray
    tempo_known: BoolArray
    steps: IntArray  # semitones B's song moves when a DJ pitches it by `ratio`
    shifted: IntArray  # B's Camelot index after pitching
    key_known: BoolArray
    mood: FloatArray  # NaN when neither energy nor valence is known for both
    story: FloatArray
    uses_features: BoolArray
    score: FloatArray


def _closeness(a: FloatArray, b: FloatArray, span: float) -> FloatArray:
    """100 for equal values falling to 0 at `span` apart, NaN where either is unknown."""
    return 100 * np.clip(1 - np.abs(a[:, None] - b[None, :]) / span, 0.0, 1.0)


def _score(a: Side, b: Side) -> _Grid:
    ta, tb = a.table.feature("tempo")[:, None], b.table.feature("tempo")[None, :]
    tempo_known = ~np.isnan(ta) & ~np.isnan(tb)
    logs = np.stack([np.log(ta / (tb * m)) for m in MULTIPLES])
    pick = np.argmin(np.where(np.isnan(logs), np.inf, np.abs(logs)), axis=0)
    log_ratio = np.where(tempo_known, np.take_along_axis(logs, pick[None], axis=0)[0], 0.0)
    drift = np.expm1(np.abs(log_ratio))
    tempo = np.where(tempo_known, points_array(drift, _MULTIPLES[pick]), UNKNOWN_POINTS)

    steps = pitch_steps_array(log_ratio)
    ca, cb = a.table.code[:, None], b.table.code[None, :]
    shifted = np.where(cb >= 0, cb // 12 * 12 + (cb % 12 + 7 * steps) % 12, -1)
    key_known = (ca >= 0) & (shifted >= 0)
    key = np.where(key_known, _KEY_POINTS[np.maximum(ca, 0), np.maximum(shifted, 0)], UNKNOWN_POINTS)

    energy = _closeness(a.table.feature("energy"), b.table.feature("energy"), MOOD_SPAN)
    valence = _closeness(a.table.feature("valence"), b.table.feature("valence"), MOOD_SPAN)
    mood = np.where(np.isnan(energy), valence, energy)
    place = (a.story[:, None] + b.story[None, :]) / 2
    loved = (
        a.table.weight[:, None] / a.table.weight.max() + b.table.weight[None, :] / b.table.weight.max()
    ) / 2
    story = 100 * (PLACE_SHARE * place + (1 - PLACE_SHARE) * loved)

    era = _closeness(a.table.year, b.table.year, ERA_SPAN)
    meta = np.stack([mood, era, _closeness(a.table.night, b.table.night, 1.0)])
    counted = (~np.isnan(meta)).sum(axis=0)
    meta_points = np.where(counted > 0, np.nansum(meta, axis=0) / np.maximum(counted, 1), NEUTRAL_POINTS)

    uses_features = tempo_known | key_known
    measured = (
        TEMPO_SHARE * tempo
        + KEY_SHARE * key
        + MOOD_SHARE * np.where(np.isnan(mood), NEUTRAL_POINTS, mood)
        + STORY_SHARE * story
    )
    fallback = FALLBACK_FLOOR + FALLBACK_SPAN * (
        FALLBACK_STORY_SHARE * story + (1 - FALLBACK_STORY_SHARE) * meta_points
    )
    score = np.clip(np.where(uses_features, measured, fallback), 0.0, 100.0)
    same_song = np.array(a.table.ids, dtype=object)[:, None] == np.array(b.table.ids, dtype=object)[None, :]
    return _Grid(
        multiple=_MULTIPLES[pick],
        ratio=np.exp(log_ratio),
        drift=drift,
        tempo_known=tempo_known,
        steps=steps,
        shifted=shifted,
        key_known=key_known,
        mood=mood,
        story=story,
        uses_features=uses_features,
        score=np.where(same_song, -np.inf, score),
    )


def best_pairs(a: Side, b: Side, top: int) -> tuple[MashupPair, ...]:
    """The `top` best pairs of one song from each side, best first, each with its reasons."""
    if top <= 0 or len(a.table) == 0 or len(b.table) == 0:
        return ()
    with np.errstate(invalid="ignore", divide="ignore"):  # unknown values are NaN and masked above
        grid = _score(a, b)
    rows, cols = np.indices(grid.score.shape)
    order = np.lexsort((cols.ravel(), rows.ravel(), -grid.story.ravel(), -grid.score.ravel()))
    pairs = []
    for flat in order[:top]:
        i, j = int(rows.flat[flat]), int(cols.flat[flat])
        if not np.isfinite(grid.score[i, j]):
            break
        pairs.append(
            MashupPair(
                a_id=a.table.ids[i],
                b_id=b.table.ids[j],
                score=round(float(grid.score[i, j])),
                reasons=_Reasons(a, b, grid, i, j).collect(),
                uses_features=bool(grid.uses_features[i, j]),
            )
        )
    return tuple(pairs)


def _title(track: TrackProfile) -> str:
    return f"'{track.title.strip()}'" if track.title and track.title.strip() else "an untitled song"


def _bpm(value: float) -> str:
    return f"{value:.0f}"


def _percent(fraction: float) -> str:
    """A whole percentage, or one decimal where rounding would hide which side of a tier it is on."""
    whole = round(fraction * 100)
    return f"{whole}%" if tier(whole / 100) == tier(fraction) else f"{fraction * 100:.1f}%"


class _Reasons:
    """Readable reasons for one pair, in the order a fan would ask: beat, key, mood, story."""

    def __init__(self, a: Side, b: Side, grid: _Grid, i: int, j: int) -> None:
        self.a, self.b, self.grid, self.i, self.j = a, b, grid, i, j
        self.track_a, self.track_b = a.table.tracks[i], b.table.tracks[j]

    def collect(self) -> tuple[str, ...]:
        """Every reason for the pair, or the honest fallback ones when neither tempo nor key is known."""
        if not self.grid.uses_features[self.i, self.j]:
            found = [FALLBACK_NOTE, *self.era(), *self.daytime(), *self.mood(), self.story()]
        else:
            found = [*self.tempo(), *self.key(), *self.mood(), self.story()]
        return tuple(found)

    def _unknown(self, known: tuple[bool, bool], what: str, unchecked: str) -> str:
        tracks = (self.track_a, self.track_b)
        missing = " and ".join(_title(track) for track, ok in zip(tracks, known, strict=True) if not ok)
        return f"{what} unknown for {missing}: {unchecked}"

    def tempo(self) -> list[str]:
        g, i, j = self.grid, self.i, self.j
        bpm_a, bpm_b = float(self.a.table.feature("tempo")[i]), float(self.b.table.feature("tempo")[j])
        if not g.tempo_known[i, j]:
            known = (not math.isnan(bpm_a), not math.isnan(bpm_b))
            return [self._unknown(known, "tempo", "beatmatching not checked")]
        drift = float(g.drift[i, j])
        within = tier(drift)
        both = f"{_bpm(bpm_a)} and {_bpm(bpm_b)} BPM"
        if g.multiple[i, j] != 1.0:
            if within is None:
                return [f"{both}: too far apart to beatmatch, even at double time"]
            return [
                f"{both}: one plays at double time" + (f", {_percent(drift)} apart" if drift >= 0.01 else "")
            ]
        if within is None:
            return [f"{both}: too far apart to beatmatch cleanly"]
        if drift < 0.015:
            return [f"both about {_bpm((bpm_a + bpm_b) / 2)} BPM"]
        ease = {3: "a seamless", 6: "an easy", 8: "a stretchy"}[within]
        return [f"{both}: {_percent(drift)} apart, {ease} beatmatch"]

    def key(self) -> list[str]:
        g, i, j = self.grid, self.i, self.j
        code_a, code_b = int(self.a.table.code[i]), int(self.b.table.code[j])
        if not g.key_known[i, j]:
            return [self._unknown((code_a >= 0, code_b >= 0), "key", "harmony not checked")]
        name_a, name_b = CODES[code_a], CODES[code_b]
        found = []
        if g.steps[i, j]:
            name_b = CODES[int(g.shifted[i, j])]
            ratio = float(g.ratio[i, j])
            direction = "up" if ratio > 1 else "down"
            percent = round(abs(ratio - 1) * 100)
            found.append(
                f"pitching {_title(self.track_b)} {direction} {percent}% to meet the tempo "
                f"moves it from {CODES[code_b]} to {name_b}"
            )
        found.append(_key_phrase(name_a, name_b))
        return found

    def mood(self) -> list[str]:
        i, j = self.i, self.j
        for name, label in (("energy", "energy"), ("valence", "mood")):
            value_a, value_b = float(self.a.table.feature(name)[i]), float(self.b.table.feature(name)[j])
            if not (math.isnan(value_a) or math.isnan(value_b)):
                alike = "similar" if abs(value_a - value_b) <= 0.15 else "different"
                return [f"{alike} {label} ({value_a:.2f} vs {value_b:.2f})"]
        return []

    def era(self) -> list[str]:
        year_a, year_b = float(self.a.table.year[self.i]), float(self.b.table.year[self.j])
        if math.isnan(year_a) or math.isnan(year_b):
            return []
        if int(year_a) // 10 == int(year_b) // 10:
            return [f"both from the {int(year_a) // 10 * 10}s"]
        gap = abs(year_a - year_b)
        if gap >= ERA_SPAN:
            return [f"released {year_a:.0f} and {year_b:.0f}, decades apart"]
        return [
            f"released {year_a:.0f} and {year_b:.0f}, {'close in time' if gap <= 5 else 'a few years apart'}"
        ]

    def daytime(self) -> list[str]:
        night_a, night_b = float(self.a.table.night[self.i]), float(self.b.table.night[self.j])
        if math.isnan(night_a) or math.isnan(night_b):
            return []
        if (night_a >= 0.5) == (night_b >= 0.5):
            return ["both played mostly at night" if night_a >= 0.5 else "both played mostly by day"]
        return ["one is played at night, the other by day"]

    def story(self) -> str:
        place_a, place_b = float(self.a.story[self.i]), float(self.b.story[self.j])
        if place_a == FINALE and place_b == FINALE:
            return "both are finales"
        if FINALE in (place_a, place_b):
            return f"{_title(self.track_a if place_a == FINALE else self.track_b)} is a finale"
        if place_a > OTHER_SONG and place_b > OTHER_SONG:
            return "both are part of the story"
        if place_a > OTHER_SONG or place_b > OTHER_SONG:
            return f"{_title(self.track_a if place_a > OTHER_SONG else self.track_b)} is part of the story"
        return "two deeper cuts from the history"


def _key_phrase(code_a: str, code_b: str) -> str:
    """How two Camelot codes mix, in words."""
    move = relation(code_a, code_b)
    if move == SAME:
        return f"both in {code_a} ({key_name(code_a)}): the same key"
    if move == ADJACENT:
        return f"{code_a} and {code_b} sit next to each other on the Camelot wheel"
    if move == RELATIVE:
        pair = "minor and major" if code_a.endswith("A") else "major and minor"
        return f"{code_a} and {code_b}: relative {pair}"
    if move == DIAGONAL:
        return f"{code_a} and {code_b}: a diagonal step on the Camelot wheel"
    if move == LOOSE_DIAGONAL:
        return f"{code_a} and {code_b}: a looser diagonal step on the Camelot wheel"
    if move == ENERGY_BOOST:
        return f"a +2 jump ({code_a} to {code_b}): a risky energy boost"
    if move == ENERGY_DROP:
        return f"a -2 step ({code_a} to {code_b}): a risky energy drop"
    return f"{code_a} and {code_b} clash: their keys do not mix"


def _soundtrack(tracks: Sequence[TrackProfile]) -> Side:
    """A soundtrack in story order as a side: its last song is the finale, the others arc songs."""
    unique: dict[str, TrackProfile] = {}
    for track in tracks:
        unique.setdefault(track.stable_id, track)
    table = Table.of(list(unique.values()))
    finale = table.ids.index(tracks[-1].stable_id)
    rows = shortlist(table.weight, np.array([finale]))
    story = np.where(rows == finale, FINALE, ARC_SONG)
    return Side(table=table.take(rows), story=story)


def score_mashups(
    a: Sequence[TrackProfile], b: Sequence[TrackProfile], *, top: int = 3
) -> tuple[MashupPair, ...]:
    """The best mash-ups of one song from soundtrack `a` with one from soundtrack `b`, best first.

    Both soundtracks are in story order, so each one's last song is its finale. A song never pairs
    with itself, and an empty soundtrack gives no pairs.
    """
    a_songs, b_songs = require_tracks(a), require_tracks(b)
    if not a_songs or not b_songs or top <= 0:
        return ()
    return best_pairs(_soundtrack(a_songs), _soundtrack(b_songs), top)
