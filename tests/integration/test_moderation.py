"""Moderation: any visitor reports an episode (a reason, CSRF, a rate limit, nothing about them); the
operators see reports newest first and take one down: 410 on every surface at once, cached copies
included, in every worker; the owner is told on /my-data/."""

from __future__ import annotations

import secrets
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect
from sqlmodel import Session, select

from fanapp import create_app
from fanapp.config import Settings
from fanapp.data.models import Report
from tests.conftest import csrf_from, make_settings, publish_demo

TOKEN = secrets.token_hex(32)
REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def settings(database_url: str) -> Settings:
    """Operators on; a reachable report limit."""
    return make_settings(
        database_url, admin_token=TOKEN, limit_report="1000 per minute", limit_admin_login="1000 per minute"
    )


def operator(app: Flask) -> FlaskClient:
    """A client signed in as the operator."""
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    r = client.post("/admin/login", data={"csrf_token": csrf_from(page), "token": TOKEN})
    assert r.status_code == 303
    return client


def report(client: FlaskClient, slug: str, reason: str = "hateful") -> int:
    """Report an episode as a visitor does: the link, the form, the post."""
    page = client.get(f"/s/{slug}/report")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    r = client.post(
        f"/s/{slug}/report", data={"csrf_token": csrf_from(page.get_data(as_text=True)), "reason": reason}
    )
    return r.status_code


def surfaces(slug: str) -> list[str]:
    """Every public address of an episode."""
    return [
        f"/s/{slug}",
        f"/s/{slug}.json",
        f"/s/{slug}.png",
        f"/s/{slug}/story.png",
        f"/embed/s/{slug}",
        f"/oembed?url=http://localhost/s/{slug}&format=json",
    ]


def test_share_page_and_embed_link_to_the_report_form(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    visitor = app.test_client()
    for path in (f"/s/{slug}", f"/embed/s/{slug}"):
        page = BeautifulSoup(visitor.get(path).get_data(as_text=True), "html.parser")
        link = page.select_one('[data-testid="report-episode"]')
        assert link is not None and str(link["href"]).endswith(f"/s/{slug}/report"), path
    assert "Set-Cookie" not in visitor.get(f"/s/{slug}").headers  # the share page stays cookie-free


def test_a_report_needs_csrf_and_a_listed_reason(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    visitor = app.test_client()
    page = visitor.get(f"/s/{slug}/report").get_data(as_text=True)
    assert visitor.post(f"/s/{slug}/report", data={"reason": "spam"}).status_code == 400
    r = visitor.post(f"/s/{slug}/report", data={"csrf_token": csrf_from(page), "reason": "<script>"})
    assert r.status_code == 400 and "Choose one of the reasons" in r.get_data(as_text=True)
    assert report(visitor, slug, "spam") == 303
    with Session(app.extensions["fanapp.engine"]) as s:
        rows = s.exec(select(Report)).all()
    assert [r.reason for r in rows] == ["spam"]
    columns = {c["name"] for c in inspect(app.extensions["fanapp.engine"]).get_columns("report")}
    assert columns == {"id", "episode_id", "reason", "created_at"}  # nothing about who reported


def test_reports_are_rate_limited(database_url: str) -> None:
    app = create_app(make_settings(database_url, limit_report="3 per minute"))
    slug = publish_demo(app.test_client())
    # One limiter per process: a client address of this test's own keeps other tests' reports out of it.
    visitor = app.test_client()
    visitor.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"
    assert [report(visitor, slug) for _ in range(4)] == [303, 303, 303, 429]
    app.extensions["fanapp.engine"].dispose()


def test_reports_list_newest_first_and_needs_an_operator(client: FlaskClient, app: Flask) -> None:
    first, second = publish_demo(client), publish_demo(app.test_client())
    visitor = app.test_client()
    assert visitor.get("/admin/reports").status_code == 303  # to the sign-in
    report(visitor, first, "spam")
    report(visitor, second, "personal")
    report(visitor, first, "hateful")  # the first is now the most recently reported
    page = BeautifulSoup(operator(app).get("/admin/reports").get_data(as_text=True), "html.parser")
    items = page.select('[data-testid="reported-episode"]')
    assert [i["data-slug"] for i in items] == [first, second]
    assert "2 reports" in items[0].get_text() and "Spam or advertising (1)" in items[0].get_text()
    assert items[0].select_one('[data-testid="take-down"]') is not None
    assert items[0].h2 is not None and " & " in items[0].h2.get_text()  # the episode is shown


def test_a_take_down_answers_410_everywhere_also_after_caching(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    visitor = app.test_client()
    for path in surfaces(slug):
        assert visitor.get(path).status_code == 200, path
        assert visitor.get(path).status_code == 200, path  # served from the caches now
    report(visitor, slug)
    admin = operator(app)
    page = admin.get("/admin/reports").get_data(as_text=True)
    episode_id = page.split("/admin/reports/")[1].split("/")[0]
    r = admin.post(f"/admin/reports/{episode_id}/take-down", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 303
    for path in surfaces(slug):
        gone = visitor.get(path)
        assert gone.status_code == 410, path
    assert "taken down" in visitor.get(f"/s/{slug}").get_data(as_text=True)
    for path in (f"/s/{slug}.json", f"/oembed?url=http://localhost/s/{slug}&format=json"):
        assert "taken down" in visitor.get(path).get_json()["message"]  # JSON routes answer JSON
    assert visitor.get(f"/s/{slug}/report").status_code == 410
    assert "Taken down." in admin.get("/admin/reports").get_data(as_text=True)
    # The owner is told on their data page.
    mine = BeautifulSoup(client.get("/my-data/").get_data(as_text=True), "html.parser")
    notice = mine.select_one('[data-testid="taken-down-notice"]')
    assert notice is not None and "taken down by the site's operators" in notice.get_text()


def test_a_take_down_without_csrf_or_operator_does_nothing(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    report(app.test_client(), slug)
    admin = operator(app)
    page = admin.get("/admin/reports").get_data(as_text=True)
    episode_id = page.split("/admin/reports/")[1].split("/")[0]
    assert admin.post(f"/admin/reports/{episode_id}/take-down").status_code == 400
    stranger = app.test_client()
    token = csrf_from(stranger.get(f"/s/{slug}/report").get_data(as_text=True))
    assert (
        stranger.post(f"/admin/reports/{episode_id}/take-down", data={"csrf_token": token}).status_code == 303
    )
    assert app.test_client().get(f"/s/{slug}").status_code == 200


@pytest.fixture
def two_workers(database_url: str) -> Iterator[tuple[Flask, Flask]]:
    """Two app instances on one database and one Redis, as two gunicorn workers are."""
    prefix = f"fanapp-test-{uuid.uuid4().hex}:"
    apps = [
        create_app(
            make_settings(
                database_url,
                admin_token=TOKEN,
                redis_url=REDIS_URL,
                redis_prefix=prefix,
                limit_admin_login="1000 per minute",
            )
        )
        for _ in range(2)
    ]
    yield apps[0], apps[1]
    for a in apps:
        a.extensions["fanapp.engine"].dispose()
    conn = redis.Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(f"{prefix}*"):
        conn.delete(key)


@pytest.mark.redis
def test_a_take_down_reaches_the_other_workers_cache(two_workers: tuple[Flask, Flask]) -> None:
    first, second = two_workers
    slug = publish_demo(first.test_client())
    reader = first.test_client()
    assert reader.get(f"/s/{slug}").status_code == 200
    assert first.extensions["fanapp.page_cache"].get(f"http|localhost|/s/{slug}|") is not None
    report(second.test_client(), slug)
    admin = operator(second)
    page = admin.get("/admin/reports").get_data(as_text=True)
    episode_id = page.split("/admin/reports/")[1].split("/")[0]
    admin.post(f"/admin/reports/{episode_id}/take-down", data={"csrf_token": csrf_from(page)})
    # The first worker re-reads the shared counter at most once a second; allow a loaded machine more.
    deadline = time.monotonic() + 15
    while reader.get(f"/s/{slug}").status_code != 410:
        assert time.monotonic() < deadline, "the other worker kept serving a taken-down episode"
        time.sleep(0.1)


def test_dismissed_reports_leave_the_episode_published(client: FlaskClient, app: Flask) -> None:
    slug = publish_demo(client)
    report(app.test_client(), slug, "spam")
    admin = operator(app)
    page = admin.get("/admin/reports").get_data(as_text=True)
    episode_id = page.split("/admin/reports/")[1].split("/")[0]
    r = admin.post(f"/admin/reports/{episode_id}/dismiss", data={"csrf_token": csrf_from(page)})
    assert r.status_code == 303
    assert "Nobody has reported an episode." in admin.get("/admin/reports").get_data(as_text=True)
    assert app.test_client().get(f"/s/{slug}").status_code == 200
