"""Cover art for the share images: fetched only from allowlisted image hosts, capped, checked, cached.

A cover that cannot be had (wrong host, timeout, too big, not an image, anything) is ``None``, and the
renderer draws its designed placeholder instead: an image never fails because of a cover.
"""

from __future__ import annotations

import hashlib
import io
import ipaddress
import os
import struct
import tempfile
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import requests
from PIL import Image, ImageOps

SPOTIFY_IMAGE_HOSTS: tuple[str, ...] = (
    "i.scdn.co",
    "mosaic.scdn.co",
    "image-cdn-ak.spotifycdn.com",
    "image-cdn-fa.spotifycdn.com",
)
FORMATS = ("JPEG", "PNG", "WEBP")
MAX_PIXELS = 4096 * 4096  # checked from the file header, before Pillow decodes anything
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


def image_size(head: bytes) -> tuple[str, int, int] | None:
    """(format, width, height) read from the first bytes of a JPEG, PNG or WebP file, else None.

    Read by hand so that a decompression bomb is refused before Pillow opens it.
    """
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            w, h = struct.unpack(">II", head[16:24])
            return "PNG", w, h
        if head.startswith(b"RIFF") and head[8:12] == b"WEBP":
            chunk = head[12:16]
            if chunk == b"VP8 " and head[23:26] == b"\x9d\x01\x2a":
                w, h = struct.unpack("<HH", head[26:30])
                return "WEBP", w & 0x3FFF, h & 0x3FFF
            if chunk == b"VP8L" and head[20] == 0x2F:
                bits = int.from_bytes(head[21:25], "little")
                return "WEBP", (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
            if chunk == b"VP8X":
                w = int.from_bytes(head[24:27], "little") + 1
                return "WEBP", w, int.from_bytes(head[27:30], "little") + 1
            return None
        if head.startswith(b"\xff\xd8"):
            i = 2
            while i + 9 < len(head):
                if head[i] != 0xFF:
                    return None
                marker = head[i + 1]
                if marker == 0xFF:  # fill byte
                    i += 1
                    continue
                if marker in (0x01, *range(0xD0, 0xD8)):  # markers without a length
                    i += 2
                    continue
                (length,) = struct.unpack(">H", head[i + 2 : i + 4])
                if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                    h, w = struct.unpack(">HH", head[i + 5 : i + 9])
                    return "JPEG", w, h
                i += 2 + length
        return None
    except (struct.error, IndexError):
        return None


def decode(data: bytes, thumb: int = THUMB) -> Image.Image | None:
    """A JPEG, PNG or WebP file as an RGB(A) image at most ``thumb`` pixels a side, else None."""
    sniffed = image_size(data[:65536])
    if sniffed is None:
        return None
    fmt, w, h = sniffed
    if not (0 < w <= 16384 and 0 < h <= 16384) or w * h > MAX_PIXELS:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=FORMATS) as im:
            if im.format != fmt or im.size != (w, h):
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
    there. Redirects are not followed (they could leave the allowlist). Decoded thumbnails are kept in a small
    in-process LRU and, with ``cache_dir``, on disk as PNG named by sha256(url); failures are remembered for
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
        session: requests.Session | None = None,
    ) -> None:
        """Configure; nothing is fetched until :meth:`get`."""
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.cache_dir = cache_dir
        self.allow_loopback = allow_loopback
        self.memory_items = memory_items
        self.failure_ttl = failure_ttl
        self.fetches = 0  # network requests made (for tests and metrics)
        self._session = session or requests.Session()
        self._memory: OrderedDict[str, Image.Image] = OrderedDict()
        self._failed: dict[str, float] = {}
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
            if key in self._memory:
                self._memory.move_to_end(key)
                return self._memory[key]
            failed_at = self._failed.get(key)
            if failed_at is not None and time.monotonic() - failed_at < self.failure_ttl:
                return None
        image = self._from_disk(key)
        if image is None:
            data = self._fetch(url)
            image = decode(data) if data is not None else None
            if image is None:
                with self._lock:
                    self._failed[key] = time.monotonic()
                    if len(self._failed) > 4096:
                        self._failed.clear()
                return None
            self._to_disk(key, image)
        with self._lock:
            self._memory[key] = image
            while len(self._memory) > self.memory_items:
                self._memory.popitem(last=False)
        return image

    def _fetch(self, url: str) -> bytes | None:
        deadline = time.monotonic() + self.timeout
        self.fetches += 1
        try:
            with self._session.get(
                url,
                timeout=(self.timeout, self.timeout),
                stream=True,
                allow_redirects=False,
                headers={"Accept": "image/jpeg, image/png, image/webp"},
            ) as response:
                if response.status_code != 200:
                    return None
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
                    return None
                body = bytearray()
                for chunk in response.iter_content(chunk_size=65536):
                    body.extend(chunk)
                    if len(body) > self.max_bytes or time.monotonic() > deadline:
                        return None
                return bytes(body)
        except (requests.RequestException, OSError, ValueError):
            return None

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
