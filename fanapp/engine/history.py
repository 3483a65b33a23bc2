"""A listener's history made tidy: duplicates merged, and each song's facts as numpy columns.

Histories reach 50,000 songs (a long export), so everything here reads each song's attributes once,
in C where Python allows it (`operator.attrgetter`, `str.join`, one regex over all titles at once),
and does the rest with numpy. Only the rare songs that need it (duplicates, local files, top-list
entries) take a per-song Python path.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
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
    rank_weight,
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
# The same rule for many texts joined by newlines at once: one C-level pass instead of one call per song.
_NOT_WORD_KEEP_LINES = re.compile(r"[^\w\n]+|_+")
_EARLIEST_YEAR, _LATEST_YEAR = 1900, 2100
_NIGHT_FROM, _NIGHT_UNTIL = 22, 5  # plays from 22:00 to 04:59, in the timezone each play was recorded in
_KEY, _MODE = FEATURE_NAMES.index("key"), FEATURE_NAMES.index("mode")
_MOST_PLAYS: Final = 10**9

# Camelot index (0-23) of every (pitch class, mode), so keys can be looked up for whole arrays at once.
_CODE_OF: Final = np.array([[index(camelot(k, m)) for m in (0, 1)] for k in range(12)])

_GET: Final = {
    name: operator.attrgetter(name)
    for name in (
        "id",
        "title",
        "artists",
        "album",
        "isrc",
        "release_year",
        "top_ranks",
        "play_times",
        "play_count",
        "saved_at",
        "features",
    )
}


def require_tracks(tracks: Iterable[object]) -> list[TrackProfile]:
    """The tracks as a list, or an EngineError if something that is not a song slipped in."""
    songs = list(tracks)
    if not all(isinstance(t, TrackProfile) for t in songs):
        raise EngineError("Something that is not a song got into this history; please import it again.")
    return cast(list[TrackProfile], songs)


def fold(text: str) -> str:
    """Text as compared for duplicates: case, spaces and punctuation set aside."""
    return _NOT_WORD.sub("", text.casefold())


def _fold_all(texts: Sequence[str]) -> list[str]:
    """`fold` of every text, in one regex pass over all of them (newlines inside a text count as spaces)."""
    joined = "\n".join(texts)
    if joined.count("\n") != max(len(texts) - 1, 0):
        return [fold(t) for t in texts]
    return _NOT_WORD_KEEP_LINES.sub("", joined.casefold()).split("\n") if texts else []


def _text(value: object) -> str:
    return value if isinstance(value, str) else ""


def _strings(values: list[object]) -> list[str]:
    """The values, with anything that is not a string as "" (a fast check first: they nearly always are)."""
    return values if set(map(type, values)) <= {str} else [_text(v) for v in values]  # type: ignore[return-value]


def _first_artist(artists: object) -> str:
    if isinstance(artists, tuple | list) and artists and isinstance(artists[0], str):
        return artists[0].strip()
    return ""


def _leads(all_artists: list[object]) -> list[str]:
    try:
        leads = [a[0] if a else "" for a in all_artists]  # type: ignore[index]
        if set(map(type, leads)) <= {str}:
            return [name.strip() for name in leads]
    except (TypeError, IndexError, KeyError):
        pass
    return [_first_artist(a) for a in all_artists]


@dataclass(frozen=True, eq=False)
class _Columns:
    """Each attribute of many songs as one list, read in C (`attrgetter` mapped over the songs)."""

    tracks: list[TrackProfile]
    ids: list[str]  # stable ids
    titles: list[str]
    leads: list[str]  # first credited artist, stripped
    albums: list[str]
    isrcs: list[str | None]  # upper-cased, None when missing
    years: list[object]
    ranks: list[object]
    times: list[object]
    counts: list[object]
    saved: list[object]
    features: list[Features]

    @classmethod
    def of(cls, tracks: list[TrackProfile]) -> _Columns:
        got = {name: list(map(getter, tracks)) for name, getter in _GET.items()}
        ids = got["id"]
        if not (set(map(type, ids)) <= {str} and all(ids) and not any(map(str.isspace, ids))):
            ids = [
                i if isinstance(i, str) and i and not i.isspace() else t.stable_id
                for t, i in zip(tracks, ids, strict=False)
            ]
        return cls(
            tracks=tracks,
            ids=ids,
            titles=_strings(got["title"]),
            leads=_leads(got["artists"]),
            albums=_strings(got["album"]),
            isrcs=[i.strip().upper() or None if isinstance(i, str) else None for i in got["isrc"]],
            years=got["release_year"],
            ranks=got["top_ranks"],
            times=got["play_times"],
            counts=got["play_count"],
            saved=got["saved_at"],
            features=got["features"],
        )

    def take(self, rows: list[int]) -> _Columns:
        """The columns of just these songs, in this order."""
        pick = operator.itemgetter(*rows) if len(rows) > 1 else (lambda c: (c[rows[0]],) if rows else ())
        return _Columns(**{name: list(pick(getattr(self, name))) for name in _COLUMN_NAMES})

    def __add__(self, other: _Columns) -> _Columns:
        return _Columns(**{name: getattr(self, name) + getattr(other, name) for name in _COLUMN_NAMES})


_COLUMN_NAMES: Final = tuple(_Columns.__dataclass_fields__)


def _codes(column: Sequence[object]) -> IntArray:
    """Each identity as a small integer; a missing identity (None) gets one of its own."""
    number = {value: n for n, value in enumerate(dict.fromkeys(column))}
    out = np.fromiter(map(number.__getitem__, column), dtype=np.int64, count=len(column))
    if None in number:
        missing = out == number[None]
        out[missing] = len(number) + np.arange(int(missing.sum()))
    return out


def _title_codes(columns: _Columns) -> IntArray:
    """Title-and-first-artist identities (editions set aside), split where two songs of one title are
    told apart by both ISRC and album; a song without a title has an identity of its own."""
    bare = [
        _EDITION.sub("", t) if ("(" in t or "[" in t or " - " in t) else t
        for t in (title.casefold() for title in columns.titles)
    ]
    names = _fold_all(bare)
    nameless = [n for n, name in enumerate(names) if not name]
    for n in nameless:
        names[n] = bare[n].strip()
    title_code, artist_code = _codes(names), _codes(_fold_all(columns.leads))
    _, codes = np.unique(title_code * (int(artist_code.max()) + 1) + artist_code, return_inverse=True)
    codes = codes.astype(np.int64)
    fresh = int(codes.max()) + 1 if len(codes) else 0
    untitled = [n for n in nameless if not names[n]]
    codes[untitled] = fresh + np.arange(len(untitled))
    counts = np.bincount(codes)
    for shared in np.flatnonzero(counts > 1).tolist():
        rows = np.flatnonzero(codes == shared).tolist()
        clusters: list[list[int]] = []
        for row in rows:
            home = next((c for c in clusters if all(_same_song(columns, row, o) for o in c)), None)
            if home is None:
                clusters.append([row])
            else:
                home.append(row)
        for cluster in clusters[1:]:
            codes[cluster] = int(codes.max()) + 1
    result: IntArray = codes
    return result


def _components(columns: Sequence[IntArray], count: int) -> IntArray:
    """Connected components of songs that share any identity: each song's smallest index in its group."""
    label = np.arange(count, dtype=np.int64)
    while True:
        before = label.copy()
        for codes in columns:
            low = np.full(int(codes.max()) + 1 if count else 0, count, dtype=np.int64)
            np.minimum.at(low, codes, label)
            label = np.minimum(label, low[codes])
        label = label[label]  # jump to the root's root: a few rounds suffice for any chain
        if np.array_equal(label, before):
            return label


def _same_song(columns: _Columns, a: int, b: int) -> bool:
    """Whether two songs with the same title and first artist are one song.

    "Intro" on two albums with two ISRCs is two songs; a missing ISRC or album is no evidence.
    """
    isrc_a, isrc_b = columns.isrcs[a], columns.isrcs[b]
    album_a, album_b = fold(columns.albums[a]), fold(columns.albums[b])
    return not (isrc_a and isrc_b and isrc_a != isrc_b and album_a and album_b and album_a != album_b)


def _sort_key(track: TrackProfile) -> tuple[str, str, tuple[str, ...], str]:
    return track.stable_id, _text(track.title), tuple(track.artists or ()), _text(track.album)


def _tidy(tracks: list[TrackProfile]) -> _Columns:
    """The songs with duplicates merged, sorted by stable id, as columns."""
    columns = _Columns.of(tracks)
    if not tracks:
        return columns
    identities = [_codes(columns.ids), _codes(columns.isrcs), _title_codes(columns)]
    label = _components(identities, len(tracks))
    shared = np.bincount(label, minlength=len(tracks))[label] > 1
    kept = columns.take(np.flatnonzero(~shared).tolist())
    if shared.any():
        members: dict[int, list[TrackProfile]] = {}
        for row in np.flatnonzero(shared).tolist():
            members.setdefault(int(label[row]), []).append(tracks[row])
        kept = kept + _Columns.of([_merge(group) for group in members.values()])
    return kept.take(sorted(range(len(kept.ids)), key=kept.ids.__getitem__))


def distinct(tracks: Sequence[TrackProfile]) -> list[TrackProfile]:
    """The songs with duplicates merged, sorted by stable id; the input order does not matter.

    Duplicates share an id, an ISRC, or a title and first artist once edition labels such as
    "- Remastered 2011" are set aside (but two songs whose ISRCs and albums both differ stay two). A
    merged song keeps every signal of its copies, and its key and mode come from one copy.
    """
    return _tidy(require_tracks(tracks)).tracks


def _tonality(group: Sequence[TrackProfile]) -> dict[str, Feature]:
    """Key and mode from one copy: the first that knows both, else the first that knows the key."""
    both = next(
        (t for t in group if t.features.get("key") is not None and t.features.get("mode") is not None), None
    )
    chosen = both or next((t for t in group if t.features.get("key") is not None), None)
    if chosen is None:
        return {}
    found = {"key": cast(Feature, chosen.features.key)}
    if both is not None:
        found["mode"] = cast(Feature, chosen.features.mode)
    return found


def _merge(group: list[TrackProfile]) -> TrackProfile:
    """One song from its copies: the first with a real id speaks for it, every signal is kept."""
    if len(group) == 1:
        return group[0]
    group = sorted(group, key=_sort_key)
    head = next((t for t in group if t.id and not t.id.isspace()), group[0])
    ranks: dict[str, int] = {}
    for t in group:
        for time_range, rank in (t.top_ranks or {}).items():
            if rank_score(rank):
                ranks[time_range] = min(rank, ranks.get(time_range, rank))
    saved = [t.saved_at for t in group if t.saved_at is not None]
    features: dict[str, Feature] = _tonality(group)
    for name in FEATURE_NAMES:
        if name in ("key", "mode"):
            continue
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


def _recency(ranks: object) -> float:
    """Above 0 for a recent favourite, below 0 for a long-time one, NaN when not in any top list."""
    if not isinstance(ranks, dict) or not ranks:
        return math.nan
    return rank_score(ranks.get("short_term")) - rank_score(ranks.get("long_term"))


@dataclass(frozen=True, eq=False)
class Plays:
    """Every timed play as columns: which song (row), whether at night, its place among the song's plays."""

    row: IntArray
    night: BoolArray
    nth: IntArray  # 0 for a song's first timed play, 1 for its second, ...

    def take(self, rows: IntArray) -> Plays:
        """The plays of just these rows, renumbered to their new positions."""
        where = np.full(int(self.row.max()) + 1 if len(self.row) else 0, -1, dtype=np.int64)
        where[rows[rows < len(where)]] = np.flatnonzero(rows < len(where))
        new = where[self.row] if len(self.row) else self.row
        keep = new >= 0
        return Plays(row=new[keep], night=self.night[keep], nth=self.nth[keep])


def _plays(times: Sequence[object]) -> Plays:
    lengths = np.fromiter((len(t) if isinstance(t, tuple | list) else 0 for t in times), np.int64, len(times))
    try:
        hours = np.fromiter(
            (p.hour for t in times if isinstance(t, tuple | list) for p in t), np.int64, int(lengths.sum())
        )
    except (AttributeError, TypeError, ValueError):  # something that is not a time slipped in: no timed plays
        return Plays(np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64))
    row = np.repeat(np.arange(len(times), dtype=np.int64), lengths)
    starts = np.repeat(np.cumsum(lengths) - lengths, lengths)
    return Plays(
        row=row, night=(hours >= _NIGHT_FROM) | (hours < _NIGHT_UNTIL), nth=np.arange(len(row)) - starts
    )


def _weights(columns: _Columns, ranked: list[int], plays: FloatArray) -> FloatArray:
    """`TrackProfile.weight` for every song at once (the same sums, in the same order)."""
    ranks = np.zeros(len(plays))
    for row in ranked:
        ranks[row] = rank_weight(columns.ranks[row])  # type: ignore[arg-type]
    kept = np.fromiter((s is not None for s in columns.saved), bool, len(plays))
    result: FloatArray = 0.25 + ranks + np.log1p(np.maximum(plays, 0.0)) + np.where(kept, 0.5, 0.0)
    return result


def _years(years: list[object]) -> FloatArray:
    if set(map(type, years)) <= {int, type(None)}:
        found = np.array([math.nan if y is None else y for y in years], dtype=np.float64)
        return np.where((found >= _EARLIEST_YEAR) & (found <= _LATEST_YEAR), found, np.nan)
    return np.array([_year(y) or math.nan for y in years], dtype=np.float64)


def _recencies(all_ranks: list[object], ranked: list[int]) -> FloatArray:
    found = np.full(len(all_ranks), np.nan)
    for row in ranked:
        found[row] = _recency(all_ranks[row])
    return found


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
    pitch: IntArray  # pitch class 0-11 when the key is known (even without its mode), else -1
    year: FloatArray
    timed: IntArray  # timed plays of each song
    night_plays: IntArray  # of which at night
    recency: FloatArray
    plays: Plays

    @classmethod
    def of(cls, tracks: Sequence[TrackProfile]) -> Table:
        """Read every song's facts once (the songs as given: see `of_history` to merge duplicates)."""
        return cls._of(_Columns.of(list(tracks)))

    @classmethod
    def of_history(cls, tracks: Sequence[TrackProfile]) -> Table:
        """The table of a whole history, duplicates merged (`distinct`), sorted by stable id."""
        return cls._of(_tidy(require_tracks(tracks)))

    @classmethod
    def _of(cls, columns: _Columns) -> Table:
        count = len(columns.ids)
        features = feature_matrix(columns.features)
        key, mode = features[:, _KEY], features[:, _MODE]
        known = ~np.isnan(key) & ~np.isnan(mode)
        pitch, major = np.where(np.isnan(key), 0, key).astype(int), np.where(known, mode, 0).astype(int)
        code = np.where(known, _CODE_OF[pitch, major], -1)
        folded = [name.casefold() for name in columns.leads]
        shown: dict[str, str] = {}
        for name, low in zip(columns.leads, folded, strict=True):
            if name:
                shown.setdefault(low, name)
        number = {low: n for n, low in enumerate(sorted(shown))}
        number[""] = -1
        plays = _plays(columns.times)
        timed = np.bincount(plays.row, minlength=count).astype(np.int64)
        counted = np.array(
            [min(c, _MOST_PLAYS) if isinstance(c, int) else 0 for c in columns.counts]
            if not set(map(type, columns.counts)) <= {int}
            else columns.counts,
            dtype=np.float64,
        ).reshape(count)
        ranked = [n for n, ranks in enumerate(columns.ranks) if ranks]
        return cls(
            tracks=tuple(columns.tracks),
            ids=tuple(columns.ids),
            artist=np.fromiter(map(number.__getitem__, folded), dtype=np.int64, count=count),
            artists=tuple(shown[low] for low in sorted(shown)),
            weight=_weights(columns, ranked, np.maximum(np.minimum(counted, _MOST_PLAYS), timed)),
            features=features,
            code=code.astype(np.int64),
            pitch=np.where(np.isnan(key), -1, pitch).astype(np.int64),
            year=_years(columns.years),
            timed=timed,
            night_plays=np.bincount(plays.row, weights=plays.night, minlength=count).astype(np.int64),
            recency=_recencies(columns.ranks, ranked),
            plays=plays,
        )

    def __len__(self) -> int:
        return len(self.tracks)

    def feature(self, name: str) -> FloatArray:
        """One feature column."""
        return self.features[:, FEATURE_NAMES.index(name)]

    @property
    def night(self) -> FloatArray:
        """Each song's raw share of timed plays at night, NaN without timed plays (see casting for gates)."""
        with np.errstate(invalid="ignore", divide="ignore"):
            share: FloatArray = np.where(self.timed > 0, self.night_plays / np.maximum(self.timed, 1), np.nan)
        return share

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
            pitch=self.pitch[rows],
            year=self.year[rows],
            timed=self.timed[rows],
            night_plays=self.night_plays[rows],
            recency=self.recency[rows],
            plays=self.plays.take(np.asarray(rows, dtype=np.int64)),
        )
