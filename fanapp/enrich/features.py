"""Pure converters from each provider's JSON to `{feature: value}`, with the sanity rules they share.

Nothing here does I/O: the gateways in `fanapp.enrich.providers` call these on parsed JSON, and the
unit tests call them on schema-shaped payloads.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from typing import Any

from fanapp.engine.profile import FEATURE_NAMES, clean_feature
from fanapp.tracks import spotify_id

# One vocabulary: the features the engine reads, in the names Spotify's AudioFeaturesObject uses, with
# the engine's own rule for a believable value (tempo 40..250 BPM, key 0..11, mode 0/1, the rest 0..1).
FEATURES = FEATURE_NAMES


Features = dict[str, float]


def _number(value: Any) -> float | None:
    # Numbers only, as the providers' JSON sends them; bool is an int subclass: `true` is never a value.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def sanitise(raw: Mapping[str, Any], allowed: Collection[str] = FEATURES) -> Features:
    """Keep only plausible feature values, by the engine's rule (`clean_feature`).

    Anything else (missing, null, out of range, Spotify's key -1 for "no key detected") is dropped:
    a missing feature is better than an invented one.
    """
    found: Features = {}
    for name in FEATURES:
        number = _number(raw.get(name)) if name in allowed else None
        if number is not None and (number := clean_feature(name, number)) is not None:
            found[name] = number
    return found


def from_spotify(payload: Any, asked: Collection[str]) -> dict[str, Features]:
    """Spotify's `{"audio_features": [AudioFeaturesObject | null, ...]}` to features by Spotify id.

    Spotify answers `null` in place of a track it has no features for; such ids are simply absent.
    """
    rows = payload.get("audio_features") if isinstance(payload, dict) else None
    result: dict[str, Features] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        track_id = row.get("id")
        if isinstance(track_id, str) and track_id in asked and track_id not in result:
            features = sanitise(row)
            if features:
                result[track_id] = features
    return result


def from_reccobeats(payload: Any, asked: Collection[str]) -> dict[str, Features]:
    """ReccoBeats' `{"content": [audio features, ...]}` to features by Spotify id.

    Each entry's `id` is ReccoBeats' own UUID; the Spotify id is only in `href`, so that is the way back.
    Ids ReccoBeats does not know are absent from `content`.
    """
    rows = payload.get("content") if isinstance(payload, dict) else None
    result: dict[str, Features] = {}
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        track_id = spotify_id(row.get("href"))
        if track_id and track_id in asked and track_id not in result:
            features = sanitise(row)
            if features:
                result[track_id] = features
    return result


def deezer_error_code(payload: Any) -> int | None:
    """The `code` of Deezer's error envelope (`{"error": {"type", "message", "code"}}`), else None.

    Deezer reports errors with HTTP 200 and this body: 800 is "no data", 4 is "Quota limit exceeded",
    700 is "Service busy".
    """
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return None
    code = error.get("code")
    return code if isinstance(code, int) and not isinstance(code, bool) else -1


def from_deezer(payload: Any) -> Features:
    """A Deezer track object to `{"tempo": bpm}`; Deezer's `bpm` is 0 when unknown, which is no tempo."""
    if not isinstance(payload, dict) or deezer_error_code(payload) is not None:
        return {}
    return sanitise({"tempo": payload.get("bpm")}, allowed=("tempo",))
