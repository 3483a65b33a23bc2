"""The journey: landing, the ways in and the import's progress, the builder, picking by hand, your data.
Thin blueprints over the service modules (`episodes`, `importing`, `privacy`)."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the journey's blueprints."""
    from fanapp.web import admin, apple, builder, connect, duet, mydata, pages, pick

    for module in (pages, connect, apple, builder, mydata, pick, admin, duet):
        app.register_blueprint(module.bp)
