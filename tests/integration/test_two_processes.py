"""Two processes, one truth: two gunicorn processes and one RQ worker on one PostgreSQL and one Redis.

The app keeps no state in a process that another one would need. These tests start process A and
process B (each its own gunicorn) plus the worker of the Procfile, all with the same environment, and
check that a share created on A is served by B, that a session made on A works on B, that rate limits
and Spotify's pause flag are counted once for all of them, that the job queue drains, and that the
access logs (in the Procfile's format) never hold an OAuth `code` or `state`.

A `requests.Session` is the browser: cookies are per host, not per port, so one session talking to
A and B is a browser behind a load balancer. Each browser sends its own client address in
`X-Forwarded-For` (the processes trust one proxy, as they would behind a platform router), so the
rate limits of one test never spill into another.
"""

from __future__ import annotations

import itertools
import os
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import psycopg
import pytest
import redis
import requests
from bs4 import BeautifulSoup
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.intermediate_queue import IntermediateQueue
from rq.job import Job, JobStatus

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data import migrate
from fanapp.data.models import Listener
from fanapp.data.session import get_session
from fanapp.importing import jobs, tokens
from fanapp.sources.spotify.oauth import TokenSet
from tests.conftest import CLOSED_PORT, PG_ADMIN_URL, csrf_from
from tests.fakes.spotify import FakeSpotify

pytestmark = [pytest.mark.xdist_group("two-processes"), pytest.mark.postgres, pytest.mark.redis]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent  # the venv running pytest: its gunicorn and rq
REDIS_URL = "redis://127.0.0.1:6379/0"
READY_TIMEOUT = 45.0  # seconds for a process to answer (a loaded 2-core machine is slow to import)
JOB_TIMEOUT = 45.0  # seconds for the worker to finish an import
STOP_TIMEOUT = 15.0
# Client addresses of this run only (10.x.y.1-254): runs sharing the Redis never share a visitor.
CLIENT_NET = f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}"

T = TypeVar("T")


def procfile() -> dict[str, str]:
    """The Procfile's process types and their command lines."""
    entries = {}
    for line in (ROOT / "Procfile").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, command = line.partition(":")
            entries[name.strip()] = command.strip()
    return entries


def access_log_format() -> str:
    """The `--access-logformat` of the Procfile's web process (the test runs A and B with it)."""
    args = shlex.split(procfile()["web"])
    assert "--access-logformat" in args, "the Procfile's web process must set its access log format"
    return args[args.index("--access-logformat") + 1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _until(what: str, check: Callable[[], T | None], timeout: float, diagnostics: Callable[[], str]) -> T:
    """Poll `check` until it returns something truthy; fail with the processes' logs after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{diagnostics()}")
        time.sleep(0.1)


@dataclass
class Cluster:
    """Processes A and B, the worker, and what they share."""

    a: str
    b: str
    env: dict[str, str]
    settings: Settings
    fake: FakeSpotify
    redis: redis.Redis
    database_url: str
    logs: dict[str, Path]
    access_logs: dict[str, Path]
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def prefix(self) -> str:
        return self.settings.redis_prefix

    def queue(self) -> Queue:
        return Queue(jobs.queue(self.settings).name, connection=self.redis)

    def diagnostics(self) -> str:
        """Whether each process still runs, and the end of its logs."""
        parts = []
        for name, proc in self.procs.items():
            parts.append(f"--- {name}: {'running' if proc.poll() is None else f'exited {proc.returncode}'}")
        for name, path in {**self.logs, **{f"{k} access": v for k, v in self.access_logs.items()}}.items():
            text = path.read_text(errors="replace") if path.exists() else "(no log)"
            parts.append(f"--- {name} log ({path}):\n{text[-6000:]}")
        return "\n".join(parts)

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None:
                pytest.fail(f"process {name} exited with {proc.returncode}\n{self.diagnostics()}")


def _spawn(name: str, args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM (gunicorn and rq shut down gracefully), then SIGKILL to the process group we started."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # its own session: the group holds only this process tree
        proc.wait(timeout=STOP_TIMEOUT)


def _healthy(base: str) -> bool:
    try:
        return requests.get(base + "/healthz", timeout=2).status_code == 200
    except requests.RequestException:
        return False


def _delete_redis_state(conn: redis.Redis, settings: Settings) -> None:
    """Every key this module made: the queue's jobs and registries, limits, pause flags, locks."""
    queue = Queue(jobs.queue(settings).name, connection=conn)
    registries = (
        queue.started_job_registry,
        queue.finished_job_registry,
        queue.failed_job_registry,
        queue.scheduled_job_registry,
        queue.deferred_job_registry,
        queue.canceled_job_registry,
    )
    job_ids = set(queue.get_job_ids())
    for registry in registries:
        job_ids.update(registry.get_job_ids())
    for job_id in job_ids:
        conn.delete(f"rq:job:{job_id}", f"rq:results:{job_id}", f"rq:executions:{job_id}")
    for worker in Worker.all(connection=conn, queue=queue):
        conn.srem("rq:workers", worker.key)
        conn.delete(worker.key)
    conn.srem("rq:queues", queue.key)
    # Everything under the prefix, and rate-limit counters of this run's visitors wherever they are.
    for pattern in (f"*{settings.redis_prefix}*", f"*/{CLIENT_NET}.*"):
        keys = list(conn.scan_iter(match=pattern, count=1000))
        if keys:
            conn.delete(*keys)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A fresh migrated database, a Redis prefix of its own, the Spotify double, A, B and the worker."""
    logs_dir = tmp_path_factory.mktemp("two-processes")
    name = f"fanapp_2p_{uuid.uuid4().hex[:12]}"
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    prefix = f"fanapp-2p-{uuid.uuid4().hex}:"
    conn = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=2)
    port_a, port_b = _free_port(), _free_port()
    redirect_uri = f"http://127.0.0.1:{port_a}/callback/spotify"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        migrate.upgrade(database_url)
        with FakeSpotify.running(redirect_uri=redirect_uri) as fake:
            env = {
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
                "HOME": os.environ.get("HOME", "/tmp"),
                "LANG": "C.UTF-8",
                "PYTHONUNBUFFERED": "1",
                "FANAPP_ENV": "test",
                "SECRET_KEY": secrets.token_urlsafe(48),  # the same for A, B and the worker
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "REDIS_PREFIX": prefix,
                "PUBLIC_BASE_URL": "https://soundtrack.example",  # what a CDN in front of A and B serves
                "TRUSTED_PROXIES": "1",
                "SPOTIPY_CLIENT_ID": fake.client_id,
                "SPOTIPY_CLIENT_SECRET": fake.client_secret,
                "SPOTIPY_REDIRECT_URI": redirect_uri,
                "SPOTIFY_ACCOUNTS_URL": fake.accounts_url,
                "SPOTIFY_API_URL": fake.api_url,
                "DEEZER_API_URL": CLOSED_PORT,
                "RECCOBEATS_API_URL": CLOSED_PORT,
                "LASTFM_API_URL": CLOSED_PORT,
                "UPSTREAM_TIMEOUT": "3",
                "RATE_LIMIT_CONNECT": "5 per minute",
                "RATE_LIMIT_MISSING": "10 per minute",
            }
            settings = Settings.from_env(environ=env)
            c = Cluster(
                a=f"http://127.0.0.1:{port_a}",
                b=f"http://127.0.0.1:{port_b}",
                env=env,
                settings=settings,
                fake=fake,
                redis=conn,
                database_url=database_url,
                logs={n: logs_dir / f"{n}.log" for n in ("A", "B", "worker")},
                access_logs={n: logs_dir / f"{n}-access.log" for n in ("A", "B")},
            )
            try:
                for proc_name, port in (("A", port_a), ("B", port_b)):
                    c.procs[proc_name] = _spawn(
                        proc_name,
                        [
                            str(BIN / "gunicorn"),
                            "fanapp:create_app()",
                            "--bind",
                            f"127.0.0.1:{port}",
                            "--workers",
                            "1",
                            "--threads",
                            "2",
                            "--timeout",
                            "60",
                            "--access-logfile",
                            str(c.access_logs[proc_name]),
                            "--access-logformat",
                            access_log_format(),
                            # Two masters on one host would share ~/.gunicorn/gunicorn.ctl otherwise.
                            "--no-control-socket",
                        ],
                        env,
                        c.logs[proc_name],
                    )
                # The worker exactly as the Procfile starts it.
                c.procs["worker"] = _spawn(
                    "worker", ["bash", "-c", "exec " + procfile()["worker"]], env, c.logs["worker"]
                )

                def ready() -> bool:
                    c.check_alive()
                    workers = Worker.all(connection=conn, queue=c.queue())
                    return _healthy(c.a) and _healthy(c.b) and bool(workers)

                _until("A, B and the worker to be ready", ready, READY_TIMEOUT, c.diagnostics)
                yield c
            finally:
                for proc in c.procs.values():
                    _stop(proc)
    finally:
        try:
            _delete_redis_state(
                conn,
                Settings.from_env(
                    environ={"FANAPP_ENV": "test", "REDIS_URL": REDIS_URL, "REDIS_PREFIX": prefix}
                ),
            )
        finally:
            conn.close()
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(autouse=True)
def _logs_on_failure(request: pytest.FixtureRequest, cluster: Cluster) -> Iterator[None]:
    """When a test fails, show what A, B and the worker logged (under the failure's report)."""
    failed_before = request.session.testsfailed
    yield
    if request.session.testsfailed > failed_before:
        print(cluster.diagnostics())


_client_addresses = (f"{CLIENT_NET}.{n}" for n in itertools.count(1))


@pytest.fixture
def new_browser() -> Iterator[Callable[[], requests.Session]]:
    """Browsers (cookie jars), each from a client address of its own; closed after the test."""
    made: list[requests.Session] = []

    def make() -> requests.Session:
        browser = requests.Session()
        browser.headers["X-Forwarded-For"] = next(_client_addresses)
        made.append(browser)
        return browser

    yield make
    for browser in made:
        browser.close()


def _path(location: str) -> str:
    parts = urlsplit(location)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _follow_import(cluster: Cluster, browser: requests.Session, base: str, start: requests.Response) -> Any:
    """From the 303 to `/import/<id>`, poll the progress page until it moves on; the last response."""
    assert start.status_code == 303, f"{start.status_code} {start.text[:500]}\n{cluster.diagnostics()}"
    progress = _path(start.headers["Location"])
    assert progress.startswith("/import/"), progress

    def moved_on() -> requests.Response | None:
        cluster.check_alive()
        if crashed := cluster.queue().failed_job_registry.get_job_ids():
            pytest.fail(f"import jobs crashed on the worker: {crashed}\n{cluster.diagnostics()}")
        r = browser.get(base + progress, allow_redirects=False, timeout=10)
        if r.status_code == 200 and 'id="progress"' in r.text and "carry on automatically" not in r.text:
            return None  # still importing
        return r

    return _until(f"the import at {progress}", moved_on, JOB_TIMEOUT, cluster.diagnostics)


def _builder_after(cluster: Cluster, browser: requests.Session, base: str, start: requests.Response) -> str:
    """The builder's path after an import started with `start` (straight there, or via the progress page)."""
    assert start.status_code == 303, f"{start.status_code} {start.text[:800]}\n{cluster.diagnostics()}"
    done = start
    if _path(start.headers["Location"]).startswith("/import/"):
        done = _follow_import(cluster, browser, base, start)
    assert done.status_code == 303, f"{done.status_code} {done.text[:800]}"
    builder = _path(done.headers["Location"])
    assert builder.startswith("/build/"), builder
    return builder


def _demo_builder(cluster: Cluster, browser: requests.Session, base: str) -> str:
    """Landing → demo on `base` (it calls nobody, so it may import inline) → the builder's path."""
    token = csrf_from(browser.get(base + "/", timeout=10).text)
    start = browser.post(base + "/demo", data={"csrf_token": token}, allow_redirects=False, timeout=10)
    return _builder_after(cluster, browser, base, start)


def _track_ids(html: str, character: str) -> list[str]:
    page = BeautifulSoup(html, "html.parser")
    return [
        str(t["data-track-id"]) for t in page.select(f'[data-testid="{character}"] [data-testid="track"]')
    ]


def _publish(browser: requests.Session, base: str, builder: str, token: str) -> str:
    r = browser.post(
        base + builder + "/publish", data={"csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert r.status_code == 303, r.text[:800]
    share = _path(r.headers["Location"])
    assert share.startswith("/s/"), share
    return share.rsplit("/", 1)[-1]


def _spotify_callback(cluster: Cluster, browser: requests.Session, start_on: str, return_to: str) -> Any:
    """Connect on `start_on`, approve on the double, and land Spotify's redirect on `return_to`.

    The redirect URI is A's, but behind a load balancer any process may get the callback: the query
    is sent to `return_to`'s `/callback/spotify` as it is.
    """
    start = browser.get(start_on + "/connect/spotify", allow_redirects=False, timeout=10)
    assert start.status_code == 302, start.text[:500]
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    assert approved.status_code in (302, 303), approved.text
    callback = urlsplit(approved.headers["Location"])
    assert callback.path == "/callback/spotify" and "code=" in callback.query
    return browser.get(f"{return_to}/callback/spotify?{callback.query}", allow_redirects=False, timeout=15)


def _idle(queue: Queue) -> bool:
    """Nothing queued, nothing being taken off the queue, nothing running."""
    taking = IntermediateQueue(queue.key, connection=queue.connection).get_job_ids()
    return queue.count == 0 and not taking and queue.started_job_registry.count == 0


def _wait_for_idle_queue(cluster: Cluster) -> Queue:
    queue = cluster.queue()

    def idle() -> bool:
        cluster.check_alive()
        return _idle(queue)

    _until("the queue to drain", idle, JOB_TIMEOUT, cluster.diagnostics)
    return queue


# -- the tests -----------------------------------------------------------------------------------


def test_a_share_created_on_a_is_served_by_b(
    cluster: Cluster, new_browser: Callable[[], requests.Session]
) -> None:
    browser = new_browser()
    # Connect on A, Spotify's redirect back to A; the import runs on the worker, not on A.
    callback = _spotify_callback(cluster, browser, cluster.a, cluster.a)
    progress = _path(callback.headers.get("Location", ""))
    assert progress.startswith("/import/"), f"{callback.status_code} {progress} {callback.text[:500]}"
    builder = _builder_after(cluster, browser, cluster.a, callback)
    job_id = jobs.job_id(cluster.settings, int(progress.rsplit("/", 1)[-1]))
    assert job_id in cluster.queue().finished_job_registry.get_job_ids()
    token = csrf_from(browser.get(cluster.a + builder, timeout=10).text)
    slug = _publish(browser, cluster.a, builder, token)

    visitor = new_browser()  # no cookies: someone who got the link
    pages = {base: visitor.get(f"{base}/s/{slug}", timeout=10) for base in (cluster.a, cluster.b)}
    as_json = {base: visitor.get(f"{base}/s/{slug}.json", timeout=10) for base in (cluster.b, cluster.a)}
    images = {base: visitor.get(f"{base}/s/{slug}.png", timeout=30) for base in (cluster.b, cluster.a)}
    for responses in (pages, as_json, images):
        for base, r in responses.items():
            assert r.status_code == 200, f"{base}{urlsplit(r.url).path}: {r.status_code}\n{r.text[:500]}"
    assert as_json[cluster.b].json() == as_json[cluster.a].json()
    assert as_json[cluster.b].json()["url"] == f"https://soundtrack.example/s/{slug}"
    assert images[cluster.b].headers["Content-Type"] == "image/png"
    assert images[cluster.b].content[:8] == b"\x89PNG\r\n\x1a\n"
    # What a CDN in front of both keeps is the same whichever process answered.
    for responses in (pages, as_json, images):
        etags = {r.headers["ETag"] for r in responses.values()}
        assert len(etags) == 1, etags
    assert _track_ids(pages[cluster.b].text, "character-a") == _track_ids(
        pages[cluster.a].text, "character-a"
    )


def test_a_session_made_on_a_works_on_b(
    cluster: Cluster, new_browser: Callable[[], requests.Session]
) -> None:
    browser = new_browser()
    builder = _demo_builder(cluster, browser, cluster.a)
    on_a = browser.get(cluster.a + builder, timeout=10)
    on_b = browser.get(cluster.b + builder, timeout=10)
    assert on_a.status_code == on_b.status_code == 200, on_b.text[:500]
    ids = _track_ids(on_a.text, "character-a")
    assert len(ids) == 3 and _track_ids(on_b.text, "character-a") == ids

    # The CSRF token A put in the page is good on B (signed cookie, same SECRET_KEY).
    slug = _publish(browser, cluster.b, builder, csrf_from(on_a.text))
    assert new_browser().get(f"{cluster.a}/s/{slug}", timeout=10).status_code == 200

    # Someone else's browser gets nothing from either process.
    stranger = new_browser()
    for base in (cluster.a, cluster.b):
        assert stranger.get(base + builder, timeout=10).status_code == 404


def test_an_unpublish_on_a_takes_the_share_down_on_b(
    cluster: Cluster, new_browser: Callable[[], requests.Session]
) -> None:
    owner = new_browser()
    builder = _demo_builder(cluster, owner, cluster.a)
    episode_id = int(builder.rsplit("/", 1)[-1])
    slug = _publish(owner, cluster.a, builder, csrf_from(owner.get(cluster.a + builder, timeout=10).text))
    paths = (f"/s/{slug}", f"/s/{slug}.json")
    visitor = new_browser()
    for base, path in itertools.product((cluster.a, cluster.b), paths):
        assert visitor.get(base + path, timeout=10).status_code == 200

    token = csrf_from(owner.get(cluster.a + "/my-data/", timeout=10).text)
    r = owner.post(
        f"{cluster.a}/my-data/unpublish/{episode_id}",
        data={"csrf_token": token, "confirm": "yes"},
        allow_redirects=False,
        timeout=10,
    )
    assert r.status_code == 303
    assert visitor.get(f"{cluster.a}/s/{slug}", timeout=10).status_code == 404
    # Other workers learn of the take-down through a shared counter they read at most once a second.
    deadline = time.monotonic() + 3
    while True:
        still_served = {
            base + path: status
            for base, path in itertools.product((cluster.b, cluster.a), paths)
            if (status := visitor.get(base + path, timeout=10).status_code) not in (404, 429)
        }
        if not still_served or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert still_served == {}, "the link keeps working on the process that did not do the unpublish"


def test_rate_limits_are_counted_once_for_both_processes(
    cluster: Cluster, new_browser: Callable[[], requests.Session]
) -> None:
    browser = new_browser()
    answers = []
    for base in itertools.islice(itertools.cycle((cluster.a, cluster.b)), 7):
        r = browser.get(base + "/connect/spotify", allow_redirects=False, timeout=10)
        answers.append((base, r.status_code, r.headers.get("Retry-After")))
    assert [status for _, status, _ in answers] == [302] * 5 + [429] * 2, answers
    for _, _, retry_after in answers[5:]:
        assert retry_after is not None and 0 < int(retry_after) <= 60, answers

    # Guessing share links: 404s count, alternately on A and B, up to 10 a minute.
    guesser = new_browser()
    statuses = []
    for n, base in enumerate(itertools.islice(itertools.cycle((cluster.b, cluster.a)), 12)):
        r = guesser.get(f"{base}/s/no-such-episode-{n}", timeout=10)
        statuses.append((r.status_code, r.headers.get("Retry-After")))
    assert [s for s, _ in statuses] == [404] * 10 + [429] * 2, statuses
    assert all(retry is not None and int(retry) > 0 for _, retry in statuses[10:]), statuses

    # The limit is per visitor, not for the whole site.
    assert (
        new_browser().get(cluster.b + "/connect/spotify", allow_redirects=False, timeout=10).status_code
        == 302
    )


def test_rate_limit_counters_live_under_the_redis_prefix(
    cluster: Cluster, new_browser: Callable[[], requests.Session]
) -> None:
    """Every counter a visitor causes is under REDIS_PREFIX: apps sharing a Redis never share limits."""
    browser = new_browser()
    address = browser.headers["X-Forwarded-For"]
    assert browser.get(cluster.a + "/connect/spotify", allow_redirects=False, timeout=10).status_code == 302
    assert browser.get(cluster.b + "/s/no-such-episode", timeout=10).status_code == 404
    keys = [k.decode() for k in cluster.redis.scan_iter(match=f"*/{address}/*", count=1000)]
    assert len(keys) >= 2, keys  # the connect limit and the missing-link limit
    assert [k for k in keys if cluster.prefix not in k] == []


def test_spotify_pause_flag_is_shared(cluster: Cluster, new_browser: Callable[[], requests.Session]) -> None:
    fake, flag = cluster.fake, cluster.prefix + "pause:spotify"
    _wait_for_idle_queue(cluster)  # no import of another test may meet the fault below
    assert not cluster.redis.exists(flag)
    fake.rate_limit("/v1/me/top/tracks", retry_after=86400, times=None)
    try:
        browser = new_browser()
        # Started on A, Spotify's redirect lands on B, the import runs on the worker and meets the 429.
        callback = _spotify_callback(cluster, browser, cluster.a, cluster.b)
        failed = _follow_import(cluster, browser, cluster.b, callback)
        assert failed.status_code == 200, failed.text[:800]
        assert "We could not import" in failed.text
        assert re.search("Spotify .*asked us to (wait|pause)", failed.text), failed.text[:2000]
        assert any(call.path == "/v1/me/top/tracks" for call in fake.calls)

        # The worker's 429 set one flag, in Redis, for a day.
        assert cluster.redis.exists(flag)
        ttl = cluster.redis.ttl(flag)
        assert 86400 - 120 < ttl <= 86400, ttl

        # Spotify is fine again, but every process honours the pause: not one more call, not even the
        # token exchange, and the visitor is told why.
        fake.reset_faults()
        calls, token_requests = len(fake.calls), len(fake.token_requests)
        for start_on, return_to in ((cluster.b, cluster.a), (cluster.a, cluster.b)):
            again = _spotify_callback(cluster, new_browser(), start_on, return_to)
            assert again.status_code == 200, again.text[:800]
            assert "slow down" in again.text, again.text[:2000]
            assert 'data-testid="try-demo"' in again.text
        assert len(fake.calls) == calls, fake.calls[calls:]
        assert len(fake.token_requests) == token_requests
    finally:
        fake.reset_faults()
        cluster.redis.delete(flag)


def test_the_job_queue_drains_and_a_double_submit_makes_one_job(cluster: Cluster) -> None:
    queue = _wait_for_idle_queue(cluster)
    assert queue.failed_job_registry.get_job_ids() == []
    assert queue.scheduled_job_registry.get_job_ids() == []  # no import left waiting for Spotify
    finished_before = set(queue.finished_job_registry.get_job_ids())

    fake = cluster.fake
    app = create_app(Settings.from_env(environ=cluster.env))
    try:
        with app.app_context():
            settings: Settings = app.config["SETTINGS"]
            issued = fake.issue_token()
            with get_session() as session:
                listener = Listener(source="spotify")
                session.add(listener)
                session.commit()
                listener_id = listener.id
                assert listener_id is not None
                expires = datetime.now(UTC) + timedelta(hours=1)
                tokens.save(
                    session,
                    settings=settings,
                    listener_id=listener_id,
                    tokens=TokenSet(
                        issued["access_token"], issued["refresh_token"], expires, issued["scope"]
                    ),
                )
            profile_reads = sum(call.path.rstrip("/") == "/v1/me" for call in fake.calls)
            for _ in range(2):  # a double submit
                jobs.start_import(settings=settings, listener_id=listener_id, spec={"kind": "spotify"})

            def imported() -> str | None:
                with get_session() as session:
                    found = session.get(Listener, listener_id)
                    assert found is not None
                    return found.import_status if found.import_status in ("done", "failed") else None

            assert _until("the double-submitted import", imported, JOB_TIMEOUT, cluster.diagnostics) == "done"
    finally:
        app.extensions["fanapp.engine"].dispose()

    queue = _wait_for_idle_queue(cluster)
    job_id = jobs.job_id(cluster.settings, listener_id)
    new = set(queue.finished_job_registry.get_job_ids()) - finished_before
    assert new == {job_id}
    try:
        job = Job.fetch(job_id, connection=cluster.redis)
    except NoSuchJobError:
        pytest.fail(f"job {job_id} is gone\n{cluster.diagnostics()}")
    assert job.get_status() == JobStatus.FINISHED
    assert len(job.results()) == 1, "one submit, one run"
    assert sum(call.path.rstrip("/") == "/v1/me" for call in fake.calls) == profile_reads + 1
    time.sleep(1.0)  # the worker polls continuously: a second copy would have been taken by now
    assert _idle(queue) and len(job.results()) == 1
    assert queue.failed_job_registry.get_job_ids() == []


def test_job_ids_are_namespaced_by_the_redis_prefix(cluster: Cluster) -> None:
    """Two apps sharing one Redis with their own REDIS_PREFIX must not share job records."""
    listener_id = 10**12 + secrets.randbelow(10**6)  # in no database: nobody may run it
    apps = [cluster.settings.override(redis_prefix=f"fanapp-2p-idle-{uuid.uuid4().hex}:") for _ in range(2)]
    try:
        for settings in apps:
            jobs.start_import(settings=settings, listener_id=listener_id, spec={"kind": "spotify"})
        first = Queue(jobs.queue(apps[0]).name, connection=cluster.redis)
        second = Queue(jobs.queue(apps[1]).name, connection=cluster.redis)
        # Shared job ids would let the second enqueue overwrite the first app's job record.
        assert [job.origin for job in first.jobs] == [first.name]
        assert [job.origin for job in second.jobs] == [second.name]
    finally:
        for settings in apps:
            _delete_redis_state(cluster.redis, settings)


def test_access_logs_hold_no_oauth_code_or_state(
    cluster: Cluster, new_browser: Callable[[], requests.Session]
) -> None:
    fmt = access_log_format()
    for atom in ("%(r)s", "%(q)s", "%(f)s", "%(u)s", "%({"):
        assert atom not in fmt, f"{atom} can carry the query string or secrets: {fmt}"

    # A real round trip, Spotify's redirect landing on B, and a forged callback on A.
    browser = new_browser()
    start = browser.get(cluster.a + "/connect/spotify", allow_redirects=False, timeout=10)
    approved = requests.get(start.headers["Location"], allow_redirects=False, timeout=10)
    query = urlsplit(approved.headers["Location"]).query
    secrets_sent = [value for pair in query.split("&") for value in pair.split("=")[1:]]
    assert (
        browser.get(f"{cluster.b}/callback/spotify?{query}", allow_redirects=False, timeout=15).status_code
        == 303
    )
    forged = {"code": secrets.token_urlsafe(24), "state": secrets.token_urlsafe(24)}
    assert browser.get(cluster.a + "/callback/spotify", params=forged, timeout=10).status_code == 400
    secrets_sent += forged.values()

    # The lines are in the Procfile's format: "GET /path HTTP/1.1" status bytes seconds. Gunicorn writes
    # them after answering, so wait for this test's own lines (B: the real callback, A: the forged one).
    expected = {"B": "303", "A": "400"}
    for name, path in cluster.access_logs.items():
        line = re.compile(rf'"GET /callback/spotify HTTP/1\.[01]" {expected[name]} \d+ [\d.]+\n')

        def logged(path: Path = path, line: re.Pattern[str] = line) -> str | None:
            text = path.read_text() if path.exists() else ""
            return text if line.search(text) else None

        text = _until(f"the callback in {name}'s access log", logged, 10, cluster.diagnostics)
        assert "code=" not in text and "state=" not in text and "?" not in text, text[-2000:]
        assert [value for value in secrets_sent if value in text] == []


def test_the_procfile_runs_what_these_tests_ran(cluster: Cluster) -> None:
    entries = procfile()
    assert set(entries) >= {"release", "web", "worker"}
    web = shlex.split(entries["web"])
    assert web[:2] == ["gunicorn", "fanapp:create_app()"]
    assert web[web.index("--bind") + 1] == "0.0.0.0:$PORT"
    assert web[web.index("--access-logfile") + 1] == "-"
    # The worker listens on the queue the app enqueues to, with or without REDIS_PREFIX.
    for prefix in (cluster.prefix, None):
        env = {k: v for k, v in cluster.env.items() if prefix is not None or k != "REDIS_PREFIX"}
        expanded = subprocess.run(
            ["bash", "-c", "set -- " + entries["worker"] + '; printf "%s\\n" "$@"'],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.split("\n")[:-1]
        settings = Settings.from_env(environ=env)
        # A pool of IMPORT_WORKERS workers (each runs RQ's scheduler too), each building the app once.
        assert expanded[:2] == ["rq", "worker-pool"] and "--num-workers" in expanded
        assert expanded[expanded.index("--worker-class") + 1] == "fanapp.worker.AppWorker"
        assert expanded[expanded.index("--url") + 1] == REDIS_URL
        assert expanded[-1] == jobs.queue(settings).name
