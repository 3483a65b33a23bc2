"""The request's database session: one SQLModel session per request, opened on first use and closed at
teardown. Views hand it to the service functions (`episodes.publish(session=db(), …)`); they never
query with it themselves. A database too slow to answer (statement or lock timeout, no free pooled
connection) gives a quick 503 page, never a frozen site."""

from __future__ import annotations

import logging

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlmodel import Session
from werkzeug.exceptions import ServiceUnavailable
from werkzeug.wrappers import Response

log = logging.getLogger(__name__)
BUSY = (
    "The site is very busy right now and could not reach its database in time. "
    "Please try again in a few seconds."
)


def init_app(app: Flask) -> None:
    """Close each request's session at teardown (the engine is `app.extensions["fanapp.engine"]`)."""

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is None:
            return
        try:
            session.close()
        except SQLAlchemyError as exc:
            # A connection lost mid-request: the answer is already made; never let gunicorn send its
            # raw 500 instead. The pool replaces the connection.
            log.warning("database session did not close cleanly: %s", exc)

    def _busy(exc: Exception) -> Response:
        log.warning("database too slow, answered 503: %s", exc)
        response = current_app.handle_user_exception(ServiceUnavailable(BUSY))
        answer = current_app.make_response(response)
        answer.headers["Retry-After"] = "5"
        return answer

    app.register_error_handler(OperationalError, _busy)
    app.register_error_handler(PoolTimeout, _busy)


def db() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        engine: Engine = current_app.extensions["fanapp.engine"]
        g.db_session = Session(engine, expire_on_commit=False)
    session: Session = g.db_session
    return session
