"""Who the visitor is to us: the listeners this browser made, kept in its signed session cookie."""

from __future__ import annotations

from flask import session

from fanapp.site import campaign

MAX_REMEMBERED = 20  # listeners one browser can reach from "your data" (bounded cookie)


def owned_listeners() -> list[int]:
    """The listener ids this browser created (from its signed session cookie)."""
    ids = session.get("mine") or []
    current = session.get("listener_id")
    found = [i for i in ids if isinstance(i, int)]
    if isinstance(current, int) and current not in found:
        found.append(current)
    return found


def became(listener_id: int) -> None:
    """The visitor connected a new history: a new identity (against fixation) that keeps the campaign,
    the duet invitation they came by, and every listener this browser made before."""
    came_from = campaign.current()
    duet = session.get("duet")  # the duet invitation the visitor came by, if any (web.duet)
    mine = owned_listeners()
    session.clear()
    if came_from:
        session["campaign"] = came_from
    if duet:
        session["duet"] = duet
    session["listener_id"] = listener_id
    # Every listener this browser made, so "delete my data" can reach all of them (bounded).
    session["mine"] = [*mine, listener_id][-MAX_REMEMBERED:]


def remember(listener_id: int) -> None:
    """Add a listener to what this browser owns (picking by hand, before the import starts)."""
    session["mine"] = [*session.get("mine", []), listener_id][-MAX_REMEMBERED:]


def current_listener() -> int | None:
    """The listener whose import this browser is following."""
    value = session.get("listener_id")
    return value if isinstance(value, int) else None


def forget() -> None:
    """Forget everything about this browser (after "delete everything")."""
    session.clear()
