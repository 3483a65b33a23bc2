"""The engine's answers: two characters with their arcs, mash-up pairs, and errors a visitor can read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

SLOTS: Final = ("opening", "turn", "finale")


def slot_for(index: int, count: int) -> str:
    """The slot of song `index` of `count` in a story: last the finale, first the opening, others turns."""
    if not 0 <= index < count:
        raise ValueError(f"song {index} is not part of a story of {count} songs")
    if index == count - 1:
        return "finale"
    return "opening" if index == 0 else "turn"


class EngineError(ValueError):
    """Input the engine cannot turn into an episode; the message is a sentence a visitor can read."""


@dataclass(frozen=True)
class Placement:
    """One song in a character's story, with why it sits there ("opens softly (energy 0.31)")."""

    track_id: str
    slot: str
    reason: str


@dataclass(frozen=True)
class Character:
    """One of the episode's two characters: an archetype, a one-line description, an arc and its songs."""

    key: str
    name: str
    description: str
    archetype: str
    arc: tuple[Placement, ...]
    member_ids: tuple[str, ...]


@dataclass(frozen=True)
class MashupPair:
    """A song from character A and one from B that could be mashed up, scored 0-100 with readable reasons."""

    a_id: str
    b_id: str
    score: int
    reasons: tuple[str, ...]
    uses_features: bool


@dataclass(frozen=True)
class Proposal:
    """A whole episode proposal: two characters, up to three mash-ups (best first), and the split's basis."""

    a: Character
    b: Character
    mashups: tuple[MashupPair, ...]
    basis: str
