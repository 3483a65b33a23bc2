"""Render once, serve from a store, forget at once: two workers (two apps in this process, each with its
own memory) on one database and one private Redis, which the tests stall and stop.

A worker that cannot hear the take-down news serves nothing stored: with Redis stalled or down, pages
still answer (rendered from the database) without waiting on Redis, and a take-down on one worker is
effective on the other at once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
import redis
import redis.connection
from flask import Flask
from flask.testing import FlaskClient

from fanapp import create_app
from fanapp.config import Settings
from fanapp.sharing import store
from fanapp.sharing.pagecache import Serving
from tests.conftest import csrf_from, make_settings, publish_demo
from tests.processes import PrivateRedis, private_redis

pytestmark = pytest.mark.redis

SURFACES = ("/s/{}", "/s/{}.json", "/embed/s/{}", "/s/{}.png", "/s/{}/story.png")
# Seconds one request may spend waiting on a stalled Redis, counted from the timeouts of the commands
# it sent there (a stalled server answers none, so each waits its client's whole socket timeout): a
# quarter second for the serving path's one call before its breaker opens, half a second for the guess
# limit's, far below the 5 s a funnel count on a 5 s client made every share page wait before. Counted,
# not timed: a loaded machine makes a page slow, never makes it wait on Redis.
NO_WAITING = 2.0


@pytest.fixture
def server() -> Iterator[PrivateRedis]:
    with private_redis() as r:
        yield r


@pytest.fixture
def shared(database_url: str, server: PrivateRedis) -> Settings:
    return make_settings(database_url, redis_url=server.url)


def _worker(settings: Settings) -> Flask:
    app = create_app(settings)
    app.testing = True
    return app


def _unpublish(client: FlaskClient) -> None:
    page = client.get("/my-data/").get_data(as_text=True)
    episode_id = page.split("/my-data/unpublish/")[1].split('"')[0]
    r = client.post(
        f"/my-data/unpublish/{episode_id}", data={"csrf_token": csrf_from(page), "confirm": "yes"}
    )
    assert r.status_code in (200, 302, 303)


def _gone_soon(app: Flask, path: str) -> None:
    """Each worker reads the take-down news twice a second: within that the episode must be gone."""
    deadline = time.monotonic() + 5 * store.News.INTERVAL
    while (status := app.test_client().get(path).status_code) not in (404, 410):
        assert time.monotonic() < deadline, f"{path} still answers {status}"
        time.sleep(0.05)


class RedisWaits:
    """The commands this thread sends to one Redis server, with the socket timeout each may wait."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, port: int) -> None:
        """Watch every redis-py connection (the serving path's, the limiter's, the funnel's)."""
        self.port = port
        self.thread = threading.get_ident()
        self.timeouts: list[float] = []
        send = redis.connection.AbstractConnection.send_packed_command

        def watched(conn: redis.connection.AbstractConnection, *args: object, **kwargs: object) -> None:
            if getattr(conn, "port", None) == self.port and threading.get_ident() == self.thread:
                timeout = conn.socket_timeout
                self.timeouts.append(float("inf") if timeout is None else float(timeout))
            send(conn, *args, **kwargs)  # type: ignore[arg-type]

        monkeypatch.setattr(redis.connection.AbstractConnection, "send_packed_command", watched)

    def get(self, client: FlaskClient, path: str) -> tuple[int, float]:
        """GET `path`: its status, and the most it could have waited on the stalled Redis."""
        before = len(self.timeouts)
        status = client.get(path).status_code
        return status, sum(self.timeouts[before:])


def test_one_worker_renders_and_the_other_serves_the_stored_bytes(
    shared: Settings, server: PrivateRedis
) -> None:
    a, b = _worker(shared), _worker(shared)
    slug = publish_demo(a.test_client())
    for surface in SURFACES:
        first = a.test_client().get(surface.format(slug))
        assert first.status_code == 200
        assert first.headers["Surrogate-Key"] == f"episode-{slug} fanapp-public"
        assert first.headers["Cache-Tag"] == f"episode-{slug},fanapp-public"
        assert "max-age=" in first.headers["Surrogate-Control"]
    stored = redis.Redis.from_url(server.url).smembers(f"{shared.redis_prefix}page-keys:{slug}")
    assert len(stored) == 3  # page, JSON, embed card in Redis; the images on disk
    # B has never rendered anything: it answers every surface from the store, byte for byte, without
    # Flask (a view would have been called: count them).
    calls: list[str] = []
    b.before_request(lambda: calls.append("flask") and None)
    for surface in SURFACES:
        again = b.test_client().get(surface.format(slug))
        assert again.status_code == 200
        assert again.data == a.test_client().get(surface.format(slug)).data
    assert calls == []


def test_a_take_down_on_one_worker_is_effective_on_the_other(shared: Settings) -> None:
    a, b = _worker(shared), _worker(shared)
    owner = a.test_client()
    slug = publish_demo(owner)
    for surface in SURFACES:
        assert b.test_client().get(surface.format(slug)).status_code == 200  # B holds it in memory
    _unpublish(owner)
    for surface in SURFACES:
        assert a.test_client().get(surface.format(slug)).status_code in (404, 410), surface  # at once
        _gone_soon(b, surface.format(slug))


def test_a_copy_read_while_take_downs_were_heard_is_served_once_and_not_kept(
    shared: Settings, server: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _worker(shared), _worker(shared)
    slug = publish_demo(a.test_client())
    assert a.test_client().get(f"/s/{slug}").status_code == 200  # stored in Redis
    serving = b.extensions["fanapp.serving"]
    # This is about one GET: B's warming loop would fetch the page meanwhile (see the warming tests).
    monkeypatch.setattr(serving, "_keep_warm", lambda: None)
    assert serving.news.fresh()
    real_get = serving.text.get

    def get_while_news_arrives(key: str) -> store.Page | None:
        page = real_get(key)
        serving.news.seen = (serving.news.seen or 0) + 1  # another request heard of a take-down meanwhile
        return page

    serving.text.get = get_while_news_arrives  # type: ignore[method-assign]
    assert b.test_client().get(f"/s/{slug}").status_code == 200  # true when read: served
    serving.text.get = real_get  # type: ignore[method-assign]
    conn = redis.Redis.from_url(server.url)
    conn.delete(*conn.smembers(f"{shared.redis_prefix}page-keys:{slug}"))
    calls: list[str] = []
    b.before_request(lambda: calls.append("flask") and None)
    assert b.test_client().get(f"/s/{slug}").status_code == 200
    assert calls == ["flask"]  # but not kept in memory: rendered again


def test_what_one_worker_fetched_the_others_hold_before_they_are_asked_until_a_take_down(
    shared: Settings, server: PrivateRedis
) -> None:
    a, b = _worker(shared), _worker(shared)
    owner = a.test_client()
    slug = publish_demo(owner)
    texts = SURFACES[:3]
    first = {path: a.test_client().get(path.format(slug)) for path in texts}
    assert all(r.status_code == 200 for r in first.values())
    assert b.extensions["fanapp.serving"].warm() == 3  # page, JSON, embed card: one round trip
    conn = redis.Redis.from_url(server.url)
    conn.delete(*conn.smembers(f"{shared.redis_prefix}page-keys:{slug}"))  # B cannot fetch them now
    calls: list[str] = []
    b.before_request(lambda: calls.append("flask") and None)
    for path, answer in first.items():
        again = b.test_client().get(path.format(slug))
        assert again.status_code == 200 and again.data == answer.data
    assert calls == []  # from B's memory
    _unpublish(owner)
    for path in texts:
        _gone_soon(b, path.format(slug))


def test_a_batch_fetched_while_take_downs_were_heard_is_not_kept(shared: Settings) -> None:
    a, b = _worker(shared), _worker(shared)
    slug = publish_demo(a.test_client())
    assert a.test_client().get(f"/s/{slug}").status_code == 200
    serving = b.extensions["fanapp.serving"]
    real_many = serving.text.many

    def many_while_news_arrives(keys: list[str]) -> list[store.Page | None] | None:
        pages = real_many(keys)
        serving.news.seen = (serving.news.seen or 0) + 1  # another request heard of a take-down meanwhile
        return pages

    serving.text.many = many_while_news_arrives  # type: ignore[method-assign]
    assert serving.warm() == 0


def test_a_worker_warms_nothing_while_redis_is_down(shared: Settings, server: PrivateRedis) -> None:
    a, b = _worker(shared), _worker(shared)
    slug = publish_demo(a.test_client())
    assert a.test_client().get(f"/s/{slug}").status_code == 200
    server.stop()
    assert b.extensions["fanapp.serving"].warm() == 0


@pytest.mark.parametrize("trouble", ["stalled", "stopped"])
def test_redis_in_trouble_pages_answer_and_take_downs_hold(
    shared: Settings, server: PrivateRedis, trouble: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    a, b = _worker(shared), _worker(shared)
    owner = a.test_client()
    slug = publish_demo(owner)
    keep = publish_demo(a.test_client())  # another visitor's episode, which stays
    for worker in (a, b):
        for surface in SURFACES:
            assert worker.test_client().get(surface.format(slug)).status_code == 200
    waits = RedisWaits(monkeypatch, server.port)
    server.stall() if trouble == "stalled" else server.stop()
    try:
        for worker in (a, b):
            for surface in ("/s/{}", "/s/{}.json", "/embed/s/{}"):
                status, waited = waits.get(worker.test_client(), surface.format(keep))
                assert status == 200 and waited < NO_WAITING, (surface, waits.timeouts)
        _unpublish(owner)  # on A, while Redis cannot hear it
        for worker in (a, b):
            for surface in SURFACES:
                _gone_soon(worker, surface.format(slug))
                status, waited = waits.get(worker.test_client(), surface.format(slug))
                assert status in (404, 410) and waited < NO_WAITING, (surface, status, waits.timeouts)
        if trouble == "stalled":
            assert waits.timeouts, "no request tried Redis: this test watched nothing"
    finally:
        if trouble == "stalled":
            server.resume()
    if trouble == "stalled":
        # Once Redis answers again, the take-down A could not deliver reaches the store too.
        serving: Serving = a.extensions["fanapp.serving"]
        conn = redis.Redis.from_url(server.url)
        deadline = time.monotonic() + 15
        while conn.exists(f"{shared.redis_prefix}page-keys:{slug}") or serving.retrier.pending:
            assert time.monotonic() < deadline, "the take-down was never delivered"
            time.sleep(0.1)
        for worker in (a, b):
            assert worker.test_client().get(f"/s/{slug}").status_code in (404, 410)
            assert worker.test_client().get(f"/s/{keep}").status_code == 200


def test_the_guess_limit_asks_a_stalled_redis_once_then_skips_it_for_a_while(
    shared: Settings, server: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    a = _worker(shared)
    now = [0.0]
    a.extensions["fanapp.misses_breaker"].timer = lambda: now[0]  # the breaker's clock, held still
    limiter_timeout = a.config["RATELIMIT_STORAGE_OPTIONS"]["socket_timeout"]
    waits = RedisWaits(monkeypatch, server.port)
    server.stall()
    try:
        assert [a.test_client().get(f"/s/no-such-{i}").status_code for i in range(5)] == [404] * 5
        assert waits.timeouts.count(limiter_timeout) == 1  # the first miss asked; the others did not
        now[0] += 60  # the cool-down is over: the next miss asks again
        assert a.test_client().get("/s/no-such-later").status_code == 404
        assert waits.timeouts.count(limiter_timeout) == 2
    finally:
        server.resume()


def test_embed_variants_are_stored_as_they_render(shared: Settings) -> None:
    a = _worker(shared)
    slug = publish_demo(a.test_client())
    one = a.test_client().get(f"/embed/s/{slug}?utm_source=first&utm_source=second").get_data(as_text=True)
    other = a.test_client().get(f"/embed/s/{slug}?utm_source=second&utm_source=first").get_data(as_text=True)
    assert "utm_source=first" in one and "utm_source=second" not in one
    assert "utm_source=second" in other and "utm_source=first" not in other
    blank = a.test_client().get(f"/embed/s/{slug}?utm_source=&utm_source=later").get_data(as_text=True)
    assert "utm_source=later" not in blank  # the page reads the first value, blank: so does the key
