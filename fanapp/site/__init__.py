"""What every page of the site shares, journey and public surface alike: security headers and CSRF,
inbound rate limits, campaign parameters, absolute URLs, error pages, the health check, and the
request's database session."""

from __future__ import annotations

from flask import Flask

from fanapp.config import Settings


def init_app(app: Flask, settings: Settings) -> None:
    """Security headers and CSRF, the request session, error pages and the health check."""
    from fanapp.site import db, errors, health, security, templating, theme

    security.init_app(app, settings)
    db.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(theme.bp)
