"""Your data: unpublish, delete everything (with CSRF and a confirmation), and the retention purge."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from fanapp import privacy
from fanapp.data.models import Episode, Listener, Track, utcnow
from tests.conftest import csrf_from, publish_demo, start_demo


def test_unpublish_needs_confirmation_and_takes_the_link_down(client: FlaskClient) -> None:
    slug = publish_demo(client)
    page = client.get("/my-data/").get_data(as_text=True)
    token = csrf_from(page)
    episode_id = page.split("/my-data/unpublish/")[1].split('"')[0]
    r = client.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": token})
    assert r.status_code == 303 and client.get(f"/s/{slug}").status_code == 200  # not confirmed
    no_csrf = client.post(f"/my-data/unpublish/{episode_id}", data={"confirm": "yes"})
    assert no_csrf.status_code == 400
    client.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": token, "confirm": "yes"})
    for path in (f"/s/{slug}", f"/s/{slug}.json", f"/s/{slug}.png", f"/embed/s/{slug}"):
        assert client.get(path).status_code == 404


def test_someone_else_cannot_unpublish(client: FlaskClient) -> None:
    publish_demo(client)
    episode_id = client.get("/my-data/").get_data(as_text=True).split("/my-data/unpublish/")[1].split('"')[0]
    stranger = client.application.test_client()
    token = csrf_from(stranger.get("/").get_data(as_text=True))
    r = stranger.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": token, "confirm": "yes"})
    assert r.status_code == 404


def test_delete_everything(client: FlaskClient, app: Flask) -> None:
    first = publish_demo(client)
    start_demo(client)  # a second history from the same browser
    token = csrf_from(client.get("/my-data/").get_data(as_text=True))
    assert client.post("/my-data/delete", data={"csrf_token": token}).status_code == 303  # not confirmed
    with Session(app.extensions["fanapp.engine"]) as s:
        assert len(s.exec(select(Listener)).all()) == 2
    r = client.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"})
    assert r.status_code == 303
    with Session(app.extensions["fanapp.engine"]) as s:
        assert s.exec(select(Listener)).all() == []
        assert s.exec(select(Track)).all() == []
        assert s.exec(select(Episode)).all() == []
    assert client.get(f"/s/{first}").status_code == 404
    assert "We hold nothing" in client.get("/my-data/").get_data(as_text=True)


def test_purge_keeps_published_episodes_and_recent_histories(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    start_demo(client)
    engine = app.extensions["fanapp.engine"]
    with Session(engine) as s:
        assert privacy.purge(s, older_than=timedelta(days=30)).listeners == 0
        done = privacy.purge(s, older_than=timedelta(days=30), now=utcnow() + timedelta(days=31))
        # The second history goes; the first stays as an empty owner of its published episode.
        assert done.listeners == 1 and done.episodes == 1  # the unpublished draft
        assert s.exec(select(Track)).all() == []
        (owner,) = s.exec(select(Listener)).all()
        assert owner.display_name == "" and owner.import_notes == []
    assert client.get(f"/s/{slug}").status_code == 200
    # Its owner can still take it down.
    page = client.get("/my-data/").get_data(as_text=True)
    episode_id = page.split("/my-data/unpublish/")[1].split('"')[0]
    client.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": csrf_from(page), "confirm": "yes"})
    assert client.get(f"/s/{slug}").status_code == 404


def test_purge_command(app: Flask) -> None:
    result = app.test_cli_runner().invoke(args=["purge", "--days", "30"])
    assert result.exit_code == 0 and "purged listeners=0" in result.output


def test_privacy_page_says_what_is_kept(client: FlaskClient) -> None:
    html = client.get("/privacy").get_data(as_text=True)
    assert "30 days" in html and "https://www.spotify.com/account/apps/" in html
