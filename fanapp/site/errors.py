"""Error pages: every 4xx/5xx a visitor can meet says what happened and where to go next."""

from __future__ import annotations

from flask import Flask, current_app, render_template
from werkzeug.exceptions import HTTPException


def init_app(app: Flask) -> None:
    """Register the app-wide error handlers."""
    app.register_error_handler(HTTPException, http_error)
    app.register_error_handler(Exception, unexpected)


def http_error(exc: HTTPException) -> tuple[str, int]:
    """A plain page for 4xx/5xx: what happened and where to go next, never a traceback."""
    return render_template("pages/error.html", error=exc), exc.code or 500


def unexpected(exc: Exception) -> tuple[str, int]:
    """Anything unforeseen: log it for us, show a generic page to the visitor."""
    if current_app.testing:
        raise exc  # tests see the real error
    current_app.logger.exception("unhandled error", exc_info=exc)
    return render_template("pages/error.html", error=None), 500
