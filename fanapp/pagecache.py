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


@dataclass(frozen=True)
class Page:
    """A rendered body and its strong ETag."""

    body: bytes
    etag: str
    mimetype: str


class PageCache:
    """Bounded LRU with a time-to-live; `ttl <= 0` turns it off."""

    def __init__(self, ttl: float = 60.0, max_items: int = 2048) -> None:
        self.ttl = ttl
        self.max_items = max_items
        self._items: OrderedDict[str, tuple[float, Page]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_make(self, key: str, make: Callable[[], Page | None]) -> Page | None:
        """The cached page for `key`, or `make()`'s (not cached when it returns None, e.g. not found)."""
        now = time.monotonic()
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

    def forget(self, slug: str) -> None:
        """Drop this worker's pages of one episode (after an unpublish served by this worker)."""
        with self._lock:
            for key in [k for k in self._items if f"/{slug}" in k]:
                del self._items[key]
