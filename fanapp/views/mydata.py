"""Your data: see what we keep for this browser, unpublish an episode, delete everything."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from sqlmodel import col, select
from werkzeug.wrappers import Response

from fanapp import config, pagecache, privacy
from fanapp.db import db
from fanapp.models import Episode, Listener

bp = Blueprint("mydata", __name__, url_prefix="/my-data")


def owned_listeners() -> list[int]:
    """The listener ids this browser created (from its signed session cookie)."""
    ids = session.get("mine") or []
    current = session.get("listener_id")
    found = [i for i in ids if isinstance(i, int)]
    if isinstance(current, int) and current not in found:
        found.append(current)
    return found


@bp.get("/")
def overview() -> str:
    """What we hold for this browser, with the controls to remove it."""
    ids = owned_listeners()
    listeners = db().exec(select(Listener).where(col(Listener.id).in_(ids))).all() if ids else []
    episodes = (
        db().exec(select(Episode).where(col(Episode.listener_id).in_(ids)).order_by(col(Episode.id))).all()
        if ids
        else []
    )
    return render_template("pages/my_data.html", listeners=listeners, episodes=episodes)


@bp.post("/unpublish/<int:episode_id>")
def unpublish(episode_id: int) -> Response:
    """Take one of your episodes down (its share link stops working)."""
    episode = db().get(Episode, episode_id)
    if episode is None or episode.listener_id not in owned_listeners():
        abort(404, description="This episode is not one of yours.")
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm: the share link will stop working.", "error")
        return redirect(url_for("mydata.overview"), code=303)
    privacy.unpublish(db(), episode)
    pagecache.taken_down(config.current(), current_app.extensions["fanapp.page_cache"])
    flash("Done: that episode is no longer published.", "info")
    return redirect(url_for("mydata.overview"), code=303)


@bp.post("/delete")
def delete_everything() -> Response:
    """Delete every listener, history, token and episode this browser made, then forget the session."""
    if request.form.get("confirm") != "yes":
        flash("Tick the box to confirm that you want everything deleted.", "error")
        return redirect(url_for("mydata.overview"), code=303)
    done = privacy.delete_listeners(db(), owned_listeners())
    pagecache.taken_down(config.current(), current_app.extensions["fanapp.page_cache"])
    session.clear()
    flash(
        f"Deleted: {done.listeners} imported histories and {done.episodes} episodes. Nothing is left.", "info"
    )
    return redirect(url_for("pages.landing"), code=303)
