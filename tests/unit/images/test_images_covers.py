"""Cover art: only allowlisted hosts, a timeout, a size cap, real images only, cached, never an exception."""

from __future__ import annotations

import io
import struct
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from werkzeug.wrappers import Request, Response

from fanapp.sharing.cards.covers import SPOTIFY_IMAGE_HOSTS, HttpCovers, NoCovers, decode, image_size
from tests.fakes.http import BackgroundServer, drip
from tests.fakes.spotify import cover_jpeg


def _encoded(fmt: str, size: tuple[int, int] = (64, 64), mode: str = "RGB") -> bytes:
    image = Image.new(mode, size, (200, 40, 90, 255) if mode == "RGBA" else (200, 40, 90))
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG that claims to be enormous (a decompression bomb's header) with a token IDAT."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + idat + chunk(b"IEND", b"")


class CoverServer:
    """A local image host with good and bad answers, counting requests per path."""

    def __init__(self) -> None:
        self.hits: Counter[str] = Counter()
        self.release = threading.Event()
        self.dripped: list[int] = []  # bytes of /drip.jpg sent so far
        self.server = BackgroundServer(self.app)

    def app(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.respond(Request(environ))
        return response(environ, start_response)

    def respond(self, request: Request) -> Response:
        path = request.path
        self.hits[path] += 1
        if path == "/ok.jpg":
            return Response(cover_jpeg("ok", 300), content_type="image/jpeg")
        if path == "/wide.png":
            return Response(_encoded("PNG", (600, 300)), content_type="image/png")
        if path == "/alpha.png":
            return Response(_encoded("PNG", (80, 80), "RGBA"), content_type="image/png")
        if path == "/cover.webp":
            return Response(_encoded("WEBP", (120, 120)), content_type="image/webp")
        if path == "/big.jpg":
            return Response(b"\xff\xd8" + b"\0" * 3_000_000, content_type="image/jpeg")
        if path == "/big-chunked.jpg":
            return Response((b"\xff\xd8" + b"\0" * 65534 for _ in range(60)), content_type="image/jpeg")
        if path == "/page.html":
            return Response("<html>not an image</html>", content_type="image/jpeg")
        if path == "/bomb.png":
            return Response(_png_header_only(30000, 30000), content_type="image/png")
        if path == "/slow.jpg":
            self.release.wait(3)
            return Response(cover_jpeg("slow"), content_type="image/jpeg")
        if path == "/drip.jpg":  # a byte every half second: no read ever times out
            self.dripped.clear()
            body = cover_jpeg("drip")
            return Response(
                drip(body, 0.5, self.release, self.dripped),
                content_type="image/jpeg",
                headers={"Content-Length": str(len(body))},
            )
        if path == "/redirect.jpg":
            return Response("", 302, {"Location": "/ok.jpg"})
        if path == "/gif.gif":
            return Response(_encoded("GIF"), content_type="image/gif")
        return Response("missing", 404)

    def url(self, path: str) -> str:
        return self.server.base_url + path


@pytest.fixture(scope="module")
def host() -> Iterator[CoverServer]:
    server = CoverServer()
    server.server.start()
    yield server
    server.release.set()
    server.server.stop()


def _covers(**kwargs: Any) -> HttpCovers:
    return HttpCovers(allow_loopback=True, timeout=kwargs.pop("timeout", 2.0), **kwargs)


@pytest.mark.parametrize(
    "url",
    [
        "https://i.scdn.co/image/ab67616d0000b273",
        "https://I.SCDN.CO/image/x",
        "https://mosaic.scdn.co/640/abc",
        "https://image-cdn-ak.spotifycdn.com/image/x",
        "https://i.scdn.co:443/image/x",
    ],
)
def test_spotify_cdn_urls_are_allowed(url: str) -> None:
    assert HttpCovers().allowed(url)


@pytest.mark.parametrize(
    "url",
    [
        "http://i.scdn.co/image/x",  # not https
        "https://i.scdn.co:8443/image/x",  # another port
        "https://i.scdn.co.evil.example/image/x",
        "https://evil.example/i.scdn.co/x",
        "https://user:pass@i.scdn.co/image/x",
        "https://scdn.co/image/x",
        "ftp://i.scdn.co/x",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "http://127.0.0.1:5000/images/x.jpg",  # loopback only with allow_loopback
        "http://[::1]:80/x",
        "",
        "https://[not-an-ip/x",
    ],
)
def test_anything_else_is_refused_without_a_request(url: str) -> None:
    covers = HttpCovers()
    assert not covers.allowed(url)
    assert covers.get(url) is None
    assert covers.fetches == 0


def test_allow_loopback_opens_loopback_only() -> None:
    covers = HttpCovers(allow_loopback=True)
    assert covers.allowed("http://127.0.0.1:5000/images/a.jpg")
    assert covers.allowed("http://localhost:5000/images/a.jpg")
    assert covers.allowed("http://[::1]:5000/a.jpg")
    assert not covers.allowed("http://10.0.0.1/a.jpg")
    assert not covers.allowed("http://i.scdn.co/a.jpg")


def test_explicit_host_and_port_entries() -> None:
    covers = HttpCovers(allowed_hosts=("covers.example:8443",))
    assert covers.allowed("https://covers.example:8443/a.jpg")
    assert not covers.allowed("https://covers.example/a.jpg")
    assert not covers.allowed("http://covers.example:8443/a.jpg")


def test_default_allowlist_is_spotifys_image_cdn() -> None:
    assert HttpCovers().allowed_hosts == SPOTIFY_IMAGE_HOSTS


def test_a_cover_is_fetched_once_then_served_from_memory(host: CoverServer) -> None:
    covers = _covers()
    before = host.hits["/ok.jpg"]
    first = covers.get(host.url("/ok.jpg"))
    second = covers.get(host.url("/ok.jpg"))
    assert first is not None and second is first
    assert first.size == (300, 300) and first.mode == "RGB"
    assert host.hits["/ok.jpg"] - before == 1
    assert covers.fetches == 1


def test_the_disk_cache_survives_a_new_process(host: CoverServer, tmp_path: Path) -> None:
    before = host.hits["/wide.png"]
    first = _covers(cache_dir=tmp_path).get(host.url("/wide.png"))
    fresh = _covers(cache_dir=tmp_path)
    again = fresh.get(host.url("/wide.png"))
    assert first is not None and again is not None
    assert again.size == first.size == (320, 160)  # thumbnail, aspect kept
    assert host.hits["/wide.png"] - before == 1
    assert fresh.fetches == 0
    assert len(list(tmp_path.rglob("*.png"))) == 1


@pytest.mark.parametrize(("path", "mode"), [("/alpha.png", "RGBA"), ("/cover.webp", "RGB")])
def test_png_with_transparency_and_webp_decode(host: CoverServer, path: str, mode: str) -> None:
    image = _covers().get(host.url(path))
    assert image is not None and image.mode == mode


@pytest.mark.parametrize(
    "path",
    ["/big.jpg", "/big-chunked.jpg", "/page.html", "/bomb.png", "/redirect.jpg", "/gif.gif", "/missing.jpg"],
)
def test_bad_answers_give_no_cover(host: CoverServer, path: str) -> None:
    covers = _covers(max_bytes=1_000_000)
    assert covers.get(host.url(path)) is None


def test_the_size_cap_stops_reading(host: CoverServer) -> None:
    covers = _covers(max_bytes=100_000)
    assert covers.get(host.url("/big-chunked.jpg")) is None
    assert covers.get(host.url("/ok.jpg")) is not None  # small enough


def test_a_slow_host_times_out(host: CoverServer) -> None:
    covers = _covers(timeout=0.3)
    started = time.monotonic()
    assert covers.get(host.url("/slow.jpg")) is None
    assert time.monotonic() - started < 2.0


def test_a_slow_drip_is_abandoned_at_the_deadline(host: CoverServer) -> None:
    # Issue 13: a host sending a byte every 0.5 s held a render for 30 s past its 3 s budget.
    covers = _covers(timeout=1.5)
    assert covers.get(host.url("/drip.jpg")) is None
    sent = len(host.dripped)
    assert 0 < sent < 15  # of several thousand: stopped near the deadline (about 3 bytes)


def test_the_memory_cache_keeps_the_most_recently_used(host: CoverServer) -> None:
    covers = _covers(memory_items=2)
    first = covers.get(host.url("/ok.jpg"))
    assert covers.get(host.url("/wide.png")) is not None
    assert covers.get(host.url("/ok.jpg")) is first  # used again: now the newest
    assert covers.get(host.url("/alpha.png")) is not None  # evicts /wide.png, the least recent
    assert covers.get(host.url("/ok.jpg")) is first
    assert covers.fetches == 3


def test_a_failure_is_remembered_for_a_while(host: CoverServer) -> None:
    covers = _covers()
    before = host.hits["/page.html"]
    assert covers.get(host.url("/page.html")) is None
    assert covers.get(host.url("/page.html")) is None
    assert host.hits["/page.html"] - before == 1


def test_an_unreachable_host_gives_no_cover() -> None:
    covers = _covers(timeout=0.5)
    assert covers.get("http://127.0.0.1:9/nothing-listens-here.jpg") is None


def test_get_never_raises_whatever_it_is_given() -> None:
    covers = _covers()
    for bad in (None, 42, b"https://i.scdn.co/x", "https://i.scdn.co/" + "x" * 5000):
        assert covers.get(bad) is None  # type: ignore[arg-type]


def test_the_memory_cache_is_bounded(host: CoverServer) -> None:
    covers = _covers(memory_items=2)
    for path in ("/ok.jpg", "/wide.png", "/alpha.png"):
        assert covers.get(host.url(path)) is not None
    assert len(covers._memory) == 2


def test_no_covers_is_always_none() -> None:
    assert NoCovers().get("https://i.scdn.co/image/x") is None


def test_image_size_reads_headers_without_decoding() -> None:
    assert image_size(_encoded("PNG", (31, 17))) == ("PNG", 31, 17)
    assert image_size(_encoded("JPEG", (31, 17))) == ("JPEG", 31, 17)
    assert image_size(_encoded("WEBP", (31, 17))) == ("WEBP", 31, 17)
    lossless = io.BytesIO()
    Image.new("RGB", (33, 9)).save(lossless, "WEBP", lossless=True)
    assert image_size(lossless.getvalue()) == ("WEBP", 33, 9)
    assert image_size(_png_header_only(30000, 30000)) == ("PNG", 30000, 30000)
    assert image_size(b"GIF89a") is None
    assert image_size(b"") is None
    assert image_size(b"\xff\xd8\xff") is None


def test_decode_refuses_bombs_and_truncated_files() -> None:
    assert decode(_png_header_only(30000, 30000)) is None
    assert decode(_encoded("JPEG")[:200]) is None
    assert decode(b"\x89PNG\r\n\x1a\n" + b"\0" * 40) is None
    image = decode(_encoded("JPEG", (1000, 500)))
    assert image is not None and image.size == (320, 160)
