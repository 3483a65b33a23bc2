"""More ways in, each driven to a published share page: Last.fm, a Spotify data export, picking by hand."""

from __future__ import annotations

import io
import json
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import Session, select

from fanapp import create_app
from fanapp.data.models import Listener, Track
from fanapp.importing import jobs, uploads
from tests.conftest import csrf_from, make_settings, upload_export

DATA = Path(__file__).resolve().parent.parent / "data" / "export"


def _publish(client: FlaskClient, builder_path: str) -> BeautifulSoup:
    builder = client.get(builder_path)
    assert builder.status_code == 200
    r = client.post(builder_path + "/publish", data={"csrf_token": csrf_from(builder.get_data(as_text=True))})
    assert r.status_code == 303
    share = client.application.test_client().get(r.headers["Location"])
    assert share.status_code == 200
    page = BeautifulSoup(share.get_data(as_text=True), "html.parser")
    assert page.select('[data-testid="character-a"] [data-testid="track"]')
    assert page.select('[data-testid="mashup"] [data-testid="mashup-track"]')
    return page


def _token(client: FlaskClient) -> str:
    return csrf_from(client.get("/").get_data(as_text=True))


# -- Last.fm -----------------------------------------------------------------------------------------


@pytest.fixture
def fake_lastfm() -> Iterator[Any]:
    from tests.fakes.lastfm import FakeLastfm

    with FakeLastfm.running() as fake:
        yield fake


@pytest.fixture
def lastfm_client(database_url: str, fake_lastfm: Any) -> Iterator[FlaskClient]:
    app = create_app(
        make_settings(
            database_url,
            lastfm_api_key=fake_lastfm.api_key,
            lastfm_api_url=fake_lastfm.api_url,
            # Room for the double on a loaded machine: at 1 s a slow answer failed the import and the
            # journey landed on the progress page instead of the builder. No test here times out on purpose.
            upstream_timeout=10.0,
        )
    )
    app.testing = True
    yield app.test_client()
    app.extensions["fanapp.engine"].dispose()


def test_landing_offers_every_configured_way_in(lastfm_client: FlaskClient) -> None:
    page = BeautifulSoup(lastfm_client.get("/").get_data(as_text=True), "html.parser")
    ids = [el["data-testid"] for el in page.select("[data-testid]") if el["data-testid"] in WAYS]
    # Spotify is not configured in this app: its card explains that, after the ways that work.
    assert ids == ["connect-lastfm", "upload-export", "pick-songs", "try-demo", "connect-spotify"]


def test_spotify_comes_first_when_configured(spotify_app: Flask) -> None:
    page = BeautifulSoup(spotify_app.test_client().get("/").get_data(as_text=True), "html.parser")
    ids = [el["data-testid"] for el in page.select("[data-testid]") if el["data-testid"] in WAYS]
    assert ids == ["connect-spotify", "upload-export", "pick-songs", "try-demo"]


WAYS = {"connect-spotify", "connect-lastfm", "upload-export", "pick-songs", "try-demo"}


def test_lastfm_is_hidden_without_a_key(client: FlaskClient) -> None:
    assert 'data-testid="connect-lastfm"' not in client.get("/").get_data(as_text=True)


def test_lastfm_journey(lastfm_client: FlaskClient, fake_lastfm: Any) -> None:
    r = lastfm_client.post(
        "/connect/lastfm", data={"csrf_token": _token(lastfm_client), "username": "rj", "period": "6month"}
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:300]
    builder = r.headers["Location"]
    assert builder.startswith("/build/"), lastfm_client.get(builder).get_data(as_text=True)[:1000]
    assert {"user.getinfo", "user.gettoptracks", "user.getrecenttracks"} <= {
        m.lower() for m in fake_lastfm.methods_called()
    }
    page = _publish(lastfm_client, builder)
    assert page.select_one('[data-testid="share-link"]')


@pytest.mark.parametrize(
    ("username", "message"),
    [
        ("<script>alert(1)</script>", "username"),
        ("x" * 1000, "username"),
        ("nobodyhere", "find"),
        ("privateuser", "private"),
    ],
)
def test_lastfm_refusals(lastfm_client: FlaskClient, fake_lastfm: Any, username: str, message: str) -> None:
    before = len(fake_lastfm.calls)
    r = lastfm_client.post(
        "/connect/lastfm", data={"csrf_token": _token(lastfm_client), "username": username, "period": "7day"}
    )
    assert r.status_code == 303  # post/redirect/get: the refusal or the failed import is a GET
    html = lastfm_client.get(r.headers["Location"]).get_data(as_text=True)
    assert message in html.lower()
    assert "<script>alert(1)</script>" not in html
    if "<" in username or len(username) > 15:
        assert len(fake_lastfm.calls) == before  # refused before any request


def test_lastfm_outage_and_empty_profile(lastfm_client: FlaskClient, fake_lastfm: Any) -> None:
    fake_lastfm.failure = "outage"
    r = lastfm_client.post(
        "/connect/lastfm", data={"csrf_token": _token(lastfm_client), "username": "rj"}, follow_redirects=True
    )
    assert "temporarily unavailable" in r.get_data(as_text=True)
    fake_lastfm.failure = None
    r = lastfm_client.post(
        "/connect/lastfm",
        data={"csrf_token": _token(lastfm_client), "username": "emptyuser"},
        follow_redirects=True,
    )
    assert "no scrobbles" in r.get_data(as_text=True) or "still quiet" in r.get_data(as_text=True)


# -- Spotify data export ----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def upload_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads of this test wait in a folder of its own (checked empty afterwards)."""
    root = tmp_path / "uploads"
    monkeypatch.setattr(uploads, "root", lambda: root)
    return root


def _upload(client: FlaskClient, files: list[tuple[str, bytes]]) -> Any:
    return upload_export(client, _token(client), files)


@pytest.mark.parametrize(
    "names",
    [
        ["StreamingHistory_music_0.json"],
        ["Streaming_History_Audio_2024_0.json", "Streaming_History_Video_2024.json"],
        ["my_spotify_data.zip"],
        ["my_spotify_data_extended.zip"],
    ],
)
def test_export_journey(client: FlaskClient, app: Flask, names: list[str]) -> None:
    r = _upload(client, [(n, (DATA / n).read_bytes()) for n in names])
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    _publish(client, r.headers["Location"])
    with Session(app.extensions["fanapp.engine"]) as s:
        listener = s.exec(select(Listener)).one()
        assert listener.source == "export" and listener.import_status == "done"
        assert any("kept" in note.lower() for note in listener.import_notes)  # counts for the visitor
        stored = json.dumps([t.model_dump(mode="json") for t in s.exec(select(Track)).all()])
    for personal in ("ip_addr", "conn_country", "user_agent"):
        assert personal not in stored


def _zip(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in entries.items():
            z.writestr(name, content)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("StreamingHistory_music_0.json", b'[{"endTime": "2024-01-01 10:00", "artistName": '),
        ("StreamingHistory_music_0.json", b"\x89PNG\r\n\x1a\n" + b"\0" * 100),
        ("holiday.zip", _zip({"../../etc/passwd": b"root:x:0:0"})),
        ("many.zip", _zip({f"f{i}.json": b"[]" for i in range(10_000)})),
        ("notes.txt", b"hello"),
    ],
)
def test_export_refusals(client: FlaskClient, app: Flask, name: str, content: bytes) -> None:
    started = time.monotonic()
    r = _upload(client, [(name, content)])
    assert time.monotonic() - started < 10
    assert r.status_code == 303  # post/redirect/get: the message rides to the landing page
    assert r.headers["Location"].endswith("/#export-error")
    landing = BeautifulSoup(client.get(r.headers["Location"]).get_data(as_text=True), "html.parser")
    assert landing.select_one('#export-error[data-testid="error-message"]')
    with Session(app.extensions["fanapp.engine"]) as s:
        assert s.exec(select(Track)).all() == []  # nothing partial
        # A refusal found while parsing (in the import job) leaves only the failed import and its message.
        assert all(listener.import_status == "failed" for listener in s.exec(select(Listener)))
    assert not any(uploads.root().glob("*/*"))  # the saved files are gone


def test_export_journey_leaves_no_files(client: FlaskClient, upload_root: Path) -> None:
    r = _upload(client, [("my_spotify_data.zip", (DATA / "my_spotify_data.zip").read_bytes())])
    assert r.status_code == 303
    assert upload_root.is_dir() and not any(upload_root.iterdir())


def test_a_crashed_or_timed_out_job_still_removes_its_upload(app: Flask, upload_root: Path) -> None:
    key, names = uploads.save([("StreamingHistory_music_0.json", io.BytesIO(b"[]"))])
    with app.app_context():
        with Session(app.extensions["fanapp.engine"]) as s:
            listener = Listener(source="export", import_status="running")
            s.add(listener)
            s.commit()
            listener_id = listener.id
        job = SimpleNamespace(args=(listener_id, {"kind": "export", "upload": key, "names": names}))
        jobs.mark_failed(job, None)  # type: ignore[arg-type]  # what RQ calls after a crash or a timeout
    assert not (upload_root / key).exists()
    with Session(app.extensions["fanapp.engine"]) as s:
        failed = s.get(Listener, listener_id)
        assert failed is not None and failed.import_status == "failed"


def test_upload_checks_csrf_from_the_header_before_the_body(client: FlaskClient) -> None:
    client.get("/")
    content = (DATA / "StreamingHistory_music_0.json").read_bytes()
    r = client.post(
        "/upload",
        data={"files": [(io.BytesIO(content), "StreamingHistory_music_0.json")]},
        headers={"X-CSRFToken": "forged"},
    )
    assert r.status_code == 400
    r = client.post("/upload", data={"files": [(io.BytesIO(content), "StreamingHistory_music_0.json")]})
    assert r.status_code == 400  # no token at all
    token = _token(client)
    r = client.post(
        "/upload",
        data={"files": [(io.BytesIO(content), "StreamingHistory_music_0.json")]},
        headers={"X-CSRFToken": token},
    )
    assert r.status_code == 303, r.get_data(as_text=True)[:300]


def test_htmx_refusal_is_the_form_with_its_message(client: FlaskClient) -> None:
    token = _token(client)
    r = client.post(
        "/upload",
        data={"files": [(io.BytesIO(b"hello"), "notes.txt")]},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert r.status_code == 400 and "HX-Request" in r.headers["Vary"]
    page = BeautifulSoup(r.get_data(as_text=True), "html.parser")
    assert page.select_one("html") is None  # a fragment: the form, swapped in place
    form = page.select_one('[data-testid="upload-export"]')
    assert form is not None and form.select_one("#export-error") is not None
    assert form.select_one('[data-testid="upload-progress"]') is not None


def test_an_upload_our_disk_cannot_keep_says_so(
    client: FlaskClient, upload_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(uploads, "save", full)
    content = (DATA / "StreamingHistory_music_0.json").read_bytes()
    r = _upload(client, [("StreamingHistory_music_0.json", content)])
    assert r.status_code == 303  # post/redirect/get, the message beside the form
    page = BeautifulSoup(client.get(r.headers["Location"]).get_data(as_text=True), "html.parser")
    message = page.select_one('[data-testid="upload-export"] [data-testid="error-message"]')
    assert message is not None and "Nothing is wrong with your files" in message.get_text()


def test_no_files_chosen(client: FlaskClient) -> None:
    r = _upload(client, [])
    assert r.status_code == 303
    assert "Choose the files" in client.get(r.headers["Location"]).get_data(as_text=True)


# -- Picking by hand ----------------------------------------------------------------------------------------


def _pick_journey(client: FlaskClient, query: str, count: int) -> BeautifulSoup:
    page = client.get(f"/pick/?q={query}")
    token = csrf_from(page.get_data(as_text=True))
    results = BeautifulSoup(page.get_data(as_text=True), "html.parser").select('[data-testid="pick-result"]')
    assert len(results) >= count
    for item in results[:count]:
        r = client.post("/pick/add", data={"csrf_token": token, "track": item["data-track-id"], "q": query})
        assert r.status_code == 303
    picked = BeautifulSoup(client.get("/pick/").get_data(as_text=True), "html.parser")
    assert len(picked.select('[data-testid="picked"]')) == count
    r = client.post("/pick/done", data={"csrf_token": token})
    assert r.status_code == 303, r.get_data(as_text=True)[:500]
    return _publish(client, r.headers["Location"])


def test_pick_by_hand_without_spotify(client: FlaskClient) -> None:
    page = _pick_journey(client, "", 8)
    assert all(t["data-track-id"].startswith("demo-") for t in page.select('[data-testid="track"]'))


def test_pick_needs_two_songs(client: FlaskClient) -> None:
    page = client.get("/pick/")
    token = csrf_from(page.get_data(as_text=True))
    r = client.post("/pick/done", data={"csrf_token": token})
    assert r.status_code == 303  # post/redirect/get: the message is on the pick page, a reload posts nothing
    page = BeautifulSoup(client.get(r.headers["Location"]).get_data(as_text=True), "html.parser")
    assert "Pick a few songs first" in page.select_one('[data-testid="error-message"]').get_text()


def test_pick_by_hand_with_spotify_search(spotify_app: Flask, fake_spotify: Any) -> None:
    client = spotify_app.test_client()
    title = fake_spotify.catalogue[0]["name"].split()[0]
    r = client.get(f"/pick/?q={title}")
    results = BeautifulSoup(r.get_data(as_text=True), "html.parser").select('[data-testid="pick-result"]')
    assert results and all(len(t["data-track-id"]) == 22 for t in results)
    assert any(c.path == "/v1/search" for c in fake_spotify.calls)
    grants = [t.grant_type for t in fake_spotify.token_requests]
    assert grants == ["client_credentials"]
    token = csrf_from(r.get_data(as_text=True))
    ids = [fake_spotify.catalogue[i]["id"] for i in range(6)]
    for track_id in ids:
        assert client.post("/pick/add", data={"csrf_token": token, "track": track_id}).status_code == 303
    done = client.post("/pick/done", data={"csrf_token": token})
    assert done.status_code == 303
    share = _publish(client, done.headers["Location"])
    assert {t["data-track-id"] for t in share.select('[data-testid="track"]')} <= set(ids)


def test_demo_first_without_an_account_to_connect(client: FlaskClient) -> None:
    page = BeautifulSoup(client.get("/").get_data(as_text=True), "html.parser")
    ids = [el["data-testid"] for el in page.select("[data-testid]") if el["data-testid"] in WAYS]
    assert ids == ["try-demo", "upload-export", "pick-songs", "connect-spotify"]


def test_searching_by_hand_is_rate_limited(database_url: str) -> None:
    app = create_app(make_settings(database_url, limit_search="2 per minute"))
    app.testing = True
    client = app.test_client()
    assert [client.get("/pick/?q=love").status_code for _ in range(3)] == [200, 200, 429]
    app.extensions["fanapp.engine"].dispose()
