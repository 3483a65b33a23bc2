"""The episode builder: one page, htmx fragments, and plain form posts that work without JavaScript."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, request, url_for
from sqlmodel import select
from werkzeug.wrappers import Response

from fanapp import episodes
from fanapp.db import db
from fanapp.htmx import is_htmx, render
from fanapp.limits import limiter, publish_limit
from fanapp.models import Episode, Listener, Track
from fanapp.views.mydata import owned_listeners

bp = Blueprint("builder", __name__, url_prefix="/build")


def _draft(episode_id: int) -> Episode:
    episode = episodes.draft(db(), episode_id=episode_id, listener_ids=owned_listeners())
    if episode is None:
        mine = db().get(Episode, episode_id)
        if (
            request.method == "GET"
            and mine is not None
            and mine.slug
            and mine.status == "published"
            and mine.listener_id in owned_listeners()
        ):
            # Back from the share page after publishing: show what was published.
            abort(redirect(url_for("share.page", slug=mine.slug), code=303))
        abort(404, description="This episode is not one of yours, or it was already published.")
    return episode


def _context(episode: Episode, query: str = "", error: str = "") -> dict[str, object]:
    listener = db().get(Listener, episode.listener_id) if episode.listener_id else None
    assert listener is not None and listener.id is not None
    return {
        "episode": episode,
        "view": episodes.view(db(), episode),
        "history": episodes.history(db(), listener.id, query),
        "history_total": episodes.history_size(db(), listener.id),
        "query": query,
        "listener": listener,
        "error": error,
        "max_songs": episodes.MAX_SONGS,
    }


def _after_edit(episode: Episode, error: str = "") -> Response:
    """htmx gets the refreshed soundtracks fragment; a plain form post is redirected back (PRG)."""
    if is_htmx():
        return render("pages/builder.html", "partials/episode.html", **_context(episode, error=error))
    if error:
        flash(error, "error")
    return redirect(url_for("builder.build", episode_id=episode.id), code=303)


@bp.get("/<int:episode_id>")
def build(episode_id: int) -> Response:
    """The builder page (or, for htmx, the filtered history list)."""
    episode = _draft(episode_id)
    query = request.args.get("q", "")[:100]
    return render("pages/builder.html", "partials/history.html", **_context(episode, query))


@bp.post("/<int:episode_id>/add")
def add(episode_id: int) -> Response:
    """Put a history song into character A's or B's soundtrack."""
    episode = _draft(episode_id)
    track = (
        db()
        .exec(
            select(Track).where(
                Track.listener_id == episode.listener_id, Track.source_id == request.form.get("track", "")
            )
        )
        .first()
    )
    if track is None:
        return _after_edit(episode, "That song is not in your history.")
    try:
        episodes.add_song(db(), episode=episode, track=track, key=request.form.get("character", ""))
    except episodes.EpisodeError as exc:
        return _after_edit(episode, str(exc))
    return _after_edit(episode)


def _song_id() -> int:
    try:
        return int(request.form.get("song", ""))
    except ValueError:
        abort(400, description="Choose a song.")


@bp.post("/<int:episode_id>/remove")
def remove(episode_id: int) -> Response:
    """Take a song out of a soundtrack."""
    episode = _draft(episode_id)
    try:
        episodes.remove_song(db(), episode=episode, song_id=_song_id())
    except episodes.EpisodeError as exc:
        return _after_edit(episode, str(exc))
    return _after_edit(episode)


@bp.post("/<int:episode_id>/move")
def move(episode_id: int) -> Response:
    """Move a song up or down its story."""
    episode = _draft(episode_id)
    delta = -1 if request.form.get("direction") == "up" else 1
    try:
        episodes.move_song(db(), episode=episode, song_id=_song_id(), delta=delta)
    except episodes.EpisodeError as exc:
        return _after_edit(episode, str(exc))
    return _after_edit(episode)


@bp.post("/<int:episode_id>/rename")
def rename(episode_id: int) -> Response:
    """Rename a character."""
    episode = _draft(episode_id)
    try:
        episodes.rename(
            db(), episode=episode, key=request.form.get("character", ""), name=request.form.get("name", "")
        )
    except episodes.EpisodeError as exc:
        return _after_edit(episode, str(exc))
    return _after_edit(episode)


@bp.post("/<int:episode_id>/publish")
@limiter.limit(publish_limit)
def publish(episode_id: int) -> Response | str:
    """Publish and land on the public share page."""
    episode = _draft(episode_id)
    try:
        slug = episodes.publish(
            db(), episode=episode, show_display_name=request.form.get("show_name") == "on"
        )
    except episodes.EpisodeError as exc:
        return _after_edit(episode, str(exc))
    target = url_for("share.page", slug=slug)
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
