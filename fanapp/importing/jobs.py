"""Imports as jobs: on RQ workers when REDIS_URL is set (Procfile `worker:`), inline otherwise."""

from __future__ import annotations

import logging
import re
import secrets
import statistics
import time
from contextlib import AbstractContextManager, nullcontext, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import has_app_context, has_request_context
from rq import Callback, Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus, get_current_job
from sqlmodel import Session

from fanapp import campaigns, config, episodes
from fanapp.config import Settings
from fanapp.data.models import Listener, Track
from fanapp.data.session import get_session
from fanapp.engine import EngineError
from fanapp.enrich import enrich_tracks
from fanapp.errors import FanappError
from fanapp.importing import apple_tokens, store, tokens, uploads
from fanapp.sources import HistorySource, SourceError
from fanapp.sources.apple import client as apple_client
from fanapp.sources.apple.history import CONNECTION_ENDED, AppleMusicSource
from fanapp.sources.demo import DemoSource
from fanapp.sources.export import ExportFilesSource
from fanapp.sources.lastfm import LastfmSource
from fanapp.sources.spotify import client as spotify_client
from fanapp.sources.spotify.history import SpotifySource
from fanapp.sources.spotify.matching import SpotifyMatcher
from fanapp.upstream.session import UpstreamPaused, guarded_session
from fanapp.upstream.shared import Breaker, redis_client, serving_redis

log = logging.getLogger(__name__)

QUEUE = "fanapp"
# A job waits at most this long for Spotify to lift a pause; longer waits fail honestly instead.
MAX_DEFER = timedelta(hours=1)
# How long a job may wait for room in the app's Spotify call budget before it gives up (and is
# deferred). Longer than the budget's 30 s window: a job that keeps its worker and its place keeps the
# queue in order, which is what makes the progress page's wait honest; shorter than the watchdog's
# IMPORT_STALL_SECONDS.
BUDGET_WAIT = 60.0


def queue(settings: Settings) -> Queue:
    """The RQ queue imports go to (workers: `rq worker --with-scheduler fanapp`)."""
    return Queue(settings.redis_prefix + QUEUE, connection=redis_client(settings.redis_url))


def job_id(settings: Settings, listener_id: int) -> str:
    """One import job per listener: its id comes from the listener, namespaced like every Redis key."""
    # RQ allows only letters, digits, "-" and "_" in job ids.
    namespace = re.sub(r"[^A-Za-z0-9_-]", "-", settings.redis_prefix)
    return f"{namespace}import-{listener_id}"


def start_import(*, settings: Settings, listener_id: int, spec: dict[str, Any]) -> None:
    """Start the listener's import: enqueue it (once, however often this is called) or run it now.

    Imports that call an outside service go to the queue when there is one; the demo calls nobody
    and is faster inline than a round trip through a worker.
    """
    if not settings.redis_url or spec.get("kind") == "demo":
        _count(spec, "starts")
        run_import_job(listener_id, spec)
        return
    # Double submits start one job: the first caller takes a short lock, later ones find the job.
    lock_key = f"{settings.redis_prefix}import-lock:{listener_id}"
    if not redis_client(settings.redis_url).set(lock_key, "1", nx=True, ex=600):
        return
    _count(spec, "starts")
    enqueue(settings, listener_id, spec)


def enqueue(settings: Settings, listener_id: int, spec: dict[str, Any], *, restarts: int = 0) -> str:
    """Queue the listener's import job and note it on the listener (its id, what it runs, how often it
    was restarted), so that the watchdog can tell a job lost with Redis; returns the job's id."""
    found = job_id(settings, listener_id) + (f"-r{restarts}" if restarts else "")
    if has_app_context():  # always in the app; a bare call (an operator's shell) has no database
        with get_session() as session:
            store.note_job(session, listener_id, {"id": found, "spec": spec, "restarts": restarts})
    queue(settings).enqueue(
        run_import_job,
        listener_id,
        spec,
        on_failure=Callback(mark_failed),
        job_id=found,
        job_timeout=600,
        result_ttl=600,
        failure_ttl=86400,
    )
    return found


def current_job(settings: Settings, listener: Listener) -> str:
    """The id of the listener's queued (or deferred) import job."""
    noted = listener.import_job or {}
    return str(noted.get("id") or job_id(settings, listener.id or 0))


def position(settings: Settings, listener: Listener) -> int | None:
    """Where the listener's job stands in the queue (1 = next), or None when it is not queued."""
    if not settings.redis_url:
        return None
    try:
        job = Job.fetch(current_job(settings, listener), connection=redis_client(settings.redis_url))
    except NoSuchJobError:
        return None
    if job.get_status() != JobStatus.QUEUED:
        return None
    found = job.get_position()
    return None if found is None else found + 1


def run_import_job(listener_id: int, spec: dict[str, Any]) -> str:
    """The job: import, enrich, and forget the tokens. Returns the listener's import status.

    Runs inside an app context: the web request's, or the one `fanapp.worker.AppWorker` gives each job.
    """
    return _run(listener_id, spec)


def import_now(listener_id: int, source: HistorySource, *, campaign: dict[str, str] | None = None) -> str:
    """Import from a source that lives in this request (an uploaded export, picked songs), inline."""
    spec = {"kind": source.name, "campaign": campaign or {}}
    _count(spec, "starts")
    return _run(listener_id, spec, source)


def _count(spec: dict[str, Any], step: str) -> None:
    """Count a step of the funnel for this import's campaign and way in (inside the app only)."""
    if not has_app_context():
        return
    raw = spec.get("campaign")
    came_from = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
    funnel = campaigns.current()
    funnel.count(step, campaign=came_from, way=str(spec.get("kind", "")))
    if not has_request_context():
        # An RQ work horse ends with os._exit when its job is done (no atexit, no pusher round): send
        # the count to Redis now.
        with suppress(Exception):
            funnel.push()


def mark_failed(job: Job, connection: Any, *exc_info: Any) -> None:
    """RQ's failure hook (a crash or a timeout): tell the visitor, instead of a page that polls forever."""
    listener_id = job.args[0] if job.args else None
    spec = job.args[1] if len(job.args) > 1 and isinstance(job.args[1], dict) else {}
    uploads.remove(spec.get("upload"))  # a crash or a timeout: the uploaded files go all the same
    if not isinstance(listener_id, int):
        return
    with get_session() as session:
        listener = session.get(Listener, listener_id)
        if listener is not None and listener.import_status not in ("done", "failed"):
            listener.import_status = "failed"
            listener.import_error = "Something went wrong on our side while importing. Please try again."
            session.add(listener)
            session.commit()


def _source(session: Session, settings: Settings, listener: Listener, spec: dict[str, Any]) -> HistorySource:
    kind = spec.get("kind")
    if kind == "demo":
        return DemoSource()
    if kind == "spotify":
        assert listener.id is not None
        access = tokens.access_token(session, settings=settings, listener_id=listener.id)
        # Only a worker may wait for room in the call budget; a web request fails fast instead. A
        # worker takes the import's calls from the budget at once (`source_calls`), so imports do not
        # straddle windows; a short library leaves a few unused.
        on_worker = not has_request_context()
        sp = spotify_client.client(
            settings,
            access,
            budget_wait=BUDGET_WAIT if on_worker else 0.0,
            reserve=source_calls(settings) if on_worker else 0,
        )
        return SpotifySource(sp, saved_pages=settings.saved_pages)
    if kind == "apple-music":
        assert listener.id is not None
        # Taken (read and deleted) first: whatever happens next, the user token is held by nobody else.
        user_token = apple_tokens.take(session, settings=settings, listener_id=listener.id)
        if not settings.apple_music_enabled or not user_token:
            raise SourceError(CONNECTION_ENDED)
        client = apple_client.client_for(
            settings, user_token=user_token, wait=0.0 if has_request_context() else BUDGET_WAIT
        )
        apple_matcher = (
            SpotifyMatcher(lambda: spotify_client.app_client(settings)) if settings.spotify_enabled else None
        )
        return AppleMusicSource(client, matcher=apple_matcher)
    if kind == "export":
        files = uploads.files(spec.get("upload", ""), spec.get("names", []))
        export_matcher = (
            SpotifyMatcher(lambda: spotify_client.app_client(settings)) if settings.spotify_enabled else None
        )
        return ExportFilesSource(files, matcher=export_matcher)
    if kind == "lastfm" and settings.lastfm_api_key:
        matcher = SpotifyMatcher(
            (lambda: spotify_client.app_client(settings)) if settings.spotify_enabled else None
        )
        return LastfmSource(
            str(spec.get("username", "")),
            api_key=settings.lastfm_api_key,
            base_url=settings.lastfm_api_url,
            timeout=settings.upstream_timeout,
            period=str(spec.get("period", "6month")),
            session=guarded_session(settings, "lastfm"),
            matcher=matcher,
        )
    raise SourceError("This way in is not available. Please start again from the home page.")


def _enricher(settings: Settings, listener: Listener, spec: dict[str, Any]) -> store.Enrich:
    """Fill tempo, key and mood from the feature providers (Spotify's own only with the visitor's token)."""
    listener_id = listener.id
    assert listener_id is not None

    def enrich(session: Session, tracks: list[Track]) -> list[str]:
        def token() -> str | None:
            return tokens.access_token(session, settings=settings, listener_id=listener_id)

        report = enrich_tracks(
            session,
            tracks,
            settings=settings,
            spotify_token=token if spec.get("kind") == "spotify" else None,
            # Inside a web request (no queue, an upload, picks): keep the lookups bounded.
            budget=8.0 if has_request_context() else None,
        )
        return list(report.notes)

    return enrich


def _caster(spec: dict[str, Any]) -> store.Cast:
    """The import's first draft episode, cast by the engine (once per listener, whatever reruns)."""
    raw = spec.get("campaign")
    came_from = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}

    def cast(session: Session, listener: Listener) -> None:
        assert listener.id is not None
        # Too few songs (nothing is written then): the next page says why (`episodes.why_not_cast`).
        try:
            episodes.first_draft(session, listener_id=listener.id, campaign=came_from)
        except EngineError:
            session.rollback()  # release the listener's row lock

    return cast


def _run(listener_id: int, spec: dict[str, Any], source: HistorySource | None = None) -> str:
    settings = config.current()
    with get_session() as session:
        listener = session.get(Listener, listener_id)
        if listener is None:
            return "gone"
        if not store.claim(session, listener_id):
            # Another run has it (or it is over): leave it to that one.
            session.refresh(listener)
            return listener.import_status
        session.refresh(listener)
        was_done = listener.import_status == "done"
        started = time.monotonic()
        try:
            source = source or _source(session, settings, listener, spec)
            started = time.monotonic()  # the import's own time, after its wait for the call budget
            _mark_begun()
            # On a worker an export's parse gets a CPU budget of its own (the web path has no queue).
            budget: AbstractContextManager[None] = (
                uploads.cpu_budget()
                if spec.get("kind") == "export" and not has_request_context()
                else nullcontext()
            )
            with budget:
                store.run_import(
                    session,
                    listener=listener,
                    source=source,
                    enrich=_enricher(settings, listener, spec),
                    cast=_caster(spec),
                )
        except UpstreamPaused as exc:
            _defer_or_fail(session, settings, listener, spec, exc)
        except FanappError as exc:
            listener.import_status = "failed"
            listener.import_error = exc.message[:500]
            session.add(listener)
            session.commit()
        finally:
            if spec.get("kind") == "export" and listener.import_status != "waiting":
                uploads.remove(spec.get("upload"))  # read or refused: the files are never kept
            if listener.import_status != "waiting" and listener.id is not None:
                # No feature needs Spotify after the import: hold no tokens longer than that.
                tokens.forget(session, listener_id=listener.id)
        if listener.import_status == "done" and not was_done:
            _count(spec, "imports")
            if not has_request_context():  # queued imports: what the next visitors' waits are made of
                record_duration(settings, time.monotonic() - started)
        return listener.import_status


def _duration(wait: timedelta) -> str:
    """A wait in words: "about 3 minutes", "about 24 hours"."""
    minutes = max(1, round(wait.total_seconds() / 60))
    if minutes < 90:
        return f"about {minutes} minute{'s' if minutes != 1 else ''}"
    hours = round(minutes / 60)
    return f"about {hours} hours"


def _defer_or_fail(
    session: Session, settings: Settings, listener: Listener, spec: dict[str, Any], exc: UpstreamPaused
) -> None:
    """Spotify paused the app: wait for it on the queue when the wait is short, else fail honestly."""
    wait = timedelta(seconds=exc.retry_after or 60)
    if settings.redis_url and wait <= MAX_DEFER and listener.id is not None:
        listener.import_status = "waiting"
        listener.import_stage = "Spotify asked every app to slow down; your import is queued."
        listener.import_resume_at = datetime.now(UTC) + wait
        # Its own id (the running job still holds the first one), noted for the watchdog.
        noted = dict(listener.import_job or {})
        deferred = f"{job_id(settings, listener.id)}-d{secrets.token_hex(4)}"
        listener.import_job = {**noted, "id": deferred, "spec": spec}
        session.add(listener)
        session.commit()
        queue(settings).enqueue_in(
            wait,
            run_import_job,
            listener.id,
            spec,
            on_failure=Callback(mark_failed),
            job_id=deferred,
            job_timeout=600,
            result_ttl=600,
        )
        return
    listener.import_status = "failed"
    listener.import_error = (
        f"Spotify is busy and asked us to pause for {_duration(wait)}, so nothing was imported. "
        "Please come back later, or try the demo meanwhile."
    )[:500]
    session.add(listener)
    session.commit()


# -- how long a queued visitor waits -------------------------------------------------------------------

DURATION_KEY = "import-seconds"  # the recent import duration (an average), shared by every worker
# A visitor sees the end half a poll later on average, and the builder then loads: how long that takes
# is measured by the web workers (the builder page's recent load times, a list newest first), since it
# is a large part of a short wait and differs by host and load.
BUILDER_KEY, BUILDER_SAMPLES = "builder-seconds", 20
BUILDER_LOAD = 0.5  # seconds, until the builder has been measured
# The progress page polls every second while the wait is short, less often while it is long (a tenth of
# the wait): in a spike most visitors wait a window or two, and their polls were the web workers'
# largest load. At most every 4 s: within gunicorn's 5 s keep-alive, so a browser keeps its connection.
POLL_SECONDS, LONGEST_POLL = 1, 4
DEFAULT_DURATION = 4.0  # seconds: the import after a budget wait, until imports have been measured
# The measured average outlives a quiet week: a spike after quiet hours is told waits from the last
# imports measured, not from a guess (`wait` shows no figure for the workers' queue while none is).
DURATION_SECONDS = 7 * 86400


@dataclass(frozen=True)
class Wait:
    """A queued import's honest wait: `seconds` until it should be done, and whether Spotify's call
    budget (not the number of workers) is what it waits for."""

    seconds: int
    budget_bound: bool
    poll: int = POLL_SECONDS  # how often the page asks again, in seconds


def poll_seconds(wait: float) -> int:
    """How often the progress page asks again during a wait of `wait` seconds."""
    return max(POLL_SECONDS, min(LONGEST_POLL, int(wait // 10)))


BEGUN = "begun_at"  # a running job's meta: when its import began, after any wait for the call budget


def _mark_begun() -> None:
    """Say in the running job's meta that its import has begun (its calls taken from the budget)."""
    job = get_current_job()
    if job is not None:
        with suppress(Exception):  # only the waits shown to others read it
            job.meta[BEGUN] = time.time()
            job.save_meta()  # type: ignore[no-untyped-call]


def _running(settings: Settings, conn: Any) -> list[float | None]:
    """For each running import, how many seconds ago it began, or None while it still waits for room in
    the call budget (or has not said yet)."""
    registry = queue(settings).started_job_registry
    now = time.time()
    return [
        max(0.0, now - float(job.meta[BEGUN])) if job is not None and BEGUN in job.meta else None
        for job in Job.fetch_many(registry.get_job_ids(), connection=conn)
    ]


def _by_workers(started: list[float], ahead: int, workers: int, duration: float) -> float:
    """When an import with `ahead` imports queued before it is done, on `workers` workers of which one
    is busy for each of `started` (seconds since each began): each import takes the first worker free.
    A running import already past the average is taken to end in a tenth of an import."""
    free = sorted(max(duration - age, duration / 10) for age in started[:workers])
    free += [0.0] * (max(0, workers - len(free)))
    free = free[:workers] if workers > 0 else [0.0]
    for _ in range(ahead):
        free[0] += duration  # the earliest free worker takes the next import ahead
        free.sort()
    return free[0] + duration


def source_calls(settings: Settings) -> int:
    """The most calls a Spotify import's history takes: profile, 3 top ranges, recent plays, the saved
    pages (what a worker reserves at once)."""
    return 5 + settings.saved_pages


def calls_per_import(settings: Settings) -> int:
    """What one Spotify import spends from the budget: its history's calls (`source_calls`), and audio
    features unless Spotify refused them (learnt once, for everyone)."""
    from fanapp.enrich.providers import SpotifyFeatures
    from fanapp.upstream.pauses import pause_store

    try:
        forbidden = pause_store(settings).paused_until(SpotifyFeatures.forbidden_key) is not None
    except Exception:  # the pause store unreachable: count the call (a longer wait, never a shorter)
        forbidden = False
    return source_calls(settings) + (0 if forbidden else 1)


_recording = Breaker()  # the builder's measurements: skipped at once while Redis is slow or down


def record_builder_load(settings: Settings, seconds: float) -> None:
    """Keep one builder page's load time among the recent ones the waits are estimated from, in one
    round trip on the serving path's quick client (only an estimate depends on it)."""
    if not settings.redis_url:
        return
    key = settings.redis_prefix + BUILDER_KEY

    def push() -> None:
        pipe = serving_redis(settings.redis_url).pipeline(transaction=False)
        pipe.lpush(key, f"{seconds:.3f}")
        pipe.ltrim(key, 0, BUILDER_SAMPLES - 1)
        pipe.expire(key, DURATION_SECONDS)
        pipe.execute()

    _recording.call(push)


def record_duration(settings: Settings, seconds: float) -> None:
    """Fold one import's duration into the shared average the waits are estimated from."""
    if not settings.redis_url:
        return
    with suppress(Exception):
        conn = redis_client(settings.redis_url)
        key = settings.redis_prefix + DURATION_KEY
        old = conn.get(key)
        value = seconds if old is None else 0.7 * float(old) + 0.3 * seconds
        conn.set(key, f"{value:.3f}", ex=DURATION_SECONDS)


def wait(settings: Settings, listener: Listener, position: int | None) -> Wait | None:
    """The honest wait of a queued import (None when it is not queued, or nothing is known).

    Workers: `IMPORT_WORKERS` run at once. Each running import ends one import's time (the recent
    average, measured by the workers) after it began, or soon if it is already late; each import
    queued ahead then takes the first worker free, and this one the next. Budget (Spotify imports):
    every import takes `calls_per_import` calls at once (one running but still waiting for room
    too), as the window has room (`seconds_until_calls`: the window's calls leave 30 s after they
    were made, at the times they were made), then one import's time to finish. Whichever is slower is
    the wait, plus half the page's poll and the builder's load (as measured). Until an import has been
    measured, only a wait for the budget is given.
    """
    if position is None or not settings.redis_url:
        return None
    from fanapp.upstream.budget import budget_for

    try:
        conn = redis_client(settings.redis_url)
        pipe = conn.pipeline(transaction=False)
        pipe.get(settings.redis_prefix + DURATION_KEY)
        pipe.lrange(settings.redis_prefix + BUILDER_KEY, 0, -1)
        measured, loads = pipe.execute()
        duration = float(measured) if measured else DEFAULT_DURATION
        builder = statistics.median(map(float, loads)) if loads else BUILDER_LOAD
        running = _running(settings, conn)
        by_budget = 0.0
        if (listener.source or "") == "spotify" and settings.spotify_budget > 0:
            # A running import that has begun has taken its calls; one still waiting for room has not.
            waiting = sum(1 for age in running if age is None)
            imports, calls = position + waiting, calls_per_import(settings)
            made = budget_for(settings).seconds_until_calls("spotify", imports, size=calls)
            by_budget = made + duration if made > 0 else 0.0
    except Exception:  # Redis trouble: no estimate rather than a wrong one
        return None
    # One still waiting for the budget is counted as beginning now (the budget's wait covers the rest).
    started = [0.0 if age is None else age for age in running]
    by_workers = _by_workers(started, position - 1, settings.import_workers, duration)
    if not measured and by_budget <= by_workers:
        # No import measured yet: the figure would be a guess shown as a fact (in a spike's first
        # seconds it was shown as 6 s where 2-3 s passed); the page shows the queue position alone.
        return None
    until_done = max(by_workers, by_budget)
    poll = poll_seconds(until_done)
    seconds = until_done + poll / 2 + builder
    return Wait(seconds=max(1, round(seconds)), budget_bound=by_budget > by_workers, poll=poll)
