"""Benchmark: parse a 12-file extended streaming history (100,000 plays, about 65 MB), then hostile files.

Prints ``export_parse plays=100000 seconds=… peak_mb=…`` for the loose files (the zip case is
measured too when run with ``--zip``). Targets: under 3 seconds and under 150 MB of extra memory.
Seconds are wall time of `parse_upload` on its own; peak_mb is tracemalloc's peak during a second,
separate parse (tracemalloc slows Python down, so it is not running while timing).

Then ``export_parse_adversarial adversarial_cpu_s=… peak_mb=… … backend=…``: the CPU time (process
time, so other load on the machine counts less) and tracemalloc peak of one-file uploads built to be
expensive: a 5 MB string value, a 5 MB number, a 5 MB and a 50 MB float (the input that made the
old reader quadratic), 50,000-deep nesting, 5 MB of tiny entries (``[0,0,0,…``), and two zips: a
declared bomb (99 MB of zeros in 100 KB) and a padded one (60 MB of tiny entries squeezed to 60 KB,
then padded to 1 MB so that its declared sizes look ordinary), each refused or read.
``adversarial_cpu_s`` and ``peak_mb`` are the worst of them; each has its own figures too, and
``backend`` is the ijson backend that parsed them.

With ``--zip``, ``export_parse_inflate`` also compares the reader's own inflating loop (which checks the
real compression ratio) with `zipfile.ZipFile.open`, the baseline, on the same zip in the same run.
"""

from __future__ import annotations

import io
import json
import random
import statistics
import struct
import sys
import tempfile
import time
import tracemalloc
import zipfile
import zlib
from contextlib import ExitStack, suppress
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fanapp.sources.export import ExportError, ExportLimits, parse_upload
from fanapp.sources.export.reader import BACKEND
from fanapp.sources.export.upload import _Budget, _Inflated

PLAYS = 100_000
FILES = 12
SEED = 20240131
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


def _id(rng: random.Random) -> str:
    return "".join(rng.choice(_BASE62) for _ in range(22))


def _entries(rng: random.Random) -> list[dict[str, Any]]:
    """100,000 plays over 8 years: 6,000 songs (a few loved a lot), 8 % podcasts, 20 % under 30 s."""
    songs = [
        (
            _id(rng),
            f"Song {i} {rng.choice(['Love', 'Night', 'Run', 'Blue'])}",
            f"Artist {i % 900}",
            f"Album {i % 1500}",
        )
        for i in range(6000)
    ]
    weights = [1 / (rank + 5) for rank in range(len(songs))]
    start = datetime(2016, 1, 1, tzinfo=UTC)
    step = (datetime(2024, 1, 31, tzinfo=UTC) - start) / PLAYS
    picks = rng.choices(range(len(songs)), weights=weights, k=PLAYS)
    out = []
    for n in range(PLAYS):
        ts = start + step * n + timedelta(seconds=rng.randrange(60))
        entry: dict[str, Any] = {
            "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "platform": rng.choice(["android", "ios", "windows", "web_player linux"]),
            "ms_played": rng.choice([rng.randrange(0, 30_000), *[rng.randrange(30_000, 400_000)] * 4]),
            "conn_country": rng.choice(["SE", "GB", "DE", "US"]),
            "ip_addr": ".".join(str(rng.randrange(1, 255)) for _ in range(4)),
            "master_metadata_track_name": None,
            "master_metadata_album_artist_name": None,
            "master_metadata_album_album_name": None,
            "spotify_track_uri": None,
            "episode_name": None,
            "episode_show_name": None,
            "spotify_episode_uri": None,
            "audiobook_title": None,
            "audiobook_uri": None,
            "audiobook_chapter_uri": None,
            "audiobook_chapter_title": None,
            "reason_start": rng.choice(["trackdone", "fwdbtn", "clickrow", "playbtn"]),
            "reason_end": rng.choice(["trackdone", "fwdbtn", "endplay", "logout"]),
            "shuffle": rng.random() < 0.4,
            "skipped": rng.random() < 0.2,
            "offline": False,
            "offline_timestamp": int(ts.timestamp() * 1000) if rng.random() < 0.1 else None,
            "incognito_mode": False,
        }
        if rng.random() < 0.08:
            entry["episode_name"] = "Episode " + str(rng.randrange(500))
            entry["episode_show_name"] = "A Show"
            entry["spotify_episode_uri"] = "spotify:episode:" + _id(rng)
        else:
            spotify_id, title, artist, album = songs[picks[n]]
            entry["master_metadata_track_name"] = title
            entry["master_metadata_album_artist_name"] = artist
            entry["master_metadata_album_album_name"] = album
            entry["spotify_track_uri"] = "spotify:track:" + spotify_id
        out.append(entry)
    return out


def write_history(folder: Path) -> list[Path]:
    """The 12 files, named as Spotify names them: each a JSON array of plays, about 3.5 MB."""
    rng = random.Random(SEED)
    entries = _entries(rng)
    paths = []
    per_file = -(-PLAYS // FILES)
    for i in range(FILES):
        chunk = entries[i * per_file : (i + 1) * per_file]
        path = (
            folder / f"Streaming_History_Audio_{2016 + i * 8 // FILES}-{2016 + (i + 1) * 8 // FILES}_{i}.json"
        )
        path.write_text(json.dumps(chunk, ensure_ascii=False), "utf-8")
        paths.append(path)
    return paths


def _parse(paths: list[Path]) -> int:
    with ExitStack() as stack:
        files = [(p.name, stack.enter_context(p.open("rb"))) for p in paths]
        result = parse_upload(files)
    return result.plays_kept + result.skipped_podcasts + result.skipped_short + result.skipped_malformed


def measure(paths: list[Path]) -> tuple[int, float, float]:
    """(plays read, seconds, peak MB) for one upload of these files."""
    started = time.perf_counter()
    plays = _parse(paths)
    seconds = time.perf_counter() - started
    tracemalloc.start()
    try:
        _parse(paths)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return plays, seconds, peak / 1024 / 1024


def _zip(name: str, content: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, content)
    return buffer.getvalue()


def padded_zip(name: str, content: bytes, padding: int) -> bytes:
    """A zip whose deflate stream is followed by `padding` bytes counted in its compressed size."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -15)
    body = squeeze.compress(content) + squeeze.flush() + bytes(range(256)) * (padding // 256)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(name, body)
    data = bytearray(buffer.getvalue())
    crc, size, at = zlib.crc32(content), len(content), data.rfind(b"PK\x01\x02")
    for method, crc_at, size_at in ((8, 14, 22), (at + 10, at + 16, at + 24)):
        data[method : method + 2] = struct.pack("<H", 8)
        data[crc_at : crc_at + 4] = struct.pack("<I", crc)
        data[size_at : size_at + 4] = struct.pack("<I", size)
    return bytes(data)


def measure_inflate(archive: Path, runs: int = 5) -> tuple[float, float]:
    """Median CPU seconds to inflate every member of `archive`: the reader's own loop over zlib (for the
    real compression ratio) and, as the baseline, `zipfile.ZipFile.open`; interleaved runs."""
    limits = ExportLimits()
    ours: list[float] = []
    baseline: list[float] = []
    with archive.open("rb") as stream, zipfile.ZipFile(stream) as zf:
        for _ in range(runs):
            started = time.process_time()
            for info in zf.infolist():
                member = _Inflated(stream, info, info.filename, _Budget(limits))
                while member.read(64 * 1024):
                    pass
                member.finish()
            ours.append(time.process_time() - started)
            started = time.process_time()
            for info in zf.infolist():
                with zf.open(info) as plain:
                    while plain.read(64 * 1024):
                        pass
            baseline.append(time.process_time() - started)
    return statistics.median(ours), statistics.median(baseline)


def adversarial_inputs() -> dict[str, bytes]:
    """Files built to cost the most per byte: long values, deep nesting, many tiny entries."""
    size = 5 * 1024 * 1024
    return {
        "string": b'[{"ts": "2024-01-01T00:00:00Z", "master_metadata_track_name": "' + b"x" * size + b'"}]',
        "number": b'[{"ts": "2024-01-01T00:00:00Z", "ms_played": 1' + b"0" * size + b"}]",
        # A number that parses at every chunk boundary: what made the old reader quadratic (issue 12).
        "float": b"[1." + b"0" * size + b"]",
        "float_50mb": b"[1." + b"0" * (10 * size) + b"]",
        "deep": b"[" * 50_000 + b"]" * 50_000,
        "tiny": b"[" + b"0," * (size // 2) + b"0]",
        "bomb_zip": _zip("Streaming_History_Audio_2024_0.json", bytes(99 * 1024 * 1024)),
        "padded_zip": padded_zip(
            "Streaming_History_Audio_2024_0.json", b"[" + b"0," * (30 * 1024 * 1024) + b"0]", 1024 * 1024
        ),
    }


def measure_adversarial(data: bytes) -> tuple[float, float]:
    """(CPU seconds, peak MB) of one upload of `data` as a history file, refused or not."""

    def run(stream: io.BytesIO) -> None:
        with suppress(ExportError):
            parse_upload([("Streaming_History_Audio_2024_0.json", stream)])

    stream = io.BytesIO(data)
    started = time.process_time()
    run(stream)
    cpu = time.process_time() - started
    stream = io.BytesIO(data)
    tracemalloc.start()
    try:
        run(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return cpu, peak / 1024 / 1024


def main() -> None:
    """Generate the history in a temporary folder, parse it, print the summary line."""
    with tempfile.TemporaryDirectory(prefix="fanapp-bench-") as tmp:
        folder = Path(tmp)
        paths = write_history(folder)
        plays, seconds, peak = measure(paths)
        print(f"export_parse plays={plays} seconds={seconds:.2f} peak_mb={peak:.1f}", flush=True)
        if "--zip" in sys.argv:
            archive = folder / "my_spotify_data.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
                for p in paths:
                    zf.write(p, "Spotify Extended Streaming History/" + p.name)
            size = sum(p.stat().st_size for p in paths) / 1024 / 1024
            plays, seconds, peak = measure([archive])
            print(
                f"export_parse_zip plays={plays} seconds={seconds:.2f} peak_mb={peak:.1f} "
                f"json_mb={size:.1f} zip_mb={archive.stat().st_size / 1024 / 1024:.1f}",
                flush=True,
            )
            ours, baseline = measure_inflate(archive)
            print(
                f"export_parse_inflate ours_cpu_s={ours:.3f} zipfile_cpu_s={baseline:.3f} "
                f"ratio={ours / baseline:.2f}",
                flush=True,
            )
    figures = {name: measure_adversarial(data) for name, data in adversarial_inputs().items()}
    each = " ".join(
        f"{name}_cpu_s={cpu:.2f} {name}_peak_mb={peak:.1f}" for name, (cpu, peak) in figures.items()
    )
    print(
        f"export_parse_adversarial adversarial_cpu_s={max(c for c, _ in figures.values()):.2f} "
        f"peak_mb={max(p for _, p in figures.values()):.1f} {each} backend={BACKEND}",
        flush=True,
    )


if __name__ == "__main__":
    main()
