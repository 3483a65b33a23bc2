"""Landing, privacy, health and error pages."""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from fanapp import campaign, config
from fanapp.db import db

bp = Blueprint("pages", __name__)


@bp.get("/")
def landing() -> str:
    """The landing page: the ways in that are configured, most personal first."""
    campaign.remember()
    return render_template("pages/landing.html", settings=config.current(), errors={})


@bp.get("/privacy")
def privacy() -> str:
    """What we keep, for how long, and how to take it back."""
    return render_template("pages/privacy.html", retention_days=config.current().retention_days)


@bp.get("/healthz")
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 otherwise."""
    try:
        db().exec(text("SELECT 1"))  # type: ignore[call-overload]
    except SQLAlchemyError:
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok"), 200


@bp.app_errorhandler(HTTPException)
def http_error(exc: HTTPException) -> tuple[str, int]:
    """A plain page for 4xx/5xx: what happened and where to go next, never a traceback."""
    return render_template("pages/error.html", error=exc), exc.code or 500


@bp.app_errorhandler(Exception)
def unexpected(exc: Exception) -> tuple[str, int]:
    """Anything unforeseen: log it for us, show a generic page to the visitor."""
    if current_app.testing:
        raise exc  # tests see the real error
    current_app.logger.exception("unhandled error", exc_info=exc)
    return render_template("pages/error.html", error=None), 500
