"""The Soundtrack engine: a listening history in, two characters, their arcs and a mash-up out.

Pure and deterministic: no Flask, no database, no network. Start with `propose`; after an edit, `tell`
a soundtrack again, `describe` its character, and `score_pair` / `score_mashups` its finales.
"""

from fanapp.engine.api import describe, tell_story
from fanapp.engine.arcs import RULE, order_arc
from fanapp.engine.camelot import camelot, key_name, open_key, relation, shift
from fanapp.engine.duet import Duet, complement
from fanapp.engine.episode import propose
from fanapp.engine.mashup import score_mashups, score_pair
from fanapp.engine.model import (
    SLOTS,
    Character,
    EngineError,
    MashupPair,
    Mix,
    Placement,
    Proposal,
    slot_for,
)
from fanapp.engine.profile import FEATURE_NAMES, Feature, Features, TrackProfile

__all__ = [
    "FEATURE_NAMES",
    "RULE",
    "SLOTS",
    "Character",
    "Duet",
    "EngineError",
    "Feature",
    "Features",
    "MashupPair",
    "Mix",
    "Placement",
    "Proposal",
    "TrackProfile",
    "camelot",
    "complement",
    "describe",
    "key_name",
    "open_key",
    "order_arc",
    "propose",
    "relation",
    "score_mashups",
    "score_pair",
    "shift",
    "slot_for",
    "tell_story",
]
