"""One song, one record: a song's Spotify id lives in `spotify_id`, whichever source or matcher found it,
and everything that needs it (enrichment, players, playlists) reads that one field."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session, SQLModel, select

from fanapp.config import Settings
from fanapp.data import migrate
from fanapp.data.models import Listener, Track
from fanapp.data.session import make_engine
from fanapp.enrich import MemoryPauses, enrich_tracks
from fanapp.sources.spotify.matching import SpotifyMatcher
from fanapp.tracks import ImportedTrack, spotify_id
from tests.fakes.reccobeats import FakeReccoBeats
from tests.unit.sources.test_lastfm_matcher import StubSpotify, song, spotify_track

MATCHED = "1jzIJcHCXneHw7ojC6LXiF"


@pytest.fixture
def db_session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'songs.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def test_a_lastfm_song_matched_on_spotify_is_enriched_by_its_spotify_id(db_session: Session) -> None:
    tracks = [song("Glory Box", "Portishead")]
    stub = StubSpotify(
        {"track:Glory Box artist:Portishead": spotify_track("Glory Box", "Portishead", track_id=MATCHED)}
    )
    SpotifyMatcher(lambda: stub).match(tracks)
    assert tracks[0].source_id == "lastfm:Glory Box"  # its own id stays
    assert tracks[0].spotify_id == MATCHED

    listener = Listener(source="lastfm")
    db_session.add(listener)
    db_session.commit()
    assert listener.id is not None
    stored = Track.of(listener.id, tracks[0])
    db_session.add(stored)
    db_session.commit()

    with FakeReccoBeats.running() as recco:
        recco.add(MATCHED, tempo=88.0, key=2, mode=0)
        settings = Settings(env="test").override(
            reccobeats_api_url=recco.base_url, deezer_api_url="http://127.0.0.1:9/", upstream_timeout=2.0
        )
        enrich_tracks(db_session, [stored], settings=settings, pauses=MemoryPauses())
        assert recco.calls == [[MATCHED]]  # asked by the Spotify id, not the Last.fm one
    db_session.expire_all()
    again = db_session.exec(select(Track).where(Track.id == stored.id)).one()
    assert again.features["tempo"] == {"value": 88.0, "source": "reccobeats"}


def test_the_stored_record_round_trips() -> None:
    imported = ImportedTrack(
        source_id="export:abc",
        spotify_id=MATCHED,
        title="Song",
        artists=["Artist"],
        top_ranks={"short_term": 3},
        features={"tempo": {"value": 120.0, "source": "demo"}},
    )
    row = Track.of(7, imported)
    assert row.listener_id == 7 and row.spotify_id == MATCHED and row.top_ranks == {"short_term": 3}
    back = row.imported()
    assert back == imported


def test_known_on_spotify_takes_an_id_a_link_or_a_uri() -> None:
    for value in (MATCHED, f"https://open.spotify.com/track/{MATCHED}?si=x", f"spotify:track:{MATCHED}"):
        t = ImportedTrack(source_id="x", title="t", artists=["a"])
        t.known_on_spotify(value)
        assert t.spotify_id == MATCHED and t.spotify_url == f"https://open.spotify.com/track/{MATCHED}"
    t = ImportedTrack(source_id="x", title="t", artists=["a"])
    t.known_on_spotify("https://evil.example/track/" + MATCHED)
    assert t.spotify_id is None and t.spotify_url is None
    assert spotify_id(f"https://open.spotify.com/album/{MATCHED}") is None


def test_the_migration_fills_spotify_id_for_existing_rows(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    migrate.upgrade(url, "8d2468e82409")  # the schema before the column existed
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO listener (id, source, display_name, import_status, import_stage, "
                "import_error, import_notes, created_at) VALUES (1, 'lastfm', '', 'done', '', '', "
                "'[]', '2026-11-30 00:00:00')"
            )
        )
        for i, (source_id, link) in enumerate(
            [
                (MATCHED, None),  # a Spotify song
                ("lastfm:x", f"https://open.spotify.com/track/{MATCHED}"),  # matched from Last.fm
                ("lastfm:y", None),  # not on Spotify
            ],
            start=1,
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO track (id, listener_id, source_id, title, artists, album, explicit, "
                    "top_ranks, play_times, play_count, features, spotify_url) "
                    "VALUES (:id, 1, :source_id, 't', '[]', '', 0, '{}', '[]', 0, '{}', :link)"
                ),
                {"id": i, "source_id": source_id, "link": link},
            )
    migrate.upgrade(url)
    with engine.connect() as conn:
        found = dict(conn.execute(sa.text("SELECT id, spotify_id FROM track ORDER BY id")).all())
    engine.dispose()
    assert found == {1: MATCHED, 2: MATCHED, 3: None}
