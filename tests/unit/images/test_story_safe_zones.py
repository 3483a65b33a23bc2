"""Issue 12: the 1080x1920 story keeps what it says out of the 250 px that stories cover at the top and
bottom (their progress bar, name and reply box), whatever the title and names are."""

from __future__ import annotations

import copy
import itertools
from typing import Any

import numpy as np
import pytest

from fanapp.sharing.cards import render, text
from fanapp.sharing.cards.covers import NoCovers
from tests.unit.images.test_images_render import RedCovers, episode_view

WIDTH, HEIGHT = 1080, 1920
TOP, BOTTOM = render.SAFE_ZONE, HEIGHT - render.SAFE_ZONE

LONG_TITLES = [
    "The Heartbroken Karaoke Queen & The Sunday Morning Optimist",  # three lines at a smaller size
    "The Most Extraordinarily Overwhelmed Midnight Philosopher & The Unstoppable Saturday Dancer",
    "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft " * 5,  # no place to wrap
    "x" * 300,
]
HOSTILE = [
    "مغنية الكاريوكي الحزينة و المتفائل صباح الأحد",  # RTL
    "עצוב בקריוקי & אופטימי של יום ראשון בבוקר",  # RTL
    "心碎的卡拉OK女王与星期天早晨的乐观主义者" * 4,  # CJK, no spaces
    "🎤💔👑 & ☀️🌅🙂" * 12,  # emoji
    "<script>alert(1)</script> & {{7*7}} %s \\x00 " * 6,  # markup stays text
    "Ünïcödé " * 40,
]


def _hostile(title: str, name: str) -> dict[str, Any]:
    """An episode whose every text on the story is long or hostile: title, side names, songs, credits."""
    view = copy.deepcopy(episode_view(title=title, display_name=name))
    for character in view["characters"]:
        character["name"] = name
        for song in character["songs"]:
            song["title"], song["artists"] = name, [name, name]
    view["mashup"]["a"] = view["characters"][0]["songs"][-1]
    view["mashup"]["b"] = view["characters"][1]["songs"][-1]
    return view


CASES = [(title, "A" * 300) for title in LONG_TITLES] + [(title, title) for title in HOSTILE]


@pytest.mark.parametrize(("title", "name"), CASES)
def test_every_box_stays_out_of_the_safe_zones(title: str, name: str) -> None:
    boxes = render.story_boxes(_hostile(title, name))
    assert {
        "kind",
        "stripe pink",
        "stripe cyan",
        "title line 1",
        "window",
        "side a",
        "side b",
        "mashup",
    } <= set(boxes)
    for what, (left, top, right, bottom) in boxes.items():
        assert TOP <= top < bottom <= BOTTOM, f"{what} reaches into a safe zone: {top}..{bottom}"
        assert 0 <= left < right <= WIDTH, f"{what} leaves the image: {left}..{right}"
    lines = [box for what, box in boxes.items() if what.startswith("title line")]
    assert 1 <= len(lines) <= 3
    for left, top, right, bottom in lines:
        # under the stripes, above the window, within the label's text width
        assert boxes["stripe cyan"][3] <= render.TITLE_BAND[0] <= top and bottom <= render.TITLE_BAND[1]
        assert render.TITLE_BAND[1] <= boxes["window"][1]
        assert right - left <= render.TITLE_WIDTH + 1
    # top to bottom, nothing overlaps: label, stripes, title, window, side A, side B, mash-up box, credits
    order = ["kind", "stripe pink", "stripe cyan", *sorted(b for b in boxes if b.startswith("title line"))]
    order += ["window", "side a", "side b", "mashup", "credits"]
    for upper, lower in itertools.pairwise(order):
        assert boxes[upper][3] <= boxes[lower][1], f"{upper} runs into {lower}"


def test_a_three_line_title_keeps_a_readable_size() -> None:
    lines, size = render.story_title(LONG_TITLES[1])
    assert len(lines) == 3 and size >= render.TITLE_SIZES[1]
    assert " ".join(lines).replace(text.ELLIPSIS, "") in LONG_TITLES[1]


@pytest.mark.parametrize(("title", "name"), [CASES[0], CASES[3], CASES[5], CASES[7]])
def test_text_is_drawn_only_between_the_safe_zones(title: str, name: str) -> None:
    """Rendered, not just planned: the story of a hostile episode differs from a plain one only
    between the zones (everything in the zones is the same static backdrop and wordmark)."""
    hostile = np.asarray(render.render_image(_hostile(title, name), RedCovers(), "story"), dtype=np.int16)
    plain = np.asarray(render.render_image(episode_view(), RedCovers(), "story"), dtype=np.int16)
    changed = np.flatnonzero(np.abs(hostile - plain).sum(axis=(1, 2)))
    assert len(changed) and changed.min() >= TOP and changed.max() < BOTTOM


def test_the_mash_up_box_and_stripes_are_drawn_where_the_layout_says() -> None:
    """The boxes the test above checks are the ones drawn: the mash-up box's dark fill is there and
    nothing of it remains in the bottom zone; the stripes are pink and cyan under the top zone."""
    image = np.asarray(render.render_image(episode_view(mashup=None), NoCovers(), "story"), dtype=np.int16)
    left, top, right, bottom = render.STORY_MASHUP
    inside = image[top + 20 : bottom - 20, left + 40 : right - 40].mean(axis=(0, 1))
    below = image[BOTTOM + 10 :, left + 40 : right - 40].mean(axis=(0, 1))
    assert inside.sum() < below.sum() - 60  # the box is darker than the backdrop under it
    for (x0, y0, x1, y1), colour in zip(render.STORY_STRIPES, (render.PINK, render.CYAN), strict=True):
        stripe = image[(y0 + y1) // 2, x0 + 20 : x1 - 20]
        assert np.abs(stripe - np.array(colour)).max() <= 8
        assert y0 >= TOP
