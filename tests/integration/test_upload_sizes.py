"""Real exports at real sizes, over real HTTP: gunicorn as the Procfile runs it, the RQ worker, PostgreSQL.

Each upload is generated at run time in `tmp_path` (random names and ids, so it compresses like a real
export, not like a bomb) and sent by `requests` as a browser sends a form: a 6 MB extended history file,
three 15 MB files from three visitors at once, and a 40 MB zip of the account data export with the
files Spotify ships beside the history (`Userdata.json`, `Identifiers.json`, `Payments.json`, a PDF).
Each reaches a builder through the progress page, and the personal values in the account files (an
e-mail address, a username, a card number, a postal code, an IP address) appear nowhere: not in the
pages, the share JSON, the processes' logs, a dump of the database, or the upload folder, which is
empty at the end. A 210 MB upload is refused at once with the app's own page, and the server then
serves the next visitor.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import threading
import uuid
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis
import requests
from bs4 import BeautifulSoup
from rq import Queue, Worker

from fanapp.config import Settings
from fanapp.data import migrate
from fanapp.importing import jobs
from tests.conftest import CLOSED_PORT, PG_ADMIN_URL, csrf_from
from tests.fakes.spotify import FakeSpotify
from tests.integration.test_two_processes import (
    BIN,
    READY_TIMEOUT,
    _delete_redis_state,
    _free_port,
    _healthy,
    _path,
    _spawn,
    _stop,
    _until,
    procfile,
)

pytestmark = [pytest.mark.xdist_group("upload-sizes"), pytest.mark.postgres, pytest.mark.redis]

REDIS_URL = "redis://127.0.0.1:6379/0"
MB = 1024 * 1024
IMPORT_TIMEOUT = 120.0  # seconds for an upload to reach a builder on a loaded 2-core machine
_B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

# The personal values of the account files: unique to this run, so finding one anywhere is a leak.
RUN = secrets.token_hex(6)
PERSONAL = {
    "email": f"leak-{RUN}@example.org",
    "username": f"user{RUN}",
    "card": f"4111{RUN[:6].translate(str.maketrans('abcdef', '123456'))}111",
    "postal": f"PC-{RUN}",
    "ip": f"203.0.113.{int(RUN[:2], 16) % 250 + 1}-{RUN}",
    "device": f"device-{RUN}",
}


# -- generated exports -----------------------------------------------------------------------------


def _id(rng: random.Random) -> str:
    return "".join(rng.choices(_B62, k=22))


def _word(rng: random.Random) -> str:
    return "".join(rng.choices("abcdefghijklmnopqrstuvwxyz", k=rng.randrange(4, 10))).title()


def extended_history(path: Path, size: int, seed: int) -> Path:
    """A `Streaming_History_Audio_*.json` of about `size` bytes, with every field Spotify writes."""
    rng = random.Random(seed)
    songs = [
        (_id(rng), f"{_word(rng)} {_word(rng)}", f"{_word(rng)} {_word(rng)}", _word(rng)) for _ in range(900)
    ]
    start = datetime(2023, 1, 1, tzinfo=UTC)
    entries = []
    written = 2
    n = 0
    while written < size:
        sid, title, artist, album = songs[min(int(rng.paretovariate(1.2)) - 1, len(songs) - 1)]
        entry = {
            "ts": (start + timedelta(minutes=4 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "platform": "android",
            "ms_played": rng.randrange(20_000, 300_000),
            "conn_country": "SE",
            "ip_addr": PERSONAL["ip"],
            "master_metadata_track_name": title,
            "master_metadata_album_artist_name": artist,
            "master_metadata_album_album_name": album,
            "spotify_track_uri": f"spotify:track:{sid}",
            "episode_name": None,
            "episode_show_name": None,
            "spotify_episode_uri": None,
            "audiobook_title": None,
            "audiobook_uri": None,
            "audiobook_chapter_uri": None,
            "audiobook_chapter_title": None,
            "reason_start": "trackdone",
            "reason_end": "trackdone",
            "shuffle": rng.random() < 0.4,
            "skipped": False,
            "offline": False,
            "offline_timestamp": None,
            "incognito_mode": False,
        }
        text = json.dumps(entry)
        entries.append(text)
        written += len(text) + 2
        n += 1
    path.write_text("[" + ",\n".join(entries) + "]", "utf-8")
    return path


def account_zip(path: Path, size: int, catalogue: list[tuple[str, str]], seed: int) -> Path:
    """Spotify's account data zip of about `size` bytes: the files it ships, four months of
    `StreamingHistory_music_N.json` (no track ids: some songs are in the Spotify double's catalogue,
    the others are not) and a PDF."""
    rng = random.Random(seed)
    songs = list(catalogue[:30]) + [(f"{_word(rng)} {_word(rng)}", _word(rng)) for _ in range(300)]
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        folder = "Spotify Account Data/"
        archive.writestr(
            folder + "Userdata.json",
            json.dumps(
                {
                    "username": PERSONAL["username"],
                    "email": PERSONAL["email"],
                    "country": "SE",
                    "createdFromFacebook": False,
                    "birthdate": "1990-01-31",
                    "gender": "female",
                    "postalCode": PERSONAL["postal"],
                    "mobileNumber": None,
                    "mobileOperator": None,
                    "mobileBrand": None,
                    "creationTime": "2012-03-04",
                }
            ),
        )
        archive.writestr(
            folder + "Identifiers.json",
            json.dumps({"identifierType": "email", "identifierValue": PERSONAL["email"]}),
        )
        archive.writestr(
            folder + "Payments.json",
            json.dumps(
                {
                    "payment_method": "Visa",
                    "creation_date": "2019-05-06",
                    "country": "SE",
                    "postal_code": PERSONAL["postal"],
                    "card_number": PERSONAL["card"],
                }
            ),
        )
        archive.writestr(folder + "Inferences.json", json.dumps({"inferences": [PERSONAL["device"]]}))
        for i in range(4):
            plays = []
            for n in range(8_000):
                title, artist = songs[min(int(rng.paretovariate(1.1)) - 1, len(songs) - 1)]
                when = start + timedelta(days=30 * i, minutes=5 * n)
                plays.append(
                    {
                        "endTime": when.strftime("%Y-%m-%d %H:%M"),
                        "artistName": artist,
                        "trackName": title,
                        "msPlayed": rng.randrange(10_000, 300_000),
                    }
                )
            archive.writestr(folder + f"StreamingHistory_music_{i}.json", json.dumps(plays, indent=2))
        # The rest is the PDF Spotify adds ("Read Me First"): incompressible, so the zip is `size`.
        with archive.open(folder + "Read_Me_First.pdf", "w") as pdf:
            pdf.write(b"%PDF-1.7\n")
            left = size - path.stat().st_size if path.exists() else size
            while left > 0:
                pdf.write(os.urandom(min(left, 4 * MB)))
                left -= 4 * MB
    return path


def multipart_body(path: Path, token: str, files: list[Path]) -> tuple[Path, str]:
    """The form a browser posts, written to disk (streamed by `requests` from there, never in memory)."""
    boundary = "----fanapp" + secrets.token_hex(12)
    body = path.with_suffix(".body")
    with body.open("wb") as out:
        out.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'.encode()
        )
        for f in files:
            kind = "application/zip" if f.suffix == ".zip" else "application/json"
            out.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{f.name}"\r\n'
                f"Content-Type: {kind}\r\n\r\n".encode()
            )
            with f.open("rb") as data:
                while block := data.read(4 * MB):
                    out.write(block)
            out.write(b"\r\n")
        out.write(f"--{boundary}--\r\n".encode())
    return body, f"multipart/form-data; boundary={boundary}"


# -- the server --------------------------------------------------------------------------------------


@dataclass
class Server:
    base: str
    env: dict[str, str]
    settings: Settings
    database: str
    fake: FakeSpotify
    uploads: Path
    logs: list[Path]
    procs: dict[str, subprocess.Popen[bytes]]

    def diagnostics(self) -> str:
        parts = [
            f"--- {n}: {'running' if p.poll() is None else f'exited {p.returncode}'}"
            for n, p in self.procs.items()
        ]
        for log in self.logs:
            text = log.read_text(errors="replace") if log.exists() else "(no log)"
            parts.append(f"--- {log.name}:\n{text[-4000:]}")
        return "\n".join(parts)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """gunicorn and the RQ worker as the Procfile starts them, on a database and Redis prefix of their own."""
    work = tmp_path_factory.mktemp("upload-sizes")
    tmpdir = work / "tmp"  # the processes' TMPDIR: their upload folder is ours to inspect
    tmpdir.mkdir()
    name = f"fanapp_up_{uuid.uuid4().hex[:12]}"
    database_url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    prefix = f"fanapp-up-{uuid.uuid4().hex}:"
    conn = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=2)
    port = _free_port()
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        migrate.upgrade(database_url)
        with FakeSpotify.running() as fake:
            env = {
                "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
                "HOME": os.environ.get("HOME", "/tmp"),
                "LANG": "C.UTF-8",
                "TMPDIR": str(tmpdir),
                "PYTHONUNBUFFERED": "1",
                "FANAPP_ENV": "test",
                "SECRET_KEY": secrets.token_urlsafe(48),
                "DATABASE_URL": database_url,
                "REDIS_URL": REDIS_URL,
                "REDIS_PREFIX": prefix,
                "SPOTIPY_CLIENT_ID": fake.client_id,
                "SPOTIPY_CLIENT_SECRET": fake.client_secret,
                "SPOTIPY_REDIRECT_URI": f"http://127.0.0.1:{port}/callback/spotify",
                "SPOTIFY_ACCOUNTS_URL": fake.accounts_url,
                "SPOTIFY_API_URL": fake.api_url,
                "DEEZER_API_URL": CLOSED_PORT,
                "RECCOBEATS_API_URL": CLOSED_PORT,
                "LASTFM_API_URL": CLOSED_PORT,
                "UPSTREAM_TIMEOUT": "3",
                # Each upload searches Spotify for up to 50 songs, and five uploads here can fall in one
                # 30 s window: the default 120 calls would refuse a later test's searches (sizes are
                # this module's subject; the budget has tests of its own).
                "SPOTIFY_CALL_BUDGET": "1000",
                "RATE_LIMIT_CONNECT": "3 per minute",
                "TRUSTED_PROXIES": "1",  # each test's visitor sends its own X-Forwarded-For
            }
            settings = Settings.from_env(environ=env)
            logs = [work / "web.log", work / "worker.log"]  # the web log has the access log too
            # Both exactly as the Procfile starts them (gunicorn.conf.py included), on a port of our own.
            web_env = {**env, "PORT": str(port), "WEB_CONCURRENCY": "2"}
            procs["web"] = _spawn("web", ["bash", "-c", "exec " + procfile()["web"]], web_env, logs[0])
            procs["worker"] = _spawn("worker", ["bash", "-c", "exec " + procfile()["worker"]], env, logs[1])
            s = Server(
                base=f"http://127.0.0.1:{port}",
                env=env,
                settings=settings,
                database=name,
                fake=fake,
                uploads=tmpdir / "fanapp-uploads",
                logs=logs,
                procs=procs,
            )
            queue = Queue(jobs.queue(settings).name, connection=conn)

            def ready() -> bool:
                for proc_name, proc in procs.items():
                    if proc.poll() is not None:
                        pytest.fail(f"{proc_name} exited\n{s.diagnostics()}")
                return _healthy(s.base) and bool(Worker.all(connection=conn, queue=queue))

            _until("gunicorn and the worker", ready, READY_TIMEOUT, s.diagnostics)
            yield s
    finally:
        for proc in procs.values():
            _stop(proc)
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


_addresses = iter(f"10.{secrets.randbelow(256)}.{secrets.randbelow(256)}.{n}" for n in range(1, 255))


def browser() -> requests.Session:
    """A visitor of its own (a client address of its own, for the rate limit)."""
    b = requests.Session()
    b.headers["X-Forwarded-For"] = next(_addresses)
    return b


def upload(server: Server, b: requests.Session, files: list[Path]) -> requests.Response:
    token = csrf_from(b.get(server.base + "/", timeout=10).text)
    body, kind = multipart_body(files[0], token, files)
    try:
        with body.open("rb") as data:
            return b.post(
                server.base + "/upload",
                data=data,
                headers={"Content-Type": kind},
                allow_redirects=False,
                timeout=120,
            )
    finally:
        body.unlink()


def to_builder(server: Server, b: requests.Session, start: requests.Response) -> tuple[str, list[str]]:
    """From the upload's 303, poll the progress page to the builder; (builder path, pages seen)."""
    assert start.status_code == 303, f"{start.status_code} {start.text[:600]}\n{server.diagnostics()}"
    progress = _path(start.headers["Location"])
    assert progress.startswith("/import/"), progress
    pages: list[str] = []

    def moved_on() -> str | None:
        r = b.get(server.base + progress, allow_redirects=False, timeout=10)
        pages.append(r.text)
        if r.status_code == 200 and 'id="progress"' in r.text:
            return None
        assert r.status_code == 303, f"{r.status_code} {r.text[:800]}\n{server.diagnostics()}"
        return _path(r.headers["Location"])

    builder = _until(f"the import at {progress}", moved_on, IMPORT_TIMEOUT, server.diagnostics)
    assert builder.startswith("/build/"), builder
    page = b.get(server.base + builder, timeout=10)
    assert page.status_code == 200
    assert BeautifulSoup(page.text, "html.parser").select('[data-testid="track"]')
    pages.append(page.text)
    return builder, pages


# -- the tests ---------------------------------------------------------------------------------------


def test_a_6_mb_extended_history_file_reaches_a_builder(server: Server, tmp_path: Path) -> None:
    f = extended_history(tmp_path / "Streaming_History_Audio_2023-2024_0.json", 6 * MB, seed=1)
    assert f.stat().st_size >= 6 * MB
    b = browser()
    _, pages = to_builder(server, b, upload(server, b, [f]))
    assert "We kept" in pages[-1]  # the counts, for the visitor
    assert not any(server.uploads.iterdir())


def test_three_15_mb_files_at_once(server: Server, tmp_path: Path) -> None:
    files = [
        extended_history(tmp_path / f"Streaming_History_Audio_2024_{i}.json", 15 * MB, seed=10 + i)
        for i in range(3)
    ]
    # All three in one form (one visitor's whole history), and at the same moment two other visitors
    # upload one of them each.
    batches = [files, [files[1]], [files[2]]]
    visitors = [browser() for _ in batches]
    answers: list[Any] = [None] * len(batches)

    def send(i: int) -> None:
        try:
            answers[i] = upload(server, visitors[i], batches[i])
        except Exception as exc:  # reported below, in the test's thread
            answers[i] = exc

    threads = [threading.Thread(target=send, args=(i,)) for i in range(len(batches))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=180)
    assert _healthy(server.base)
    results = [to_builder(server, visitors[i], answers[i]) for i in range(len(batches))]
    assert len({builder for builder, _ in results}) == 3
    assert "from 3 files" in results[0][1][-1]
    # The parsing ran on the worker, not in the web processes.
    worker_log = server.logs[1].read_text(errors="replace")
    assert worker_log.count("run_import_job") >= 3 and "'kind': 'export'" in worker_log
    assert not any(server.uploads.iterdir())


def test_a_40_mb_account_zip_reaches_a_builder_and_its_personal_values_appear_nowhere(
    server: Server, tmp_path: Path
) -> None:
    catalogue = [(t["name"], t["artists"][0]["name"]) for t in server.fake.catalogue]
    f = account_zip(tmp_path / "my_spotify_data.zip", 40 * MB, catalogue, seed=3)
    assert 40 * MB <= f.stat().st_size < 44 * MB
    b = browser()
    builder, pages = to_builder(server, b, upload(server, b, [f]))
    # Old-format songs were looked up on Spotify with the app's token; the page says how many were not.
    assert any(call.path == "/v1/search" for call in server.fake.calls)
    assert "could not be matched to Spotify" in " ".join(pages)
    token = csrf_from(pages[-1])
    published = b.post(
        server.base + builder + "/publish", data={"csrf_token": token}, allow_redirects=False, timeout=10
    )
    assert published.status_code == 303, published.text[:500]
    share = _path(published.headers["Location"])
    seen = [
        *pages,
        b.get(server.base + share, timeout=10).text,
        b.get(server.base + share + ".json", timeout=10).text,
    ]
    seen.append(b.get(server.base + "/my-data/", timeout=10).text)
    for log in server.logs:
        seen.append(log.read_text(errors="replace"))
    dump = subprocess.run(
        ["pg_dump", "--data-only", "-h", "127.0.0.1", "-U", "postgres", server.database],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.decode(errors="replace")
    assert "StreamingHistory" in dump or '"listener"' in dump or "export" in dump  # the dump has the data
    seen.append(dump)
    everything = "\n".join(seen)
    for what, value in PERSONAL.items():
        assert value not in everything, f"the {what} from the account files leaked"
    assert not any(server.uploads.iterdir())


class ZerosBody:
    """A multipart form announcing one file of `size` zero bytes, made as it is sent (no disk, no memory)."""

    def __init__(self, token: str, size: int) -> None:
        self.boundary = "----fanapp" + secrets.token_hex(12)
        self.parts = [
            (
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n'
                f'--{self.boundary}\r\nContent-Disposition: form-data; name="files"; '
                'filename="Streaming_History_Audio_2024_0.json"\r\nContent-Type: application/json\r\n\r\n'
            ).encode(),
            size,
            f"\r\n--{self.boundary}--\r\n".encode(),
        ]
        self.len = len(self.parts[0]) + size + len(self.parts[2])  # what requests sends as Content-Length

    def read(self, n: int = -1) -> bytes:
        while self.parts:
            part = self.parts[0]
            if isinstance(part, int):
                if part == 0:
                    self.parts.pop(0)
                    continue
                take = part if n < 0 else min(max(n, MB), part)  # http.client sends what it gets
                self.parts[0] = part - take
                return bytes(take)
            if not part:
                self.parts.pop(0)
                continue
            take = len(part) if n < 0 else n
            self.parts[0] = part[take:]
            return part[:take]
        return b""


def refused_before_the_body(server: Server, b: requests.Session) -> bytes:
    """Announce 210 MB, send 1 MB of it, and read the answer (if the server waited for the rest of the
    body, this would wait for the socket's timeout and fail)."""
    token = csrf_from(b.get(server.base + "/", timeout=10).text)
    body = ZerosBody(token, 210 * MB)
    host, port = server.base.removeprefix("http://").split(":")
    cookies = "; ".join(f"{k}={v}" for k, v in b.cookies.items())
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        raw.sendall(
            f"POST /upload HTTP/1.1\r\nHost: {host}\r\n"
            f"Content-Type: multipart/form-data; boundary={body.boundary}\r\n"
            f"Content-Length: {body.len}\r\nCookie: {cookies}\r\n"
            f"X-Forwarded-For: {b.headers['X-Forwarded-For']}\r\n\r\n".encode()
            + body.read(MB)
        )
        return raw.recv(65536)


def test_a_210_mb_upload_is_refused_at_once_and_the_server_stays_healthy(
    server: Server, tmp_path: Path
) -> None:
    b = browser()
    token = csrf_from(b.get(server.base + "/", timeout=10).text)
    body = ZerosBody(token, 210 * MB)
    # A client that sends it all, as a browser without JavaScript does, gets the app's page.
    r = b.post(
        server.base + "/upload",
        data=body,
        headers={"Content-Type": f"multipart/form-data; boundary={body.boundary}"},
        allow_redirects=False,
        timeout=120,
    )
    assert r.status_code == 413, r.text[:500]
    page = BeautifulSoup(r.text, "html.parser")
    assert page.select_one('link[rel="stylesheet"][href*="app.css"]') is not None  # the app's own page
    error = page.select_one("#export-error")
    assert error is not None and "200 MB" in error.get_text()
    assert refused_before_the_body(server, b).startswith(b"HTTP/1.1 413")
    assert _healthy(server.base)
    # Refused uploads do not count toward the limit (3 per minute here): this visitor may go on.
    for _ in range(3):
        assert refused_before_the_body(server, b).startswith(b"HTTP/1.1 413")
    f = extended_history(tmp_path / "Streaming_History_Audio_2024_1.json", 1 * MB, seed=5)
    to_builder(server, b, upload(server, b, [f]))
    assert not any(server.uploads.iterdir())
