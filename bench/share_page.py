"""Share-page throughput under gunicorn with wrk on loopback, as a ratio to a bare Flask hello world.

Prints `share_page ratio_to_hello=… p99_ms=… hello_p99_ms=… rps=… hello_rps=…` (64 connections), then
the same for `share_page_uncached` (PAGE_CACHE_SECONDS=0: every request renders from the database).
Both servers run the same gunicorn settings, one after the other, on this machine's 2 cores.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
CONNECTIONS = 64
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(target: str, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    proc = subprocess.Popen(
        [GUNICORN, target, "--bind", f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT,
        env={**os.environ, **env},
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            requests.get(base + "/", timeout=5)
            return proc, base
        except requests.RequestException:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"{target} did not start")


def _wrk(url: str) -> tuple[float, float]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "--latency", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99


def _published_slug(database_url: str) -> str:
    sys.path.insert(0, str(ROOT))
    from fanapp import create_app
    from fanapp.data import migrate
    from tests.conftest import make_settings, publish_demo

    migrate.upgrade(database_url)
    app = create_app(make_settings(database_url))
    app.testing = True
    slug = publish_demo(app.test_client())
    app.extensions["fanapp.engine"].dispose()
    return slug


def main() -> None:
    """Measure hello world, then the share page, and print the summary line."""
    if shutil.which("wrk") is None:
        print("share_page skipped=1 reason=wrk-not-installed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        database_url = f"sqlite:///{tmp}/bench.sqlite3"
        slug = _published_slug(database_url)
        hello, base = _serve("bench.hello:app", {})
        try:
            _wrk(base + "/")  # warm-up
            hello_rps, hello_p99 = _wrk(base + "/")
        finally:
            hello.terminate()
            hello.wait()
        env = {"DATABASE_URL": database_url, "FANAPP_ENV": "development"}
        for name, cache_seconds in (("share_page", "60"), ("share_page_uncached", "0")):
            share, base = _serve("fanapp:create_app()", {**env, "PAGE_CACHE_SECONDS": cache_seconds})
            try:
                _wrk(f"{base}/s/{slug}")  # warm-up: caches filled, as on release day after the first visit
                rps, p99 = _wrk(f"{base}/s/{slug}")
            finally:
                share.terminate()
                share.wait()
            print(
                f"{name} ratio_to_hello={rps / hello_rps:.2f} p99_ms={p99:.1f} hello_p99_ms={hello_p99:.1f} "
                f"rps={rps:.0f} hello_rps={hello_rps:.0f} connections={CONNECTIONS}"
            )


if __name__ == "__main__":
    main()
