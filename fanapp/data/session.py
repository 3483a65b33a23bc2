"""The database engine (pooled, from DATABASE_URL) and sessions for jobs and commands.

The per-request session of web requests is `fanapp.site.db`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import Engine, event
from sqlalchemy.pool import NullPool
from sqlmodel import Session, create_engine

from fanapp.config import Settings


def make_engine(url: str) -> Engine:
    """An engine for DATABASE_URL; SQLite gets foreign keys and a busy timeout like a real server."""
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # NullPool: SQLite connections are cheap, and pooled ones would be shared across gunicorn forks.
        engine = create_engine(
            url, connect_args={"timeout": 15, "check_same_thread": False}, poolclass=NullPool
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=5)


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the engine to the app."""
    app.extensions["fanapp.engine"] = make_engine(settings.database_url)


def engine() -> Engine:
    """The current app's engine."""
    eng: Engine = current_app.extensions["fanapp.engine"]
    return eng


@contextmanager
def get_session(eng: Engine | None = None) -> Iterator[Session]:
    """A session for jobs and commands, outside a request."""
    with Session(eng or engine(), expire_on_commit=False) as session:
        yield session
