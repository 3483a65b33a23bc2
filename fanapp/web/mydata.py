"""Your data: see what we keep for this browser, unpublish an episode, delete everything."""

from __future__ import annotations

from collections.abc import Callable

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fanapp import duets, episodes, privacy
from fanapp.site.db import db
from fanapp.site.limits import delete_limit, limiter
from fanapp.web import visitor
from fanapp.words import count

bp = Blueprint("mydata", __name__, url_prefix="/my-data")


@bp.get("/")
def overview() -> str:
    """What we hold for this browser, with the controls to remove it."""
    owners = visitor.owned_listeners()
    found = privacy.overview(db(), owners)
    return render_template(
        "pages/my_data.html",
        listeners=found.listeners,
        episodes=found.episodes,
        duets=duets.of_inviter(db(), owners),
    )


def _confirmed_take_down(
    take_down: Callable[[], object], *, warn: str, not_yours: str, done: str
) -> Response:
    """A take-down from your data: only with the box ticked, only of what is yours, said after."""
    if request.form.get("confirm") != "yes":
        flash(f"Tick the box to confirm: {warn}", "error")
        return redirect(url_for("mydata.overview"), code=303)
    try:
        take_down()
    except episodes.NotYours:
        abort(404, description=not_yours)
    flash(f"Done: {done}", "info")
    return redirect(url_for("mydata.overview"), code=303)


@bp.post("/duets/<int:episode_id>/take-down")
def take_down_duet(episode_id: int) -> Response:
    """Take down a friend's duet of one of your episodes (it co-stars your character)."""
    return _confirmed_take_down(
        lambda: duets.take_down(db(), episode_id=episode_id, owners=visitor.owned_listeners()),
        warn="that duet's share link will stop working.",
        not_yours="This is not a duet of one of your episodes.",
        done="that duet is no longer published.",
    )


@bp.post("/unpublish/<int:episode_id>")
def unpublish(episode_id: int) -> Response:
    """Take one of your episodes down (its share link stops working)."""
    return _confirmed_take_down(
        lambda: episodes.unpublish(db(), episode_id=episode_id, owners=visitor.owned_listeners()),
        warn="the share link will stop working.",
        not_yours="This episode is not one of yours.",
        done="that episode is no longer published.",
    )


@bp.post("/delete")
@limiter.limit(delete_limit)
def delete_everything() -> Response:
    """Delete every listener, history, token and episode this browser made, then forget the session."""
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm that you want everything deleted.", "error")
        return redirect(url_for("mydata.overview"), code=303)
    done = privacy.delete_listeners(db(), visitor.owned_listeners())
    visitor.forget()
    flash(
        f"Deleted: {count(done.listeners, 'imported history', 'imported histories')} and "
        f"{count(done.episodes, 'episode')}. Nothing is left.",
        "info",
    )
    return redirect(url_for("pages.landing"), code=303)
