"""The funnel: known traffic under two campaigns gives exact counts in /admin/funnel.csv and on the
dashboard, counted in Redis before the page cache, kept in PostgreSQL across restarts, with nothing
personal in it; operators switch a way in off without a deploy."""

from __future__ import annotations

import csv
import io
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import redis
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import inspect

from fanapp import campaigns, create_app
from fanapp.campaigns import STEPS
from fanapp.config import Settings
from tests.conftest import csrf_from, make_settings

TOKEN = secrets.token_hex(32)
REDIS_URL = "redis://127.0.0.1:6379/0"
AGENT = "Agent-Smith/4.2 (funnel test)"
SUMMER = "utm_campaign=summer&utm_source=insta"
WINTER = "c=winter"

pytestmark = [pytest.mark.redis, pytest.mark.postgres]


@pytest.fixture
def settings(pg_url: str) -> Iterator[Settings]:
    """PostgreSQL and Redis, as in production; this test's own Redis prefix, removed afterwards."""
    from fanapp.data import migrate

    migrate.upgrade(pg_url)
    made = make_settings(pg_url, admin_token=TOKEN, redis_url=REDIS_URL, limit_admin_login="1000 per minute")
    yield made
    conn = redis.Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(f"{made.redis_prefix}*"):
        conn.delete(key)


def operator(app: Flask) -> FlaskClient:
    """A client signed in as the operator."""
    client = app.test_client()
    page = client.get("/admin/login").get_data(as_text=True)
    assert (
        client.post("/admin/login", data={"csrf_token": csrf_from(page), "token": TOKEN}).status_code == 303
    )
    return client


def journey(app: Flask, query: str) -> str:
    """A visitor lands from a campaign link, tries the demo and publishes: returns the slug."""
    visitor = app.test_client()
    landing = visitor.get(f"/?{query}", headers={"User-Agent": AGENT})
    r = visitor.post("/demo", data={"csrf_token": csrf_from(landing.get_data(as_text=True))})
    assert r.status_code == 303
    builder_url = r.headers["Location"]
    token = csrf_from(visitor.get(builder_url).get_data(as_text=True))
    r = visitor.post(builder_url + "/publish", data={"csrf_token": token})
    assert r.status_code == 303
    return str(r.headers["Location"]).rsplit("/", 1)[-1]


def drive_known_traffic(app: Flask) -> None:
    """Visits, starts, imports, publishes, share, embed and image views under two campaigns."""
    summer, winter = journey(app, SUMMER), journey(app, WINTER)
    stranger = app.test_client()
    for _ in range(2):
        stranger.get(f"/?{SUMMER}", headers={"User-Agent": AGENT})
    stranger.get(f"/?{WINTER}")
    for _ in range(4):  # the first is rendered, the others replayed by the page cache
        assert stranger.get(f"/s/{summer}?{SUMMER}").status_code == 200
    assert stranger.get(f"/s/{summer}").status_code == 200  # no campaign
    for _ in range(2):
        assert stranger.get(f"/embed/s/{winter}?{WINTER}").status_code == 200
    assert stranger.get(f"/s/{summer}.png?{SUMMER}").status_code == 200
    assert stranger.get(f"/s/AAAAAAAAAAAAAAAAAAAAAA?{SUMMER}").status_code == 404  # not counted
    assert stranger.get(f"/s/{summer}.json?{SUMMER}").status_code == 200  # data, not a view


EXPECTED = {
    "summer": {"visits": 3, "starts": 1, "imports": 1, "published": 1, "share_views": 4, "image_views": 1},
    "winter": {"visits": 2, "starts": 1, "imports": 1, "published": 1, "embed_views": 2},
    "(none)": {"share_views": 1},
}


def expected_rows(day: str) -> list[dict[str, str]]:
    """The CSV rows the known traffic must give, every column spelled out."""
    return [
        {"day": day, "campaign": name, **{s: str(EXPECTED[name].get(s, 0)) for s in STEPS}}
        for name in sorted(EXPECTED)
    ]


def read_csv(client: FlaskClient, query: str = "") -> tuple[list[str], list[dict[str, str]]]:
    """The funnel CSV: its header and rows."""
    r = client.get("/admin/funnel.csv" + query)
    assert r.status_code == 200 and r.mimetype == "text/csv"
    reader = csv.DictReader(io.StringIO(r.get_data(as_text=True)))
    return list(reader.fieldnames or []), list(reader)


def test_known_traffic_gives_exact_counts_in_the_csv_and_on_the_dashboard(app: Flask) -> None:
    drive_known_traffic(app)
    admin = operator(app)
    header, rows = read_csv(admin)
    assert header == ["day", "campaign", *STEPS]
    today = datetime.now(UTC).date().isoformat()
    assert sorted(rows, key=lambda r: r["campaign"]) == expected_rows(today)

    page = admin.get("/admin/")
    assert page.status_code == 200
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    shown = {
        row["data-campaign"]: {
            cell["data-step"]: int(cell.get_text()) for cell in row.select('[data-testid="funnel-count"]')
        }
        for row in soup.select('[data-testid="funnel-row"]')
    }
    assert shown == {name: {s: EXPECTED[name].get(s, 0) for s in STEPS} for name in EXPECTED}
    assert len(soup.select("svg.chart")) >= 3  # drawn on the server
    ways = {row["data-way"] for row in soup.select('[data-testid="way-row"]')}
    assert ways == {"demo"}
    sources = {(r["data-campaign"], r["data-source"]) for r in soup.select('[data-testid="source-row"]')}
    assert ("summer", "insta") in sources

    # Nothing personal, anywhere: no address, no user agent, no listener.
    text = page.get_data(as_text=True) + admin.get("/admin/funnel.csv").get_data(as_text=True)
    for personal in ("127.0.0.1", "Agent-Smith", "localhost"):
        assert personal not in text
    columns = {c["name"] for c in inspect(app.extensions["fanapp.engine"]).get_columns("funnelcount")}
    assert columns == {"id", "day", "campaign", "source", "way", "step", "count"}
    keys = redis.Redis.from_url(REDIS_URL).keys(f"{app.config['SETTINGS'].redis_prefix}funnel*")
    for key in keys:
        for field in redis.Redis.from_url(REDIS_URL).hkeys(key):
            assert b"Agent" not in field and b"127.0.0.1" not in field


def test_the_date_range_selects_days(app: Flask) -> None:
    drive_known_traffic(app)
    admin = operator(app)
    yesterday = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()
    _header, rows = read_csv(admin, f"?from={yesterday}&to={yesterday}")
    assert rows == []
    assert admin.get("/admin/?from=2026-13-01").status_code == 400
    assert admin.get("/admin/?from=2026-12-02&to=2026-12-01").status_code == 400


def test_counts_survive_a_restart_and_are_shared_by_workers(settings: Settings, app: Flask) -> None:
    drive_known_traffic(app)
    app.extensions["fanapp.funnel"].flush()
    # A second worker (a restart, or another process) counts into the same Redis and database.
    other = create_app(settings)
    other.test_client().get(f"/?{SUMMER}")
    app.extensions["fanapp.engine"].dispose()
    _header, rows = read_csv(operator(other))
    summer = next(r for r in rows if r["campaign"] == "summer")
    assert summer["visits"] == "4" and summer["share_views"] == "4"
    other.extensions["fanapp.engine"].dispose()


def test_counts_taken_out_of_redis_go_back_when_the_database_fails(app: Flask) -> None:
    funnel = app.extensions["fanapp.funnel"]
    funnel.count("visits", campaign={"c": "spring"})
    good = funnel.engine
    funnel.engine = create_app(make_settings("postgresql://postgres@127.0.0.1:9/none")).extensions[
        "fanapp.engine"
    ]
    with pytest.raises(Exception):  # noqa: B017 - whatever the driver raises for a closed port
        funnel.flush()
    funnel.engine = good
    assert funnel.flush() == 1


def test_a_way_in_switched_off_is_not_offered_and_refuses_to_start(app: Flask) -> None:
    admin = operator(app)
    page = admin.get("/admin/").get_data(as_text=True)
    r = admin.post("/admin/ways/demo", data={"csrf_token": csrf_from(page), "off": "1"})
    assert r.status_code == 303
    visitor = app.test_client()
    landing = visitor.get("/").get_data(as_text=True)
    assert 'data-testid="try-demo"' not in landing and 'data-testid="pick-songs"' in landing
    refused = visitor.post("/demo", data={"csrf_token": csrf_from(landing)})
    assert refused.status_code == 503 and "is paused by the site" in refused.get_data(as_text=True)
    soup = BeautifulSoup(admin.get("/admin/").get_data(as_text=True), "html.parser")
    assert soup.select_one('[data-testid="way-switch"][data-way="demo"]')["data-off"] == "yes"
    page = admin.get("/admin/").get_data(as_text=True)
    admin.post("/admin/ways/demo", data={"csrf_token": csrf_from(page), "off": "0"})
    assert 'data-testid="try-demo"' in visitor.get("/").get_data(as_text=True)
    assert (
        admin.post("/admin/ways/nowhere", data={"csrf_token": csrf_from(page), "off": "1"}).status_code == 404
    )


def test_the_csv_never_carries_a_formula(app: Flask) -> None:
    app.test_client().get("/?utm_campaign=%3DHYPERLINK(%22x%22)")
    _header, rows = read_csv(operator(app))
    assert [r["campaign"] for r in rows] == ['\'=HYPERLINK("x")']


def test_a_job_outside_a_request_sends_its_count_to_redis_at_once(app: Flask) -> None:
    # An RQ work horse exits with os._exit after its job: a count left in the process would be lost.
    from fanapp.importing import jobs

    with app.app_context():
        jobs._count({"kind": "spotify", "campaign": {"utm_campaign": "autumn"}}, "imports")
    prefix = app.config["SETTINGS"].redis_prefix
    conn = redis.Redis.from_url(REDIS_URL)
    fields = [f for k in conn.scan_iter(f"{prefix}funnel:*") for f in conn.hgetall(k).items()]
    assert [(f.decode().split("\x1f"), int(n)) for f, n in fields] == [
        (["autumn", "", "spotify", "imports"], 1)
    ]


def test_a_published_duet_counts_as_a_duet_of_its_campaign(database_url: str) -> None:
    # Without Redis (imports run inline, counts wait in the process until a flush).
    from tests.integration.test_duets import come_in_for_duet, publish_original

    app = create_app(make_settings(database_url, admin_token=TOKEN, limit_admin_login="1000 per minute"))
    slug, _ = publish_original(app.test_client())
    friend = app.test_client()
    builder_url = come_in_for_duet(friend, slug, "a", query="?utm_campaign=duets&utm_source=friend")
    token = csrf_from(friend.get(builder_url).get_data(as_text=True))
    r = friend.post(builder_url + "/publish", data={"csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    _header, rows = read_csv(operator(app))
    duets = next(r for r in rows if r["campaign"] == "duets")
    assert (duets["published"], duets["duets"], duets["starts"], duets["imports"]) == ("1", "1", "1", "1")
    app.extensions["fanapp.engine"].dispose()


def test_behind_a_cache_tier_pages_count_by_beacon_and_once(database_url: str) -> None:
    app = create_app(
        make_settings(
            database_url,
            admin_token=TOKEN,
            limit_admin_login="1000 per minute",
            cdn_purge_url="http://127.0.0.1:9/",  # a cache tier is configured (never reached here)
        )
    )
    slug = journey(app, SUMMER)
    visitor = app.test_client()
    page = visitor.get(f"/s/{slug}?{SUMMER}").get_data(as_text=True)
    assert "js/count.js" in page and "js/count.js" in visitor.get(f"/embed/s/{slug}").get_data(as_text=True)
    visitor.get(f"/s/{slug}.png?{SUMMER}")  # images are still counted on the way through
    for _ in range(3):  # what count.js posts, once per view (the tier answered the page itself)
        r = visitor.post("/count", data={"p": f"/s/{slug}", "q": SUMMER})
        assert r.status_code == 204 and "Set-Cookie" not in r.headers
    visitor.post("/count", data={"p": f"/embed/s/{slug}", "q": WINTER})
    visitor.post("/count", data={"p": "/admin/", "q": SUMMER})  # not a view: ignored
    _header, rows = read_csv(operator(app))
    by = {r["campaign"]: r for r in rows}
    assert by["summer"]["share_views"] == "3" and by["summer"]["image_views"] == "1"
    assert by["winter"]["embed_views"] == "1"
    app.extensions["fanapp.engine"].dispose()


def test_without_a_cache_tier_there_is_no_beacon(app: Flask) -> None:
    client = app.test_client()
    assert client.post("/count", data={"p": "/s/x", "q": ""}).status_code == 404
    assert "js/count.js" not in client.get(f"/s/{journey(app, SUMMER)}").get_data(as_text=True)


def test_random_campaign_names_cannot_grow_the_funnel_and_repeats_count_as_the_page_reads_them(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(campaigns, "NAMES_PER_DAY", 3)
    slug = journey(app, SUMMER)  # summer/insta: one name of the day's three
    visitor = app.test_client()
    for n in range(6):  # anyone can put any name on a link
        assert visitor.get(f"/s/{slug}?c=random-{n}").status_code == 200
    for _ in range(2):  # a repeated parameter counts under its first value, as the pages read it
        assert visitor.get(f"/s/{slug}?c=winter&c=spring").status_code == 200
    _header, rows = read_csv(operator(app))
    names = {r["campaign"]: int(r["share_views"]) for r in rows}
    # The busiest names keep theirs; past the day's three, a new name counts as "(other)".
    assert set(names) == {"summer", "winter", "random-0", campaigns.OTHER_CAMPAIGN}
    assert names["winter"] == 2 and names[campaigns.OTHER_CAMPAIGN] == 5  # random-1 … random-5
