"""Public pages of published episodes (share page, JSON, embed card) served from memory, before Flask.

A published episode does not change in place, so its rendered response can be replayed byte for byte
(headers included) without a request context, a session or a database query: this is what keeps a
share page close to a bare "hello world" on release day. A view opts in by marking its 200 response
with `CACHEABLE`; everything else passes straight through. An unpublish anywhere reaches every worker
within about a second (a shared counter, read at most once a second), and entries expire after
`PAGE_CACHE_SECONDS` regardless. The store is cachetools' `TTLCache`, bounded by bytes and by count.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from cachetools import TTLCache

from fanapp.config import Settings
from fanapp.site.campaign import CAMPAIGN_KEYS, MAX_LENGTH
from fanapp.upstream.shared import redis_client

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

GENERATION_KEY = "pages-generation"
CACHEABLE = "X-Fanapp-Cacheable"  # set by a view on a response that may be replayed; never sent


@dataclass(frozen=True)
class Page:
    """A response to replay: its headers (ETag among them) and body."""

    headers: tuple[tuple[str, str], ...]
    body: bytes
    etag: str


class PageCache:
    """LRU with a time-to-live, bounded by bytes and by count; `ttl <= 0` turns it off.

    `generation` (optional) reads a counter shared by all workers that goes up whenever an episode is
    taken down anywhere; a change empties this worker's cache.
    """

    def __init__(
        self,
        ttl: float = 60.0,
        max_items: int = 2048,
        generation: Callable[[], int] | None = None,
        *,
        # A demo share page is ~12 KB with its headers (JSON 4 KB, embed 6 KB): 2,048 of them ~24 MB.
        max_bytes: int = 32 * 1024 * 1024,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """Keep pages `ttl` seconds (by `timer`), at most `max_items` of them and `max_bytes` of bodies
        and headers."""
        self.ttl = ttl
        self.timer = timer
        self.max_items = max_items
        self.max_bytes = max_bytes
        self.generation = generation
        self._seen_generation: int | None = None
        self._checked_at = float("-inf")  # the first read checks
        # cachetools caches are not thread-safe: every use of `_items` holds `_lock`.
        self._items: TTLCache[str, Page] = TTLCache(
            maxsize=max_bytes, ttl=max(ttl, 0.0), timer=timer, getsizeof=page_size
        )
        self._lock = threading.Lock()

    def _check_generation(self, now: float) -> None:
        if self.generation is None or now - self._checked_at < 1.0:
            return
        self._checked_at = now
        try:
            current = self.generation()
        except Exception:  # a shared-store hiccup: keep serving; the TTL still bounds staleness
            return
        if self._seen_generation is not None and current != self._seen_generation:
            self.clear()
        self._seen_generation = current

    def get(self, key: str) -> Page | None:
        """The page stored under `key`, if it has not expired."""
        if self.ttl <= 0:
            return None
        self._check_generation(self.timer())
        with self._lock:
            try:
                # Indexing rather than `.get()`: one expiry check instead of two on the hot path.
                return self._items[key]
            except KeyError:
                return None

    def put(self, key: str, page: Page) -> None:
        """Store a page for `ttl` seconds (the least recently used go first past either bound)."""
        if self.ttl <= 0:
            return
        with self._lock:
            self._items.pop(key, None)
            if page_size(page) > self.max_bytes:
                return  # larger than the whole cache: served, never kept
            self._items[key] = page
            while len(self._items) > self.max_items:
                self._items.popitem()

    def clear(self) -> None:
        """Drop every page this worker holds."""
        with self._lock:
            self._items.clear()


def page_size(page: Page) -> int:
    """What a page costs the cache: its body and headers in bytes (keys are short: a path, 4 parameters)."""
    return len(page.body) + sum(len(k) + len(v) for k, v in page.headers)


class PublicPages:
    """WSGI middleware: answer GET/HEAD for cached public pages, else call the app and keep what it
    marked as cacheable."""

    def __init__(self, app: WSGIApplication, cache: PageCache, *, public_base_url: str = "") -> None:
        self.app = app
        self.cache = cache
        self.public_base_url = public_base_url

    def key(self, environ: WSGIEnvironment) -> str:
        """Everything a cached public page depends on, and nothing else a visitor could vary at will.

        The scheme and host only when links are built from the request (no PUBLIC_BASE_URL); campaign
        parameters only for embeds (the only pages that use them), cut like `campaign.from_args`.
        Other query parameters are ignored by these pages, so `?x=1`, `?x=2`… cannot fill the cache.
        """
        path = environ.get("PATH_INFO", "")
        campaign = ""
        if path.startswith("/embed/"):
            query = parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=False)
            campaign = urlencode(sorted((k, v[:MAX_LENGTH]) for k, v in query if k in CAMPAIGN_KEYS))
        if self.public_base_url:
            return f"{path}|{campaign}"
        return "|".join((environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""), path, campaign))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        key = self.key(environ)
        page = self.cache.get(key)
        if page is not None:
            if page.etag and page.etag in environ.get("HTTP_IF_NONE_MATCH", ""):
                bodiless = ("content-length", "content-type")
                start_response(
                    "304 NOT MODIFIED", [(k, v) for k, v in page.headers if k.lower() not in bodiless]
                )
                return [b""]
            start_response("200 OK", list(page.headers))
            return [b"" if method == "HEAD" else page.body]

        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"], seen["headers"] = status, headers
            public = [(k, v) for k, v in headers if k != CACHEABLE]
            return start_response(status, public, exc_info)

        body = self.app(environ, capture)
        headers = seen.get("headers") or []
        # Never replay anything tied to one visitor's session (a cookie set or read) to everyone else.
        personal = any(
            k.lower() == "set-cookie" or (k.lower() == "vary" and "cookie" in v.lower()) for k, v in headers
        )
        marked = (CACHEABLE, "1") in headers and seen.get("status", "").startswith("200")
        if method != "GET" or not marked or personal:
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        replay = tuple((k, v) for k, v in headers if k != CACHEABLE)
        etag = next((v for k, v in replay if k.lower() == "etag"), "")
        self.cache.put(key, Page(replay, data, etag))
        return [data]


def for_app(settings: Settings) -> PageCache:
    """The app's page cache; with Redis, workers learn of take-downs through a shared counter."""
    generation = None
    if settings.redis_url:
        key = settings.redis_prefix + GENERATION_KEY

        def generation() -> int:
            return int(redis_client(settings.redis_url).get(key) or 0)

    return PageCache(ttl=settings.page_cache_seconds, generation=generation)


def taken_down(settings: Settings, cache: PageCache) -> None:
    """An episode was unpublished or deleted: forget rendered pages here and tell the other workers."""
    cache.clear()
    if settings.redis_url:
        redis_client(settings.redis_url).incr(settings.redis_prefix + GENERATION_KEY)
