"""Serve a WSGI app on 127.0.0.1 in a background thread, for test doubles of third-party APIs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

WSGIApp = Any  # a WSGI callable; typed loosely because werkzeug's alias lives in its private stubs


class _QuietHandler(WSGIRequestHandler):
    """Request handler that drops the per-request access log line (errors are still logged)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """Skip the access log: test output should only show what went wrong."""


class BackgroundServer:
    """A threaded werkzeug server for ``app`` on ``host:port`` (port 0 picks a free port).

    Use it as a context manager, or call :meth:`start` and :meth:`stop`::

        with BackgroundServer(app) as server:
            requests.get(server.base_url + "/ping")
    """

    def __init__(self, app: WSGIApp, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> None:
        """Remember what to serve; nothing is bound until :meth:`start`."""
        self.app = app
        self.host = host
        self.requested_port = port
        self.quiet = quiet
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (only while running)."""
        if self._server is None:
            raise RuntimeError("server is not running")
        return int(self._server.port)

    @property
    def base_url(self) -> str:
        """``http://host:port`` without a trailing slash (only while running)."""
        return f"http://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> Self:
        """Bind the socket and serve in a daemon thread; returns self."""
        if self._server is not None:
            raise RuntimeError("server already started")
        handler = _QuietHandler if self.quiet else WSGIRequestHandler
        self._server = make_server(
            self.host, self.requested_port, self.app, threaded=True, request_handler=handler
        )
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"wsgi-{self.host}:{self._server.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting requests, close the listening socket and join the thread (idempotent)."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join(timeout=5)

    def serve_until_interrupted(self) -> None:
        """Serve in the foreground until Ctrl-C (for running a double by hand)."""
        self.start()
        try:
            while self.running:
                threading.Event().wait(0.5)
        except KeyboardInterrupt:
            pass
        finally:
            self.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


@dataclass
class Fault:
    """What the next `times` requests get instead of the normal answer (None: every request)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering (then the normal answer, unless status/body is set)
    body: Any = None  # JSON to send instead of the normal answer
    times: int | None = 1


class Faults:
    """A queue of faults for a double to serve, shared by its request threads."""

    def __init__(self) -> None:
        self.faults: list[Fault] = []
        self._faults_lock = threading.Lock()
        self._stop = threading.Event()  # set when the server stops: wakes requests sleeping in a delay

    def fail(
        self,
        status: int = 200,
        *,
        headers: dict[str, str] | None = None,
        delay: float = 0.0,
        body: Any = None,
        times: int | None = 1,
    ) -> None:
        """Queue a fault for the next `times` requests (None: until cleared)."""
        self.faults.append(Fault(status, dict(headers or {}), delay, body, times))

    def _next_fault(self) -> Fault | None:
        with self._faults_lock:
            if not self.faults:
                return None
            fault = self.faults[0]
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.pop(0)
            return fault


@contextmanager
def serving(fake: Any, base_path: str) -> Iterator[Any]:
    """Serve a double's `app` on 127.0.0.1 (free port) for the block, with `fake.base_url` set to the
    server's address plus `base_path`; requests still sleeping in a delay fault are released at the end."""
    with BackgroundServer(fake.app) as server:
        fake.base_url = server.base_url + base_path
        try:
            yield fake
        finally:
            fake._stop.set()


def drip(body: bytes, every: float, stop: threading.Event, sent: list[int]) -> Iterator[bytes]:
    """A response body sent one byte every `every` seconds (a slow drip that never trips a read
    timeout); appends each byte's index to `sent`, and stops early once `stop` is set."""
    for index in range(len(body)):
        if stop.is_set():
            return
        sent.append(index)
        yield body[index : index + 1]
        stop.wait(every)
