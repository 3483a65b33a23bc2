"""Reporting a published episode: any visitor, no account, a reason from a short list.

The share page and the embed stay cookie-free and cached: their `report-episode` link leads here, to a
page of its own whose form carries the CSRF token (and so the session cookie it needs)."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from fanapp import episodes
from fanapp.sharing.share import not_public
from fanapp.site.db import db
from fanapp.site.limits import limiter, report_limit

bp = Blueprint("report", __name__)


@bp.after_request
def _not_shared(response: Response) -> Response:
    # It lives under /s/ beside the cached public pages, but it carries a visitor's CSRF token (and
    # session cookie): no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/s/<slug>/report", methods=["GET", "POST"])
@limiter.limit(report_limit, methods=["POST"])
def report(slug: str) -> Response | str | tuple[str, int]:
    """The report form (GET) and the report (POST: CSRF, rate limited; PRG to a thank-you)."""
    view = episodes.public_view(db(), slug)
    if view is None:
        not_public(slug)
    if request.method == "GET":
        return render_template("pages/report.html", view=view, reasons=episodes.REPORT_REASONS, error="")
    try:
        episodes.report(db(), slug=slug, reason=request.form.get("reason", ""))
    except episodes.NotYours:
        abort(404, description="There is no published episode at this address.")
    except episodes.EpisodeError as exc:
        page = render_template(
            "pages/report.html", view=view, reasons=episodes.REPORT_REASONS, error=str(exc)
        )
        return page, 400
    return redirect(url_for("report.thanks", slug=slug), code=303)


@bp.get("/s/<slug>/reported")
def thanks(slug: str) -> str:
    """What happens next, after a report."""
    return render_template("pages/reported.html", slug=slug)
