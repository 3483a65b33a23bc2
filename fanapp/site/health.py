"""`GET /healthz`: 200 when the database answers, 503 otherwise, within a second either way (load
balancers, the Procfile host)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from functools import cache

from flask import Blueprint, current_app, jsonify
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

bp = Blueprint("health", __name__)

DEADLINE = 0.9  # seconds: a check that takes longer answers 503


@cache
def _checks() -> ThreadPoolExecutor:
    # A thread (a greenlet under gevent) so the deadline holds even while connecting: libpq's own
    # connect timeout cannot go under 2 s.
    return ThreadPoolExecutor(max_workers=2, thread_name_prefix="healthz")


def _ping(engine: Engine) -> None:
    with engine.connect() as conn:  # its own one-connection pool, statements bounded to 0.5 s
        conn.execute(text("SELECT 1"))


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers within the deadline, 503 otherwise."""
    engine: Engine = (
        current_app.extensions.get("fanapp.health_engine") or current_app.extensions["fanapp.engine"]
    )
    try:
        _checks().submit(_ping, engine).result(timeout=DEADLINE)
    except (SQLAlchemyError, Late):
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok"), 200
