"""The request's database session: one SQLModel session per request, opened on first use and closed at
teardown. Views hand it to the service functions (`episodes.publish(session=db(), …)`); they never
query with it themselves."""

from __future__ import annotations

from flask import Flask, current_app, g
from sqlalchemy import Engine
from sqlmodel import Session


def init_app(app: Flask) -> None:
    """Close each request's session at teardown (the engine is `app.extensions["fanapp.engine"]`)."""

    @app.teardown_appcontext
    def _close_session(_exc: BaseException | None) -> None:
        session: Session | None = g.pop("db_session", None)
        if session is not None:
            session.close()


def db() -> Session:
    """The request's session, opened on first use."""
    if "db_session" not in g:
        engine: Engine = current_app.extensions["fanapp.engine"]
        g.db_session = Session(engine, expire_on_commit=False)
    session: Session = g.db_session
    return session
