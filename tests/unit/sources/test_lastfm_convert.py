"""Converters from Last.fm's JSON quirks to `ImportedTrack`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from fanapp.sources.lastfm import recent_tracks_from_lastfm, top_tracks_from_lastfm, track_from_lastfm
from fanapp.tracks import song_key


def top_item(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "name": "Glory Box",
        "playcount": "41",
        "mbid": "",
        "url": "https://www.last.fm/music/Portishead/_/Glory+Box",
        "duration": "306",
        "artist": {"name": "Portishead", "mbid": "", "url": "https://www.last.fm/music/Portishead"},
        "image": [
            {"#text": "https://lastfm.freetls.fastly.net/i/u/34s/a.png", "size": "small"},
            {"#text": "https://lastfm.freetls.fastly.net/i/u/300x300/a.png", "size": "extralarge"},
            {"#text": "https://lastfm.freetls.fastly.net/i/u/174s/a.png", "size": "large"},
        ],
        "@attr": {"rank": "3"},
    }
    item.update(overrides)
    return item


def scrobble(**overrides: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "artist": {"mbid": "", "#text": "Portishead"},
        "name": "Glory Box",
        "album": {"mbid": "", "#text": "Dummy"},
        "date": {"uts": "1718150100", "#text": "11 Jun 2024, 23:55"},
        "image": [],
    }
    item.update(overrides)
    return item


def test_top_track_fields() -> None:
    [t] = top_tracks_from_lastfm({"toptracks": {"track": [top_item()]}}, "1month")
    assert t.title == "Glory Box"
    assert t.artists == ["Portishead"]
    assert t.play_count == 41  # "41" as a string
    assert t.top_ranks == {"lastfm_1month": 3, "short_term": 3}
    assert t.duration_ms == 306_000
    assert t.image_url == "https://lastfm.freetls.fastly.net/i/u/300x300/a.png"  # the largest
    assert t.spotify_url is None
    assert t.source_id == "lastfm:" + song_key("Portishead", "Glory Box")


def test_single_top_track_as_an_object_and_missing_rank() -> None:
    item = top_item()
    del item["@attr"]
    [t] = top_tracks_from_lastfm({"toptracks": {"track": item}}, "overall")
    assert t.top_ranks == {"lastfm_overall": 1, "long_term": 1}


def test_missing_mbid_gives_a_stable_normalised_hash() -> None:
    a = track_from_lastfm(top_item(mbid=None))
    b = track_from_lastfm(top_item(name="  glory   BOX ", artist={"name": "PORTISHEAD"}))
    c = track_from_lastfm(top_item(mbid="not-an-mbid"))
    assert a and b and c
    assert a.source_id == b.source_id == c.source_id
    assert a.source_id.startswith("lastfm:") and len(a.source_id) == len("lastfm:") + 16


def test_mbid_is_the_id_when_present() -> None:
    t = track_from_lastfm(top_item(mbid="63B3A8CA-26F2-4E2B-B867-647A6EC2BEBD"))
    assert t and t.source_id == "lastfm:63b3a8ca-26f2-4e2b-b867-647a6ec2bebd"


def test_recent_scrobbles_skip_now_playing_and_timeless_items() -> None:
    payload = {
        "recenttracks": {
            "track": [
                scrobble(**{"@attr": {"nowplaying": "true"}, "date": None}),
                scrobble(),
                scrobble(date={"#text": "no uts"}),
                scrobble(date={"uts": "99999999999"}),  # after 2100
                scrobble(name="", date={"uts": "1718150000"}),
                "junk",
            ],
            "@attr": {"page": "1", "totalPages": "1"},
        }
    }
    [t] = recent_tracks_from_lastfm(payload)
    assert t.play_times == [datetime(2024, 6, 11, 23, 55, tzinfo=UTC)]
    assert t.play_count == 1
    assert t.album == "Dummy"
    assert t.artists == ["Portishead"]


def test_single_scrobble_as_an_object() -> None:
    assert len(recent_tracks_from_lastfm({"recenttracks": {"track": scrobble()}})) == 1


def test_images_only_https_and_never_the_placeholder() -> None:
    http_only = [{"#text": "http://x/a.png", "size": "extralarge"}]
    star = [{"#text": "https://x/2a96cbd8b46e442fc41c2b86b821562f.png", "size": "extralarge"}]
    assert track_from_lastfm(top_item(image=http_only)).image_url is None  # type: ignore[union-attr]
    assert track_from_lastfm(top_item(image=star)).image_url is None  # type: ignore[union-attr]
    assert track_from_lastfm(top_item(image={"#text": "https://x/a.png"})).image_url == "https://x/a.png"  # type: ignore[union-attr]


def test_names_are_cleaned_and_markup_kept_as_text() -> None:
    t = track_from_lastfm(top_item(name="<b>Bold\x00</b>" + "x" * 400))
    assert t is not None
    assert "\x00" not in t.title
    assert t.title.startswith("<b>Bold</b>")
    assert len(t.title) <= 300


@pytest.mark.parametrize(
    "payload",
    [
        None,
        [],
        "x",
        {},
        {"toptracks": None},
        {"toptracks": {"track": None}},
        {"toptracks": {"track": [1, None]}},
    ],
)
def test_odd_payloads_give_no_tracks(payload: Any) -> None:
    assert top_tracks_from_lastfm(payload, "7day") == []
    assert recent_tracks_from_lastfm(payload) == []


@pytest.mark.parametrize("playcount", ["", "-3", "1e3", None, True, "12345678901234567890"])
def test_odd_play_counts_are_zero(playcount: Any) -> None:
    [t] = top_tracks_from_lastfm({"toptracks": {"track": [top_item(playcount=playcount)]}}, "7day")
    assert t.play_count == 0


def test_items_without_a_title_or_artist_are_dropped() -> None:
    assert track_from_lastfm(top_item(name="")) is None
    assert track_from_lastfm(top_item(artist={})) is None
    assert track_from_lastfm(top_item(artist="Plain String Artist")) is not None
