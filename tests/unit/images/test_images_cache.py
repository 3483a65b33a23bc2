"""The rendered-image cache: keyed by (slug, version, size), strong ETags, rendered once."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from fanapp.sharing.cards.cache import CACHE_CONTROL, ImageCache, etag_for


def test_etag_is_strong_and_follows_the_bytes() -> None:
    tag = etag_for(b"png bytes")
    assert tag.startswith('"') and tag.endswith('"') and not tag.startswith("W/")
    assert len(tag) == 34
    assert etag_for(b"png bytes") == tag
    assert etag_for(b"other bytes") != tag


def test_cache_control_is_long_and_immutable() -> None:
    assert CACHE_CONTROL == "public, max-age=31536000, immutable"


def test_put_then_get_by_slug_version_and_size() -> None:
    cache = ImageCache()
    entry = cache.put("slug", 1, "card", b"card v1")
    assert entry.etag == etag_for(b"card v1")
    assert cache.get("slug", 1, "card") == entry
    assert cache.get("slug", 1, "story") is None
    assert cache.get("slug", 2, "card") is None
    assert cache.get("other", 1, "card") is None


def test_memory_is_bounded_in_bytes() -> None:
    cache = ImageCache(max_bytes=25)
    cache.put("a", 1, "card", b"x" * 10)
    cache.put("b", 1, "card", b"x" * 10)
    cache.get("a", 1, "card")  # a is now the most recent
    cache.put("c", 1, "card", b"x" * 10)
    assert cache.get("b", 1, "card") is None
    assert cache.get("a", 1, "card") is not None
    assert cache.get("c", 1, "card") is not None
    cache.put("huge", 1, "card", b"x" * 100)  # larger than the whole cache: not kept in memory
    assert cache.get("huge", 1, "card") is None


def test_the_directory_is_shared_between_instances(tmp_path: Path) -> None:
    ImageCache(tmp_path).put("slug/../../etc", 3, "story", b"story bytes")
    files = list(tmp_path.rglob("*.png"))
    assert len(files) == 1 and files[0].is_relative_to(tmp_path)
    entry = ImageCache(tmp_path).get("slug/../../etc", 3, "story")
    assert entry is not None and entry.png == b"story bytes" and entry.etag == etag_for(b"story bytes")


def test_an_unwritable_directory_only_loses_the_disk_copy(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    cache = ImageCache(blocker)
    assert cache.put("s", 1, "card", b"bytes").png == b"bytes"
    assert cache.get("s", 1, "card") is not None


def test_get_or_render_renders_once_even_when_asked_concurrently() -> None:
    cache = ImageCache()
    calls = []

    def render() -> bytes:
        calls.append(1)
        time.sleep(0.05)
        return b"rendered"

    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get_or_render("s", 1, "card", render)))
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert {r.png for r in results} == {b"rendered"}
    assert cache.get_or_render("s", 1, "card", render).png == b"rendered"
    assert len(calls) == 1
