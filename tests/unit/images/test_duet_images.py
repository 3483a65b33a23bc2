"""A duet's story image says it is a duet; its card names both people's characters in the title."""

from __future__ import annotations

import numpy as np

from fanapp.sharing.cards import render
from fanapp.sharing.cards.covers import NoCovers
from tests.unit.images.test_images_render import episode_view

LABEL = render.STORY_KIND_BOX  # the line above the stripes of the story's tape label


def test_the_story_label_says_duet_only_for_a_duet() -> None:
    plain = episode_view()
    duet = {**plain, "duet_of": "A" * 22, "title": "Ana meets Bo"}
    assert render.episode_from_view(duet).duet and not render.episode_from_view(plain).duet
    a = np.asarray(render.render_image(plain, NoCovers(), "story").crop(LABEL)).astype(int)
    b = np.asarray(render.render_image({**plain, "duet_of": "A" * 22}, NoCovers(), "story").crop(LABEL))
    assert np.abs(a - b.astype(int)).sum() > 0  # only the label's word differs: EPISODE, DUET
    untouched = (0, LABEL[3] + 1, 1080, 1920)
    same_a = np.asarray(render.render_image(plain, NoCovers(), "story").crop(untouched))
    same_b = np.asarray(
        render.render_image({**plain, "duet_of": "A" * 22}, NoCovers(), "story").crop(untouched)
    )
    assert (same_a == same_b).all()
