"""Rendered share images, kept per (slug, episode version, size): rendered once, then served from here.

The web route does: ``cache.get(...)`` or render and ``cache.put(...)``, then answers with the entry's
``etag`` (strong, from the bytes) and ``Cache-Control: public, max-age=31536000, immutable`` — safe because a
new episode version (or a new :data:`DESIGN_VERSION`) is a new key, hence a new URL/ETag.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from cachetools import LRUCache

CACHE_CONTROL = "public, max-age=31536000, immutable"
DESIGN_VERSION = 1  # bump when the design changes: every cached image is then rendered anew


def etag_for(png: bytes) -> str:
    """A strong ETag (quoted, no ``W/``) from the image bytes: sha256, 128 bits of it in hex."""
    return '"' + hashlib.sha256(png).hexdigest()[:32] + '"'


@dataclass(frozen=True)
class CachedImage:
    """One rendered image and its ETag."""

    png: bytes
    etag: str


class ImageCache:
    """An in-process LRU (cachetools) bounded in bytes, before an optional directory shared by workers."""

    def __init__(self, directory: Path | None = None, max_bytes: int = 64 * 1024 * 1024) -> None:
        """Keep up to ``max_bytes`` of PNG in memory; with ``directory``, also on disk (created on demand)."""
        self.directory = directory
        self.max_bytes = max_bytes
        # cachetools caches are not thread-safe: every use of `_memory` holds `_lock`.
        self._memory: LRUCache[tuple[str, int, str], CachedImage] = LRUCache(
            maxsize=max_bytes, getsizeof=_png_size
        )
        self._lock = threading.Lock()
        self._key_locks: dict[tuple[str, int, str], threading.Lock] = {}

    def _folder(self, slug: str) -> Path | None:
        # One folder per episode, so a take-down removes all of its images at once; named by a hash, so
        # no slug can reach outside the directory.
        if self.directory is None:
            return None
        name = hashlib.sha256(slug.encode()).hexdigest()
        return self.directory / name[:2] / name

    def _file(self, key: tuple[str, int, str]) -> Path | None:
        slug, version, size = key
        folder = self._folder(slug)
        return None if folder is None else folder / f"{DESIGN_VERSION}-{version}-{size}.png"

    def forget(self, slug: str) -> None:
        """Drop every image of an episode, from memory and disk (it was unpublished or deleted)."""
        with self._lock:
            for key in [k for k in self._memory if k[0] == slug]:
                del self._memory[key]
        folder = self._folder(slug)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def get(self, slug: str, version: int, size: str) -> CachedImage | None:
        """The cached image, from memory or disk, or None."""
        key = (slug, int(version), size)
        with self._lock:
            hit = self._memory.get(key)  # a hit becomes the most recently used
        if hit is not None:
            return hit
        path = self._file(key)
        if path is None:
            return None
        try:
            png = path.read_bytes()
        except OSError:
            return None
        return self._remember(key, CachedImage(png, etag_for(png)))

    def put(self, slug: str, version: int, size: str, png: bytes) -> CachedImage:
        """Store a rendered image (memory, and disk when configured); returns it with its ETag."""
        key = (slug, int(version), size)
        entry = self._remember(key, CachedImage(png, etag_for(png)))
        path = self._file(key)
        if path is not None:
            tmp: str | None = None
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
                with os.fdopen(fd, "wb") as fh:
                    fh.write(png)
                os.replace(tmp, path)
                tmp = None
            except OSError:
                pass  # memory still has it; the disk is an optimisation
            finally:
                if tmp is not None:
                    Path(tmp).unlink(missing_ok=True)
        return entry

    def get_or_render(self, slug: str, version: int, size: str, render: Callable[[], bytes]) -> CachedImage:
        """The cached image, or ``render()`` stored; concurrent requests for one key render it once."""
        hit = self.get(slug, version, size)
        if hit is not None:
            return hit
        key = (slug, int(version), size)
        with self._lock:
            lock = self._key_locks.setdefault(key, threading.Lock())
        with lock:
            hit = self.get(slug, version, size)
            if hit is None:
                hit = self.put(slug, version, size, render())
        with self._lock:
            self._key_locks.pop(key, None)
        return hit

    def _remember(self, key: tuple[str, int, str], entry: CachedImage) -> CachedImage:
        with self._lock:
            self._memory.pop(key, None)
            if len(entry.png) <= self.max_bytes:  # a bigger one is served, never kept in memory
                self._memory[key] = entry  # the least recently used go first past `max_bytes`
        return entry


def _png_size(entry: CachedImage) -> int:
    return len(entry.png)
