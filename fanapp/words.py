"""Words the app writes, in the right number: used by pages (through `site.templating`) and by sources'
progress lines alike, so both say "1 play", never "1 plays"."""

from __future__ import annotations

IRREGULAR = {"history": "histories", "story": "stories", "match": "matches"}


def count(n: int, word: str, plural: str | None = None) -> str:
    """A number with its noun in the right form: "1 episode", "2 episodes", "1,200 songs"."""
    if n == 1:
        return f"1 {word}"
    return f"{n:,} {plural or IRREGULAR.get(word, word + 's')}"
