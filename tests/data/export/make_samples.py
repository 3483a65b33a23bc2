"""Write the small Spotify export samples next to this file (run it again after changing it).

    .venv/bin/python tests/data/export/make_samples.py

The counts the tests expect are spelled out below, next to the entries that make them.
"""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent

# Personal fields with values found nowhere else, so a test can search for them.
IP = "198.51.100.23"
COUNTRY = "ZW"
PLATFORM = "fanapp-test-platform Android OS 14"
AGENT = "fanapp-test-agent/1.0"
USERNAME = "fanapp-test-username"

SONGS = {
    "glory": ("4uLU6hMCjMI75M1A2tKUQC", "Glory Box", "Portishead", "Dummy"),
    "karma": ("63OQupATfueTdZMWTxW03A", "Karma Police", "Radiohead", "OK Computer"),
    "teardrop": ("7ouMYWpwJ422jRcDASZB7P", "Teardrop", "Massive Attack", "Mezzanine"),
    "digital": ("2Foc5Q5nqNiosCNqttzHof", "Digital Love", "Daft Punk", "Discovery"),
    "local": (None, "My Demo", "Me", "Local Files"),
}


def _spread(count: int) -> list[int]:
    """A fixed shuffle (7 is coprime with the counts used), so each song's plays spread over the weeks."""
    return sorted(range(count), key=lambda i: (i * 7) % count)


def _extended(ts: datetime, ms: int, **fields: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "ts": ts.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "username": USERNAME,
        "platform": PLATFORM,
        "ms_played": ms,
        "conn_country": COUNTRY,
        "ip_addr": IP,
        "user_agent_decrypted": AGENT,
        "master_metadata_track_name": None,
        "master_metadata_album_artist_name": None,
        "master_metadata_album_album_name": None,
        "spotify_track_uri": None,
        "episode_name": None,
        "episode_show_name": None,
        "spotify_episode_uri": None,
        "audiobook_title": None,
        "audiobook_uri": None,
        "audiobook_chapter_uri": None,
        "audiobook_chapter_title": None,
        "reason_start": "trackdone",
        "reason_end": "trackdone",
        "shuffle": False,
        "skipped": False,
        "offline": False,
        "offline_timestamp": 0,
        "incognito_mode": False,
    }
    entry.update(fields)
    return entry


def _song(key: str) -> dict[str, Any]:
    spotify_id, title, artist, album = SONGS[key]
    return {
        "master_metadata_track_name": title,
        "master_metadata_album_artist_name": artist,
        "master_metadata_album_album_name": album,
        "spotify_track_uri": f"spotify:track:{spotify_id}" if spotify_id else None,
    }


def extended_audio() -> list[dict[str, Any]]:
    """40 entries: 28 music plays (glory 10, karma 8, teardrop 5, digital 3, local 2), 4 under 30 s,
    5 podcast episodes, 1 audiobook chapter, 2 without a song. 1 Mar 2024 to 19 Mar 2024, every 11 h."""
    plan = ["glory"] * 10 + ["karma"] * 8 + ["teardrop"] * 5 + ["digital"] * 3 + ["local"] * 2  # music, 28
    kinds = [*plan, "short:glory", "short:glory", "short:karma", "short:karma"]
    kinds += ["podcast"] * 5 + ["audiobook"] + ["nosong"] * 2
    order = _spread(len(kinds))
    start = datetime(2024, 3, 1, 6, 30, tzinfo=UTC)
    entries = []
    for n, i in enumerate(order):
        kind = kinds[i]
        ts = start + timedelta(hours=11 * n)
        if kind.startswith("short:"):
            entries.append(_extended(ts, 5_000 if kind.endswith("glory") else 29_999, **_song(kind[6:])))
        elif kind == "podcast":
            entries.append(
                _extended(
                    ts,
                    1_800_000,
                    episode_name="Episode about nothing",
                    episode_show_name="The Show",
                    spotify_episode_uri="spotify:episode:0Q86acNRm6V9GYx55SXKwf",
                )
            )
        elif kind == "audiobook":
            entries.append(_extended(ts, 900_000, audiobook_title="A Book", audiobook_uri="spotify:show:1"))
        elif kind == "nosong":
            entries.append(_extended(ts, 200_000))
        else:
            entries.append(_extended(ts, 180_000 + n * 1000, **_song(kind)))
    return entries


def extended_video() -> list[dict[str, Any]]:
    """3 video plays."""
    return [
        _extended(datetime(2024, 3, 2, 20, 0, tzinfo=UTC) + timedelta(days=i), 120_000, **_song("glory"))
        for i in range(3)
    ]


def account_music() -> list[dict[str, Any]]:
    """30 entries: 24 music plays (Kate Bush 8, glory 6, Björk 6, teardrop 4), 5 under 30 s, 1 unknown.

    10 Jan 2024 to 20 Feb 2024: all before the extended sample's first play."""
    plan = (
        [("Kate Bush", "Running Up That Hill (A Deal With God)", 240_000)] * 8
        + [("Portishead", "Glory Box", 300_000)] * 6
        + [("Björk", "Jóga", 305_000)] * 6
        + [("Massive Attack", "Teardrop", 330_000)] * 4
        + [("Portishead", "Glory Box", 1_000)] * 5
        + [("Unknown Artist", "Unknown Track", 60_000)]
    )
    start = datetime(2024, 1, 10, 8, 15, tzinfo=UTC)
    return [
        {
            "endTime": (start + timedelta(hours=33 * n)).strftime("%Y-%m-%d %H:%M"),
            "artistName": artist,
            "trackName": title,
            "msPlayed": ms,
        }
        for n, (artist, title, ms) in enumerate(plan[i] for i in _spread(len(plan)))
    ]


def account_podcast() -> list[dict[str, Any]]:
    """4 podcast plays."""
    return [
        {
            "endTime": f"2024-02-0{i + 1} 07:30",
            "podcastName": "The Show",
            "episodeName": "Ep",
            "msPlayed": 1_200_000,
        }
        for i in range(4)
    ]


FILES = {
    "StreamingHistory_music_0.json": account_music,
    "StreamingHistory_podcast_0.json": account_podcast,
    "Streaming_History_Audio_2024_0.json": extended_audio,
    "Streaming_History_Video_2024.json": extended_video,
}


def _dump(entries: list[dict[str, Any]]) -> bytes:
    # Spotify's files are pretty-printed JSON arrays in UTF-8.
    return json.dumps(entries, indent=2, ensure_ascii=False).encode()


def _zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 3, 25, 12, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED if data else zipfile.ZIP_STORED
            archive.writestr(info, data)


def main() -> None:
    """Write every sample file."""
    data = {name: _dump(make()) for name, make in FILES.items()}
    for name, content in data.items():
        (HERE / name).write_bytes(content)
    _zip(
        HERE / "my_spotify_data.zip",
        {
            "Spotify Account Data/": b"",
            "Spotify Account Data/StreamingHistory_music_0.json": data["StreamingHistory_music_0.json"],
            "Spotify Account Data/StreamingHistory_podcast_0.json": data["StreamingHistory_podcast_0.json"],
            "Spotify Account Data/Userdata.json": json.dumps(
                {"username": USERNAME, "country": COUNTRY}
            ).encode(),
            "Spotify Account Data/Read Me First.pdf": b"%PDF-1.4 not really a pdf",
        },
    )
    _zip(
        HERE / "my_spotify_data_extended.zip",
        {
            "Spotify Extended Streaming History/Streaming_History_Audio_2024_0.json": data[
                "Streaming_History_Audio_2024_0.json"
            ],
            "Spotify Extended Streaming History/Streaming_History_Video_2024.json": data[
                "Streaming_History_Video_2024.json"
            ],
            "Spotify Extended Streaming History/ReadMeFirst_ExtendedStreamingHistory.pdf": b"%PDF-1.4 x",
        },
    )


if __name__ == "__main__":
    main()
