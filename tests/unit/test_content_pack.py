"""The content pack is checked at start-up; blocked words are found through look-alikes."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fanapp import content
from fanapp.content.words import BlockList, skeleton


def bundled() -> dict[str, Any]:
    """The bundled pack as parsed TOML (to break one key at a time)."""
    return tomllib.loads(content.BUNDLED.read_text("utf-8"))


def test_the_bundled_pack_is_todays_text() -> None:
    pack = content.load()
    assert pack.is_bundled
    assert pack.copy["tagline"] == "Every episode follows two characters."
    assert pack.theme["a"] == "#ff4fa3" and pack.theme["b"] == "#35d6ff"
    assert pack.blocked.words


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ("copy", "tagline", r"\[copy\]: tagline is missing"),
        ("moderation", "blocked_words", "blocked_words must be a list"),
        ("theme", "a", r"\[theme\]: a must be a colour"),
    ],
)
def test_a_missing_key_is_named(table: str, key: str, message: str) -> None:
    data = bundled()
    del data[table][key]
    with pytest.raises(content.ContentPackError, match=message):
        content.parse(data, source="pack.toml")


def test_a_missing_table_is_named() -> None:
    data = bundled()
    del data["copy"]
    with pytest.raises(content.ContentPackError, match=r"the \[copy\] table is missing"):
        content.parse(data, source="pack.toml")


def test_a_colour_that_fails_aa_contrast_is_refused_with_its_ratio() -> None:
    data = bundled()
    data["theme"]["a"] = "#5a2040"  # a dark pink on the dark card
    with pytest.raises(content.ContentPackError) as caught:
        content.parse(data, source="campaign.toml")
    message = str(caught.value)
    assert "campaign.toml [theme]: a (#5a2040) on card (#1f1733)" in message
    assert "below the 4.5:1" in message and "lighter a" in message


def test_an_unknown_archetype_is_refused() -> None:
    data = bundled()
    data["archetypes"] = {"nobody": {"name": "Nobody"}}
    with pytest.raises(content.ContentPackError, match="no archetype 'nobody'"):
        content.parse(data, source="pack.toml")


def test_files_that_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(content.ContentPackError, match="there is no file at"):
        content.load(str(tmp_path / "missing.toml"))
    broken = tmp_path / "broken.toml"
    broken.write_text("[copy\ntagline = 1", "utf-8")
    with pytest.raises(content.ContentPackError, match="is not valid TOML"):
        content.load(str(broken))


def test_contrast_matches_wcag() -> None:
    assert content.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert content.contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)


BLOCKED = BlockList.of(["nazi", "kkk", "hitler"])


@pytest.mark.parametrize(
    "name",
    [
        "Nazi",
        "NAZI queen",
        "N\u0430zi",  # Cyrillic a
        "\u039d\u0391\u0396\u0399",  # Greek capitals
        "\uff2e\uff21\uff3a\uff29",  # full-width
        "\U0001d55f\U0001d552\U0001d56b\U0001d55a",  # double-struck
        "n4z1",
        "N.a.z.i",
        "n a z i",
        "Hitl\u00e9r",
        "H1TLER",
        "K.K.K.",
        "kkk",
    ],
)
def test_blocked_words_are_found_through_look_alikes(name: str) -> None:
    assert BLOCKED.found_in(name) is not None


@pytest.mark.parametrize("name", ["The Spark", "Skkkate Park", "Nazareth", "Ms. Dreamer", "Zoë", "夜の歌"])
def test_harmless_names_pass(name: str) -> None:
    assert BLOCKED.found_in(name) is None


@given(st.text(max_size=60))
def test_any_text_folds_without_error(text: str) -> None:
    assert isinstance(skeleton(text), str)
    BLOCKED.found_in(text)


def test_the_digest_follows_what_the_pack_shows() -> None:
    data = bundled()
    same = content.parse(bundled(), source="a.toml").digest()
    assert content.parse(data, source="b.toml").digest() == same  # where it was read from does not matter
    data["copy"]["tagline"] = "Another line."
    assert content.parse(data, source="a.toml").digest() != same
