"""The ways in: Spotify (Authorization Code + PKCE, single-use state) and the demo listener."""

from __future__ import annotations

import secrets

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from fanapp import importing, tokens
from fanapp.config import Settings
from fanapp.db import db
from fanapp.engine import EngineError
from fanapp.episodes import propose
from fanapp.models import Listener
from fanapp.sources import HistorySource, SourceError
from fanapp.sources import spotify as spotify_source
from fanapp.sources.demo import DemoSource

bp = Blueprint("connect", __name__)

CAMPAIGN_KEYS = ("utm_source", "utm_medium", "utm_campaign", "c")


def _settings() -> Settings:
    settings: Settings = current_app.config["SETTINGS"]
    return settings


def remember_campaign() -> None:
    """Keep campaign parameters from the URL in the session so the episode can carry them."""
    found = {k: request.args[k][:100] for k in CAMPAIGN_KEYS if request.args.get(k)}
    if found:
        session["campaign"] = found


def _start_listener(source: str) -> Listener:
    listener = Listener(source=source)
    db().add(listener)
    db().commit()
    # A new identity after connecting: drop whatever the old cookie carried (fixation), keep the campaign.
    campaign = session.get("campaign")
    session.clear()
    if campaign:
        session["campaign"] = campaign
    session["listener_id"] = listener.id
    return listener


def _import_and_build(listener: Listener, source: HistorySource) -> Response | str:
    """Import the history, propose a draft and open the builder; failures end on a clear page."""
    try:
        count = importing.run_import(db(), listener=listener, source=source)
    except SourceError as exc:
        return render_template("pages/import_failed.html", message=exc.message, retry_after=exc.retry_after)
    if count == 0:
        return render_template("pages/empty_history.html")
    try:
        episode = propose(db(), listener=listener, campaign=session.get("campaign"))
    except EngineError as exc:
        return render_template("pages/empty_history.html", message=str(exc))
    return redirect(url_for("builder.build", episode_id=episode.id), code=303)


@bp.post("/demo")
def demo() -> Response | str:
    """Start the journey with the bundled demo listener."""
    listener = _start_listener("demo")
    return _import_and_build(listener, DemoSource())


@bp.get("/connect/spotify")
def connect_spotify() -> Response | str:
    """Send the visitor to Spotify with a fresh single-use state and a PKCE challenge."""
    settings = _settings()
    if not settings.spotify_enabled:
        return render_template("pages/spotify_off.html"), 503  # type: ignore[return-value]
    remember_campaign()
    state = secrets.token_urlsafe(32)
    verifier, challenge = spotify_source.pkce_pair()
    # The verifier sits in the signed session cookie next to the state: it is useless without the code,
    # which only Spotify's redirect carries, and both are removed on first use.
    session["oauth"] = {"state": state, "verifier": verifier}
    return redirect(spotify_source.authorize_url(settings, state=state, code_challenge=challenge))


@bp.get("/callback/spotify")
def callback_spotify() -> Response | str:
    """Spotify's return: check the single-use state, exchange the code, import, open the builder."""
    settings = _settings()
    if not settings.spotify_enabled:
        abort(404)
    pending = session.pop("oauth", None)  # single use: gone whatever happens next
    state = request.args.get("state", "")
    if not pending or not state or not secrets.compare_digest(str(pending.get("state", "")), state):
        abort(400, description="This sign-in link is stale or was not started here. Please connect again.")
    if request.args.get("error"):
        return render_template(
            "pages/import_failed.html",
            message="You did not allow fanapp to read your Spotify history, so nothing was imported.",
            retry_after=None,
        )
    code = request.args.get("code", "")
    if not code or len(code) > 2048:
        abort(400, description="Spotify's answer had no authorization code. Please connect again.")
    try:
        token_set = spotify_source.exchange_code(settings, code=code, code_verifier=pending["verifier"])
    except SourceError as exc:
        return render_template("pages/import_failed.html", message=exc.message, retry_after=None)
    listener = _start_listener("spotify")
    assert listener.id is not None
    tokens.save(db(), settings=settings, listener_id=listener.id, tokens=token_set)
    source = spotify_source.SpotifySource(
        spotify_source.client(settings, token_set.access_token), saved_pages=settings.saved_pages
    )
    try:
        return _import_and_build(listener, source)
    finally:
        # No feature needs Spotify after the import: hold no tokens longer than that.
        tokens.forget(db(), listener_id=listener.id)
