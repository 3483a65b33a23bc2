"""Who the visitor is to us: a random visitor token in the signed session cookie, whose hash the
listeners this browser made carry (`Listener.owner_hash`).

Ownership is never a row id a cookie names: a forged or replayed cookie, or an old one after ids were
reused (SQLite reuses deleted ids), owns only the listeners stored with its own token's hash, and the
database keeps only that hash, so a copy of the table owns nothing either.
"""

from __future__ import annotations

import hashlib
import secrets

from flask import g, session

from fanapp.importing import store
from fanapp.site import campaign
from fanapp.site.db import db

TOKEN_KEY = "visitor"  # noqa: S105 - the session key the token sits under, not a secret
# Session key of the duet invitation a visitor came by ({"slug", "star"}, set by `web.duet`): it rides
# across the ways in (`became` keeps it) until the friend's duet draft is made.
DUET_INTENT = "duet"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _owner_hash() -> str | None:
    token = session.get(TOKEN_KEY)
    return _hash(token) if isinstance(token, str) and len(token) >= 32 else None


def owned_listeners() -> list[int]:
    """The listeners this browser created (those stored with its token's hash), oldest first."""
    if "owned_listeners" not in g:
        owner = _owner_hash()
        g.owned_listeners = store.owned(db(), owner) if owner else []
    found: list[int] = g.owned_listeners
    return found


def owns(listener_id: object) -> bool:
    """True when this browser made that listener."""
    return isinstance(listener_id, int) and listener_id in owned_listeners()


def became(listener_id: int) -> None:
    """The visitor connected a new history: a new identity (against fixation) that keeps the campaign,
    the duet invitation they came by, and every listener this browser made before (they move to the
    new token)."""
    came_from = campaign.current()
    duet = session.get(DUET_INTENT)
    old = _owner_hash()
    session.clear()
    if came_from:
        session["campaign"] = came_from
    if duet:
        session[DUET_INTENT] = duet
    session[TOKEN_KEY] = secrets.token_urlsafe(32)
    new = _owner_hash()
    assert new is not None
    store.take_ownership(db(), listener_id=listener_id, owner_hash=new, previous_hash=old)
    session["listener_id"] = listener_id
    g.pop("owned_listeners", None)


def remember(listener_id: int) -> None:
    """Add a listener to what this browser owns (picking by hand, before the import starts)."""
    if _owner_hash() is None:
        session[TOKEN_KEY] = secrets.token_urlsafe(32)
    owner = _owner_hash()
    assert owner is not None
    store.take_ownership(db(), listener_id=listener_id, owner_hash=owner)
    g.pop("owned_listeners", None)


def current_listener() -> int | None:
    """The listener whose import this browser is following (only ever one of its own)."""
    value = session.get("listener_id")
    return value if owns(value) else None  # type: ignore[return-value]


def forget() -> None:
    """Forget everything about this browser (after "delete everything")."""
    session.clear()
    g.pop("owned_listeners", None)
