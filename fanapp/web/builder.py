"""The episode builder: one page, htmx fragments, and plain form posts that work without JavaScript."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, request, session, url_for
from werkzeug.wrappers import Response

from fanapp import config, episodes
from fanapp.importing import jobs
from fanapp.site.db import db
from fanapp.site.limits import limiter, publish_limit
from fanapp.web import visitor
from fanapp.web.htmx import is_htmx, redirect_to, render

bp = Blueprint("builder", __name__, url_prefix="/build")
EPISODE_FRAGMENT = "partials/episode.html"
PUBLISH_ERROR = "publish_error"  # session key: a refused publish, shown once beside the button


def _page(
    episode_id: int, fragment: str, query: str = "", error: str = "", publish_error: str = ""
) -> Response:
    if request.method == "GET" and PUBLISH_ERROR in session:
        publish_error = str(session.pop(PUBLISH_ERROR))  # carried by post/redirect/get, shown once
    try:
        found = episodes.builder(
            db(),
            episode_id=episode_id,
            owners=visitor.owned_listeners(),
            query=query,
            # An edit's answer is the soundtracks fragment: it shows nothing of the history.
            with_history=not (is_htmx() and fragment == EPISODE_FRAGMENT),
        )
    except episodes.AlreadyPublished as exc:
        if request.method == "GET":
            # Back from the share page after publishing: show what was published.
            return redirect(url_for("share.page", slug=exc.slug), code=303)
        abort(404, description="This episode is not one of yours, or it was already published.")
    except episodes.NotYours:
        abort(404, description="This episode is not one of yours, or it was already published.")
    return render(
        "pages/builder.html",
        fragment,
        episode_id=found.episode_id,
        view=found.view,
        history=found.history,
        history_total=found.history_total,
        notes=found.notes,
        display_name=found.display_name,
        choices=found.choices,
        story_notes=found.story_notes,
        query=query,
        error=error,
        publish_error=publish_error,
        max_songs=episodes.MAX_SONGS,
    )


def _edit(episode_id: int, change: Callable[[], object]) -> Response:
    """Make one change; htmx gets the refreshed soundtracks fragment, a plain form post is redirected
    back (PRG)."""
    error = ""
    try:
        change()
    except (episodes.NotYours, episodes.AlreadyPublished):
        abort(404, description="This episode is not one of yours, or it was already published.")
    except episodes.EpisodeError as exc:
        error = str(exc)
    if is_htmx():
        return _page(episode_id, EPISODE_FRAGMENT, error=error)
    if error:
        flash(error, "error")
    return redirect(url_for("builder.build", episode_id=episode_id), code=303)


@bp.get("/<int:episode_id>")
def build(episode_id: int) -> Response:
    """The builder page (or, for htmx, the filtered history list)."""
    started = time.perf_counter()
    page = _page(episode_id, "partials/history.html", request.args.get("q", "")[:100])
    if not is_htmx() and page.status_code == 200:
        # What a visitor at the end of an import waits for after the last poll: the queue's waits count it.
        jobs.record_builder_load(config.current(), time.perf_counter() - started)
    return page


@bp.post("/<int:episode_id>/add")
def add(episode_id: int) -> Response:
    """Put a history song into character A's or B's soundtrack."""
    return _edit(
        episode_id,
        lambda: episodes.add_song(
            db(),
            episode_id=episode_id,
            owners=visitor.owned_listeners(),
            track_id=request.form.get("track", "")[:255],
            key=request.form.get("character", ""),
        ),
    )


def _song_id() -> int:
    try:
        return int(request.form.get("song", ""))
    except ValueError:
        abort(400, description="Choose a song.")


@bp.post("/<int:episode_id>/remove")
def remove(episode_id: int) -> Response:
    """Take a song out of a soundtrack."""
    song_id = _song_id()
    return _edit(
        episode_id,
        lambda: episodes.remove_song(
            db(), episode_id=episode_id, owners=visitor.owned_listeners(), song_id=song_id
        ),
    )


@bp.post("/<int:episode_id>/move")
def move(episode_id: int) -> Response:
    """Move a song up or down its story."""
    song_id = _song_id()
    delta = -1 if request.form.get("direction") == "up" else 1
    return _edit(
        episode_id,
        lambda: episodes.move_song(
            db(), episode_id=episode_id, owners=visitor.owned_listeners(), song_id=song_id, delta=delta
        ),
    )


@bp.post("/<int:episode_id>/rename")
def rename(episode_id: int) -> Response:
    """Rename a character."""
    return _edit(
        episode_id,
        lambda: episodes.rename(
            db(),
            episode_id=episode_id,
            owners=visitor.owned_listeners(),
            key=request.form.get("character", ""),
            name=request.form.get("name", ""),
        ),
    )


@bp.post("/<int:episode_id>/mashup")
def pick_mashup(episode_id: int) -> Response:
    """Make one of the offered pairs the mash-up: its songs become the two finales."""
    return _edit(
        episode_id,
        lambda: episodes.choose_pair(
            db(),
            episode_id=episode_id,
            owners=visitor.owned_listeners(),
            a_id=request.form.get("a", "")[:255],
            b_id=request.form.get("b", "")[:255],
        ),
    )


@bp.post("/<int:episode_id>/publish")
@limiter.limit(publish_limit)
def publish(episode_id: int) -> Response:
    """Publish and land on the public share page."""
    try:
        slug = episodes.publish(
            db(),
            episode_id=episode_id,
            owners=visitor.owned_listeners(),
            show_display_name=request.form.get("show_name") == "on",
            # On by default: only an unticked box (the hidden "off" alone) switches duets off.
            allow_duets=request.form.getlist("duets") != ["off"],
        )
    except episodes.NotYours:
        abort(404, description="This episode is not one of yours, or it was already published.")
    except episodes.EpisodeError as exc:
        # Refused: the message goes beside the Publish button, where the visitor is looking (and focus
        # moves to it); a plain post redirects to the builder's GET with it, so a reload posts nothing.
        if is_htmx():
            return _page(episode_id, EPISODE_FRAGMENT, publish_error=str(exc))
        session[PUBLISH_ERROR] = str(exc)[:500]
        return redirect(url_for("builder.build", episode_id=episode_id, _anchor="publish-error"), code=303)
    return redirect_to(url_for("share.page", slug=slug))
