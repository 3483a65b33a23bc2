"""A duet, as two people click it: two independent browser contexts over real HTTP against the live app."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browser import harness
from tests.browser.conftest import OpenTab, Site

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

BUILDER = re.compile(r"/build/\d+$")
SHARE = re.compile(r"/s/[A-Za-z0-9_-]{22}$")
HOSTILE_1 = '<img src=x onerror=alert("one")>'
HOSTILE_2 = '"><script>alert("two")</script>'


def ids(page: Page, key: str, testid: str = "track") -> list[str]:
    found: list[str] = (
        page.get_by_test_id(f"character-{key}")
        .get_by_test_id(testid)
        .evaluate_all("els => els.map(e => e.dataset.trackId)")
    )
    return found


def export_file(folder: Path) -> Path:
    """Person 2's Spotify export, made here: 20 songs by 10 artists, their names hostile."""
    plays = [
        {
            "endTime": f"2024-0{1 + n % 9}-1{day} {8 + n % 12}:00",
            "artistName": f"{HOSTILE_2} Artist {n % 10}",
            "trackName": f"Song {n} {HOSTILE_2}",
            "msPlayed": 200_000,
        }
        for n in range(20)
        for day in range(1 + n % 3)
    ]
    path = folder / "StreamingHistory_music_0.json"
    path.write_text(json.dumps(plays), encoding="utf-8")
    return path


def axe(page: Page, label: str, found: dict[str, str]) -> None:
    """Record axe-core's serious or critical findings on the page as it is now."""
    page.evaluate("() => document.fonts.ready")
    violations = harness.serious(harness.run_axe(page))
    if violations:
        found[label] = harness.describe_violations(violations)


def never_alert(page: Page) -> list[str]:
    """Collect any dialog a hostile name would open (none may)."""
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


def test_two_people_make_a_duet(site: Site, open_tab: OpenTab, tmp_path: Path) -> None:
    # Person 1: the demo, a hostile name for character B, publish.
    one = open_tab("desktop")
    alerts_one = never_alert(one.page)
    one.goto(site.url + "/")
    one.page.get_by_test_id("try-demo").click()
    one.page.wait_for_url(BUILDER)
    builder_one = one.page.url
    name = one.page.get_by_test_id("character-b").get_by_test_id("character-name")
    name.fill(HOSTILE_1)
    name.press("Enter")
    expect(one.page.get_by_test_id("character-b").get_by_test_id("character-name")).to_have_value(HOSTILE_1)
    one.page.get_by_test_id("publish").click()
    one.page.wait_for_url(SHARE)
    original_url = one.page.url
    original = one.page.request.get(original_url + ".json").json()
    invite = one.page.get_by_test_id("duet-start")
    expect(invite).to_be_visible()
    invitation = site.url + str(invite.get_attribute("href"))

    # Person 2, in a fresh context: the invitation, co-star with B, come in by an export upload.
    two = open_tab("desktop")
    alerts_two = never_alert(two.page)
    two.goto(invitation)
    found: dict[str, str] = {}
    axe(two.page, "invitation", found)
    expect(two.page.get_by_test_id("character-b").get_by_test_id("character-name")).to_have_text(HOSTILE_1)
    assert ids(two.page, "b") == [s["id"] for s in original["characters"][1]["songs"]]
    two.page.get_by_test_id("character-b").get_by_test_id("co-star").click()
    # The link loads the invitation again with the choice made: axe must read that page, not the one
    # being left (evaluated mid-navigation it finds no document).
    expect(two.page.get_by_test_id("character-b").get_by_text("You co-star with")).to_be_visible()
    two.page.wait_for_load_state("load")
    upload = two.page.get_by_test_id("upload-export")
    axe(two.page, "invitation, co-star chosen", found)
    two.assert_fits()
    two.shot("invitation", full_page=True)
    upload.locator("input[type=file]").set_input_files(export_file(tmp_path))
    upload.locator("button[type=submit]").click()
    two.page.wait_for_url(BUILDER, timeout=60_000)

    axe(two.page, "duet builder", found)
    two.assert_fits()
    two.shot("duet-builder", full_page=True)
    chosen = [s["id"] for s in original["characters"][1]["songs"]]
    assert ids(two.page, "a") == chosen  # the inviter's character as published
    expect(two.page.get_by_test_id("character-a").get_by_test_id("character-name")).to_have_text(HOSTILE_1)
    expect(two.page.get_by_test_id("character-a").locator("input, button")).to_have_count(0)
    history = set(
        two.page.get_by_test_id("history-track").evaluate_all("els => els.map(e => e.dataset.trackId)")
    )
    b_ids = ids(two.page, "b")
    assert b_ids and set(b_ids) <= history  # all from person 2's own history
    assert not history & set(chosen)
    pair = (
        two.page.get_by_test_id("mashup")
        .get_by_test_id("mashup-track")
        .evaluate_all("els => els.map(e => e.dataset.trackId)")
    )
    assert pair[0] in chosen and pair[1] in history  # one song from each person

    two.page.get_by_test_id("publish").click()
    two.page.wait_for_url(SHARE)
    duet_url = two.page.url
    axe(two.page, "duet share page", found)
    two.shot("duet-share", full_page=True)
    assert duet_url != original_url
    title = two.page.locator("h1")
    expect(title).to_contain_text(f"{HOSTILE_1} meets ")
    duet = two.page.request.get(duet_url + ".json").json()
    assert duet["duet_of"] == original_url.rsplit("/", 1)[-1]
    assert [s["id"] for s in duet["characters"][0]["songs"]] == chosen
    assert {s["id"] for s in duet["characters"][1]["songs"]} <= history
    assert duet["mashup"]["a"]["id"] in chosen and duet["mashup"]["b"]["id"] in history
    assert any(HOSTILE_2 in a for s in duet["characters"][1]["songs"] for a in s["artists"])
    expect(two.page.get_by_test_id("duet-of").locator("a")).to_have_attribute("href", original_url)

    # On a phone, the invitation and the duet's page fit the screen.
    phone = open_tab("phone")
    phone.goto(invitation + "?star=a")
    expect(phone.page.get_by_test_id("upload-export")).to_be_visible()
    phone.assert_fits()
    phone.shot("invitation-phone", full_page=True)
    phone.goto(duet_url)
    phone.assert_fits()

    # The duet's embed shows both names as text; the original is unchanged.
    two.goto(site.url + "/embed/s/" + duet_url.rsplit("/", 1)[-1])
    expect(two.page.get_by_test_id("character-a").get_by_test_id("character-name")).to_have_text(HOSTILE_1)
    assert one.page.request.get(original_url + ".json").json() == original

    # Person 2 cannot touch person 1's published episode from their own browser.
    assert two.page.request.get(builder_one).status == 404
    assert alerts_one == [] and alerts_two == []
    assert not found, "axe-core found serious or critical violations:\n" + "\n".join(
        f"== {label}\n{report}" for label, report in found.items()
    )
