"""The Soundtrack engine: a listening history in, two characters, their arcs and a mash-up out.

Pure and deterministic: no Flask, no database, no network. Start with `propose`.
"""

from fanapp.engine.arcs import order_arc
from fanapp.engine.camelot import camelot, relation, shift
from fanapp.engine.episode import propose
from fanapp.engine.mashup import score_mashups
from fanapp.engine.model import (
    SLOTS,
    Character,
    EngineError,
    MashupPair,
    Placement,
    Proposal,
    slot_for,
)
from fanapp.engine.profile import FEATURE_NAMES, Feature, Features, TrackProfile

__all__ = [
    "FEATURE_NAMES",
    "SLOTS",
    "Character",
    "EngineError",
    "Feature",
    "Features",
    "MashupPair",
    "Placement",
    "Proposal",
    "TrackProfile",
    "camelot",
    "order_arc",
    "propose",
    "relation",
    "score_mashups",
    "shift",
    "slot_for",
]
