"""Safe by default (issue 13): strict unless told otherwise, a bounded "delete everything" that flushes
caches only for what it removed, and the headers private and public pages carry."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from fanapp import create_app, episodes
from fanapp.config import ROOT, ConfigError, Settings
from tests.conftest import csrf_from, make_settings, publish_demo, start_demo


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url, limit_delete="3 per minute")


def _flushes(app: Flask) -> list[list[str]]:
    seen: list[list[str]] = []

    def count(_sender: Any, *, slugs: list[str]) -> None:
        seen.append(slugs)

    episodes.taken_down.connect(count, sender=app, weak=False)
    return seen


def test_delete_everything_is_limited_and_flushes_only_what_it_removed(app: Flask) -> None:
    owner, stranger = app.test_client(), app.test_client()
    stranger.environ_base["REMOTE_ADDR"] = "203.0.113.9"  # limits are per client address
    slug = publish_demo(owner)
    assert owner.get(f"/s/{slug}").status_code == 200
    flushes = _flushes(app)

    def delete() -> int:
        # The session is forgotten after each delete: a fresh CSRF token each time (it owns nothing, so
        # "your data" has no form of its own).
        token = csrf_from(stranger.get("/").get_data(as_text=True))
        return stranger.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"}).status_code

    codes = [delete() for _ in range(6)]
    assert codes == [303, 303, 303, 429, 429, 429]
    assert flushes == []  # a browser that owns nothing empties no cache
    assert owner.get(f"/s/{slug}").status_code == 200
    token = csrf_from(owner.get("/my-data/").get_data(as_text=True))
    assert owner.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    assert flushes == [[slug]]
    assert owner.get(f"/s/{slug}").status_code == 404


def test_private_pages_are_never_stored_and_every_page_has_the_isolation_headers(
    client: FlaskClient,
) -> None:
    builder = start_demo(client)
    slug = publish_demo(client)
    listener = client.get_cookie("session")
    assert listener is not None
    for path in (builder, "/my-data/", "/pick/"):
        r = client.get(path)
        assert r.headers["Cache-Control"] == "no-store", path
    for path in ("/", builder, f"/s/{slug}", f"/s/{slug}.png", f"/embed/s/{slug}", "/static/css/app.css"):
        r = client.get(path)
        r.close()
        assert (
            "camera=()" in r.headers["Permissions-Policy"]
            and "geolocation=()" in r.headers["Permissions-Policy"]
        )
        assert r.headers["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups", path
        public = path.startswith(("/s/", "/embed/", "/static/"))
        assert r.headers["Cross-Origin-Resource-Policy"] == ("cross-origin" if public else "same-origin"), (
            path
        )
    assert "no-store" not in client.get(f"/s/{slug}").headers.get("Cache-Control", "")


def test_an_import_progress_page_is_never_stored(client: FlaskClient, app: Flask) -> None:
    from fanapp.data.session import get_session
    from fanapp.importing import store

    token = "t" * 43
    with app.app_context(), get_session() as session:
        listener_id = store.new_listener(session, source="lastfm", status="running")
        owner = hashlib.sha256(token.encode()).hexdigest()
        store.take_ownership(session, listener_id=listener_id, owner_hash=owner)
    with client.session_transaction() as s:
        s["visitor"], s["listener_id"] = token, listener_id
    r = client.get(f"/import/{listener_id}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"


def test_a_start_without_secret_key_outside_development_is_refused(
    monkeypatch: pytest.MonkeyPatch, database_url: str
) -> None:
    # As the Procfile starts it: FANAPP_ENV unset, no SECRET_KEY, no TOKEN_KEYS.
    for name in ("FANAPP_ENV", "SECRET_KEY", "TOKEN_KEYS", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    with pytest.raises(ConfigError) as refused:
        create_app()
    assert "SECRET_KEY" in str(refused.value) and "TOKEN_KEYS" in str(refused.value)
    # The same refusal from the command line, in words, without a traceback of secrets.
    env = {"PATH": "/usr/bin:/bin", "DATABASE_URL": database_url, "HOME": "/tmp"}
    done = subprocess.run(
        [sys.executable, "-c", "from fanapp import create_app; create_app()"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "Set SECRET_KEY to a long random value in production." in done.stderr
    assert "FANAPP_ENV=development" in done.stderr
