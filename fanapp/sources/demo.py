"""The bundled demo listener: about 60 well-known songs, so anyone can try the journey without an account."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any

from fanapp.engine import FEATURE_NAMES
from fanapp.sources import History, ImportedTrack, Progress


@cache
def demo_data() -> dict[str, Any]:
    """The demo listener file, parsed once per process."""
    text = resources.files("fanapp.sources").joinpath("demo_listener.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _track(raw: dict[str, Any], today: date) -> ImportedTrack:
    # The file stores hours of day of recent plays; spread them over the last days so they read as real times.
    plays = [
        datetime.combine(today - timedelta(days=i), time(hour=int(h)), tzinfo=UTC)
        for i, h in enumerate(raw.get("play_hours", []))
    ]
    saved = raw.get("saved")
    return ImportedTrack(
        source_id=raw["id"],
        title=raw["title"],
        artists=list(raw["artists"]),
        album=raw.get("album", ""),
        release_year=raw.get("release_year"),
        duration_ms=raw.get("duration_ms"),
        explicit=bool(raw.get("explicit", False)),
        top_ranks=dict(raw.get("top", {})),
        play_times=plays,
        play_count=max(int(raw.get("plays", 0)), len(plays)),
        saved_at=datetime.fromisoformat(saved).replace(tzinfo=UTC) if saved else None,
        features={
            k: {"value": float(raw[k]), "source": "demo"} for k in FEATURE_NAMES if raw.get(k) is not None
        },
    )


class DemoSource:
    """A `HistorySource` reading the bundled demo listener."""

    name = "demo"

    def __init__(self, today: date | None = None) -> None:
        self.today = today or datetime.now(UTC).date()

    def fetch(self, progress: Progress) -> History:
        """Load the demo songs (no network)."""
        progress("Loading the demo listener's songs")
        data = demo_data()
        return History(
            tracks=[_track(raw, self.today) for raw in data["tracks"]],
            display_name=data["listener"]["display_name"],
            notes=["This is a made-up demo listener; tempo and key values are approximate."],
        )
