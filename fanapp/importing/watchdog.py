"""The import watchdog: no import stays "running" or "waiting" for ever, and none keeps its tokens.

Two ways an import gets stuck. It stops making progress (a worker killed mid-import, a database error
in an inline import, a request that died): after `IMPORT_STALL_SECONDS` without a sign of life it is
failed, its tokens deleted, and the visitor told on the progress page. Or its job is lost with Redis
(flushed, restarted without persistence): the listener still says "pending" but no job of that id is
in the queue any more; it is queued again once from what the listener noted (`import_job`), then failed.

`check` runs on every poll of the progress page (the visitor is told at once); `sweep` runs in every
RQ worker's maintenance loop (`fanapp.worker.AppWorker`) and by `flask --app fanapp watchdog`, for the
imports nobody is watching any more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.exceptions import RedisError
from rq import Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from sqlmodel import Session, col, select, update

from fanapp.config import Settings
from fanapp.data.models import Listener, utcnow
from fanapp.importing import apple_tokens, jobs, tokens, uploads
from fanapp.upstream.shared import redis_client

log = logging.getLogger(__name__)

STUCK = (
    "Your import stopped making progress, so we stopped it and deleted the access it was given. "
    "Nothing was kept. Please connect again; it usually takes a few seconds."
)
LOST = (
    "Your import was lost on our side (our job queue restarted), so we stopped it and deleted the "
    "access it was given. Nothing was kept. Please connect again."
)
MAX_RESTARTS = 1
# A job is enqueued just after its listener is written: a younger listener is never judged lost.
GRACE = timedelta(seconds=10)
ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.SCHEDULED, JobStatus.DEFERRED}
OPEN = ("pending", "running", "waiting")


@dataclass(frozen=True)
class Swept:
    """What a sweep did."""

    failed: int = 0
    restarted: int = 0


def _aware(when: datetime | None) -> datetime | None:
    return when.replace(tzinfo=UTC) if when is not None and when.tzinfo is None else when


def _last_sign_of_life(listener: Listener) -> datetime:
    seen = _aware(listener.import_progress_at) or _aware(listener.created_at)
    assert seen is not None
    return seen


def fail(session: Session, listener: Listener, message: str) -> bool:
    """Fail the import (only if it is still open: a run that just finished wins) and delete its tokens."""
    assert listener.id is not None
    changed = session.exec(
        update(Listener)
        .where(col(Listener.id) == listener.id, col(Listener.import_status) == listener.import_status)
        .values(import_status="failed", import_error=message[:500], import_stage="")
    ).rowcount
    session.commit()
    tokens.forget(session, listener_id=listener.id)
    apple_tokens.forget(session, listener_id=listener.id)
    # An uploaded export waiting for this import goes too: a worker killed mid-parse never reaches the
    # job's own clean-up, and nothing will read the files now.
    uploads.remove(dict((listener.import_job or {}).get("spec") or {}).get("upload"))
    session.refresh(listener)
    if changed:
        log.warning("watchdog: import of listener %s failed: %s", listener.id, message[:60])
    return bool(changed)


def _job_alive(settings: Settings, listener: Listener) -> bool | None:
    """True/False when Redis can tell whether the listener's job is still queued, scheduled or
    running; None when Redis cannot be asked (down: nothing is judged then)."""
    try:
        job = Job.fetch(jobs.current_job(settings, listener), connection=redis_client(settings.redis_url))
        return job.get_status(refresh=False) in ALIVE
    except NoSuchJobError:
        return False
    except RedisError:
        return None


def _restart(session: Session, settings: Settings, listener: Listener) -> bool:
    """Queue a lost job again from what the listener noted; False when it cannot or may not be."""
    noted = listener.import_job or {}
    spec, restarts = noted.get("spec"), int(noted.get("restarts") or 0)
    if not isinstance(spec, dict) or restarts >= MAX_RESTARTS:
        return False
    assert listener.id is not None
    changed = session.exec(
        update(Listener)
        .where(col(Listener.id) == listener.id, col(Listener.import_status) == listener.import_status)
        .values(import_status="pending", import_stage="", import_progress_at=utcnow())
    ).rowcount
    session.commit()
    if not changed:
        return True  # someone else moved it on meanwhile
    try:
        jobs.enqueue(settings, listener.id, spec, restarts=restarts + 1)
    except RedisError:
        return False
    session.refresh(listener)
    log.warning("watchdog: import job of listener %s was lost; queued again", listener.id)
    return True


def check(session: Session, settings: Settings, listener: Listener, *, now: datetime | None = None) -> str:
    """Judge one open import (see the module's docstring); returns its status afterwards."""
    if listener.import_status not in OPEN or listener.id is None:
        return listener.import_status
    now = now or utcnow()
    stalled = now - _last_sign_of_life(listener) > timedelta(seconds=settings.import_stall_seconds)
    queued = bool(settings.redis_url) and listener.import_job is not None
    if listener.import_status == "running" or not queued:
        if stalled:
            fail(session, listener, STUCK)
        return listener.import_status
    # Queued ("pending") or deferred ("waiting"): its job must be in Redis.
    if now - (_aware(listener.created_at) or now) < GRACE:
        return listener.import_status
    alive = _job_alive(settings, listener)
    if alive is None or alive:
        if alive and stalled and listener.import_status == "pending" and _queue_is_unworked(settings):
            # Queued for longer than an import may take and nobody takes jobs: say so, keep nothing.
            fail(session, listener, STUCK)
        return listener.import_status
    if not _restart(session, settings, listener):
        fail(session, listener, LOST)
    return listener.import_status


def _queue_is_unworked(settings: Settings) -> bool:
    try:
        return not Worker.all(queue=jobs.queue(settings))
    except RedisError:
        return False


def sweep(session: Session, settings: Settings, *, now: datetime | None = None) -> Swept:
    """Judge every open import (the worker's maintenance loop, `flask --app fanapp watchdog`)."""
    failed = restarted = 0
    uploads.sweep()  # files a crashed job left behind go without waiting for the next upload
    for listener in session.exec(select(Listener).where(col(Listener.import_status).in_(OPEN))).all():
        before = (listener.import_status, dict(listener.import_job or {}).get("restarts"))
        after = check(session, settings, listener, now=now)
        if after == "failed":
            failed += 1
        elif dict(listener.import_job or {}).get("restarts") != before[1]:
            restarted += 1
    return Swept(failed=failed, restarted=restarted)
