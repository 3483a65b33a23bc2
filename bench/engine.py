"""Engine benchmark: median time of `propose` (casting, arcs, top-3 mash-up) on synthetic histories.

Prints one line per size, e.g. `engine songs=5000 median_ms=12.3` (and `songs=50000`).
"""

from __future__ import annotations

import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from fanapp.engine import Feature, Features, TrackProfile, propose

SIZES = (100, 1_000, 5_000, 50_000)
REPEATS = 15
SEED = 20_251_125
_NOW = datetime(2025, 11, 25, 12, tzinfo=UTC)


def _features(rng: random.Random) -> Features:
    """About 70% of songs have features (some of them absurd), the rest none, as from real sources."""
    if rng.random() >= 0.7:
        return Features()
    source = rng.choice(("spotify", "reccobeats", "deezer"))
    energy = rng.betavariate(2, 2)
    values = {
        "tempo": rng.choice((0.0, 1000.0)) if rng.random() < 0.01 else rng.gauss(118, 22),
        "key": -1.0 if rng.random() < 0.01 else float(rng.randrange(12)),
        "mode": float(rng.random() < 0.6),
        "energy": energy,
        "valence": min(1.0, max(0.0, rng.gauss(0.3 + 0.4 * energy, 0.2))),
        "danceability": rng.betavariate(3, 2),
        "acousticness": min(1.0, max(0.0, 1 - energy + rng.gauss(0, 0.15))),
        "instrumentalness": rng.betavariate(0.5, 5),
        "speechiness": rng.betavariate(1, 12),
    }
    return Features(**{name: Feature(value, source) for name, value in values.items()})


def history(size: int, seed: int = SEED) -> list[TrackProfile]:
    """A deterministic synthetic history of `size` songs: top lists, plays, saves, a few duplicates."""
    rng = random.Random(seed * 100_003 + size)
    artists = [f"Artist {n}" for n in range(max(5, size // 12))]
    tracks = []
    for n in range(size):
        ranks = {
            time_range: rank
            for time_range in ("short_term", "medium_term", "long_term")
            if (rank := rng.randrange(1, size + 1)) <= 50
        }
        plays = tuple(
            _NOW - timedelta(days=rng.randrange(60), hours=rng.randrange(24))
            for _ in range(rng.choice((0, 0, 1, 3)))
        )
        tracks.append(
            TrackProfile(
                id="" if rng.random() < 0.01 else f"track{n:06d}",
                title=f"Song {n}",
                artists=(rng.choice(artists),),
                album=f"Album {n // 10}",
                release_year=rng.randrange(1960, 2026),
                duration_ms=rng.randrange(120_000, 420_000),
                isrc=f"XX{n:010d}",
                top_ranks=ranks,
                play_times=plays,
                play_count=int(rng.lognormvariate(1.5, 1.2)),
                saved_at=_NOW - timedelta(days=rng.randrange(2000)) if rng.random() < 0.3 else None,
                features=_features(rng),
            )
        )
    # The same song from two sources: same id, different listening data.
    for n in rng.sample(range(size), size // 50):
        tracks.append(
            TrackProfile(id=tracks[n].id, title=tracks[n].title, artists=tracks[n].artists, play_count=3)
        )
    return tracks


def median_ms(tracks: list[TrackProfile], repeats: int = REPEATS) -> float:
    """The median wall time of `propose` on these tracks, in milliseconds."""
    propose(tracks)  # warm caches (archetype file, imports) outside the timing
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        propose(tracks)
        timings.append(time.perf_counter() - start)
    return statistics.median(timings) * 1000


def main() -> None:
    """Print one summary line per history size."""
    for size in SIZES:
        print(f"engine songs={size} median_ms={median_ms(history(size)):.1f}", flush=True)


if __name__ == "__main__":
    main()
