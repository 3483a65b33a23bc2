"""The oEmbed answer suggests an iframe the card fits in: at the suggested width, nothing is cut (the
score, the reasons and the card's links are all inside the suggested height)."""

from __future__ import annotations

import re

import pytest
import requests

from tests.browser.conftest import OpenTab, Site
from tests.conftest import csrf_from, start_demo

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

LONG_NAMES = ("The Heartbroken Karaoke Queen Of Tuesdays", "The Sunday Morning Optimist In The Rain")


def _publish_with_long_names(site: Site) -> str:
    client = site.server.app.test_client()  # type: ignore[union-attr]
    builder = start_demo(client)
    token = csrf_from(client.get(builder).get_data(as_text=True))
    for key, name in zip("ab", LONG_NAMES, strict=True):
        client.post(builder + "/rename", data={"csrf_token": token, "character": key, "name": name[:40]})
    published = client.post(builder + "/publish", data={"csrf_token": token})
    return str(published.headers["Location"]).rsplit("/", 1)[-1]


@pytest.mark.parametrize("names", ["demo", "long"])
def test_the_suggested_iframe_fits_the_card(site: Site, open_tab: OpenTab, names: str) -> None:
    slug = site.publish_demo() if names == "demo" else _publish_with_long_names(site)
    query = {"url": f"{site.url}/s/{slug}", "format": "json"}
    answer = requests.get(f"{site.url}/oembed", params=query, timeout=10).json()
    width, height = answer["width"], answer["height"]
    assert f'height="{height}"' in answer["html"] and f'width="{width}"' in answer["html"]
    tab = open_tab("desktop")
    tab.page.set_viewport_size({"width": width, "height": height})
    src = re.search(r'<iframe src="([^"]+)"', answer["html"])
    assert src and src.group(1).endswith("#compact")
    tab.goto(src.group(1).replace("&amp;", "&"))
    tab.page.wait_for_function("document.documentElement.classList.contains('embed-wp')")
    needed = tab.page.evaluate("document.documentElement.scrollHeight")
    score = tab.page.get_by_test_id("mashup-score").bounding_box()
    assert score and score["y"] + score["height"] <= height  # the score is never below the fold
    assert needed <= height, f"the card needs {needed} px, the suggested iframe is {height} px"
    assert height - needed < 400, "far taller than the card: a partner's page would show a gap"
