"""The mash-up explained the same way everywhere: builder, share page, embed, JSON and both images read one
stored computation; the builder offers the engine's top pairs and a pick makes them the finales."""

from __future__ import annotations

import io

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from PIL import Image

from fanapp.sharing.cards import render
from tests.conftest import csrf_from, start_demo


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def shown(page: BeautifulSoup) -> dict[str, object]:
    box = page.select_one('[data-testid="mashup"]')
    assert box is not None
    return {
        "pair": [el["data-track-id"] for el in box.select('[data-testid="mashup-track"]')],
        "score": int(box.select_one('[data-testid="mashup-score"]').get_text()),
        "reasons": [el.get_text() for el in box.select('[data-testid="mashup-reason"]')],
        "verdict": box.select_one('[data-testid="mashup-verdict"]').get_text(strip=True),
        "keys": " ".join(box.select_one('[data-testid="mashup-keys"]').get_text().split()),
        "tempo": box.select_one('[data-testid="mashup-tempo-text"]').get_text(strip=True),
        "wheel": box.select_one('[data-testid="mashup-wheel"] svg')["aria-label"],
    }


def test_every_surface_shows_the_same_score_and_words(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    html = client.get(builder_url).get_data(as_text=True)
    builder = soup(html)
    in_builder = shown(builder)
    choices = builder.select('[data-testid="mashup-choice"]')
    assert len(choices) == 3
    first = choices[0]
    assert [first["data-a-id"], first["data-b-id"]] == in_builder["pair"]
    assert int(first.select_one('[data-testid="mashup-choice-score"]').get_text()) == in_builder["score"]
    assert "Camelot wheel." in str(in_builder["wheel"]) and "Open Key" in str(in_builder["wheel"])
    assert " · " in str(in_builder["keys"])  # Camelot beside Open Key, e.g. "10A · 3m"

    token = csrf_from(html)
    published = client.post(builder_url + "/publish", data={"csrf_token": token})
    share_url = published.headers["Location"]
    slug = share_url.rstrip("/").rsplit("/", 1)[-1]
    on_share = shown(soup(client.get(f"/s/{slug}").get_data(as_text=True)))
    in_embed = shown(soup(client.get(f"/embed/s/{slug}").get_data(as_text=True)))
    assert on_share == in_embed == in_builder

    data = client.get(f"/s/{slug}.json").get_json()
    assert [data["mashup"]["a"]["id"], data["mashup"]["b"]["id"]] == in_builder["pair"]
    assert data["mashup"]["score"] == in_builder["score"]
    assert data["mashup"]["reasons"] == in_builder["reasons"]
    assert data["mashup"]["verdict"] == "clean" and data["mashup"]["label"] == ""
    mix = data["mashup"]["mix"]
    assert mix["a_key"] in str(in_builder["keys"]) and mix["a_key_open"] in str(in_builder["keys"])

    # The images read the same dict: the same pair, score and mix drawn.
    ep = render.episode_from_view(data)
    assert ep.mashup is not None and ep.mashup.score == in_builder["score"]
    assert ep.mashup.mix["a_key"] == mix["a_key"] and ep.mashup.mix["b_bpm"] == mix["b_bpm"]
    for path, size in ((f"/s/{slug}.png", (1200, 630)), (f"/s/{slug}/story.png", (1080, 1920))):
        image = Image.open(io.BytesIO(client.get(path).data))
        assert image.size == size


def test_picking_another_pair_makes_its_songs_the_finales(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    html = client.get(builder_url).get_data(as_text=True)
    page, token = soup(html), csrf_from(html)
    choice = page.select('[data-testid="mashup-choice"]')[1]
    a_id, b_id = choice["data-a-id"], choice["data-b-id"]
    offered = int(choice.select_one('[data-testid="mashup-choice-score"]').get_text())
    response = client.post(builder_url + "/mashup", data={"csrf_token": token, "a": a_id, "b": b_id})
    assert response.status_code == 303
    after = soup(client.get(builder_url).get_data(as_text=True))
    now = shown(after)
    assert now["pair"] == [a_id, b_id] and now["score"] == offered
    for key, wanted in (("a", a_id), ("b", b_id)):
        songs = after.select(f'[data-testid="character-{key}"] [data-testid="track"]')
        assert songs[-1]["data-track-id"] == wanted and songs[-1]["data-slot"] == "finale"
    notes = " ".join(n.get_text() for n in after.select('[data-testid="story-note"]'))
    assert "finale" in notes and "half of the mash-up" in notes

    # A pair that was never offered is refused with a sentence, and nothing changes.
    refused = client.post(
        builder_url + "/mashup", data={"csrf_token": token, "a": b_id, "b": a_id}, follow_redirects=True
    )
    assert "no longer on offer" in refused.get_data(as_text=True)
    assert shown(soup(client.get(builder_url).get_data(as_text=True)))["pair"] == [a_id, b_id]


def test_words_follow_the_songs_after_an_edit(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    html = client.get(builder_url).get_data(as_text=True)
    page, token = soup(html), csrf_from(html)
    side_a = page.select_one('[data-testid="character-a"]')
    first = side_a.select('[data-testid="track"]')[0]
    song_id = first.select_one('input[name="song"]')["value"]
    client.post(builder_url + "/move", data={"csrf_token": token, "song": song_id, "direction": "down"})
    after = soup(client.get(builder_url).get_data(as_text=True))
    reasons = [el.get_text() for el in after.select('[data-testid="character-a"] .song-reason')]
    assert reasons[0].startswith("opens ")
    artists = {el.get_text() for el in after.select('[data-testid="character-a"] .song-artist')}
    description = after.select_one('[data-testid="character-a"] .description').get_text()
    named = [a for a in artists if a and a.split(",")[0] in description]
    others = {el.get_text() for el in after.select('[data-testid="character-b"] .song-artist')}
    assert not any(o.split(",")[0] in description for o in others - artists)
    assert named or "song" in description
