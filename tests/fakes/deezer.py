"""A local double of Deezer's public API: `GET /track/isrc:<ISRC>` (and `/track/<id>`), with fault modes.

Payloads follow Deezer's published shapes: a track object (`id`, `title`, `isrc`, `bpm` – 0 when
Deezer does not know it –, `gain`, `duration`, `artist`, `album`, …), and errors sent with HTTP 200 as
`{"error": {"type", "message", "code"}}` (800 "no data", 4 "Quota limit exceeded", 700 "Service busy").
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask, Response, jsonify, request

from tests.fakes.http import Faults, serving

NO_DATA = {"error": {"type": "DataException", "message": "no data", "code": 800}}
QUOTA_EXCEEDED = {"error": {"type": "Exception", "message": "Quota limit exceeded", "code": 4}}
SERVICE_BUSY = {"error": {"type": "Exception", "message": "Service busy", "code": 700}}


def deezer_track(
    isrc: str, *, bpm: float = 120.0, track_id: int = 3135556, title: str = "Song", artist: str = "Artist"
) -> dict[str, Any]:
    """A track object as `GET /track/isrc:<ISRC>` returns it."""
    return {
        "id": track_id,
        "readable": True,
        "title": title,
        "title_short": title,
        "title_version": "",
        "isrc": isrc,
        "link": f"https://www.deezer.com/track/{track_id}",
        "share": f"https://www.deezer.com/track/{track_id}?utm_source=deezer",
        "duration": 215,
        "track_position": 1,
        "disk_number": 1,
        "rank": 754321,
        "release_date": "2001-03-07",
        "explicit_lyrics": False,
        "explicit_content_lyrics": 0,
        "explicit_content_cover": 0,
        "preview": "https://cdnt-preview.dzcdn.net/api/1/1/x/y/z/0/preview.mp3",
        "bpm": bpm,
        "gain": -12.4,
        "available_countries": ["FR", "GB", "US"],
        "contributors": [{"id": 27, "name": artist, "type": "artist", "role": "Main"}],
        "md5_image": "2e018122cb56986277102d2041a592c8",
        "artist": {
            "id": 27,
            "name": artist,
            "link": "https://www.deezer.com/artist/27",
            "picture": "https://api.deezer.com/artist/27/image",
            "type": "artist",
        },
        "album": {
            "id": 302127,
            "title": "Album",
            "link": "https://www.deezer.com/album/302127",
            "cover": "https://api.deezer.com/album/302127/image",
            "release_date": "2001-03-07",
            "type": "album",
        },
        "type": "track",
    }


class FakeDeezer(Faults):
    """The double: a `catalogue` of track objects by ISRC, injectable `faults`, and the `calls` it got."""

    def __init__(self, catalogue: dict[str, dict[str, Any]] | None = None) -> None:
        """A double serving `catalogue` (ISRC -> track object); start it with `running()`."""
        super().__init__()
        self.catalogue: dict[str, dict[str, Any]] = dict(catalogue or {})
        self.calls: list[str] = []  # request paths, in order
        self.base_url = ""
        self.app = self._make_app()

    def add(self, isrc: str, *, bpm: float = 120.0, **kwargs: Any) -> None:
        """Add a song to the catalogue."""
        self.catalogue[isrc] = deezer_track(isrc, bpm=bpm, track_id=3135556 + len(self.catalogue), **kwargs)

    def _make_app(self) -> Flask:
        app = Flask("fake_deezer")

        @app.get("/track/<ref>")
        def track(ref: str) -> Response | tuple[Response, int]:
            self.calls.append(request.path)
            fault = self._next_fault()
            if fault is not None:
                if fault.delay:
                    self._stop.wait(fault.delay)
                if fault.status != 200 or fault.body is not None:
                    response = jsonify(fault.body if fault.body is not None else {})
                    response.status_code = fault.status
                    response.headers.update(fault.headers)
                    return response
            if ref.startswith("isrc:"):
                found = self.catalogue.get(ref.removeprefix("isrc:"))
            else:
                found = next((t for t in self.catalogue.values() if str(t["id"]) == ref), None)
            # Deezer answers a lookup it cannot satisfy with HTTP 200 and an error body.
            return jsonify(found if found is not None else NO_DATA)

        return app

    @classmethod
    @contextmanager
    def running(cls, catalogue: dict[str, dict[str, Any]] | None = None) -> Iterator[FakeDeezer]:
        """Serve a double on 127.0.0.1 (free port) for the block; `base_url` ends with a slash."""
        with serving(cls(catalogue), "/") as fake:
            yield fake
