"""The rendered-image cache: keyed by (slug, version, size), strong ETags, rendered once."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

from fanapp.sharing.cards.cache import CACHE_CONTROL, CachedImage, ImageCache, etag_for


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


def test_a_new_copy_replaces_the_old_one_and_its_room() -> None:
    cache = ImageCache(max_bytes=25)
    cache.put("a", 1, "card", b"x" * 10)
    cache.put("a", 1, "card", b"y" * 20)  # same key: the room of the old copy is given back
    assert cache.get("a", 1, "card") == CachedImage(b"y" * 20, etag_for(b"y" * 20))
    cache.put("a", 1, "card", b"z" * 30)  # too big to keep: neither copy stays in memory
    assert cache.get("a", 1, "card") is None
    assert cache._memory.currsize == 0


def test_forget_drops_every_image_of_one_episode_from_memory_and_disk(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, max_bytes=100)
    for size in ("card", "story"):
        cache.put("gone", 1, size, b"g" * 20)
        cache.put("gone", 2, size, b"g" * 20)
    cache.put("kept", 1, "card", b"k" * 10)
    cache.forget("gone")
    assert all(cache.get("gone", v, size) is None for v in (1, 2) for size in ("card", "story"))
    assert ImageCache(tmp_path).get("gone", 1, "card") is None  # not on disk either
    assert cache.get("kept", 1, "card") is not None
    assert ImageCache(tmp_path).get("kept", 1, "card") is not None
    assert cache._memory.currsize == 10  # the forgotten bytes are free again
    for n in range(9):
        cache.put(f"new{n}", 1, "card", b"n" * 10)
    assert cache.get("kept", 1, "card") is not None  # 100 bytes: everything fits
    cache.forget("never-cached")  # nothing to drop: no error


def test_many_threads_share_one_cache_safely() -> None:
    cache = ImageCache(max_bytes=40 * 64)
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(3000):
                slug = f"s{(n * 7 + i) % 120}"
                if i % 3:
                    cache.get(slug, 1, "card")
                else:
                    cache.put(slug, 1, "card", b"x" * 64)
                if i % 997 == 0:
                    cache.forget(slug)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: without the lock this fails most runs
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert cache._memory.currsize <= cache.max_bytes
