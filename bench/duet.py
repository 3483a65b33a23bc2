"""Duet benchmark: casting the friend's side of a duet (`complement`) against casting a whole episode
(`propose`) from the same history, in the same run.

Prints one line per size, e.g. `duet_cast songs=5000 propose_ms=40.1 complement_ms=30.2 ratio=0.75`
(ratio = complement / propose: what a friend waits for the duet draft, next to a normal draft).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from functools import partial

from bench.engine import history
from fanapp.engine import complement, propose

SIZES = (1_000, 5_000, 50_000)
REPEATS = 9


def _medians_ms(runs: tuple[Callable[[], object], ...], repeats: int) -> list[float]:
    """Median wall times of each run, in milliseconds, timed in turn within each repeat so that a
    loaded machine slows both alike."""
    for run in runs:
        run()  # warm caches outside the timing
    timings: list[list[float]] = [[] for _ in runs]
    for _ in range(repeats):
        for run, times in zip(runs, timings, strict=True):
            start = time.perf_counter()
            run()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) * 1000 for times in timings]


def main() -> None:
    """Print one summary line per history size."""
    inviter = history(1_000, seed=7)
    proposal = propose(inviter)
    by_id = {t.stable_id: t for t in inviter}
    given = [by_id[p.track_id] for p in proposal.b.arc]  # the inviter's character B, as published
    for size in SIZES:
        friend = history(size)
        repeats = REPEATS if size < 50_000 else 5
        runs = (partial(propose, friend), partial(complement, given, friend))
        whole, duet = _medians_ms(runs, repeats)
        figures = f"propose_ms={whole:.1f} complement_ms={duet:.1f} ratio={duet / whole:.2f}"
        print(f"duet_cast songs={size} {figures}", flush=True)


if __name__ == "__main__":
    main()
