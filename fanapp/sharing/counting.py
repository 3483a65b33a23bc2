"""Counting views of the public surface for the funnel, in front of the page cache.

Share pages, embeds and images are replayed from memory (`pagecache.PublicPages`) without Flask, so a
view counted inside a view function would miss most of them. This WSGI layer sits outside the page
cache: it sees every GET that reaches the app, replayed or rendered, and counts the ones that showed an
episode (200, or 304 for a browser's revalidation) by the campaign in their URL. It reads no cookie,
sets none and keeps nothing of the request but the count.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from flask import Blueprint, abort, current_app, request
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from fanapp import config
from fanapp.campaigns import Funnel, field_for
from fanapp.site import campaign
from fanapp.site.limits import limiter

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment


def step_of(path: str) -> str | None:
    """The funnel step a public path shows, or None for everything else."""
    if path.startswith("/embed/"):
        return "embed_views" if path == "/embed/start" or path.count("/") == 3 else None
    if not path.startswith("/s/"):
        return None
    rest = path[3:]
    if (rest.endswith(".png") and "/" not in rest) or (rest.endswith("/story.png") and rest.count("/") == 1):
        return "image_views"
    if "/" not in rest and "." not in rest:
        return "share_views"
    return None


@lru_cache(maxsize=4096)
def _field(step: str, query: str) -> str:
    # A campaign's links repeat the same query string: read each one once (bounded, least recent out).
    # The pages' own reader (first value of each parameter), so a view counts where the page says.
    return field_for(step, campaign.from_query(MultiDict(parse_qsl(query))) if query else {})


class CountViews:
    """WSGI middleware: count shown share pages, embeds and images, then pass everything on unchanged."""

    def __init__(self, app: WSGIApplication, funnel: Funnel, *, images_only: bool = False) -> None:
        self.app = app
        self.funnel = funnel
        self.images_only = images_only  # behind a cache tier: pages count by beacon

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        step = step_of(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "GET" else None
        if step is None or (self.images_only and step != "image_views"):
            return self.app(environ, start_response)

        def counted(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status[:3] in ("200", "304"):
                self.funnel.add(_field(step, environ.get("QUERY_STRING", "")[:1024]))
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)


# -- behind an outside cache: a beacon ---------------------------------------------------------------
# With a cache tier in front (CDN_PURGE_URL set), repeat views of share pages and embeds are answered
# by Varnish or the CDN and never reach this layer. Those pages then carry count.js, which posts the
# page's path and query here once per view; the WSGI layer above stops counting them, so no view is
# counted twice. Images have no script: behind a cache tier their views are the tier's to count.

bp = Blueprint("counting", __name__)
BEACON_LIMIT = "120 per minute"


@bp.app_template_global()
def beacon_mode() -> bool:
    """True when a cache tier is configured, so views are counted by the page's beacon."""
    return bool(config.current().cdn_purge_url)


@bp.post("/count")
@limiter.limit(BEACON_LIMIT)
def beacon() -> Response:
    """One view of a share page or an embed (fields `p`: its path, `q`: its query). Answers 204."""
    if not beacon_mode():
        abort(404)
    step = step_of(request.form.get("p", "")[:200])
    if step in ("share_views", "embed_views"):
        current_app.extensions["fanapp.funnel"].add(_field(step, request.form.get("q", "")[:1024]))
    response = Response(status=204)
    response.headers["Cache-Control"] = "no-store"
    return response
