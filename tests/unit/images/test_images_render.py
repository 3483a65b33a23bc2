"""The share images: sizes and format, the design's invariants, and titles that try to break them."""

from __future__ import annotations

import copy
import io
import struct
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from fanapp.sharing.cards import render, text
from fanapp.sharing.cards.covers import NoCovers

SIZES = {"card": (1200, 630), "story": (1080, 1920)}


def _song(title: str, artist: str, slot: str, url: str | None = None, spotify: bool = True) -> dict[str, Any]:
    return {
        "id": title.lower().replace(" ", "-"),
        "title": title,
        "artists": [artist],
        "album": "",
        "image_url": url,
        "spotify_url": "https://open.spotify.com/track/abc" if spotify else None,
        "slot": slot,
        "reason": "",
    }


def episode_view(**overrides: Any) -> dict[str, Any]:
    """The dict `episodes.view()` returns for a realistic published episode."""
    a = [
        _song("Dancing On My Own", "Robyn", "opening", "https://i.scdn.co/image/a1"),
        _song("Motion Sickness", "Phoebe Bridgers", "turn", "https://i.scdn.co/image/a2"),
        _song("Green Light", "Lorde", "finale", "https://i.scdn.co/image/a3"),
    ]
    b = [
        _song("Pink + White", "Frank Ocean", "opening", "https://i.scdn.co/image/b1"),
        _song("Nights", "Frank Ocean", "turn", "https://i.scdn.co/image/b2"),
        _song("Un Año", "Sebastián Yatra", "turn", "https://i.scdn.co/image/b3"),
        _song("Redbone", "Childish Gambino", "finale", "https://i.scdn.co/image/b4"),
    ]
    view: dict[str, Any] = {
        "slug": "k3Jq0vRk9yQzYbq3G0xZ2A",
        "title": "The Night We Swapped Soundtracks",
        "basis": "your top tracks",
        "display_name": "Alex",
        "published_at": "2025-01-01T00:00:00+00:00",
        "characters": [
            {"key": "a", "name": "Maya", "description": "", "songs": a},
            {"key": "b", "name": "Théo", "description": "", "songs": b},
        ],
        "mashup": {"a": a[-1], "b": b[-1], "score": 92, "reasons": ["same tempo"]},
        "alternatives": [],
    }
    view.update(overrides)
    return view


def _decode(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    image.load()
    return image


class RedCovers:
    """A cover source whose every cover is a wide red rectangle (to see how it is placed)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, url: str) -> Image.Image | None:
        self.asked.append(url)
        return Image.new("RGB", (300, 150), (255, 0, 0))


class BrokenCovers:
    def get(self, url: str) -> Image.Image | None:
        raise RuntimeError("cover source exploded")


@pytest.mark.parametrize("size", ["card", "story"])
def test_both_sizes_are_pngs_of_the_right_dimensions(size: render.Size) -> None:
    png = render.render_card(episode_view(), NoCovers(), size)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = _decode(png)
    assert image.size == SIZES[size] and image.mode == "RGB"
    assert len(png) < 1_500_000  # link-preview crawlers fetch it: keep it light


@pytest.mark.parametrize("size", ["card", "story"])
def test_the_png_encoder_is_lossless(size: render.Size) -> None:
    image = render.render_image(episode_view(), NoCovers(), size)
    decoded = _decode(render._png(image))
    assert np.array_equal(np.asarray(decoded), np.asarray(image))


def _chunks(png: bytes) -> list[bytes]:
    tags, at = [], 8
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        tags.append(png[at + 4 : at + 8])
        at += 12 + length
    return tags


@pytest.mark.parametrize("size", ["card", "story"])
def test_the_png_carries_pixels_only(size: render.Size) -> None:
    png = render.render_card(episode_view(), NoCovers(), size)
    tags = _chunks(png)
    assert tags[0] == b"IHDR" and tags[-1] == b"IEND"
    assert set(tags[1:-1]) == {b"IDAT"}  # no text, time, resolution or colour profile chunks
    width, height, depth, colour, _c, _f, interlace = struct.unpack(">IIBBBBB", png[16:29])
    assert (width, height, depth, colour, interlace) == (*SIZES[size], 8, 2, 0)  # 8-bit RGB, not interlaced


def test_images_drawn_in_another_mode_are_encoded_as_rgb() -> None:
    image = Image.new("RGBA", (40, 20), (255, 79, 163, 128))
    decoded = _decode(render._png(image))
    assert decoded.mode == "RGB" and decoded.getpixel((0, 0)) == (255, 79, 163)


def test_unknown_size_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown share image size"):
        render.render_card(episode_view(), NoCovers(), "square")  # type: ignore[arg-type]


def test_rendering_is_deterministic() -> None:
    assert render.render_card(episode_view(), NoCovers()) == render.render_card(episode_view(), NoCovers())


def test_covers_are_drawn_whole_inside_their_square() -> None:
    covers = RedCovers()
    image = np.asarray(render.render_image(episode_view(), covers, "card")).astype(int)
    # Side A's first song: a 54 px square at (64, 272); the 2:1 cover is letterboxed, not cropped or stretched
    square = image[272 : 272 + 54, 64 : 64 + 54]
    red = (square[..., 0] > 240) & (square[..., 1] < 15) & (square[..., 2] < 15)
    rows = np.where(red.any(axis=1))[0]
    assert red.all(axis=1).sum() == 27 and rows.min() == 13 and rows.max() == 39
    assert "https://i.scdn.co/image/a1" in covers.asked


def test_nothing_is_drawn_over_a_cover() -> None:
    image = np.asarray(render.render_image(episode_view(), RedCovers(), "story")).astype(int)
    red = (image[..., 0] > 240) & (image[..., 1] < 15) & (image[..., 2] < 15)
    # every cover is a solid red 2:1 block: count the red pixels per block row; any text or shape drawn on
    # a cover would make a row's run shorter than the cover's width
    ys, xs = np.nonzero(red)
    assert ys.size > 0
    for y in np.unique(ys):
        runs = np.split(xs[ys == y], np.where(np.diff(xs[ys == y]) != 1)[0] + 1)
        widths = {len(r) for r in runs}
        assert len(widths) <= 2, f"row {y}: cover widths {widths}"


def test_a_missing_cover_becomes_the_designed_placeholder() -> None:
    image = render.render_image(episode_view(), NoCovers(), "card")
    tile = image.crop((64, 272, 64 + 54, 272 + 54))
    assert np.array_equal(np.asarray(tile), np.asarray(render.placeholder(54, "a")))
    colours = np.asarray(tile).reshape(-1, 3)
    assert len(np.unique(colours, axis=0)) > 50  # a gradient with a drawing, not a flat grey box
    assert (colours[:, 0] > colours[:, 2]).mean() > 0.5  # Side A's pink


def test_a_failing_cover_source_never_fails_the_image() -> None:
    with_placeholders = render.render_card(episode_view(), NoCovers())
    assert render.render_card(episode_view(), BrokenCovers()) == with_placeholders


def test_spotify_attribution_only_when_spotify_metadata_is_shown() -> None:
    view = episode_view()
    assert render.episode_from_view(view).from_spotify
    plain = copy.deepcopy(view)
    for character in plain["characters"]:
        for song in character["songs"]:
            song["spotify_url"] = None
    plain["mashup"] = None
    assert not render.episode_from_view(plain).from_spotify
    with_line = np.asarray(render.render_image(view, NoCovers(), "card"))[584:606, 400:800]
    without = np.asarray(render.render_image(plain, NoCovers(), "card"))[584:606, 400:800]
    assert not np.array_equal(with_line, without)


def test_the_card_tells_the_arc_in_three_songs() -> None:
    ep = render.episode_from_view(episode_view())
    picks = render._card_songs(ep.sides[1].songs)
    assert [s.slot for s in picks] == ["opening", "turn", "finale"]
    assert picks[-1].title == "Redbone"


HOSTILE_TITLES = [
    "<script>alert(1)</script>",
    "'; DROP TABLE episodes; --",
    "Café Déjà Vu — Beyoncé",
    "日本語の歌",
    "שלום עולם",
    "مرحبا بالعالم",
    "🎤🔥👩‍🎤🇯🇵",
    "x" * 500,
    "Ünïcödé 日本語 🎤 שלום مرحبا " * 20,
    "\u202eevil override\u202c and \x00 nulls \n newlines \t tabs",
    "\ud800 lone surrogate",
    "",
    "   ",
    "Z̷̢̛͉a̵̡l̴g̸o̶" * 30,
    "\U0010fffd private use",
]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
@pytest.mark.parametrize("size", ["card", "story"])
def test_hostile_and_unicode_text_renders(title: str, size: render.Size) -> None:
    view = episode_view(title=title)
    view["characters"][0]["name"] = title[:40]
    view["characters"][1]["songs"][0]["title"] = title
    view["characters"][1]["songs"][0]["artists"] = [title]
    image = _decode(render.render_card(view, NoCovers(), size))
    assert image.size == SIZES[size]


def test_markup_is_drawn_as_the_plain_text_it_is() -> None:
    title = "<script>alert(1)</script>"
    assert text.clean(title) == title
    assert "".join(r.text for r in text.runs(title, "bold")) == title
    image = render.render_image(episode_view(title=title), NoCovers(), "card")
    baseline = render.render_image(episode_view(title="x"), NoCovers(), "card")
    assert image.crop((100, 50, 700, 100)).getbbox() is not None
    assert not np.array_equal(np.asarray(image)[50:100], np.asarray(baseline)[50:100])


def test_a_long_title_is_shortened_with_an_ellipsis_on_the_card() -> None:
    ep = render.episode_from_view(episode_view(title="A title that goes on and on " * 20))
    assert len(ep.title) <= 300
    fitted, size = text.fit(ep.title, "bold", 38, 700, 26)
    assert fitted.endswith("…") and size == 26


@pytest.mark.parametrize(
    "view",
    [
        {},
        {"characters": None, "mashup": "nope", "title": None},
        {"characters": [{"key": "a"}, "junk", {"key": "b", "songs": [None, 3, {"title": None}]}]},
        {"characters": [{"key": "a", "name": 123, "songs": [{"artists": "Solo", "slot": "bogus"}] * 9}]},
        {"mashup": {"a": {}, "b": None, "score": "high"}},
        {"mashup": {"a": {"title": "A"}, "b": {"title": "B"}, "score": float("nan")}},
        {"mashup": {"a": {"title": "A"}, "b": {"title": "B"}, "score": 10**30}},
    ],
)
@pytest.mark.parametrize("size", ["card", "story"])
def test_malformed_views_still_render(view: dict[str, Any], size: render.Size) -> None:
    assert _decode(render.render_card(view, NoCovers(), size)).size == SIZES[size]


def test_scores_are_clamped_and_songs_capped() -> None:
    ep = render.episode_from_view(
        {
            "characters": [{"key": "a", "songs": [{"title": str(i)} for i in range(9)]}],
            "mashup": {"a": {"title": "A"}, "b": {"title": "B"}, "score": 150},
        }
    )
    assert ep.mashup is not None and ep.mashup.score == 100
    assert len(ep.sides[0].songs) == 5
    assert ep.sides[1].name == "B"
    assert [s.slot for s in ep.sides[0].songs] == ["opening", "turn", "turn", "turn", "finale"]


@pytest.mark.parametrize("count", [0, 1, 3, 5])
def test_story_fits_any_number_of_songs(count: int) -> None:
    view = episode_view()
    for character in view["characters"]:
        character["songs"] = [_song(f"Song {i}", "Artist", "turn") for i in range(count)]
    assert _decode(render.render_card(view, NoCovers(), "story")).size == SIZES["story"]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    names=st.tuples(st.text(max_size=60), st.text(max_size=60)),
    title=st.text(max_size=200),
    song=st.text(max_size=120),
    score=st.one_of(st.none(), st.integers(-1000, 1000)),
)
def test_random_unicode_never_crashes(
    names: tuple[str, str], title: str, song: str, score: int | None
) -> None:
    view = episode_view(title=title)
    for character, name in zip(view["characters"], names, strict=True):
        character["name"] = name
        character["songs"][0]["title"] = song
        character["songs"][1]["artists"] = [song, name]
    view["mashup"]["score"] = score
    for size in ("card", "story"):
        image = render.render_image(view, NoCovers(), size)  # type: ignore[arg-type]
        assert image.size == SIZES[size]


@pytest.mark.parametrize(
    "title",
    [
        "The Heartbroken Karaoke Queen & The Sunday Morning Optimist",
        "The Most Extraordinarily Overwhelmed Midnight Philosopher & The Unstoppable Saturday Dancer",
        "Wolfeschlegelsteinhausenbergerdorffwelchevoralternwarengewissenhaft & Co " * 4,
    ],
)
def test_long_story_titles_stay_inside_their_band(title: str) -> None:
    """Issue 12: a title that wraps to three lines ran over the stripes and the mash-up window."""
    lines, size = render.story_title(title)
    band = render.TITLE_BAND
    assert band[0] >= render.SAFE_ZONE and band[1] <= SIZES["story"][1] - render.SAFE_ZONE
    assert len(lines) * size * render.TITLE_LEADING <= band[1] - band[0]
    for line in lines:
        assert text.width(line, "display", size) <= render.TITLE_WIDTH
    with_title = np.asarray(
        render.render_image(episode_view(title=title), NoCovers(), "story"), dtype=np.int16
    )
    other = np.asarray(
        render.render_image(episode_view(title="Maya & Théo"), NoCovers(), "story"), dtype=np.int16
    )
    changed = np.flatnonzero(np.abs(with_title - other).sum(axis=(1, 2)))
    assert len(changed) and changed.min() >= band[0] and changed.max() < band[1]


def test_an_ordinary_long_title_is_wrapped_whole_not_cut() -> None:
    lines, size = render.story_title("The Heartbroken Karaoke Queen & The Sunday Morning Optimist")
    assert " ".join(lines) == "The Heartbroken Karaoke Queen & The Sunday Morning Optimist"
    assert size >= 54
    cut, _ = render.story_title("Endless " * 80)
    assert cut[-1].endswith(text.ELLIPSIS)
