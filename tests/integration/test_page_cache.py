"""Public pages replayed from memory before Flask: same bytes, same headers, gone when taken down."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from fanapp.sharing.pagecache import CACHEABLE, Page, PageCache
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
