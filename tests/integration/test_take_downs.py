"""A take-down leaves nothing behind: the rendered share images go from memory and disk at once, and
the journey's pages never cast a second draft as a side effect."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from fanapp.data.models import Episode
from tests.conftest import csrf_from, publish_demo, start_demo


def _image_files(app: Flask, slug: str) -> list[Path]:
    files: list[Path] = app.extensions["fanapp.serving"].files.files_of(slug)  # shared by every worker
    return files


def _render_both(client: FlaskClient, slug: str) -> None:
    for path in (f"/s/{slug}.png", f"/s/{slug}/story.png"):
        assert client.get(path).status_code == 200


def test_an_unpublish_removes_the_rendered_images_everywhere(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    _render_both(client, slug)
    rendered = _image_files(app, slug)
    assert len(rendered) == 2  # one card, one story, on disk

    page = client.get("/my-data/").get_data(as_text=True)
    episode_id = page.split("/my-data/unpublish/")[1].split('"')[0]
    client.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": csrf_from(page), "confirm": "yes"})

    assert not any(f.exists() for f in rendered)
    cache = app.extensions["fanapp.image_cache"]
    assert cache.get(slug, 1, "card") is None and cache.get(slug, 1, "story") is None  # memory too
    for path in (f"/s/{slug}.png", f"/s/{slug}/story.png"):
        assert client.get(path).status_code in (404, 410)


def test_delete_everything_removes_the_rendered_images(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    _render_both(client, slug)
    rendered = _image_files(app, slug)
    token = csrf_from(client.get("/my-data/").get_data(as_text=True))
    client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"})
    assert rendered and not any(f.exists() for f in rendered)
    assert client.get(f"/s/{slug}.png").status_code in (404, 410)


def test_coming_back_to_the_progress_page_casts_no_second_draft(client: FlaskClient, app: Flask) -> None:
    builder_url = start_demo(client)
    listener_page = client.get("/my-data/").get_data(as_text=True)
    assert "A draft episode" in listener_page
    with Session(app.extensions["fanapp.engine"]) as s:
        episode = s.exec(select(Episode)).one()
        listener_id = episode.listener_id
    for _ in range(3):
        r = client.get(f"/import/{listener_id}")
        assert r.status_code == 303 and r.headers["Location"] == builder_url
    token = csrf_from(client.get(builder_url).get_data(as_text=True))
    client.post(builder_url + "/publish", data={"csrf_token": token})
    back = client.get(f"/import/{listener_id}")  # after publishing: on to what was published
    assert back.status_code == 303
    with Session(app.extensions["fanapp.engine"]) as s:
        assert len(s.exec(select(Episode)).all()) == 1
