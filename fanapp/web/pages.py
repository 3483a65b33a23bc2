"""The landing page and the privacy page."""

from __future__ import annotations

from flask import Blueprint, render_template, session, url_for

from fanapp import campaigns, config
from fanapp.site import campaign
from fanapp.web import visitor

bp = Blueprint("pages", __name__)


@bp.get("/")
def landing() -> str:
    """The landing page: the ways in that are configured, most personal first."""
    campaign.remember()
    session.pop(visitor.DUET_INTENT, None)  # a journey started here is their own, not a duet they left
    campaigns.current().count("visits", campaign=campaign.from_args() or campaign.current())
    return render_template("pages/landing.html", settings=config.current(), errors=take_errors())


def carry_error(way: str, message: str) -> str:
    """Keep a way in's refusal for the next page that shows the ways in (post/redirect/get), and return
    that page's address: the duet invitation the visitor came from, else the landing page. Its anchor
    is the message beside the form, which app.js focuses."""
    session["way_error"] = {"way": way, "message": message[:500]}
    anchor = way.replace("_", "-") + "-error"
    intent = session.get(visitor.DUET_INTENT)
    if isinstance(intent, dict) and intent.get("slug"):
        return url_for(
            "duet.invitation", slug=str(intent["slug"]), star=str(intent.get("star", "")), _anchor=anchor
        )
    return url_for("pages.landing", _anchor=anchor)


def take_errors() -> dict[str, str]:
    """The carried refusal, once: `{way: message}` for the ways-in forms."""
    carried = session.pop("way_error", None) if "way_error" in session else None
    return {str(carried["way"]): str(carried["message"])} if isinstance(carried, dict) else {}


@bp.get("/privacy")
def privacy() -> str:
    """What we keep, for how long, and how to take it back."""
    return render_template("pages/privacy.html", retention_days=config.current().retention_days)
