"""`FakeSpotify`: the accounts service, the listener's history, the catalogue and the fault modes in
one WSGI app, served on 127.0.0.1 by `running()` or `start()`."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any, Self

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map
from werkzeug.wrappers import Request, Response

from tests.fakes.http import BackgroundServer
from tests.fakes.spotify import catalog, history, oauth
from tests.fakes.spotify.catalog import Catalog
from tests.fakes.spotify.faults import FaultModes
from tests.fakes.spotify.history import ListenerHistory
from tests.fakes.spotify.oauth import AccountsService
from tests.fakes.spotify.state import DEFAULT_REDIRECT_URI, Call, TokenRequest
from tests.fakes.spotify.wire import ApiError, OAuthError, api_error, json_response

_URLS = Map([*oauth.RULES, *history.RULES, *catalog.RULES])


class FakeSpotify(AccountsService, ListenerHistory, Catalog, FaultModes):
    """Spotify's accounts service and Web API for one registered app and one user, as a WSGI app."""

    def __init__(
        self,
        client_id: str = "test-client",
        client_secret: str = "test-secret",
        redirect_uri: str = DEFAULT_REDIRECT_URI,
        *,
        seed: int = 0,
        now: datetime | None = None,
    ) -> None:
        """Register the app and build the default library deterministically from ``seed``."""
        super().__init__(client_id, client_secret, redirect_uri, seed=seed, now=now)
        self._server: BackgroundServer | None = None
        self.user = self._make_user()
        self._build_default_library()

    @classmethod
    @contextlib.contextmanager
    def running(cls, *, port: int = 0, **kwargs: Any) -> Iterator[Self]:
        """Construct with ``kwargs``, serve on 127.0.0.1 (a free port unless given), stop on exit."""
        fake = cls(**kwargs)
        fake.start(port=port)
        try:
            yield fake
        finally:
            fake.stop()

    def start(self, host: str = "127.0.0.1", port: int = 0, *, quiet: bool = True) -> Self:
        """Serve in a background thread and point every URL in the library at the bound port."""
        self._server = BackgroundServer(self, host, port, quiet=quiet).start()
        with self._lock:
            self._rebase(self.base_url, self._server.base_url)
            self.base_url = self._server.base_url
        return self

    def stop(self) -> None:
        """Stop serving; requests sleeping in a ``slow`` fault are woken first."""
        self._stopping.set()
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._stopping.clear()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """WSGI entry point."""
        request = Request(environ)
        try:
            response = self._dispatch(request)
        except ApiError as exc:
            response = api_error(exc.status, exc.message)
        except OAuthError as exc:
            response = json_response({"error": exc.error, "error_description": exc.description}, 400)
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        path = request.path
        self._record(request)
        hit = self._take_fault(path)
        if hit is not None:
            status, fault = hit
            if fault.delay:
                self._stopping.wait(fault.delay)
            if status is not None and (status >= 400 or fault.body is not None):
                return self._fault_response(path, status, fault)
        normalized = path.rstrip("/") or "/"
        try:
            endpoint, args = _URLS.bind_to_environ(request.environ).match(normalized, request.method)
        except NotFound:
            return api_error(404, "Service not found")
        except MethodNotAllowed:
            return api_error(405, "Method not allowed")
        handler = getattr(self, f"_ep_{endpoint}")
        response: Response = handler(request, **args)
        return response

    def _record(self, request: Request) -> None:
        headers = dict(request.headers)
        with self._lock:
            if request.path.startswith("/v1/"):
                self.calls.append(Call(request.method, request.path, request.args.to_dict(), headers))
            elif request.path == "/accounts/api/token":
                form = request.form.to_dict()
                self.token_requests.append(TokenRequest(form.get("grant_type"), form, headers))
            elif request.path == "/accounts/authorize":
                self.authorize_requests.append(request.args.to_dict())
