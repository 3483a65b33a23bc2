"""Spotify's icon on the share images, beside "Song data from Spotify" (Spotify's design guidelines).

The icon is the one the pages inline (simple-icons' `spotify.svg`, CC0; the mark is Spotify's): its path
data is read, flattened to polygons and filled even-odd (the three arcs are holes in the disc) with
Pillow, supersampled for smooth edges. No SVG library is needed for one small path of moves and cubic
curves; anything else in the path is refused and the images keep the words alone.
"""

from __future__ import annotations

import functools
import re

from PIL import Image, ImageChops, ImageDraw

from fanapp.site.templating import spotify_icon_path

Point = tuple[float, float]
_TOKEN = re.compile(r"[A-Za-z]|-?(?:\d+\.?\d*|\.\d+)(?:e-?\d+)?")
_SUPERSAMPLE = 4
_STEPS = 12  # line segments per cubic curve


def _cubic(p0: Point, p1: Point, p2: Point, p3: Point) -> list[Point]:
    out = []
    for i in range(1, _STEPS + 1):
        t = i / _STEPS
        u = 1 - t
        out.append(
            (
                u**3 * p0[0] + 3 * u * u * t * p1[0] + 3 * u * t * t * p2[0] + t**3 * p3[0],
                u**3 * p0[1] + 3 * u * u * t * p1[1] + 3 * u * t * t * p2[1] + t**3 * p3[1],
            )
        )
    return out


def subpaths(d: str) -> list[list[Point]]:
    """The closed outlines of an SVG path made of M/m, C/c, S/s, L/l, H/h, V/v and Z/z."""
    tokens = _TOKEN.findall(d)
    shapes: list[list[Point]] = []
    current: list[Point] = []
    x = y = 0.0
    start: Point = (0.0, 0.0)
    last_ctrl: Point | None = None
    cmd = ""
    i = 0

    def nums(n: int) -> list[float]:
        nonlocal i
        values = [float(t) for t in tokens[i : i + n]]
        if len(values) != n:
            raise ValueError("truncated path")
        i += n
        return values

    while i < len(tokens):
        if tokens[i].isalpha():
            cmd = tokens[i]
            i += 1
            if cmd in "Zz":
                if current:
                    shapes.append(current)
                current, (x, y), last_ctrl = [], start, None
                continue
        rel = cmd.islower()
        ox, oy = (x, y) if rel else (0.0, 0.0)
        c = cmd.lower()
        if c == "m":
            nx, ny = nums(2)
            if current:
                shapes.append(current)
            x, y = ox + nx, oy + ny
            start, current, last_ctrl = (x, y), [(x, y)], None
            cmd = "l" if rel else "L"  # later pairs are lines
        elif c == "l":
            nx, ny = nums(2)
            x, y = ox + nx, oy + ny
            current.append((x, y))
            last_ctrl = None
        elif c == "h":
            x = ox + nums(1)[0]
            current.append((x, y))
            last_ctrl = None
        elif c == "v":
            y = oy + nums(1)[0]
            current.append((x, y))
            last_ctrl = None
        elif c in "cs":
            if c == "c":
                x1, y1, x2, y2, nx, ny = nums(6)
                p1 = (ox + x1, oy + y1)
            else:
                x2, y2, nx, ny = nums(4)
                p1 = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_ctrl else (x, y)
            p2, p3 = (ox + x2, oy + y2), (ox + nx, oy + ny)
            current.extend(_cubic((x, y), p1, p2, p3))
            last_ctrl, (x, y) = p2, p3
        else:
            raise ValueError(f"path command {cmd!r} is not supported")
    if current:
        shapes.append(current)
    return shapes


@functools.lru_cache(maxsize=8)
def mask(size: int) -> Image.Image | None:
    """The icon as an `L` mask `size` pixels square (even-odd fill), or None when it is not installed."""
    d = spotify_icon_path()
    if not d:
        return None
    try:
        shapes = subpaths(d)
    except (ValueError, IndexError, TypeError):
        return None
    big = size * _SUPERSAMPLE
    scale = big / 24  # simple-icons draw on a 24x24 grid
    filled = Image.new("1", (big, big), 0)
    for shape in shapes:
        layer = Image.new("1", (big, big), 0)
        ImageDraw.Draw(layer).polygon([(px * scale, py * scale) for px, py in shape], fill=1)
        filled = ImageChops.logical_xor(filled, layer)
    return filled.convert("L").resize((size, size), Image.Resampling.LANCZOS)


def draw(image: Image.Image, xy: tuple[float, float], size: int, colour: tuple[int, int, int]) -> bool:
    """Paint the icon with its top left at `xy`; False (nothing drawn) when it is not installed."""
    m = mask(size)
    if m is None:
        return False
    image.paste(Image.new("RGB", (size, size), colour), (round(xy[0]), round(xy[1])), m)
    return True
