"""Full page first, fragment second: one route answers htmx with a partial and browsers with the page."""

from __future__ import annotations

from typing import Any

from flask import make_response, redirect, render_template, request
from werkzeug.wrappers import Response


def is_htmx() -> bool:
    """True for a request htmx made to swap part of a page (not a boosted navigation or a history
    restore, which need the whole page)."""
    headers = request.headers
    return (
        headers.get("HX-Request") == "true"
        and headers.get("HX-Boosted") != "true"
        and headers.get("HX-History-Restore-Request") != "true"
    )


def render(page: str, fragment: str, **context: Any) -> Response:
    """Render `fragment` for htmx and `page` (which includes it) otherwise; caches keep them apart."""
    template = fragment if is_htmx() else page
    response = make_response(render_template(template, **context))
    response.vary.add("HX-Request")
    return response


def redirect_to(target: str) -> Response:
    """Go to another page: htmx follows `HX-Redirect` (a whole new page), a browser a 303."""
    if is_htmx():
        response = Response(status=204)
        response.headers["HX-Redirect"] = target
        return response
    return redirect(target, code=303)
