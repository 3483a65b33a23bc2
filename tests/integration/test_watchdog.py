"""The import watchdog (issue 13, item 4): an import that stops progressing is failed with its tokens
deleted and the visitor told; a job lost with Redis is queued again once, then failed."""

from __future__ import annotations

import io
import os
import tempfile
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import redis as redis_lib
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue, SimpleWorker
from sqlalchemy.exc import OperationalError
from sqlmodel import select, update

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data.models import Listener, SpotifyToken, utcnow
from fanapp.data.session import get_session
from fanapp.importing import jobs, store, uploads, watchdog
from tests.conftest import connect_spotify

REDIS_URL = "redis://127.0.0.1:6379/0"


def _app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    app.testing = True
    yield app
    app.extensions["fanapp.engine"].dispose()


@pytest.fixture
def inline_app(spotify_settings: Settings) -> Iterator[Flask]:
    yield from _app(spotify_settings.override(import_stall_seconds=30.0))


@pytest.fixture
def queued_app(spotify_settings: Settings) -> Iterator[Flask]:
    settings = spotify_settings.override(redis_url=REDIS_URL)
    conn = redis_lib.Redis.from_url(REDIS_URL)
    try:
        yield from _app(settings)
    finally:
        _lose_everything(settings, conn)
        conn.close()


def _lose_everything(settings: Settings, conn: Any) -> None:
    """What a Redis flush does to this test's keys (only this test's: Redis is shared)."""
    marker = settings.redis_prefix.rstrip(":")
    for key in conn.scan_iter(match=f"*{marker}*"):
        conn.delete(key)
    marker = jobs.job_id(settings, 0).removesuffix("import-0")
    for key in conn.scan_iter(match=f"*{marker}*"):
        conn.delete(key)


def _listener(app: Flask) -> Listener:
    with app.app_context(), get_session() as session:
        return session.exec(select(Listener)).one()


def _tokens(app: Flask) -> list[SpotifyToken]:
    with app.app_context(), get_session() as session:
        return list(session.exec(select(SpotifyToken)).all())


def _age(app: Flask, seconds: float) -> None:
    """Time passes: the listener was created (and last progressed) `seconds` ago."""
    past = utcnow() - timedelta(seconds=seconds)
    with app.app_context(), get_session() as session:
        session.exec(update(Listener).values(created_at=past, import_progress_at=past))
        session.commit()


@pytest.mark.redis
def test_an_import_that_stops_progressing_is_failed_its_tokens_deleted_and_the_visitor_told(
    queued_app: Flask, fake_spotify: Any
) -> None:
    client, listener = _connect_queued(queued_app, fake_spotify)
    assert listener.id is not None
    # A worker takes the job, then its machine goes away mid-import (no failure callback, no clean-up).
    with queued_app.app_context(), get_session() as session:
        assert store.claim(session, listener.id)
    progress = f"/import/{listener.id}"
    assert client.get(progress).status_code == 200  # still within IMPORT_STALL_SECONDS: polling
    assert _listener(queued_app).import_status == "running" and _tokens(queued_app)
    _age(queued_app, 121)
    page = client.get(progress).get_data(as_text=True)
    assert 'data-testid="error-message"' in page and "stopped making progress" in page
    assert _listener(queued_app).import_status == "failed"
    assert _tokens(queued_app) == []


def test_the_sweep_fails_an_inline_import_a_database_error_left_running(
    inline_app: Flask, fake_spotify: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A database error in the middle of an inline import: the request fails (the visitor gets a 500 and
    # no cookie) and the clean-up meets the same dead connection.
    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OperationalError("UPDATE track …", {}, Exception("server closed the connection"))

    client = inline_app.test_client()
    with monkeypatch.context() as m:
        m.setattr(jobs, "enrich_tracks", broken)
        m.setattr(jobs.tokens, "forget", broken)
        try:
            answered = connect_spotify(client, fake_spotify).status_code
        except OperationalError:  # without an error page of the app's own
            answered = 500
    assert answered in (500, 503)  # the database "went away": an error page, nothing cleaned up
    assert _listener(inline_app).import_status == "running" and _tokens(inline_app)  # stuck, token kept
    settings = inline_app.config["SETTINGS"]
    with inline_app.app_context(), get_session() as session:
        assert watchdog.sweep(session, settings) == watchdog.Swept()  # within the stall: left alone
    _age(inline_app, 60)
    runner = inline_app.test_cli_runner()
    assert "failed=1 restarted=0" in runner.invoke(args=["watchdog"]).output
    assert _listener(inline_app).import_status == "failed" and _tokens(inline_app) == []
    with inline_app.app_context(), get_session() as session:
        assert watchdog.sweep(session, settings) == watchdog.Swept()


def _connect_queued(app: Flask, fake: Any) -> tuple[FlaskClient, Listener]:
    client = app.test_client()
    r = connect_spotify(client, fake)
    assert r.status_code == 303 and "/import/" in r.headers["Location"]
    listener = _listener(app)
    assert listener.import_status == "pending" and listener.import_job
    return client, listener


@pytest.mark.redis
def test_a_job_lost_with_redis_is_queued_again_and_then_runs(queued_app: Flask, fake_spotify: Any) -> None:
    settings = queued_app.config["SETTINGS"]
    conn = redis_lib.Redis.from_url(REDIS_URL)
    client, listener = _connect_queued(queued_app, fake_spotify)
    progress = f"/import/{listener.id}"
    assert client.get(progress).status_code == 200
    _lose_everything(settings, conn)  # Redis flushed: the queued job is gone
    _age(queued_app, 60)
    client.get(progress)
    again = _listener(queued_app)
    assert again.import_status == "pending" and again.import_job and again.import_job["restarts"] == 1
    queue = Queue(jobs.queue(settings).name, connection=conn)
    assert queue.job_ids == [again.import_job["id"]]
    with queued_app.app_context():
        SimpleWorker([queue], connection=conn).work(burst=True)
    done = client.get(progress)
    assert done.status_code == 303 and "/build/" in done.headers["Location"]
    assert _tokens(queued_app) == []
    # The builder's load, which the next visitors' waits count, is measured as the page is served.
    assert client.get(done.headers["Location"]).status_code == 200
    loads = conn.lrange(settings.redis_prefix + jobs.BUILDER_KEY, 0, -1)
    assert len(loads) == 1 and 0 < float(loads[0]) < 60
    conn.close()


@pytest.mark.redis
def test_a_job_lost_twice_is_failed_and_its_tokens_deleted(queued_app: Flask, fake_spotify: Any) -> None:
    settings = queued_app.config["SETTINGS"]
    conn = redis_lib.Redis.from_url(REDIS_URL)
    client, listener = _connect_queued(queued_app, fake_spotify)
    progress = f"/import/{listener.id}"
    for _ in range(2):
        _lose_everything(settings, conn)
        _age(queued_app, 60)
        page = client.get(progress).get_data(as_text=True)
    assert 'data-testid="error-message"' in page and "lost on our side" in page
    assert _listener(queued_app).import_status == "failed"
    assert _tokens(queued_app) == []
    conn.close()


@pytest.mark.redis
def test_a_queued_import_no_worker_takes_is_failed_once_it_stalls(
    queued_app: Flask, fake_spotify: Any
) -> None:
    client, listener = _connect_queued(queued_app, fake_spotify)
    progress = f"/import/{listener.id}"
    _age(queued_app, 60)
    assert _listener(queued_app).import_status == "pending"  # alive in the queue, within the stall
    _age(queued_app, 600)
    page = client.get(progress).get_data(as_text=True)
    assert "stopped making progress" in page and _tokens(queued_app) == []


@pytest.mark.redis
def test_a_visitor_queued_behind_the_spent_budget_is_told_so_with_a_wait(
    spotify_settings: Settings, fake_spotify: Any
) -> None:
    from fanapp.upstream.budget import budget_for

    settings = spotify_settings.override(redis_url=REDIS_URL, spotify_budget=30, import_workers=4)
    conn = redis_lib.Redis.from_url(REDIS_URL)
    for app in _app(settings):
        try:
            visitors = [_connect_queued_many(app, fake_spotify) for _ in range(3)]
            client, listener_id = visitors[-1]
            page = client.get(f"/import/{listener_id}").get_data(as_text=True)
            # No import measured yet: the position, and no made-up figure.
            assert "number 3 in the queue" in page and "data-wait-seconds" not in page
            jobs.record_duration(settings, 2.2)
            page = client.get(f"/import/{listener_id}").get_data(as_text=True)
            # Two imports ahead, four workers: the workers are not the limit, and the budget has room.
            assert 'data-waits-for="queue"' in page and "number 3 in the queue" in page
            assert int(page.split('data-wait-seconds="')[1].split('"')[0]) == 3  # one import, and the poll
            assert 'hx-trigger="every 1s"' in page  # a short wait: asked again every second
            for seconds in (1.9, 2.0, 0.1):  # the builder measured slow: the median of its loads counts
                jobs.record_builder_load(settings, seconds)
            page = client.get(f"/import/{listener_id}").get_data(as_text=True)
            assert int(page.split('data-wait-seconds="')[1].split('"')[0]) == 5  # 2.2 + 0.5 + 1.9
            conn.delete(settings.redis_prefix + jobs.BUILDER_KEY)
            budget = budget_for(settings)
            while budget.try_acquire("spotify"):  # other fans' calls spend the whole window
                pass
            page = client.get(f"/import/{listener_id}").get_data(as_text=True)
            assert 'data-waits-for="budget"' in page and "Spotify lets each app make only so many" in page
            seconds = int(page.split('data-wait-seconds="')[1].split('"')[0])
            # 3 imports x 8 calls (7 for the history, 1 for audio features), the window just spent:
            # its calls leave in 30 s, then one import.
            assert 30 <= seconds <= 36, seconds
            assert 'hx-trigger="every 3s"' in page  # a long wait is asked about less often
        finally:
            _lose_everything(settings, conn)
    conn.close()


def _connect_queued_many(app: Flask, fake: Any) -> tuple[FlaskClient, int]:
    client = app.test_client()
    r = connect_spotify(client, fake)
    assert r.status_code == 303
    return client, int(r.headers["Location"].rsplit("/", 1)[-1])


@pytest.mark.redis
def test_every_worker_sweeps_in_its_maintenance(
    monkeypatch: pytest.MonkeyPatch, spotify_settings: Settings, fake_spotify: Any
) -> None:
    from fanapp.worker import MAINTENANCE_SECONDS, AppWorker

    settings = spotify_settings.override(redis_url=REDIS_URL)
    conn = redis_lib.Redis.from_url(REDIS_URL)
    for app in _app(settings):
        try:
            _client, listener = _connect_queued(app, fake_spotify)
            assert listener.id is not None
            with app.app_context(), get_session() as session:
                assert store.claim(session, listener.id)  # taken by a worker that then died
            _age(app, 600)
            # The worker builds its app from the environment, as `rq worker-pool` starts it.
            for name, value in {
                "FANAPP_ENV": "development",
                "DATABASE_URL": settings.database_url,
                "REDIS_URL": REDIS_URL,
                "REDIS_PREFIX": settings.redis_prefix,
            }.items():
                monkeypatch.setenv(name, value)
            worker = AppWorker([jobs.queue(settings)], connection=conn)
            assert worker.maintenance_interval == MAINTENANCE_SECONDS
            worker.run_maintenance_tasks()
            worker.app.extensions["fanapp.engine"].dispose()
            assert _listener(app).import_status == "failed" and _tokens(app) == []
        finally:
            _lose_everything(settings, conn)
    conn.close()


def test_a_failed_export_import_takes_its_uploaded_files_with_it(
    inline_app: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A worker killed mid-parse never reaches the job's own clean-up: the watchdog's failure removes the
    # files, and its sweep removes what a crash left behind without waiting for the next upload.
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    key, _names = uploads.save([("0", io.BytesIO(b"[]"))])
    left_over, _ = uploads.save([("0", io.BytesIO(b"[]"))])
    old = time.time() - uploads.MAX_AGE - 60
    os.utime(uploads.root() / left_over, (old, old))
    with inline_app.app_context(), get_session() as session:
        session.add(Listener(source="export", import_status="running", import_job={"spec": {"upload": key}}))
        session.commit()
    _age(inline_app, 60)
    with inline_app.app_context(), get_session() as session:
        assert watchdog.sweep(session, inline_app.config["SETTINGS"]) == watchdog.Swept(failed=1)
    assert _listener(inline_app).import_status == "failed"
    assert list(uploads.root().iterdir()) == []
