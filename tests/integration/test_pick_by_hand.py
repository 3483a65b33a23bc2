"""Picking by hand without Spotify: it says what it searches (about 2,000 bundled songs), accents and case do
not matter, chart hits carry their audio features into the episode, and the tray says how many more."""

from __future__ import annotations

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient

from fanapp.sources import catalogue
from tests.conftest import csrf_from


def _page(client: FlaskClient, query: str) -> BeautifulSoup:
    r = client.get("/pick/", query_string={"q": query})
    assert r.status_code == 200
    return BeautifulSoup(r.get_data(as_text=True), "html.parser")


def _titles(page: BeautifulSoup) -> list[str]:
    return [
        f"{r.select_one('.song-title').get_text()} / {r.select_one('.song-artist').get_text()}"
        for r in page.select('[data-testid="pick-result"]')
    ]


def test_it_says_what_it_searches(client: FlaskClient) -> None:
    page = _page(client, "")
    label = page.select_one("label[for=pick-q]").get_text()
    assert label.startswith("Search 1,9") and "well-known songs" in label
    assert 1900 <= catalogue.size() <= 2100
    assert "Spotify is not set up" in page.select_one('[data-testid="pick-searches"]').get_text()
    nothing = _page(client, "zzqx nothing like this")
    assert f"None of the {catalogue.size():,} bundled songs" in nothing.get_text()


@pytest.mark.parametrize("query", ["beyonce", "Beyoncé", "BEYONCÉ", "Beyonce\u0301", "ｂｅｙｏｎｃｅ"])
def test_accents_case_and_unicode_forms_do_not_matter(client: FlaskClient, query: str) -> None:
    found = _titles(_page(client, query))
    assert found == _titles(_page(client, "beyonce")) and len(found) >= 10
    assert all("Beyoncé" in line for line in found)


def test_well_known_artists_beyond_the_demo(client: FlaskClient) -> None:
    for query, artist in (("Taylor Swift", "Taylor Swift"), ("eminem", "Eminem"), ("ADELE", "Adele")):
        found = _titles(_page(client, query))
        assert found and all(artist in line for line in found), query
    found = _titles(_page(client, "crazy in love"))
    assert len(found) == 1 and found[0].startswith("Crazy in Love / Beyoncé")  # one song, once


def test_a_chart_hit_reaches_the_episode_with_its_features(client: FlaskClient, app: Flask) -> None:
    token = csrf_from(client.get("/pick/").get_data(as_text=True))
    picked: list[str] = []
    for query in ("taylor swift", "eminem", "adele", "coldplay", "rihanna", "daft punk"):
        results = _page(client, query).select('[data-testid="pick-result"]')
        result = next(r for r in results if r["data-track-id"].startswith("hits-"))  # a chart hit
        picked.append(result["data-track-id"])
        r = client.post("/pick/add", data={"csrf_token": token, "track": result["data-track-id"]})
        assert r.status_code == 303
    hit = catalogue.by_id(picked[0])
    assert hit is not None and {"tempo", "key", "energy"} <= set(hit.features)
    r = client.post("/pick/done", data={"csrf_token": token}, follow_redirects=True)
    page = BeautifulSoup(r.get_data(as_text=True), "html.parser")
    cast = {t["data-track-id"] for t in page.select('[data-testid="track"]')}
    assert cast and cast <= set(picked)
    assert page.select_one('[data-testid="mashup-score"]') is not None


def test_the_tray_says_how_many_more(client: FlaskClient) -> None:
    page = _page(client, "")
    assert page.select_one('[data-testid="pick-hint"]').get_text().startswith("Pick 2 more songs")
    done = page.select_one('[data-testid="pick-done"]')
    assert done.has_attr("disabled") and done["aria-describedby"] == "pick-hint"
    token = csrf_from(client.get("/pick/").get_data(as_text=True))
    first = page.select_one('[data-testid="pick-result"]')["data-track-id"]
    client.post("/pick/add", data={"csrf_token": token, "track": first})
    page = _page(client, "")
    assert page.select_one('[data-testid="pick-hint"]').get_text().startswith("Pick 1 more song to cast")
    second = [
        r["data-track-id"] for r in page.select('[data-testid="pick-result"]') if r["data-track-id"] != first
    ]
    client.post("/pick/add", data={"csrf_token": token, "track": second[0]})
    page = _page(client, "")
    assert page.select_one('[data-testid="pick-hint"]') is None
    assert not page.select_one('[data-testid="pick-done"]').has_attr("disabled")


def test_an_unknown_id_is_refused_with_a_message(client: FlaskClient) -> None:
    token = csrf_from(client.get("/pick/").get_data(as_text=True))
    r = client.post(
        "/pick/add", data={"csrf_token": token, "track": "hits-0000000000000000"}, follow_redirects=True
    )
    assert "could not find that song" in r.get_data(as_text=True)


def test_fold_is_what_search_compares() -> None:
    assert catalogue.fold("Beyoncé") == catalogue.fold("BEYONCE") == "beyonce"
    assert catalogue.fold("Sigur Rós — Hoppípolla!") == "sigur ros hoppipolla"
    assert catalogue.fold("ﬁre") == "fire"  # compatibility form: the ligature is two letters
