"""Casting: split a history into two contrasting characters, by sound and mood when it is known."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np

from fanapp.engine.history import BoolArray, Table
from fanapp.engine.profile import FloatArray

# Columns that describe how a song sounds, with how much each counts.
SOUND: Final = {
    "energy": 1.0,
    "valence": 1.0,
    "danceability": 1.0,
    "acousticness": 1.0,
    "instrumentalness": 0.5,
    "tempo": 0.5,
}
# Columns that describe how a song lives in the history, with the words used to explain a split on them.
LISTENING: Final = {
    "era": "era",
    "recency": "recent versus long-time listening",
    "night": "time of day",
}
# The other family still counts, mostly to place songs that the main family knows nothing about.
SECONDARY: Final = 0.35
SOUND_BASIS: Final = "sound and mood"
_ROUNDS: Final = 25


@dataclass(frozen=True, eq=False)
class Casting:
    """Which songs play character B (the rest play A) and how squarely each sits in its own character."""

    in_b: BoolArray
    typical: FloatArray
    basis: str
    kind: str  # "sound" or "listening": which family of archetypes explains these characters


def least_members(count: int) -> int:
    """The fewest songs a character may get: an even split for tiny histories, else 3 and a quarter."""
    return count // 2 if count < 6 else max(3, count // 4)


def cast(table: Table) -> Casting:
    """Split the songs of `table` (at least two) into characters A and B; A holds the most-loved song.

    When at least half the songs have sound features, the split is a 2-means on sound and mood;
    otherwise on era, recent versus long-time listening and time of day; failing those, by artist,
    by how loved the songs are, or evenly. Either way each character gets `least_members`.
    """
    sound_known = ~np.isnan(table.feature("energy")) & ~np.isnan(table.feature("valence"))
    kind = "sound" if sound_known.mean() >= 0.5 else "listening"
    sound = [(name, table.feature(name), weight) for name, weight in SOUND.items()]
    listening = [("era", table.year, 1.0), ("recency", table.recency, 1.0), ("night", table.night, 1.0)]
    primary, secondary = (sound, listening) if kind == "sound" else (listening, sound)
    columns = [*primary, *[(name, values, weight * SECONDARY) for name, values, weight in secondary]]
    points, known, names = _standardise(columns)
    if names and not set(names) & (SOUND.keys() if kind == "sound" else LISTENING.keys()):
        kind = "listening" if kind == "sound" else "sound"  # only the other family varies: it decides
    if names:
        in_b, margin, axis = _two_means(points, known)
        basis = SOUND_BASIS if kind == "sound" else _listening_basis(names, axis)
    else:
        kind = "listening"
        in_b, margin, basis = _split_without_columns(table)
    in_b = _balance(in_b, margin)
    if in_b[int(np.argmax(table.weight))]:
        in_b, margin = ~in_b, -margin
    return Casting(in_b=in_b, typical=np.where(in_b, margin, -margin), basis=basis, kind=kind)


def _standardise(columns: list[tuple[str, FloatArray, float]]) -> tuple[FloatArray, BoolArray, list[str]]:
    """Columns with some spread as weighted z-scores (0 where unknown), which cells are known, and names."""
    kept: list[FloatArray] = []
    masks: list[BoolArray] = []
    names: list[str] = []
    for name, values, weight in columns:
        known = ~np.isnan(values)
        if known.sum() < 2:
            continue
        spread = float(values[known].std())
        if spread < 1e-9:
            continue
        kept.append(np.where(known, (values - values[known].mean()) / spread, 0.0) * weight)
        masks.append(known)
        names.append(name)
    rows = len(columns[0][1])
    if not kept:
        return np.zeros((rows, 0)), np.zeros((rows, 0), dtype=bool), names
    return np.column_stack(kept), np.column_stack(masks), names


def _two_means(points: FloatArray, known: BoolArray) -> tuple[BoolArray, FloatArray, FloatArray]:
    """A deterministic 2-means: start from a median split along the principal axis, then refine.

    Distances and centres use only the known cells, so a song is placed by what is known about it;
    a song nothing is known about alternates by position. Returns who is in B, how much closer each
    song is to B's centre than to A's, and the principal axis.
    """
    _, vectors = np.linalg.eigh(points.T @ points)  # z-scores filled with 0 are already centred
    axis = vectors[:, -1]
    if axis[int(np.argmax(np.abs(axis)))] < 0:  # an eigenvector's sign is arbitrary; pin it
        axis = -axis
    count = len(points)
    in_b = np.zeros(count, dtype=bool)
    in_b[np.argsort(points @ axis, kind="stable")[count // 2 :]] = True
    blind = ~known.any(axis=1)
    alternate = np.arange(count) % 2 == 1
    cells = known.astype(np.float64)
    margin = _margin(points, cells, in_b)
    for _ in range(_ROUNDS):
        moved = np.where(blind, alternate, margin > 0)
        if moved.all() or not moved.any() or np.array_equal(moved, in_b):
            break
        in_b = moved
        margin = _margin(points, cells, in_b)
    return in_b, margin, axis


def _margin(points: FloatArray, known: FloatArray, in_b: BoolArray) -> FloatArray:
    """How much closer (squared distance over known cells) each song is to B's centre than to A's."""
    centres: list[FloatArray] = []
    for members in (~in_b, in_b):
        share = members.astype(np.float64)
        sums, counts = share @ points, share @ known
        centres.append(np.divide(sums, counts, out=np.zeros_like(sums), where=counts > 0))
    a, b = centres
    # Expanding |x - a|² - |x - b|² over known cells cancels |x|²; unknown cells of x are already 0.
    gap: FloatArray = known @ (a**2 - b**2) - 2 * (points @ (a - b))
    return gap


def _listening_basis(names: list[str], axis: FloatArray) -> str:
    """Words for the listening columns that drive the split most, strongest first."""
    strength = {name: abs(float(load)) for name, load in zip(names, axis, strict=True) if name in LISTENING}
    top = max(strength.values())
    chosen = sorted((name for name in strength if strength[name] >= top / 2), key=lambda n: -strength[n])
    return " and ".join(LISTENING[name] for name in chosen)


def _split_without_columns(table: Table) -> tuple[BoolArray, FloatArray, str]:
    """Nothing measurable varies: split by artist, else by how loved songs are, else evenly."""
    count = len(table)
    if len(np.unique(table.artist[table.artist >= 0])) >= 2:
        groups: dict[int, list[int]] = {}
        for row, artist in enumerate(table.artist.tolist()):
            groups.setdefault(artist, []).append(row)
        in_b = np.zeros(count, dtype=bool)
        margin = np.zeros(count)
        sizes = [0, 0]
        for _, rows in sorted(groups.items(), key=lambda g: (-len(g[1]), g[0])):
            side = int(sizes[1] < sizes[0])
            sizes[side] += len(rows)
            in_b[rows] = bool(side)
            # Songs of an artist with many songs are the most typical; lone songs move first when rebalancing.
            margin[rows] = (1 + len(rows) / count) * (1 if side else -1)
        return in_b, margin, "artists"
    loved = np.log(table.weight)
    if np.ptp(loved) > 1e-9:
        in_b = np.zeros(count, dtype=bool)
        in_b[np.argsort(-loved, kind="stable")[(count + 1) // 2 :]] = True
        return in_b, np.median(loved) - loved, "how often you play them"
    in_b = np.arange(count) >= (count + 1) // 2
    return in_b, np.zeros(count), "an even split, as too little is known about these songs"


def _balance(in_b: BoolArray, margin: FloatArray) -> BoolArray:
    """Move the least typical songs across until each character has its minimum."""
    in_b = in_b.copy()
    least = least_members(len(in_b))
    for to_b in (False, True):
        short = least - int((in_b == to_b).sum())
        if short > 0:
            donors = np.flatnonzero(in_b != to_b)
            closeness = -margin[donors] if to_b else margin[donors]
            in_b[donors[np.lexsort((donors, closeness))[:short]]] = to_b
    return in_b
