"""Rendered public answers shared by every worker, and the take-down news that keeps them true.

A published episode does not change, so its share page, JSON, embed card, oEmbed answer and images are
rendered once and kept as bytes with their headers (ETag among them):

- `TextStore`: pages and JSON in Redis (small, read by every worker of every host), one key each, plus a
  set per episode naming its keys so a take-down deletes them all;
- `FileStore`: images in files under the instance folder (one folder per episode), bounded in bytes,
  the oldest evicted first;
- `News`: the take-down news. Each take-down bumps a shared generation and logs its slugs under it;
  every worker reads the generation at most twice a second and forgets what was taken down since.
  A worker that cannot read it (Redis stalled or down, the breaker open) serves no stored copy at all
  until it can: it renders from the database, which is the truth. Take-downs never fail open.

The namespace of every stored key includes a fingerprint of the code and templates (`build_id`), so a
deploy never replays what an older version rendered.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from fanapp.config import ROOT, Settings
from fanapp.upstream.shared import SERVING_TIMEOUT, Breaker, serving_redis

log = logging.getLogger(__name__)

GENERATION_KEY = "pages-generation"
GONE_KEY = "pages-gone"  # sorted set: slug -> the generation its take-down made
KEEP_NEWS = 100_000  # take-downs remembered in the log (a worker further behind forgets everything)
# A stored page expires after an hour, then is rendered again (once per slug an hour: cheap). It also
# bounds the worst case of a take-down whose worker could not reach Redis and died before its retry.
STORE_SECONDS = 3600

# The keys workers lately fetched or stored, as a stream: every worker reads what is new in it twice a
# second and fetches what it lacks in bulk (`Serving.warm`), so a link opened on one worker is in every
# worker's memory before it is opened there. One `MGET` of a hundred pages costs what one `GET` does.
# A stream, so each worker reads only the entries since its last read (an idle site costs nothing).
RECENT_KEY = "pages-recent"
RECENT_KEEP = 2000

# Store a page only if no take-down happened since its rendering began (the generation read before
# it): a page rendered from a database read just before a take-down's commit is never stored after it.
_PUT_IF_UNCHANGED = """
if (redis.call('GET', KEYS[1]) or '0') ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('SADD', KEYS[3], KEYS[2])
redis.call('EXPIRE', KEYS[3], ARGV[3])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[4], '*', 'k', KEYS[2])
return 1
"""


@dataclass(frozen=True)
class Page:
    """A response to replay: its headers (ETag among them), body, and the episode it shows."""

    headers: tuple[tuple[str, str], ...]
    body: bytes
    etag: str
    slug: str = ""
    gzipped: bool = False  # `body` is the gzip of the answer (a worker's memory keeps text that way)


@cache
def build_id() -> str:
    """A fingerprint of what renders public answers: the app's code and its templates."""
    digest = hashlib.sha256()
    for folder in (ROOT / "fanapp", ROOT / "templates"):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and path.suffix in (".py", ".html", ".json", ".txt", ".ttf", ".otf"):
                digest.update(str(path.relative_to(ROOT)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def encode(page: Page) -> bytes:
    """A page as bytes: its headers as one JSON line, then the body."""
    head = json.dumps([page.slug, page.etag, page.headers, page.gzipped], separators=(",", ":")).encode()
    return head + b"\n" + page.body


def decode(data: bytes) -> Page | None:
    """The page `encode` made, or None for anything else."""
    head, sep, body = data.partition(b"\n")
    if not sep:
        return None
    try:
        slug, etag, headers, gzipped = json.loads(head)
        return Page(tuple((str(k), str(v)) for k, v in headers), body, str(etag), str(slug), bool(gzipped))
    except (ValueError, TypeError):
        return None


class TextStore:
    """Pages and JSON in Redis, for every worker; every call through the serving breaker."""

    def __init__(self, settings: Settings, breaker: Breaker) -> None:
        """Keys under `REDIS_PREFIX`, in this build's namespace."""
        self.redis = serving_redis(settings.redis_url)
        self.breaker = breaker
        self.prefix = settings.redis_prefix
        self.namespace = f"{settings.redis_prefix}page:{build_id()}:"
        self.recent_key = settings.redis_prefix + RECENT_KEY
        self._put = self.redis.register_script(_PUT_IF_UNCHANGED)

    def _slug_set(self, slug: str) -> str:
        return f"{self.prefix}page-keys:{slug}"

    def get(self, key: str) -> Page | None:
        """The stored page, or None (missing, or Redis unavailable); the key goes to the recent list in
        the same round trip."""
        data = self.breaker.call(self._get_and_tell, self.namespace + key)
        return decode(data) if data else None

    def _get_and_tell(self, full: str) -> bytes | None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(full)
        pipe.xadd(self.recent_key, {"k": full}, maxlen=RECENT_KEEP, approximate=True)
        data: bytes | None = pipe.execute()[0]
        return data

    def recent(self, after: str) -> tuple[list[str], str]:
        """The keys (without this build's namespace) fetched or stored by any worker since the stream
        entry `after` ("0": all it keeps), each once, and the last entry read; nothing new when Redis
        is unavailable."""
        found = self.breaker.call(self.redis.xread, {self.recent_key: after}, RECENT_KEEP, default=[])
        entries = found[0][1] if found else []
        cut = len(self.namespace)
        names = (fields.get(b"k", b"").decode() for _, fields in entries)
        keys = list(dict.fromkeys(k[cut:] for k in names if k.startswith(self.namespace)))
        return keys, (entries[-1][0].decode() if entries else after)

    def many(self, keys: list[str]) -> list[Page | None] | None:
        """The stored pages under these keys, in order (None for each one missing), in one round trip;
        None when Redis is unavailable."""
        found = self.breaker.call(self.redis.mget, [self.namespace + k for k in keys])
        return None if found is None else [decode(d) if d else None for d in found]

    def put(self, key: str, page: Page, generation: int) -> None:
        """Store `page` unless a take-down happened since `generation` was read."""
        keys = [
            self.prefix + GENERATION_KEY,
            self.namespace + key,
            self._slug_set(page.slug),
            self.recent_key,
        ]
        args = [str(generation), encode(page), STORE_SECONDS, RECENT_KEEP - 1]
        self.breaker.call(self._put, keys, args)

    def forget(self, slugs: Iterable[str]) -> None:
        """Delete every stored page of these episodes (raises a Redis error: the caller retries)."""
        for slug in slugs:
            keys = self.redis.smembers(self._slug_set(slug))
            self.redis.delete(self._slug_set(slug), *keys)


class FileStore:
    """Images in files shared by the workers of one host: one folder per episode (named by a hash, so
    no slug reaches outside the directory), bounded by `max_bytes`, the oldest written evicted first."""

    def __init__(self, directory: Path, max_bytes: int) -> None:
        """Keep at most `max_bytes` under `directory` (0 keeps nothing)."""
        self.directory = directory
        self.max_bytes = max_bytes
        self.build = build_id()
        self._lock = threading.Lock()
        self._total: int | None = None  # bytes on disk, as last counted plus what this process wrote
        self._writes = 0

    def _folder(self, slug: str, build: str | None = None) -> Path:
        name = hashlib.sha256(slug.encode()).hexdigest()
        return self.directory / (build or self.build) / name[:2] / name

    def _file(self, key: str, slug: str) -> Path:
        return self._folder(slug) / (hashlib.sha256(key.encode()).hexdigest()[:32] + ".page")

    def files_of(self, slug: str) -> list[Path]:
        """The files stored for one episode (by this build)."""
        folder = self._folder(slug)
        return sorted(folder.glob("*.page")) if folder.is_dir() else []

    def get(self, key: str, slug: str) -> Page | None:
        """The stored image answer, or None."""
        try:
            data = self._file(key, slug).read_bytes()
        except OSError:
            return None
        return decode(data)

    def put(self, key: str, page: Page) -> None:
        """Write the answer atomically (a reader never sees half a file), then keep within the bound."""
        if self.max_bytes <= 0:
            return
        data = encode(page)
        path = self._file(key, page.slug)
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, path)
            tmp = None
        except OSError as exc:  # a full or read-only disk: served, not kept
            log.warning("could not store a rendered image (%s); it will be rendered again", exc)
            return
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
        self._grew(len(data))

    def forget(self, slugs: Iterable[str]) -> None:
        """Delete every stored answer of these episodes, whichever build stored them."""
        builds = [p.name for p in self.directory.iterdir()] if self.directory.is_dir() else []
        for slug in slugs:
            for build in builds:
                shutil.rmtree(self._folder(slug, build), ignore_errors=True)

    def clear(self) -> None:
        """Delete every stored answer."""
        shutil.rmtree(self.directory, ignore_errors=True)
        with self._lock:
            self._total = 0

    def _grew(self, size: int) -> None:
        with self._lock:
            self._writes += 1
            # Other workers write too: count the disk again now and then rather than trust our sum.
            if self._total is None or self._writes % 200 == 0:
                self._total = self._count()
            else:
                self._total += size
            if self._total <= self.max_bytes:
                return
            self._total = self._evict(int(self.max_bytes * 0.9))

    def _files(self) -> list[tuple[float, int, Path]]:
        found = []
        for path in self.directory.rglob("*.page"):
            try:
                st = path.stat()
            except OSError:
                continue
            found.append((st.st_mtime, st.st_size, path))
        return found

    def _count(self) -> int:
        return sum(size for _, size, _ in self._files())

    def _evict(self, target: int) -> int:
        files = sorted(self._files())
        total = sum(size for _, size, _ in files)
        for _, size, path in files:
            if total <= target:
                break
            path.unlink(missing_ok=True)
            total -= size
        return total


class News:
    """What this worker knows of take-downs, and whether it may trust its stored copies right now.

    Without Redis there is one process to tell, and the take-down tells it directly: stored copies are
    always trusted. With Redis, `fresh()` is True only while the shared generation was read within the
    last `INTERVAL` seconds; each new generation makes `forget` drop the slugs taken down since (all of
    this worker's memory while the news cannot be read).
    """

    INTERVAL = 0.5

    def __init__(
        self,
        settings: Settings | None,
        breaker: Breaker,
        forget: Callable[[list[str] | None, bool], None],
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        """`forget(slugs, disk)` drops those slugs (everything for None) from this worker's memory, and
        from this host's files when `disk`."""
        self.enabled = settings is not None and bool(settings.redis_url)
        self.breaker = breaker
        self.forget = forget
        self.timer = timer
        prefix = settings.redis_prefix if settings is not None else ""
        self.generation_key = prefix + GENERATION_KEY
        self.gone_key = prefix + GONE_KEY
        self.redis = serving_redis(settings.redis_url) if settings is not None and self.enabled else None
        self.seen: int | None = None
        self._checked_at = float("-inf")
        self._trusted = False
        self._lock = threading.Lock()

    def current(self) -> int | None:
        """The shared generation now (one Redis call), or None when it cannot be read."""
        if self.redis is None:
            return 0
        value = self.breaker.call(self.redis.get, self.generation_key)
        if value is None and self.breaker.open:
            return None
        return int(value or 0)

    def fresh(self) -> bool:
        """Whether stored copies may be served now (reading the news when it is due)."""
        if not self.enabled:
            return True
        now = self.timer()
        if self._trusted and now - self._checked_at < self.INTERVAL:
            return True
        # Another request may be reading the news: while trusted, go on without waiting for it; else
        # wait for its answer, which a Redis call's timeout bounds.
        if self._trusted:
            acquired = self._lock.acquire(blocking=False)
        else:
            acquired = self._lock.acquire(timeout=2 * SERVING_TIMEOUT)
        if not acquired:
            return self._trusted
        try:
            if self._trusted and self.timer() - self._checked_at < self.INTERVAL:
                return True  # read by the request we waited for
            self._checked_at = now
            self._trusted = self._read_news()
            return self._trusted
        finally:
            self._lock.release()

    def _read_news(self) -> bool:
        current = self.current()
        if current is None:
            # Whatever is taken down meanwhile, this memory cannot vouch for it; the log will say later
            # what to drop from disk (the last generation seen is kept for that).
            self.forget(None, False)
            return False
        if self.seen is not None and current < self.seen:
            # Redis lost its data, and the log with it: nothing stored here can be vouched for.
            self.forget(None, True)
        elif self.seen is not None and current > self.seen:
            assert self.redis is not None
            gone = self.breaker.call(
                self.redis.zrangebyscore, self.gone_key, f"({self.seen}", current, default=None
            )
            if gone is None:
                self.forget(None, False)
                return False  # the log could not be read: serve nothing stored, try again shortly
            if current - self.seen > KEEP_NEWS:  # further behind than the log remembers
                self.forget(None, True)
            else:
                self.forget([g.decode() for g in gone], True)
        self.seen = current
        return True

    def announce(self, slugs: list[str]) -> None:
        """Tell every worker these slugs are gone (raises a Redis error: the caller retries)."""
        if self.redis is None:
            return
        generation = self.redis.incr(self.generation_key)
        pipe = self.redis.pipeline()
        pipe.zadd(self.gone_key, dict.fromkeys(slugs, generation))
        pipe.zremrangebyrank(self.gone_key, 0, -KEEP_NEWS - 1)
        pipe.execute()


class Retrier:
    """Take-downs whose news or purge could not be delivered, retried in the background until they are."""

    def __init__(self, deliver: Callable[[list[str]], None], interval: float = 0.5) -> None:
        """`deliver(slugs)` raises while it cannot deliver."""
        self.deliver = deliver
        self.interval = interval
        self.pending: set[str] = set()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def add(self, slugs: Iterable[str]) -> None:
        """Deliver these later, and keep trying."""
        with self._lock:
            self.pending.update(slugs)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="takedown-retry", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        failures = 0
        while True:
            time.sleep(self.interval)
            with self._lock:
                slugs = sorted(self.pending)
            if not slugs:
                return
            try:
                self.deliver(slugs)
            except Exception as exc:  # whatever failed, keep trying; say so now and then
                failures += 1
                if failures % 20 == 1:
                    log.warning(
                        "take-down of %d episode(s) not delivered yet (%s): check REDIS_URL and "
                        "CDN_PURGE_URL; retrying every %.1f s",
                        len(slugs),
                        exc,
                        self.interval,
                    )
                continue
            with self._lock:
                self.pending.difference_update(slugs)
