"""Campaign attribution: utm_* or ?c= parameters carried from an embed or link to the episode."""

from __future__ import annotations

from collections.abc import Mapping

from flask import request, session

CAMPAIGN_KEYS = ("utm_source", "utm_medium", "utm_campaign", "c")
MAX_LENGTH = 100


def from_args() -> dict[str, str]:
    """The campaign parameters of this request's URL (bounded, plain text)."""
    return from_query(request.args)


def from_query(args: Mapping[str, str]) -> dict[str, str]:
    """The campaign parameters of parsed query arguments: the first value of each (a `MultiDict`'s
    `get`), bounded, plain text. The page cache keys embeds by this too, so its key always matches
    what the page renders, duplicated parameters included."""
    found = {}
    for key in CAMPAIGN_KEYS:
        value = args.get(key, "").strip()
        if value:
            found[key] = "".join(ch for ch in value[:MAX_LENGTH] if ch.isprintable())
    return found


def remember() -> None:
    """Keep this URL's campaign parameters in the visitor's session (only when there are some)."""
    found = from_args()
    if found:
        session["campaign"] = found


def current() -> dict[str, str]:
    """The campaign this visitor came from, if any."""
    value = session.get("campaign")
    return dict(value) if isinstance(value, dict) else {}
