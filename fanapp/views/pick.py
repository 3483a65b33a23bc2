"""Pick by hand: no account at all; search songs (Spotify when configured, else the bundled catalogue)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from sqlmodel import col, select
from werkzeug.wrappers import Response

from fanapp import config, jobs
from fanapp.db import db
from fanapp.htmx import is_htmx, render
from fanapp.importing import add_track, from_row
from fanapp.limits import limiter, search_limit
from fanapp.models import Listener, Track
from fanapp.sources import ImportedTrack, SourceError, catalogue
from fanapp.sources import spotify as spotify_source
from fanapp.sources.catalogue import PickedSource
from fanapp.views.connect import next_step

bp = Blueprint("pick", __name__, url_prefix="/pick")

MAX_PICKS = 40
MIN_PICKS = 2


def _pick_listener() -> Listener | None:
    listener_id = session.get("pick_listener_id")
    listener = db().get(Listener, listener_id) if isinstance(listener_id, int) else None
    return listener if listener is not None and listener.source == "pick" else None


def _picks(listener: Listener | None) -> list[Track]:
    if listener is None:
        return []
    return list(
        db().exec(select(Track).where(Track.listener_id == listener.id).order_by(col(Track.id))).all()
    )


def _search(query: str) -> tuple[list[ImportedTrack], str]:
    settings = config.current()
    if settings.spotify_enabled and query.strip():
        try:
            return spotify_source.search_tracks(spotify_source.app_client(settings), query), ""
        except SourceError as exc:
            return catalogue.search(query), exc.message + " Showing the bundled songs instead."
    return catalogue.search(query), ""


@bp.get("/")
@limiter.limit(search_limit)
def page() -> Response:
    """The search and the songs picked so far."""
    return _render(request.args.get("q", "")[:100])


def _render(query: str, error: str = "") -> Response:
    results, notice = _search(query)
    notice = error or notice
    picks = _picks(_pick_listener())
    return render(
        "pages/pick.html",
        "partials/pick_results.html",
        query=query,
        results=results,
        notice=notice,
        picks=picks,
        picked={t.source_id for t in picks},
        min_picks=MIN_PICKS,
        spotify=config.current().spotify_enabled,
    )


@bp.post("/add")
@limiter.limit(search_limit)
def add() -> Response:
    """Add one song to the picks (the first pick starts a new listener for this browser)."""
    track_id = request.form.get("track", "")[:100]
    settings = config.current()
    if len(_picks(_pick_listener())) >= MAX_PICKS:
        return _back(f"That is {MAX_PICKS} songs already: cast your episode, or remove one.")
    if track_id.startswith("demo-"):
        track = catalogue.by_id(track_id)
    elif settings.spotify_enabled:
        try:
            track = spotify_source.get_track(spotify_source.app_client(settings), track_id)
        except SourceError as exc:
            return _back(exc.message)
    else:
        track = None
    if track is None:
        return _back("We could not find that song. Please search again.")
    listener = _pick_listener()
    if listener is None:
        listener = Listener(source="pick", import_status="pending")
        db().add(listener)
        db().commit()
        session["pick_listener_id"] = listener.id
        session["mine"] = [*session.get("mine", []), listener.id][-20:]
    add_track(db(), listener=listener, track=track)
    return _back()


@bp.post("/remove")
def remove() -> Response:
    """Take a song out of the picks."""
    listener = _pick_listener()
    if listener is not None:
        row = (
            db()
            .exec(
                select(Track).where(
                    Track.listener_id == listener.id, Track.source_id == request.form.get("track", "")
                )
            )
            .first()
        )
        if row is not None:
            db().delete(row)
            db().commit()
    return _back()


@bp.post("/done")
def done() -> Response | str:
    """Cast the episode from the picks."""
    listener = _pick_listener()
    picks = _picks(listener)
    if listener is None or listener.id is None:
        abort(400, description="Pick a few songs first.")
    if len(picks) < MIN_PICKS:
        return _back(f"Pick at least {MIN_PICKS} songs (6 or more makes a better story).")
    jobs.import_now(listener.id, PickedSource([from_row(t) for t in picks]))
    db().refresh(listener)
    session["listener_id"] = listener.id
    session.pop("pick_listener_id", None)
    return next_step(listener)


def _back(error: str = "") -> Response:
    """htmx gets the refreshed picks fragment (with the error in it); a plain form post goes back to the
    page (PRG, the error as a flash message)."""
    query = request.form.get("q", "")[:100]
    if is_htmx():
        return _render(query, error)
    if error:
        flash(error, "error")
    return redirect(url_for("pick.page", q=query or None), code=303)
