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
    """One of the episode's two characters: an archetype, a one-line description, an arc and its songs.

    `notes` tell the visitor, in the show's words, which songs the engine cut or swapped and why.
    """

    key: str
    name: str
    description: str
    archetype: str
    arc: tuple[Placement, ...]
    member_ids: tuple[str, ...]
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Mix:
    """How two songs play at once, as measured: what every surface draws (wheel, tempo bar) and says.

    Keys are Camelot codes (None when unknown); `transposed` names the song pitched ("a" or "b") by
    `semitones`, landing on `shifted`. Tempo: `multiple` is how b's beat is counted (2 = double time)
    and both songs are stretched, with key lock, to `meet_bpm`. Each check is "good", "clash" or
    "unknown"; `verdict` sums them up ("clean", "clash", "partly checked", "not checked") and `label`
    is the honest caption for anything not checked ("" for a clean or clashing pair).
    """

    a_key: str | None
    b_key: str | None
    a_pitch: str | None
    b_pitch: str | None
    transposed: str | None
    semitones: int
    shifted: str | None
    relation: str | None
    key_check: str
    a_bpm: float | None
    b_bpm: float | None
    multiple: float
    meet_bpm: float | None
    drift: float | None
    tempo_check: str
    verdict: str
    label: str


@dataclass(frozen=True)
class MashupPair:
    """A song from character A and one from B to play at once, scored 0-100 with readable reasons."""

    a_id: str
    b_id: str
    score: int
    reasons: tuple[str, ...]
    mix: Mix

    @property
    def verified(self) -> bool:
        """Whether both key and tempo were measured and checked for this pair."""
        return self.mix.key_check != "unknown" and self.mix.tempo_check != "unknown"


@dataclass(frozen=True)
class Proposal:
    """A whole episode proposal: two characters, up to three mash-ups (best first), and the split's basis.

    The first mash-up pairs the two finales. `candidates` are each character's finale candidates (song
    ids), the pool the builder searches again after every edit.
    """

    a: Character
    b: Character
    mashups: tuple[MashupPair, ...]
    basis: str
    candidates: tuple[tuple[str, ...], tuple[str, ...]] = ((), ())
