"""A small in-process cache for public pages of published episodes (share page, JSON, embed).

A published episode does not change in place, so its rendered bytes can be reused; the only change
is an unpublish, which every worker sees within `ttl` seconds (the CDN keeps pages for longer anyway).
Hand-written rather than a library: it is a bounded dict with an expiry, and must stay this cheap.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from fanapp.config import Settings
from fanapp.upstream import redis_client

GENERATION_KEY = "pages-generation"


@dataclass(frozen=True)
class Page:
    """A rendered body and its strong ETag."""

    body: bytes
    etag: str
    mimetype: str


class PageCache:
    """Bounded LRU with a time-to-live; `ttl <= 0` turns it off.

    `generation` (optional) reads a counter shared by all workers that goes up whenever an episode is
    taken down anywhere; it is read at most once a second, and a change empties this worker's cache,
    so an unpublish shows everywhere within about a second at almost no cost per request.
    """

    def __init__(
        self, ttl: float = 60.0, max_items: int = 2048, generation: Callable[[], int] | None = None
    ) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self.generation = generation
        self._seen_generation: int | None = None
        self._checked_at = 0.0
        self._items: OrderedDict[str, tuple[float, Page]] = OrderedDict()
        self._lock = threading.Lock()

    def _check_generation(self, now: float) -> None:
        if self.generation is None or now - self._checked_at < 1.0:
            return
        self._checked_at = now
        try:
            current = self.generation()
        except Exception:  # a shared-store hiccup: keep serving; the TTL still bounds staleness
            return
        if current != self._seen_generation:
            with self._lock:
                self._items.clear()
            self._seen_generation = current

    def get_or_make(self, key: str, make: Callable[[], Page | None]) -> Page | None:
        """The cached page for `key`, or `make()`'s (not cached when it returns None, e.g. not found)."""
        now = time.monotonic()
        self._check_generation(now)
        if self.ttl > 0:
            with self._lock:
                hit = self._items.get(key)
                if hit is not None and hit[0] > now:
                    self._items.move_to_end(key)
                    return hit[1]
        page = make()
        if page is not None and self.ttl > 0:
            with self._lock:
                self._items[key] = (now + self.ttl, page)
                self._items.move_to_end(key)
                while len(self._items) > self.max_items:
                    self._items.popitem(last=False)
        return page

    def clear(self) -> None:
        """Drop every page this worker holds (after an unpublish or a deletion it served)."""
        with self._lock:
            self._items.clear()


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
