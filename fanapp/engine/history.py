"""A listener's history made tidy: duplicates merged, and each song's facts as numpy columns."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Final, cast

import numpy as np
import numpy.typing as npt

from fanapp.engine.camelot import camelot, index
from fanapp.engine.model import EngineError
from fanapp.engine.profile import (
    FEATURE_NAMES,
    Feature,
    Features,
    FloatArray,
    TrackProfile,
    feature_matrix,
    rank_score,
)

IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

# Edition labels that do not make a different song ("Song - Remastered 2011", "Song (feat. X)").
_EDITION = re.compile(
    r"\s+-\s+[^-]*\b(?:remaster(?:ed)?|radio edit|single version|album version|mono|stereo|deluxe)\b.*$"
    r"|\s*[(\[](?:feat\.?|ft\.?|with|remaster(?:ed)?|radio edit|single version|album version)\b[^)\]]*[)\]]",
    re.IGNORECASE,
)
_NOT_WORD = re.compile(r"[\W_]+")
_EARLIEST_YEAR, _LATEST_YEAR = 1900, 2100
_NIGHT_FROM, _NIGHT_UNTIL = 22, 5  # plays from 22:00 to 04:59, in the timezone each play was recorded in

# Camelot index (0-23) of every (pitch class, mode), so keys can be looked up for whole arrays at once.
_CODE_OF: Final = np.array([[index(camelot(k, m)) for m in (0, 1)] for k in range(12)])


def require_tracks(tracks: Iterable[object]) -> list[TrackProfile]:
    """The tracks as a list, or an EngineError if something that is not a song slipped in."""
    songs = list(tracks)
    if not all(isinstance(t, TrackProfile) for t in songs):
        raise EngineError("Something that is not a song got into this history; please import it again.")
    return cast(list[TrackProfile], songs)


@lru_cache(maxsize=4096)
def _fold(text: str) -> str:
    """Text as compared for duplicates: case, spaces and punctuation set aside."""
    return _NOT_WORD.sub("", text.casefold())


def _song_key(track: TrackProfile) -> str | None:
    title = (track.title or "").casefold()
    bare = _EDITION.sub("", title) if "(" in title or "[" in title or " - " in title else title
    name = _NOT_WORD.sub("", bare) or title.strip()
    return f"{name}\x1f{_fold(track.artists[0]) if track.artists else ''}" if name else None


def _identities(track: TrackProfile) -> tuple[str | None, ...]:
    """What makes two entries the same song: the id, the ISRC, the title with the first artist."""
    isrc = track.isrc.strip().upper() if track.isrc else ""
    return track.stable_id, isrc or None, _song_key(track)


def _order(track: TrackProfile) -> tuple[str, str, tuple[str, ...], str]:
    return track.stable_id, track.title or "", tuple(track.artists or ()), track.album or ""


def distinct(tracks: Sequence[TrackProfile]) -> list[TrackProfile]:
    """The songs with duplicates merged, sorted by stable id; the input order does not matter.

    Duplicates share an id, an ISRC, or a title and first artist once edition labels such as
    "- Remastered 2011" are set aside. A merged song keeps every signal of its copies.
    """
    songs = require_tracks(tracks)
    parent = list(range(len(songs)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for column in zip(*map(_identities, songs), strict=True):
        first = {identity: i for i, identity in reversed(list(enumerate(column)))}
        for i in [i for i, identity in enumerate(column) if identity is not None and first[identity] != i]:
            ri, rj = root(i), root(first[column[i]])
            parent[max(ri, rj)] = min(ri, rj)
    copies: dict[int, list[int]] = {}
    for i in [i for i, p in enumerate(parent) if p != i]:
        copies.setdefault(root(i), []).append(i)
    merged = [_merge([songs[r], *(songs[i] for i in rest)]) for r, rest in copies.items()]
    absorbed = {i for rest in copies.values() for i in rest} | copies.keys()
    single = [song for i, song in enumerate(songs) if i not in absorbed] if absorbed else songs
    return sorted([*single, *merged], key=lambda t: t.stable_id)


def _merge(group: list[TrackProfile]) -> TrackProfile:
    """One song from its copies: the first with a real id speaks for it, every signal is kept."""
    if len(group) == 1:
        return group[0]
    group = sorted(group, key=_order)
    head = next((t for t in group if t.id and not t.id.isspace()), group[0])
    ranks: dict[str, int] = {}
    for t in group:
        for time_range, rank in (t.top_ranks or {}).items():
            if rank_score(rank):
                ranks[time_range] = min(rank, ranks.get(time_range, rank))
    saved = [t.saved_at for t in group if t.saved_at is not None]
    features: dict[str, Feature] = {}
    for name in FEATURE_NAMES:
        for t in group:
            if t.features.get(name) is not None:
                features[name] = getattr(t.features, name)
                break
    return replace(
        head,
        release_year=next((t.release_year for t in group if _year(t.release_year) is not None), None),
        isrc=next((t.isrc for t in group if t.isrc), None),
        explicit=any(t.explicit for t in group),
        top_ranks=ranks,
        play_times=tuple(sorted({p for t in group for p in t.play_times or ()}, key=lambda p: p.timestamp())),
        play_count=max(t.plays for t in group),
        saved_at=min(saved) if saved else None,
        features=Features(**features),
    )


def _year(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and _EARLIEST_YEAR <= value <= _LATEST_YEAR:
        return value
    return None


def _recency(track: TrackProfile) -> float:
    """Above 0 for a recent favourite, below 0 for a long-time one, NaN when not in any top list."""
    ranks = track.top_ranks or {}
    if not ranks:
        return math.nan
    return rank_score(ranks.get("short_term")) - rank_score(ranks.get("long_term"))


def _night_share(track: TrackProfile) -> float:
    times = track.play_times or ()
    if not times:
        return math.nan
    return sum(1 for p in times if p.hour >= _NIGHT_FROM or p.hour < _NIGHT_UNTIL) / len(times)


@dataclass(frozen=True, eq=False)
class Table:
    """Songs side by side as columns; NaN (or -1 for keys) where something is unknown."""

    tracks: tuple[TrackProfile, ...]
    ids: tuple[str, ...]
    artist: IntArray  # first credited artist as an index into `artists`, -1 when unknown
    artists: tuple[str, ...]  # every first artist once, sorted case-insensitively
    weight: FloatArray
    features: FloatArray  # (n, 9) in FEATURE_NAMES order
    code: IntArray  # Camelot index 0-23, -1 when key or mode is unknown
    year: FloatArray
    night: FloatArray  # share of timed plays at night
    recency: FloatArray

    @classmethod
    def of(cls, tracks: Sequence[TrackProfile]) -> Table:
        """Read every song's facts once."""
        features = feature_matrix([t.features for t in tracks])
        key, mode = features[:, FEATURE_NAMES.index("key")], features[:, FEATURE_NAMES.index("mode")]
        known = ~np.isnan(key) & ~np.isnan(mode)
        pitch, major = np.where(known, key, 0).astype(int), np.where(known, mode, 0).astype(int)
        code = np.where(known, _CODE_OF[pitch, major], -1)
        credited = [t.artists[0].strip() if t.artists else "" for t in tracks]
        shown: dict[str, str] = {}
        for name in credited:
            if name:
                shown.setdefault(name.casefold(), name)
        number = {folded: n for n, folded in enumerate(sorted(shown))}
        return cls(
            tracks=tuple(tracks),
            ids=tuple(t.stable_id for t in tracks),
            artist=np.array([number.get(name.casefold(), -1) for name in credited], dtype=np.int64),
            artists=tuple(shown[folded] for folded in sorted(shown)),
            weight=np.array([t.weight() for t in tracks], dtype=np.float64),
            features=features,
            code=code.astype(np.int64),
            year=np.array([_year(t.release_year) or math.nan for t in tracks], dtype=np.float64),
            night=np.array([_night_share(t) for t in tracks], dtype=np.float64),
            recency=np.array([_recency(t) for t in tracks], dtype=np.float64),
        )

    def __len__(self) -> int:
        return len(self.tracks)

    def feature(self, name: str) -> FloatArray:
        """One feature column."""
        return self.features[:, FEATURE_NAMES.index(name)]

    def take(self, rows: IntArray) -> Table:
        """The table of just these rows, in this order."""
        return Table(
            tracks=tuple(self.tracks[r] for r in rows),
            ids=tuple(self.ids[r] for r in rows),
            artist=self.artist[rows],
            artists=self.artists,
            weight=self.weight[rows],
            features=self.features[rows],
            code=self.code[rows],
            year=self.year[rows],
            night=self.night[rows],
            recency=self.recency[rows],
        )
