"""Fault modes of the Spotify double: scripted statuses, rate limits, server errors, slow and cut-off
answers, and the development-mode 403, on any path prefix of the accounts service or the Web API."""

from __future__ import annotations

import json
from collections.abc import Sequence
from http import HTTPStatus

from werkzeug.wrappers import Response

from tests.fakes.spotify.state import Fault, SpotifyState
from tests.fakes.spotify.wire import Json, api_error, json_response

DEV_MODE_FORBIDDEN = "User not registered in the Developer Dashboard"


class FaultModes(SpotifyState):
    """The fault switches of `FakeSpotify`, and the answer a request gets when a fault catches it."""

    def add_fault(
        self,
        path_prefix: str,
        status: int | None,
        *,
        times: int | None = 1,
        headers: dict[str, str] | None = None,
        body: str | bytes | None = None,
        delay: float = 0.0,
    ) -> Fault:
        """Answer the next ``times`` requests (None = forever) under ``path_prefix`` with ``status``.

        ``path_prefix`` is relative to the server root ("/v1/me/top", "/accounts/api/token").  Without
        ``body`` an error status gets Spotify's error object, while ``None`` or a 2xx/3xx status serves
        the normal response (after ``delay``).  A body starting with ``{`` or ``[`` is sent as JSON,
        anything else as plain text, unless ``headers`` set Content-Type.
        """
        return self._add(Fault(path_prefix, (status,), times, dict(headers or {}), body, delay))

    def rate_limit(self, path_prefix: str = "/v1/", retry_after: int = 1, times: int | None = None) -> Fault:
        """429 with ``Retry-After`` and Spotify's error body."""
        body = json.dumps({"error": {"status": 429, "message": "API rate limit exceeded"}})
        return self.add_fault(
            path_prefix, 429, times=times, headers={"Retry-After": str(retry_after)}, body=body
        )

    def server_errors(
        self, path_prefix: str = "/v1/", statuses: Sequence[int] = (500, 502, 503), times: int | None = 3
    ) -> Fault:
        """The next ``times`` requests (None = forever) fail, cycling through ``statuses``."""
        return self._add(Fault(path_prefix, tuple(statuses), times))

    def slow(self, path_prefix: str = "/v1/", seconds: float = 1.0, times: int | None = None) -> Fault:
        """Delay responses by ``seconds`` (they still succeed)."""
        return self._add(Fault(path_prefix, (None,), times, delay=seconds))

    def malformed_json(self, path_prefix: str = "/v1/", times: int | None = 1) -> Fault:
        """200 with ``application/json`` that is cut off mid-document."""
        return self.add_fault(path_prefix, 200, times=times, body='{"items": [{"track": {"id": ')

    def forbid_user(self, path_prefix: str = "/v1/") -> Fault:
        """Development-mode 403 for a user not on the app's allow-list, which Spotify sends as plain text."""
        return self.add_fault(path_prefix, 403, times=None, body=DEV_MODE_FORBIDDEN)

    def reset_faults(self) -> None:
        """Remove scripted faults and switch off every failure switch."""
        with self._lock:
            self.faults.clear()
            self.foreign_next_url = None
            self.invalid_grant_on_refresh = False
            self.deny_next_authorize = False

    def _add(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def _take_fault(self, path: str) -> tuple[int | None, Fault] | None:
        with self._lock:
            for fault in self.faults:
                if path.startswith(fault.path_prefix) and (fault.remaining is None or fault.remaining > 0):
                    status = fault.statuses[fault.served % len(fault.statuses)]
                    fault.served += 1
                    if fault.remaining is not None:
                        fault.remaining -= 1
                    return status, fault
        return None

    @staticmethod
    def _fault_response(path: str, status: int, fault: Fault) -> Response:
        if fault.body is not None:
            text = fault.body.decode(errors="replace") if isinstance(fault.body, bytes) else fault.body
            looks_json = text.lstrip().startswith(("{", "["))
            content_type = "application/json; charset=utf-8" if looks_json else "text/plain; charset=utf-8"
            return Response(fault.body, status, {"Content-Type": content_type, **fault.headers})
        if path.startswith("/accounts/"):
            payload: Json = {"error": "server_error", "error_description": f"HTTP {status}"}
            return json_response(payload, status, fault.headers)
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "Error"
        return api_error(status, phrase, fault.headers)
