"""The engine against an earlier revision of itself, in the same minutes: CPU time of `propose`.

    .venv/bin/python -m bench.engine_compare REV [ROUNDS]

prints, per size, e.g. `engine_compare songs=50000 base=612326c base_cpu_ms=440.1 cpu_ms=330.2 ratio=0.75`.
REV's `fanapp/` and `bench/` are unpacked with `git archive` into a temporary folder (nothing is checked
out or committed); each round runs REV and this tree one after the other in fresh processes on the same
synthetic histories (`bench.engine.history`), and each process reports the least CPU time of 5 calls.
The figures are medians over the rounds. CPU time, not wall time, and a ratio, because the machine is
shared: other work slows both sides alike, and a ratio measured in the same minutes stays comparable.
Not part of `make bench` (it needs git and takes a few minutes); see docs/PERFORMANCE.md.
"""

from __future__ import annotations

import io
import json
import statistics
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

SIZES = ("5000", "50000")
_ROOT = Path(__file__).resolve().parent.parent
_MEASURE = """
import json, sys, time
from bench.engine import history
from fanapp.engine import propose
found = {}
for size in map(int, sys.argv[1:]):
    tracks = history(size)
    propose(tracks)
    times = []
    for _ in range(5):
        start = time.process_time()
        propose(tracks)
        times.append(time.process_time() - start)
    found[size] = min(times) * 1000
print(json.dumps(found))
"""


def _unpack(rev: str, into: Path) -> None:
    archive = subprocess.run(
        ["git", "-C", str(_ROOT), "archive", "--format=tar", rev, "fanapp", "bench"],
        capture_output=True,
        check=True,
        timeout=120,
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")


def _measure(tree: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *SIZES],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
        timeout=900,
    )
    found: dict[str, float] = json.loads(done.stdout)
    return found


def main() -> None:
    """Print one comparison line per history size."""
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m bench.engine_compare REV [ROUNDS]")
    rev, rounds = sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with tempfile.TemporaryDirectory(prefix="engine-compare-") as folder:
        base = Path(folder)
        _unpack(rev, base)
        runs: dict[str, list[dict[str, float]]] = {"base": [], "this": []}
        for _ in range(rounds):
            runs["base"].append(_measure(base))
            runs["this"].append(_measure(_ROOT))
    for size in SIZES:
        before = statistics.median(run[size] for run in runs["base"])
        after = statistics.median(run[size] for run in runs["this"])
        print(
            f"engine_compare songs={size} base={rev} base_cpu_ms={before:.1f} cpu_ms={after:.1f} "
            f"ratio={after / before:.2f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
