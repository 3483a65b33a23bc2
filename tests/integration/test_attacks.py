"""Hostile names in every page type, and publishing under concurrency on PostgreSQL."""

from __future__ import annotations

import io
import json
import threading
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from PIL import Image
from sqlmodel import Session, select

from fanapp import create_app, episodes
from fanapp.data import migrate
from fanapp.data.models import Episode, Listener
from fanapp.importing.store import run_import
from fanapp.sources.demo import DemoSource
from tests.conftest import connect_spotify, csrf_from, make_settings

MARKUP = ("<script>alert(1)</script>", '"><img src=x onerror=alert(1)>')


def test_hostile_names_stay_text_in_every_page_type(spotify_app: Flask, fake_spotify: Any) -> None:
    fake_spotify.set_hostile_names()
    client = spotify_app.test_client()
    r = connect_spotify(client, fake_spotify)
    builder = client.get(r.headers["Location"]).get_data(as_text=True)
    token = csrf_from(builder)
    client.post(
        r.headers["Location"] + "/rename", data={"csrf_token": token, "character": "a", "name": MARKUP[1]}
    )
    published = client.post(r.headers["Location"] + "/publish", data={"csrf_token": token})
    slug = published.headers["Location"].rsplit("/", 1)[-1]
    anonymous = spotify_app.test_client()

    pages = {
        "share": anonymous.get(f"/s/{slug}").get_data(as_text=True),
        "embed": anonymous.get(f"/embed/s/{slug}").get_data(as_text=True),
    }
    for name, html in pages.items():
        page = BeautifulSoup(html, "html.parser")
        assert not page.select("img[onerror]"), name
        assert all("alert" not in (s.string or "") for s in page.find_all("script")), name
        assert "<script>alert(1)</script>" not in html and "<img src=x" not in html, name
    share = BeautifulSoup(pages["share"], "html.parser")
    title = share.find("meta", attrs={"property": "og:title"})["content"]
    assert MARKUP[1] in title  # the literal text, as text, inside an attribute value

    data = anonymous.get(f"/s/{slug}.json").get_json()
    assert data["characters"][0]["name"] == MARKUP[1]  # JSON carries the raw text; it is data, not markup

    oembed = anonymous.get("/oembed", query_string={"url": f"http://localhost/s/{slug}"}).get_json()
    frame = BeautifulSoup(oembed["html"], "html.parser").find_all(True)
    # Nothing but WordPress's fallback link and the iframe, whatever the title holds.
    assert [tag.name for tag in frame] == ["blockquote", "a", "iframe"]
    assert frame[2]["title"] == oembed["title"] and frame[1].get_text() == oembed["title"]

    for path in (f"/s/{slug}.png", f"/s/{slug}/story.png"):
        image = Image.open(io.BytesIO(anonymous.get(path).data))
        assert image.format == "PNG"


@pytest.mark.postgres
def test_a_hundred_parallel_publishes(pg_url: str) -> None:
    migrate.upgrade(pg_url)
    # 20 threads share the pool's 8 connections: give the wait for one room (the 2 s default timed out
    # on a loaded machine; what is proved here is 100 distinct slugs, not speed).
    app = create_app(make_settings(pg_url, db_pool_timeout=300, db_statement_timeout=300))
    engine = app.extensions["fanapp.engine"]
    try:
        with app.app_context(), Session(engine) as s:
            listener = Listener(source="demo")
            s.add(listener)
            s.commit()
            run_import(s, listener=listener, source=DemoSource())
            assert listener.id is not None
            owner = listener.id
            drafts = [episodes.propose(s, listener_id=owner) for _ in range(100)]
        slugs: list[str] = []
        errors: list[BaseException] = []
        barrier = threading.Barrier(20)

        def publish(ids: list[int]) -> None:
            try:
                barrier.wait()
                with app.app_context(), Session(engine) as s:
                    for episode_id in ids:
                        slugs.append(episodes.publish(s, episode_id=episode_id, owners=[owner]))
            except BaseException as exc:  # collected and asserted below
                errors.append(exc)

        threads = [threading.Thread(target=publish, args=(drafts[i::20],)) for i in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(360)  # past the pool wait above: a slow thread is waited for, a stuck one fails
        assert not errors
        assert len(slugs) == 100 and len(set(slugs)) == 100
        with Session(engine) as s:
            stored = s.exec(select(Episode).where(Episode.status == "published")).all()
            assert sorted(e.slug or "" for e in stored) == sorted(slugs)
            assert all(len(json.dumps(e.mashup)) > 10 for e in stored)
    finally:
        engine.dispose()
