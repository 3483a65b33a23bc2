"""Shared fixtures: an app on a fresh database, the Spotify double, and helpers to act as a visitor."""

from __future__ import annotations

import io
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import EnvironBuilder

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data import migrate
from fanapp.data import session as data_session

# The app is strict (production) by default; every app and subprocess a test starts is a development one
# unless the test says otherwise (`make test` exports the same).
os.environ.setdefault("FANAPP_ENV", "development")

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/test"
CLOSED_PORT = "http://127.0.0.1:9/"


def make_settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a test app: nothing read from the real environment; its own Redis key prefix."""
    environ = {
        "FANAPP_ENV": "test",
        "DATABASE_URL": database_url,
        "REDIS_PREFIX": f"fanapp-test-{uuid.uuid4().hex}:",
        # No internet here: outside services answer "connection refused" at once unless a test starts
        # its own fake and points the setting at it.
        "DEEZER_API_URL": CLOSED_PORT,
        "RECCOBEATS_API_URL": CLOSED_PORT,
        "LASTFM_API_URL": CLOSED_PORT,
    }
    return Settings.from_env(environ=environ).override(**overrides)


_ENGINES: list[Any] = []  # engines this test's apps made (`_engines_disposed`)


def _dispose_engines() -> None:
    while _ENGINES:
        _ENGINES.pop().dispose()


@pytest.fixture(autouse=True)
def _engines_disposed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every engine an app of this test made is disposed when the test ends (before its database is
    dropped). A pooled PostgreSQL connection left to the garbage collector warns (psycopg's
    ResourceWarning) in whichever later test the collector happens to run in, failing that one."""
    make = data_session.make_engine

    def tracked(*args: Any, **kwargs: Any) -> Any:
        made = make(*args, **kwargs)
        _ENGINES.append(made)
        return made

    monkeypatch.setattr(data_session, "make_engine", tracked)
    yield
    _dispose_engines()


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file migrated to head per test session; each test gets its own copy."""
    path = tmp_path_factory.mktemp("template") / "template.sqlite3"
    migrate.upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def database_url(tmp_path: Path, migrated_sqlite: Path) -> str:
    """A fresh, migrated SQLite database for this test."""
    target = tmp_path / "fanapp.sqlite3"
    shutil.copy(migrated_sqlite, target)
    return f"sqlite:///{target}"


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for this test, dropped afterwards."""
    name = f"fanapp_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        _dispose_engines()  # no app of this test holds a connection to what is dropped
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def settings(database_url: str) -> Settings:
    """The test app's settings (override in a test module to change them)."""
    return make_settings(database_url)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    """The app on a fresh database."""
    application = create_app(settings)
    application.testing = True
    yield application
    application.extensions["fanapp.engine"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """A browser-like test client (keeps cookies)."""
    return app.test_client()


@pytest.fixture
def fake_spotify() -> Iterator[Any]:
    """The local Spotify double on 127.0.0.1, with its default listener."""
    from tests.fakes.spotify import FakeSpotify

    with FakeSpotify.running(redirect_uri="http://127.0.0.1:5000/callback/spotify") as fake:
        yield fake


@pytest.fixture
def spotify_settings(database_url: str, fake_spotify: Any) -> Settings:
    """Settings that point spotipy at the double."""
    return make_settings(
        database_url,
        spotify_client_id=fake_spotify.client_id,
        spotify_client_secret=fake_spotify.client_secret,
        spotify_redirect_uri="http://127.0.0.1:5000/callback/spotify",
        spotify_accounts_url=fake_spotify.accounts_url,
        spotify_api_url=fake_spotify.api_url,
        upstream_timeout=2.0,
    )


@pytest.fixture
def spotify_app(spotify_settings: Settings) -> Iterator[Flask]:
    """The app wired to the Spotify double."""
    application = create_app(spotify_settings)
    application.testing = True
    yield application
    application.extensions["fanapp.engine"].dispose()


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """The CSRF token of the first form on a page."""
    match = _CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def upload_export(client: FlaskClient, token: str, files: list[tuple[str, bytes]]) -> Any:
    """POST export files (name, content) to /upload as the form does. An explicit builder, closed
    afterwards: a large body spills into a temporary file."""
    data: dict[str, Any] = {"csrf_token": token, "files": [(io.BytesIO(c), name) for name, c in files]}
    builder = EnvironBuilder(path="/upload", method="POST", data=data, content_type="multipart/form-data")
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


def start_demo(client: FlaskClient) -> str:
    """Landing → demo: returns the builder page's URL."""
    token = csrf_from(client.get("/").get_data(as_text=True))
    response = client.post("/demo", data={"csrf_token": token})
    assert response.status_code == 303, response.get_data(as_text=True)[:500]
    return str(response.headers["Location"])


def connect_spotify(client: FlaskClient, fake: Any) -> Any:
    """Landing → Spotify (the double approves) → callback; returns the callback's response."""
    import requests

    start = client.get("/connect/spotify")
    assert start.status_code == 302
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=5)
    assert approved.status_code in (302, 303), approved.text
    callback = approved.headers["Location"]
    assert callback.startswith("http://127.0.0.1:5000/callback/spotify?")
    return client.get(callback.removeprefix("http://127.0.0.1:5000"))


def publish_demo(client: FlaskClient) -> str:
    """Landing → demo → publish as proposed: returns the slug."""
    builder_url = start_demo(client)
    token = csrf_from(client.get(builder_url).get_data(as_text=True))
    response = client.post(builder_url + "/publish", data={"csrf_token": token})
    assert response.status_code == 303
    return str(response.headers["Location"]).rsplit("/", 1)[-1]
