"""Which public paths count as which funnel step (the WSGI layer outside the page cache)."""

from __future__ import annotations

import pytest

from fanapp.campaigns import field_for
from fanapp.sharing.counting import _field, step_of

SLUG = "AAAAAAAAAAAAAAAAAAAAAA"


@pytest.mark.parametrize(
    ("path", "step"),
    [
        (f"/s/{SLUG}", "share_views"),
        (f"/s/{SLUG}.png", "image_views"),
        (f"/s/{SLUG}/story.png", "image_views"),
        (f"/embed/s/{SLUG}", "embed_views"),
        ("/embed/start", "embed_views"),
        (f"/s/{SLUG}.json", None),
        (f"/s/{SLUG}/report", None),
        (f"/s/{SLUG}/duet", None),
        ("/", None),
        ("/oembed", None),
        ("/static/js/embed.js", None),
    ],
)
def test_paths_and_their_steps(path: str, step: str | None) -> None:
    assert step_of(path) == step


def test_the_campaign_comes_from_the_query_string() -> None:
    assert _field("share_views", "utm_campaign=summer&utm_source=insta&x=1") == field_for(
        "share_views", {"utm_campaign": "summer", "utm_source": "insta"}
    )
    assert _field("share_views", "c=winter") == field_for("share_views", {"c": "winter"})
    assert _field("embed_views", "") == field_for("embed_views", {})
    with pytest.raises(ValueError, match="unknown funnel step"):
        field_for("clicks")
