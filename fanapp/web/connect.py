"""The ways in (Spotify with Authorization Code + PKCE and a single-use state, Last.fm, a data export,
the demo), the import's progress page, and saving an episode to Spotify as a playlist."""

from __future__ import annotations

import secrets
import time
from typing import Any, BinaryIO, cast

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError, validate_csrf
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response
from wtforms import ValidationError

from fanapp import campaigns, config, episodes
from fanapp.errors import FanappError
from fanapp.importing import jobs, store, tokens, uploads, watchdog
from fanapp.site import campaign
from fanapp.site.db import db
from fanapp.site.limits import connect_limit, limiter
from fanapp.site.urls import absolute_url
from fanapp.sources import SourceError
from fanapp.sources.export import DEFAULT_LIMITS, MB, check_files
from fanapp.sources.lastfm import PERIODS, normalise_username
from fanapp.sources.spotify import catalog, oauth
from fanapp.sources.spotify import client as spotify_client
from fanapp.web import duet, pages, visitor
from fanapp.web.htmx import is_htmx, redirect_to, render

bp = Blueprint("connect", __name__)

STATE_LIFETIME = 600  # seconds a visitor has to approve on Spotify before the state goes stale


def _start_listener(source: str) -> int:
    listener_id = store.new_listener(db(), source=source)
    visitor.became(listener_id)
    return listener_id


def _save_playlist(slug: str, access_token: str) -> Response:
    """Create the episode's playlist with a token used once and never stored, then show the result."""
    view = episodes.public_view(db(), slug)
    if view is None:
        abort(404, description="This episode is no longer published.")
    share_url = absolute_url("share.page", slug=slug)
    try:
        url = catalog.save_playlist(
            spotify_client.client(config.current(), access_token),
            name=f"your Soundtrack: {view.title}",
            description=f"A two-character Soundtrack episode, the mash-up pair last. {share_url}",
            track_ids=view.playlist(),
        )
    except FanappError as exc:
        return _playlist_result(slug, error=exc.message)
    campaigns.current().count("saves", campaign=campaign.current(), way="spotify")
    return _playlist_result(slug, url=url)


PLAYLIST_RESULT = "playlist_result"  # session key: what the last save to Spotify gave, for its page


def _playlist_result(slug: str, *, url: str = "", error: str = "") -> Response:
    """Post/redirect/get for the save: the result page is a GET that reads the outcome from the session,
    so reloading "Saved to your Spotify" shows it again instead of replaying a spent sign-in link."""
    session[PLAYLIST_RESULT] = {"slug": slug, "url": url, "error": error[:500]}
    return redirect(url_for("connect.playlist_saved", slug=slug), code=303)


@bp.get("/s/<slug>/saved-to-spotify")
def playlist_saved(slug: str) -> Response | str:
    """The outcome of saving this episode to Spotify (safe to reload); without one, the share page."""
    result = session.get(PLAYLIST_RESULT)
    if not isinstance(result, dict) or result.get("slug") != slug:
        return redirect(url_for("share.page", slug=slug), code=303)
    return render_template(
        "pages/playlist.html",
        error=str(result.get("error", "")),
        url=str(result.get("url", "")),
        share_url=absolute_url("share.page", slug=slug),
    )


def next_step(listener_id: int) -> Response | str:
    """Where the visitor goes after an import step: the builder, the progress page, or a clear failure."""
    listener = store.listener(db(), listener_id)
    if listener is None:
        abort(404, description="This import is not yours, or your session has ended.")
    watchdog.check(db(), config.current(), listener)  # stuck or lost: failed (and said) right here
    progress_url = url_for("connect.progress", listener_id=listener_id)
    # Post/redirect/get: an import that ran inline answers the form post with a redirect, so a failure
    # or a quiet history is shown by a GET (the progress page) that a reload never posts again.
    posted = request.method == "POST"
    if listener.import_status == "failed":
        if is_htmx() or posted:
            # The progress page's poll: load the failure as a whole page, not inside the progress box.
            return redirect_to(progress_url)
        return render_template("pages/import_failed.html", message=listener.import_error, retry_after=None)
    if listener.import_status != "done":
        if is_htmx():
            return _progress_page(listener)
        return redirect(progress_url, code=303)
    duet_id = duet.continue_duet(listener_id)
    if duet_id is not None:
        return redirect_to(url_for("builder.build", episode_id=duet_id))
    episode = episodes.newest(db(), listener_id=listener_id)
    if episode is None:
        if is_htmx() or posted:
            return redirect_to(progress_url)
        message = episodes.why_not_cast(db(), listener_id=listener_id)
        return render_template("pages/empty_history.html", message=message)
    return redirect_to(url_for("builder.build", episode_id=episode.id))


def _progress_page(listener: Any) -> Response:
    """The progress page (or its fragment): the stage, the place in the queue and an honest wait."""
    settings = config.current()
    position = jobs.position(settings, listener)
    wait = jobs.wait(settings, listener, position)
    # While Spotify has paused the app the wait is minutes long: the page asks as seldom as it may.
    paused = listener.import_status == "waiting"
    poll = jobs.LONGEST_POLL if paused else (wait.poll if wait else jobs.POLL_SECONDS)
    return render(
        "pages/progress.html",
        "partials/progress.html",
        listener=listener,
        position=position,
        wait=wait,
        poll=poll,
    )


def _start(listener_id: int, spec: dict[str, Any]) -> Response | str:
    spec = {**spec, "campaign": campaign.current()}
    jobs.start_import(settings=config.current(), listener_id=listener_id, spec=spec)
    return next_step(listener_id)


@bp.get("/import/<int:listener_id>")
def progress(listener_id: int) -> Response | str:
    """The import's progress (htmx polls it), then on to the builder."""
    listener = store.listener(db(), listener_id) if visitor.current_listener() == listener_id else None
    if listener is None:
        abort(404, description="This import is not yours, or your session has ended.")
    watchdog.check(db(), config.current(), listener)
    if listener.import_status in ("done", "failed"):
        return next_step(listener_id)
    return _progress_page(listener)


@bp.post("/demo")
@limiter.limit(connect_limit)
def demo() -> Response | str:
    """Start the journey with the bundled demo listener."""
    return _start(_start_listener("demo"), {"kind": "demo"})


def _authorize(purpose: str, scopes: tuple[str, ...], **extra: str) -> Response:
    """Send the visitor to Spotify with a fresh single-use state and a PKCE challenge."""
    state = secrets.token_urlsafe(32)
    verifier, challenge = oauth.pkce_pair()
    # The verifier sits in the signed session cookie next to the state: it is useless without the code,
    # which only Spotify's redirect carries, and both are removed on first use.
    session["oauth"] = {
        "state": state,
        "verifier": verifier,
        "purpose": purpose,
        "started": int(time.time()),
        **extra,
    }
    url = oauth.authorize_url(config.current(), state=state, code_challenge=challenge, scopes=scopes)
    return redirect(url)


@bp.post("/connect/lastfm")
@limiter.limit(connect_limit)
def connect_lastfm() -> Response | str:
    """Import a public Last.fm profile by username (no login)."""
    settings = config.current()
    if not settings.lastfm_api_key:
        abort(404, description="Last.fm is not set up on this server.")
    period = request.form.get("period", "6month")
    try:
        username = normalise_username(request.form.get("username", "")[:200])
        if period not in PERIODS:
            raise SourceError("Choose one of the listed periods.")
    except SourceError as exc:
        return _landing_with_error("lastfm", exc.message)
    listener = _start_listener("lastfm")
    return _start(listener, {"kind": "lastfm", "username": username, "period": period})


# Larger than the app-wide 2 MB cap for forms: what Spotify sends can be big. Werkzeug streams each
# file of the form to a temporary file (never memory), and refuses a larger body before reading it.
UPLOAD_CAP = DEFAULT_LIMITS.max_upload_bytes + 1_000_000  # the files, plus the form's own parts


def _not_counted(response: Response) -> bool:
    """Only uploads that went through count toward the rate limit; a refused one may be tried again."""
    return response.status_code < 400 and not g.get("way_in_refused", False)


@bp.app_context_processor
def _upload_limits() -> dict[str, int]:
    """The upload limit, for the form's own check before the files travel."""
    return {"upload_max_bytes": DEFAULT_LIMITS.max_upload_bytes}


@bp.record_once
def _exempt_upload(state: Any) -> None:
    # CSRFProtect checks every POST before the view runs, reading the form under the app-wide cap; the
    # upload view raises the cap first and then checks the token itself (`_check_csrf`).
    state.app.extensions["fanapp.csrf"].exempt("fanapp.web.connect.upload_export")


def _check_csrf() -> None:
    """Flask-WTF's check, from the `X-CSRFToken` header before the body is read when there is one (the
    page's script sends it), else from the form once the files have streamed to disk."""
    token = request.headers.get("X-CSRFToken")
    try:
        if token:
            validate_csrf(token)
        else:
            current_app.extensions["fanapp.csrf"].protect()
    except ValidationError as exc:
        raise CSRFError(exc.args[0]) from None


@bp.post("/upload")
@limiter.limit(connect_limit, deduct_when=_not_counted)
def upload_export() -> Response | str:
    """Take the files of a Spotify data export (JSON or zip) and import them in a job.

    Quick refusals (not an export, a hostile zip directory, too big) answer here with the form and the
    message; the files are then saved for the import job, which parses them (on a worker when there is
    a queue) and removes them whatever happens, while the progress page shows plays read and songs found.
    """
    request.max_content_length = UPLOAD_CAP
    try:
        _check_csrf()
        files = [f for f in request.files.getlist("files") if f.filename]
    except RequestEntityTooLarge:
        return _landing_with_error("export", TOO_BIG, 413)
    if not files:
        return _landing_with_error("export", "Choose the files of your Spotify data export first.")
    named = [(f.filename or "upload", cast(BinaryIO, f.stream)) for f in files]
    try:
        check_files(named, DEFAULT_LIMITS)
    except SourceError as exc:
        return _landing_with_error("export", exc.message)
    try:
        key, names = uploads.save(named)
    except OSError:  # a full or unwritable disk: the visitor's files were not the problem
        current_app.logger.exception("could not keep an upload for its import job")
        return _landing_with_error("export", NOT_KEPT, 503)
    try:
        listener_id = _start_listener("export")
        jobs.start_import(
            settings=config.current(),
            listener_id=listener_id,
            spec={"kind": "export", "upload": key, "names": names, "campaign": campaign.current()},
        )
    except BaseException:
        uploads.remove(key)  # never queued: nobody else would remove it
        raise
    listener = store.listener(db(), listener_id)
    if listener is not None and listener.import_status == "failed":
        # Parsed inline (no queue) and refused: the message next to the form, as for a quick refusal.
        return _landing_with_error("export", listener.import_error)
    if is_htmx() and (listener is None or listener.import_status not in ("done", "failed")):
        return redirect_to(url_for("connect.progress", listener_id=listener_id))
    return next_step(listener_id)


NOT_KEPT = (
    "We could not keep your files for the import on our side (our storage is full or failing), so "
    "nothing was kept. Nothing is wrong with your files: please try again in a few minutes."
)
TOO_BIG = (
    f"These files are larger than {DEFAULT_LIMITS.max_upload_bytes // MB} MB in all, more than any Spotify "
    "export. Please upload only the StreamingHistory or Streaming_History_Audio files (or the zip as "
    "Spotify sent it)."
)


def _landing_with_error(way: str, message: str, status: int = 400) -> Response:
    """The message beside the form that was used (nothing was kept), and the refusal not counted.

    To htmx, the upload form alone with its message, swapped in place (the URL never changed). Too big:
    a 413 with the landing page. Otherwise, to a plain form post, post/redirect/get: the message rides
    in the session to a GET of the page with the ways in (its anchor is the message, which app.js
    focuses), so a reload never re-submits the form.
    """
    g.way_in_refused = True
    errors = {way: message}
    if way == "export" and is_htmx():
        response = make_response(render_template("partials/upload_form.html", errors=errors), status)
    elif status == 413:
        # Too big, refused before the body was read: an honest 413 with the landing page, since a
        # redirect cannot carry that status (and a reload is refused as quickly, before any byte is read).
        page = render_template("pages/landing.html", settings=config.current(), errors=errors)
        response = make_response(page, status)
    else:
        return redirect_to(pages.carry_error(way, message))
    response.vary.add("HX-Request")
    return response


@bp.get("/connect/spotify")
@limiter.limit(connect_limit)
def connect_spotify() -> Response | str:
    """Start the Spotify connection (read-only scopes)."""
    if not config.current().spotify_enabled:
        return render_template("pages/spotify_off.html"), 503  # type: ignore[return-value]
    campaign.remember()
    return _authorize("import", oauth.IMPORT_SCOPES)


@bp.get("/s/<slug>/save-to-spotify")
@limiter.limit(connect_limit)
def save_to_spotify(slug: str) -> Response | str:
    """Ask for `playlist-modify-private` only now, when the visitor wants the playlist."""
    if not config.current().spotify_enabled:
        return render_template("pages/spotify_off.html"), 503  # type: ignore[return-value]
    if episodes.published(db(), slug) is None:
        abort(404, description="There is no published episode at this address.")
    return _authorize("playlist", oauth.PLAYLIST_SCOPES, slug=slug)


@bp.get("/callback/spotify")
def callback_spotify() -> Response | str:
    """Spotify's return: check the single-use state, exchange the code, import, open the builder."""
    settings = config.current()
    if not settings.spotify_enabled:
        abort(404)
    pending = session.pop("oauth", None)  # single use: gone whatever happens next
    state = request.args.get("state", "")
    done = session.get(OAUTH_DONE)
    if not pending and state and isinstance(done, dict) and _same(str(done.get("state", "")), state):
        # This very return was handled already (a reload, or Back): go where it went, nothing is redone.
        return redirect(str(done.get("to", url_for("pages.landing"))), code=303)
    fresh = bool(pending) and time.time() - float(pending.get("started", 0)) < STATE_LIFETIME
    if not fresh or not state or not _same(str(pending.get("state", "")), state):
        abort(400, description="This sign-in link is stale or was not started here. Please connect again.")
    answer = _handle_return(settings, pending)
    if answer.status_code in (302, 303) and "Location" in answer.headers:
        session[OAUTH_DONE] = {"state": state, "to": answer.headers["Location"]}
    return answer


OAUTH_DONE = "oauth_done"  # session key: the last Spotify return handled, and where it led


def _same(expected: str, given: str) -> bool:
    """Constant-time comparison of two states (as bytes: a non-ASCII `state` is simply wrong, not a 500)."""
    return secrets.compare_digest(expected.encode(), given.encode())


def _handle_return(settings: config.Settings, pending: dict[str, Any]) -> Response:
    """What Spotify's (checked) return leads to: the playlist's result, or the import."""
    if request.args.get("error") and pending.get("purpose") == "playlist":
        return _playlist_result(
            str(pending.get("slug", "")),
            error="You did not allow fanapp to add a playlist, so nothing was saved.",
        )
    if request.args.get("error"):
        return make_response(
            render_template(
                "pages/import_failed.html",
                message="You did not allow fanapp to read your Spotify history, so nothing was imported.",
                retry_after=None,
            )
        )
    code = request.args.get("code", "")
    if not code or len(code) > 2048:
        abort(400, description="Spotify's answer had no authorization code. Please connect again.")
    try:
        token_set = oauth.exchange_code(settings, code=code, code_verifier=pending["verifier"])
    except FanappError as exc:
        return make_response(
            render_template("pages/import_failed.html", message=exc.message, retry_after=None)
        )
    if pending.get("purpose") == "playlist":
        return _save_playlist(str(pending.get("slug", "")), token_set.access_token)
    listener_id = _start_listener("spotify")
    tokens.save(db(), settings=settings, listener_id=listener_id, tokens=token_set)
    return make_response(_start(listener_id, {"kind": "spotify"}))
