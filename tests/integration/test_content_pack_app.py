"""A campaign's content pack changes the landing, the share page, the embed and the images; a broken
one stops start-up; its blocked words are refused before they are stored."""

from __future__ import annotations

import io
import tomllib
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlmodel import Session, select

from fanapp import content, create_app
from fanapp.config import Settings
from fanapp.data.models import Character
from fanapp.sharing.cards import render
from tests.conftest import csrf_from, make_settings, publish_demo, start_demo

CAMPAIGN_PACK = """
[copy]
tagline = "Summer of Soundtrack: the finale is yours."
lede = "Two characters, six songs, one mash-up for the summer campaign."
share_invite = "Join the summer campaign: make your own."
embed_cta = "Join the summer"

[archetypes.spark]
name = "The Firecracker"
description = "Lights up every room."

[moderation]
blocked_words = ["villain", "nazi"]

[theme]
stage = "#001b12"
card = "#06281d"
ink = "#f2fff9"
a = "#ffb000"
b = "#7cf29a"
gold = "#ffe08a"
"""


def _write(tmp_path: Path, text: str) -> str:
    path = tmp_path / "campaign.toml"
    path.write_text(text, "utf-8")
    return str(path)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """An app with the campaign's pack."""
    return make_settings(database_url, content_pack=_write(tmp_path, CAMPAIGN_PACK))


@pytest.fixture(autouse=True)
def _bundled_colours_after() -> Iterator[None]:
    # The share images' palette is per process: leave it as the other tests expect it.
    yield
    pack = content.load()
    render.set_palette(pack.rgb("a"), pack.rgb("b"), pack.rgb("gold"))


def test_the_landing_shows_the_packs_copy_and_colours(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert "Summer of Soundtrack: the finale is yours." in page
    assert "Two characters, six songs" in page
    assert "Every episode follows two characters." not in page
    assert "/theme.css?v=" in page
    css = client.get("/theme.css")
    assert css.status_code == 200 and css.mimetype == "text/css"
    assert "--a: #ffb000;" in css.get_data(as_text=True)


def test_the_share_page_embed_and_images_follow_the_pack(client: FlaskClient) -> None:
    slug = publish_demo(client)
    share = client.get(f"/s/{slug}").get_data(as_text=True)
    assert "Join the summer campaign: make your own." in share and "/theme.css?v=" in share
    embed = client.get(f"/embed/s/{slug}").get_data(as_text=True)
    assert "Join the summer" in embed and "/theme.css?v=" in embed
    card = Image.open(io.BytesIO(client.get(f"/s/{slug}.png").data)).convert("RGB")
    colours = {c for _n, c in card.getcolors(1_000_000) or []}
    assert (0xFF, 0xB0, 0x00) in colours  # the pack's side A
    assert (0xFF, 0x4F, 0xA3) not in colours  # not the bundled pink


def test_the_packs_archetype_names_cast_the_characters(app: Flask, client: FlaskClient) -> None:
    start_demo(client)
    with Session(app.extensions["fanapp.engine"]) as s:
        cast = {(c.archetype, c.name) for c in s.exec(select(Character))}
    for archetype, name in cast:
        if archetype == "spark":
            assert name == "The Firecracker"
        else:
            assert name != "The Firecracker"


def test_a_blocked_word_is_refused_before_it_is_stored(app: Flask, client: FlaskClient) -> None:
    builder_url = start_demo(client)
    token = csrf_from(client.get(builder_url).get_data(as_text=True))
    for name in ("The V\u0456llain", "VILLAIN", "v1lla1n"):  # a Cyrillic i, capitals, digits
        r = client.post(
            builder_url + "/rename",
            data={"csrf_token": token, "character": "a", "name": name},
            headers={"HX-Request": "true"},
        )
        assert "a word we cannot publish" in r.get_data(as_text=True)
    with Session(app.extensions["fanapp.engine"]) as s:
        names = [c.name for c in s.exec(select(Character))]
    assert not any("llain" in n.lower() or "lla1n" in n for n in names)
    r = client.post(builder_url + "/rename", data={"csrf_token": token, "character": "a", "name": "The Hero"})
    assert r.status_code == 303


def test_a_broken_pack_stops_start_up_with_a_clear_message(database_url: str, tmp_path: Path) -> None:
    data = tomllib.loads(CAMPAIGN_PACK)
    assert data["theme"]["a"]
    broken = CAMPAIGN_PACK.replace('a = "#ffb000"', 'a = "#3a2a00"')
    with pytest.raises(content.ContentPackError, match=r"a \(#3a2a00\) on card \(#06281d\) has a contrast"):
        create_app(make_settings(database_url, content_pack=_write(tmp_path, broken)))
    missing = CAMPAIGN_PACK.replace('tagline = "Summer of Soundtrack: the finale is yours."', "")
    with pytest.raises(content.ContentPackError, match="tagline is missing"):
        create_app(make_settings(database_url, content_pack=_write(tmp_path, missing)))
