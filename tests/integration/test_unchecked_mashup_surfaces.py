"""Issue 11: a pair nothing was measured for is labelled as such on every surface, in the same words:
builder, share page, embed, JSON and both images (an export upload carries no audio features)."""

from __future__ import annotations

import io

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from PIL import Image

from fanapp.sharing.cards import render
from tests.conftest import csrf_from
from tests.integration.test_mashup_surfaces import shown
from tests.integration.test_more_ways_in import DATA, _upload, upload_root  # noqa: F401 (fixture)


def test_an_unchecked_pair_says_so_everywhere(client: FlaskClient) -> None:
    r = _upload(
        client, [("StreamingHistory_music_0.json", (DATA / "StreamingHistory_music_0.json").read_bytes())]
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    builder_url = r.headers["Location"]
    html = client.get(builder_url).get_data(as_text=True)
    in_builder = shown(BeautifulSoup(html, "html.parser"))
    assert str(in_builder["verdict"]).lower().startswith("not checked"), in_builder

    published = client.post(builder_url + "/publish", data={"csrf_token": csrf_from(html)})
    assert published.status_code == 303
    slug = published.headers["Location"].rstrip("/").rsplit("/", 1)[-1]
    on_share = shown(BeautifulSoup(client.get(f"/s/{slug}").get_data(as_text=True), "html.parser"))
    in_embed = shown(BeautifulSoup(client.get(f"/embed/s/{slug}").get_data(as_text=True), "html.parser"))
    assert on_share == in_embed == in_builder

    data = client.get(f"/s/{slug}.json").get_json()
    mashup = data["mashup"]
    assert [mashup["a"]["id"], mashup["b"]["id"]] == in_builder["pair"]
    assert mashup["score"] == in_builder["score"] and mashup["reasons"] == in_builder["reasons"]
    assert mashup["verdict"] == "not checked" and mashup["label"]
    assert mashup["label"] in str(in_builder["verdict"]) or str(in_builder["verdict"]) in mashup["label"]
    # No word claims a measurement that was not made.
    for said in [*in_builder["reasons"], in_builder["keys"], in_builder["tempo"]]:
        assert not any(
            claim in str(said).lower() for claim in ("same key", "adjacent", "relative", "bpm apart")
        )

    # Both images read the same dict and say it above the score, in the label's first words.
    ep = render.episode_from_view(data)
    assert ep.mashup is not None and ep.mashup.score == in_builder["score"]
    assert ep.mashup.heading == "MASH-UP · " + mashup["label"].split(":")[0].upper()
    assert "NOT CHECKED" in ep.mashup.heading
    for path, size in ((f"/s/{slug}.png", (1200, 630)), (f"/s/{slug}/story.png", (1080, 1920))):
        image = Image.open(io.BytesIO(client.get(path).data))
        assert image.size == size
