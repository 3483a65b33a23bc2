"""The content pack's colours as a stylesheet (`/theme.css`), linked after app.css when a campaign's
pack is in use. The CSP allows no inline style, so the colours come as a file of their own."""

from __future__ import annotations

import hashlib

from flask import Blueprint, request
from werkzeug.wrappers import Response

from fanapp import content

bp = Blueprint("theme", __name__)


def version() -> str:
    """A short digest of the pack's colours: the stylesheet's URL changes when they do."""
    return hashlib.sha256(content.current().theme_css().encode()).hexdigest()[:12]


@bp.get("/theme.css")
def css() -> Response:
    """The pack's theme colours as CSS custom properties (public, cached a day, a strong ETag)."""
    body = content.current().theme_css().encode()
    response = Response(body, mimetype="text/css")
    response.headers["Cache-Control"] = "public, max-age=86400"
    response.headers["Access-Control-Allow-Origin"] = "*"  # embeds in sandboxed iframes (origin "null")
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    return response.make_conditional(request)
