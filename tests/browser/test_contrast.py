"""Every text colour of the stylesheet against every surface it is used on passes WCAG AA (4.5:1).

The palette is read from the custom properties in static/css/app.css, so changing a colour there is
checked here. Glows and stage lights are translucent layers: the pairs below composite them at their
strongest over the surface, the worst case for contrast. (axe-core checks the rendered pages too, but
it skips text over gradients and pseudo-elements, which is most of this design.)
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CSS = Path(__file__).resolve().parents[2] / "static" / "css" / "app.css"
AA = 4.5

RGB = tuple[float, float, float]


def palette() -> dict[str, RGB]:
    root = re.search(r":root\s*{(.*?)}", CSS.read_text(), re.S)
    assert root
    colours = {}
    for name, value in re.findall(r"--([\w-]+):\s*#([0-9a-fA-F]{6})\s*;", root.group(1)):
        colours[name] = tuple(int(value[i : i + 2], 16) / 255 for i in (0, 2, 4))
    return colours  # type: ignore[return-value]


def over(top: RGB, alpha: float, base: RGB) -> RGB:
    return tuple(alpha * t + (1 - alpha) * b for t, b in zip(top, base, strict=True))  # type: ignore[return-value]


def luminance(rgb: RGB) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: RGB, b: RGB) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


P = palette()
PINK, CYAN = P["a"], P["b"]
SURFACES = {
    "stage": P["stage"],
    "stage-2": P["stage-2"],
    "card": P["card"],
    "card-2": P["card-2"],
    # The stage lights at their brightest over the page (body::before/after).
    "stage under the pink light": over(PINK, 0.30, P["stage"]),
    "stage under the cyan light": over(CYAN, 0.26, P["stage"]),
    # The top of a side card (its glow) and the corners of the mash-up card.
    "side A card top": over(PINK, 0.22, P["card"]),
    "side B card top": over(CYAN, 0.18, P["card"]),
    "mash-up pink corner": over(PINK, 0.42, P["card-2"]),
    "mash-up cyan corner": over(CYAN, 0.34, P["card-2"]),
    "mash-up song": over(P["stage"], 0.72, over(PINK, 0.42, P["card-2"])),
}
PAGE = ("stage", "stage under the pink light", "stage under the cyan light")
CARDS = ("stage-2", "card", "card-2", "side A card top", "side B card top")
MASHUP = ("mash-up pink corner", "mash-up cyan corner", "mash-up song")
AA_LARGE = 3.0  # WCAG AA for large text: 24 px, or 18.66 px bold (all display type here is larger)
# (text colours, surfaces, minimum ratio), as the stylesheet uses them.
USES = [
    (("ink", "ink-soft", "muted", "gold", "b"), PAGE + CARDS, AA),  # body text, eyebrows, links
    (("a",), ("stage-2", "card", "card-2"), AA),  # "+ A" buttons and pink small text on cards
    (("a",), PAGE, AA_LARGE),  # the brand and the hero's "Two characters." (display type only)
    (("ink", "ink-soft", "gold"), MASHUP, AA),  # the mash-up card (its .muted is ink-soft)
]
# Text that sits on a solid colour of its own: labels, filled buttons.
FILLED = [
    ("a-ink", "a"),
    ("b-ink", "b"),
    ("gold-ink", "gold"),
    ("stage", "ink"),  # a button under the pointer
    ("a-ink", "ink"),
    ("b-ink", "ink"),
]
PAIRS = [(t, s, ratio) for texts, surfaces, ratio in USES for t in texts for s in surfaces]


@pytest.mark.parametrize(("text", "surface", "minimum"), PAIRS)
def test_text_colours_on_their_surfaces(text: str, surface: str, minimum: float) -> None:
    ratio = contrast(P[text], SURFACES[surface])
    assert ratio >= minimum, f"--{text} on {surface}: {ratio:.2f}:1 (needs {minimum}:1)"


@pytest.mark.parametrize(("text", "fill"), FILLED)
def test_text_on_filled_colours(text: str, fill: str) -> None:
    ratio = contrast(P[text], P[fill])
    assert ratio >= AA, f"--{text} on --{fill}: {ratio:.2f}:1"


def test_focus_ring_stands_out() -> None:
    # WCAG 2.2 non-text contrast (3:1) for the focus indicator on every surface.
    for name, surface in SURFACES.items():
        assert contrast(P["focus"], surface) >= 3, name
