"""Engine evaluation on real songs: seven contrasting listeners built from published track features.

The songs are 1,925 chart hits 2000-2019 with the audio features Spotify used to publish
(`bench/data/top_hits.csv.gz`, derived from the shared reference file: one row per song, the
columns the engine reads). Each listener is fed to `propose` as a Spotify import gives a history:
three top lists (short, medium and long term, 50 each), the last 50 plays with their times, and
saved songs, with features as ReccoBeats returns them. Prints one summary line:

    engine_eval profiles=7 clean=7/7 clean_share=1.00 transposed=4 median_rank=40 median_pairs=6225 …

`clean` counts profiles whose suggested pair plays cleanly at once with key lock by the independent judge
(`bench.harmony_check`, which shares no code with the engine's scoring); `median_rank` is the median,
over profiles, of the suggested pair's rank among every cross pair of the two characters' songs by that
judge's score (1 = best; ties share the best rank), `median_top_share` that rank over the pair count.
"""

from __future__ import annotations

import csv
import gzip
import random
import statistics
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import harmony_check
from fanapp.engine import FEATURE_NAMES, Feature, Features, TrackProfile, propose

DATA = Path(__file__).parent / "data" / "top_hits.csv.gz"
NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)

Song = dict[str, str]


def songs() -> list[Song]:
    """The bundled songs."""
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _genre(*words: str) -> Callable[[Song], bool]:
    return lambda s: any(w in s["genre"] for w in words)


PROFILES: dict[str, Callable[[Song], bool]] = {
    "pop": _genre("pop"),
    "hip-hop": _genre("hip hop"),
    "sad songs": lambda s: float(s["valence"]) < 0.35,
    "rock and metal": _genre("rock", "metal"),
    "dance and electronic": _genre("Dance/Electronic"),
    "r&b and latin": _genre("R&B", "latin"),
    "everything": lambda s: True,
}


def listener(name: str, catalogue: list[Song], seed: int = 2026) -> list[TrackProfile]:
    """A listener whose library is mostly songs of one kind, as a Spotify import would give it."""
    rng = random.Random(f"{seed}:{name}")
    liked = [s for s in catalogue if PROFILES[name](s)]
    library = rng.sample(liked, min(140, len(liked))) + rng.sample(catalogue, 20)
    ranks: dict[int, dict[str, int]] = {}
    for time_range, span in (("short_term", 60), ("medium_term", 100), ("long_term", 160)):
        for rank, n in enumerate(rng.sample(range(min(span, len(library))), 50), start=1):
            ranks.setdefault(n, {})[time_range] = rank
    plays: dict[int, list[datetime]] = {}
    for _ in range(50):
        n = rng.randrange(min(40, len(library)))
        plays.setdefault(n, []).append(NOW - timedelta(hours=rng.randrange(24 * 14)))
    tracks = []
    for n, s in enumerate(library):
        features = Features(**{f: Feature(float(s[f]), "reccobeats") for f in FEATURE_NAMES})
        tracks.append(
            TrackProfile(
                id=f"{name[:3]}{n:04d}",
                title=s["song"],
                artists=(s["artist"],),
                release_year=int(s["year"]),
                top_ranks=ranks.get(n, {}),
                play_times=tuple(sorted(plays.get(n, []))),
                saved_at=NOW - timedelta(days=rng.randrange(900)) if rng.random() < 0.55 else None,
                features=features,
            )
        )
    return tracks


def _facts(track: TrackProfile) -> dict[str, float]:
    return {name: float(getattr(track.features, name).value) for name in ("key", "mode", "tempo")}


def evaluate(name: str, catalogue: list[Song]) -> tuple[bool, int, int, bool]:
    """(clean, rank, pairs, transposed) for one listener's suggested pair."""
    tracks = listener(name, catalogue)
    by_id = {t.stable_id: t for t in tracks}
    proposal = propose(tracks)
    pair = proposal.mashups[0]
    chosen = harmony_check.score(_facts(by_id[pair.a_id]), _facts(by_id[pair.b_id]))
    scores = [
        harmony_check.score(_facts(by_id[a]), _facts(by_id[b]))
        for a in proposal.a.member_ids
        for b in proposal.b.member_ids
    ]
    rank = 1 + sum(1 for s in scores if s > chosen + 1e-12)
    ok = harmony_check.clean(_facts(by_id[pair.a_id]), _facts(by_id[pair.b_id]))
    return ok, rank, len(scores), pair.mix.transposed is not None


def main() -> None:
    """Print the evaluation's summary line."""
    catalogue = songs()
    results = [evaluate(name, catalogue) for name in PROFILES]
    clean = sum(r[0] for r in results)
    rank = statistics.median(r[1] for r in results)
    pairs = statistics.median(r[2] for r in results)
    share = statistics.median(r[1] / r[2] for r in results)
    print(
        f"engine_eval profiles={len(results)} clean={clean}/{len(results)} "
        f"clean_share={clean / len(results):.2f} "
        f"transposed={sum(r[3] for r in results)} median_rank={rank:g} median_pairs={pairs:g} "
        f"median_top_share={share:.3f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
