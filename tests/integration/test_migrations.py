"""Migrations run up and down on SQLite and on PostgreSQL, and match the models."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect
from sqlmodel import SQLModel

import fanapp.data.models  # noqa: F401
from fanapp import create_app
from fanapp.config import Settings
from fanapp.data import migrate
from tests.conftest import make_settings, start_demo

TABLES = {
    "listener",
    "spotifytoken",
    "applemusictoken",
    "track",
    "episode",
    "character",
    "episodesong",
    "featurecache",
    "report",
    "funnelcount",
    "wayinswitch",
}


def _check(url: str) -> None:
    sa_url = Settings(env="test").override(database_url=url).database_url
    migrate.upgrade(url)
    engine = create_engine(sa_url)
    try:
        assert set(inspect(engine).get_table_names()) >= TABLES
        with engine.connect() as conn:
            diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        migrate.downgrade(url, "base")
        assert not TABLES & set(inspect(engine).get_table_names())
        migrate.upgrade(url)
    finally:
        engine.dispose()


def test_sqlite(tmp_path: Path) -> None:
    _check(f"sqlite:///{tmp_path / 'm.sqlite3'}")


@pytest.mark.postgres
def test_postgresql(pg_url: str) -> None:
    _check(pg_url)


@pytest.mark.postgres
def test_demo_journey_on_postgresql(pg_url: str) -> None:
    migrate.upgrade(pg_url)
    app = create_app(make_settings(pg_url))
    app.testing = True
    try:
        client = app.test_client()
        builder_url = start_demo(client)
        assert client.get(builder_url).status_code == 200
        assert client.get("/healthz").get_json() == {"status": "ok"}
    finally:
        app.extensions["fanapp.engine"].dispose()
        app.extensions["fanapp.health_engine"].dispose()  # /healthz has a connection of its own


def test_healthz_503_when_database_is_down(tmp_path: Path) -> None:
    app = create_app(make_settings("postgresql://postgres@127.0.0.1:1/none"))
    app.testing = True
    r = app.test_client().get("/healthz")
    assert r.status_code == 503
