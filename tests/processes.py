"""Real servers the serving tests and benchmarks start for themselves, on free loopback ports: a private
Redis (so a test may stall or stop it), gunicorn with the repository's `gunicorn.conf.py`, and Varnish
with the repository's VCL. Each is stopped by its own process id."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import redis
import requests

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
VCL = ROOT / "deploy" / "varnish" / "fanapp.vcl"


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def wait_until_up(url: str, timeout: float = 45.0) -> None:
    """Poll `url` until it answers at all (a loaded machine is slow to import the app)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            requests.get(url, timeout=2)
            return
        except requests.RequestException:
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer within {timeout:.0f} s") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a process this module started (its own process group), politely then firmly."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGCONT)  # a stalled server cannot stop
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


class PrivateRedis:
    """A redis-server of this test's own, which it may stall (SIGSTOP), resume or stop."""

    def __init__(self) -> None:
        """Start it on a free port, keeping nothing on disk."""
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="fanapp-redis-")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.url = f"redis://127.0.0.1:{self.port}/0"
        client = redis.Redis.from_url(self.url, socket_timeout=2)
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.RedisError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def stall(self) -> None:
        """Freeze it: connections stay open and nothing answers."""
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        """Unfreeze it."""
        os.kill(self.proc.pid, signal.SIGCONT)

    def stop(self) -> None:
        """Stop it for good (connections refused from now on)."""
        stop(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    """A private Redis for the duration of the block."""
    server = PrivateRedis()
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def gunicorn(
    env: dict[str, str],
    *,
    target: str = "fanapp:create_app()",
    args: tuple[str, ...] = (),
    log: Path | None = None,
    port: int | None = None,
) -> Iterator[str]:
    """gunicorn with the repository's `gunicorn.conf.py` on `port` (a free one by default); yields its
    base URL."""
    port = port or free_port()
    out = log.open("ab") if log is not None else subprocess.DEVNULL
    proc = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", str(ROOT / "gunicorn.conf.py"), target, *args],
        cwd=ROOT,
        env={
            **os.environ,
            "PATH": f"{BIN}:{os.environ.get('PATH', '')}",
            **env,
            "PORT": str(port),
            "BIND_HOST": "127.0.0.1",
        },
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz")
        yield base
    finally:
        stop(proc)
        if log is not None and not isinstance(out, int):
            out.close()


@contextmanager
def varnish(backend_port: int, port: int | None = None) -> Iterator[str]:
    """Debian's varnishd with the repository's VCL in front of `backend_port`; yields its base URL."""
    port = port or free_port()
    admin = free_port()
    workdir = tempfile.mkdtemp(prefix="fanapp-varnish-")
    os.chmod(workdir, 0o755)  # varnishd started as root reads its VCL as the `varnish` user
    vcl = Path(workdir) / "fanapp.vcl"
    vcl.write_text(VCL.read_text().replace('.port = "8000"', f'.port = "{backend_port}"'))
    vcl.chmod(0o644)
    proc = subprocess.Popen(
        [
            "varnishd",
            "-F",
            "-f",
            str(vcl),
            "-a",
            f"127.0.0.1:{port}",
            "-T",
            f"127.0.0.1:{admin}",
            "-n",
            workdir,
            "-s",
            "malloc,64m",
            "-p",
            "ban_lurker_sleep=0.05",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base + "/healthz", timeout=30)
        yield base
    finally:
        stop(proc)
        shutil.rmtree(workdir, ignore_errors=True)
