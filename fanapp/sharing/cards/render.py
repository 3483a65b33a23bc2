"""Share images of a published episode, drawn with Pillow from the stored episode (``episodes.view()``).

Two sizes: ``card`` (1200x630, link previews: few, big elements that read at thumbnail size) and ``story``
(1080x1920, Instagram/TikTok stories: the whole tracklist). The look is a mixtape: a cassette shell on a dark
stage lit pink and cyan, a paper label with the episode title, Side A (hot pink) and Side B (cyan) for the two
characters, and the mash-up in the tape window between the two reels.

Spotify's rules: covers are drawn whole (scaled to fit a square, letterboxed, never cropped) with nothing
drawn over them, and "Song data from Spotify" appears whenever a song came from Spotify.

Everything that does not depend on the episode (the stage lights, the cassette, the reels, the labels) is
drawn once per process and size, supersampled for smooth edges, and copied for each render.
"""

from __future__ import annotations

import functools
import io
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageDraw

from fanapp.sharing.cards import logo, text
from fanapp.sharing.cards.covers import CoverSource, NoCovers
from fanapp.site import mixview

Size = Literal["card", "story"]
SIZES: dict[Size, tuple[int, int]] = {"card": (1200, 630), "story": (1080, 1920)}

RGB = tuple[int, int, int]
BG: RGB = (0x12, 0x0D, 0x1F)
PINK: RGB = (0xFF, 0x4F, 0xA3)
CYAN: RGB = (0x35, 0xD6, 0xFF)
WHITE: RGB = (0xFF, 0xFF, 0xFF)
CREAM: RGB = (0xFB, 0xF3, 0xE6)
INK: RGB = (0x1D, 0x14, 0x30)
MUTED: RGB = (0xC9, 0xBE, 0xE6)
DIM: RGB = (0x9A, 0x8C, 0xBE)
SHELL: RGB = (0x1E, 0x16, 0x33)
WINDOW: RGB = (0x0B, 0x07, 0x14)
SIDE_COLOURS: dict[str, RGB] = {"a": PINK, "b": CYAN}
SLOT_LABELS = {"opening": "OPENING", "turn": "TURN", "finale": "FINALE"}
ATTRIBUTION = "Song data from Spotify"
# Pillow's zlib level for the PNGs. Pillow picks a filter per row (None, Sub, Up, Paeth): a fixed ~33 ms on
# the story before any compression; zlib's strategy is Z_FILTERED unless told otherwise (the same as the
# default strategy at levels 1-3). Measured on the bench's 15 episodes (CPU ms and kB, median, card | story):
#   level 1: 18 ms 161 kB | 47 ms 372 kB     level 2: 18 ms 156 kB | 48 ms 352 kB
#   level 3: 19 ms 152 kB | 51 ms 338 kB     level 4: 22 ms 146 kB | 61 ms 321 kB
#   level 1 or 3 with Z_RLE: 17 ms 181 kB | 46 ms 366 kB;  optimize=True (level 9): 340 ms | 1040 ms
# Level 2 costs no more than level 1 and gives the files the hand-written encoder it replaced gave (Up filter
# + zlib 3: 8 ms 162 kB | 21 ms 352 kB); each level above adds ~3-10 ms on the story for ~4% less, and Z_RLE
# saves ~2 ms for files 4-16% larger. An image is rendered once per episode and then cached, so the ~27 ms
# Pillow adds on the story did not pay for keeping an encoder of our own.
PNG_LEVEL = 2


# ------------------------------------------------------------------------------------------ the episode


@dataclass(frozen=True)
class Song:
    """What an image shows of one song."""

    title: str
    artist: str
    slot: str
    image_url: str
    from_spotify: bool


@dataclass(frozen=True)
class Side:
    """One character: Side A or Side B of the tape."""

    key: str
    name: str
    songs: tuple[Song, ...]


@dataclass(frozen=True)
class Mashup:
    """The mash-up number: two songs, their 0-100 score, and the mix as stored (keys, tempos, verdict)."""

    a: Song
    b: Song
    score: int | None
    mix: Mapping[str, Any] = field(default_factory=dict)
    verdict: str = ""
    label: str = ""

    @property
    def heading(self) -> str:
        """The words above the score: what was checked ("MASH-UP · NOT CHECKED" when nothing was)."""
        extra = {"clean": "", "clash": "CLASH"}.get(self.verdict, self.label.split(":")[0].upper())
        return "MASH-UP" + (f" · {extra}" if extra else "")


@dataclass(frozen=True)
class Episode:
    """What an image shows of an episode, read defensively from ``episodes.view()``'s dict."""

    title: str
    display_name: str
    sides: tuple[Side, Side]
    mashup: Mashup | None
    duet: bool = False  # two people, one character each (the JSON's `duet_of`)

    @property
    def from_spotify(self) -> bool:
        """Whether any song shown carries Spotify metadata (then the attribution is drawn)."""
        songs = [s for side in self.sides for s in side.songs]
        if self.mashup:
            songs += [self.mashup.a, self.mashup.b]
        return any(s.from_spotify for s in songs)


def _str(value: object, limit: int = 300) -> str:
    if isinstance(value, str):
        return text.clean(value[: limit * 4])[:limit]
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return ""


def _song(raw: object, index: int, count: int) -> Song:
    d: Mapping[str, Any] = raw if isinstance(raw, Mapping) else {}
    artists = d.get("artists")
    names = [_str(a, 80) for a in artists] if isinstance(artists, list | tuple) else [_str(artists, 80)]
    names = [n for n in names if n]
    artist = ", ".join(names[:2]) + (f" +{len(names) - 2}" if len(names) > 2 else "")
    slot = d.get("slot")
    if slot not in SLOT_LABELS:
        slot = "finale" if index == count - 1 else ("opening" if index == 0 else "turn")
    url = d.get("image_url")
    return Song(
        title=_str(d.get("title")) or "Untitled",
        artist=artist,
        slot=str(slot),
        image_url=url if isinstance(url, str) else "",
        from_spotify=bool(d.get("spotify_url")),
    )


def episode_from_view(view: Mapping[str, Any]) -> Episode:
    """The plain dict of ``episodes.view()`` as an :class:`Episode`; missing or odd fields get defaults."""
    raw_chars = view.get("characters") if isinstance(view, Mapping) else None
    chars = [c for c in raw_chars if isinstance(c, Mapping)] if isinstance(raw_chars, list | tuple) else []
    sides: list[Side] = []
    for i, key in enumerate(("a", "b")):
        c = next((c for c in chars if c.get("key") == key), chars[i] if i < len(chars) else {})
        raw_songs = c.get("songs")
        songs = list(raw_songs)[:5] if isinstance(raw_songs, list | tuple) else []
        sides.append(
            Side(
                key=key,
                name=_str(c.get("name"), 60) or key.upper(),
                songs=tuple(_song(s, j, len(songs)) for j, s in enumerate(songs)),
            )
        )
    mashup = None
    raw_mash = view.get("mashup")
    if isinstance(raw_mash, Mapping) and isinstance(raw_mash.get("a"), Mapping):
        score = raw_mash.get("score")
        try:
            value: int | None = max(0, min(100, round(float(score))))  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            value = None
        mix = raw_mash.get("mix")
        mashup = Mashup(
            _song(raw_mash.get("a"), 0, 1),
            _song(raw_mash.get("b"), 0, 1),
            value,
            mix=dict(mix) if isinstance(mix, Mapping) else {},
            verdict=_str(raw_mash.get("verdict"), 20),
            label=_str(raw_mash.get("label"), 60),
        )
    title = _str(view.get("title"), 300) or f"{sides[0].name} & {sides[1].name}"
    duet = bool(view.get("duet_of"))
    return Episode(title, _str(view.get("display_name"), 60), (sides[0], sides[1]), mashup, duet)


def _card_songs(songs: Sequence[Song]) -> list[Song]:
    """Three songs that tell the arc on the small card: the opening, a turn, the finale."""
    if len(songs) <= 3:
        return list(songs)
    return [songs[0], songs[len(songs) // 2], songs[-1]]


# ------------------------------------------------------------------------------------------ drawing helpers


def _mix(a: RGB, b: RGB, t: float) -> RGB:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


LIGHT_STEP = 4  # lights are smooth: computed on a grid this many times coarser, then scaled up


def _grid(
    w: int, h: int
) -> tuple[np.ndarray[Any, np.dtype[np.float32]], np.ndarray[Any, np.dtype[np.float32]]]:
    """Pixel coordinates of a coarse grid covering a w x h image (ys as a column, xs as a row)."""
    gw, gh = -(-w // LIGHT_STEP), -(-h // LIGHT_STEP)
    ys = np.arange(gh, dtype=np.float32)[:, None] * LIGHT_STEP
    xs = np.arange(gw, dtype=np.float32)[None, :] * LIGHT_STEP
    return ys, xs


def _stage(w: int, h: int, lights: Sequence[tuple[float, float, float, RGB, float]]) -> Image.Image:
    """The dark stage with soft coloured lights (x, y, radius, colour, strength), screen-blended."""
    ys, xs = _grid(w, h)
    out: np.ndarray[Any, np.dtype[np.float32]] = np.empty((ys.shape[0], xs.shape[1], 3), dtype=np.float32)
    out[:] = np.array(BG, dtype=np.float32) / 255
    for x, y, radius, colour, strength in lights:
        # a Gaussian is separable: the product of a column and a row
        falloff = np.exp(-((ys - y) ** 2) / radius**2) * np.exp(-((xs - x) ** 2) / radius**2) * strength
        col = np.array(colour, dtype=np.float32) / 255
        out = (1 - (1 - out) * (1 - falloff[..., None] * col)).astype(np.float32)
    small = Image.fromarray((out * 255 + 0.5).clip(0, 255).astype(np.uint8), "RGB")
    return small.resize((small.width * LIGHT_STEP, small.height * LIGHT_STEP), Image.Resampling.BICUBIC).crop(
        (0, 0, w, h)
    )


def _beams(w: int, h: int, beams: Sequence[tuple[float, float, float, float, RGB, float]]) -> Image.Image:
    """Stage-light cones (x, y, angle from straight down in radians, half width, colour, strength) as RGBA."""
    ys, xs = _grid(w, h)
    rgb = np.zeros((ys.shape[0], xs.shape[1], 3), dtype=np.float32)
    alpha = np.zeros((ys.shape[0], xs.shape[1]), dtype=np.float32)
    for x, y, angle, half, colour, strength in beams:
        theta = np.arctan2(xs - x, ys - y)
        dist = np.sqrt((xs - x) ** 2 + (ys - y) ** 2)
        a = np.exp(-(((theta - angle) / half) ** 2)) * np.exp(-dist / (1.3 * h)) * strength
        rgb += a[..., None] * (np.array(colour, dtype=np.float32) / 255)
        alpha += a
    alpha = alpha.clip(0, 1)
    colours = rgb / np.maximum(alpha, 1e-6)[..., None]
    small = Image.fromarray((np.dstack([colours.clip(0, 1), alpha]) * 255).astype(np.uint8), "RGBA")
    return small.resize((small.width * LIGHT_STEP, small.height * LIGHT_STEP), Image.Resampling.BICUBIC).crop(
        (0, 0, w, h)
    )


class _Layer:
    """Shapes drawn at ``k`` times the size, then reduced: anti-aliased edges for the static artwork."""

    def __init__(self, w: int, h: int, k: int = 2) -> None:
        self.k = k
        self.image = Image.new("RGBA", (w * k, h * k), (0, 0, 0, 0))
        self.pen = ImageDraw.Draw(self.image)

    def box(self, xy: Sequence[float]) -> list[float]:
        return [v * self.k for v in xy]

    def rounded(
        self,
        xy: Sequence[float],
        r: float,
        fill: tuple[int, ...] | None = None,
        outline: tuple[int, ...] | None = None,
        width: float = 0,
    ) -> None:
        self.pen.rounded_rectangle(
            self.box(xy), radius=r * self.k, fill=fill, outline=outline, width=round(width * self.k)
        )

    def circle(
        self,
        cx: float,
        cy: float,
        r: float,
        fill: tuple[int, ...] | None = None,
        outline: tuple[int, ...] | None = None,
        width: float = 0,
    ) -> None:
        self.pen.ellipse(
            self.box((cx - r, cy - r, cx + r, cy + r)),
            fill=fill,
            outline=outline,
            width=round(width * self.k),
        )

    def polygon(self, points: Sequence[tuple[float, float]], fill: tuple[int, ...]) -> None:
        self.pen.polygon([(x * self.k, y * self.k) for x, y in points], fill=fill)

    def line(self, points: Sequence[tuple[float, float]], fill: tuple[int, ...], width: float) -> None:
        self.pen.line([(x * self.k, y * self.k) for x, y in points], fill=fill, width=round(width * self.k))

    def done(self) -> Image.Image:
        return self.image.reduce(self.k)


def _screw(layer: _Layer, cx: float, cy: float, r: float) -> None:
    layer.circle(cx, cy, r, fill=(*_mix(SHELL, WHITE, 0.18), 255), outline=(0, 0, 0, 120), width=1)
    d = r * 0.55
    layer.line([(cx - d, cy - d), (cx + d, cy + d)], (0, 0, 0, 150), max(1.0, r / 5))
    layer.line([(cx - d, cy + d), (cx + d, cy - d)], (0, 0, 0, 150), max(1.0, r / 5))


def _reel(layer: _Layer, cx: float, cy: float, r: float, colour: RGB, pack: float) -> None:
    """A cassette reel: the wound tape (``pack`` of the radius), a coloured rim, a white six-toothed hub."""
    layer.circle(cx, cy, r, fill=(*_mix(WINDOW, colour, 0.18), 255), outline=(*colour, 255), width=r * 0.06)
    layer.circle(cx, cy, r * pack, fill=(58, 36, 44, 255))
    layer.circle(cx, cy, r * pack, outline=(90, 60, 66, 255), width=r * 0.03)
    hub = r * 0.42
    layer.circle(cx, cy, hub, fill=(242, 238, 250, 255))
    for i in range(6):
        a = math.pi / 3 * i + math.pi / 6
        x, y = cx + math.cos(a) * hub * 0.62, cy + math.sin(a) * hub * 0.62
        layer.circle(x, y, hub * 0.17, fill=(*WINDOW, 255))
    layer.circle(cx, cy, hub * 0.34, fill=(*WINDOW, 255))


@functools.lru_cache(maxsize=16)
def _pill_image(label: str, colour: RGB, size: int) -> Image.Image:
    w = text.width(label, "display", size) + size * 0.9
    h = size * 1.2
    layer = _Layer(math.ceil(w), math.ceil(h))
    layer.rounded((0, 0, w, h), h / 2, fill=(*colour, 255))
    pic = layer.done()
    text.draw(pic, (w / 2, h * 0.8), label, "display", size, INK, align="center")
    return pic


def _pill(img: Image.Image, xy: tuple[float, float], label: str, colour: RGB, size: int) -> float:
    """A filled side tag ("SIDE A") with its top left corner at ``xy``; returns its width."""
    pic = _pill_image(label, colour, size)
    img.paste(pic, (round(xy[0]), round(xy[1])), pic)
    return pic.width


def _wordmark(img: Image.Image, x: float, baseline: float, size: int, colour: RGB, accent: RGB) -> float:
    """The app's wordmark, "your SOUNDTRACK", with its left end at x; returns its width."""
    small = round(size * 0.62)
    w1 = text.draw(img, (x, baseline), "your", "bold", small, accent)
    w2 = text.draw(img, (x + w1 + size * 0.2, baseline), "SOUNDTRACK", "display", size, colour)
    return w1 + size * 0.2 + w2


def _wordmark_width(size: int) -> float:
    return (
        text.width("your", "bold", round(size * 0.62))
        + size * 0.2
        + text.width("SOUNDTRACK", "display", size)
    )


@functools.lru_cache(maxsize=64)
def placeholder(px: int, key: str) -> Image.Image:
    """A designed stand-in for a missing cover: a side-coloured gradient tile with a small cassette on it."""
    colour = SIDE_COLOURS.get(key, PINK)
    k = 4
    n = px * k
    t = np.linspace(0, 1, n, dtype=np.float32)
    diag = (t[:, None] + t[None, :]) / 2
    top, bottom = np.array(_mix(BG, colour, 0.85), np.float32), np.array(_mix(BG, colour, 0.25), np.float32)
    arr = top + (bottom - top) * diag[..., None]
    tile = Image.fromarray(arr.astype(np.uint8), "RGB").convert("RGBA")
    pen = ImageDraw.Draw(tile)
    ink = (255, 255, 255, 225)
    w, h = n * 0.62, n * 0.40
    x0, y0 = (n - w) / 2, (n - h) / 2
    stroke = max(k, round(n * 0.035))
    pen.rounded_rectangle((x0, y0, x0 + w, y0 + h), radius=n * 0.05, outline=ink, width=stroke)
    pen.rounded_rectangle(
        (x0 + w * 0.14, y0 + h * 0.2, x0 + w * 0.86, y0 + h * 0.62),
        radius=n * 0.03,
        outline=ink,
        width=stroke,
    )
    for cx in (x0 + w * 0.33, x0 + w * 0.67):
        r = h * 0.11
        pen.ellipse((cx - r, y0 + h * 0.41 - r, cx + r, y0 + h * 0.41 + r), fill=ink)
    pen.polygon(
        [
            (x0 + w * 0.24, y0 + h),
            (x0 + w * 0.30, y0 + h * 0.78),
            (x0 + w * 0.70, y0 + h * 0.78),
            (x0 + w * 0.76, y0 + h),
        ],
        fill=ink,
    )
    return tile.reduce(k).convert("RGB")


def _cover(img: Image.Image, xy: tuple[int, int], px: int, cover: Image.Image | None, key: str) -> None:
    """The cover fitted whole inside a px square (letterboxed on the tile), or the placeholder; no overlay."""
    x, y = xy
    if cover is None:
        img.paste(placeholder(px, key), (x, y))
        return
    try:
        pic = cover if cover.mode in ("RGB", "RGBA") else cover.convert("RGBA")
        scale = px / max(pic.width, pic.height)
        size = (max(1, round(pic.width * scale)), max(1, round(pic.height * scale)))
        pic = pic.resize(size, Image.Resampling.LANCZOS, reducing_gap=2.0)
        ImageDraw.Draw(img).rectangle((x, y, x + px - 1, y + px - 1), fill=WINDOW)
        at = (x + (px - size[0]) // 2, y + (px - size[1]) // 2)
        img.paste(pic, at, pic if pic.mode == "RGBA" else None)
    except (OSError, ValueError):
        img.paste(placeholder(px, key), (x, y))


Covers = Mapping[str, Image.Image | None]


def _fetch_covers(covers: CoverSource, urls: Sequence[str]) -> dict[str, Image.Image | None]:
    """Every cover the image needs, fetched in parallel; a failing source only yields placeholders."""
    wanted = sorted({u for u in urls if u})
    if not wanted or isinstance(covers, NoCovers):
        return {}

    def one(url: str) -> Image.Image | None:
        try:
            pic = covers.get(url)
        except Exception:  # a third-party CoverSource must not fail the image either
            return None
        return pic if isinstance(pic, Image.Image) else None

    if len(wanted) == 1:
        return {wanted[0]: one(wanted[0])}
    with ThreadPoolExecutor(max_workers=min(8, len(wanted))) as pool:
        return dict(zip(wanted, pool.map(one, wanted), strict=True))


def _song_row(
    img: Image.Image,
    x: int,
    y: int,
    width: int,
    song: Song,
    key: str,
    cover: Image.Image | None,
    px: int,
    title_size: int,
    meta_size: int,
) -> None:
    """Cover, then title over "SLOT  artist"; the text block is centred on the cover's height."""
    colour = SIDE_COLOURS[key]
    _cover(img, (x, y), px, cover, key)
    tx = x + px + round(px * 0.28)
    room = width - (tx - x)
    gap = (px - title_size - meta_size) / 3
    title_base = y + gap + title_size * 0.86
    meta_base = title_base + gap + meta_size * 1.02
    t, ts = text.fit(song.title, "bold", title_size, room, round(title_size * 0.8))
    text.draw(img, (tx, title_base), t, "bold", ts, WHITE)
    label = SLOT_LABELS.get(song.slot, song.slot.upper())
    lw = text.draw(img, (tx, meta_base), label, "display", round(meta_size * 1.12), colour)
    if song.artist:
        ax = tx + lw + meta_size * 0.6
        artist = text.ellipsize(song.artist, "regular", meta_size, width - (ax - x))
        text.draw(img, (ax, meta_base), artist, "regular", meta_size, MUTED)


@functools.lru_cache(maxsize=8)
def _watermark(letter: str, size: int) -> Image.Image:
    """A faint giant side letter, as a mask (the panel shows through it)."""
    w = math.ceil(text.width(letter, "display", size))
    mask = Image.new("L", (w + 4, size), 0)
    text.draw(mask, (2, size - 40), letter, "display", size, 30)
    return mask


@functools.lru_cache(maxsize=16)
def _gradient(w: int, h: int) -> Image.Image:
    t = np.linspace(0, 1, max(1, w), dtype=np.float32)[None, :, None]
    arr = np.array(PINK, np.float32) + (np.array(CYAN, np.float32) - np.array(PINK, np.float32)) * t
    return Image.fromarray(np.repeat(arr, h, axis=0).astype(np.uint8), "RGB")


def _gradient_text(img: Image.Image, xy: tuple[float, float], label: str, size: int) -> float:
    """Display text filled with the pink-to-cyan gradient (the score); returns its width."""
    w = math.ceil(text.width(label, "display", size)) + 4
    h = math.ceil(size * 1.3)
    mask = Image.new("L", (w, h), 0)
    text.draw(mask, (2, size), label, "display", size, 255)
    x, y = round(xy[0]) - 2, round(xy[1]) - size
    img.paste(_gradient(w, h), (x, y), mask)
    return w - 4


def _png(img: Image.Image) -> bytes:
    """The image as an 8-bit RGB PNG, encoded by Pillow at :data:`PNG_LEVEL`."""
    out = io.BytesIO()
    (img if img.mode == "RGB" else img.convert("RGB")).save(out, format="PNG", compress_level=PNG_LEVEL)
    return out.getvalue()


# ------------------------------------------------------------------------------------------ the mix

MARK_COLOURS: dict[str, RGB] = {"a": PINK, "b": CYAN, "both": (0xFF, 0xD1, 0x66)}
GOLD: RGB = (0xFF, 0xD1, 0x66)


def _wheel(img: Image.Image, centre: tuple[float, float], radius: float, ep_mix: Mapping[str, Any]) -> None:
    """The Camelot wheel (both keys marked, a transposition drawn as a gold arrow), as on the pages."""
    view = mixview.wheel(ep_mix, {}, {})
    k = 3
    size = math.ceil(radius * 2 + 8)
    layer = _Layer(size, size, k)
    scale = radius / mixview.OUTER
    cx = cy = size / 2

    def at(x: float, y: float) -> tuple[float, float]:
        return cx + x * scale, cy + y * scale

    for seg in view.segments:
        low, high = mixview.ring(seg.letter)
        start = mixview.angle(seg.number) - math.radians(15)
        arc = [start + math.radians(30) * n / 8 for n in range(9)]
        outline = [at(*mixview.point(high, t)) for t in arc] + [
            at(*mixview.point(low, t)) for t in reversed(arc)
        ]
        base = _mix(SHELL, WHITE, 0.16 if seg.letter == "B" else 0.09)
        colour = MARK_COLOURS.get(seg.mark, base)
        layer.polygon(outline, (*colour, 255))
        layer.line([*outline, outline[0]], (*WINDOW, 255), 1.2)
        if seg.mark == "to":
            layer.line([*outline, outline[0]], (*GOLD, 255), 2.4)
    if view.arrow:
        transposed = str(ep_mix.get("transposed"))
        points = [
            at(x, y)
            for x, y in mixview.arrow_points(str(ep_mix.get(f"{transposed}_key")), str(ep_mix.get("shifted")))
        ]
        if len(points) >= 2:
            layer.line(points, (*GOLD, 255), 3.5)
            (x1, y1), (x2, y2) = points[-2], points[-1]
            angle = math.atan2(y2 - y1, x2 - x1)
            head = [
                (x2 + math.cos(angle) * 5, y2 + math.sin(angle) * 5),
                (x2 + math.cos(angle + 2.4) * 7, y2 + math.sin(angle + 2.4) * 7),
                (x2 + math.cos(angle - 2.4) * 7, y2 + math.sin(angle - 2.4) * 7),
            ]
            layer.polygon(head, (*GOLD, 255))
    pic = layer.done()
    img.paste(pic, (round(centre[0] - size / 2), round(centre[1] - size / 2)), pic)


def _cover_reel(img: Image.Image, centre: tuple[float, float], radius: float) -> None:
    """Paint the tape window's dark over a reel, where the mix is drawn instead."""
    pen = ImageDraw.Draw(img)
    cx, cy = centre
    pen.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=WINDOW)


def _tempo(
    img: Image.Image, box: tuple[float, float, float, float], ep_mix: Mapping[str, Any], font: int
) -> None:
    """The tempo bar: both BPMs as dots on one scale, the shared tempo as a gold tick, the numbers below."""
    bar = mixview.tempo_bar(ep_mix, {}, {})
    x0, y0, x1, y1 = box
    mid = y0 + (y1 - y0) * 0.38
    layer = _Layer(math.ceil(x1 - x0), math.ceil(y1 - y0), 3)

    def x(at: float) -> float:
        return 6 + (x1 - x0 - 12) * min(max(at, 0.0), 1.0)

    h = mid - y0
    layer.rounded((2, h - 3, x1 - x0 - 2, h + 3), 3, fill=(*_mix(SHELL, WHITE, 0.2), 255))
    if bar.meet is not None:
        layer.line([(x(bar.meet), h - 8), (x(bar.meet), h + 8)], (*GOLD, 255), 3)
    for at, colour in ((bar.a, PINK), (bar.b, CYAN)):
        if at is not None:
            layer.circle(x(at), h, 6, fill=(*colour, 255))
    pic = layer.done()
    img.paste(pic, (round(x0), round(y0)), pic)
    words = " · ".join(f"{v:.0f}" if v else "?" for v in (bar.a_bpm, bar.b_bpm)) + " BPM"
    text.draw(img, ((x0 + x1) / 2, y1 - 2), words, "bold", font, MUTED, align="center")


# ------------------------------------------------------------------------------------------ the card


CARD_COL = ((64, 512), (624, 512))  # (x, width) of Side A and Side B


@functools.cache
def _card_background() -> Image.Image:
    w, h = SIZES["card"]
    img = _stage(
        w,
        h,
        [
            (w * 0.08, -h * 0.15, w * 0.55, PINK, 0.62),
            (w * 0.92, -h * 0.15, w * 0.55, CYAN, 0.55),
            (w * 0.5, h * 1.25, w * 0.55, (110, 50, 190), 0.45),
        ],
    ).convert("RGBA")
    img.alpha_composite(
        _beams(
            w, h, [(w * 0.30, -h * 0.5, -0.35, 0.10, PINK, 0.32), (w * 0.70, -h * 0.5, 0.35, 0.10, CYAN, 0.3)]
        )
    )
    layer = _Layer(w, h)
    layer.rounded((24, 22, 1176, 608), 44, fill=(*SHELL, 228), outline=(255, 255, 255, 44), width=2)
    for cx, cy in ((50, 48), (1150, 48), (50, 582), (1150, 582)):
        _screw(layer, cx, cy, 9)
    layer.rounded((80, 40, 1120, 120), 12, fill=(*CREAM, 255))
    layer.rounded((96, 101, 1104, 106), 2, fill=(*PINK, 255))
    layer.rounded((96, 109, 1104, 114), 2, fill=(*CYAN, 255))
    layer.line([(600, 146), (600, 462)], (255, 255, 255, 34), 2)
    layer.rounded((64, 478, 1136, 574), 22, fill=(*WINDOW, 235), outline=(255, 255, 255, 36), width=2)
    layer.line([(128, 562), (1072, 562)], (58, 36, 44, 255), 5)
    _reel(layer, 128, 526, 40, PINK, 0.86)
    _reel(layer, 1072, 526, 40, CYAN, 0.62)
    img.alpha_composite(layer.done())
    ww = _wordmark_width(30)
    _wordmark(img, 1100 - ww, 89, 30, INK, _mix(PINK, INK, 0.25))
    for (x, _w), key in zip(CARD_COL, ("a", "b"), strict=True):
        _pill(img, (x, 140), f"SIDE {key.upper()}", SIDE_COLOURS[key], 25)
    return img.convert("RGB")


def _card_covers(ep: Episode) -> list[str]:
    return [s.image_url for side in ep.sides for s in _card_songs(side.songs)]


def _draw_card(img: Image.Image, ep: Episode, pics: Covers) -> None:
    picks = [_card_songs(side.songs) for side in ep.sides]
    title, ts = text.fit(ep.title, "bold", 38, 1100 - _wordmark_width(30) - 40 - 104, 26)
    text.draw(img, (104, 90), title, "bold", ts, INK)
    for (x, width), side, songs in zip(CARD_COL, ep.sides, picks, strict=True):
        colour = SIDE_COLOURS[side.key]
        name, ns = text.fit(side.name, "display", 92, width, 52)
        text.draw(img, (x, 252), name, "display", ns, colour)
        for i, song in enumerate(songs):
            _song_row(img, x, 272 + i * 66, width, song, side.key, pics.get(song.image_url), 54, 24, 18)
        if not songs:
            text.draw(img, (x, 300), "No songs yet", "regular", 22, DIM)
    if ep.mashup is not None:
        m = ep.mashup
        text.draw(img, (600, 502), m.heading, "display", 24, MUTED, align="center")
        if m.mix:
            # The reels of the tape window show the mix: the wheel on the left, the tempo bar on the right.
            _cover_reel(img, (128, 526), 46)
            _wheel(img, (128, 526), 42, m.mix)
            _cover_reel(img, (1072, 526), 46)
            _tempo(img, (1026, 492, 1118, 566), m.mix, 16)
        score = "—" if m.score is None else str(m.score)
        sw = text.width(score, "display", 62) + 4 + text.width("/100", "display", 28)
        sx = 600 - sw / 2
        sx += _gradient_text(img, (sx, 562), score, 62) + 4
        text.draw(img, (sx, 562), "/100", "display", 28, MUTED)
        for song, edge, align, colour in ((m.a, 520, "right", PINK), (m.b, 680, "left", CYAN)):
            room = 520 - 186
            t, tsz = text.fit(song.title, "bold", 24, room, 18)
            text.draw(img, (edge, 522), t, "bold", tsz, WHITE, align=align)  # type: ignore[arg-type]
            if song.artist:
                a = text.ellipsize(song.artist, "regular", 18, room)
                text.draw(img, (edge, 550), a, "regular", 18, colour, align=align)  # type: ignore[arg-type]
    else:
        text.draw(img, (600, 536), "TWO SOUNDTRACKS. ONE TAPE.", "display", 34, WHITE, align="center")
    if ep.from_spotify:
        _attribution(img, (600, 598), 15)


def _attribution(img: Image.Image, centre: tuple[float, float], size: int, prefix: str = "") -> None:
    """`prefix` then Spotify's icon (when installed, logo.py) and "Song data from Spotify", centred on
    `centre` (the baseline)."""
    icon, gap = round(size * 1.2), round(size * 0.4)
    lead, tail = (
        text.width(prefix, "regular", size) if prefix else 0.0,
        text.width(ATTRIBUTION, "regular", size),
    )
    x = centre[0] - (lead + icon + gap + tail) / 2
    if not logo.mask(icon):
        text.draw(img, centre, prefix + ATTRIBUTION, "regular", size, DIM, align="center")
        return
    if prefix:
        text.draw(img, (x, centre[1]), prefix, "regular", size, DIM)
    logo.draw(img, (x + lead, centre[1] - size * 0.95), icon, DIM)
    text.draw(img, (x + lead + icon + gap, centre[1]), ATTRIBUTION, "regular", size, DIM)


# ------------------------------------------------------------------------------------------ the story

# Stories overlay their own bar and buttons on the top and bottom 250 px: everything that says something
# (the label, its stripes, the title, the sides, the mash-up box, the credits) sits between them; only the
# wordmark and the top of the cassette shell reach into the top zone. Boxes are (left, top, right, bottom).
SAFE_ZONE = 250
STORY_SHELL = (60, 206, 1020, 756)  # the cassette
STORY_LABEL = (128, SAFE_ZONE, 952, 646)  # its cream label
STORY_KIND_Y = 288  # baseline of "A SOUNDTRACK EPISODE" / "A SOUNDTRACK DUET"
STORY_KIND_BOX = (300, STORY_KIND_Y - 27, 780, STORY_KIND_Y + 12)
STORY_STRIPES = ((150, 300, 930, 308), (150, 314, 930, 322))  # pink, then cyan
# The title's band on the label: under the stripes, above the tape window.
TITLE_BAND = (328, 512)
TITLE_WIDTH = 760
TITLE_SIZES = (92, 40)  # largest and smallest type for the title
TITLE_LEADING = 0.98
STORY_WINDOW = (228, 516, 852, 628)  # the tape window: reels, wheel, tempo bar and score
STORY_REEL_Y = 572
STORY_SIDES = (772, 1458)  # the band the two side panels share (top, bottom)
STORY_MASHUP = (40, 1474, 1040, 1630)  # the mash-up box
STORY_FOOTER_Y = 1658  # baseline of the credits line


def story_title(title: str) -> tuple[list[str], int]:
    """The story's title as lines that fit its band: the largest size at which the whole title fits in
    the lines the band holds; at the smallest size, the last line is cut with an ellipsis."""
    height = TITLE_BAND[1] - TITLE_BAND[0]
    size = TITLE_SIZES[0]
    while True:
        rows = max(1, min(3, int(height // (size * TITLE_LEADING))))
        lines, fitted = text.fit_block(title, "display", size, TITLE_WIDTH, rows, size)
        whole = "".join(lines).replace(" ", "") == text.clean(title).replace(" ", "")
        if whole or size <= TITLE_SIZES[1]:
            # A word wider than the label (no space to wrap at) is cut too, never drawn past the edge.
            return [text.ellipsize(line, "display", fitted, TITLE_WIDTH) for line in lines] or [""], fitted
        size = max(TITLE_SIZES[1], int(size * 0.92))


STORY_GAP = 16
STORY_HEAD = 136  # pill and name
STORY_PAD = 16  # under the last song


@functools.cache
def _story_background() -> Image.Image:
    w, h = SIZES["story"]
    img = _stage(
        w,
        h,
        [
            (w * 0.05, -h * 0.04, w * 0.75, PINK, 0.62),
            (w * 0.95, -h * 0.04, w * 0.75, CYAN, 0.55),
            (w * 0.0, h * 0.55, w * 0.6, PINK, 0.22),
            (w * 1.0, h * 0.80, w * 0.6, CYAN, 0.22),
            (w * 0.5, h * 1.08, w * 0.8, (110, 50, 190), 0.5),
        ],
    ).convert("RGBA")
    img.alpha_composite(
        _beams(
            w, h, [(w * 0.2, -h * 0.1, -0.22, 0.09, PINK, 0.3), (w * 0.8, -h * 0.1, 0.22, 0.09, CYAN, 0.28)]
        )
    )
    layer = _Layer(w, h, 2)
    # the cassette
    left, top, right, bottom = STORY_SHELL
    layer.rounded(STORY_SHELL, 54, fill=(*SHELL, 235), outline=(255, 255, 255, 46), width=3)
    for cx, cy in (
        (left + 36, top + 36),
        (right - 36, top + 36),
        (left + 36, bottom - 36),
        (right - 36, bottom - 36),
    ):
        _screw(layer, cx, cy, 13)
    layer.rounded(STORY_LABEL, 20, fill=(*CREAM, 255))
    for stripe, colour in zip(STORY_STRIPES, (PINK, CYAN), strict=True):
        layer.rounded(stripe, 3, fill=(*colour, 255))
    layer.rounded(STORY_WINDOW, 28, fill=(*WINDOW, 255))
    layer.line([(318, STORY_WINDOW[3] - 12), (762, STORY_WINDOW[3] - 12)], (58, 36, 44, 255), 6)
    _reel(layer, 318, STORY_REEL_Y, 50, PINK, 0.86)
    _reel(layer, 762, STORY_REEL_Y, 50, CYAN, 0.62)
    foot = STORY_LABEL[3] + 32  # the tape's foot under the label, with its holes
    layer.polygon([(250, bottom), (282, foot), (798, foot), (830, bottom)], (*_mix(SHELL, WHITE, 0.07), 255))
    holes = bottom - 36
    for cx in (330, 420, 660, 750):
        layer.circle(cx, holes, 11, fill=(*WINDOW, 255))
    for cx in (510, 570):
        layer.rounded((cx - 12, holes - 12, cx + 12, holes + 12), 3, fill=(*WINDOW, 255))
    # the mash-up box
    layer.rounded(STORY_MASHUP, 36, fill=(*WINDOW, 200), outline=(255, 255, 255, 40), width=2)
    img.alpha_composite(layer.done())
    ww = _wordmark_width(58)
    _wordmark(img, (w - ww) / 2, 106, 58, WHITE, PINK)
    return img.convert("RGB")


@functools.lru_cache(maxsize=32)
def _panel_mask(w: int, h: int, r: int) -> Image.Image:
    k = 2
    mask = Image.new("L", (w * k, h * k), 0)
    ImageDraw.Draw(mask).rounded_rectangle((0, 0, w * k - 1, h * k - 1), radius=r * k, fill=255)
    return mask.reduce(k)


@functools.lru_cache(maxsize=32)
def _panel_art(w: int, h: int, key: str) -> tuple[Image.Image, Image.Image]:
    """A side's panel: a translucent shell-coloured card with a thin side-coloured rim (colour, mask)."""
    colour = SIDE_COLOURS[key]
    fill = Image.new("RGB", (w, h), _mix(SHELL, colour, 0.05))
    rim = Image.new("RGB", (w, h), _mix(SHELL, colour, 0.75))
    outer = _panel_mask(w, h, 36)
    inner = Image.new("L", (w, h), 0)
    inner.paste(_panel_mask(w - 4, h - 4, 34), (2, 2))
    art = Image.composite(fill, rim, inner)
    alpha = Image.fromarray(
        np.where(np.asarray(inner) > 0, np.asarray(inner) * 0.62, np.asarray(outer) * 0.55).astype(np.uint8),
        "L",
    )
    return art, alpha


def _story_rows(counts: tuple[int, int]) -> int:
    total = max(1, counts[0]) + max(1, counts[1])
    room = STORY_SIDES[1] - STORY_SIDES[0] - STORY_GAP - 2 * (STORY_HEAD + STORY_PAD)
    return min(104, room // total)


def _story_panels(ep: Episode) -> tuple[int, list[tuple[int, int]]]:
    """Each side panel's (top, height) and the height of one song row: the panels share the sides' band."""
    row = _story_rows((len(ep.sides[0].songs), len(ep.sides[1].songs)))
    spare = STORY_SIDES[1] - STORY_SIDES[0] - STORY_GAP
    spare -= sum(STORY_HEAD + STORY_PAD + max(1, len(s.songs)) * row for s in ep.sides)
    panels, top = [], STORY_SIDES[0]
    for side in ep.sides:
        height = STORY_HEAD + STORY_PAD + max(1, len(side.songs)) * row + spare // 2
        panels.append((top, height))
        top += height + STORY_GAP
    return row, panels


def story_boxes(view: Mapping[str, Any]) -> dict[str, tuple[float, float, float, float]]:
    """Where the story draws what it says, as (left, top, right, bottom): the label's kind, the stripes,
    each title line, the tape window, each side panel, the mash-up box and the credits line (for tests
    and for anyone changing the layout: all of it stays out of the SAFE_ZONE at top and bottom)."""
    ep = episode_from_view(view)
    boxes: dict[str, tuple[float, float, float, float]] = {
        "kind": STORY_KIND_BOX,
        "stripe pink": STORY_STRIPES[0],
        "stripe cyan": STORY_STRIPES[1],
        "window": STORY_WINDOW,
        "mashup": STORY_MASHUP,
        "credits": (60, STORY_FOOTER_Y - 20, 1020, STORY_FOOTER_Y + 6),
    }
    lines, size = story_title(ep.title)
    lead = size * TITLE_LEADING
    top = TITLE_BAND[0] + (TITLE_BAND[1] - TITLE_BAND[0] - lead * len(lines)) / 2
    for i, line in enumerate(lines):
        half = text.width(line, "display", size) / 2
        boxes[f"title line {i + 1}"] = (540 - half, top + i * lead, 540 + half, top + (i + 1) * lead)
    for side, (panel_top, height) in zip(ep.sides, _story_panels(ep)[1], strict=True):
        boxes[f"side {side.key}"] = (40, panel_top, 1040, panel_top + height)
    return boxes


def _story_covers(ep: Episode) -> list[str]:
    urls = [s.image_url for side in ep.sides for s in side.songs]
    if ep.mashup:
        urls += [ep.mashup.a.image_url, ep.mashup.b.image_url]
    return urls


def _draw_story(img: Image.Image, ep: Episode, pics: Covers) -> None:
    # the label: what it is (an episode, or a duet of two people), then the title inside its band
    kind = "A SOUNDTRACK DUET" if ep.duet else "A SOUNDTRACK EPISODE"
    text.draw(img, (540, STORY_KIND_Y), kind, "display", 32, _mix(INK, CREAM, 0.35), align="center")
    lines, size = story_title(ep.title)
    lead = size * TITLE_LEADING
    top = TITLE_BAND[0] + (TITLE_BAND[1] - TITLE_BAND[0] - lead * len(lines)) / 2
    for i, line in enumerate(lines):
        text.draw(img, (540, top + size * 0.80 + i * lead), line, "display", size, INK, align="center")
    # the window: the score between the reels
    reel = STORY_REEL_Y
    if ep.mashup is not None:
        score = "—" if ep.mashup.score is None else str(ep.mashup.score)
        text.draw(img, (540, reel - 16), ep.mashup.heading, "display", 30, MUTED, align="center")
        if ep.mashup.mix:
            _cover_reel(img, (318, reel), 56)
            _wheel(img, (318, reel), 52, ep.mashup.mix)
            _cover_reel(img, (762, reel), 56)
            _tempo(img, (700, reel - 36, 824, reel + 46), ep.mashup.mix, 18)
        sw = text.width(score, "display", 70) + 6 + text.width("/100", "display", 32)
        x = 540 - sw / 2
        x += _gradient_text(img, (x, reel + 44), score, 70) + 6
        text.draw(img, (x, reel + 44), "/100", "display", 32, MUTED)
    else:
        text.draw(img, (540, reel + 18), "PRESS PLAY", "display", 44, MUTED, align="center")
    # the sides: panels sized to their songs
    row, panels = _story_panels(ep)
    px = row - 14
    title_size = min(36, round(px * 0.40))
    meta_size = round(title_size * 0.74)
    for side, (top, height) in zip(ep.sides, panels, strict=True):
        colour = SIDE_COLOURS[side.key]
        art, alpha = _panel_art(1000, height, side.key)
        img.paste(art, (40, top), alpha)
        mark = _watermark(side.key.upper(), 300)
        img.paste(colour, (1012 - mark.width, top + height - 28 - 300 + 40), mark)
        pill = _pill(img, (76, top + 46), f"SIDE {side.key.upper()}", colour, 34)
        name, ns = text.fit(side.name, "display", 104, 1004 - 76 - pill - 22, 60)
        text.draw(img, (76 + pill + 22, top + 106), name, "display", ns, colour)
        y0 = top + STORY_HEAD
        for i, song in enumerate(side.songs):
            _song_row(
                img,
                76,
                y0 + i * row,
                928,
                song,
                side.key,
                pics.get(song.image_url),
                px,
                title_size,
                meta_size,
            )
        if not side.songs:
            text.draw(img, (76, y0 + row // 2), "No songs yet", "regular", 30, DIM)
    # the mash-up pair, in its box
    box = STORY_MASHUP[1]
    if ep.mashup is not None:
        m = ep.mashup
        text.draw(img, (540, box + 44), "THE MASH-UP", "display", 40, WHITE, align="center")
        for song, key, x in ((m.a, "a", 72), (m.b, "b", 560)):
            _cover(img, (x, box + 66), 72, pics.get(song.image_url), key)
            tx = x + 88
            t, ts = text.fit(song.title, "bold", 28, 448 - 88, 22)
            text.draw(img, (tx, box + 96), t, "bold", ts, WHITE)
            if song.artist:
                a = text.ellipsize(song.artist, "regular", 22, 448 - 88)
                text.draw(img, (tx, box + 128), a, "regular", 22, SIDE_COLOURS[key])
        text.draw(img, (540, box + 110), "×", "bold", 34, MUTED, align="center")
    else:
        text.draw(img, (540, box + 96), "TWO SOUNDTRACKS. ONE TAPE.", "display", 48, WHITE, align="center")
    made_by = f"made by {ep.display_name}" if ep.display_name else ""
    if ep.from_spotify:  # Spotify's icon and words, after the maker's name
        _attribution(
            img,
            (540, STORY_FOOTER_Y),
            24,
            text.ellipsize(made_by, "regular", 24, 600) + "  ·  " if made_by else "",
        )
    elif made_by:
        text.draw(
            img,
            (540, STORY_FOOTER_Y),
            text.ellipsize(made_by, "regular", 24, 960),
            "regular",
            24,
            DIM,
            align="center",
        )


# ------------------------------------------------------------------------------------------ entry point

_Layout = tuple[
    Callable[[], Image.Image], Callable[[Episode], list[str]], Callable[[Image.Image, Episode, Covers], None]
]
_LAYOUTS: dict[Size, _Layout] = {
    "card": (_card_background, _card_covers, _draw_card),
    "story": (_story_background, _story_covers, _draw_story),
}
# FreeType faces are shared between renders and are not safe to use from two threads at once (the GIL
# covers it today; free-threaded Python would not): drawing is serialised, cover downloads are not.
_DRAWING = threading.Lock()


def render_image(view: Mapping[str, Any], covers: CoverSource, size: Size = "card") -> Image.Image:
    """The share image as a Pillow image (RGB, 1200x630 for "card", 1080x1920 for "story")."""
    if size not in _LAYOUTS:
        raise ValueError(f"unknown share image size {size!r}")
    background, wanted, draw = _LAYOUTS[size]
    ep = episode_from_view(view)
    pics = _fetch_covers(covers, wanted(ep))
    with _DRAWING:
        img = background().copy()
        draw(img, ep, pics)
    return img


def set_palette(a: RGB, b: RGB, gold: RGB) -> None:
    """Draw with the content pack's side and gold colours from now on (a no-op when they are the same).

    The static artwork is cached per process, so a change forgets it; a process serves one pack, so
    this happens once (tests that start apps with other packs change it back and forth).
    """
    global PINK, CYAN, GOLD
    if (a, b, gold) == (PINK, CYAN, GOLD):
        return
    with _DRAWING:
        PINK, CYAN, GOLD = a, b, gold
        SIDE_COLOURS.update(a=a, b=b)
        MARK_COLOURS.update(a=a, b=b, both=gold)
        for value in list(globals().values()):
            clear = getattr(value, "cache_clear", None)
            if callable(clear) and getattr(value, "__module__", None) == __name__:
                clear()


def render_card(view: Mapping[str, Any], covers: CoverSource, size: Size = "card") -> bytes:
    """The share image as PNG bytes: ``card`` 1200x630 (link previews) or ``story`` 1080x1920 (stories)."""
    return _png(render_image(view, covers, size))


def warm() -> None:
    """Open the fonts and draw the static artwork of both sizes (call once at start-up)."""
    text.warm()
    _card_background()
    _story_background()
