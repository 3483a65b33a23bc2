"""A local double of Last.fm's 2.0 JSON API: user.getInfo, user.getTopTracks, user.getRecentTracks.

Payloads follow Last.fm's documented JSON (numbers as strings, names under "#text", "@attr" blocks),
errors its documented codes (6 unknown user, 17 login required, 29 rate limit, 16 temporary error,
10 invalid key). Every request is recorded in `calls`, so tests can assert how many were made.

    with FakeLastfm.running() as fake:
        source = LastfmSource("rj", api_key=fake.api_key, base_url=fake.api_url, timeout=2)
"""

from __future__ import annotations

import argparse
import json
import shlex
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.fakes.http import BackgroundServer

PERIODS = ("overall", "7day", "1month", "3month", "6month", "12month")
BASE_UTS = 1_717_000_000  # 29 May 2024


@dataclass
class FakeTrack:
    """A song in a fake user's charts: plays per period (missing period = not in that chart)."""

    artist: str
    title: str
    plays: dict[str, int]
    mbid: str = ""
    album: str = ""
    duration: int = 200  # seconds, as Last.fm sends it


@dataclass
class FakeUser:
    """A Last.fm profile as the double serves it."""

    name: str
    realname: str = ""
    tracks: list[FakeTrack] = field(default_factory=list)
    # (index into tracks, unix time), newest first, as Last.fm lists them
    scrobbles: list[tuple[int, int]] = field(default_factory=list)
    now_playing: int | None = None  # index into tracks
    private: bool = False  # error 17 for charts and scrobbles
    hide_recent: bool = False  # error 17 for scrobbles only ("Hide recent listening information")
    collapse_single: bool = False  # send a one-item list as a bare object (Last.fm's XML-to-JSON quirk)

    @property
    def playcount(self) -> int:
        return len(self.scrobbles) + sum(t.plays.get("overall", 0) for t in self.tracks)


def _image(key: str) -> list[dict[str, str]]:
    return [
        {"#text": f"https://lastfm.freetls.fastly.net/i/u/{size}/{key}.png", "size": name}
        for size, name in (("34s", "small"), ("64s", "medium"), ("174s", "large"), ("300x300", "extralarge"))
    ]


def default_users() -> dict[str, FakeUser]:
    """The double's profiles: a rich one, an empty one, a private one and a few edge cases."""
    songs = [
        FakeTrack(
            "Radiohead",
            "Karma Police",
            {"overall": 310, "12month": 60, "6month": 30, "1month": 9, "7day": 3},
            mbid="63b3a8ca-26f2-4e2b-b867-647a6ec2bebd",
            album="OK Computer",
        ),
        FakeTrack("Portishead", "Glory Box", {"overall": 250, "12month": 80, "6month": 41, "1month": 2}),
        FakeTrack("Björk", "Jóga", {"overall": 190, "6month": 12}, album="Homogenic"),
        FakeTrack("Massive Attack", "Teardrop", {"overall": 120, "12month": 20, "6month": 19, "7day": 5}),
        FakeTrack(
            "Kate Bush", "Running Up That Hill", {"12month": 15, "6month": 15, "1month": 11, "7day": 7}
        ),
        FakeTrack("Daft Punk", "Digital Love", {"overall": 90}),
    ]
    # Recent scrobbles: newest first, every 40 minutes, cycling through the songs.
    scrobbles = [(i % len(songs), BASE_UTS - i * 2400) for i in range(260)]
    one = FakeTrack("Nina Simone", "Feeling Good", {"overall": 4, "6month": 4, "7day": 1})
    return {
        "rj": FakeUser("RJ", realname="Richard Jones", tracks=songs, scrobbles=scrobbles, now_playing=2),
        "emptyuser": FakeUser("EmptyUser"),
        "privateuser": FakeUser("PrivateUser", tracks=songs[:2], scrobbles=scrobbles[:5], private=True),
        "quietuser": FakeUser("QuietUser", tracks=songs[:3], scrobbles=scrobbles[:5], hide_recent=True),
        "single": FakeUser("Single", tracks=[one], scrobbles=[(0, BASE_UTS)], collapse_single=True),
    }


class FakeLastfm:
    """The Last.fm double: `users` to serve, switches for failures, and the `calls` it received."""

    api_key = "fake-lastfm-api-key"

    def __init__(self) -> None:
        self.users = default_users()
        self.calls: list[dict[str, str]] = []
        # "outage", "outage_html", "rate_limit", "rate_limit_200", "bad_key", "garbage", "huge"
        self.failure: str | None = None
        self.delay = 0.0  # seconds before answering (for timeouts)
        self._stopping = threading.Event()
        self.server: BackgroundServer | None = None

    # -- running ---------------------------------------------------------------------------------

    @classmethod
    @contextmanager
    def running(cls) -> Iterator[FakeLastfm]:
        """Serve a fresh double on a free port of 127.0.0.1 for the duration of the block."""
        fake = cls()
        with BackgroundServer(fake.wsgi_app) as server:
            fake.server = server
            try:
                yield fake
            finally:
                fake._stopping.set()  # cut short any deliberate delay, so the server stops at once

    @property
    def api_url(self) -> str:
        """The base URL the app calls (LASTFM_API_URL), like https://ws.audioscrobbler.com/2.0/."""
        assert self.server is not None, "use FakeLastfm.running()"
        return self.server.base_url + "/2.0/"

    def methods_called(self) -> list[str]:
        """The `method` parameter of every call, in order."""
        return [c.get("method", "") for c in self.calls]

    # -- the API ---------------------------------------------------------------------------------

    def wsgi_app(self, environ: dict[str, Any], start_response: Any) -> Any:
        """The WSGI entry point."""
        request = Request(environ)
        response = self.handle(request)
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """Answer one request as Last.fm would."""
        params = {k: v for k, v in request.args.items()}
        self.calls.append(params)
        if self.delay:
            self._stopping.wait(self.delay)
        if request.path.rstrip("/") != "/2.0":
            return Response("<html>Not found</html>", status=404, mimetype="text/html")
        if self.failure == "outage_html":
            return Response("<html><body>503 Service Unavailable</body></html>", 503, mimetype="text/html")
        if self.failure == "outage":
            return _error(16, "There was a temporary error processing your request. Please try again", 503)
        if self.failure in ("rate_limit", "rate_limit_200"):  # Last.fm has answered with both statuses
            status = 429 if self.failure == "rate_limit" else 200
            return _error(
                29, "Rate Limit Exceeded - Your IP made too many requests in a short period", status
            )
        if self.failure == "garbage":
            return Response("{not json", 200, mimetype="application/json")
        if self.failure == "huge":  # an endless answer, as from a broken proxy
            return Response((b" " * 65536 for _ in range(200)), 200, mimetype="application/json")
        if params.get("format") != "json":
            return Response("<lfm status='ok'/>", 200, mimetype="text/xml")
        if params.get("api_key") != self.api_key or self.failure == "bad_key":
            return _error(10, "Invalid API key - You must be granted a valid key by last.fm", 403)
        method = params.get("method", "").lower()
        user = self.users.get(params.get("user", "").lower())
        if method not in ("user.getinfo", "user.gettoptracks", "user.getrecenttracks"):
            return _error(3, "Invalid Method - No method with that name in this package", 400)
        if user is None:
            return _error(6, "User not found", 404)
        if method == "user.getinfo":
            return _json({"user": _info(user)})
        if user.private:
            return _error(17, "Login: User required to be logged in", 403)
        try:
            limit = int(params.get("limit", "50"))
            page = int(params.get("page", "1"))
        except ValueError:
            return _error(6, "Invalid parameters", 400)
        if method == "user.gettoptracks":
            period = params.get("period", "overall")
            if period not in PERIODS or not 1 <= limit <= 1000 or page < 1:
                return _error(6, "Invalid parameters", 400)
            return _json(_top_tracks(user, period, limit, page))
        if user.hide_recent:
            return _error(17, "Login: User required to be logged in", 403)
        if not 1 <= limit <= 200 or page < 1:
            return _error(6, "Invalid parameters", 400)
        return _json(_recent_tracks(user, limit, page))


def _json(payload: Any, status: int = 200) -> Response:
    return Response(json.dumps(payload), status=status, mimetype="application/json")


def _error(code: int, message: str, status: int) -> Response:
    return _json({"error": code, "message": message, "links": []}, status)


def _pages(user: FakeUser, total: int, limit: int, page: int) -> dict[str, str]:
    return {
        "user": user.name,
        "totalPages": str(max(1, -(-total // limit))),
        "page": str(page),
        "perPage": str(limit),
        "total": str(total),
    }


def _list(user: FakeUser, items: list[dict[str, Any]]) -> Any:
    return items[0] if user.collapse_single and len(items) == 1 else items


def _info(user: FakeUser) -> dict[str, Any]:
    return {
        "name": user.name,
        "realname": user.realname,
        "playcount": str(user.playcount),
        "artist_count": str(len({t.artist for t in user.tracks})),
        "track_count": str(len(user.tracks)),
        "country": "None",
        "subscriber": "0",
        "type": "user",
        "url": f"https://www.last.fm/user/{user.name}",
        "image": _image("user"),
        "registered": {"unixtime": "1104537600", "#text": 1104537600},
    }


def _top_tracks(user: FakeUser, period: str, limit: int, page: int) -> dict[str, Any]:
    charted = sorted(
        (t for t in user.tracks if t.plays.get(period, 0) > 0), key=lambda t: (-t.plays[period], t.title)
    )
    start = (page - 1) * limit
    items = [
        {
            "streamable": {"fulltrack": "0", "#text": "0"},
            "mbid": t.mbid,
            "name": t.title,
            "image": _image(f"{zlib.crc32(t.title.encode()):08x}"),
            "artist": {"url": "https://www.last.fm/music/" + t.artist, "name": t.artist, "mbid": ""},
            "url": f"https://www.last.fm/music/{t.artist}/_/{t.title}",
            "duration": str(t.duration),
            "@attr": {"rank": str(start + rank)},
            "playcount": str(t.plays[period]),
        }
        for rank, t in enumerate(charted[start : start + limit], start=1)
    ]
    return {"toptracks": {"track": _list(user, items), "@attr": _pages(user, len(charted), limit, page)}}


def _scrobble(t: FakeTrack, uts: int | None) -> dict[str, Any]:
    item: dict[str, Any] = {
        "artist": {"mbid": "", "#text": t.artist},
        "streamable": "0",
        "image": _image("cover"),
        "mbid": t.mbid,
        "album": {"mbid": "", "#text": t.album},
        "name": t.title,
        "url": f"https://www.last.fm/music/{t.artist}/_/{t.title}",
    }
    if uts is None:
        item["@attr"] = {"nowplaying": "true"}
    else:
        when = datetime.fromtimestamp(uts, UTC).strftime("%d %b %Y, %H:%M")
        item["date"] = {"uts": str(uts), "#text": when}
    return item


def _recent_tracks(user: FakeUser, limit: int, page: int) -> dict[str, Any]:
    start = (page - 1) * limit
    items = [_scrobble(user.tracks[i], uts) for i, uts in user.scrobbles[start : start + limit]]
    if page == 1 and user.now_playing is not None:
        items.insert(0, _scrobble(user.tracks[user.now_playing], None))
    return {
        "recenttracks": {"track": _list(user, items), "@attr": _pages(user, len(user.scrobbles), limit, page)}
    }


def main(argv: Sequence[str] | None = None) -> None:
    """Serve the double by hand so a person can click through the Last.fm way in locally."""
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.lastfm", description=main.__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5002, help="0 picks a free port")
    parser.add_argument("--app-url", default="http://127.0.0.1:5000", help="the app's base URL (printed)")
    args = parser.parse_args(argv)
    fake = FakeLastfm()
    fake.server = BackgroundServer(fake.wsgi_app, args.host, args.port).start()
    try:
        print("Fake Last.fm is serving. Set these for the app:\n", flush=True)
        for name, value in {"LASTFM_API_KEY": fake.api_key, "LASTFM_API_URL": fake.api_url}.items():
            print(f"export {name}={shlex.quote(value)}", flush=True)
        print(
            f"\nUsers: {', '.join(sorted(fake.users))}. Then open {args.app_url.rstrip('/')} and", flush=True
        )
        print("type one of them in the Last.fm card (rj has a full history). Ctrl-C to stop.", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        fake._stopping.set()
        fake.server.stop()


if __name__ == "__main__":
    main()
