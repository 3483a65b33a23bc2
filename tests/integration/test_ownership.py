"""Ownership is a random visitor token (its hash stored), never a row id: a forged or old cookie owns
nothing, even when SQLite hands a deleted id to the next visitor (issue 13, item 7)."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from fanapp.data.models import Episode, Listener
from fanapp.data.session import get_session
from tests.conftest import csrf_from, publish_demo, start_demo


def _episode_ids(app: Flask) -> list[int]:
    with app.app_context(), get_session() as session:
        return [e.id for e in session.exec(select(Episode)).all() if e.id is not None]


def _owns_nothing(client: FlaskClient, app: Flask, builder: str, episode_id: int) -> None:
    assert client.get(builder).status_code == 404
    page = client.get("/my-data/").get_data(as_text=True)
    assert 'data-testid="delete-everything"' not in page and 'data-testid="unpublish"' not in page
    token = csrf_from(client.get("/").get_data(as_text=True))
    client.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": token, "confirm": "yes"})
    client.post(
        "/my-data/delete",
        data={"csrf_token": csrf_from(client.get("/").get_data(as_text=True)), "confirm": "yes"},
    )
    assert episode_id in _episode_ids(app)


def test_a_cookie_naming_row_ids_owns_nothing(app: Flask) -> None:
    owner = app.test_client()
    builder = start_demo(owner)
    episode_id = int(builder.rsplit("/", 1)[-1])
    with app.app_context(), get_session() as session:
        (listener_id,) = [i for i in session.exec(select(Listener.id)).all()]
    forger = app.test_client()
    forger.environ_base["REMOTE_ADDR"] = "203.0.113.20"
    with forger.session_transaction() as s:  # what the old cookies held, signed with the right key
        s["mine"] = [listener_id]
        s["listener_id"] = listener_id
        s["pick_listener_id"] = listener_id
    _owns_nothing(forger, app, builder, episode_id)
    with forger.session_transaction() as s:  # a made-up visitor token
        s["visitor"] = "x" * 43
    _owns_nothing(forger, app, builder, episode_id)
    assert forger.get(f"/import/{listener_id}").status_code == 404
    assert owner.get(builder).status_code == 200  # the real owner still does


def test_an_old_cookie_does_not_own_the_next_visitor_s_reused_id(app: Flask) -> None:
    first = app.test_client()
    first_builder = start_demo(first)
    old_cookie = first.get_cookie("session")
    assert old_cookie is not None
    token = csrf_from(first.get("/my-data/").get_data(as_text=True))
    assert first.post("/my-data/delete", data={"csrf_token": token, "confirm": "yes"}).status_code == 303
    assert _episode_ids(app) == []

    second = app.test_client()
    slug = publish_demo(second)
    second_builder = start_demo(second)
    assert second_builder == first_builder or int(second_builder.rsplit("/", 1)[-1]) > 0
    reused = [i for i in _episode_ids(app) if f"/build/{i}" == first_builder]
    assert reused, "SQLite reuses the deleted ids: the old cookie names the next visitor's rows"

    replay = app.test_client()
    replay.environ_base["REMOTE_ADDR"] = "203.0.113.21"
    replay.set_cookie("session", old_cookie.value)
    _owns_nothing(replay, app, first_builder, reused[0])
    assert second.get(f"/s/{slug}").status_code == 200
    assert second.get(second_builder).status_code == 200
