"""The Camelot wheel: keys as DJ codes ("8A" is A minor, "8B" C major) and how two codes mix."""

from __future__ import annotations

import re
from typing import Final, NamedTuple

# Position of C on the wheel for each mode; every fifth up (7 semitones) is one step clockwise.
_C_NUMBER: Final = {0: 5, 1: 8}
_LETTER: Final = {0: "A", 1: "B"}
_CODE = re.compile(r"(1[0-2]|[1-9])([AB])")

CODES: Final = tuple(f"{number}{letter}" for letter in "AB" for number in range(1, 13))

_MAJOR_NAMES: Final = ("C", "D♭", "D", "E♭", "E", "F", "F♯", "G", "A♭", "A", "B♭", "B")
_MINOR_NAMES: Final = ("C", "C♯", "D", "E♭", "E", "F", "F♯", "G", "G♯", "A", "B♭", "B")


class Relation(NamedTuple):
    """How two keys sound when both songs play at once: a name and the points (0-100) it is worth."""

    name: str
    points: int


# A mash-up layers both songs, so only keys that share (almost) all their notes and their tonal centre's
# neighbourhood hold: the same key, the relative major/minor (the same seven notes), or one step round
# the wheel (a fifth apart, six of seven notes). DJ *transition* moves (diagonals, the +2 "energy boost")
# work one after the other, not on top of each other: layered, they clash.
SAME: Final = Relation("same key", 100)
RELATIVE: Final = Relation("relative", 95)
ADJACENT: Final = Relation("adjacent", 88)
CLASH: Final = Relation("clash", 0)
GOOD: Final = (SAME, RELATIVE, ADJACENT)


def camelot(key: int, mode: int) -> str:
    """The Camelot code of a pitch class (0-11, C=0) in a mode (1 major, 0 minor): (9, 0) -> "8A"."""
    if key not in range(12) or mode not in (0, 1):
        raise ValueError(f"no Camelot code for key {key!r} in mode {mode!r}")
    number = (_C_NUMBER[int(mode)] - 1 + 7 * int(key)) % 12 + 1
    return f"{number}{_LETTER[int(mode)]}"


def parse(code: str) -> tuple[int, str]:
    """A code's wheel number (1-12) and letter ("A" minor, "B" major): "10b" -> (10, "B")."""
    found = _CODE.fullmatch(code.strip().upper()) if isinstance(code, str) else None
    if found is None:
        raise ValueError(f"{code!r} is not a Camelot code like 8A or 12B")
    return int(found.group(1)), found.group(2)


def index(code: str) -> int:
    """The position of a code in CODES (0-23), handy for lookup tables."""
    number, letter = parse(code)
    return (12 if letter == "B" else 0) + number - 1


def key_name(code: str) -> str:
    """The musical name of a code: "8A" -> "A minor"."""
    number, letter = parse(code)
    mode = 1 if letter == "B" else 0
    pitch = (number - _C_NUMBER[mode]) * 7 % 12  # 7 is its own inverse mod 12
    return f"{(_MAJOR_NAMES if mode else _MINOR_NAMES)[pitch]} {'major' if mode else 'minor'}"


def shift(code: str, semitones: int) -> str:
    """The code after transposing by some semitones: each semitone is 7 steps round the wheel."""
    number, letter = parse(code)
    return f"{(number - 1 + 7 * semitones) % 12 + 1}{letter}"


def open_key(code: str) -> str:
    """The same key in Open Key notation (Traktor's): "8B" (C major) -> "1d", "8A" (A minor) -> "1m"."""
    number, letter = parse(code)
    return f"{(number - 8) % 12 + 1}{'d' if letter == 'B' else 'm'}"


def relation(a: str, b: str) -> Relation:
    """How codes a and b sound layered (both songs at once), by the overlay rules; symmetric."""
    number_a, letter_a = parse(a)
    number_b, letter_b = parse(b)
    step = (number_b - number_a) % 12
    if letter_a != letter_b:
        return RELATIVE if step == 0 else CLASH
    return {0: SAME, 1: ADJACENT, 11: ADJACENT}.get(step, CLASH)


def steps_apart(a: str, b: str) -> int:
    """How many steps round the wheel two codes are (0-6), ignoring the letter."""
    step = (parse(b)[0] - parse(a)[0]) % 12
    return min(step, 12 - step)
