"""Names from Spotify and from visitors are hostile input: they show as text, never as markup."""

from __future__ import annotations

from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import connect_spotify, csrf_from, start_demo

PAYLOADS = ["<script>alert(1)</script>", '"><img src=x onerror=alert(1)>']


def assert_inert(html: str) -> None:
    page = BeautifulSoup(html, "html.parser")
    for script in page.find_all("script"):
        assert "alert" not in (script.string or "")
    assert not page.select("img[onerror]")
    assert "<script>alert(1)</script>" not in html
    assert "<img src=x" not in html


def test_hostile_spotify_names_are_escaped_everywhere(spotify_app: Flask, fake_spotify: Any) -> None:
    fake_spotify.set_hostile_names()
    client = spotify_app.test_client()
    r = connect_spotify(client, fake_spotify)
    assert r.status_code == 303
    builder = client.get(r.headers["Location"]).get_data(as_text=True)
    assert_inert(builder)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in builder  # shown, as text
    # Show every song of the history: search for the payload itself.
    found = client.get(r.headers["Location"] + "?q=%3Cscript%3E").get_data(as_text=True)
    assert_inert(found)
    published = client.post(r.headers["Location"] + "/publish", data={"csrf_token": csrf_from(builder)})
    share = client.get(published.headers["Location"]).get_data(as_text=True)
    assert_inert(share)
    data = client.get(published.headers["Location"] + ".json")
    assert data.mimetype == "application/json"


@pytest.mark.parametrize("name", PAYLOADS)
def test_hostile_character_names(client: FlaskClient, name: str) -> None:
    builder_url = start_demo(client)
    html = client.get(builder_url).get_data(as_text=True)
    token = csrf_from(html)
    client.post(builder_url + "/rename", data={"csrf_token": token, "character": "b", "name": name[:40]})
    html = client.get(builder_url).get_data(as_text=True)
    assert_inert(html)
    r = client.post(builder_url + "/publish", data={"csrf_token": token})
    share = client.get(r.headers["Location"]).get_data(as_text=True)
    assert_inert(share)
    page = BeautifulSoup(share, "html.parser")
    assert (
        page.select_one('[data-testid="character-b"] [data-testid="character-name"]').get_text() == name[:40]
    )


def test_overlong_and_empty_names_are_refused_with_a_message(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    token = csrf_from(client.get(builder_url).get_data(as_text=True))
    for name, message in (("x" * 41, "40 characters"), ("   ", "needs a name")):
        r = client.post(
            builder_url + "/rename",
            data={"csrf_token": token, "character": "a", "name": name},
            headers={"HX-Request": "true"},
        )
        assert r.status_code == 200
        assert message in r.get_data(as_text=True)


def test_every_post_needs_the_csrf_token(client: FlaskClient) -> None:
    assert client.post("/demo").status_code == 400
    builder_url = start_demo(client)
    for action, data in (
        ("/add", {"track": "demo-001", "character": "a"}),
        ("/remove", {"song": "1"}),
        ("/move", {"song": "1", "direction": "up"}),
        ("/rename", {"character": "a", "name": "x"}),
        ("/publish", {}),
    ):
        assert client.post(builder_url + action, data=data).status_code == 400
        assert client.post(builder_url + action, data={**data, "csrf_token": "forged"}).status_code == 400


def test_state_changing_routes_refuse_get(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    assert client.get("/demo").status_code == 405
    assert client.get(builder_url + "/publish").status_code == 405
