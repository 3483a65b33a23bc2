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

from fanapp.campaigns import Funnel, field_for
from fanapp.site.campaign import CAMPAIGN_KEYS

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
    params = {k: v for k, v in parse_qsl(query) if k in CAMPAIGN_KEYS} if query else {}
    return field_for(step, params)


class CountViews:
    """WSGI middleware: count shown share pages, embeds and images, then pass everything on unchanged."""

    def __init__(self, app: WSGIApplication, funnel: Funnel) -> None:
        self.app = app
        self.funnel = funnel

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        step = step_of(environ.get("PATH_INFO", "")) if environ.get("REQUEST_METHOD") == "GET" else None
        if step is None:
            return self.app(environ, start_response)

        def counted(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            if status[:3] in ("200", "304"):
                self.funnel.add(_field(step, environ.get("QUERY_STRING", "")[:1024]))
            return start_response(status, headers, exc_info)

        return self.app(environ, counted)
