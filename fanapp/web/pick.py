"""Pick by hand: no account at all; search songs (Spotify when configured, else the bundled catalogue)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response

from fanapp import config
from fanapp.errors import FanappError
from fanapp.importing import picks
from fanapp.site import campaign
from fanapp.site.db import db
from fanapp.site.limits import limiter, search_limit
from fanapp.web import visitor
from fanapp.web.connect import next_step
from fanapp.web.htmx import is_htmx, render

bp = Blueprint("pick", __name__, url_prefix="/pick")


def _picking() -> int | None:
    value = session.get("pick_listener_id")
    return value if visitor.owns(value) else None  # type: ignore[return-value]


@bp.get("/")
@limiter.limit(search_limit)
def page() -> Response:
    """The search and the songs picked so far."""
    return _render(request.args.get("q", "")[:100])


def _render(query: str, error: str = "") -> Response:
    results, notice = picks.search(config.current(), query)
    tray = picks.tray(db(), _picking())
    return render(
        "pages/pick.html",
        "partials/pick_results.html",
        query=query,
        results=results,
        notice=error or notice,
        picks=tray,
        picked={t.source_id for t in tray},
        min_picks=picks.MIN_PICKS,
        catalogue_size=picks.catalogue_size(),
        spotify=config.current().spotify_enabled,
    )


@bp.post("/add")
@limiter.limit(search_limit)
def add() -> Response:
    """Add one song to the picks (the first pick starts a new listener for this browser)."""
    try:
        listener_id = picks.add(
            db(), config.current(), listener_id=_picking(), track_id=request.form.get("track", "")[:100]
        )
    except FanappError as exc:
        return _back(exc.message)
    if listener_id != _picking():
        session["pick_listener_id"] = listener_id
        visitor.remember(listener_id)
    return _back()


@bp.post("/remove")
def remove() -> Response:
    """Take a song out of the picks."""
    picks.remove(db(), listener_id=_picking(), track_id=request.form.get("track", ""))
    return _back()


@bp.post("/done")
def done() -> Response | str:
    """Cast the episode from the picks."""
    try:
        listener_id = picks.finish(db(), listener_id=_picking(), campaign=campaign.current())
    except picks.PickError as exc:  # nothing picked, or too few: said on the pick page (PRG)
        return _back(exc.message)
    session["listener_id"] = listener_id
    session.pop("pick_listener_id", None)
    return next_step(listener_id)


def _back(error: str = "") -> Response:
    """htmx gets the refreshed picks fragment (with the error in it); a plain form post goes back to the
    page (PRG, the error as a flash message)."""
    query = request.form.get("q", "")[:100]
    if is_htmx():
        return _render(query, error)
    if error:
        flash(error, "error")
    return redirect(url_for("pick.page", q=query or None), code=303)
