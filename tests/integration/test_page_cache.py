"""Public pages replayed from memory before Flask: same bytes, same headers, gone when taken down."""

from __future__ import annotations

import sys
import threading

from flask import Flask
from flask.testing import FlaskClient

from fanapp.sharing.pagecache import CACHEABLE, Page, PageCache, page_size
from tests.conftest import csrf_from, publish_demo


def test_a_replayed_page_is_the_rendered_page(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    visitor = app.test_client()
    first = visitor.get(f"/s/{slug}")
    cache: PageCache = app.extensions["fanapp.page_cache"]
    assert cache.get(f"http|localhost|/s/{slug}|") is not None
    again = visitor.get(f"/s/{slug}")
    assert again.data == first.data
    assert sorted(again.headers.items()) == sorted(first.headers.items())
    assert CACHEABLE not in again.headers and "Set-Cookie" not in again.headers
    assert "frame-ancestors 'none'" in again.headers["Content-Security-Policy"]
    not_modified = visitor.get(f"/s/{slug}", headers={"If-None-Match": again.headers["ETag"]})
    assert not_modified.status_code == 304 and not_modified.data == b""
    head = visitor.head(f"/s/{slug}")
    assert head.status_code == 200 and head.data == b""


def test_unrelated_query_strings_share_one_entry(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    cache: PageCache = app.extensions["fanapp.page_cache"]
    for n in range(5):
        client.get(f"/s/{slug}?x={n}")
    client.get(f"/embed/s/{slug}?utm_source=partner&junk=1")
    keys = list(cache._items)
    assert keys == [f"http|localhost|/s/{slug}|", f"http|localhost|/embed/s/{slug}|utm_source=partner"]


def test_only_marked_answers_are_kept(client: FlaskClient, app: Flask) -> None:
    cache: PageCache = app.extensions["fanapp.page_cache"]
    client.get("/")
    client.get("/s/AAAAAAAAAAAAAAAAAAAAAA")
    assert cache.get("http|localhost|/|") is None
    assert cache.get("http|localhost|/s/AAAAAAAAAAAAAAAAAAAAAA|") is None


def test_an_unpublish_empties_the_cache(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    client.get(f"/s/{slug}")
    page = client.get("/my-data/").get_data(as_text=True)
    episode_id = page.split("/my-data/unpublish/")[1].split('"')[0]
    client.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": csrf_from(page), "confirm": "yes"})
    assert client.get(f"/s/{slug}").status_code == 404


def test_generation_change_and_expiry() -> None:
    counter = {"n": 0}
    cache = PageCache(ttl=60, generation=lambda: counter["n"])
    page = Page((("Content-Type", "text/plain"),), b"x", '"e"')
    cache.put("k", page)
    assert cache.get("k") is page
    counter["n"] = 1
    cache._checked_at = 0.0  # as if a second had passed
    assert cache.get("k") is None
    off = PageCache(ttl=0)
    off.put("k", page)
    assert off.get("k") is None


def test_a_page_that_touched_a_session_is_never_replayed(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    token = csrf_from(client.get("/my-data/").get_data(as_text=True))
    client.post("/my-data/delete", data={"csrf_token": token})  # not confirmed: leaves a flash message
    mine = client.get(f"/s/{slug}")
    assert "Set-Cookie" not in mine.headers  # the share page does not read the session at all
    stranger = app.test_client().get(f"/s/{slug}")
    assert "Set-Cookie" not in stranger.headers
    # And whatever a view does, a response that sets a cookie is not kept.
    cache: PageCache = app.extensions["fanapp.page_cache"]
    cache.clear()
    from fanapp.sharing.pagecache import PublicPages

    def leaky_app(environ: dict[str, str], start_response: object) -> list[bytes]:
        start_response("200 OK", [(CACHEABLE, "1"), ("Set-Cookie", "session=secret")])  # type: ignore[operator]
        return [b"personal"]

    layer = PublicPages(leaky_app, cache)  # type: ignore[arg-type]
    environ = {"REQUEST_METHOD": "GET", "PATH_INFO": "/s/x", "wsgi.url_scheme": "http", "HTTP_HOST": "h"}
    layer(environ, lambda status, headers, exc_info=None: None)  # type: ignore[arg-type]
    assert cache.get(layer.key(environ)) is None


class Clock:
    """A timer the test moves by hand: expiry without waiting."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _page(body: bytes) -> Page:
    return Page((("Content-Type", "text/html"),), body, "")


HEADERS = len("Content-Type") + len("text/html")


def test_pages_expire_after_the_ttl() -> None:
    clock = Clock()
    cache = PageCache(ttl=60, timer=clock)
    cache.put("k", _page(b"x"))
    clock.now += 59.9
    assert cache.get("k") is not None
    clock.now += 0.2
    assert cache.get("k") is None
    cache.put("k", _page(b"y"))  # stored again, for another 60 s
    assert cache.get("k") == _page(b"y")


def test_the_cache_is_bounded_by_bytes_least_recently_used_first() -> None:
    cache = PageCache(ttl=60, max_bytes=3 * (100 + HEADERS))
    for key in "abc":
        cache.put(key, _page(b"x" * 100))
    assert cache.get("a") is not None  # a is now the most recently used
    cache.put("d", _page(b"x" * 100))
    assert cache.get("b") is None
    assert all(cache.get(key) is not None for key in "acd")
    cache.put("big", _page(b"x" * 250))  # takes the room of two
    assert cache.get("big") is not None and cache.get("a") is None and cache.get("c") is None
    assert cache._items.currsize <= cache.max_bytes


def test_a_page_larger_than_the_cache_is_served_never_kept() -> None:
    cache = PageCache(ttl=60, max_bytes=1000)
    cache.put("small", _page(b"x" * 100))
    cache.put("k", _page(b"old"))
    cache.put("k", _page(b"x" * 2000))
    assert cache.get("k") is None  # not even the older copy stays
    assert cache.get("small") is not None


def test_the_cache_is_bounded_by_count_too() -> None:
    cache = PageCache(ttl=60, max_items=2)
    for key in "abc":
        cache.put(key, _page(b"x"))
    assert cache.get("a") is None
    assert cache.get("b") is not None and cache.get("c") is not None
    assert len(cache._items) == 2


def test_the_page_size_counts_body_and_headers() -> None:
    page = Page((("Content-Type", "text/html"), ("ETag", '"e"')), b"12345", '"e"')
    assert page_size(page) == 5 + HEADERS + len("ETag") + len('"e"')


def test_many_threads_share_one_cache_safely() -> None:
    cache = PageCache(ttl=60, max_items=50, max_bytes=40 * (64 + HEADERS))
    errors: list[BaseException] = []

    def work(n: int) -> None:
        try:
            for i in range(3000):
                key = f"{(n * 7 + i) % 120}"
                if i % 3:
                    cache.get(key)
                else:
                    cache.put(key, _page(b"x" * 64))
                if i % 997 == 0:
                    cache.clear()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # switch threads often: without the lock this fails nearly every run
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(interval)
    assert errors == []
    assert len(cache._items) <= 40 and cache._items.currsize <= cache.max_bytes


def test_memory_keeps_text_compressed_and_serves_gzip_to_who_accepts_it(
    client: FlaskClient, app: Flask
) -> None:
    import gzip

    slug = publish_demo(client)
    visitor = app.test_client()
    plain = visitor.get(f"/s/{slug}")
    assert "Accept-Encoding" in plain.headers["Vary"]
    kept = app.extensions["fanapp.page_cache"].get(f"http|localhost|/s/{slug}|")
    assert kept.gzipped and len(kept.body) * 3 < len(plain.data)  # memory holds it compressed
    again = visitor.get(f"/s/{slug}")
    assert again.data == plain.data and "Content-Encoding" not in again.headers
    zipped = visitor.get(f"/s/{slug}", headers={"Accept-Encoding": "br, gzip;q=0.9"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    assert zipped.headers["ETag"] != plain.headers["ETag"]  # another representation
    assert int(zipped.headers["Content-Length"]) == len(zipped.data)
    unchanged = visitor.get(
        f"/s/{slug}", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]}
    )
    assert unchanged.status_code == 304
    refused = visitor.get(f"/s/{slug}", headers={"Accept-Encoding": "gzip;q=0, identity"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain.data
