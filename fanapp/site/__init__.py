"""What every page of the site shares, journey and public surface alike: security headers and CSRF,
inbound rate limits, campaign parameters, absolute URLs, error pages, the health check, and the
request's database session."""

from __future__ import annotations

from flask import Flask, Response

from fanapp.config import Settings


def init_app(app: Flask, settings: Settings) -> None:
    """Security headers and CSRF, the request session, error pages and the health check."""
    from fanapp import campaigns
    from fanapp.site import db, errors, health, security, templating, theme

    # The funnel's counters, shared by the journey, the public surface (before its page cache) and jobs.
    app.extensions["fanapp.funnel"] = campaigns.Funnel(settings, app.extensions["fanapp.engine"])
    security.init_app(app, settings)
    db.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(theme.bp)
    app.after_request(_one_date)


def _one_date(response: Response) -> Response:
    """Leave the Date header to the WSGI server. Werkzeug's `make_conditional` (the ETag answers of share
    pages, images and the theme) adds one, and gunicorn always sends its own: two Date headers."""
    response.headers.pop("Date", None)
    return response
