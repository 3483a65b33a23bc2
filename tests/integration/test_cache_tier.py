"""The cache tier: Debian's Varnish with the repository's VCL in front of gunicorn (2 workers, a private
Redis), and the Fastly and Cloudflare purgers against local doubles of their APIs.

Hits are served by Varnish without reaching the app, a take-down purges the episode from Varnish by
its surrogate key within seconds, no cookie is ever cached, and Vary (Accept-Encoding) is respected.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from flask import Flask

from fanapp import create_app
from fanapp.config import Settings
from fanapp.upstream.purge import PurgeError, Purger
from tests.conftest import csrf_from, make_settings, publish_demo
from tests.fakes.cdn import FakeCDN
from tests.processes import free_port, gunicorn, private_redis, varnish

PUBLIC = ("/s/{}", "/s/{}.json", "/s/{}.png", "/s/{}/story.png", "/embed/s/{}")


def _unpublish(app: Flask, client: object, *, delivered: bool = True) -> None:
    page = client.get("/my-data/").get_data(as_text=True)  # type: ignore[attr-defined]
    episode_id = page.split("/my-data/unpublish/")[1].split('"')[0]
    r = client.post(  # type: ignore[attr-defined]
        f"/my-data/unpublish/{episode_id}", data={"csrf_token": csrf_from(page), "confirm": "yes"}
    )
    assert r.status_code in (200, 302, 303), r.get_data(as_text=True)[:300]
    assert delivered == (not app.extensions["fanapp.serving"].retrier.pending)


# -- the API purgers, against their doubles ------------------------------------------------------------


@pytest.fixture
def cdn() -> Iterator[FakeCDN]:
    with FakeCDN.running() as fake:
        yield fake


def _settings(kind: str, url: str, token: str) -> Settings:
    return make_settings("sqlite://", cdn_purge_kind=kind, cdn_purge_url=url, cdn_purge_token=token)


@pytest.mark.parametrize("kind", ["fastly", "cloudflare"])
def test_the_api_purgers_speak_their_apis(cdn: FakeCDN, kind: str) -> None:
    url = cdn.fastly_url if kind == "fastly" else cdn.cloudflare_url
    keys = [f"episode-{n:03d}" for n in range(300)]
    Purger(_settings(kind, url, cdn.token)).purge(keys)
    assert cdn.purged == keys
    assert len(cdn.calls) == (2 if kind == "fastly" else 10)  # 256 keys a call; 30 tags a call
    with pytest.raises(PurgeError, match=r"401|403|Cloudflare"):
        Purger(_settings(kind, url, "not-the-token")).purge(["episode-x"])
    cdn.fail_next = 1
    with pytest.raises(PurgeError, match="503"):
        Purger(_settings(kind, url, cdn.token)).purge(["episode-x"])


def test_a_take_down_purges_the_cdn_and_retries_until_it_is_confirmed(
    cdn: FakeCDN, database_url: str
) -> None:
    app = create_app(
        make_settings(
            database_url, cdn_purge_kind="fastly", cdn_purge_url=cdn.fastly_url, cdn_purge_token=cdn.token
        )
    )
    app.testing = True
    owner = app.test_client()
    slug = publish_demo(owner)
    cdn.fail_next = 2  # the CDN's API is down for a moment
    _unpublish(app, owner, delivered=False)
    deadline = time.monotonic() + 15
    while f"episode-{slug}" not in cdn.purged:
        assert time.monotonic() < deadline, f"never purged: {cdn.calls}"
        time.sleep(0.1)
    assert cdn.purged[-1] == f"episode-{slug}"


# -- Varnish in front of gunicorn --------------------------------------------------------------------------


@dataclass
class Tier:
    edge: str  # Varnish
    origin: str  # gunicorn
    app: Flask  # a third worker on the same database and Redis, for publishing and taking down


@pytest.fixture
def tier(database_url: str, tmp_path: Path) -> Iterator[Tier]:
    if shutil.which("varnishd") is None:
        pytest.fail("varnishd is missing: scripts/system-packages.sh installs Debian's varnish")
    with private_redis() as r:
        origin_port, edge_port = free_port(), free_port()
        env = {
            "FANAPP_ENV": "development",
            "DATABASE_URL": database_url,
            "REDIS_URL": r.url,
            "REDIS_PREFIX": f"tier-{origin_port}:",
            "CDN_PURGE_URL": f"http://127.0.0.1:{edge_port}/",
            "CDN_PURGE_KIND": "varnish",
            "PUBLIC_BASE_URL": "http://fans.test",
        }
        settings = Settings.from_env(environ=env)
        app = create_app(settings.override(rate_limits_enabled=False))
        app.testing = True
        with (
            gunicorn(env, port=origin_port, log=tmp_path / "gunicorn.log") as origin,
            varnish(origin_port, edge_port) as edge,
        ):
            yield Tier(edge=edge, origin=origin, app=app)


def test_varnish_serves_hits_and_forgets_a_taken_down_episode_by_its_key(tier: Tier) -> None:
    owner = tier.app.test_client()
    slug = publish_demo(owner)
    keep = publish_demo(tier.app.test_client())
    for path in [p.format(slug) for p in PUBLIC] + [f"/s/{keep}"]:
        first = requests.get(tier.edge + path, timeout=30)
        again = requests.get(tier.edge + path, timeout=30)
        assert first.status_code == again.status_code == 200, path
        assert (first.headers["X-Cache"], again.headers["X-Cache"]) == ("MISS", "HIT"), path
        assert again.content == first.content
        assert "Surrogate-Key" not in again.headers and "Surrogate-Control" not in again.headers
    _unpublish(tier.app, owner)
    deadline = time.monotonic() + 10
    for path in [p.format(slug) for p in PUBLIC]:
        while (r := requests.get(tier.edge + path, timeout=30)).status_code not in (404, 410):
            origin = requests.get(tier.origin + path, timeout=30)
            assert time.monotonic() < deadline, (
                f"{path} still served by Varnish: {r.headers.get('X-Cache')} {r.headers.get('Age')}; "
                f"the origin says {origin.status_code}"
            )
            time.sleep(0.1)
    # ...and only that episode: the other one is still a hit.
    assert requests.get(f"{tier.edge}/s/{keep}", timeout=30).headers["X-Cache"] == "HIT"
    # The second purge (once every worker has heard the news) leaves nothing stale behind either.
    time.sleep(1.5)
    assert requests.get(f"{tier.edge}/s/{slug}", timeout=30).status_code in (404, 410)


def test_varnish_never_caches_a_cookie_and_keeps_encodings_apart(tier: Tier) -> None:
    slug = publish_demo(tier.app.test_client())
    # A visitor's cookie on a public page is dropped: the page is shared, and shared without it.
    mine = requests.get(f"{tier.edge}/s/{slug}", cookies={"session": "visitor-secret"}, timeout=30)
    theirs = requests.get(f"{tier.edge}/s/{slug}", timeout=30)
    assert theirs.headers["X-Cache"] == "HIT" and "Set-Cookie" not in theirs.headers
    assert mine.content == theirs.content
    # A page that sets a cookie (the landing page's CSRF session) is never stored: each visitor gets
    # their own from the app.
    one = requests.get(tier.edge + "/", timeout=30)
    two = requests.get(tier.edge + "/", timeout=30)
    assert "Set-Cookie" in one.headers and "Set-Cookie" in two.headers
    assert two.headers["X-Cache"] == "MISS" and one.headers["Set-Cookie"] != two.headers["Set-Cookie"]
    # Vary: a gzip-capable client and one without get their own copies, each a hit the second time.
    plain = [
        requests.get(f"{tier.edge}/s/{slug}.json", headers={"Accept-Encoding": "identity"}, timeout=30)
        for _ in range(2)
    ]
    gzip = [
        requests.get(f"{tier.edge}/s/{slug}.json", headers={"Accept-Encoding": "gzip"}, timeout=30)
        for _ in range(2)
    ]
    assert "Content-Encoding" not in plain[1].headers and plain[1].headers["X-Cache"] == "HIT"
    assert gzip[1].headers.get("Content-Encoding") == "gzip" and gzip[1].headers["X-Cache"] == "HIT"
    assert plain[1].json() == gzip[1].json()
    assert "Accept-Encoding" in gzip[1].headers.get("Vary", "")
