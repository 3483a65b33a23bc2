"""The journey: landing, the ways in and the import's progress, the builder, picking by hand, your data.
Thin blueprints over the service modules (`episodes`, `importing`, `privacy`)."""

from __future__ import annotations

from flask import Flask, abort, request, session

from fanapp import campaigns
from fanapp.site.db import db

# The routes that start each way in: refused (503) while an operator has that way switched off.
WAY_ENDPOINTS = {
    "connect.demo": "demo",
    "connect.connect_spotify": "spotify",
    "connect.callback_spotify": "spotify",
    "connect.connect_lastfm": "lastfm",
    "connect.upload_export": "export",
    "apple.connect_apple_music": "apple-music",
    "pick.page": "pick",
    "pick.add": "pick",
    "pick.done": "pick",
}


def init_app(app: Flask) -> None:
    """Register the journey's blueprints."""
    from fanapp.web import admin, apple, builder, connect, duet, mydata, pages, pick

    for module in (pages, connect, apple, builder, mydata, pick, duet, admin):
        app.register_blueprint(module.bp)

    @app.template_global()
    def ways_switched_off() -> set[str]:
        """The ways in an operator switched off (asked only by the pages that offer ways in)."""
        return campaigns.ways_off(db())

    @app.before_request
    def _way_switched_off() -> None:
        way = WAY_ENDPOINTS.get(request.endpoint or "")
        if way and not _starts_no_import() and way in campaigns.ways_off(db()):
            abort(
                503,
                description=f"{campaigns.WAY_LABELS[way]} is paused by the site's operators right now. "
                "Please start another way from the home page, or try again later.",
            )


def _starts_no_import() -> bool:
    """Spotify's return starts an import only when an import's consent is pending. Its return from a
    playlist consent (or a reload of a return already handled) saves an episode already made, so
    switching the Spotify way in off does not strand a visitor half-way through a save."""
    if request.endpoint != "connect.callback_spotify":
        return False
    pending = session.get("oauth")
    return not (isinstance(pending, dict) and pending.get("purpose") != "playlist")
