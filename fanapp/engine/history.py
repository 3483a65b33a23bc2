"""A listener's history made tidy: duplicates merged, and each song's facts as numpy columns.

Histories reach 50,000 songs (a long export), so everything here reads each song's attributes once,
in C where Python allows it (`operator.attrgetter`, `str.join`, one regex over all titles at once),
and does the rest with numpy. Only the rare songs that need it (duplicates, local files, top-list
entries) take a per-song Python path.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import itertools
import math
import operator
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Final, TypeVar, cast

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

_T = TypeVar("_T")
_FIELDS: Final = tuple(f.name for f in dataclasses.fields(TrackProfile))
_ALL_FIELDS: Final = operator.attrgetter(*_FIELDS)
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
_MAY_HAVE_EDITION: Final = re.compile(r"[(\[]| - ")
_ASCII_NOT_WORD: Final = bytes(c for c in range(128) if c != ord("\n") and not chr(c).isalnum())
_ASCII_NOT_ALNUM: Final = bytes(c for c in range(128) if not chr(c).isalnum())
_ASCII_SPACE: Final = bytes(c for c in range(128) if chr(c).isspace())  # newlines too: they are counted
_EARLIEST_YEAR, _LATEST_YEAR = 1900, 2100
_NIGHT_FROM, _NIGHT_UNTIL = 22, 5  # plays from 22:00 to 04:59, in the timezone each play was recorded in
_KEY, _MODE = FEATURE_NAMES.index("key"), FEATURE_NAMES.index("mode")
_MOST_PLAYS: Final = 10**9
_HOUR: Final = operator.attrgetter("hour")
_FIRST: Final = operator.itemgetter(0)
_TIMESTAMP: Final = operator.methodcaller("timestamp")

# Camelot index (0-23) of every (pitch class, mode), so keys can be looked up for whole arrays at once.
_CODE_OF: Final = np.array([[index(camelot(k, m)) for m in (0, 1)] for k in range(12)])

_GET: Final = {
    name: operator.attrgetter(name)
    for name in (
        "id",
        "title",
        "artists",
        "isrc",
        "release_year",
        "top_ranks",
        "play_times",
        "play_count",
        "saved_at",
        "features",
    )
}


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Python's cycle collector paused while a history is read (as `timeit` does), then resumed.

    Reading 50,000 songs makes a dozen lists of 50,000 and, merging duplicates, thousands of small
    objects; every collection those trigger walks the long lists again (about a tenth of the time)
    and finds nothing, since nothing here makes reference cycles. Reference counting frees everything
    as usual. Left alone when the collector was already paused (by the caller, or another thread).
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def require_tracks(tracks: Iterable[object]) -> list[TrackProfile]:
    """The tracks as a list, or an EngineError if something that is not a song slipped in."""
    songs = list(tracks)
    if not all(issubclass(kind, TrackProfile) for kind in set(map(type, songs))):
        raise EngineError("Something that is not a song got into this history; please import it again.")
    return cast(list[TrackProfile], songs)


def fold(text: str) -> str:
    """Text as compared for duplicates: case, spaces and punctuation set aside."""
    if text.isascii():  # in ASCII, `\w` is exactly letters, digits and "_": the same, many times faster
        return text.lower().encode("ascii").translate(None, _ASCII_NOT_ALNUM).decode("ascii")
    return _NOT_WORD.sub("", text.casefold())


def _fold_all(texts: Sequence[str]) -> list[str]:
    """`fold` of every text, in one pass over all of them (newlines inside a text count as spaces).

    Plain ASCII text (most titles and names) is folded by `bytes.translate`, many times faster than
    the regex, which keeps the rest: in ASCII, `\\w` is exactly letters, digits and "_".
    """
    if not texts:
        return []
    joined = "\n".join(texts)
    if joined.count("\n") != len(texts) - 1:
        return [fold(t) for t in texts]
    return _fold_joined(joined)


def _fold_joined(joined: str) -> list[str]:
    """`fold` of every line of a text (texts joined by newlines, none inside them), in one pass."""
    if joined.isascii():
        return joined.lower().encode("ascii").translate(None, _ASCII_NOT_WORD).decode("ascii").split("\n")
    return _NOT_WORD_KEEP_LINES.sub("", joined.casefold()).split("\n")


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
    """Each song's first credited artist, stripped ("" when none)."""
    try:
        leads: list[object] = list(map(_FIRST, all_artists))  # type: ignore[arg-type]
    except (TypeError, IndexError, KeyError):  # a song credits no one, or something odd: per song
        try:
            leads = [a[0] if a else "" for a in all_artists]  # type: ignore[index]
        except (TypeError, IndexError, KeyError):
            return [_first_artist(a) for a in all_artists]
    if set(map(type, leads)) <= {str}:
        return list(map(str.strip, cast(list[str], leads)))
    return [_first_artist(a) for a in all_artists]


def _isrcs(isrcs: list[object]) -> list[str]:
    """Each ISRC stripped and upper-cased, "" when missing."""
    kinds = set(map(type, isrcs))
    if kinds <= {str, type(None)}:
        texts = cast(list[str], isrcs)
        if type(None) in kinds:  # the usual missing ones ("" instead), found in C
            texts = texts.copy()
            for row in _where(map(operator.is_, isrcs, itertools.repeat(None))):
                texts[row] = ""
        joined = "\n".join(texts)
        # Plain ASCII without spaces (nearly every ISRC): one upper-casing for all, nothing to strip.
        if joined.isascii() and joined.count("\n") == len(texts) - 1:
            raw = joined.encode("ascii")
            if len(raw.translate(None, _ASCII_SPACE)) == len(raw) - len(texts) + 1:
                return joined.upper().split("\n") if texts else []
        return list(map(str.upper, map(str.strip, texts)))
    return [i.strip().upper() if isinstance(i, str) else "" for i in isrcs]


@dataclass(frozen=True, eq=False)
class _Columns:
    """Each attribute of many songs as one list, read in C (`attrgetter` mapped over the songs)."""

    tracks: list[TrackProfile]
    ids: list[str]  # stable ids
    titles: list[str]
    leads: list[str]  # first credited artist, stripped
    isrcs: list[str]  # upper-cased, "" when missing
    years: list[object]
    ranks: list[object]
    times: list[object]
    counts: list[object]
    saved: list[object]
    features: list[Features]
    values: FloatArray  # the features as numbers (`feature_matrix`)

    @classmethod
    def of(cls, tracks: list[TrackProfile]) -> _Columns:
        got = {name: list(map(getter, tracks)) for name, getter in _GET.items()}
        ids = got["id"]
        try:  # the usual: every id a text, and only local files (no id) need their stable id
            blank = _where(map(operator.not_, map(str.strip, ids)))  # "", or only spaces
        except TypeError:
            ids = [
                i if isinstance(i, str) and i and not i.isspace() else t.stable_id
                for t, i in zip(tracks, ids, strict=False)
            ]
        else:
            for row in blank:
                ids[row] = tracks[row].stable_id
        return cls(
            tracks=tracks,
            ids=ids,
            titles=_strings(got["title"]),
            leads=_leads(got["artists"]),
            isrcs=_isrcs(got["isrc"]),
            years=got["release_year"],
            ranks=got["top_ranks"],
            times=got["play_times"],
            counts=got["play_count"],
            saved=got["saved_at"],
            features=got["features"],
            values=feature_matrix(got["features"]),
        )

    def put(self, rows: list[int], other: _Columns) -> None:
        """Write the songs of `other` into these rows, in place (cheaper than adding rows to every list)."""
        for name in _LIST_NAMES:
            column, new = getattr(self, name), getattr(other, name)
            for row, value in zip(rows, new, strict=True):
                column[row] = value
        self.values[rows] = other.values


_LIST_NAMES: Final = tuple(name for name in _Columns.__dataclass_fields__ if name != "values")


def _pick(values: Sequence[_T], rows: Sequence[int]) -> tuple[_T, ...]:
    """These rows of a list, in this order (`operator.itemgetter`, in C)."""
    if len(rows) > 1:
        return cast(tuple[_T, ...], operator.itemgetter(*rows)(values))
    return (values[rows[0]],) if rows else ()


def _containing(texts: list[str], *parts: str) -> list[int]:
    """The positions of the texts that contain any of these parts, in order."""
    found: set[int] = set()
    for part in parts:
        found.update(_where(map(operator.contains, texts, itertools.repeat(part))))
    return sorted(found)


def _where(flags: Iterable[object]) -> list[int]:
    """The positions of the true flags, in C (`itertools.compress`)."""
    return list(itertools.compress(itertools.count(), flags))


def _codes(column: Sequence[object], missing: object = None) -> IntArray:
    """Each identity as an integer below 2n (equal values, equal codes); a missing identity (`missing`)
    gets one of its own."""
    count = len(column)
    number = dict(zip(column, range(count), strict=True))  # a value's code: where it last appears
    if len(number) == count:
        return np.arange(count, dtype=np.int64)
    out = np.fromiter(map(number.__getitem__, column), dtype=np.int64, count=count)
    if missing in number:
        rows = out == number[missing]
        out[rows] = count + np.arange(int(rows.sum()))
    return out


def _title_codes(columns: _Columns) -> IntArray:
    """Title-and-first-artist identities (editions set aside), split where two songs of one title are
    told apart by both ISRC and album; a song without a title has an identity of its own."""
    count = len(columns.titles)
    lowered = "\n".join(columns.titles).casefold()  # casefold knows no context: one call does for all
    lines = lowered.count("\n") == count - 1  # (never for no titles)
    bare = lowered.split("\n") if lines else [title.casefold() for title in columns.titles]
    edited = _containing(bare, "(", "[", " - ") if _MAY_HAVE_EDITION.search(lowered) else []
    for n in edited:
        bare[n] = _EDITION.sub("", bare[n])
    if lines:  # fold the joined titles as they are, then again just the few edited ones
        names = _fold_joined(lowered)
        for n in edited:
            names[n] = fold(bare[n])
    else:
        names = _fold_all(bare)
    nameless = _where(map(operator.not_, names))
    for n in nameless:
        names[n] = bare[n].strip()
    # Title and artist as one identity: each numbered apart (in C), the pairs of numbers numbered again.
    pairs = _codes(names) * (2 * count) + _codes(_fold_all(columns.leads))
    codes = np.unique(pairs, return_inverse=True)[1].astype(np.int64) if count else pairs
    fresh = int(codes.max()) + 1 if len(codes) else 0
    untitled = [n for n in nameless if not names[n]]
    codes[untitled] = fresh + np.arange(len(untitled))
    fresh += len(untitled)
    counts = np.bincount(codes)
    by_code = np.argsort(codes, kind="stable")  # each code's rows together, in row order
    ends = np.cumsum(counts)
    for shared in np.flatnonzero(counts > 1).tolist():
        rows = by_code[ends[shared] - counts[shared] : ends[shared]].tolist()
        if len({columns.isrcs[row] for row in rows} - {""}) < 2:
            continue  # no two copies with different ISRCs: nothing tells them apart, one song
        clusters: list[list[int]] = []
        for row in rows:
            home = next((c for c in clusters if all(_same_song(columns, row, o) for o in c)), None)
            if home is None:
                clusters.append([row])
            else:
                home.append(row)
        for cluster in clusters[1:]:
            codes[cluster] = fresh
            fresh += 1
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
    album_a, album_b = fold(_text(columns.tracks[a].album)), fold(_text(columns.tracks[b].album))
    return not (isrc_a and isrc_b and isrc_a != isrc_b and album_a and album_b and album_a != album_b)


def _sort_key(stable_id: str, track: TrackProfile) -> tuple[str, str, tuple[str, ...], str]:
    return stable_id, _text(track.title), tuple(track.artists or ()), _text(track.album)


def _tidy(tracks: list[TrackProfile]) -> tuple[_Columns, list[int]]:
    """The songs as columns, each merged song in the row of its first copy, and the rows that make the
    history: each song once (a merged song instead of its copies), sorted by stable id.

    `tracks` must be a list of our own (`require_tracks` makes one): merged songs are written into it.
    """
    columns = _Columns.of(tracks)
    if not tracks:
        return columns, []
    identities = [_codes(columns.ids), _codes(columns.isrcs, missing=""), _title_codes(columns)]
    label = _components(identities, len(tracks))
    shared = np.bincount(label, minlength=len(tracks))[label] > 1
    rows = np.flatnonzero(~shared).tolist()
    if shared.any():
        copies = np.flatnonzero(shared)
        values = dict(zip(copies.tolist(), columns.values[copies].tolist(), strict=True))
        members: dict[int, list[int]] = {}
        for row, group in zip(copies.tolist(), label[copies].tolist(), strict=True):
            members.setdefault(group, []).append(row)
        ids = columns.ids
        merged = [
            _merge([tracks[r] for r in rows], [values[r] for r in rows], [ids[r] for r in rows])
            for rows in members.values()
        ]
        firsts = list(members)  # each group's smallest row: its first copy
        columns.put(firsts, _Columns.of(merged))
        rows += firsts
    rows.sort(key=columns.ids.__getitem__)
    return columns, rows


def distinct(tracks: Sequence[TrackProfile]) -> list[TrackProfile]:
    """The songs with duplicates merged, sorted by stable id; the input order does not matter.

    Duplicates share an id, an ISRC, or a title and first artist once edition labels such as
    "- Remastered 2011" are set aside (but two songs whose ISRCs and albums both differ stay two). A
    merged song keeps every signal of its copies, and its key and mode come from one copy.
    """
    with collector_paused():
        columns, rows = _tidy(require_tracks(tracks))
        return list(_pick(columns.tracks, rows))


def _first_known(values: list[list[float]], column: int, also: int | None = None) -> int | None:
    """The first copy whose value in this feature column (and in `also`) is known (not NaN)."""
    for n, row in enumerate(values):  # a plain loop: this runs for every feature of every merged song
        if row[column] == row[column] and (also is None or row[also] == row[also]):
            return n
    return None


def _merge(group: list[TrackProfile], values: list[list[float]], ids: list[str]) -> TrackProfile:
    """One song from its copies: the first with a real id speaks for it, every signal is kept.

    `ids` are the copies' stable ids and `values` their feature rows (`feature_matrix`, NaN where
    unknown): each feature comes from the first copy that knows it, key and mode together from the
    first that knows both (else the key alone from the first that knows it).
    """
    if len(group) == 1:
        return group[0]
    order = sorted(range(len(group)), key=lambda n: _sort_key(ids[n], group[n]))
    group, values = [group[n] for n in order], [values[n] for n in order]
    # One plain loop over the copies (this runs for every duplicate of a long history): the first copy
    # with a real id, year or ISRC gives it; ranks are the best of each list; plays are all kept.
    head: TrackProfile | None = None
    year: int | None = None
    isrc: str | None = None
    explicit = False
    ranks: dict[str, int] = {}
    saved: datetime | None = None
    times: set[datetime] = set()
    plays = 0
    for t in group:
        if head is None and t.id and not t.id.isspace():
            head = t
        if year is None and _year(t.release_year) is not None:
            year = t.release_year
        if isrc is None and t.isrc:
            isrc = t.isrc
        explicit = explicit or bool(t.explicit)
        for time_range, rank in (t.top_ranks or {}).items():
            if rank_score(rank):
                ranks[time_range] = min(rank, ranks.get(time_range, rank))
        if t.saved_at is not None:
            saved = t.saved_at if saved is None else min(saved, t.saved_at)
        times.update(t.play_times or ())
        plays = max(plays, t.plays)
    head = group[0] if head is None else head
    features: dict[str, Feature] = {}
    both = _first_known(values, _KEY, _MODE)
    keyed = both if both is not None else _first_known(values, _KEY)
    if keyed is not None:
        features["key"] = cast(Feature, group[keyed].features.key)
        if both is not None:
            features["mode"] = cast(Feature, group[both].features.mode)
    for column, name in enumerate(FEATURE_NAMES):
        if name not in ("key", "mode") and (found := _first_known(values, column)) is not None:
            features[name] = getattr(group[found].features, name)
    fields = dict(zip(_FIELDS, _ALL_FIELDS(head), strict=True)) | {
        "release_year": year,
        "isrc": isrc,
        "explicit": explicit,
        "top_ranks": ranks,
        "play_times": tuple(sorted(times, key=_TIMESTAMP)),
        "play_count": plays,
        "saved_at": saved,
        "features": Features(**features),
    }
    if type(head) is not TrackProfile:
        return replace(head, **{name: value for name, value in fields.items() if name != "id"})
    return TrackProfile(**fields)  # as `dataclasses.replace(head, ...)`, without its per-field checks


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
        kept = np.flatnonzero(new >= 0)
        kept = kept[np.argsort(new[kept], kind="stable")]  # by new row, each song's plays in their order
        return Plays(row=new[kept], night=self.night[kept], nth=self.nth[kept])


def _plays(times: Sequence[object]) -> Plays:
    if set(map(type, times)) <= {tuple, list}:  # the usual: read in C
        lengths = np.fromiter(map(len, times), np.int64, len(times))  # type: ignore[arg-type]
        timed: Iterable[object] = itertools.chain.from_iterable(times)  # type: ignore[arg-type]
    else:
        lengths = np.fromiter(
            (len(t) if isinstance(t, tuple | list) else 0 for t in times), np.int64, len(times)
        )
        timed = (p for t in times if isinstance(t, tuple | list) for p in t)
    try:
        hours = np.fromiter(map(_HOUR, timed), np.int64, int(lengths.sum()))
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
    kept = np.fromiter(map(operator.is_not, columns.saved, itertools.repeat(None)), bool, len(plays))
    result: FloatArray = 0.25 + ranks + np.log1p(np.maximum(plays, 0.0)) + np.where(kept, 0.5, 0.0)
    return result


def _years(years: list[object]) -> FloatArray:
    if set(map(type, years)) <= {int, type(None)}:
        found = np.fromiter([math.nan if y is None else y for y in years], np.float64, len(years))
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
        with collector_paused():
            return cls._of(_Columns.of(list(tracks)), range(len(tracks)))

    @classmethod
    def of_history(cls, tracks: Sequence[TrackProfile]) -> Table:
        """The table of a whole history, duplicates merged (`distinct`), sorted by stable id."""
        with collector_paused():
            return cls._of(*_tidy(require_tracks(tracks)))

    @classmethod
    def _of(cls, columns: _Columns, rows: Sequence[int]) -> Table:
        """The table of these rows of the columns, in this order. Per-song arrays are computed for
        every row and then picked (cheaper than picking a dozen lists first)."""
        count = len(rows)
        whole = len(columns.ids)
        picked: IntArray | slice = slice(None) if rows == range(whole) else np.asarray(rows, np.int64)
        leads = _pick(columns.leads, rows)
        features = columns.values[picked]
        key, mode = features[:, _KEY], features[:, _MODE]
        known = ~np.isnan(key) & ~np.isnan(mode)
        pitch, major = np.where(np.isnan(key), 0, key).astype(int), np.where(known, mode, 0).astype(int)
        code = np.where(known, _CODE_OF[pitch, major], -1)
        lowered = "\n".join(leads).casefold()
        if lowered.count("\n") == count - 1:
            folded = lowered.split("\n") if count else []
        else:
            folded = [name.casefold() for name in leads]
        # Each artist as first written: later spellings are overwritten by earlier ones (read backwards).
        shown = dict(zip(reversed(folded), reversed(leads), strict=True))
        shown.pop("", None)
        number = {low: n for n, low in enumerate(sorted(shown))}
        number[""] = -1
        every_play = _plays(columns.times)
        plays = every_play if isinstance(picked, slice) else every_play.take(picked)
        timed = np.bincount(plays.row, minlength=count).astype(np.int64)
        counted = np.array(
            [min(c, _MOST_PLAYS) if isinstance(c, int) else 0 for c in columns.counts]
            if not set(map(type, columns.counts)) <= {int}
            else columns.counts,
            dtype=np.float64,
        ).reshape(whole)
        every_timed = np.bincount(every_play.row, minlength=whole).astype(np.int64)
        ranked = _where(columns.ranks)
        weight = _weights(columns, ranked, np.maximum(np.minimum(counted, _MOST_PLAYS), every_timed))
        return cls(
            tracks=_pick(columns.tracks, rows),
            ids=_pick(columns.ids, rows),
            artist=np.fromiter(map(number.__getitem__, folded), dtype=np.int64, count=count),
            artists=tuple(shown[low] for low in sorted(shown)),
            weight=weight[picked],
            features=features,
            code=code.astype(np.int64),
            pitch=np.where(np.isnan(key), -1, pitch).astype(np.int64),
            year=_years(columns.years)[picked],
            timed=timed,
            night_plays=np.bincount(plays.row, weights=plays.night, minlength=count).astype(np.int64),
            recency=_recencies(columns.ranks, ranked)[picked],
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

    def ids_of(self, rows: IntArray | Sequence[int]) -> tuple[str, ...]:
        """The ids of these rows, in this order."""
        return _pick(self.ids, np.asarray(rows, dtype=np.int64).tolist())

    def take(self, rows: IntArray) -> Table:
        """The table of just these rows, in this order."""
        picked = np.asarray(rows, dtype=np.int64).tolist()
        return Table(
            tracks=_pick(self.tracks, picked),
            ids=_pick(self.ids, picked),
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
