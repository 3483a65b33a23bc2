"""The landing page and the privacy page."""

from __future__ import annotations

from flask import Blueprint, render_template, session

from fanapp import config
from fanapp.site import campaign

bp = Blueprint("pages", __name__)


@bp.get("/")
def landing() -> str:
    """The landing page: the ways in that are configured, most personal first."""
    campaign.remember()
    session.pop("duet", None)  # a journey started here is the visitor's own, not a duet they left
    return render_template("pages/landing.html", settings=config.current(), errors={})


@bp.get("/privacy")
def privacy() -> str:
    """What we keep, for how long, and how to take it back."""
    return render_template("pages/privacy.html", retention_days=config.current().retention_days)
