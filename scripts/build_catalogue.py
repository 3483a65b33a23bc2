"""Build the bundled catalogue for picking songs by hand without Spotify.

Reads the public reference file of chart hits 2000-2019 with the audio features Spotify used to publish
(`../shared/reference/top-hits-2000-2019.csv`: artist, song, duration, explicit, year, popularity and
features) and writes `fanapp/sources/catalogue_hits.csv.gz`: one row per song (the same song charting
in two years is kept once, its most popular row), the facts and features the app reads, nothing else.

Usage: .venv/bin/python scripts/build_catalogue.py [path/to/top-hits-2000-2019.csv]
"""

from __future__ import annotations

import csv
import gzip
import io
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanapp.engine import FEATURE_NAMES  # noqa: E402
from fanapp.tracks import song_key  # noqa: E402

SOURCE = ROOT.parent / "shared" / "reference" / "top-hits-2000-2019.csv"
TARGET = ROOT / "fanapp" / "sources" / "catalogue_hits.csv.gz"
COLUMNS = ("artist", "song", "year", "duration_ms", "explicit", "popularity", "genre", *FEATURE_NAMES)


def build(source: Path) -> list[dict[str, str]]:
    """The catalogue's rows: one per song, its most popular chart row, in the file's order."""
    best: dict[str, dict[str, str]] = {}
    with source.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            key = song_key(row["artist"], row["song"])
            if key not in best or int(row["popularity"]) > int(best[key]["popularity"]):
                best[key] = row
    return [{name: row[name].strip() for name in COLUMNS} for row in best.values()]


def main() -> None:
    """Write the catalogue file (deterministic: the same input gives the same bytes)."""
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE
    rows = build(source)
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    TARGET.write_bytes(gzip.compress(text.getvalue().encode("utf-8"), mtime=0))
    print(f"{TARGET.relative_to(ROOT)}: {len(rows)} songs from {source.name}")


if __name__ == "__main__":
    main()
