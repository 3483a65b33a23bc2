"""SpotifyMatcher: a Spotify link when a search finds the same song; otherwise the song stays as it is."""

from __future__ import annotations

from typing import Any

import spotipy

from fanapp.sources import ImportedTrack
from fanapp.sources.lastfm import NO_PLAYER_NOTE, LastfmSource
from fanapp.sources.spotify.matching import SpotifyMatcher
from tests.fakes.lastfm import FakeLastfm


def spotify_track(title: str, artist: str, track_id: str = "4uLU6hMCjMI75M1A2tKUQC") -> dict[str, Any]:
    return {
        "type": "track",
        "id": track_id,
        "name": title,
        "artists": [{"name": artist}],
        "album": {
            "name": "Album",
            "release_date": "1994-08-22",
            "images": [{"url": "https://i.scdn.co/image/cover", "width": 300, "height": 300}],
        },
        "external_ids": {"isrc": "GBAAA9400001"},
        "external_urls": {"spotify": f"https://open.spotify.com/track/{track_id}"},
        "duration_ms": 306000,
    }


class StubSpotify:
    """Answers /search from a dict of query -> track; records the queries."""

    def __init__(self, answers: dict[str, dict[str, Any]], fail_after: int | None = None) -> None:
        self.answers = answers
        self.queries: list[str] = []
        self.fail_after = fail_after

    def search(
        self, q: str, limit: int = 10, offset: int = 0, type: str = "track", market: Any = None
    ) -> Any:
        self.queries.append(q)
        if self.fail_after is not None and len(self.queries) > self.fail_after:
            raise spotipy.SpotifyException(429, -1, "rate limited", headers={"Retry-After": "30"})
        hit = self.answers.get(q)
        return {"tracks": {"items": [hit] if hit else []}}


def song(title: str, artist: str, rank: int = 1) -> ImportedTrack:
    return ImportedTrack(
        source_id=f"lastfm:{title}", title=title, artists=[artist], top_ranks={"short_term": rank}
    )


def test_matches_set_the_spotify_link_and_cover_and_keep_the_id() -> None:
    stub = StubSpotify({"track:Glory Box artist:Portishead": spotify_track("Glory Box", "Portishead")})
    tracks = [song("Glory Box", "Portishead")]
    notes = SpotifyMatcher(lambda: stub).match(tracks)
    t = tracks[0]
    assert t.source_id == "lastfm:Glory Box"
    assert t.spotify_url == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert t.image_url == "https://i.scdn.co/image/cover"
    assert t.isrc == "GBAAA9400001" and t.release_year == 1994
    assert notes == ["We found 1 of your top 1 songs on Spotify; the others have no player."]


def test_edition_labels_still_match_but_other_songs_do_not() -> None:
    stub = StubSpotify(
        {
            "track:Karma Police artist:Radiohead": spotify_track("Karma Police - Remastered", "Radiohead"),
            "track:Teardrop artist:Massive Attack": spotify_track("Teardrop", "Newton Faulkner"),
        }
    )
    tracks = [
        song("Karma Police", "Radiohead"),
        song("Teardrop", "Massive Attack", 2),
        song("Nope", "Nobody", 3),
    ]
    SpotifyMatcher(lambda: stub).match(tracks)
    assert tracks[0].spotify_url
    assert tracks[1].spotify_url is None  # a cover version by someone else is not a match
    assert tracks[2].spotify_url is None


def test_isrc_search_and_quotes_removed_from_queries() -> None:
    stub = StubSpotify({})
    tracks = [
        song('Say "Hi": Live', "A:B"),
        ImportedTrack(source_id="lastfm:x", title="X", artists=["Y"], isrc="USAAA0000001"),
    ]
    SpotifyMatcher(lambda: stub).match(tracks)
    assert "isrc:USAAA0000001" in stub.queries
    assert all(('"' not in q and q.count(":") == 2) or q.startswith("isrc:") for q in stub.queries)


def test_lookups_are_capped_most_loved_first() -> None:
    stub = StubSpotify({})
    tracks = [song(f"Song {i}", "Artist", rank=100 - i) for i in range(80)]
    notes = SpotifyMatcher(lambda: stub, limit=50).match(tracks)
    assert len(stub.queries) == 50
    assert stub.queries[0] == "track:Song 79 artist:Artist"  # rank 21, the best
    assert notes == ["We found 0 of your top 50 songs on Spotify; the others have no player."]


def test_spotify_failure_stops_matching_and_keeps_the_import() -> None:
    stub = StubSpotify({"track:A artist:X": spotify_track("A", "X")}, fail_after=1)
    tracks = [song("A", "X", 1), song("B", "X", 2), song("C", "X", 3)]
    SpotifyMatcher(lambda: stub).match(tracks)
    assert tracks[0].spotify_url and not tracks[1].spotify_url and not tracks[2].spotify_url
    assert len(stub.queries) == 2


def test_without_credentials_nothing_is_searched() -> None:
    tracks = [song("A", "X")]
    assert SpotifyMatcher(None).match(tracks) == [NO_PLAYER_NOTE]
    assert tracks[0].spotify_url is None


def test_source_runs_the_matcher() -> None:
    stub = StubSpotify({"track:Glory Box artist:Portishead": spotify_track("Glory Box", "Portishead")})
    with FakeLastfm.running() as fake:
        src = LastfmSource(
            "rj", api_key=fake.api_key, base_url=fake.api_url, timeout=2, matcher=SpotifyMatcher(lambda: stub)
        )
        history = src.fetch(lambda _: None)
    matched = [t for t in history.tracks if t.spotify_url]
    assert [t.title for t in matched] == ["Glory Box"]
    assert len(stub.queries) == len(history.tracks)  # 6 songs, under the cap
    assert any("on Spotify" in n for n in history.notes)
