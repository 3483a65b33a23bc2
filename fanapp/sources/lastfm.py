"""Last.fm: a public profile's top tracks and recent scrobbles, by username (no login).

We call Last.fm's documented REST API (https://www.last.fm/api, "2.0", JSON) with `requests` rather
than pylast: we need our own timeout on every call, a base URL we can point at a local fake in tests,
a cap on how much we read, and Last.fm's error codes mapped to messages a visitor can read. pylast
offers none of these (it retries and sleeps on its own, and raises one generic exception).

Only this module talks to Last.fm. Its errors are `SourceError`s whose message a visitor can read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final, Protocol

import requests

from fanapp.sources import History, ImportedTrack, Progress, SourceError, clean_text, merge
from fanapp.tracks import song_key
from fanapp.upstream.pauses import MemoryPauses
from fanapp.upstream.session import (
    BodyTooLarge,
    DeadlineExceeded,
    GuardedSession,
    UpstreamPaused,
)

# The periods Last.fm's user.getTopTracks offers that the app lets a visitor choose.
PERIODS: Final = ("7day", "1month", "6month", "12month", "overall")
PERIOD_LABELS: Final = {
    "7day": "last 7 days",
    "1month": "last month",
    "6month": "last 6 months",
    "12month": "last year",
    "overall": "all time",
}
# Each Last.fm period also ranks under the nearest Spotify range, so the engine weighs them alike.
SPOTIFY_RANGE: Final = {
    "7day": "short_term",
    "1month": "short_term",
    "6month": "medium_term",
    "12month": "long_term",
    "overall": "long_term",
}

TOP_LIMIT = 100  # one page of the chosen period
OVERALL_LIMIT = 50  # one page of all-time favourites when the chosen period is not "overall"
RECENT_LIMIT = 200  # Last.fm's maximum page for user.getRecentTracks
RECENT_PAGES = 2
RATE_LIMIT_WAIT = 60  # seconds suggested to the visitor; Last.fm sends no Retry-After
MAX_BODY = 4 * 1024 * 1024  # a 200-scrobble page is about 150 KB; anything far larger is not Last.fm
MAX_USERNAME_INPUT = 200  # what we even look at of the visitor's text

# Last.fm's sign-up rules: 2 to 15 characters, a letter first, then letters, digits, "_" or "-".
_USERNAME: Final = re.compile(r"[A-Za-z][A-Za-z0-9_-]{1,14}")
# A pasted profile address, e.g. https://www.last.fm/user/rj or last.fm/de/user/rj/library.
_PROFILE_URL: Final = re.compile(
    r"(?:https?://)?(?:www\.)?last\.fm/(?:[a-z]{2}(?:-[a-z]{2})?/)?user/([^/?#\s]+)[^\s]*", re.IGNORECASE
)
_MBID: Final = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_SPACES: Final = re.compile(r"\s+")
# Last.fm's grey star, sent in place of a cover it does not have.
_PLACEHOLDER_IMAGE: Final = "2a96cbd8b46e442fc41c2b86b821562f"
_IMAGE_SIZES: Final = ("small", "medium", "large", "extralarge", "mega")


class Matcher(Protocol):
    """Finds imported songs on another service so share pages can play them (`spotify.matching`)."""

    def match(self, tracks: Iterable[ImportedTrack]) -> list[str]:
        """Fill in what was found; returns notes for the visitor."""
        ...


class LastfmError(SourceError):
    """Any Last.fm failure; `message` is for the visitor."""


class InvalidUsernameError(LastfmError):
    """The text cannot be a Last.fm username; no request was sent."""


class UnknownUserError(LastfmError):
    """Last.fm has no user by that name (error 6)."""


class PrivateProfileError(LastfmError):
    """The profile hides its listening (error 17, "login required")."""


class RateLimitedError(LastfmError):
    """Last.fm asked us to slow down (error 29 or HTTP 429); `retry_after` is in seconds."""


class LastfmUnavailableError(LastfmError):
    """Last.fm is down, slow or answered something unreadable (5xx, errors 8/11/16, timeouts)."""


class LastfmApiKeyError(LastfmError):
    """The app's API key is missing, invalid (error 10) or suspended (error 26): not the visitor's fault."""


_NOTHING = "Nothing was imported."


def normalise_username(text: Any) -> str:
    """The username in what the visitor typed (or a pasted profile address), or InvalidUsernameError.

    Checked before any request, so markup, very long text or other junk never reaches Last.fm.
    """
    raw = text.strip() if isinstance(text, str) else ""
    if len(raw) > MAX_USERNAME_INPUT:
        raise InvalidUsernameError(
            "That is far too long for a Last.fm username: they are 2 to 15 characters. "
            "Please type just your username."
        )
    if match := _PROFILE_URL.fullmatch(raw):
        raw = match.group(1)
    if not _USERNAME.fullmatch(raw):
        raise InvalidUsernameError(
            "That does not look like a Last.fm username: they are 2 to 15 letters, digits, "
            '"_" or "-", starting with a letter (it is the NAME in last.fm/user/NAME).'
        )
    return raw


def _as_list(value: Any) -> list[Any]:
    """Last.fm's JSON (converted from XML) sends one result as an object and several as a list."""
    if isinstance(value, list):
        return value
    return [value] if isinstance(value, dict) else []


def _int(value: Any) -> int | None:
    """Numbers arrive as strings ("42"); None for anything that is not a whole number >= 0."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    text = str(value or "").strip()
    return int(text) if text.isdigit() and len(text) < 19 else None


def _text(value: Any) -> str:
    """A name that may be a plain string or an object with "#text" (or "name", with extended=1)."""
    if isinstance(value, dict):
        value = value.get("#text") or value.get("name") or ""
    return value if isinstance(value, str) else ""


def _image(images: Any) -> str | None:
    """The largest cover, only over https and not Last.fm's placeholder star."""
    best: tuple[int, str] | None = None
    for image in _as_list(images):
        url = _text(image).strip() if isinstance(image, dict) else ""
        if not url.startswith("https://") or _PLACEHOLDER_IMAGE in url or len(url) > 1000:
            continue
        size = image.get("size")
        rank = _IMAGE_SIZES.index(size) if size in _IMAGE_SIZES else -1
        if best is None or rank >= best[0]:
            best = (rank, url)
    return best[1] if best else None


def track_from_lastfm(obj: Any) -> ImportedTrack | None:
    """Convert one Last.fm track (from user.getTopTracks or user.getRecentTracks) to an `ImportedTrack`.

    Handles Last.fm's JSON quirks: numbers as strings, names under "#text" or "name", missing or
    empty MBIDs. Ranks and play times are added by the caller, which knows which list it came from.
    """
    if not isinstance(obj, dict):
        return None
    title = clean_text(_text(obj.get("name")))
    artist = clean_text(_text(obj.get("artist")), 200)
    if not title or not artist:
        return None
    mbid = str(obj.get("mbid") or "").strip().lower()
    ident = mbid if _MBID.fullmatch(mbid) else song_key(artist, title)
    seconds = _int(obj.get("duration"))
    return ImportedTrack(
        source_id="lastfm:" + ident,
        title=title,
        artists=[artist],
        album=clean_text(_text(obj.get("album"))),
        duration_ms=seconds * 1000 if seconds and seconds < 24 * 3600 else None,
        image_url=_image(obj.get("image")),
    )


def top_tracks_from_lastfm(payload: Any, period: str) -> list[ImportedTrack]:
    """The songs of a user.getTopTracks answer, ranked under "lastfm_<period>" and the Spotify range."""
    body = payload.get("toptracks") if isinstance(payload, dict) else None
    items = _as_list(body.get("track")) if isinstance(body, dict) else []
    found: list[ImportedTrack] = []
    for position, item in enumerate(items, start=1):
        t = track_from_lastfm(item)
        if t is None:
            continue
        attr = item.get("@attr")
        rank = (_int(attr.get("rank")) if isinstance(attr, dict) else None) or position
        t.top_ranks["lastfm_" + period] = rank
        t.top_ranks[SPOTIFY_RANGE[period]] = rank
        t.play_count = _int(item.get("playcount")) or 0
        found.append(t)
    return found


def recent_tracks_from_lastfm(payload: Any) -> list[ImportedTrack]:
    """The scrobbles of a user.getRecentTracks answer, one track per play (merge them later).

    The "now playing" item has no time and is not a scrobble yet: it is skipped.
    """
    body = payload.get("recenttracks") if isinstance(payload, dict) else None
    items = _as_list(body.get("track")) if isinstance(body, dict) else []
    found: list[ImportedTrack] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        attr = item.get("@attr")
        if isinstance(attr, dict) and str(attr.get("nowplaying", "")).lower() == "true":
            continue
        date = item.get("date")
        uts = _int(date.get("uts")) if isinstance(date, dict) else None
        t = track_from_lastfm(item)
        if t is None or uts is None or uts > 4_102_444_800:  # after 2100: not a real scrobble
            continue
        t.play_times = [datetime.fromtimestamp(uts, UTC)]
        t.play_count = 1
        found.append(t)
    return found


def _total_pages(payload: Any, key: str) -> int:
    body = payload.get(key) if isinstance(payload, dict) else None
    attr = body.get("@attr") if isinstance(body, dict) else None
    return (_int(attr.get("totalPages")) if isinstance(attr, dict) else None) or 0


def _unify(tracks: list[ImportedTrack]) -> None:
    """Make every copy of a song agree before `merge`, which keeps the first copy's details.

    Last.fm sends an MBID in one list and none in another (an MBID id wins over the hash), an album
    only with scrobbles and a duration only in charts.
    """
    ids: dict[str, str] = {}
    details: dict[str, dict[str, Any]] = {}
    for t in tracks:
        key = song_key(t.artists[0], t.title)
        if not t.source_id.endswith(key):
            ids[key] = t.source_id
        known = details.setdefault(key, {})
        for name in ("album", "image_url", "duration_ms"):
            if getattr(t, name) and name not in known:
                known[name] = getattr(t, name)
    for t in tracks:
        key = song_key(t.artists[0], t.title)
        t.source_id = ids.get(key, t.source_id)
        for name, value in details[key].items():
            if not getattr(t, name):
                setattr(t, name, value)


class LastfmSource:
    """A `HistorySource` over a public Last.fm profile.

    One import makes at most 5 calls, one after another: user.getInfo, user.getTopTracks for the
    chosen period (100 songs), user.getTopTracks overall (50 songs, unless the period is "overall"),
    and user.getRecentTracks (1 or 2 pages of 200 scrobbles). A profile with no scrobbles stops after
    the first call. A 5xx (or Last.fm's temporary errors 8, 11 and 16) is retried under the app's one
    policy, briefly; a rate limit fails at once.

    Pass `session=fanapp.upstream.guarded_session(settings, "lastfm")` to share the app's pause flag,
    as Spotify does: after a rate limit every later Last.fm call fails at once, without a request,
    until the pause is over. Without one, the source has a guarded session of its own.
    """

    name = "lastfm"

    def __init__(
        self,
        username: str,
        *,
        api_key: str,
        base_url: str,
        timeout: float,
        period: str = "6month",
        session: GuardedSession | None = None,
        matcher: Matcher | None = None,
    ) -> None:
        if period not in PERIODS:
            raise ValueError(f"period must be one of {', '.join(PERIODS)}")
        self.username = normalise_username(username)
        self.api_key = api_key
        self.base_url = base_url
        self.timeout = timeout
        self.period = period
        self.session = session or GuardedSession("lastfm", pauses=MemoryPauses(), timeout=timeout)
        self.matcher = matcher

    # -- the gateway ---------------------------------------------------------------------------

    def _get(self, method: str, **params: str | int) -> dict[str, Any]:
        """One API call with our error policy; returns the decoded JSON object."""
        query: dict[str, str | int] = {
            "method": method,
            "user": self.username,
            "api_key": self.api_key,
            "format": "json",
            **params,
        }
        status, payload = self._request(query)
        if isinstance(payload, dict) and "error" in payload:
            code = _int(payload.get("error"))
            if code == 29 or status == 429:
                self._pause()
            raise _error_for(code)
        if status == 429:
            self._pause()
            raise _error_for(29)
        if 500 <= status < 600:
            raise LastfmUnavailableError(
                f"Last.fm is having a problem right now (error {status}). {_NOTHING} "
                "Please try again in a few minutes."
            )
        if status != 200 or not isinstance(payload, dict):
            raise LastfmUnavailableError(
                f"Last.fm sent an answer we could not read. {_NOTHING} Please try again in a moment."
            )
        return payload

    def _request(self, query: dict[str, str | int]) -> tuple[int, Any]:
        """GET the API through the guarded session (timeout, retries, at most MAX_BODY bytes within
        three timeouts); (status, JSON or None)."""
        try:
            response = self.session.request(
                "GET",
                self.base_url,
                params=query,
                timeout=self.timeout,
                allow_redirects=False,
                headers={"Accept": "application/json", "User-Agent": "fanapp (Soundtrack fan app)"},
                max_bytes=MAX_BODY,
                # `timeout` bounds each read; this bounds the whole answer (a slow drip).
                deadline=3 * self.timeout,
                retry_when=_temporary_error,
            )
        except UpstreamPaused as exc:  # the shared pause flag is up: no request was sent
            raise RateLimitedError(
                f"Last.fm asked us to slow down, so we are waiting before we call it again. {_NOTHING} "
                "Please try again in a minute.",
                retry_after=exc.retry_after or RATE_LIMIT_WAIT,
            ) from exc
        except (BodyTooLarge, DeadlineExceeded) as exc:
            raise LastfmUnavailableError(
                f"Last.fm sent an answer we could not read. {_NOTHING} Please try again."
            ) from exc
        except requests.Timeout as exc:
            raise LastfmUnavailableError(
                f"Last.fm did not answer in time. {_NOTHING} Please try again in a moment."
            ) from exc
        except requests.RequestException as exc:
            raise LastfmUnavailableError(f"We could not reach Last.fm. {_NOTHING} Please try again.") from exc
        return response.status_code, _payload(response)

    def _pause(self) -> None:
        """Raise the shared pause flag (Last.fm often sends error 29 with HTTP 200, unseen by the session)."""
        self.session.pauses.pause(self.session.upstream, RATE_LIMIT_WAIT)

    # -- the import ----------------------------------------------------------------------------

    def fetch(self, progress: Progress) -> History:
        """Fetch the profile once: at most 5 calls (see the class docstring), plus matching if set."""
        if not self.api_key:
            raise LastfmApiKeyError("Last.fm import is not set up on this site yet. You can try the demo.")
        progress("Looking up your Last.fm profile")
        info = self._get("user.getInfo").get("user")
        user = info if isinstance(info, dict) else {}
        name = clean_text(user.get("name"), 200) or self.username
        notes: list[str] = []
        history = History(tracks=[], external_id="lastfm:" + name.casefold(), display_name=name, notes=notes)
        if _int(user.get("playcount")) == 0:
            notes.append(EMPTY_PROFILE_NOTE)
            return history

        found: list[ImportedTrack] = []
        periods = [self.period] if self.period == "overall" else [self.period, "overall"]
        for period, limit in zip(periods, (TOP_LIMIT, OVERALL_LIMIT), strict=False):
            progress(f"Fetching your top tracks ({PERIOD_LABELS[period]})")
            payload = self._get("user.getTopTracks", period=period, limit=limit, page=1)
            found.extend(top_tracks_from_lastfm(payload, period))

        hidden_recent = False
        for page in range(1, RECENT_PAGES + 1):
            progress(f"Fetching your recent scrobbles (page {page})")
            try:
                payload = self._get("user.getRecentTracks", limit=RECENT_LIMIT, page=page)
            except PrivateProfileError:
                # "Hide recent listening information" hides the scrobbles but not the charts.
                if not found:
                    raise
                hidden_recent = True
                break
            found.extend(recent_tracks_from_lastfm(payload))
            if _total_pages(payload, "recenttracks") <= page:
                break

        _unify(found)
        history.tracks = merge(found)
        if not history.tracks:
            notes.append(EMPTY_PROFILE_NOTE)
            return history
        charts = PERIOD_LABELS[self.period] + ("" if self.period == "overall" else " and all time")
        notes.append(
            f"Top tracks come from your Last.fm charts ({charts}); play counts are your scrobble counts."
        )
        if hidden_recent:
            notes.append(
                "This profile hides its recent listening, so we could not see when you listen to music."
            )
        else:
            notes.append("Play times are your last scrobbles, in UTC as Last.fm records them.")
        if self.matcher is not None:
            progress("Finding your songs on Spotify")
            notes.extend(self.matcher.match(history.tracks))
        else:
            notes.append(NO_PLAYER_NOTE)
        return history


NO_PLAYER_NOTE: Final = "Songs from Last.fm have no Spotify player here; their links search Spotify instead."
EMPTY_PROFILE_NOTE: Final = (
    "This Last.fm profile has no scrobbles yet, so there is nothing to build an episode from. "
    "Scrobble some music first, or try the demo."
)


def _payload(response: requests.Response) -> Any:
    try:
        return json.loads(response.content)
    except ValueError:  # an HTML error page from a proxy, or a cut-off answer
        return None


def _temporary_error(response: requests.Response) -> bool:
    """Last.fm's "try again" errors (8 operation failed, 11 service offline, 16 temporary error), which
    it sends with HTTP 200 as well as 5xx: the session retries them like a 5xx."""
    payload = _payload(response)
    return isinstance(payload, dict) and _int(payload.get("error")) in (8, 11, 16)


def _error_for(code: int | None) -> LastfmError:
    """The visitor-readable error for one of Last.fm's error codes."""
    if code == 6:
        return UnknownUserError(
            "We could not find a Last.fm user with that name. Please check the spelling: it is the NAME "
            "in your profile's address, last.fm/user/NAME."
        )
    if code == 17:
        return PrivateProfileError(
            "This Last.fm profile keeps its listening private, so we cannot read it. To import it, untick "
            '"Hide recent listening information" in your Last.fm privacy settings, or try the demo.'
        )
    if code == 29:
        return RateLimitedError(
            "Last.fm is getting too many requests from us right now and asked us to wait. "
            f"{_NOTHING} Please try again in a minute.",
            retry_after=RATE_LIMIT_WAIT,
        )
    if code in (2, 8, 11, 16):
        return LastfmUnavailableError(
            f"Last.fm is temporarily unavailable. {_NOTHING} Please try again in a few minutes."
        )
    if code in (4, 10, 26):
        return LastfmApiKeyError(
            "This site's connection to Last.fm is not working right now (Last.fm refused its key). "
            f"{_NOTHING} Please try again later, or try the demo."
        )
    return LastfmError(f"Last.fm could not answer (error {code}). {_NOTHING} Please try again later.")
