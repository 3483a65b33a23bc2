"""The import: fetch a history once from any source, deduplicate it, store it whole or not at all."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlmodel import Session, col, delete, select, update

from fanapp.data.models import Listener, Track, utcnow
from fanapp.errors import FanappError
from fanapp.sources import HistorySource, ImportedTrack, merge


def add_track(session: Session, *, listener_id: int, track: ImportedTrack) -> bool:
    """Store one more song in a listener's history (picking by hand); False if it was there already."""
    exists = session.exec(
        select(Track).where(Track.listener_id == listener_id, Track.source_id == track.source_id)
    ).first()
    if exists is not None:
        return False
    session.add(Track.of(listener_id, track))
    session.commit()
    return True


Enrich = Callable[[Session, list[Track]], list[str]]
Cast = Callable[[Session, Listener], None]


def run_import(
    session: Session,
    *,
    listener: Listener,
    source: HistorySource,
    enrich: Enrich | None = None,
    cast: Cast | None = None,
) -> int:
    """Fetch the history from `source` and replace the listener's tracks with it; returns the song count.

    The fetch completes before anything is written, and the write is one transaction: a failure leaves
    the listener marked `failed` with a message for the visitor, never a half-imported history.
    `enrich` (tempo, key and mood from feature providers) runs on the stored tracks before the import
    is marked done, so the first proposal already has them; it returns notes for the visitor. `cast`
    (the first draft episode) runs last, before the import is marked done: whoever sees "done" finds
    the draft.
    """
    assert listener.id is not None

    def progress(stage: str) -> None:
        listener.import_stage = stage
        listener.import_progress_at = utcnow()  # a sign of life for the watchdog
        session.add(listener)
        session.commit()

    listener.import_status = "running"
    listener.import_error = ""
    progress("Starting")
    try:
        history = source.fetch(progress)
    except FanappError as exc:
        listener.import_status = "failed"
        listener.import_error = exc.message[:500]
        listener.import_stage = ""
        session.add(listener)
        session.commit()
        raise

    tracks = merge(history.tracks)
    # One writer at a time per listener (a run the watchdog gave up on may still be alive): the row
    # stays locked until the history is stored.
    session.exec(select(Listener.id).where(Listener.id == listener.id).with_for_update()).first()
    session.exec(delete(Track).where(col(Track.listener_id) == listener.id))
    rows = [Track.of(listener.id, t) for t in tracks]
    session.add_all(rows)
    listener.external_id = history.external_id or listener.external_id
    listener.display_name = history.display_name or listener.display_name
    listener.import_notes = list(history.notes)
    session.add(listener)
    session.commit()
    if enrich is not None and rows:
        progress("Looking up tempo, key and mood")
        listener.import_notes = [*listener.import_notes, *enrich(session, rows)]
    if cast is not None:
        progress("Casting your two characters")
        cast(session, listener)
    listener.import_status = "done"
    listener.import_stage = ""
    listener.imported_at = utcnow()
    session.add(listener)
    session.commit()
    return len(tracks)


def note_job(session: Session, listener_id: int, job: dict[str, Any]) -> None:
    """Note the listener's queued job (id, spec, restarts) for the watchdog."""
    session.exec(update(Listener).where(col(Listener.id) == listener_id).values(import_job=job))
    session.commit()


CLAIMABLE = ("pending", "waiting")  # an import not started yet, or one put back to run again


def claim(session: Session, listener_id: int) -> bool:
    """Take the listener's import for this run (compare-and-set on its status): True for exactly one of
    any number of runs started at once (a double submit, a restarted job); the others do nothing."""
    taken = session.exec(
        update(Listener)
        .where(col(Listener.id) == listener_id, col(Listener.import_status).in_(CLAIMABLE))
        .values(
            import_status="running", import_error="", import_stage="Starting", import_progress_at=utcnow()
        )
    ).rowcount
    session.commit()
    return bool(taken)


def new_listener(session: Session, *, source: str, status: str = "pending") -> int:
    """A new listener (a history about to be imported from `source`); returns its id."""
    listener = Listener(source=source, import_status=status)
    session.add(listener)
    session.commit()
    assert listener.id is not None
    return listener.id


def owned(session: Session, owner_hash: str) -> list[int]:
    """The listeners stored with this visitor token's hash, oldest first."""
    ids = session.exec(
        select(Listener.id).where(Listener.owner_hash == owner_hash).order_by(col(Listener.id))
    ).all()
    return [i for i in ids if i is not None]


def take_ownership(
    session: Session, *, listener_id: int, owner_hash: str, previous_hash: str | None = None
) -> None:
    """Give a listener to this visitor token's hash; with `previous_hash`, everything the browser's
    previous token owned moves to the new one too (a new identity on connecting, against fixation)."""
    if previous_hash:
        session.exec(
            update(Listener).where(col(Listener.owner_hash) == previous_hash).values(owner_hash=owner_hash)
        )
    session.exec(update(Listener).where(col(Listener.id) == listener_id).values(owner_hash=owner_hash))
    session.commit()


def listener(session: Session, listener_id: object) -> Listener | None:
    """A listener by id (None for anything that is not one)."""
    if not isinstance(listener_id, int):
        return None
    session.expire_all()  # an import running elsewhere may have moved it on
    return session.get(Listener, listener_id)


def tracks(session: Session, listener_id: int) -> list[Track]:
    """A listener's songs in the order they were added (the picks tray)."""
    return list(
        session.exec(select(Track).where(Track.listener_id == listener_id).order_by(col(Track.id))).all()
    )


def remove_track(session: Session, *, listener_id: int, source_id: str) -> None:
    """Take one song out of a listener's history (picking by hand)."""
    row = session.exec(
        select(Track).where(Track.listener_id == listener_id, Track.source_id == source_id)
    ).first()
    if row is not None:
        session.delete(row)
        session.commit()
