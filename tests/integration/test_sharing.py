"""Sharing: images, link previews, oEmbed, embeds and their framing rules, campaigns, Spotify playlists."""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from PIL import Image
from sqlmodel import Session, select

from fanapp import campaigns
from fanapp.config import Settings
from fanapp.data.models import Episode
from tests.conftest import connect_spotify, csrf_from, make_settings, publish_demo

PARTNER = "https://campaign.example"


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url, embed_allowed_origins=(PARTNER,), public_base_url="https://fans.example"
    )


@pytest.mark.parametrize(("path", "size"), [(".png", (1200, 630)), ("/story.png", (1080, 1920))])
def test_share_images(client: FlaskClient, path: str, size: tuple[int, int]) -> None:
    slug = publish_demo(client)
    anonymous = client.application.test_client()
    r = anonymous.get(f"/s/{slug}{path}")
    assert r.status_code == 200 and r.mimetype == "image/png"
    image = Image.open(io.BytesIO(r.data))
    assert image.format == "PNG" and image.size == size
    assert r.headers["Cache-Control"] == "public, max-age=300"  # the cache tier keeps it until purged
    etag = r.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "Set-Cookie" not in r.headers
    again = anonymous.get(f"/s/{slug}{path}", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert anonymous.get(f"/s/{slug}{path}").data == r.data  # rendered once, served from the cache


def test_unknown_slug_images_are_404(client: FlaskClient) -> None:
    assert client.get("/s/AAAAAAAAAAAAAAAAAAAAAA.png").status_code == 404
    assert client.get("/s/AAAAAAAAAAAAAAAAAAAAAA/story.png").status_code == 404


def test_share_page_link_preview_tags(client: FlaskClient) -> None:
    slug = publish_demo(client)
    r = client.application.test_client().get(f"/s/{slug}")
    assert "public" in r.headers["Cache-Control"] and r.headers["ETag"]
    page = BeautifulSoup(r.get_data(as_text=True), "html.parser")

    def meta(key: str) -> str:
        tag = page.find("meta", attrs={"property": key}) or page.find("meta", attrs={"name": key})
        assert tag is not None, key
        return str(tag["content"])

    assert meta("og:url") == f"https://fans.example/s/{slug}"
    assert meta("og:image") == f"https://fans.example/s/{slug}.png"
    assert (meta("og:image:width"), meta("og:image:height")) == ("1200", "630")
    assert meta("twitter:card") == "summary_large_image"
    assert meta("og:title") and meta("og:description") and meta("twitter:image")
    assert page.find("link", rel="canonical")["href"] == f"https://fans.example/s/{slug}"
    oembed = page.find("link", attrs={"type": "application/json+oembed"})
    q = parse_qs(urlparse(oembed["href"]).query)
    assert q["url"] == [f"https://fans.example/s/{slug}"] and q["format"] == ["json"]
    assert page.select_one('[data-testid="share-link"]')["value"] == f"https://fans.example/s/{slug}"


def test_oembed_response_follows_the_spec(client: FlaskClient) -> None:
    slug = publish_demo(client)
    url = f"https://fans.example/s/{slug}"
    r = client.get("/oembed", query_string={"url": url, "format": "json"})
    assert r.status_code == 200 and r.mimetype == "application/json"
    data = r.get_json()
    # oEmbed 1.0, section 2.3.4: required fields for every type, then for "rich".
    assert data["version"] == "1.0" and data["type"] == "rich"
    assert isinstance(data["width"], int) and isinstance(data["height"], int)
    frame = BeautifulSoup(data["html"], "html.parser").find("iframe")
    assert frame["src"] == f"https://fans.example/embed/s/{slug}#compact"  # the card's tight layout
    assert (frame["width"], frame["height"]) == (str(data["width"]), str(data["height"]))
    assert data["provider_name"] and data["provider_url"] == "https://fans.example/"
    assert data["thumbnail_url"] == f"https://fans.example/s/{slug}.png"
    assert (data["thumbnail_width"], data["thumbnail_height"]) == (1200, 630)
    assert isinstance(data["cache_age"], int)

    small = client.get("/oembed", query_string={"url": url, "maxwidth": 320, "maxheight": 400}).get_json()
    assert small["width"] <= 320 and small["height"] <= 400


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"url": "https://fans.example/s/AAAAAAAAAAAAAAAAAAAAAA"}, 404),
        ({"url": "https://elsewhere.example/s/AAAAAAAAAAAAAAAAAAAAAA"}, 404),
        ({"url": "https://fans.example/privacy"}, 404),
        ({"url": "javascript:alert(1)"}, 404),
        ({"url": "https://fans.example/s/x", "format": "xml"}, 501),
        ({}, 400),
        ({"url": "https://fans.example/s/x", "maxwidth": "wide"}, 400),
        ({"url": "x" * 5000}, 400),
    ],
)
def test_oembed_refusals(client: FlaskClient, query: dict[str, str], status: int) -> None:
    r = client.get("/oembed", query_string=query)
    assert r.status_code == status
    assert "Traceback" not in r.get_data(as_text=True)


def test_framing_rules(client: FlaskClient) -> None:
    slug = publish_demo(client)
    for path in (f"/embed/s/{slug}", "/embed/start"):
        r = client.get(path)
        assert r.status_code == 200
        assert f"frame-ancestors 'self' {PARTNER}" in r.headers["Content-Security-Policy"]
        assert "X-Frame-Options" not in r.headers
        assert "Set-Cookie" not in r.headers
    for path in ("/", f"/s/{slug}", "/privacy", "/oembed?url=x"):
        r = client.get(path)
        assert r.headers["X-Frame-Options"] == "DENY", path
        assert "frame-ancestors 'none'" in r.headers["Content-Security-Policy"], path


def test_embed_start_opens_a_top_level_tab_and_keeps_the_campaign(client: FlaskClient) -> None:
    r = client.get("/embed/start?utm_source=partner&utm_campaign=launch")
    assert "Set-Cookie" not in r.headers
    link = BeautifulSoup(r.get_data(as_text=True), "html.parser").select_one('[data-testid="start-journey"]')
    assert link["target"] == "_blank"
    q = parse_qs(urlparse(link["href"]).query)
    assert q == {"utm_source": ["partner"], "utm_campaign": ["launch"]}


def test_campaign_parameters_reach_the_stored_episode(client: FlaskClient, app: Flask) -> None:
    client.get("/?utm_source=partner&utm_medium=embed&utm_campaign=launch&c=<b>x</b>&ignored=1")
    slug = publish_demo(client)
    with Session(app.extensions["fanapp.engine"]) as s:
        episode = s.exec(select(Episode).where(Episode.slug == slug)).one()
    assert episode.campaign == {
        "utm_source": "partner",
        "utm_medium": "embed",
        "utm_campaign": "launch",
        "c": "<b>x</b>",
    }


def test_save_to_spotify_asks_only_for_the_playlist_scope(spotify_app: Flask, fake_spotify: Any) -> None:
    client = spotify_app.test_client()
    r = connect_spotify(client, fake_spotify)
    builder = client.get(r.headers["Location"]).get_data(as_text=True)
    published = client.post(r.headers["Location"] + "/publish", data={"csrf_token": csrf_from(builder)})
    slug = published.headers["Location"].rsplit("/", 1)[-1]
    share = client.get(f"/s/{slug}").get_data(as_text=True)
    assert 'data-testid="save-to-spotify"' in share
    episode = client.get(f"/s/{slug}.json").get_json()

    # An operator switches the Spotify way in off meanwhile: new imports stop, a save still finishes.
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        campaigns.switch_way(s, way="spotify", off=True)
    start = client.get(f"/s/{slug}/save-to-spotify")
    q = parse_qs(urlparse(start.headers["Location"]).query)
    assert q["scope"] == ["playlist-modify-private"]
    assert q["show_dialog"] == ["True"]  # writing to the account always asks, even if granted before
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
    back = client.get(callback.removeprefix("http://127.0.0.1:5000"))
    assert back.status_code == 303  # post/redirect/get: the result page is safe to reload
    result_page = back.headers["Location"]
    assert result_page.endswith(f"/s/{slug}/saved-to-spotify")
    for _reload in range(2):
        done = client.get(result_page)
        assert done.status_code == 200 and "Saved to your Spotify" in done.get_data(as_text=True)
        assert "stale" not in done.get_data(as_text=True)
    # Even the spent return address itself (Back, or a reload before the redirect) leads there again.
    again = client.get(callback.removeprefix("http://127.0.0.1:5000"))
    assert again.status_code == 303 and again.headers["Location"] == result_page

    (playlist,) = fake_spotify.playlists.values()
    assert playlist.public is False
    expected = [s["id"] for c in episode["characters"] for s in c["songs"]]
    expected += [episode["mashup"]["a"]["id"], episode["mashup"]["b"]["id"]]
    assert playlist.uris == [f"spotify:track:{t}" for t in expected]  # one playlist: nothing was redone


def test_spotify_switched_off_during_an_import_consent_refuses_the_import(
    spotify_app: Flask, fake_spotify: Any
) -> None:
    client = spotify_app.test_client()
    start = client.get("/connect/spotify")
    with Session(spotify_app.extensions["fanapp.engine"]) as s:
        campaigns.switch_way(s, way="spotify", off=True)
    callback = requests.get(start.headers["Location"], allow_redirects=False, timeout=5).headers["Location"]
    refused = client.get(callback.removeprefix("http://127.0.0.1:5000"))
    assert refused.status_code == 503 and "is paused by the site" in refused.get_data(as_text=True)
