"""The export upload in a browser: a progress bar while the files travel, then the builder; a refusal is
swapped in place with its message focused. On a desktop and on a phone, with the page's strict CSP."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import OpenTab, Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BUILDER = re.compile(r"/build/\d+$")


def history_file(folder: Path, size: int) -> Path:
    """An extended streaming history of about `size` bytes (30 songs, random padding fields)."""
    rng = random.Random(7)
    songs = [
        (f"Song {i}", f"Artist {i % 12}", "".join(rng.choices("ABCDEFGHJKLMNPQRSTUVWXYZ", k=22)))
        for i in range(30)
    ]
    entries = []
    total = 0
    n = 0
    while total < size:
        title, artist, sid = songs[n % len(songs)]
        entry = json.dumps(
            {
                "ts": f"2024-{1 + n % 12:02d}-{1 + n % 28:02d}T{n % 24:02d}:00:00Z",
                "ms_played": 200_000,
                "master_metadata_track_name": title,
                "master_metadata_album_artist_name": artist,
                "master_metadata_album_album_name": "Album",
                "spotify_track_uri": f"spotify:track:{sid}",
                "reason_start": "".join(rng.choices("abcdefghij", k=200)),
            }
        )
        entries.append(entry)
        total += len(entry) + 1
        n += 1
    path = folder / "Streaming_History_Audio_2024_0.json"
    path.write_text("[" + ",".join(entries) + "]", "utf-8")
    return path


RECORD = """() => {
  // What the bar showed at each of htmx's upload progress events (upload.js's own listener runs first),
  // kept in sessionStorage, which outlives the navigation to the builder.
  sessionStorage.setItem("seen", "[]");
  document.addEventListener("htmx:xhr:progress", (event) => {
    const bar = document.querySelector("[data-testid='upload-progress']");
    const seen = JSON.parse(sessionStorage.getItem("seen"));
    seen.push({loaded: event.detail.loaded, total: event.detail.total, value: bar.value,
               shown: bar.checkVisibility()});
    sessionStorage.setItem("seen", JSON.stringify(seen));
  });
}"""


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_the_upload_shows_its_progress_then_the_builder(
    open_tab: OpenTab, site: Site, tmp_path: Path, viewport: str
) -> None:
    tab = open_tab(viewport)
    page = tab.page
    tab.goto(site.url + "/")
    form = page.get_by_test_id("upload-export")
    expect(form.get_by_test_id("upload-progress")).to_be_hidden()
    page.evaluate(RECORD)
    path = history_file(tmp_path, 12 * 1024 * 1024)
    form.locator("input[type=file]").set_input_files(path)
    form.locator("button[type=submit]").click()
    page.wait_for_url(BUILDER, timeout=90_000)
    expect(page.get_by_test_id("character-a")).to_be_visible()
    seen = json.loads(page.evaluate("sessionStorage.getItem('seen')"))
    assert seen, "htmx reported no upload progress"
    assert all(event["shown"] for event in seen)  # the bar was on screen while the files travelled
    values = [event["value"] for event in seen]
    assert values == sorted(values) and values[-1] == 100
    assert seen[-1]["loaded"] == seen[-1]["total"] > path.stat().st_size
    tab.assert_clean()  # no CSP report, console error or failed request on the way


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_a_refused_upload_is_swapped_in_place_with_its_message_focused(
    open_tab: OpenTab, site: Site, tmp_path: Path, viewport: str
) -> None:
    tab = open_tab(viewport)
    page = tab.page
    tab.guard.expect(r"400 .*POST .*/upload|status of 400 .*/upload")  # the refusal's own answer
    tab.goto(site.url + "/")
    bad = tmp_path / "Streaming_History_Audio_2024_0.json"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(2048))
    form = page.get_by_test_id("upload-export")
    form.locator("input[type=file]").set_input_files(bad)
    form.locator("button[type=submit]").click()
    error = page.locator("#export-error")
    expect(error).to_be_focused()
    expect(error).to_contain_text("not a Spotify history JSON file")
    assert page.url.rstrip("/") == site.url.rstrip("/")  # no navigation: the form was swapped in place
    box, viewport_size = error.bounding_box(), page.viewport_size
    assert box is not None and viewport_size is not None
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport_size["height"]  # in view
    tab.assert_clean()


def test_files_over_the_limit_are_refused_before_they_travel(
    open_tab: OpenTab, site: Site, tmp_path: Path
) -> None:
    tab = open_tab("phone")
    page = tab.page
    tab.goto(site.url + "/")
    posts: list[str] = []
    page.on("request", lambda request: posts.append(request.url) if request.method == "POST" else None)
    form = page.get_by_test_id("upload-export")
    # The limit the server renders is 200 MB; lowered here to 1 MB so that a small file is over it.
    form.evaluate("form => form.setAttribute('data-max-bytes', String(1024 * 1024))")
    form.locator("input[type=file]").set_input_files(history_file(tmp_path, 2 * 1024 * 1024))
    form.locator("button[type=submit]").click()
    error = form.get_by_test_id("error-message")  # the contract's id, though the page made it itself
    expect(error).to_be_focused()
    expect(error).to_contain_text("more than the 1 MB we accept")
    assert posts == []  # nothing was sent
    tab.assert_clean()
