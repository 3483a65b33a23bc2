"""Public answers of published episodes (share page, JSON, embed card, oEmbed, both images) served
before Flask, for any slug, with one key lookup.

A published episode does not change in place, so its rendered response can be replayed byte for byte
(headers included) without a request context, a session or a database query: this is what keeps a
share page close to a bare "hello world" on release day. A view opts in by marking its 200 response
with `CACHEABLE` (its value: the episode's slug); everything else passes straight through.

Lookups go to this worker's memory (`PageCache`: cachetools' `TTLCache`, bounded by bytes and count,
entries expire after `PAGE_CACHE_SECONDS`), then to the store every worker shares (`store.TextStore` in
Redis for pages and JSON, `store.FileStore` on disk for images), then to Flask, which renders once under
a lock and stores the bytes. A take-down deletes the stored copies and tells every worker
(`store.News`); a worker that cannot hear the news serves nothing stored until it can.
Marked answers also carry the cache tier's headers (`Surrogate-Control`, `Surrogate-Key`, `Cache-Tag`),
so a CDN or Varnish in front keeps them until a take-down purges them by key.
"""

from __future__ import annotations

import dataclasses
import gzip
import logging
import os
import re
import threading
import time
import weakref
import zlib
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from cachetools import TTLCache
from redis.exceptions import RedisError
from werkzeug.datastructures import MultiDict

from fanapp.config import Settings
from fanapp.sharing import store
from fanapp.sharing.store import Page
from fanapp.site.campaign import from_query
from fanapp.upstream.purge import Purger
from fanapp.upstream.shared import Breaker, process_lock, serving_redis

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

GENERATION_KEY = store.GENERATION_KEY
CACHEABLE = "X-Fanapp-Cacheable"  # set by a view (value: the slug) on a response to keep; never sent
SITE_KEY = "fanapp-public"  # the cache tier's key for every public answer of the site
# The CDN keeps public answers a day (a take-down purges them at once); browsers and caches we cannot
# purge keep them as long as the view's own Cache-Control says.
SURROGATE_SECONDS = 86400
_GZIP_WBITS = 16 + zlib.MAX_WBITS  # zlib's window bits for data in a gzip wrapper
# The public answers, and only those, are looked up before Flask (slugs: 22 URL-safe characters).
PUBLIC_PATH = re.compile(
    r"^/(?:s/(?P<s>[A-Za-z0-9_-]{1,32})(?:\.json|\.png|/story\.png)?|embed/s/(?P<e>[A-Za-z0-9_-]{1,32})|oembed)$"
)


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

    def __contains__(self, key: object) -> bool:
        """Whether a page is held (and not expired) under `key`, without touching its recency."""
        with self._lock:
            return key in self._items

    def clear(self) -> None:
        """Drop every page this worker holds."""
        with self._lock:
            self._items.clear()

    def forget(self, slugs: Iterable[str]) -> None:
        """Drop every page of these episodes."""
        gone = set(slugs)
        with self._lock:
            for key in [k for k, page in self._items.items() if page.slug in gone]:
                self._items.pop(key, None)


def page_size(page: Page) -> int:
    """What a page costs the cache: its body and headers in bytes (keys are short: a path, 4 parameters)."""
    return len(page.body) + sum(len(k) + len(v) for k, v in page.headers)


def squeeze(page: Page) -> Page:
    """A text answer as a worker's memory keeps it: gzip-compressed (a share page shrinks about five
    times, so memory holds five times as many slugs), served as is to clients that accept gzip."""
    if page.gzipped or len(page.body) < 1024:
        return page
    kind = next((v for k, v in page.headers if k.lower() == "content-type"), "")
    if not kind.startswith(("text/", "application/json")):
        return page
    return dataclasses.replace(page, body=gzip.compress(page.body, 6, mtime=0), gzipped=True)


def _accepts_gzip(environ: WSGIEnvironment) -> bool:
    accepted = environ.get("HTTP_ACCEPT_ENCODING", "").replace(" ", "").lower()
    return "gzip" in accepted and "gzip;q=0," not in accepted + "," and "gzip;q=0.0" not in accepted


def _with_vary(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """`Vary: Accept-Encoding` added to a text answer's headers (merged into a Vary it has)."""
    kind = next((v for k, v in headers if k.lower() == "content-type"), "")
    if not kind.startswith(("text/", "application/json")):
        return headers
    for i, (k, v) in enumerate(headers):
        if k.lower() == "vary":
            if "accept-encoding" not in v.lower():
                headers[i] = (k, f"{v}, Accept-Encoding")
            return headers
    return [*headers, ("Vary", "Accept-Encoding")]


def tier_headers(slug: str) -> list[tuple[str, str]]:
    """The cache tier's headers for a public answer of one episode (Fastly and Varnish read
    `Surrogate-*`, Cloudflare `CDN-Cache-Control` and `Cache-Tag`); the tier strips them."""
    keys = [f"episode-{slug}", SITE_KEY]
    return [
        ("Surrogate-Control", f"max-age={SURROGATE_SECONDS}"),
        ("CDN-Cache-Control", f"max-age={SURROGATE_SECONDS}"),
        ("Surrogate-Key", " ".join(keys)),
        ("Cache-Tag", ",".join(keys)),
    ]


def surrogate_keys(slugs: Iterable[str]) -> list[str]:
    """The keys that purge these episodes from the cache tier."""
    return [f"episode-{slug}" for slug in slugs]


class Serving:
    """Everything that answers public pages before Flask, and forgets them on a take-down."""

    def __init__(self, settings: Settings, *, image_dir: Path | None = None) -> None:
        """Memory per worker, the shared stores, the news of take-downs, the purger."""
        self.settings = settings
        self.breaker = Breaker()
        self.pages = for_app(settings)
        self.images = PageCache(ttl=settings.page_cache_seconds, max_bytes=32 * 1024 * 1024)
        self.text = store.TextStore(settings, self.breaker) if settings.redis_url else None
        max_bytes = settings.image_store_mb * 1024 * 1024
        self.files = store.FileStore(image_dir, max_bytes) if image_dir is not None and max_bytes else None
        self.news = store.News(settings, self.breaker, self._forget_here)
        self.purger = Purger(settings)
        self.retrier = store.Retrier(self._deliver)
        self._warming_in: int | None = None  # the process whose warming loop runs
        self._recent_from = "0"  # the last entry of the store's recent stream this worker read

    @classmethod
    def in_memory(cls, cache: PageCache) -> Serving:
        """Serving from one memory cache only (one process, no Redis, no disk, no cache tier)."""
        serving = cls.__new__(cls)
        serving.pages = serving.images = cache
        serving.text = serving.files = None
        serving.news = store.News(None, Breaker(), serving._forget_here)
        serving._warming_in = None
        serving._recent_from = "0"
        return serving

    def _forget_here(self, slugs: list[str] | None, disk: bool) -> None:
        if slugs is None:
            self.pages.clear()
            self.images.clear()
            if disk and self.files is not None:
                self.files.clear()
            return
        self.pages.forget(slugs)
        self.images.forget(slugs)
        if disk and self.files is not None:
            self.files.forget(slugs)

    def get(self, key: str, slug: str, image: bool) -> Page | None:
        """The stored answer under `key`: this worker's memory, then the shared store."""
        memory = self.images if image else self.pages
        page = memory.get(key)
        if page is not None:
            return page
        if image:
            page = self.files.get(key, slug) if self.files is not None and slug else None
        elif self.text is not None:
            self._keep_warm()
            seen = self.news.seen
            page = self.text.get(key)
            if page is not None and self.news.seen != seen:
                # Take-downs were heard while Redis answered: this copy may be one of them; it was
                # true when read, so it is served once, but not kept.
                return squeeze(page)
        else:
            page = None
        if page is not None:
            page = squeeze(page)
            memory.put(key, page)
        return page

    WARM_SECONDS = 0.5  # how often a worker fetches what the others lately fetched
    WARM_BATCH = 100  # pages per MGET

    def warm(self) -> int:
        """Fetch in bulk the pages other workers fetched or stored since the last call and this one
        lacks (the store's recent stream); returns how many it kept. Only while the take-down news is
        fresh, and nothing from a batch during which take-downs were heard."""
        if self.text is None or self.pages.ttl <= 0 or not self.news.fresh():
            return 0
        keys, self._recent_from = self.text.recent(self._recent_from)
        wanted = [key for key in keys if key not in self.pages]
        kept = 0
        for start in range(0, len(wanted), self.WARM_BATCH):
            keys = wanted[start : start + self.WARM_BATCH]
            seen = self.news.seen
            pages = self.text.many(keys)
            if pages is None or self.news.seen != seen:
                break
            for key, page in zip(keys, pages, strict=True):
                if page is not None:
                    self.pages.put(key, squeeze(page))
                    kept += 1
        return kept

    def _keep_warm(self) -> None:
        """Start this process's warming loop, once (a forked worker starts its own)."""
        if self._warming_in == os.getpid():
            return
        self._warming_in = os.getpid()
        loop = threading.Thread(target=_warm_loop, args=(weakref.ref(self),), name="page-warmer", daemon=True)
        loop.start()

    def put(self, key: str, page: Page, image: bool, generation: int) -> None:
        """Keep a freshly rendered answer here and in the shared store (text compressed once, here:
        every worker then reads 4 KB instead of 18 KB and keeps it as it comes)."""
        page = squeeze(page)
        (self.images if image else self.pages).put(key, page)
        if image:
            if self.files is not None:
                self.files.put(key, page)
                if self.news.current() != generation:  # taken down while it was rendering
                    self.files.forget([page.slug])
        elif self.text is not None:
            self.text.put(key, page, generation)

    @contextmanager
    def rendering(self, key: str) -> Iterator[None]:
        """Render each answer once: one lock per key across workers (Redis), or this process's."""
        lock: Any = None
        if self.text is not None and self.breaker.allow():
            lock = serving_redis(self.settings.redis_url).lock(
                f"{self.settings.redis_prefix}lock:render:{key}", timeout=30, blocking_timeout=5
            )
            try:
                if not lock.acquire():
                    lock = None  # waited long enough: render anyway
            except RedisError:
                self.breaker.failed()
                lock = None
            try:
                yield
            finally:
                if lock is not None:
                    with suppress(RedisError):
                        lock.release()
            return
        with process_lock(f"render:{key}"):
            yield

    def taken_down(self, slugs: list[str]) -> None:
        """Episodes were unpublished or deleted: forget them here at once, then tell every other worker
        and the cache tier; what cannot be delivered now is retried until it is."""
        self._forget_here(slugs, True)
        try:
            self._deliver(slugs)
        except Exception as exc:  # Redis or the purge failed: retried in the background
            log.warning("take-down of %s not delivered yet (%s); retrying in the background", slugs, exc)
            self.retrier.add(slugs)

    def _deliver(self, slugs: list[str]) -> None:
        if self.text is not None:
            self.news.announce(slugs)  # first: a render that began before it is not stored after it
            self.text.forget(slugs)
        if not self.purger.enabled:
            return
        self.purger.purge(surrogate_keys(slugs))
        if self.text is not None:
            # Another worker may replay its memory for up to `News.INTERVAL` before it hears the news,
            # and the tier may fetch it from there meanwhile: purge once more when every worker knows.
            again = threading.Timer(2 * store.News.INTERVAL + 0.1, self._purge_again, args=(slugs,))
            again.daemon = True
            again.start()

    def _purge_again(self, slugs: list[str]) -> None:
        try:
            self.purger.purge(surrogate_keys(slugs))
        except Exception as exc:  # the tier did not confirm: retried with the rest of the delivery
            log.warning("second purge of %s not confirmed (%s); retrying in the background", slugs, exc)
            self.retrier.add(slugs)


class PublicPages:
    """WSGI middleware: answer GET/HEAD for stored public answers, else call the app and keep what it
    marked as cacheable."""

    def __init__(
        self, app: WSGIApplication, serving: Serving | PageCache, *, public_base_url: str = ""
    ) -> None:
        self.app = app
        if isinstance(serving, PageCache):  # a bare memory cache: no shared store, one process
            serving = Serving.in_memory(serving)
        self.serving = serving
        self.cache = serving.pages
        self.public_base_url = public_base_url

    def key(self, environ: WSGIEnvironment) -> str:
        """Everything a stored public answer depends on, and nothing else a visitor could vary at will.

        The scheme and host only when links are built from the request (no PUBLIC_BASE_URL); campaign
        parameters only for embeds (the only pages that use them), read exactly as the page reads them
        (`campaign.from_query`: the first of each); oEmbed's own parameters for oEmbed. Other query
        parameters are ignored by these pages, so `?x=1`, `?x=2`… cannot fill the cache.
        """
        path = environ.get("PATH_INFO", "")
        variant = ""
        if path.startswith("/embed/") or path == "/oembed":
            args = MultiDict(parse_qsl(environ.get("QUERY_STRING", ""), keep_blank_values=True))
            if path == "/oembed":
                picked = {k: args.get(k, "")[:2048] for k in ("url", "format", "maxwidth", "maxheight")}
            else:
                picked = from_query(args)
            variant = urlencode(sorted(picked.items()))
        if self.public_base_url:
            return f"{path}|{variant}"
        return "|".join((environ.get("wsgi.url_scheme", ""), environ.get("HTTP_HOST", ""), path, variant))

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        # fanapp is always served at the root: a SCRIPT_NAME sent by a client (or passed on by a proxy
        # that trusts one) would make every link of a stored page point elsewhere.
        environ["SCRIPT_NAME"] = ""
        method = environ.get("REQUEST_METHOD")
        path = environ.get("PATH_INFO", "")
        match = PUBLIC_PATH.match(path) if method in ("GET", "HEAD") else None
        if match is None:
            return self.app(environ, start_response)
        key = self.key(environ)
        slug = match.group("s") or match.group("e") or ""
        image = path.endswith(".png")
        serving = self.serving
        fresh = serving.news.fresh()
        if fresh:
            page = serving.get(key, slug, image)
            if page is not None:
                return self._replay(page, environ, start_response)
            generation = serving.news.current()  # read before rendering: see `TextStore.put`
            if generation is not None:
                with serving.rendering(key):
                    page = serving.get(key, slug, image)  # rendered meanwhile by someone else
                    if page is not None:
                        return self._replay(page, environ, start_response)
                    return self._render(environ, start_response, key, image, generation)
        return self._render(environ, start_response, key, image, None)

    def _replay(self, page: Page, environ: WSGIEnvironment, start_response: StartResponse) -> list[bytes]:
        headers, body, etag = list(page.headers), page.body, page.etag
        plain = page.gzipped and not _accepts_gzip(environ)
        if page.gzipped and not plain:
            # Another representation, so another strong ETag.
            etag = etag[:-1] + '-gzip"' if etag.endswith('"') else etag
            headers = [(k, v) for k, v in headers if k.lower() not in ("content-length", "etag")]
            headers += [("Content-Encoding", "gzip"), ("Content-Length", str(len(body))), ("ETag", etag)]
        if etag and etag in environ.get("HTTP_IF_NONE_MATCH", ""):
            bodiless = ("content-length", "content-type", "content-encoding")
            start_response("304 NOT MODIFIED", [(k, v) for k, v in headers if k.lower() not in bodiless])
            return [b""]
        start_response("200 OK", headers)
        if environ.get("REQUEST_METHOD") == "HEAD":
            return [b""]
        # zlib reads the one gzip member `squeeze` wrote a third faster than `gzip.decompress`, which
        # parses the header in Python and looks for further members.
        return [zlib.decompress(body, _GZIP_WBITS) if plain else body]

    def _render(
        self,
        environ: WSGIEnvironment,
        start_response: StartResponse,
        key: str,
        image: bool,
        generation: int | None,
    ) -> Iterable[bytes]:
        seen: dict[str, Any] = {}

        def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            slug = next((v for k, v in headers if k == CACHEABLE), None)
            public = [(k, v) for k, v in headers if k != CACHEABLE]
            if slug is not None and status.startswith(("200", "304")):
                public = _with_vary(public) + tier_headers(slug)
            seen["status"], seen["headers"], seen["slug"], seen["exc_info"] = status, public, slug, exc_info
            if exc_info is not None or slug is None or not status.startswith("200"):
                seen["started"] = True
                return start_response(status, public, exc_info)
            # A marked answer starts only once it is stored, then goes out exactly as a replay would
            # (so the same request gets the same representation, and ETag, from every worker).
            return _no_write

        body = self.app(environ, capture)
        headers = seen.get("headers") or []
        # Never replay anything tied to one visitor's session (a cookie set or read) to everyone else.
        personal = any(
            k.lower() == "set-cookie" or (k.lower() == "vary" and "cookie" in v.lower()) for k, v in headers
        )
        marked = not seen.get("started") and seen.get("slug") is not None
        if seen.get("started"):
            return body
        if environ.get("REQUEST_METHOD") != "GET" or not marked or personal:
            start_response(seen["status"], headers, seen.get("exc_info"))
            return body
        try:
            data = b"".join(body)
        finally:
            close = getattr(body, "close", None)
            if close is not None:
                close()
        replay = tuple(headers)
        etag = next((v for k, v in replay if k.lower() == "etag"), "")
        page = Page(replay, data, etag, seen["slug"])
        if generation is not None:
            self.serving.put(key, page, image, generation)
        return self._replay(page if image else squeeze(page), environ, start_response)


def _warm_loop(ref: weakref.ref[Serving]) -> None:
    """`Serving.warm` every `WARM_SECONDS` while that serving layer lives (a greenlet under gevent)."""
    # Waits on an event never set rather than `time.sleep`: the same pause, and nothing that patches or
    # counts the process's sleeps (a test's, a profiler's) sees this loop's.
    pause = threading.Event()
    while (serving := ref()) is not None:
        seconds = serving.WARM_SECONDS
        try:
            serving.warm()
        except Exception as exc:  # whatever went wrong, pages are still fetched one by one
            log.warning("could not warm this worker's pages (%s); trying again shortly", exc)
        del serving
        pause.wait(seconds)


def _no_write(_data: bytes) -> None:
    raise RuntimeError("public answers are returned, never written")


def for_app(settings: Settings) -> PageCache:
    """This worker's memory of rendered pages (the news of take-downs is `store.News`): 64 MB of
    gzip-compressed text, about 15,000 share pages (4 KB each compressed, 18 KB as sent)."""
    return PageCache(ttl=settings.page_cache_seconds, max_items=65536, max_bytes=64 * 1024 * 1024)


def taken_down(settings: Settings, cache: PageCache) -> None:
    """Forget every page this worker holds (kept for callers without a `Serving`)."""
    cache.clear()
