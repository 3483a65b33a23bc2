"""parse_upload on Spotify's two export formats: what is kept, what is skipped, and the signals derived."""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from fanapp.sources import History, ImportedTrack
from fanapp.sources.export import ExportFilesSource, ExportLimits, ExportResult, parse_upload

DATA = Path(__file__).parents[2] / "data" / "export"
IP, COUNTRY, PLATFORM, AGENT, USERNAME = (
    "198.51.100.23",
    "ZW",
    "fanapp-test-platform",
    "fanapp-test-agent",
    "fanapp-test-username",
)


def sample(*names: str) -> ExportResult:
    files = [(name, (DATA / name).open("rb")) for name in names]
    try:
        return parse_upload(files)
    finally:
        for _, f in files:
            f.close()


def upload(files: dict[str, bytes], **limits: Any) -> ExportResult:
    streams: list[tuple[str, BinaryIO]] = [(n, io.BytesIO(b)) for n, b in files.items()]
    return parse_upload(streams, limits=ExportLimits(**limits))


def extended_play(
    ts: datetime, title: str, artist: str = "Artist", ms: int = 200_000, **more: Any
) -> dict[str, Any]:
    entry = {
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "ms_played": ms,
        "ip_addr": IP,
        "conn_country": COUNTRY,
        "master_metadata_track_name": title,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": "Album",
        "spotify_track_uri": None,
        "episode_name": None,
        "spotify_episode_uri": None,
    }
    entry.update(more)
    return entry


def by_title(result: ExportResult) -> dict[str, Any]:
    return {t.title: t for t in result.history.tracks}


def test_account_data_json() -> None:
    result = sample("StreamingHistory_music_0.json")
    assert result.kind == "account"
    assert (result.plays_kept, result.songs) == (24, 4)
    assert (result.skipped_short, result.skipped_malformed, result.skipped_podcasts) == (5, 1, 0)
    assert (result.files_read, result.files_skipped) == (1, 0)
    songs = by_title(result)
    kate = songs["Running Up That Hill (A Deal With God)"]
    assert kate.artists == ["Kate Bush"]
    assert kate.play_count == 8 == len(kate.play_times)
    assert kate.top_ranks == {"short_term": 1, "medium_term": 1, "long_term": 1}
    assert kate.source_id.startswith("export:") and kate.spotify_url is None
    assert songs["Jóga"].artists == ["Björk"]
    assert result.first_play == datetime(2024, 1, 10, 8, 15, tzinfo=UTC)
    assert all(p.tzinfo is UTC for t in result.history.tracks for p in t.play_times)


def test_account_data_podcasts_are_skipped_with_a_count() -> None:
    result = sample("StreamingHistory_music_0.json", "StreamingHistory_podcast_0.json")
    assert result.skipped_podcasts == 4
    assert result.plays_kept == 24
    assert result.files_read == 2


def test_extended_history_json() -> None:
    result = sample("Streaming_History_Audio_2024_0.json")
    assert result.kind == "extended"
    assert (result.plays_kept, result.songs) == (28, 5)
    assert (result.skipped_podcasts, result.skipped_short, result.skipped_malformed) == (6, 4, 2)
    songs = by_title(result)
    glory = songs["Glory Box"]
    assert glory.source_id == "4uLU6hMCjMI75M1A2tKUQC"
    assert glory.spotify_url == "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC"
    assert glory.album == "Dummy"
    assert glory.play_count == 10
    assert glory.top_ranks["long_term"] == 1
    assert songs["Karma Police"].top_ranks["long_term"] == 2
    local = songs["My Demo"]  # a local file: no Spotify id
    assert local.source_id.startswith("export:") and local.spotify_url is None
    assert result.last_play is not None and result.last_play.date().isoformat() == "2024-03-19"


def test_videos_are_skipped_with_a_count() -> None:
    result = sample("Streaming_History_Audio_2024_0.json", "Streaming_History_Video_2024.json")
    assert result.skipped_videos == 3
    assert result.plays_kept == 28


def test_account_zip_reads_history_and_leaves_the_rest() -> None:
    result = sample("my_spotify_data.zip")
    assert (result.plays_kept, result.skipped_podcasts) == (24, 4)
    assert result.files_read == 2
    assert result.files_skipped == 2  # Userdata.json and the PDF
    assert "2 other files were not listening history" in result.summary


def test_extended_zip() -> None:
    result = sample("my_spotify_data_extended.zip")
    assert (result.plays_kept, result.skipped_videos, result.skipped_podcasts) == (28, 3, 6)
    assert result.files_skipped == 1


def test_summary_says_what_was_kept_and_skipped() -> None:
    summary = sample("my_spotify_data_extended.zip").summary
    assert summary.startswith("We kept 28 music plays of 5 songs (1 Mar 2024 to 19 Mar 2024) from 2 files.")
    assert (
        "We skipped 6 podcast or audiobook plays, 3 video plays, 4 plays under 30 seconds "
        "and 2 entries without a song or time." in summary
    )


def test_personal_fields_are_never_returned() -> None:
    names = ("my_spotify_data_extended.zip", "Streaming_History_Audio_2024_0.json", "my_spotify_data.zip")
    result = sample(*names)
    history = ExportFilesSource([(name, DATA / name) for name in names]).fetch(lambda _: None)
    everything = repr(result) + repr(history) + repr([vars(t) for t in result.history.tracks])
    for secret in (IP, PLATFORM, AGENT, USERNAME, "ip_addr", "conn_country", "user_agent", "platform"):
        assert secret not in everything
    assert f"'{COUNTRY}'" not in everything and f'"{COUNTRY}"' not in everything


def test_both_exports_count_each_play_once() -> None:
    # The account data (Jan-Feb) is older than the extended history (Mar): the extended history
    # already holds that year, so the account plays are set aside as overlap.
    result = sample("my_spotify_data.zip", "my_spotify_data_extended.zip")
    assert result.kind == "extended"
    assert (result.plays_kept, result.songs) == (28, 5)
    assert result.skipped_overlap == 24
    assert len(result.history.tracks) == 5 and all(t.play_count for t in result.history.tracks)
    assert "24 account-data plays already in your extended history" in result.summary


def test_newer_account_plays_join_the_extended_history_under_its_ids() -> None:
    march = datetime(2024, 3, 1, tzinfo=UTC)
    extended = [extended_play(march, "Song", spotify_track_uri="spotify:track:" + "a" * 22)]
    account = [
        {"endTime": "2024-02-01 10:00", "artistName": "Artist", "trackName": "Song", "msPlayed": 90_000},
        {"endTime": "2024-04-01 10:00", "artistName": "artist", "trackName": " song ", "msPlayed": 90_000},
        {"endTime": "2024-04-02 10:00", "artistName": "Other", "trackName": "New", "msPlayed": 90_000},
    ]
    result = upload(
        {
            "Streaming_History_Audio_2024.json": json.dumps(extended).encode(),
            "StreamingHistory_music_0.json": json.dumps(account).encode(),
        }
    )
    assert result.kind == "extended+account"
    assert result.skipped_overlap == 1
    songs = by_title(result)
    assert songs["Song"].source_id == "a" * 22
    assert songs["Song"].play_count == 2
    assert songs["New"].source_id.startswith("export:")


def test_the_same_file_twice_counts_once() -> None:
    result = sample("StreamingHistory_music_0.json", "StreamingHistory_music_0.json")
    assert result.plays_kept == 24
    assert result.files_read == 1 and result.files_skipped == 1


def test_periods_are_counted_back_from_the_last_play() -> None:
    last = datetime(2023, 12, 31, 12, tzinfo=UTC)
    plays = (
        [extended_play(last - timedelta(days=400 + i), "Old Favourite") for i in range(30)]
        + [extended_play(last - timedelta(days=100 + i), "Spring Song") for i in range(10)]
        + [extended_play(last - timedelta(days=i), "This Month") for i in range(5)]
    )
    result = upload({"endsong_0.json": json.dumps(plays).encode()})
    songs = by_title(result)
    assert songs["This Month"].top_ranks == {"short_term": 1, "medium_term": 2, "long_term": 3}
    assert songs["Spring Song"].top_ranks == {"medium_term": 1, "long_term": 2}
    assert songs["Old Favourite"].top_ranks == {"long_term": 1}
    assert result.last_play == last


def test_play_times_keep_the_latest_per_song_and_counts_all() -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    plays = [extended_play(start + timedelta(hours=i), "Loop") for i in range(200)]
    plays += [extended_play(start - timedelta(days=1), f"Once {i}") for i in range(10)]
    result = upload({"Streaming_History_Audio_2023.json": json.dumps(plays).encode()}, max_tracks=5)
    songs = by_title(result)
    loop = songs["Loop"]
    assert loop.play_count == 200
    assert len(loop.play_times) == 50
    assert loop.play_times[-1] == start + timedelta(hours=199)
    assert loop.play_times == sorted(loop.play_times)
    assert len(result.history.tracks) == 5  # the cap, the most played first
    assert result.songs == 11
    assert "draws on your 5 most played" in " ".join(result.notes)


def test_recent_plays_are_always_kept() -> None:
    start = datetime(2023, 1, 1, tzinfo=UTC)
    plays = [extended_play(start + timedelta(minutes=i), f"Song {i % 300}") for i in range(3000)]
    plays.append(extended_play(start + timedelta(days=30), "Brand New"))
    result = upload({"endsong_1.json": json.dumps(plays).encode()}, top_size=5, max_tracks=10)
    assert "Brand New" in by_title(result)


def test_same_song_under_two_ids_is_one_song_with_the_most_played_id() -> None:
    t = datetime(2023, 5, 1, tzinfo=UTC)
    plays = [extended_play(t, "Hit", spotify_track_uri="spotify:track:" + "b" * 22)]
    plays += [
        extended_play(t + timedelta(hours=i + 1), "Hit", spotify_track_uri="spotify:track:" + "c" * 22)
        for i in range(3)
    ]
    [song] = upload({"endsong_0.json": json.dumps(plays).encode()}).history.tracks
    assert song.source_id == "c" * 22
    assert song.play_count == 4


def test_renamed_copies_and_unknown_names_are_still_read() -> None:
    plays = json.dumps([extended_play(datetime(2023, 5, 1, tzinfo=UTC), "Hit")]).encode()
    assert upload({"Streaming_History_Audio_2023 (1).json": plays}).plays_kept == 1
    assert upload({"my history.json": plays}).plays_kept == 1
    assert upload({"C:\\Users\\me\\Downloads\\endsong_0.json": plays}).plays_kept == 1


def test_other_export_files_are_skipped_not_refused() -> None:
    plays = json.dumps([extended_play(datetime(2023, 5, 1, tzinfo=UTC), "Hit")]).encode()
    result = upload(
        {
            "endsong_0.json": plays,
            "Userdata.json": b'{"username": "x"}',
            "SearchQueries.json": b'[{"platform": "x", "searchTime": "2023", "searchQuery": "q"}]',
            "ReadMe.pdf": b"%PDF-1.4",
            "cover.png": b"\x89PNG\r\n\x1a\n",
        }
    )
    assert result.plays_kept == 1
    assert result.files_skipped == 4
    assert result.skipped_malformed == 0


def test_malformed_entries_are_counted_not_fatal() -> None:
    good = extended_play(datetime(2023, 5, 1, tzinfo=UTC), "Hit")
    entries = [
        good,
        {**good, "ts": "yesterday"},
        {**good, "ts": "1970-01-01T00:00:00Z"},
        {**good, "ms_played": "200000"},
        {**good, "ms_played": True},
        {**good, "master_metadata_track_name": 5},
        {**good, "master_metadata_track_name": "  "},
        {"something": "else"},
        17,
        None,
    ]
    result = upload({"endsong_0.json": json.dumps(entries).encode()})
    assert result.plays_kept == 1
    assert result.skipped_malformed == 9


def test_bom_and_whitespace_are_fine() -> None:
    plays = json.dumps([extended_play(datetime(2023, 5, 1, tzinfo=UTC), "Hit")], indent=4)
    assert upload({"endsong_0.json": b"\xef\xbb\xbf \n" + plays.encode() + b"\n\n"}).plays_kept == 1


def test_a_non_seekable_zip_stream_is_read() -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.inner = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: Any) -> int:
            data = self.inner.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    with Pipe((DATA / "my_spotify_data_extended.zip").read_bytes()) as pipe:
        result = parse_upload([("export.zip", pipe)])  # type: ignore[list-item]
    assert result.plays_kept == 28


def test_export_source_is_a_history_source() -> None:
    result = sample("my_spotify_data_extended.zip")
    stages: list[str] = []
    source = ExportFilesSource([("my_spotify_data_extended.zip", DATA / "my_spotify_data_extended.zip")])
    history = source.fetch(stages.append)
    assert source.name == "export"
    assert isinstance(history, History)
    assert stages[0] == "Reading your Spotify data export"
    assert all(stage.startswith("Reading your Spotify data export") for stage in stages)  # ids: no matching
    assert len(history.tracks) == 5
    assert history.notes[0] == result.summary
    assert any("UTC" in n for n in history.notes)


def test_zip_members_with_prefix_folders_and_macos_forks() -> None:
    plays = json.dumps([extended_play(datetime(2023, 5, 1, tzinfo=UTC), "Hit")]).encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("MyData/Streaming_History_Audio_2023_0.json", plays)
        archive.writestr("__MACOSX/MyData/._Streaming_History_Audio_2023_0.json", b"\x00\x05\x16\x07junk")
    result = upload({"x.zip": buffer.getvalue()})
    assert result.plays_kept == 1
    assert result.files_skipped == 1


class _FirstSongMatcher:
    """Finds only the first song it is asked about (as if the others were not on Spotify)."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def match(self, tracks: Iterable[ImportedTrack]) -> list[str]:
        tracks = list(tracks)
        self.asked = [t.title for t in tracks]
        tracks[0].known_on_spotify("4uLU6hMCjMI75M1A2tKUQC")
        return [f"We found 1 of your top {len(tracks)} songs on Spotify; the others have no player."]


def test_files_on_disk_are_parsed_with_progress_and_old_format_songs_matched(tmp_path: Path) -> None:
    name = "StreamingHistory_music_0.json"
    path = tmp_path / "0"
    path.write_bytes((DATA / name).read_bytes())
    stages: list[str] = []
    matcher = _FirstSongMatcher()
    history = ExportFilesSource([(name, path)], matcher=matcher).fetch(stages.append)
    assert stages[0] == "Reading your Spotify data export"
    assert any(
        re.fullmatch(
            r"Reading your Spotify data export: (1 play|[\d,]+ plays) read, (1 song|[\d,]+ songs) found", s
        )
        for s in stages
    )
    assert any(s.startswith("Finding ") and s.endswith(" songs on Spotify") for s in stages)
    # Account data has no Spotify ids: every song was asked about, one was found, the rest are counted.
    assert len(matcher.asked) == len(history.tracks) > 1
    assert sum(1 for t in history.tracks if t.spotify_id) == 1
    left = len(history.tracks) - 1
    assert f"{left:,} of your {len(history.tracks):,} songs could not be matched to Spotify" in " ".join(
        history.notes
    )


def test_files_without_a_matcher_say_how_many_songs_have_no_player(tmp_path: Path) -> None:
    name = "StreamingHistory_music_0.json"
    path = tmp_path / "0"
    path.write_bytes((DATA / name).read_bytes())
    history = ExportFilesSource([(name, path)]).fetch(lambda _: None)
    n = len(history.tracks)
    assert f"{n:,} of your {n:,} songs could not be matched to Spotify" in " ".join(history.notes)
    # Extended history names its Spotify ids: nothing to match, nothing to say.
    name = "Streaming_History_Audio_2024_0.json"
    path.write_bytes((DATA / name).read_bytes())
    history = ExportFilesSource([(name, path)], matcher=_FirstSongMatcher()).fetch(lambda _: None)
    assert not any("could not be matched" in note for note in history.notes)
