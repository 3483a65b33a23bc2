"""Blocked words, matched the way people dodge them: Unicode compatibility forms, case, look-alike
letters from other scripts, digits and symbols for letters, and separators between the letters.

A name is reduced to a skeleton: NFKC (full-width and styled letters become plain ones), case folding,
combining marks dropped (so "é" is "e"), every letter that Unicode's confusables data lists as looking
like a Latin letter or digit replaced by it (the `confusable_homoglyphs` package ships that data, MIT),
common leetspeak digits and symbols mapped to letters, and everything that is not a letter dropped.
A blocked word matches when its own skeleton appears in the name's. Words of three letters or fewer
match only as a whole word of the name, so "kkk" refuses "K.K.K." but a short word inside a longer,
harmless one (the Scunthorpe problem) is left alone.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from confusable_homoglyphs import confusables

# Digits and symbols people use for letters, applied after the look-alike folding; "l" and "i" are one
# letter here (a capital I, a small L, a 1 and a pipe look the same in most fonts).
LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "l": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "€": "e",
    }
)
SHORT = 3


@cache
def _latin(ch: str) -> str:
    """The plain Latin letter or digit that `ch` looks like, or `ch` itself."""
    if ch.isascii():
        return ch.lower() if ch.isupper() else ch
    found = confusables.is_confusable(ch, greedy=True, preferred_aliases=["latin", "common"])
    for entry in found or ():
        for glyph in entry["homoglyphs"]:
            candidate = str(glyph["c"]).casefold()
            if len(candidate) == 1 and candidate.isascii() and candidate.isalnum():
                return candidate
    return ch


def skeleton(text: str) -> str:
    """`text` folded to what it looks like: lower-case Latin letters (and letters of other scripts
    that look like none), with no separators."""
    # Look-alikes before case folding: a capital Greek Nu looks like "N", its small letter like "v".
    split = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", text))
    plain = "".join(_latin(ch) for ch in split if not unicodedata.combining(ch)).casefold()
    return "".join(ch for ch in plain.translate(LEET) if ch.isalpha())


def _words(text: str) -> list[str]:
    """The words of `text` (split on spaces), each folded; "k.k.k" stays one word."""
    return [w for w in (skeleton(part) for part in unicodedata.normalize("NFKC", text).split()) if w]


@dataclass(frozen=True)
class BlockList:
    """The pack's blocked words, folded once."""

    words: tuple[str, ...]

    @classmethod
    def of(cls, words: Iterable[str]) -> BlockList:
        """Fold each word as names are folded; duplicates and empty skeletons dropped."""
        folded = {skeleton(w) for w in words}
        return cls(tuple(sorted(w for w in folded if w)))

    def found_in(self, text: str) -> str | None:
        """The first blocked word `text` contains (folded), or None."""
        if not self.words:
            return None
        whole = skeleton(text)
        tokens = set(_words(text))
        for word in self.words:
            if (len(word) <= SHORT and (word in tokens or whole == word)) or (
                len(word) > SHORT and word in whole
            ):
                return word
        return None
