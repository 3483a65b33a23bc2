"""A local double of ReccoBeats' public API: `GET /v1/audio-features?ids=<Spotify ids>`, with fault modes.

Payloads follow ReccoBeats' published shape: `{"content": [...]}` with one entry per known track, whose
`id` is ReccoBeats' own UUID and whose `href` is the Spotify track link; unknown ids are simply absent.
At most 40 ids per call (400 beyond); rate limiting is a 429 with Retry-After.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes.http import Faults, serving

MAX_IDS = 40


def reccobeats_features(spotify_id: str, **values: float) -> dict[str, Any]:
    """An audio-features entry as ReccoBeats returns it (defaults for the values not given)."""
    entry: dict[str, Any] = {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, spotify_id)),
        "href": f"https://open.spotify.com/track/{spotify_id}",
        "acousticness": 0.12,
        "danceability": 0.64,
        "energy": 0.71,
        "instrumentalness": 0.0001,
        "key": 5,
        "liveness": 0.09,
        "loudness": -6.2,
        "mode": 1,
        "speechiness": 0.04,
        "tempo": 118.2,
        "valence": 0.55,
    }
    entry.update(values)
    return entry


class FakeReccoBeats(Faults):
    """The double: a `catalogue` of feature entries by Spotify id, injectable `faults`, and `calls`."""

    def __init__(self, catalogue: dict[str, dict[str, Any]] | None = None) -> None:
        """A double serving `catalogue` (Spotify id -> entry); start it with `running()`."""
        super().__init__()
        self.catalogue: dict[str, dict[str, Any]] = dict(catalogue or {})
        self.calls: list[list[str]] = []  # the ids of each request, in order
        self.base_url = ""
        self.app = self._make_app()

    def add(self, spotify_id: str, **values: float) -> None:
        """Add a song's features to the catalogue."""
        self.catalogue[spotify_id] = reccobeats_features(spotify_id, **values)

    def _make_app(self) -> Flask:
        app = Flask("fake_reccobeats")

        @app.get("/v1/audio-features")
        def audio_features() -> Response:
            # Both array styles ReccoBeats documents: ?ids=a,b and ?ids=a&ids=b.
            ids = [i for raw in request.args.getlist("ids") for i in raw.split(",") if i]
            self.calls.append(ids)
            fault = self._next_fault()
            if fault is not None:
                if fault.delay:
                    self._stop.wait(fault.delay)
                if fault.status != 200 or fault.body is not None:
                    response = jsonify(fault.body if fault.body is not None else {})
                    response.status_code = fault.status
                    response.headers.update(fault.headers)
                    return response
            if not ids or len(ids) > MAX_IDS:
                response = jsonify({"error": "Bad Request", "message": f"ids must hold 1 to {MAX_IDS} ids"})
                response.status_code = 400
                return response
            return jsonify({"content": [self.catalogue[i] for i in ids if i in self.catalogue]})

        return app

    @classmethod
    @contextmanager
    def running(cls, catalogue: dict[str, dict[str, Any]] | None = None) -> Iterator[FakeReccoBeats]:
        """Serve a double on 127.0.0.1 (free port) for the block; `base_url` is the `/v1/` base."""
        with serving(cls(catalogue), "/v1/") as fake:
            yield fake
