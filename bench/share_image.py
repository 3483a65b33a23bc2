"""Share image benchmark: render time of each image size without cover-art download.

Prints one line per size, e.g. `share_image size=1200x630 cold_ms=17 cold_cpu_ms=16 warm_ms=0.002`, then
one line for font coverage, e.g. `share_image_fonts faces=200 coverage_ms=180 lookup_ns=400`.

- cold_ms: median over distinct episodes (different titles, names and songs, so no text layout is reused) of
  `render_card` with `NoCovers`, PNG encoding included, in a process whose fonts and static artwork (stage
  lights, cassette, reels: drawn once per process and size by `render.warm()`) are ready, as a server's are
  after its first image. That one-off warm-up is measured too and printed as a note on stderr.
- cold_cpu_ms: the same renders in CPU time of the rendering thread, which other processes on a shared
  machine disturb far less than the wall clock (compare figures from different runs with this one).
- warm_ms: median time to serve an already rendered image from `ImageCache` (what the route does on a hit).
- coverage_ms: CPU time to read which characters every face of the three fallback chains covers (their
  cmap tables), from cold caches: what a process pays once, the first time it meets a character no font has.
- lookup_ns: CPU time of one coverage question (`Face.covers`) on a character not asked before.
"""

from __future__ import annotations

import statistics
import sys
import time
from typing import Any

from fanapp.sharing.cards import render, text
from fanapp.sharing.cards.cache import ImageCache
from fanapp.sharing.cards.covers import NoCovers

EPISODES = 15
WARM_REPEATS = 500
LOOKUPS = 3000  # distinct code points asked of every face (Latin, Greek, Cyrillic, CJK, emoji blocks)
_TITLES = (
    "The Night We Swapped Soundtracks",
    "Déjà Vu at the Ferris Wheel — Part Deux",
    "夜に駆ける: a Tokyo Love Story 🎤🔥",
    "Heartbreak on the Night Bus (Extended Director's Cut)",
    "Señorita, Ça Va? — The Summer Everything Changed",
)
_SONGS = (
    ("Dancing On My Own", "Robyn"),
    ("Motion Sickness", "Phoebe Bridgers"),
    ("Green Light", "Lorde"),
    ("Pink + White", "Frank Ocean"),
    ("Un Año (feat. Reik)", "Sebastián Yatra"),
    ("Redbone", "Childish Gambino"),
    ("Idol (English Version) 🎤", "YOASOBI"),
    ("Águas de Março", "Elis Regina, Tom Jobim"),
)


def episode(n: int) -> dict[str, Any]:
    """A realistic published episode, distinct for each n: 3 songs a side, longish unicode titles."""

    def song(i: int, slot: str) -> dict[str, Any]:
        title, artist = _SONGS[(n + i) % len(_SONGS)]
        return {
            "id": f"t{n}-{i}",
            "title": f"{title} (Live at Studio {n})",
            "artists": [artist],
            "album": "",
            "image_url": f"https://i.scdn.co/image/{n:04d}{i:02d}",
            "spotify_url": f"https://open.spotify.com/track/{n:04d}{i:02d}",
            "slot": slot,
            "reason": "",
        }

    slots = ("opening", "turn", "finale")
    a = [song(i, slot) for i, slot in enumerate(slots)]
    b = [song(i + 3, slot) for i, slot in enumerate(slots)]
    return {
        "slug": f"bench{n:04d}",
        "title": f"{_TITLES[n % len(_TITLES)]} #{n}",
        "basis": "",
        "display_name": f"Fan {n}",
        "published_at": None,
        "characters": [
            {"key": "a", "name": f"Maya-Léa {n}", "description": "", "songs": a},
            {"key": "b", "name": f"Théo {n}", "description": "", "songs": b},
        ],
        "mashup": {"a": a[-1], "b": b[-1], "score": 40 + n % 60, "reasons": []},
        "alternatives": [],
    }


def main() -> None:
    """Warm up once, then time cold renders and cache hits for both sizes."""
    started = time.perf_counter()
    render.warm()
    setup_ms = (time.perf_counter() - started) * 1000
    print(f"# share_image: fonts and static artwork, once per process: {setup_ms:.0f} ms", file=sys.stderr)
    covers = NoCovers()
    sizes: tuple[render.Size, ...] = ("card", "story")
    for offset, size in enumerate(sizes):
        cache = ImageCache()
        cold = []
        cold_cpu = []
        slugs = []
        for n in range(EPISODES):
            view = episode(1000 * offset + n)
            t0, c0 = time.perf_counter(), time.thread_time()
            png = render.render_card(view, covers, size)
            cold.append((time.perf_counter() - t0) * 1000)
            cold_cpu.append((time.thread_time() - c0) * 1000)
            cache.put(view["slug"], 1, size, png)
            slugs.append(view["slug"])
        warm = []
        for i in range(WARM_REPEATS):
            slug = slugs[i % EPISODES]
            t0 = time.perf_counter()
            hit = cache.get(slug, 1, size)
            warm.append((time.perf_counter() - t0) * 1000)
            assert hit is not None
        w, h = render.SIZES[size]
        print(
            f"share_image size={w}x{h} cold_ms={statistics.median(cold):.0f} "
            f"cold_cpu_ms={statistics.median(cold_cpu):.0f} warm_ms={statistics.median(warm):.3g}"
        )
    fonts()


def fonts() -> None:
    """Time reading every face's coverage from cold caches, then single coverage questions."""
    text.reset_caches()
    faces = [f for style in text.STYLES for f in text.chain(style)]  # opening the fonts is not timed
    c0 = time.thread_time()
    for style in text.STYLES:
        text.missing_glyphs("\U0010fffd", style)  # in no font: every face of the chain is asked
    coverage_ms = (time.thread_time() - c0) * 1000
    blocks = (range(0x41, 0x250), range(0x370, 0x530), range(0x4E00, 0xA000), range(0x1F300, 0x1FA00))
    points = [chr(cp) for block in blocks for cp in block][:: max(1, sum(map(len, blocks)) // LOOKUPS)]
    c0 = time.thread_time()
    for ch in points:
        for face in faces:
            face.covers(ch)
    lookup_ns = (time.thread_time() - c0) * 1e9 / (len(points) * len(faces))
    unique = len({(f.path, f.index) for f in faces if f.path is not None})
    print(f"share_image_fonts faces={unique} coverage_ms={coverage_ms:.0f} lookup_ns={lookup_ns:.0f}")
    text.reset_caches()


if __name__ == "__main__":
    main()
