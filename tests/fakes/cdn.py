"""Local doubles of the two CDN purge APIs fanapp can call on a take-down, shaped like their published
APIs, so the purger is tested over real HTTP:

- Fastly, batch purge by surrogate key: `POST /service/{service_id}/purge`, the API token in
  `Fastly-Key`, the keys in a JSON body `{"surrogate_keys": [...]}` (at most 256); the answer maps each
  key to a purge id. A wrong token answers 401 `{"msg": "Provided credentials are missing or invalid"}`.
- Cloudflare, purge by cache tag: `POST /client/v4/zones/{zone_id}/purge_cache`, `Authorization: Bearer
  <token>`, a JSON body `{"tags": [...]}` (at most 30 here); the answer is Cloudflare's envelope
  `{"success": true, "errors": [], "messages": [], "result": {"id": ...}}`, a wrong token
  `{"success": false, "errors": [{"code": 10000, "message": "Authentication error"}]}` with 403.

Every purge is recorded in `purged` (the keys, in order); `fail_next` makes the next calls answer 503.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.http import BackgroundServer

FASTLY_MAX_KEYS = 256
CLOUDFLARE_MAX_TAGS = 30


@dataclass
class FakeCDN:
    """One double for both APIs (each under its own path), with one token and one service/zone id."""

    token: str = field(default_factory=lambda: uuid.uuid4().hex)
    service_id: str = "SU1Z0isxPaozGVKXdv0eY"
    zone_id: str = "023e105f4ecef8ad9ca31a8372d0c353"
    purged: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    fail_next: int = 0
    base_url: str = ""

    @property
    def fastly_url(self) -> str:
        return f"{self.base_url}/service/{self.service_id}/purge"

    @property
    def cloudflare_url(self) -> str:
        return f"{self.base_url}/client/v4/zones/{self.zone_id}/purge_cache"

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.calls.append(f"{request.method} {request.path}")
        response = self.answer(request)
        return response(environ, start_response)

    def answer(self, request: Request) -> Response:
        if self.fail_next > 0:
            self.fail_next -= 1
            return Response("upstream unavailable", status=503)
        if request.method != "POST":
            return _json({"msg": "Method not allowed"}, 405)
        if request.path == f"/service/{self.service_id}/purge":
            return self._fastly(request)
        if request.path == f"/client/v4/zones/{self.zone_id}/purge_cache":
            return self._cloudflare(request)
        return _json({"msg": "Record not found"}, 404)

    def _fastly(self, request: Request) -> Response:
        if request.headers.get("Fastly-Key") != self.token:
            return _json({"msg": "Provided credentials are missing or invalid"}, 401)
        header = request.headers.get("Surrogate-Key", "")
        keys = header.split() if header else (request.get_json(silent=True) or {}).get("surrogate_keys")
        if not isinstance(keys, list) or not keys or len(keys) > FASTLY_MAX_KEYS:
            return _json({"msg": "Bad request", "detail": "surrogate_keys: 1 to 256 keys"}, 400)
        self.purged.extend(keys)
        return _json({key: f"{uuid.uuid4().int % 10**18}-{i}" for i, key in enumerate(keys)}, 200)

    def _cloudflare(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _json(
                {
                    "success": False,
                    "errors": [{"code": 10000, "message": "Authentication error"}],
                    "messages": [],
                    "result": None,
                },
                403,
            )
        tags = (request.get_json(silent=True) or {}).get("tags")
        if not isinstance(tags, list) or not tags or len(tags) > CLOUDFLARE_MAX_TAGS:
            return _json(
                {
                    "success": False,
                    "errors": [{"code": 1122, "message": "tags: 1 to 30 tags"}],
                    "messages": [],
                    "result": None,
                },
                400,
            )
        self.purged.extend(tags)
        return _json({"success": True, "errors": [], "messages": [], "result": {"id": self.zone_id}}, 200)

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeCDN]:
        """Serve the double on a free loopback port for the block."""
        fake = cls()
        with BackgroundServer(fake) as server:
            fake.base_url = server.base_url
            yield fake


def _json(payload: Any, status: int) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")
