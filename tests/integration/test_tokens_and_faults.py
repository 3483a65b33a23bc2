"""Tokens at rest and under concurrency, and upstream faults: pauses, 5xx, foreign `next`, timeouts."""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlmodel import Session, select

from fanapp.config import Settings
from fanapp.data.models import Listener, SpotifyToken
from fanapp.importing import tokens
from fanapp.sources.spotify.client import SpotifyAuthError
from fanapp.sources.spotify.oauth import TokenSet
from fanapp.upstream.budget import budget_for
from tests.conftest import connect_spotify


def _listener_with_tokens(app: Flask, settings: Settings, fake: Any, *, expired: bool = True) -> int:
    issued = fake.issue_token()
    with Session(app.extensions["fanapp.engine"]) as s:
        listener = Listener(source="spotify")
        s.add(listener)
        s.commit()
        assert listener.id is not None
        expires = datetime.now(UTC) + (timedelta(seconds=-10) if expired else timedelta(hours=1))
        tokens.save(
            s,
            settings=settings,
            listener_id=listener.id,
            tokens=TokenSet(issued["access_token"], issued["refresh_token"], expires, issued["scope"]),
        )
        return listener.id


def test_tokens_are_encrypted_at_rest_and_keys_rotate(spotify_app: Flask, spotify_settings: Settings) -> None:
    from cryptography.fernet import Fernet

    engine = spotify_app.extensions["fanapp.engine"]
    old_key = spotify_settings.token_keys[0]
    with Session(engine) as s:
        listener = Listener(source="spotify")
        s.add(listener)
        s.commit()
        assert listener.id is not None
        ts = TokenSet("access-secret", "refresh-secret", datetime.now(UTC), "user-top-read")
        tokens.save(s, settings=spotify_settings, listener_id=listener.id, tokens=ts)
        row = s.exec(select(SpotifyToken)).one()
        assert "access-secret" not in row.access_token and "refresh-secret" not in (row.refresh_token or "")
        rotated = spotify_settings.override(token_keys=(Fernet.generate_key().decode(), old_key))
        assert tokens.load(s, settings=rotated, listener_id=listener.id) == ts  # old key still reads
        tokens.save(s, settings=rotated, listener_id=listener.id, tokens=ts)  # re-encrypted with the new one
        new_only = spotify_settings.override(token_keys=(rotated.token_keys[0],))
        assert tokens.load(s, settings=new_only, listener_id=listener.id) == ts


def test_twenty_concurrent_refreshes_make_one_token_request(
    spotify_app: Flask, spotify_settings: Settings, fake_spotify: Any
) -> None:
    fake_spotify.rotate_refresh_tokens = True
    listener_id = _listener_with_tokens(spotify_app, spotify_settings, fake_spotify)
    before = len(fake_spotify.token_requests)
    results: list[str] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(20)

    def worker() -> None:
        try:
            with spotify_app.app_context(), Session(spotify_app.extensions["fanapp.engine"]) as s:
                barrier.wait()
                results.append(tokens.access_token(s, settings=spotify_settings, listener_id=listener_id))
        except BaseException as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(fake_spotify.token_requests) - before == 1
    assert len(set(results)) == 1 and len(results) == 20
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        stored = tokens.load(s, settings=spotify_settings, listener_id=listener_id)
        assert stored is not None and stored.access_token == results[0]
        # Spotify rotated the refresh token: the new one replaced the spent one.
        spent = fake_spotify.token_requests[-1].params["refresh_token"]
        assert stored.refresh_token and stored.refresh_token != spent


def test_refresh_without_a_new_refresh_token_keeps_the_old_one(
    spotify_app: Flask, spotify_settings: Settings, fake_spotify: Any
) -> None:
    listener_id = _listener_with_tokens(spotify_app, spotify_settings, fake_spotify)
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        before = tokens.load(s, settings=spotify_settings, listener_id=listener_id)
        assert before is not None
        tokens.access_token(s, settings=spotify_settings, listener_id=listener_id)
        after = tokens.load(s, settings=spotify_settings, listener_id=listener_id)
        assert after is not None and after.refresh_token == before.refresh_token
        assert after.access_token != before.access_token


def test_invalid_grant_deletes_tokens_without_retry(
    spotify_app: Flask, spotify_settings: Settings, fake_spotify: Any
) -> None:
    fake_spotify.invalid_grant_on_refresh = True
    listener_id = _listener_with_tokens(spotify_app, spotify_settings, fake_spotify)
    before = len(fake_spotify.token_requests)
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        with pytest.raises(SpotifyAuthError) as caught:
            tokens.access_token(s, settings=spotify_settings, listener_id=listener_id)
        assert "connect again" in caught.value.message
        assert tokens.load(s, settings=spotify_settings, listener_id=listener_id) is None
    assert len(fake_spotify.token_requests) - before == 1


def test_tokens_never_reach_cookies_pages_or_logs(
    spotify_app: Flask, fake_spotify: Any, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    client = spotify_app.test_client()
    r = connect_spotify(client, fake_spotify)
    builder = client.get(r.headers["Location"])
    issued = [t for t in fake_spotify._access] if hasattr(fake_spotify, "_access") else []
    assert issued
    cookie = client.get_cookie("session")
    assert cookie is not None
    seen = cookie.value + builder.get_data(as_text=True) + caplog.text
    for token in issued:
        assert token not in seen
    for record in caplog.records:
        if record.name.startswith(("spotipy", "urllib3")):
            assert record.levelno >= logging.WARNING


def test_429_with_a_day_long_retry_after_returns_at_once_and_pauses_spotify(
    spotify_app: Flask, fake_spotify: Any
) -> None:
    fake_spotify.rate_limit("/v1/me/top/tracks", retry_after=86400, times=None)
    client = spotify_app.test_client()
    started = time.monotonic()
    r = connect_spotify(client, fake_spotify)
    assert time.monotonic() - started < 5  # never sleeps on Retry-After
    assert "try the demo" in r.get_data(as_text=True).lower()
    calls, token_calls = len(fake_spotify.calls), len(fake_spotify.token_requests)
    fake_spotify.reset_faults()
    again = connect_spotify(client, fake_spotify)
    assert again.status_code == 200
    assert "slow down" in again.get_data(as_text=True)
    # While paused: zero further calls to Spotify, not even the token exchange.
    assert len(fake_spotify.calls) == calls and len(fake_spotify.token_requests) == token_calls


def test_every_request_spotify_gets_from_an_import_takes_one_call_from_the_budget(
    spotify_app: Flask, spotify_settings: Settings, fake_spotify: Any
) -> None:
    r = connect_spotify(spotify_app.test_client(), fake_spotify)
    assert r.status_code == 303
    assert [c for c in fake_spotify.calls if c.path == "/v1/audio-features"]  # enrichment asked Spotify
    # Every Web API call; the accounts service's token exchange is not in Spotify's Web API window.
    assert fake_spotify.token_requests
    received = len(fake_spotify.calls)
    left = budget_for(spotify_settings).remaining("spotify")
    assert left == spotify_settings.spotify_budget - received


def test_a_foreign_next_url_is_never_followed(spotify_app: Flask, fake_spotify: Any) -> None:
    fake_spotify.foreign_next_url = "http://evil.example/steal"
    client = spotify_app.test_client()
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 303
    saved = [c for c in fake_spotify.calls if c.path == "/v1/me/tracks"]
    assert [c.query.get("offset") for c in saved] == ["0", "50"]  # by offset, capped at 2 pages


def test_open_redirect_payloads_are_ignored_after_login(spotify_app: Flask, fake_spotify: Any) -> None:
    import requests

    client = spotify_app.test_client()
    for payload in ("https://evil.example", "//evil.example", "/\\evil.example", "javascript:alert(1)"):
        start = client.get("/connect/spotify", query_string={"next": payload, "redirect_uri": payload})
        assert start.status_code == 302 and "evil" not in start.headers["Location"]
        approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
        callback = approved.headers["Location"]
        done = client.get(callback.removeprefix("http://127.0.0.1:5000") + "&next=" + payload)
        assert done.headers["Location"].startswith("/build/")


def test_a_crashed_job_tells_the_visitor(app: Flask) -> None:
    from types import SimpleNamespace

    from fanapp.importing import jobs

    with app.app_context(), Session(app.extensions["fanapp.engine"]) as s:
        listener = Listener(source="spotify", import_status="running")
        s.add(listener)
        s.commit()
        jobs.mark_failed(SimpleNamespace(args=(listener.id, {"kind": "spotify"})), None)  # type: ignore[arg-type]
        s.refresh(listener)
        assert listener.import_status == "failed" and "try again" in listener.import_error


@pytest.mark.redis
def test_a_short_pause_waits_on_the_queue(database_url: str, fake_spotify: Any) -> None:
    import redis as redis_lib
    from rq import Queue

    from fanapp import create_app
    from fanapp.importing import jobs
    from tests.conftest import make_settings

    settings = make_settings(
        database_url,
        redis_url="redis://127.0.0.1:6379/0",
        spotify_client_id=fake_spotify.client_id,
        spotify_client_secret=fake_spotify.client_secret,
        spotify_accounts_url=fake_spotify.accounts_url,
        spotify_api_url=fake_spotify.api_url,
    )
    app = create_app(settings)
    client = redis_lib.Redis.from_url(settings.redis_url)
    try:
        fake_spotify.rate_limit("/v1/me/top/tracks", retry_after=30, times=None)
        listener_id = _listener_with_tokens(app, settings, fake_spotify, expired=False)
        with app.app_context():
            assert jobs.run_import_job(listener_id, {"kind": "spotify"}) == "waiting"
        with Session(app.extensions["fanapp.engine"]) as s:
            listener = s.get(Listener, listener_id)
            assert listener is not None and listener.import_resume_at is not None
            assert tokens.load(s, settings=settings, listener_id=listener_id) is not None  # kept for later
        queue = Queue(settings.redis_prefix + jobs.QUEUE, connection=client)
        assert len(queue.scheduled_job_registry.get_job_ids()) == 1
    finally:
        marker = settings.redis_prefix.rstrip(":")  # job ids carry it too (with ":" replaced)
        for key in client.scan_iter(match=f"*{marker}*"):
            client.delete(key)
        client.close()
        app.extensions["fanapp.engine"].dispose()
