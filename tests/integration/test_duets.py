"""Duets over the app's routes: two people in two cookie jars, consent, ownership, take-downs, campaigns."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import redis
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from rq import Queue
from sqlmodel import Session, select

from fanapp import create_app
from fanapp.data import migrate
from fanapp.data.models import Character, Episode, Track
from fanapp.importing import jobs
from tests.conftest import connect_spotify, csrf_from, make_settings, start_demo, upload_export

REDIS_URL = "redis://127.0.0.1:6379/0"
HOSTILE_A = '<script>alert("a")</script>'
HOSTILE_B = '"><img src=x onerror=alert(2)>'


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def ids_in(page: Any, testid: str) -> list[str]:
    return [el["data-track-id"] for el in page.select(f'[data-testid="{testid}"]')]


def friend_export(title_prefix: str = "") -> bytes:
    """A small Spotify export, made here: 24 songs by 12 artists, each played a few times."""
    plays = []
    for n in range(24):
        for day in range(1 + n % 3):
            plays.append(
                {
                    "endTime": f"2024-0{1 + n % 9}-{10 + day} {8 + n % 12}:00",
                    "artistName": f"{HOSTILE_B} Friend Artist {n % 12}",
                    "trackName": f"{title_prefix}Friend Song {n}",
                    "msPlayed": 180_000,
                }
            )
    return json.dumps(plays).encode()


def upload(client: FlaskClient, token: str, content: bytes) -> Any:
    return upload_export(client, token, [("StreamingHistory_music_0.json", content)])


def publish_original(client: FlaskClient, *, duets: str | None = None) -> tuple[str, int]:
    """Person 1: demo, a hostile name for B, publish (duets as the box says). Returns (slug, episode id)."""
    builder_url = start_demo(client)
    episode_id = int(builder_url.rstrip("/").rsplit("/", 1)[-1])
    token = csrf_from(client.get(builder_url).get_data(as_text=True))
    client.post(f"{builder_url}/rename", data={"csrf_token": token, "character": "b", "name": HOSTILE_A})
    form = {"csrf_token": token}
    if duets is not None:
        form["duets"] = duets
    r = client.post(f"{builder_url}/publish", data=form)
    assert r.status_code == 303
    return r.headers["Location"].rsplit("/", 1)[-1], episode_id


def come_in_for_duet(client: FlaskClient, slug: str, star: str = "b", query: str = "") -> str:
    """Person 2: the invitation, co-star, upload an export; returns the duet builder's URL."""
    invited = client.get(f"/s/{slug}/duet{query}")
    assert invited.headers["Cache-Control"] == "no-store"  # the visitor's own page, under /s/
    page = soup(invited.get_data(as_text=True))
    link = page.select_one(f'[data-testid="character-{star}"] [data-testid="co-star"]')
    assert link is not None
    assert page.select_one('[data-testid="upload-export"]') is None  # choose first
    html = client.get(link["href"]).get_data(as_text=True)
    assert soup(html).select_one('[data-testid="upload-export"]') is not None
    r = upload(client, csrf_from(html), friend_export())
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    return str(r.headers["Location"])


def test_a_friend_makes_a_duet_with_one_character(app: Flask) -> None:
    duet_journey(app)


def test_a_campaign_packs_archetype_names_cast_the_friends_side_too(
    database_url: str, tmp_path: Path
) -> None:
    """Side B of a duet is cast like any episode's side: a pack's own archetype names apply to it."""
    with open(Path(__file__).parents[2] / "fanapp" / "engine" / "archetypes.json", encoding="utf-8") as f:
        ids = [a["id"] for a in json.load(f)["archetypes"]]
    bundled = (Path(__file__).parents[2] / "fanapp" / "content" / "pack.toml").read_text("utf-8")
    names = "".join(f'[archetypes.{i}]\nname = "Pack {i}"\n\n' for i in ids)
    pack = tmp_path / "pack.toml"
    pack.write_text(bundled.replace("[archetypes]\n", "") + "\n" + names, "utf-8")
    app = create_app(make_settings(database_url, content_pack=str(pack)))
    try:
        slug, _ = publish_original(app.test_client())
        come_in_for_duet(app.test_client(), slug, "a")
        with Session(app.extensions["fanapp.engine"]) as s:
            duet = s.exec(select(Episode).where(Episode.duet_of == slug)).one()
            side_b = s.exec(
                select(Character).where(Character.episode_id == duet.id, Character.key == "b")
            ).one()
        assert side_b.name == f"Pack {side_b.archetype}"
    finally:
        app.extensions["fanapp.engine"].dispose()


def test_the_duet_journey_on_postgresql(pg_url: str) -> None:
    """The same journey on PostgreSQL, migrated from empty (the duet columns and their foreign key)."""
    migrate.upgrade(pg_url)
    app = create_app(make_settings(pg_url))
    try:
        duet_journey(app)
    finally:
        app.extensions["fanapp.engine"].dispose()


def duet_journey(app: Flask) -> None:
    """Person 1 publishes a demo episode; person 2 co-stars with B by an export upload and publishes."""
    one, two = app.test_client(), app.test_client()
    slug, _ = publish_original(one)
    before = one.get(f"/s/{slug}.json").get_json()
    share = soup(one.get(f"/s/{slug}").get_data(as_text=True))
    assert share.select_one('[data-testid="duet-start"]')["href"] == f"/s/{slug}/duet"

    builder_url = come_in_for_duet(two, slug, "b")
    page = soup(two.get(builder_url).get_data(as_text=True))
    side_a = page.select_one('[data-testid="character-a"]')
    side_b = page.select_one('[data-testid="character-b"]')
    chosen = next(c for c in before["characters"] if c["key"] == "b")
    assert ids_in(side_a, "track") == [s["id"] for s in chosen["songs"]]
    assert side_a.select_one('[data-testid="character-name"]').get_text() == HOSTILE_A  # as text
    assert side_a.select_one("form") is None  # read only: no rename, no move, no remove
    assert not page.select('[data-testid="add-to-a"]') and page.select('[data-testid="add-to-b"]')
    with Session(app.extensions["fanapp.engine"]) as s:
        duet = s.exec(select(Episode).where(Episode.duet_of == slug)).one()
        theirs = {t.source_id for t in s.exec(select(Track).where(Track.listener_id == duet.listener_id))}
    assert ids_in(side_b, "track") and set(ids_in(side_b, "track")) <= theirs
    pair = ids_in(page.select_one('[data-testid="mashup"]'), "mashup-track")
    assert pair[0] in ids_in(side_a, "track") and pair[1] in theirs

    token = csrf_from(two.get(builder_url).get_data(as_text=True))
    r = two.post(f"{builder_url}/publish", data={"csrf_token": token})
    assert r.status_code == 303
    duet_slug = r.headers["Location"].rsplit("/", 1)[-1]
    assert duet_slug != slug
    data = two.get(f"/s/{duet_slug}.json").get_json()
    assert data["duet_of"] == slug
    assert data["title"].startswith(HOSTILE_A + " meets ")
    assert [s["id"] for s in data["characters"][0]["songs"]] == [s["id"] for s in chosen["songs"]]
    assert (
        data["mashup"]["a"]["id"] in [s["id"] for s in chosen["songs"]]
        and data["mashup"]["b"]["id"] in theirs
    )
    after = one.get(f"/s/{slug}.json").get_json()
    assert after == before and "duet_of" not in after  # the original is unchanged

    html = two.get(f"/s/{duet_slug}").get_data(as_text=True)
    page = soup(html)
    assert page.select_one("h1").get_text() == data["title"]
    assert page.select_one('[data-testid="duet-of"] a')["href"].endswith(f"/s/{slug}")
    assert page.select_one('[data-testid="duet-start"]') is None  # no duet of a duet
    for surface in (html, two.get(f"/embed/s/{duet_slug}").get_data(as_text=True)):
        assert HOSTILE_A not in surface and "<img src=x" not in surface
    oembed = two.get(f"/oembed?url=http://localhost/s/{duet_slug}&format=json").get_json()
    assert oembed["title"] == data["title"] and "<script>" not in oembed["html"]
    for image in (f"/s/{duet_slug}.png", f"/s/{duet_slug}/story.png"):
        r = two.get(image)
        assert r.status_code == 200 and r.data.startswith(b"\x89PNG")
    # The original counts its published duets (once its cached page has expired: cleared here).
    app.extensions["fanapp.page_cache"].clear()
    fresh = soup(one.get(f"/s/{slug}").get_data(as_text=True))
    assert fresh.select_one('[data-testid="duet-count"]').get_text().startswith("1 duet has")


def test_person_two_cannot_edit_person_one_nor_side_a(app: Flask) -> None:
    one, two = app.test_client(), app.test_client()
    slug, published_id = publish_original(one)
    draft_url = start_demo(one)
    draft_id = int(draft_url.rstrip("/").rsplit("/", 1)[-1])
    builder_url = come_in_for_duet(two, slug, "a")
    token = csrf_from(two.get(builder_url).get_data(as_text=True))
    for episode_id in (published_id, draft_id):
        assert two.get(f"/build/{episode_id}").status_code == 404
        for action, form in (
            ("add", {"track": "x", "character": "a"}),
            ("remove", {"song": "1"}),
            ("move", {"song": "1", "direction": "up"}),
            ("rename", {"character": "a", "name": "Mine now"}),
            ("mashup", {"a": "x", "b": "y"}),
            ("publish", {}),
        ):
            r = two.post(f"/build/{episode_id}/{action}", data={"csrf_token": token, **form})
            assert r.status_code in (403, 404), (action, r.status_code)
            assert "not one of yours" in r.get_data(as_text=True)
    # Side A of the friend's own duet is the inviter's as published: every edit is refused, plainly.
    page = soup(two.get(builder_url).get_data(as_text=True))
    a_before = ids_in(page.select_one('[data-testid="character-a"]'), "track")
    history = ids_in(page, "history-track")
    for action, form in (
        ("add", {"track": history[0], "character": "a"}),
        ("rename", {"character": "a", "name": "Renamed"}),
    ):
        r = two.post(
            f"{builder_url}/{action}", data={"csrf_token": token, **form}, headers={"HX-Request": "true"}
        )
        assert "cannot be changed here" in r.get_data(as_text=True)
    with Session(app.extensions["fanapp.engine"]) as s:
        from fanapp.data.models import EpisodeSong

        duet = s.exec(select(Episode).where(Episode.duet_of == slug)).one()
        a_song = s.exec(
            select(EpisodeSong).where(EpisodeSong.episode_id == duet.id, EpisodeSong.character == "a")
        ).first()
        assert a_song is not None and a_song.track_id is None  # never linked to the inviter's history
    for action, form in (
        ("remove", {"song": str(a_song.id)}),
        ("move", {"song": str(a_song.id), "direction": "down"}),
    ):
        r = two.post(
            f"{builder_url}/{action}", data={"csrf_token": token, **form}, headers={"HX-Request": "true"}
        )
        assert "cannot be changed here" in r.get_data(as_text=True)
    page = soup(two.get(builder_url).get_data(as_text=True))
    assert ids_in(page.select_one('[data-testid="character-a"]'), "track") == a_before
    # Side B is the friend's: renamed and edited as usual.
    r = two.post(f"{builder_url}/rename", data={"csrf_token": token, "character": "b", "name": "Me"})
    assert r.status_code == 303
    assert (
        "Me"
        in soup(two.get(builder_url).get_data(as_text=True)).select_one(
            '[data-testid="character-b"] [data-testid="character-name"]'
        )["value"]
    )


def test_duets_switched_off_or_unpublished_are_refused_with_a_clear_page(app: Flask) -> None:
    one, two = app.test_client(), app.test_client()
    closed, _ = publish_original(one, duets="off")
    share = soup(two.get(f"/s/{closed}").get_data(as_text=True))
    assert share.select_one('[data-testid="duet-start"]') is None
    r = two.get(f"/s/{closed}/duet")
    assert r.status_code == 410
    assert "chose not to take duets" in r.get_data(as_text=True)

    assert two.get("/s/AAAAAAAAAAAAAAAAAAAAAA/duet").status_code == 404

    # Unpublishing the original stops new duets (even one already chosen); published duets stay.
    slug, episode_id = publish_original(one)
    builder_url = come_in_for_duet(two, slug, "b")
    token = csrf_from(two.get(builder_url).get_data(as_text=True))
    duet_slug = (
        two.post(f"{builder_url}/publish", data={"csrf_token": token}).headers["Location"].rsplit("/", 1)[-1]
    )
    shown = soup(app.test_client().get(f"/s/{duet_slug}").get_data(as_text=True))  # now in every cache
    assert shown.select_one('[data-testid="duet-of"] a')["href"].endswith(f"/s/{slug}")
    late = app.test_client()  # chose a co-star before the take-down, comes in after it
    late_token = csrf_from(late.get(f"/s/{slug}/duet?star=a").get_data(as_text=True))
    token = csrf_from(one.get("/my-data/").get_data(as_text=True))
    assert (
        one.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": token, "confirm": "yes"}).status_code
        == 303
    )
    r = late.get(f"/s/{slug}/duet")
    assert r.status_code == 404 and "taken down" in r.get_data(as_text=True)
    r = upload(late, late_token, friend_export())
    assert r.status_code == 404 and "taken down" in r.get_data(as_text=True)
    assert two.get(f"/s/{duet_slug}").status_code == 200  # the duet holds its own copy
    page = soup(two.get(f"/s/{duet_slug}").get_data(as_text=True))  # not the stored page with the link
    assert "no longer published" in page.select_one('[data-testid="duet-of"]').get_text()
    assert two.get(f"/s/{duet_slug}/duet").status_code == 410  # no duet of a duet

    # The inviter finds the duet in "your data" and takes it down: gone everywhere.
    mine = one.get("/my-data/").get_data(as_text=True)
    listed = soup(mine).select_one('[data-testid="duets-of-mine"]')
    assert listed is not None and duet_slug in str(listed)
    action = listed.select_one("form")["action"]
    theirs = csrf_from(two.get("/my-data/").get_data(as_text=True))
    assert two.post(action, data={"csrf_token": theirs, "confirm": "yes"}).status_code == 404  # not theirs
    assert one.post(action, data={"csrf_token": csrf_from(mine), "confirm": "yes"}).status_code == 303
    for path in (f"/s/{duet_slug}", f"/s/{duet_slug}.json", f"/s/{duet_slug}.png", f"/embed/s/{duet_slug}"):
        assert two.get(path).status_code in (404, 410), path


def test_the_inviter_cannot_take_down_a_friends_draft(app: Flask) -> None:
    """The inviter takes down published duets only: a draft (asked for by its id) is the friend's alone."""
    one, two = app.test_client(), app.test_client()
    slug, _ = publish_original(one)
    builder_url = come_in_for_duet(two, slug, "b")
    draft_id = int(builder_url.rstrip("/").rsplit("/", 1)[-1])
    token = csrf_from(one.get("/my-data/").get_data(as_text=True))
    r = one.post(f"/my-data/duets/{draft_id}/take-down", data={"csrf_token": token, "confirm": "yes"})
    assert r.status_code == 404
    assert two.get(builder_url).status_code == 200  # the friend's draft is still there
    with Session(app.extensions["fanapp.engine"]) as s:
        assert s.get(Episode, draft_id) is not None


def test_campaign_parameters_ride_from_the_invitation_to_the_duet(app: Flask) -> None:
    one, two = app.test_client(), app.test_client()
    slug, _ = publish_original(one)
    started = two.get(f"/embed/start?duet={slug}&utm_campaign=summer")
    # It shows the original's title: a cache tier files it under that episode, purged with it.
    assert f"episode-{slug}" in started.headers["Surrogate-Key"].split()
    raw = started.get_data(as_text=True)
    assert HOSTILE_A not in raw  # the inviter's hostile name is escaped text in the card
    card = soup(raw)
    start = card.select_one('[data-testid="start-journey"]')["href"]
    assert f"/s/{slug}/duet" in start and "utm_campaign=summer" in start
    assert "Co-star in" in card.select_one("h1").get_text() and HOSTILE_A in card.select_one("h1").get_text()
    come_in_for_duet(two, slug, "a", query="?utm_campaign=summer&utm_source=partner")
    with Session(app.extensions["fanapp.engine"]) as s:
        duet = s.exec(select(Episode).where(Episode.duet_of == slug)).one()
    assert duet.campaign == {"utm_campaign": "summer", "utm_source": "partner"}
    closed, _ = publish_original(one, duets="off")
    card = soup(two.get(f"/embed/start?duet={closed}").get_data(as_text=True))
    assert "/duet" not in card.select_one('[data-testid="start-journey"]')["href"]


def test_a_friend_with_the_same_songs_never_takes_them_from_side_a(app: Flask) -> None:
    """Person 2 comes in by the demo too: every song of side A is in their history as well."""
    one, two = app.test_client(), app.test_client()
    slug, _ = publish_original(one)
    html = two.get(f"/s/{slug}/duet?star=a").get_data(as_text=True)
    r = two.post("/demo", data={"csrf_token": csrf_from(html)})
    assert r.status_code == 303
    builder_url = r.headers["Location"]
    page = soup(two.get(builder_url).get_data(as_text=True))
    side_a = ids_in(page.select_one('[data-testid="character-a"]'), "track")
    assert side_a == [s["id"] for s in one.get(f"/s/{slug}.json").get_json()["characters"][0]["songs"]]
    token = csrf_from(str(two.get(builder_url).get_data(as_text=True)))
    r = two.post(f"{builder_url}/add", data={"csrf_token": token, "track": side_a[0], "character": "b"})
    assert r.status_code == 303
    page = soup(two.get(builder_url).get_data(as_text=True))
    assert ids_in(page.select_one('[data-testid="character-a"]'), "track") == side_a
    assert ids_in(page.select_one('[data-testid="character-b"]'), "track")[-1] == side_a[0]


def test_a_duet_draft_cannot_be_published_once_the_original_is_taken_down(app: Flask) -> None:
    one, two = app.test_client(), app.test_client()
    slug, episode_id = publish_original(one)
    builder_url = come_in_for_duet(two, slug, "a")
    token = csrf_from(one.get("/my-data/").get_data(as_text=True))
    one.post(f"/my-data/unpublish/{episode_id}", data={"csrf_token": token, "confirm": "yes"})
    token = csrf_from(two.get(builder_url).get_data(as_text=True))
    r = two.post(f"{builder_url}/publish", data={"csrf_token": token}, headers={"HX-Request": "true"})
    assert "no longer published" in r.get_data(as_text=True)
    with Session(app.extensions["fanapp.engine"]) as s:
        assert s.exec(select(Episode).where(Episode.duet_of == slug)).one().status == "draft"


def test_a_friend_comes_in_with_spotify(spotify_app: Flask, fake_spotify: Any) -> None:
    one, two = spotify_app.test_client(), spotify_app.test_client()
    slug, _ = publish_original(one)
    two.get(f"/s/{slug}/duet?star=b")
    r = connect_spotify(two, fake_spotify)  # the signed-in identity is new; the invitation rides along
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    page = soup(two.get(r.headers["Location"]).get_data(as_text=True))
    chosen = [s["id"] for s in one.get(f"/s/{slug}.json").get_json()["characters"][1]["songs"]]
    assert ids_in(page.select_one('[data-testid="character-a"]'), "track") == chosen
    b_ids = ids_in(page.select_one('[data-testid="character-b"]'), "track")
    assert b_ids and set(b_ids) <= set(ids_in(page, "history-track"))


def test_a_friend_comes_in_by_picking_songs(app: Flask) -> None:
    one, two = app.test_client(), app.test_client()
    slug, _ = publish_original(one)
    page = two.get("/s/" + slug + "/duet?star=a").get_data(as_text=True)
    assert soup(page).select_one('[data-testid="pick-songs"]') is not None
    pick = two.get("/pick/").get_data(as_text=True)
    token = csrf_from(pick)
    for item in soup(pick).select('[data-testid="pick-result"]')[:6]:
        assert (
            two.post("/pick/add", data={"csrf_token": token, "track": item["data-track-id"]}).status_code
            == 303
        )
    r = two.post("/pick/done", data={"csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    page = soup(two.get(r.headers["Location"]).get_data(as_text=True))
    assert "Your duet" in page.select_one("h1").get_text()
    chosen = [s["id"] for s in one.get(f"/s/{slug}.json").get_json()["characters"][0]["songs"]]
    assert ids_in(page.select_one('[data-testid="character-a"]'), "track") == chosen


@pytest.mark.redis
def test_with_a_job_queue_the_progress_page_opens_the_duet(database_url: str) -> None:
    """With REDIS_URL the import is an RQ job: when it is done, the progress page's poll makes the duet."""
    prefix = f"fanapp-test-{uuid.uuid4().hex}:"
    app = create_app(make_settings(database_url, redis_url=REDIS_URL, redis_prefix=prefix))
    try:
        one, two = app.test_client(), app.test_client()
        slug, _ = publish_original(one)  # the demo runs inline even with a queue
        html = two.get(f"/s/{slug}/duet?star=b").get_data(as_text=True)
        r = upload(two, csrf_from(html), friend_export())
        assert r.status_code == 303 and "/import/" in r.headers["Location"], r.headers  # queued
        listener_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[-1])
        queue = Queue(prefix + jobs.QUEUE, connection=redis.Redis.from_url(REDIS_URL))
        (job,) = queue.jobs
        with app.app_context():
            assert jobs.run_import_job(*job.args) == "done"  # what the worker does with the job
        r = two.get(f"/import/{listener_id}")
        assert r.status_code == 303 and "/build/" in r.headers["Location"]
        page = soup(two.get(r.headers["Location"]).get_data(as_text=True))
        chosen = [s["id"] for s in one.get(f"/s/{slug}.json").get_json()["characters"][1]["songs"]]
        assert ids_in(page.select_one('[data-testid="character-a"]'), "track") == chosen
    finally:
        app.extensions["fanapp.engine"].dispose()
        conn = redis.Redis.from_url(REDIS_URL)
        for key in conn.scan_iter(f"*{prefix.rstrip(':')}*"):
            conn.delete(key)
