"""Cover art for the share images: fetched only from allowlisted image hosts, capped, checked, cached.

A cover that cannot be had (wrong host, timeout, too big, not an image, anything) is ``None``, and the
renderer draws its designed placeholder instead: an image never fails because of a cover.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import tempfile
import threading
import time
from contextlib import suppress
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
from cachetools import LRUCache, TTLCache
from PIL import Image, ImageFile, ImageOps, JpegImagePlugin, PngImagePlugin, WebPImagePlugin

from fanapp.upstream.pauses import MemoryPauses
from fanapp.upstream.session import BodyTooLarge, GuardedSession, UpstreamPaused

SPOTIFY_IMAGE_HOSTS: tuple[str, ...] = (
    "i.scdn.co",
    "mosaic.scdn.co",
    "image-cdn-ak.spotifycdn.com",
    "image-cdn-fa.spotifycdn.com",
)
MAX_PIXELS = 4096 * 4096  # checked from the file header, before Pillow decodes anything
# Pillow's own header parsers, by format. Calling them directly (not `Image.open`) skips only the
# decompression-bomb check that `Image.open` makes, so a bomb's claimed size can be read and refused
# here, below a limit of our own, instead of surfacing as Pillow's warning or error.
_HEADER_READERS: dict[str, type[ImageFile.ImageFile]] = {
    "JPEG": JpegImagePlugin.JpegImageFile,
    "PNG": PngImagePlugin.PngImageFile,
    "WEBP": WebPImagePlugin.WebPImageFile,
}
FORMATS = tuple(_HEADER_READERS)
THUMB = 320  # the largest side kept: the story draws covers at up to ~250 px
_LOOPBACK_NAMES = ("localhost",)


class CoverSource(Protocol):
    """Where the renderer gets cover art: an image, or None for the placeholder. Must never raise."""

    def get(self, url: str) -> Image.Image | None:
        """The cover at ``url`` (RGB or RGBA, at most THUMB pixels a side), or None."""
        ...


class NoCovers:
    """No cover art at all: every cover is the placeholder (the benchmark, previews without network)."""

    def get(self, url: str) -> Image.Image | None:
        """Always None."""
        return None


def _open_lazily(data: bytes) -> ImageFile.ImageFile | None:
    """The file opened by the Pillow reader of its format: header parsed, no pixel decoded yet."""
    for reader in _HEADER_READERS.values():
        with suppress(Exception):  # not this format, or a header Pillow cannot read
            return reader(io.BytesIO(data))
    return None


def image_size(data: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) of a JPEG, PNG or WebP file, read from its header, else None.

    Nothing is decoded, so this is safe on a decompression bomb (it reports the size it claims).
    """
    im = _open_lazily(data)
    if im is None:
        return None
    with im:
        width, height = im.size
        return str(im.format), width, height


def decode(data: bytes, thumb: int = THUMB) -> Image.Image | None:
    """A JPEG, PNG or WebP file as an RGB(A) image at most ``thumb`` pixels a side, else None.

    The size the header claims is checked before a single pixel is decoded (`load`), so a
    decompression bomb costs a header parse.
    """
    im = _open_lazily(data)
    if im is None:
        return None
    try:
        with im:
            w, h = im.size
            if not (0 < w <= 16384 and 0 < h <= 16384) or w * h > MAX_PIXELS:
                return None
            im.draft("RGB", (thumb, thumb))  # JPEG: decode at a reduced scale, much faster
            upright = ImageOps.exif_transpose(im)
            has_alpha = upright.mode in ("RGBA", "LA", "PA") or (
                upright.mode == "P" and "transparency" in upright.info
            )
            out = upright.convert("RGBA" if has_alpha else "RGB")
            out.thumbnail((thumb, thumb), Image.Resampling.LANCZOS)
            out.load()
            return out
    except Exception:  # any decoder failure means "no cover"
        return None


class HttpCovers:
    """Cover art over HTTPS from allowlisted hosts, with a timeout, a size cap, and two caches.

    ``allowed_hosts`` entries are host names (``i.scdn.co``) or ``host:port``. Only ``https`` URLs on the
    default port are fetched, unless the entry names a port. ``allow_loopback`` additionally allows
    ``http``/``https`` on 127.0.0.1, ::1 and localhost (any port): the Spotify test double serves its covers
    there. Redirects are not followed (they could leave the allowlist). Fetches go through a guarded session
    (``fanapp.upstream``): ``timeout`` is the deadline of the whole fetch, body included, so a host that
    drips its answer is abandoned at that deadline too. Decoded thumbnails are kept in a small in-process
    LRU and, with ``cache_dir``, on disk as PNG named by sha256(url); failures are remembered for
    ``failure_ttl`` seconds so a broken CDN does not slow every render.
    """

    def __init__(
        self,
        allowed_hosts: tuple[str, ...] = SPOTIFY_IMAGE_HOSTS,
        timeout: float = 3.0,
        max_bytes: int = 2_000_000,
        cache_dir: Path | None = None,
        *,
        allow_loopback: bool = False,
        memory_items: int = 128,
        failure_ttl: float = 300.0,
        session: GuardedSession | None = None,
    ) -> None:
        """Configure; nothing is fetched until :meth:`get`.

        ``session``: the guarded session to fetch through (default: one of its own, whose pause flag
        after a 429 from the image host is this process's).
        """
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_dir = cache_dir
        self.allow_loopback = allow_loopback
        self.memory_items = memory_items
        self.failure_ttl = failure_ttl
        self.fetches = 0  # network requests made (for tests and metrics)
        self._session = session or GuardedSession(
            "covers", pauses=MemoryPauses(), label="the image host", timeout=timeout, max_bytes=max_bytes
        )
        # cachetools' caches are not thread-safe: every access holds `_lock`.
        self._memory: LRUCache[str, Image.Image] = LRUCache(maxsize=memory_items)
        self._failed: TTLCache[str, bool] = TTLCache(maxsize=4096, ttl=failure_ttl, timer=time.monotonic)
        self._lock = threading.Lock()

    def allowed(self, url: str) -> bool:
        """Whether the URL may be fetched at all (scheme, host and port checks; no request is made)."""
        try:
            parts = urlsplit(url)
            host = (parts.hostname or "").lower()
            port = parts.port
        except ValueError:
            return False
        if not host or parts.username is not None or parts.password is not None:
            return False
        if self.allow_loopback and _is_loopback(host) and parts.scheme in ("http", "https"):
            return True
        if parts.scheme != "https":
            return False
        if port is None or port == 443:
            return host in self.allowed_hosts or f"{host}:443" in self.allowed_hosts
        return f"{host}:{port}" in self.allowed_hosts

    def get(self, url: str) -> Image.Image | None:
        """The cover (shared: do not modify it), or None on any failure. Never raises."""
        try:
            return self._get(url)
        except Exception:  # a cover must never fail an image
            return None

    def _get(self, url: str) -> Image.Image | None:
        if not isinstance(url, str) or not url or len(url) > 2048 or not self.allowed(url):
            return None
        key = hashlib.sha256(url.encode()).hexdigest()
        with self._lock:
            cached = self._memory.get(key)
            if cached is not None:
                return cached
            if key in self._failed:
                return None
        image = self._from_disk(key)
        if image is None:
            data = self._fetch(url)
            image = decode(data) if data is not None else None
            if image is None:
                with self._lock:
                    self._failed[key] = True
                return None
            self._to_disk(key, image)
        with self._lock:
            self._memory[key] = image
        return image

    def _fetch(self, url: str) -> bytes | None:
        self.fetches += 1
        try:
            response = self._session.request(
                "GET",
                url,
                timeout=self.timeout,
                allow_redirects=False,
                headers={"Accept": "image/jpeg, image/png, image/webp"},
                max_bytes=self.max_bytes,
                deadline=self.timeout,
            )
        except (UpstreamPaused, BodyTooLarge, requests.RequestException, OSError, ValueError):
            return None
        return response.content if response.status_code == 200 else None

    def _path(self, key: str) -> Path | None:
        return None if self.cache_dir is None else self.cache_dir / key[:2] / f"{key}.png"

    def _from_disk(self, key: str) -> Image.Image | None:
        path = self._path(key)
        if path is None or not path.is_file():
            return None
        try:
            return decode(path.read_bytes())
        except OSError:
            return None

    def _to_disk(self, key: str, image: Image.Image) -> None:
        path = self._path(key)
        if path is None:
            return
        tmp: str | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                image.save(fh, "PNG", compress_level=3)
            os.replace(tmp, path)
            tmp = None
        except OSError:
            return  # the disk cache is an optimisation only
        finally:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
