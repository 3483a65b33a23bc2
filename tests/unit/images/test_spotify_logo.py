"""Spotify's icon on the share images: the simple-icons path, flattened and filled even-odd."""

from __future__ import annotations

import itertools

import pytest

from fanapp.sharing.cards import logo


def test_the_icon_is_a_disc_with_three_arcs_cut_out() -> None:
    m = logo.mask(96)
    assert m is not None and m.size == (96, 96)
    assert m.getpixel((48, 10)) > 200  # the disc
    assert m.getpixel((2, 2)) < 30  # outside it
    column = [m.getpixel((48, y)) for y in range(20, 80)]
    # Down the middle: disc, arc (a hole), disc, … at least three holes.
    holes = sum(1 for a, b in itertools.pairwise(column) if a > 128 >= b)
    assert holes >= 3


def test_paths_with_other_commands_are_refused() -> None:
    assert len(logo.subpaths("M0 0L10 0L10 10Z m2 2h3v3z")) == 2
    with pytest.raises(ValueError, match="not supported"):
        logo.subpaths("M0 0A5 5 0 0 1 10 10Z")
