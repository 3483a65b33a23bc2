"""Fonts and text for the share images: per-character font fallback, bidi, emoji, fitting and ellipsis.

Fonts, in the order they are tried, and their licences:

- Shipped with fanapp in ``fanapp/sharing/cards/fonts/`` (see ``fonts/OFL.txt``), so the look never depends
  on the machine:
  - Bebas Neue Bold (display: character names, "SIDE A", the score) by Ryoichi Tsunekawa / Dharma Type,
    SIL Open Font License 1.1 (from Debian's ``fonts-bebas-neue``).
  - Noto Sans Regular and Bold (song titles, artists, labels) by Google, SIL Open Font License 1.1
    (from Debian's ``fonts-noto-core``).
- Installed on the machine by ``scripts/system-packages.sh`` (Debian ``fonts-noto-core``, ``fonts-noto-cjk``,
  ``fonts-noto-color-emoji``; DejaVu comes with fontconfig), looked up by file name under the usual font
  directories (Debian, Fedora, Arch and macOS layouts):
  - Noto Sans Hebrew, Arabic, Thai, Devanagari … and every other ``NotoSans<Script>`` face present,
    Noto Sans Symbols / Symbols 2, Noto Music: SIL Open Font License 1.1.
  - Noto Sans CJK (JP face of the collection; it covers kana, Han and Hangul): SIL Open Font License 1.1.
  - Noto Color Emoji: SIL Open Font License 1.1 (its build tools are Apache 2.0).
  - DejaVu Sans: Bitstream Vera Fonts licence, with the DejaVu changes in the public domain.
- Pillow's built-in font (``ImageFont.load_default``) as the very last resort, so that rendering works even
  on a machine with no font files at all.

A missing font package only narrows coverage: characters that no available font covers are left out of the
drawing (never drawn as a .notdef "tofu" box) and :func:`missing_glyphs` reports them.

Coverage is read from each font's own ``cmap`` table with fontTools (one face of a ``.ttc`` collection by its
index: Debian's Noto CJK is one), so fallback is exact rather than guessed from rendered masks; Pillow's
built-in font, which has no file, is probed by comparing a character's mask with the mask of a character no
font has. Text is cut only between grapheme clusters (the ``regex`` module's ``\\X``).

Right-to-left: this module runs a small subset of the Unicode bidi algorithm itself (paragraph direction from
the first strong character; strong L/R runs; numbers kept left-to-right; neutrals between two runs of the same
direction take it, otherwise the paragraph's) and reorders the font runs visually. Each run is then drawn with
Pillow: with libraqm present (the Pillow wheels ship it) right-to-left runs are shaped with
``direction="rtl"``, so Arabic letters join; in Pillow's basic layout FriBiDi (when present) orders them;
with neither, the characters of a right-to-left run are reversed here, which gives the right order but
unjoined Arabic letters (python-bidi is not a dependency).
"""

from __future__ import annotations

import bisect
import functools
import os
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import regex
from fontTools.ttLib import TTFont
from PIL import Image, ImageDraw, ImageFont, features

Style = Literal["display", "bold", "regular"]
STYLES: tuple[Style, ...] = ("display", "bold", "regular")
ELLIPSIS = "…"

SHIPPED_DIR = Path(__file__).resolve().parent / "fonts"
SYSTEM_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
    Path("/Library/Fonts"),
    Path("/System/Library/Fonts"),
)

EMOJI_FILE = "NotoColorEmoji.ttf"
EMOJI_LOAD_SIZE = 109  # the only pixel size a CBDT bitmap font can be opened at
EMOJI_SCALE = (
    1 / 118
)  # bitmap pixels per font-size pixel: an emoji about one em tall (0.8 em in display type)

# Per style: the preferred faces as (file name, index in a collection). The long tail of other Noto script
# faces, the emoji font, the symbol fonts and DejaVu are appended by `_chain`.
_PRIMARY: dict[Style, tuple[tuple[str, int], ...]] = {
    "display": (("BebasNeue-Bold.otf", 0), ("NotoSans-Bold.ttf", 0)),
    "bold": (("NotoSans-Bold.ttf", 0),),
    "regular": (("NotoSans-Regular.ttf", 0),),
}
_SCRIPTS = (
    "Hebrew",
    "Arabic",
    "CJK",
    "Thai",
    "Devanagari",
    "Bengali",
    "Tamil",
    "Telugu",
    "Kannada",
    "Malayalam",
    "Gujarati",
    "Gurmukhi",
    "Sinhala",
    "Khmer",
    "Lao",
    "Myanmar",
    "Georgian",
    "Armenian",
    "Ethiopic",
)
_SYMBOLS = ("NotoSansSymbols", "NotoSansSymbols2", "NotoSansMath", "NotoMusic")

_BIDI_CONTROLS = frozenset("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_JOINERS = frozenset("\u200c\u200d")
_EMOJI_MODIFIERS = range(0x1F3FB, 0x1F400)
_TAGS = range(0xE0020, 0xE0080)
_REGIONAL = range(0x1F1E6, 0x1F200)
_NOBODY_HAS = "\U0010fffd"  # a private-use code point no font maps: its mask is the .notdef glyph
_GRAPHEME = regex.compile(r"\X")


# --------------------------------------------------------------------------------------------- font files


@functools.cache
def _font_index() -> dict[str, Path]:
    """Font file name -> path, shipped fonts first, then every font directory of the machine (walked once)."""
    found: dict[str, Path] = {}
    for root in (SHIPPED_DIR, *SYSTEM_DIRS):
        try:
            if not root.is_dir():
                continue
            for dirpath, _dirs, files in os.walk(root):
                for name in files:
                    if name.lower().endswith((".ttf", ".otf", ".ttc")):
                        found.setdefault(name, Path(dirpath) / name)
        except OSError:
            continue
    return found


def find_font(name: str) -> Path | None:
    """The path of a font file by its file name, or None when it is nowhere on this machine."""
    return _font_index().get(name)


# --------------------------------------------------------------------------------------------- cmap coverage

Ranges = tuple[tuple[int, ...], tuple[int, ...]]  # sorted starts, matching inclusive ends

# HarfBuzz's order (fontTools' default), then the Windows symbol subtable that old symbol fonts carry alone
_CMAP_PREFERENCES = ((3, 10), (0, 6), (0, 4), (3, 1), (0, 3), (0, 2), (0, 1), (0, 0), (3, 0))


@functools.cache
def _coverage(path: Path, index: int) -> Ranges:
    """The code points one face of a font file (or of a .ttc collection) maps, as sorted ranges.

    Ranges rather than a set: the sets of the ~200 faces of a Debian machine take 7 MB per process, and
    :func:`_covers` caches its bisect anyway. A file fontTools cannot read covers nothing.
    """
    try:
        # the file is ours to close: TTFont leaves it open when it refuses it (say, no such face in a .ttc)
        with path.open("rb") as fh, TTFont(fh, lazy=True, fontNumber=index) as face:
            if "maxp" in face:
                # Only the cmap's code points are used, never its glyph names: blank names spare fontTools
                # the 'post' table and the CFF charset, half the cost (CPU, median of 5, once per process:
                # all 200 faces of a Debian machine 350 -> 180 ms, Noto CJK alone 98 -> 43 ms).
                face.setGlyphOrder([""] * face["maxp"].numGlyphs)
            cmap = face["cmap"].getBestCmap(_CMAP_PREFERENCES) if "cmap" in face else None
    except Exception:  # a damaged file raises whatever fontTools' decoders hit (TTLibError, struct.error…)
        return ((), ())
    starts: list[int] = []
    ends: list[int] = []
    for cp in sorted(cmap or ()):
        if ends and cp == ends[-1] + 1:
            ends[-1] = cp
        else:
            starts.append(cp)
            ends.append(cp)
    return tuple(starts), tuple(ends)


# --------------------------------------------------------------------------------------------- faces


@dataclass(frozen=True)
class Face:
    """One font of a fallback chain: a file (and face index), or Pillow's built-in font when path is None."""

    path: Path | None
    index: int = 0
    emoji: bool = False

    def covers(self, ch: str) -> bool:
        """Whether this font has a glyph for the character."""
        return _covers(self, ch)


@functools.lru_cache(maxsize=65536)
def _covers(face: Face, ch: str) -> bool:
    cp = ord(ch)
    if face.path is None:  # Pillow's built-in font: compare with the .notdef glyph
        font = _builtin(24)
        try:
            mask = font.getmask(ch)
            return mask.getbbox() is not None and bytes(mask) != bytes(font.getmask(_NOBODY_HAS))
        except (OSError, ValueError, UnicodeError):
            return False
    starts, ends = _coverage(face.path, face.index)
    i = bisect.bisect_right(starts, cp) - 1
    return i >= 0 and cp <= ends[i]


def layout_engine() -> ImageFont.Layout:
    """Raqm (shaping and bidi) when Pillow has it, else the basic layout."""
    return ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC


def manual_reversal(engine: ImageFont.Layout) -> bool:
    """Whether right-to-left runs must be reversed here: Pillow reorders them itself with raqm, and in its
    basic layout too when it has FriBiDi."""
    return engine != ImageFont.Layout.RAQM and not features.check("fribidi")


@functools.lru_cache(maxsize=8)
def _builtin(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    return ImageFont.load_default(size)


def font(face: Face, size: int, engine: ImageFont.Layout | None = None) -> ImageFont.FreeTypeFont | None:
    """The face at a pixel size (None if the file cannot be opened; the emoji face opens at 109 only)."""
    if face.path is None:
        return None
    return _open(face.path, face.index, EMOJI_LOAD_SIZE if face.emoji else size, engine or layout_engine())


@functools.lru_cache(maxsize=512)
def _open(path: Path, index: int, size: int, engine: ImageFont.Layout) -> ImageFont.FreeTypeFont | None:
    try:
        return ImageFont.truetype(str(path), size, index=index, layout_engine=engine)
    except (OSError, ValueError):
        return None


@functools.cache
def chain(style: Style) -> tuple[Face, ...]:
    """The fallback chain for a style: only fonts that exist and open, ending with Pillow's built-in font."""
    bold = style != "regular"
    weight = "Bold" if bold else "Regular"
    names: list[tuple[str, int, bool]] = [(n, i, False) for n, i in _PRIMARY[style]]
    for script in _SCRIPTS:
        if script == "CJK":
            names.append((f"NotoSansCJK-{weight}.ttc", 0, False))
            names.append(("NotoSansCJK-Regular.ttc", 0, False))
            names.append(("NotoSansCJKjp-Regular.otf", 0, False))
        else:
            names.append((f"NotoSans{script}-{weight}.ttf", 0, False))
            names.append((f"NotoSans{script}-Regular.ttf", 0, False))
    if script_tail := sorted(
        n for n in _font_index() if n.startswith("NotoSans") and n.endswith(f"-{weight}.ttf")
    ):
        names.extend((n, 0, False) for n in script_tail)
    names.append((EMOJI_FILE, 0, True))
    for sym in _SYMBOLS:
        names.append((f"{sym}-{weight}.ttf", 0, False))
        names.append((f"{sym}-Regular.ttf", 0, False))
    names.append(("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf", 0, False))
    names.append(("DejaVuSans.ttf", 0, False))
    faces: list[Face] = []
    seen: set[tuple[Path, int]] = set()
    for name, index, emoji in names:
        path = find_font(name)
        if path is None or (path, index) in seen:
            continue
        seen.add((path, index))
        face = Face(path, index, emoji)
        if font(face, 24) is not None:
            faces.append(face)
    faces.append(Face(None))
    return tuple(faces)


# --------------------------------------------------------------------------------------------- text runs


def clean(text: object) -> str:
    """Text made safe to draw: NFC, no control or bidi-override characters, whitespace collapsed to one space.

    Anything is accepted (None, numbers, markup): it is drawn as the plain text it is.
    """
    s = unicodedata.normalize("NFC", "" if text is None else str(text))
    out: list[str] = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch in _BIDI_CONTROLS or cat == "Cs":
            continue
        if cat in ("Cc", "Zl", "Zp") or (cat == "Zs" and ch != " "):
            out.append(" ")
        elif cat == "Cf" and ch not in _JOINERS and ord(ch) not in _TAGS:
            continue
        else:
            out.append(ch)
    return " ".join("".join(out).split())


def clusters(text: str) -> list[str]:
    """Text split where it can be cut: Unicode's extended grapheme clusters (UAX #29, the ``regex`` module's
    ``\\X``), so never inside an accent, an emoji sequence, a flag, a Hangul syllable or an Indic conjunct."""
    return _GRAPHEME.findall(text)


def _ignorable(ch: str) -> bool:
    cp = ord(ch)
    return ch in _JOINERS or 0xFE00 <= cp <= 0xFE0F or cp in _TAGS or 0xE0100 <= cp <= 0xE01EF


def _wants_emoji(cluster: str) -> bool:
    cp = ord(cluster[0])
    return (
        "\ufe0f" in cluster
        or "\u200d" in cluster
        or any(ord(c) in _EMOJI_MODIFIERS for c in cluster)
        or cp in _REGIONAL
        or 0x1F000 <= cp <= 0x1FAFF
    )


def _neutral(ch: str) -> bool:
    return unicodedata.category(ch)[0] in "ZP" or ch in "+-=<>|~^`"


@functools.lru_cache(maxsize=32768)
def _face_for(style: Style, cluster: str, current: Face | None) -> Face | None:
    faces = chain(style)
    needed = [c for c in cluster if not _ignorable(c)] or [cluster[0]]
    if (
        current is not None
        and not current.emoji
        and _neutral(cluster[0])
        and all(current.covers(c) for c in needed)
    ):
        return current  # spaces and punctuation stay in the run they are in
    ordered: Iterable[Face] = faces
    if _wants_emoji(cluster):
        ordered = [f for f in faces if f.emoji] + [f for f in faces if not f.emoji]
    for face in ordered:
        if all(face.covers(c) for c in needed):
            return face
    for face in ordered:  # a mark no font pairs with its letter: keep the letter
        if face.covers(needed[0]):
            return face
    return None


def missing_glyphs(text: str, style: Style = "regular") -> set[str]:
    """The characters of ``text`` (after :func:`clean`) that no font of the style's chain covers."""
    faces = chain(style)
    return {
        ch
        for ch in clean(text)
        if not ch.isspace() and not _ignorable(ch) and not any(f.covers(ch) for f in faces)
    }


def _strong(ch: str) -> str:
    b = unicodedata.bidirectional(ch)
    if b in ("R", "AL"):
        return "R"
    if b == "L":
        return "L"
    if b in ("EN", "AN"):
        return "num"
    return "N"


def _levels(kinds: Sequence[str]) -> list[int]:
    """Embedding levels (0 left-to-right, 1 right-to-left, 2 left-to-right inside right-to-left)."""
    rtl = next((k == "R" for k in kinds if k in ("L", "R")), False)
    base = "R" if rtl else "L"
    # numbers act as R after R (rule W7's mirror for AN/EN) and as L otherwise, for resolving neutrals
    prev = base
    acting: list[str] = []
    for k in kinds:
        if k in ("L", "R"):
            prev = k
            acting.append(k)
        elif k == "num":
            acting.append("R" if prev == "R" else "L")
        else:
            acting.append("N")
    resolved = list(acting)
    i = 0
    while i < len(resolved):
        if resolved[i] != "N":
            i += 1
            continue
        j = i
        while j < len(resolved) and resolved[j] == "N":
            j += 1
        before = resolved[i - 1] if i > 0 else base
        after = resolved[j] if j < len(resolved) else base
        fill = before if before == after else base
        resolved[i:j] = [fill] * (j - i)
        i = j
    levels: list[int] = []
    for kind, res in zip(kinds, resolved, strict=True):
        if rtl:
            levels.append(1 if res == "R" and kind != "num" else 2)
        else:
            levels.append(1 if res == "R" and kind != "num" else (2 if kind == "num" and res == "R" else 0))
    return levels


@dataclass(frozen=True)
class Run:
    """A piece of a line drawn with one font in one direction; runs are in visual (left-to-right) order."""

    text: str
    face: Face
    rtl: bool
    emoji_scale: float = 0.0  # bitmap pixels per font-size pixel, for colour emoji runs


@functools.lru_cache(maxsize=4096)
def runs(text: str, style: Style, engine: ImageFont.Layout | None = None) -> tuple[Run, ...]:
    """The line split into font runs, bidi-resolved, in visual order (characters no font has are dropped)."""
    engine = layout_engine() if engine is None else engine
    pieces: list[tuple[str, Face, int]] = []
    current: Face | None = None
    cls = clusters(text)
    kinds = [_strong(c[0]) for c in cls]
    levels = _levels(kinds)
    for cluster, level in zip(cls, levels, strict=True):
        face = _face_for(style, cluster, current)
        if face is None:
            continue
        if not face.emoji:
            cluster = "".join(c for c in cluster if c in _JOINERS or not _ignorable(c)) or cluster[0]
        if engine != ImageFont.Layout.RAQM:  # no shaping: joiners and selectors would show as boxes
            cluster = "".join(c for c in cluster if not _ignorable(c))
            if not cluster:
                continue
        current = face
        if pieces and pieces[-1][1] == face and pieces[-1][2] == level:
            pieces[-1] = (pieces[-1][0] + cluster, face, level)
        else:
            pieces.append((cluster, face, level))
    # rule L2: from the highest level down to the lowest odd one, reverse each sequence at or above it
    order = list(range(len(pieces)))
    top = max((p[2] for p in pieces), default=0)
    for level in range(top, 0, -1):
        i = 0
        while i < len(order):
            if pieces[order[i]][2] < level:
                i += 1
                continue
            j = i
            while j < len(order) and pieces[order[j]][2] >= level:
                j += 1
            order[i:j] = reversed(order[i:j])
            i = j
    out: list[Run] = []
    for k in order:
        chunk, face, level = pieces[k]
        rtl = level % 2 == 1
        if rtl and manual_reversal(engine):
            chunk = "".join(reversed(clusters(chunk)))
        scale = EMOJI_SCALE * (0.8 if style == "display" else 1.0) if face.emoji else 0.0
        out.append(Run(chunk, face, rtl, scale))
    return tuple(out)


# --------------------------------------------------------------------------------------------- measure, draw


def _run_font(run: Run, size: int, engine: ImageFont.Layout) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    f = font(run.face, size, engine)
    return f if f is not None else _builtin(size)


def _direction(run: Run, f: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> str | None:
    """The run's direction for Pillow, which takes one only from fonts laid out with raqm."""
    if not isinstance(f, ImageFont.FreeTypeFont) or f.layout_engine != ImageFont.Layout.RAQM:
        return None
    return "rtl" if run.rtl else "ltr"


@functools.lru_cache(maxsize=16384)
def _run_width(run: Run, size: int, engine: ImageFont.Layout) -> float:
    f = _run_font(run, size, engine)
    try:
        if isinstance(f, ImageFont.FreeTypeFont):
            length = float(f.getlength(run.text, direction=_direction(run, f)))
        else:
            length = float(f.getlength(run.text))
    except (OSError, ValueError, KeyError, UnicodeError):
        return 0.0
    return length * size * run.emoji_scale if run.face.emoji else length


def width(text: str, style: Style, size: int, engine: ImageFont.Layout | None = None) -> float:
    """The drawn width of one line of (clean) text in pixels."""
    engine = layout_engine() if engine is None else engine
    return sum(_run_width(r, size, engine) for r in runs(text, style, engine))


@functools.lru_cache(maxsize=1024)
def _emoji_image(run: Run, size: int, engine: ImageFont.Layout) -> tuple[Image.Image, int, int]:
    """A colour emoji run scaled to a font size, with its offset from the pen position on the baseline."""
    f = font(run.face, EMOJI_LOAD_SIZE, engine)
    if f is None:
        raise OSError("emoji font unavailable")
    text, direction = run.text, _direction(run, f)
    x0, y0, x1, y1 = (int(v) for v in f.getbbox(text, anchor="ls", direction=direction))
    canvas = Image.new("RGBA", (max(1, x1 - x0), max(1, y1 - y0)))
    ImageDraw.Draw(canvas).text(
        (-x0, -y0), text, font=f, anchor="ls", embedded_color=True, direction=direction
    )
    scale = size * run.emoji_scale
    w, h = max(1, round(canvas.width * scale)), max(1, round(canvas.height * scale))
    return canvas.resize((w, h), Image.Resampling.LANCZOS), round(x0 * scale), round(y0 * scale)


def draw(
    image: Image.Image,
    xy: tuple[float, float],
    text: str,
    style: Style,
    size: int,
    fill: int | tuple[int, int, int] | tuple[int, int, int, int] | str,
    *,
    align: Literal["left", "center", "right"] = "left",
    engine: ImageFont.Layout | None = None,
) -> float:
    """Draw one line with its left (or centre, or right) end at ``xy`` on the baseline; returns its width."""
    engine = layout_engine() if engine is None else engine
    line = runs(text, style, engine)
    total = sum(_run_width(r, size, engine) for r in line)
    x, y = xy
    if align == "center":
        x -= total / 2
    elif align == "right":
        x -= total
    pen = ImageDraw.Draw(image)
    for run in line:
        w = _run_width(run, size, engine)
        try:
            if run.face.emoji:
                pic, dx, dy = _emoji_image(run, size, engine)
                image.paste(pic, (round(x + dx), round(y + dy)), pic)
            else:
                f = _run_font(run, size, engine)
                pen.text((x, y), run.text, font=f, fill=fill, anchor="ls", direction=_direction(run, f))
        except (OSError, ValueError, KeyError, UnicodeError):
            pass  # one unrenderable run never fails the image
        x += w
    return total


# --------------------------------------------------------------------------------------------- fitting


def ellipsize(text: str, style: Style, size: int, max_width: float) -> str:
    """The text, or its longest start that fits with an ellipsis after it (never cutting inside a cluster)."""
    text = clean(text)
    if width(text, style, size) <= max_width:
        return text
    parts = clusters(text)[:400]  # no line holds more; bounds the work for hostile lengths
    lo, hi = 0, len(parts)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if width("".join(parts[:mid]).rstrip() + ELLIPSIS, style, size) <= max_width:
            lo = mid
        else:
            hi = mid - 1
    return "".join(parts[:lo]).rstrip(" ,;:-–—·") + ELLIPSIS


def fit(text: str, style: Style, size: int, max_width: float, min_size: int | None = None) -> tuple[str, int]:
    """Shrink the size (down to ``min_size``) until the line fits, then ellipsize; returns (text, size)."""
    text = clean(text)
    floor = size if min_size is None else min(min_size, size)
    current = size
    while True:
        if width(text, style, current) <= max_width:
            return text, current
        if current <= floor:
            return ellipsize(text, style, current, max_width), current
        current = max(floor, int(current * 0.92))


def _is_wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F") and not 0x1F000 <= ord(ch) <= 0x1FAFF


def _words(text: str) -> list[str]:
    """Pieces to wrap at: each ends after a space, or is one ideograph (CJK has no spaces)."""
    words: list[str] = []
    for cl in clusters(text):
        if not words or _is_wide(cl[0]) or words[-1].endswith(" ") or _is_wide(words[-1][-1]):
            words.append(cl)
        else:
            words[-1] += cl
    return words


def wrap(text: str, style: Style, size: int, max_width: float, max_lines: int) -> list[str]:
    """Greedy word wrap into at most ``max_lines`` lines, the last one ellipsized if text is left over."""
    words = _words(clean(text))
    lines: list[str] = []
    start = 0
    current = ""
    for i, word in enumerate(words):
        if not current or width((current + word).rstrip(), style, size) <= max_width:
            current += word
            continue
        if len(lines) == max_lines - 1:
            break
        lines.append(current.rstrip())
        start, current = i, word
    else:
        if current.strip():
            lines.append(current.rstrip())
        return [ellipsize(line, style, size, max_width) for line in lines]
    lines.append(ellipsize("".join(words[start:]), style, size, max_width))
    return lines


def fit_block(
    text: str, style: Style, size: int, max_width: float, max_lines: int, min_size: int
) -> tuple[list[str], int]:
    """Shrink (down to ``min_size``) until the text wraps into ``max_lines`` without being cut; the lines are
    balanced: a line does not end on a short word that fits on the next one."""
    whole = clean(text).replace(" ", "")
    current = size
    while True:
        lines = wrap(text, style, current, max_width, max_lines)
        if "".join(lines).replace(" ", "") == whole:
            return _balanced(text, style, current, max_width, lines), current
        if current <= min_size:
            return lines, current
        current = max(min_size, int(current * 0.92))


def _balanced(text: str, style: Style, size: int, max_width: float, lines: list[str]) -> list[str]:
    """Lines that do not end on a short word ("the", "&", "a"): it moves down when the next line has room."""
    out = list(lines)
    for _ in range(4 * len(out)):
        moved = False
        for i in range(len(out) - 1):
            words = out[i].split(" ")
            if len(words) > 1 and len(words[-1]) <= 3:
                candidate = words[-1] + " " + out[i + 1]
                if width(candidate, style, size) <= max_width:
                    out[i], out[i + 1] = " ".join(words[:-1]), candidate
                    moved = True
        if not moved:
            break
    return out


def warm(styles: Iterable[Style] = STYLES) -> None:
    """Resolve the font chains and open the primary fonts (once per process: the benchmark's "fonts warm")."""
    for style in styles:
        faces = chain(style)
        faces[0].covers("A")
        width("Aa", style, 24)


def reset_caches() -> None:
    """Forget every font, chain and layout (tests that change the font directories call this)."""
    for cached in (
        _font_index,
        _coverage,
        chain,
        _open,
        _builtin,
        _covers,
        _face_for,
        runs,
        _run_width,
        _emoji_image,
    ):
        cached.cache_clear()
