"""Your data: what a visitor brought, deleting all of it, and purging old histories."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from fanapp.data.models import Episode, Listener, SpotifyToken, Track, utcnow
from fanapp.episodes import announce_taken_down


@dataclass(frozen=True)
class Purged:
    """What a deletion or purge removed."""

    listeners: int
    episodes: int


@dataclass(frozen=True)
class Overview:
    """What this browser brought (listeners) and made (episodes, oldest first)."""

    listeners: list[Listener]
    episodes: list[Episode]


def overview(session: Session, listener_ids: Sequence[int]) -> Overview:
    """Everything stored for these listeners, for the "your data" page."""
    ids = list(listener_ids)
    if not ids:
        return Overview([], [])
    listeners = list(session.exec(select(Listener).where(col(Listener.id).in_(ids))).all())
    episodes = list(
        session.exec(select(Episode).where(col(Episode.listener_id).in_(ids)).order_by(col(Episode.id))).all()
    )
    return Overview(listeners, episodes)


def delete_listeners(session: Session, listener_ids: Sequence[int]) -> Purged:
    """Delete these listeners with their tokens, imported history and every episode they made; the
    published ones are taken down from every cache."""
    ids = list(listener_ids)
    if not ids:
        return Purged(0, 0)
    slugs = [
        s
        for s in session.exec(
            select(Episode.slug).where(col(Episode.listener_id).in_(ids), col(Episode.status) == "published")
        ).all()
        if s
    ]
    episodes = session.exec(
        delete(Episode).where(col(Episode.listener_id).in_(ids))  # songs and characters cascade
    ).rowcount
    # Tokens and tracks cascade with the listener (ON DELETE CASCADE).
    listeners = session.exec(delete(Listener).where(col(Listener.id).in_(ids))).rowcount
    session.commit()
    announce_taken_down(slugs, session)
    return Purged(listeners, episodes)


def purge(session: Session, *, older_than: timedelta, now: datetime | None = None) -> Purged:
    """Delete what listeners imported before the retention period: history, tokens, drafts.

    Published episodes stay (they hold their own copy of their songs and no personal data), and so
    does an emptied listener row that owns one, so its owner can still unpublish it.
    """
    cutoff = (now or utcnow()) - older_than
    old = [i for i in session.exec(select(Listener.id).where(col(Listener.created_at) < cutoff)).all() if i]
    drafts = session.exec(
        delete(Episode).where(col(Episode.listener_id).in_(old), col(Episode.status) == "draft")
    ).rowcount
    owners = set(session.exec(select(Episode.listener_id).where(col(Episode.listener_id).in_(old))).all())
    session.exec(delete(Track).where(col(Track.listener_id).in_(old)))
    session.exec(delete(SpotifyToken).where(col(SpotifyToken.listener_id).in_(old)))
    for listener in session.exec(select(Listener).where(col(Listener.id).in_(owners))).all():
        listener.external_id, listener.display_name, listener.import_notes = None, "", []
        session.add(listener)
    gone = [i for i in old if i not in owners]
    listeners = session.exec(delete(Listener).where(col(Listener.id).in_(gone))).rowcount
    session.commit()
    return Purged(listeners, drafts)
