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

# Connections per worker process. gevent workers run hundreds of requests at once: past the pool they
# wait (`DB_POOL_TIMEOUT`, then a quick 503) instead of opening and closing an overflow connection per
# request (3 statements of connection set-up each). 2 workers x 8 stays far under PostgreSQL's 100; for
# many more processes put PgBouncer (transaction pooling) in front (docs/RELIABILITY.md).
POOL_SIZE = 8


def make_engine(
    url: str, *, statement_timeout: float = 5.0, pool_timeout: float = 2.0, pool_size: int = POOL_SIZE
) -> Engine:
    """An engine for DATABASE_URL; SQLite gets foreign keys and a busy timeout like a real server.

    PostgreSQL connections are pooled (no per-request connect, no pre-ping round trip: a connection
    the server dropped fails one request and is replaced), every statement and lock wait is bounded
    by `statement_timeout` seconds, and waiting for a free connection by `pool_timeout`.
    """
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
    ms = max(1, int(statement_timeout * 1000))
    return create_engine(
        url,
        pool_pre_ping=False,
        pool_size=pool_size,
        max_overflow=0,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args={
            "connect_timeout": max(2, int(pool_timeout)),  # libpq's smallest
            "options": f"-c statement_timeout={ms} -c lock_timeout={ms}",
        },
    )


def init_app(app: Flask, settings: Settings) -> None:
    """Attach the engine to the app."""
    app.extensions["fanapp.engine"] = make_engine(
        settings.database_url,
        statement_timeout=settings.db_statement_timeout,
        pool_timeout=settings.db_pool_timeout,
    )
    # /healthz has its own connection, so requests stuck on a slow database never make it wait.
    app.extensions["fanapp.health_engine"] = make_engine(
        settings.database_url, statement_timeout=0.5, pool_timeout=0.5, pool_size=1
    )


def engine() -> Engine:
    """The current app's engine."""
    eng: Engine = current_app.extensions["fanapp.engine"]
    return eng


@contextmanager
def get_session(eng: Engine | None = None) -> Iterator[Session]:
    """A session for jobs and commands, outside a request."""
    with Session(eng or engine(), expire_on_commit=False) as session:
        yield session
