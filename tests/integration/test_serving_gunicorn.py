"""Serving as the Procfile serves it: gunicorn with `gunicorn.conf.py` (2 gevent workers) on PostgreSQL
and a private Redis, against slow clients, forged proxy headers and a slow database.

Bounds on time here are timeouts ("answers at all within 10 s"), far above a normal answer on a loaded
machine, never speed measurements (those are `make bench`).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import requests
from flask import Flask

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data import migrate
from tests.conftest import publish_demo
from tests.processes import gunicorn, private_redis

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.xdist_group("gunicorn-serving")]

ANSWER_WITHIN = 10.0  # seconds: "the site answers"; a request stuck behind slow clients never does


@dataclass
class Site:
    base: str
    app: Flask  # an in-process worker on the same database and Redis, to publish with
    database_url: str
    log: Path


@pytest.fixture
def site(pg_url: str, tmp_path: Path) -> Iterator[Site]:
    migrate.upgrade(pg_url)
    with private_redis() as r:
        env = {
            "FANAPP_ENV": "development",
            "DATABASE_URL": pg_url,
            "REDIS_URL": r.url,
            "REDIS_PREFIX": "serving-test:",
            "DB_STATEMENT_TIMEOUT": "1",
            "WEB_CONCURRENCY": "2",
        }
        app = create_app(Settings.from_env(environ=env).override(rate_limits_enabled=False))
        app.testing = True
        log = tmp_path / "gunicorn.log"
        with gunicorn(env, log=log) as base:
            yield Site(base=base, app=app, database_url=pg_url, log=log)
        app.extensions["fanapp.engine"].dispose()
        app.extensions["fanapp.health_engine"].dispose()


def _slow_client(base: str, stop: threading.Event, opened: list[socket.socket]) -> None:
    host, port = base.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    opened.append(sock)
    sock.sendall(b"GET / HTTP/1.1\r\nHost: fans.test\r\n")
    n = 0
    while not stop.wait(1.0):  # one header line a second, never the blank line that ends them
        try:
            sock.sendall(f"X-Slow-{n}: a\r\n".encode())
        except OSError:
            return
        n += 1


def test_two_hundred_slow_header_connections_leave_the_site_answering(site: Site) -> None:
    slug = publish_demo(site.app.test_client())
    stop = threading.Event()
    opened: list[socket.socket] = []
    threads = [
        threading.Thread(target=_slow_client, args=(site.base, stop, opened), daemon=True) for _ in range(200)
    ]
    try:
        for t in threads:
            t.start()
        deadline = time.monotonic() + 30
        while len(opened) < 200:
            assert time.monotonic() < deadline, f"only {len(opened)} slow connections opened"
            time.sleep(0.05)
        time.sleep(2.0)  # every slow client is now mid-headers
        for path in ("/", f"/s/{slug}", f"/s/{slug}.json", "/healthz", f"/s/{slug}.png"):
            for _ in range(3):
                r = requests.get(site.base + path, timeout=ANSWER_WITHIN)
                assert r.status_code == 200, path
    finally:
        stop.set()
        for sock in opened:
            sock.close()


def test_forwarded_headers_from_anyone_never_reach_a_stored_page(site: Site) -> None:
    slug = publish_demo(site.app.test_client())
    forged = {
        "SCRIPT_NAME": "//evil.example",
        "X-Forwarded-Prefix": "//evil.example",
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
        "X-Script-Name": "//evil.example",
    }
    for path in (f"/s/{slug}", f"/embed/s/{slug}", f"/s/{slug}.json"):
        attacked = requests.get(site.base + path, headers=forged, timeout=ANSWER_WITHIN)
        assert attacked.status_code == 200
        assert "evil.example" not in attacked.text, path
        for _ in range(3):  # what everyone else gets afterwards, from the store
            assert "evil.example" not in requests.get(site.base + path, timeout=ANSWER_WITHIN).text
    assert 'href="/static/' in requests.get(f"{site.base}/s/{slug}", timeout=ANSWER_WITHIN).text


def test_gunicorns_own_error_answers_carry_the_security_headers(site: Site) -> None:
    host, port = site.base.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=ANSWER_WITHIN) as sock:
        sock.sendall(b"NOT A REQUEST LINE\r\n\r\n")
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].decode("latin1")
    assert head.startswith("HTTP/1.1 400")
    for header in (
        "Content-Security-Policy: default-src 'none'",
        "X-Content-Type-Options: nosniff",
        "X-Frame-Options: DENY",
    ):
        assert header in head, head


def test_a_locked_table_gives_quick_503s_and_stored_pages_stay_up(site: Site) -> None:
    stored = publish_demo(site.app.test_client())
    fresh = publish_demo(site.app.test_client())
    assert requests.get(f"{site.base}/s/{stored}", timeout=ANSWER_WITHIN).status_code == 200  # now stored
    with psycopg.connect(site.database_url) as conn:
        conn.execute("LOCK TABLE episode IN ACCESS EXCLUSIVE MODE")  # held until the block ends
        with concurrent.futures.ThreadPoolExecutor(12) as pool:
            waiting = [
                pool.submit(requests.get, f"{site.base}/s/{fresh}.json", timeout=ANSWER_WITHIN)
                for _ in range(10)
            ]
            for _ in range(5):
                r = requests.get(f"{site.base}/s/{stored}", timeout=ANSWER_WITHIN)
                assert r.status_code == 200, site.log.read_text()[-4000:]
            health = requests.get(f"{site.base}/healthz", timeout=ANSWER_WITHIN)
            assert health.status_code == 200  # the database answers; one table is locked
            for future in waiting:
                busy = future.result()
                assert busy.status_code == 503
                assert busy.headers["Retry-After"] == "5"
        conn.rollback()
    assert requests.get(f"{site.base}/s/{fresh}.json", timeout=ANSWER_WITHIN).status_code == 200


class StallingProxy:
    """A TCP proxy to PostgreSQL that can stop passing bytes on (a database that stopped answering)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.flowing = threading.Event()
        self.flowing.set()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.close()

    def close(self) -> None:
        self.flowing.set()
        self.server.close()


def test_healthz_answers_503_within_its_deadline_while_the_database_does_not_answer(
    pg_url: str, tmp_path: Path
) -> None:
    migrate.upgrade(pg_url)
    proxy = StallingProxy(("127.0.0.1", 5432))
    try:
        env = {
            "FANAPP_ENV": "development",
            "DATABASE_URL": pg_url.replace("127.0.0.1:5432", f"127.0.0.1:{proxy.port}"),
            "WEB_CONCURRENCY": "1",
        }
        with gunicorn(env, log=tmp_path / "gunicorn.log") as base:
            assert requests.get(base + "/healthz", timeout=ANSWER_WITHIN).status_code == 200
            proxy.flowing.clear()  # from now on the database says nothing
            for _ in range(4):
                started = time.monotonic()
                r = requests.get(base + "/healthz", timeout=ANSWER_WITHIN)
                took = time.monotonic() - started
                assert r.status_code == 503 and r.json()["status"] == "unavailable"
                assert took < 3.0, took  # the deadline is 0.9 s; a loaded machine adds to it
            proxy.flowing.set()
            deadline = time.monotonic() + 20
            while requests.get(base + "/healthz", timeout=ANSWER_WITHIN).status_code != 200:
                assert time.monotonic() < deadline, "healthz did not recover with the database"
                time.sleep(0.2)
    finally:
        proxy.close()
