"""Your data: delete everything a visitor brought, unpublish an episode, purge old histories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from fanapp.models import Episode, Listener, utcnow


@dataclass(frozen=True)
class Purged:
    """What a deletion or purge removed."""

    listeners: int
    episodes: int


def delete_listeners(session: Session, listener_ids: Sequence[int]) -> Purged:
    """Delete these listeners with their tokens, imported history and every episode they made."""
    ids = list(listener_ids)
    if not ids:
        return Purged(0, 0)
    episodes = session.exec(
        delete(Episode).where(col(Episode.listener_id).in_(ids))  # songs and characters cascade
    ).rowcount
    # Tokens and tracks cascade with the listener (ON DELETE CASCADE).
    listeners = session.exec(delete(Listener).where(col(Listener.id).in_(ids))).rowcount
    session.commit()
    return Purged(listeners, episodes)


def unpublish(session: Session, episode: Episode) -> None:
    """Take a published episode down: its link, JSON, images and embed answer 404 from now on."""
    session.delete(episode)
    session.commit()


def purge(session: Session, *, older_than: timedelta, now: datetime | None = None) -> Purged:
    """Delete listeners (history, tokens, drafts) created before the retention period.

    Published episodes stay: they hold their own copy of their songs and no personal data, and their
    owner can still unpublish them.
    """
    cutoff = (now or utcnow()) - older_than
    old = list(session.exec(select(Listener.id).where(col(Listener.created_at) < cutoff)).all())
    ids = [i for i in old if i is not None]
    drafts = session.exec(
        delete(Episode).where(col(Episode.listener_id).in_(ids), col(Episode.status) == "draft")
    ).rowcount
    listeners = session.exec(delete(Listener).where(col(Listener.id).in_(ids))).rowcount
    session.commit()
    return Purged(listeners, drafts)
