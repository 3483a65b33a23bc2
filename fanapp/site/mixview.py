"""The mash-up explained in pictures: a Camelot wheel with both keys (and any transposition) and a tempo
bar with both BPMs, as geometry and as words, from the mix stored with the episode.

Pages draw it as SVG (no inline styles: the CSP forbids them), the share images draw the same geometry
with Pillow, and both carry the same text equivalent. Hand-written on purpose: it is twenty lines of
trigonometry, and a charting library would bring scripts and styles the CSP refuses.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

_CODE: Final = re.compile(r"(1[0-2]|[1-9])([AB])")
OUTER, MIDDLE, INNER = 100.0, 68.0, 38.0  # ring radii: B (major) outside, A (minor) inside


def _code(value: object) -> tuple[int, str] | None:
    found = _CODE.fullmatch(value) if isinstance(value, str) else None
    return (int(found.group(1)), found.group(2)) if found else None


def angle(number: int) -> float:
    """The angle of a wheel number in radians, clockwise from the top (12 sits at the top)."""
    return math.radians((number % 12) * 30)


def point(radius: float, theta: float) -> tuple[float, float]:
    """A point of the wheel (centre 0,0; y grows downwards, as in SVG and Pillow)."""
    return radius * math.sin(theta), -radius * math.cos(theta)


def ring(letter: str) -> tuple[float, float]:
    """Inner and outer radius of a letter's ring."""
    return (MIDDLE, OUTER) if letter == "B" else (INNER, MIDDLE)


def _f(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


@dataclass(frozen=True)
class Segment:
    """One key of the wheel: where it is drawn and how it is marked ("a", "b", "both", "to" or "")."""

    code: str
    number: int
    letter: str
    path: str
    label: tuple[float, float]
    mark: str


@dataclass(frozen=True)
class Wheel:
    """The whole wheel for one pair, with the transposition arrow (an SVG path) when there is one."""

    segments: tuple[Segment, ...]
    arrow: str
    text: str


def _sector(number: int, letter: str) -> str:
    low, high = ring(letter)
    start, end = angle(number) - math.radians(15), angle(number) + math.radians(15)
    x1, y1 = point(high, start)
    x2, y2 = point(high, end)
    x3, y3 = point(low, end)
    x4, y4 = point(low, start)
    return (
        f"M{_f(x1)} {_f(y1)}A{_f(high)} {_f(high)} 0 0 1 {_f(x2)} {_f(y2)}"
        f"L{_f(x3)} {_f(y3)}A{_f(low)} {_f(low)} 0 0 0 {_f(x4)} {_f(y4)}Z"
    )


def arrow_points(start: str, end: str, steps: int = 12) -> list[tuple[float, float]]:
    """Points along the ring from one code to another the short way round (for a transposition)."""
    a, b = _code(start), _code(end)
    if a is None or b is None:
        return []
    radius = sum(ring(a[1])) / 2
    turn = ((b[0] - a[0] + 6) % 12) - 6
    first = angle(a[0])
    return [point(radius, first + math.radians(30 * turn) * n / steps) for n in range(steps + 1)]


def _title(song: Mapping[str, Any]) -> str:
    title = song.get("title") if isinstance(song, Mapping) else None
    return f"'{title}'" if isinstance(title, str) and title.strip() else "a song"


def _key_words(mix: Mapping[str, Any], side: str) -> str:
    code = mix.get(f"{side}_key")
    if not isinstance(code, str) or _code(code) is None:
        pitch = mix.get(f"{side}_pitch")
        return f"in {pitch}, mode unknown" if isinstance(pitch, str) else "key unknown"
    name, open_key = mix.get(f"{side}_key_name"), mix.get(f"{side}_key_open")
    extra = ", ".join(str(x) for x in (name, f"Open Key {open_key}" if open_key else None) if x)
    return f"in {code}" + (f" ({extra})" if extra else "")


def wheel(mix: Mapping[str, Any], a: Mapping[str, Any], b: Mapping[str, Any]) -> Wheel:
    """The Camelot wheel for a stored mix and its two songs."""
    marks: dict[str, str] = {}
    for side in ("a", "b"):
        code = mix.get(f"{side}_key")
        if isinstance(code, str) and _code(code):
            marks[code] = "both" if marks.get(code) not in (None, side) else side
    shifted, transposed = mix.get("shifted"), mix.get("transposed")
    arrow = ""
    if isinstance(shifted, str) and _code(shifted) and transposed in ("a", "b"):
        marks.setdefault(shifted, "to")
        points = arrow_points(str(mix.get(f"{transposed}_key")), shifted)
        if points:
            arrow = "M" + "L".join(f"{_f(x)} {_f(y)}" for x, y in points)
    segments = []
    for letter in ("B", "A"):
        for number in range(1, 13):
            code = f"{number}{letter}"
            low, high = ring(letter)
            segments.append(
                Segment(
                    code,
                    number,
                    letter,
                    _sector(number, letter),
                    point((low + high) / 2, angle(number)),
                    marks.get(code, ""),
                )
            )
    said = [
        "Camelot wheel.",
        f"Side A: {_title(a)} {_key_words(mix, 'a')}.",
        f"Side B: {_title(b)} {_key_words(mix, 'b')}.",
    ]
    if arrow and isinstance(shifted, str):
        moved = a if transposed == "a" else b
        semitones = mix.get("semitones")
        size = "a semitone" if semitones in (1, -1) else "two semitones"
        direction = "up" if isinstance(semitones, int) and semitones > 0 else "down"
        said.append(f"Arrow: {_title(moved)} transposed {direction} {size} to {shifted}.")
    relation = mix.get("relation")
    if isinstance(relation, str) and relation:
        said.append({"clash": "The keys clash."}.get(relation, f"Heard together: {relation}."))
    return Wheel(tuple(segments), arrow, " ".join(said))


@dataclass(frozen=True)
class TempoBar:
    """Both tempos on one scale (x from 0 to 1), the shared tempo when they meet, and the words."""

    low: float
    high: float
    a: float | None  # positions 0-1, None when unknown
    b: float | None
    meet: float | None
    a_bpm: float | None
    b_bpm: float | None  # as counted (double or half time applied)
    meet_bpm: float | None
    counted: str  # "", "double time" or "half time"
    text: str


def tempo_bar(mix: Mapping[str, Any], a: Mapping[str, Any], b: Mapping[str, Any]) -> TempoBar:
    """The tempo bar for a stored mix: both BPMs, B as counted against A, and where they meet."""

    def number(name: str) -> float | None:
        value = mix.get(name)
        return float(value) if isinstance(value, int | float) and math.isfinite(value) and value > 0 else None

    multiple = number("multiple") or 1.0
    a_bpm, raw_b, meet = number("a_bpm"), number("b_bpm"), number("meet_bpm")
    b_bpm = raw_b * multiple if raw_b is not None else None
    known = [v for v in (a_bpm, b_bpm, meet) if v is not None]
    centre = sum(known) / len(known) if known else 120.0
    spread = max([abs(v - centre) for v in known] + [centre * 0.1])
    low, high = centre - spread * 1.4, centre + spread * 1.4

    def place(value: float | None) -> float | None:
        return None if value is None else (value - low) / (high - low)

    counted = {2.0: "double time", 0.5: "half time"}.get(multiple, "")
    words = [f"Tempo: {_title(a)} " + (f"{a_bpm:.0f} BPM" if a_bpm else "tempo unknown")]
    if raw_b is None:
        words.append(f"{_title(b)} tempo unknown")
    else:
        words.append(
            f"{_title(b)} {raw_b:.0f} BPM" + (f", counted at {counted} ({b_bpm:.0f})" if counted else "")
        )
    text = "; ".join(words) + "."
    drift = number("drift")
    if meet is not None:
        text += f" Both stretched to {meet:.0f} BPM with key lock, keys unchanged."
    elif mix.get("tempo_check") == "clash" and drift is not None:
        text += f" {drift * 100:.0f}% apart: too far to stretch (8% at most)."
    return TempoBar(low, high, place(a_bpm), place(b_bpm), place(meet), a_bpm, b_bpm, meet, counted, text)
