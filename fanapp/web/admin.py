"""The operators' pages: sign-in with `ADMIN_TOKEN`, the campaign dashboard, reports and take-downs.

Without `ADMIN_TOKEN` none of these pages exists (404), so a site that never configured operators shows
nothing to probe. An operator's session is its own cookie, apart from the visitor's: signed, scoped to
`/admin`, HttpOnly, SameSite=Strict, Secure in production, and it expires on its own (the signature
carries its time). Every operator action is logged as "operator" with what and when, never who was
reported or from where.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from functools import wraps
from typing import Any

from flask import Blueprint, abort, current_app, g, redirect, render_template, request, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer
from werkzeug.wrappers import Response

from fanapp import campaigns, config, episodes
from fanapp.site.db import db
from fanapp.site.limits import admin_login_limit, limiter
from fanapp.web import charts

bp = Blueprint("admin", __name__, url_prefix="/admin")

COOKIE = "fanapp_operator"
SESSION_SECONDS = 8 * 3600  # a working day; then the operator signs in again
log = logging.getLogger("fanapp.operator")


def audit(action: str, **details: Any) -> None:
    """Log one operator action: who ("operator"), what and when (the log record's time); no personal data."""
    extra = "".join(f" {k}={v}" for k, v in sorted(details.items()))
    log.info("operator action=%s%s", action, extra)


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="fanapp-operator")


def _token_mark(token: str) -> str:
    # A session names which token it was opened with (a digest, never the token): rotating
    # ADMIN_TOKEN ends every operator session at once.
    return hashlib.sha256(token.encode()).hexdigest()[:16]


def signed_in() -> bool:
    """True when this request carries an unexpired operator session for the current ADMIN_TOKEN."""
    token = config.current().admin_token
    raw = request.cookies.get(COOKIE)
    if not token or not raw:
        return False
    try:
        data = _serializer().loads(raw, max_age=SESSION_SECONDS)
    except BadSignature:  # also SignatureExpired
        return False
    return isinstance(data, dict) and hmac.compare_digest(str(data.get("t", "")), _token_mark(token))


def operator_only(view: Callable[..., Any]) -> Callable[..., Any]:
    """Send a request without an operator session to the sign-in page (303)."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        if not signed_in():
            return redirect(url_for("admin.login", next=request.path), code=303)
        return view(*args, **kwargs)

    return wrapped


@bp.before_request
def _only_when_configured() -> None:
    if not config.current().admin_token:
        abort(404)
    g.operator_page = True


@bp.after_request
def _never_stored(response: Response) -> Response:
    # Operator pages show what visitors reported and how the campaign does: no shared cache keeps them.
    response.headers["Cache-Control"] = "no-store"
    return response


def _safe_next(value: str | None) -> str:
    # Only back into /admin: a crafted ?next= cannot send the operator anywhere else.
    if value and value.startswith("/admin/") and "//" not in value and "\\" not in value:
        return value
    return url_for("admin.dashboard")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(admin_login_limit, methods=["POST"])
def login() -> Response | tuple[str, int] | str:
    """The sign-in form (GET) and the check of the token (POST, CSRF-protected, rate limited)."""
    next_url = _safe_next(request.values.get("next"))
    if request.method == "GET":
        return render_template("pages/admin_login.html", next_url=next_url, error="")
    given = request.form.get("token", "")
    expected = config.current().admin_token
    # Constant-time on bytes of equal meaning: no timing tells how much of a guess was right.
    if not given or not hmac.compare_digest(given.encode(), expected.encode()):
        audit("sign-in-refused")
        error = "That is not the operator token. Check it and try again."
        return render_template("pages/admin_login.html", next_url=next_url, error=error), 403
    audit("sign-in")
    response = redirect(next_url, code=303)
    response.set_cookie(
        COOKIE,
        _serializer().dumps({"t": _token_mark(expected)}),
        max_age=SESSION_SECONDS,
        path="/admin",
        httponly=True,
        samesite="Strict",
        secure=config.current().production,
    )
    return response


@bp.post("/logout")
@operator_only
def logout() -> Response:
    """End the operator session."""
    audit("sign-out")
    response = redirect(url_for("admin.login"), code=303)
    response.delete_cookie(COOKIE, path="/admin", httponly=True, samesite="Strict")
    return response


DEFAULT_DAYS = 14
MAX_DAYS = 366


def _day(name: str, default: date) -> date:
    raw = request.args.get(name, "")
    if not raw:
        return default
    try:
        return date.fromisoformat(raw[:10])
    except ValueError:
        abort(400, description=f"{name} must be a day written as YYYY-MM-DD, e.g. {default.isoformat()}.")


def _range() -> tuple[date, date]:
    """The date range asked for (`from`, `to`, inclusive), by default the last two weeks."""
    today = datetime.now(UTC).date()
    end = _day("to", today)
    start = _day("from", end - timedelta(days=DEFAULT_DAYS - 1))
    if start > end:
        abort(400, description="The first day comes after the last one: swap them.")
    if (end - start).days >= MAX_DAYS:
        abort(400, description=f"Ask for at most {MAX_DAYS} days at a time.")
    return start, end


def _figures() -> campaigns.Figures:
    # Counts still in Redis (or this process) go to the database first: the figures are complete.
    campaigns.current().flush()
    start, end = _range()
    return campaigns.figures(db(), start=start, end=end)


@bp.get("/")
@operator_only
def dashboard() -> str:
    """The campaign dashboard: the funnel per campaign, source and way in, with charts, for a date range."""
    found = _figures()
    return render_template(
        "pages/admin_dashboard.html",
        found=found,
        steps=campaigns.STEPS,
        ways=campaigns.WAYS,
        way_labels=campaigns.WAY_LABELS,
        ways_off=campaigns.ways_off(db()),
        charts=charts,
    )


@bp.get("/funnel.csv")
@operator_only
def funnel_csv() -> Response:
    """The funnel as CSV: one row per campaign and day (CONTRACT's columns)."""
    found = _figures()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in campaigns.csv_rows(found):
        # A campaign name comes from a URL: never let a spreadsheet run it as a formula.
        writer.writerow(["'" + c if c[:1] in ("=", "+", "-", "@", "\t", "\r") else c for c in row])
    response = Response(out.getvalue(), mimetype="text/csv")
    name = f"funnel-{found.start.isoformat()}-{found.end.isoformat()}.csv"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@bp.post("/ways/<way>")
@operator_only
def switch_way(way: str) -> Response:
    """Switch a way in off (or back on) for every visitor, without a deploy."""
    off = request.form.get("off") == "1"
    try:
        campaigns.switch_way(db(), way=way, off=off)
    except ValueError:
        abort(404, description="There is no such way in.")
    audit("way-off" if off else "way-on", way=way)
    return redirect(url_for("admin.dashboard"), code=303)


@bp.get("/reports")
@operator_only
def reports() -> str:
    """Reported episodes, the most recently reported first, each shown as the public sees it."""
    return render_template(
        "pages/admin_reports.html", reported=episodes.reports(db()), reasons=episodes.REPORT_REASONS
    )


@bp.post("/reports/<int:episode_id>/take-down")
@operator_only
def take_down(episode_id: int) -> Response:
    """Take a reported episode down everywhere (410 on every surface, every cache told)."""
    try:
        episodes.take_down(db(), episode_id=episode_id)
    except episodes.NotYours:
        abort(404, description="There is no published episode with this id.")
    audit("take-down", episode=episode_id)
    return redirect(url_for("admin.reports"), code=303)


@bp.post("/reports/<int:episode_id>/dismiss")
@operator_only
def dismiss(episode_id: int) -> Response:
    """Nothing wrong with it: forget the episode's reports, keep it published."""
    count = episodes.dismiss_reports(db(), episode_id=episode_id)
    audit("dismiss-reports", episode=episode_id, reports=count)
    return redirect(url_for("admin.reports"), code=303)
