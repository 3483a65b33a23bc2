"""The demo journey: landing → demo → builder → edit → publish → share page and JSON."""

from __future__ import annotations

from bs4 import BeautifulSoup
from flask.testing import FlaskClient

from tests.conftest import csrf_from, start_demo


def soup(html: str) -> BeautifulSoup:
    return BeautifulSoup(html, "html.parser")


def ids_in(page: BeautifulSoup, testid: str) -> list[str]:
    return [el["data-track-id"] for el in page.select(f'[data-testid="{testid}"]')]


def test_landing_offers_both_ways_in(client: FlaskClient) -> None:
    page = soup(client.get("/").get_data(as_text=True))
    assert page.select_one('[data-testid="try-demo"]') is not None
    connect = page.select_one('[data-testid="connect-spotify"]')
    assert connect is not None
    # No credentials in this app: Spotify is off, and the page says so plainly.
    assert "not set up" in page.get_text()


def test_spotify_off_without_credentials(client: FlaskClient) -> None:
    response = client.get("/connect/spotify")
    assert response.status_code == 503
    assert "credentials" in response.get_data(as_text=True)


def test_demo_proposes_a_complete_episode(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    page = soup(client.get(builder_url).get_data(as_text=True))
    a = page.select_one('[data-testid="character-a"]')
    b = page.select_one('[data-testid="character-b"]')
    assert a is not None and b is not None
    for side in (a, b):
        songs = side.select('[data-testid="track"]')
        assert len(songs) >= 3
        assert songs[0]["data-slot"] == "opening"
        assert songs[-1]["data-slot"] == "finale"
        assert side.select_one('[data-testid="character-name"]')["value"]
    a_ids, b_ids = set(ids_in(a, "track")), set(ids_in(b, "track"))
    assert not a_ids & b_ids
    mashup = page.select_one('[data-testid="mashup"]')
    pair = ids_in(mashup, "mashup-track")
    assert len(pair) == 2
    assert (pair[0] in a_ids and pair[1] in b_ids) or (pair[1] in a_ids and pair[0] in b_ids)
    score = int(mashup.select_one('[data-testid="mashup-score"]').get_text())
    assert 0 <= score <= 100
    assert mashup.select('[data-testid="mashup-reason"]')
    history = page.select('[data-testid="history-track"]')
    assert len(history) >= 50
    assert history[0].select_one('[data-testid="add-to-a"]') and history[0].select_one(
        '[data-testid="add-to-b"]'
    )


def test_build_by_hand_then_publish(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    html = client.get(builder_url).get_data(as_text=True)
    page = soup(html)
    token = csrf_from(html)
    episode_path = builder_url.rstrip("/")
    a_ids = ids_in(page.select_one('[data-testid="character-a"]'), "track")
    b_ids = ids_in(page.select_one('[data-testid="character-b"]'), "track")
    spare = next(t for t in ids_in(page, "history-track") if t not in a_ids + b_ids)

    # Add a song to A (plain form post, no JavaScript): it lands at the end, as the new finale.
    r = client.post(f"{episode_path}/add", data={"csrf_token": token, "track": spare, "character": "a"})
    assert r.status_code == 303
    page = soup(client.get(builder_url).get_data(as_text=True))
    a_songs = page.select('[data-testid="character-a"] [data-testid="track"]')
    assert a_songs[-1]["data-track-id"] == spare and a_songs[-1]["data-slot"] == "finale"

    # Move it up one place, then remove the first song of B.
    song_field = page.select('[data-testid="character-a"] input[name="song"]')[-1]["value"]
    client.post(f"{episode_path}/move", data={"csrf_token": token, "song": song_field, "direction": "up"})
    page = soup(client.get(builder_url).get_data(as_text=True))
    assert ids_in(page.select_one('[data-testid="character-a"]'), "track")[-2] == spare
    first_b = page.select('[data-testid="character-b"] input[name="song"]')[0]["value"]
    client.post(f"{episode_path}/remove", data={"csrf_token": token, "song": first_b})
    page = soup(client.get(builder_url).get_data(as_text=True))
    assert ids_in(page.select_one('[data-testid="character-b"]'), "track") == b_ids[1:]

    # Rename A, via htmx this time: the response is the episode fragment only.
    r = client.post(
        f"{episode_path}/rename",
        data={"csrf_token": token, "character": "a", "name": "The Dreamer"},
        headers={"HX-Request": "true"},
    )
    assert r.status_code == 200 and "<html" not in r.get_data(as_text=True)
    assert "HX-Request" in r.headers["Vary"]
    assert 'value="The Dreamer"' in r.get_data(as_text=True)

    r = client.post(f"{episode_path}/publish", data={"csrf_token": token})
    assert r.status_code == 303
    share_path = r.headers["Location"]
    slug = share_path.rsplit("/", 1)[-1]
    assert len(slug) == 22

    # The share page needs no cookie: a fresh client sees it.
    anonymous = client.application.test_client()
    share = anonymous.get(share_path)
    assert share.status_code == 200
    assert "Set-Cookie" not in share.headers
    page = soup(share.get_data(as_text=True))
    assert (
        page.select_one('[data-testid="character-a"] [data-testid="character-name"]').get_text()
        == "The Dreamer"
    )
    link = page.select_one('[data-testid="share-link"]')
    assert link["value"] == f"http://localhost/s/{slug}"
    assert page.select_one('[data-testid="mashup"] [data-testid="mashup-score"]')

    data = anonymous.get(f"/s/{slug}.json").get_json()
    assert data["slug"] == slug
    assert data["characters"][0]["name"] == "The Dreamer"
    assert [s["id"] for s in data["characters"][0]["songs"]][-2] == spare
    assert data["mashup"]["a"]["id"] in [s["id"] for s in data["characters"][0]["songs"]]
    assert data["mashup"]["b"]["id"] in [s["id"] for s in data["characters"][1]["songs"]]

    # A published episode is no longer editable.
    r = client.post(f"{episode_path}/add", data={"csrf_token": token, "track": spare, "character": "b"})
    assert r.status_code == 404


def test_history_search_filters_by_title_or_artist(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    r = client.get(builder_url + "?q=robyn", headers={"HX-Request": "true"})
    page = soup(r.get_data(as_text=True))
    tracks = page.select('[data-testid="history-track"]')
    assert tracks and all("robyn" in t.get_text().casefold() for t in tracks)
    assert "<html" not in r.get_data(as_text=True)


def test_someone_elses_draft_is_not_found(client: FlaskClient) -> None:
    builder_url = start_demo(client)
    stranger = client.application.test_client()
    assert stranger.get(builder_url).status_code == 404


def test_unknown_slug_is_404(client: FlaskClient) -> None:
    assert client.get("/s/AAAAAAAAAAAAAAAAAAAAAA").status_code == 404
    assert client.get("/s/AAAAAAAAAAAAAAAAAAAAAA.json").status_code == 404
    assert client.get("/s/" + "x" * 500).status_code == 404


def test_healthz(client: FlaskClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
