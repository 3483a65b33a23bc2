"""The duet invitation: a friend chooses which character of a published episode to co-star with, then
comes in by any way in; when their import is done, their builder opens on the duet."""

from __future__ import annotations

from flask import Blueprint, abort, make_response, render_template, request, session
from werkzeug.wrappers import Response

from fanapp import config, duets
from fanapp.engine import EngineError
from fanapp.site import campaign
from fanapp.site.db import db
from fanapp.web import pages, visitor

bp = Blueprint("duet", __name__)

INTENT = visitor.DUET_INTENT  # session key: {"slug", "star"}, kept across the ways in


def _refuse(exc: duets.DuetRefused) -> None:
    abort(exc.status, description=str(exc))


@bp.get("/s/<slug>/duet")
def invitation(slug: str) -> Response:
    """The invitation: the inviter's two characters, each with `co-star`; once one is chosen, the ways
    in (the landing page's, with the same test ids)."""
    try:
        found = duets.invitation(db(), slug=slug)
    except duets.DuetRefused as exc:
        _refuse(exc)
    campaign.remember()
    star = request.args.get("star", "")
    if star in duets.KEYS:
        session[INTENT] = {"slug": found.slug, "star": star}
    else:
        star = ""
    response = make_response(
        render_template(
            "pages/duet.html",
            settings=config.current(),
            errors=pages.take_errors(),  # a refused way in, carried here by post/redirect/get
            invitation=found,
            view=found.view,
            star=star,
            campaign_args=campaign.from_args(),
        )
    )
    # Under /s/ like the public pages, but this one is the visitor's own (a session, a choice, CSRF
    # tokens): no shared cache may keep it.
    response.headers["Cache-Control"] = "no-store"
    return response


def continue_duet(listener_id: int) -> int | None:
    """After an import: the visitor's duet draft when they came by an invitation (made once), else None.

    Refused (the original was taken down or closed to duets meanwhile): the error page says so.
    """
    intent = session.get(INTENT)
    if not isinstance(intent, dict):
        return None
    try:
        episode_id = duets.start(
            db(),
            listener_id=listener_id,
            slug=str(intent.get("slug", "")),
            star=str(intent.get("star", "")),
            campaign=campaign.current(),
        )
    except duets.DuetRefused as exc:
        session.pop(INTENT, None)
        _refuse(exc)
    except EngineError:
        return None  # an empty history: the journey's own page says why
    session.pop(INTENT, None)
    return episode_id
