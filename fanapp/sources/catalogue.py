"""The bundled catalogue for picking songs by hand without Spotify: the demo listener's songs."""

from __future__ import annotations

from fanapp.sources import History, ImportedTrack, Progress
from fanapp.sources.demo import DemoSource


def songs() -> list[ImportedTrack]:
    """Every bundled song, without the demo listener's own listening signals."""
    return [
        t.model_copy(update={"top_ranks": {}, "play_times": [], "play_count": 0, "saved_at": None})
        for t in DemoSource().fetch(lambda _stage: None).tracks
    ]


def search(query: str, limit: int = 20) -> list[ImportedTrack]:
    """Bundled songs whose title, artist or album contains the query (all of them for an empty one)."""
    needle = query.strip().casefold()
    found = [t for t in songs() if needle in f"{t.title} {' '.join(t.artists)} {t.album}".casefold()]
    return found[:limit]


def by_id(source_id: str) -> ImportedTrack | None:
    """One bundled song by its id."""
    return next((t for t in songs() if t.source_id == source_id), None)


class PickedSource:
    """A `HistorySource` over songs a visitor picked by hand."""

    name = "pick"

    def __init__(self, tracks: list[ImportedTrack]) -> None:
        self.tracks = tracks

    def fetch(self, progress: Progress) -> History:
        """The picks, as they are."""
        progress("Reading the songs you picked")
        return History(tracks=list(self.tracks), notes=["You picked these songs by hand."])
