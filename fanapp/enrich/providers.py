"""Feature providers: one small gateway per upstream (Spotify, ReccoBeats, Deezer), with one error policy.

Every call holds one of the upstream's few concurrency slots and keeps a minimum interval between
calls, then goes through the upstream's guarded session (`fanapp.upstream`): the pause flag checked and
one call taken from the upstream's budget before each attempt (Spotify's audio features count against
the app's Spotify budget like every other Spotify call), a timeout, bounded reads, and the app's one
retry policy for a 5xx burst. A 429 never sleeps: it sets the pause flag for as long as the upstream
asked and fails. Nothing here touches the database.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import TracebackType
from typing import Any, ClassVar, Literal, Protocol, Self

import requests

from fanapp.config import Settings
from fanapp.enrich.features import (
    FEATURES,
    Features,
    deezer_error_code,
    from_deezer,
    from_reccobeats,
    from_spotify,
)
from fanapp.tracks import is_spotify_id, normalise_isrc
from fanapp.upstream.budget import OutboundBudget, budget_of
from fanapp.upstream.pauses import PauseStore
from fanapp.upstream.session import (
    BodyTooLarge,
    GuardedSession,
    RetryPolicy,
    UpstreamPaused,
    retry_after_seconds,
)

log = logging.getLogger(__name__)

KeyKind = Literal["spotify_id", "isrc"]


class ProviderError(Exception):
    """A provider could not answer; the message names the provider and never holds a token or URL."""

    def __init__(self, provider: str, message: str) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.message = message


class ProviderUnavailable(ProviderError):
    """No answer this time: timeout, unreachable, 5xx after retries, an unreadable or refused answer."""


class ProviderPaused(ProviderUnavailable):
    """Not asked at all: the upstream's pause flag is set until `until` (epoch seconds)."""

    def __init__(self, provider: str, until: float, message: str = "paused") -> None:
        super().__init__(provider, message)
        self.until = until


class ProviderRateLimited(ProviderPaused):
    """The upstream answered 429 (or its quota error): paused for `retry_after` seconds from now."""

    def __init__(self, provider: str, retry_after: float, until: float) -> None:
        super().__init__(provider, until, f"rate limited for {retry_after:.0f} s")
        self.retry_after = retry_after


class FeatureProvider(Protocol):
    """What the enrichment chain needs from a provider."""

    name: str  # cache and `source` name
    label: str  # for visitors' notes
    key_kind: KeyKind  # what `fetch` is asked by
    supplies: frozenset[str]  # which features it can fill
    max_batch: int  # most keys per `fetch`

    def fetch(self, keys: Sequence[str]) -> dict[str, Features]:
        """Features for the keys the upstream knows (absent keys: it answered and has none).

        Raises `ProviderUnavailable` (or a subclass) when there was no usable answer.
        """
        ...


class Throttle:
    """A per-upstream cap: at most `concurrency` calls in flight and `min_interval` s between starts.

    One instance per provider class is shared by every instance in the process, so concurrent visitors
    together stay under the cap. (Each worker process has its own; the pause flags cover the rest.)
    """

    def __init__(self, concurrency: int, min_interval: float) -> None:
        """A cap of `concurrency` simultaneous calls started at least `min_interval` seconds apart."""
        self.concurrency = concurrency
        self.min_interval = min_interval
        self._slots = threading.BoundedSemaphore(concurrency)
        self._lock = threading.Lock()
        self._next_start = 0.0

    @contextmanager
    def slot(self, provider: str, wait: float) -> Iterator[None]:
        """Hold a slot for one call; waits at most `wait` s for it, then raises `ProviderUnavailable`."""
        if not self._slots.acquire(timeout=max(wait, 0.0)):
            raise ProviderUnavailable(provider, "too many calls in flight")
        try:
            with self._lock:
                now = time.monotonic()
                start = max(now, self._next_start)
                self._next_start = start + self.min_interval
            if start > now:
                time.sleep(start - now)
            yield
        finally:
            self._slots.release()


class HttpProvider:
    """The shared mechanics of a JSON-over-HTTP provider; subclasses implement `_fetch`."""

    name: str
    label: str
    key_kind: KeyKind
    supplies: frozenset[str]
    max_batch: int
    upstream: str  # the pause flag's name: one per upstream host, whatever the endpoint
    shared_throttle: ClassVar[Throttle]
    retries: ClassVar[int] = 2  # extra attempts after a 5xx
    quota_pause: ClassVar[float] = 30.0  # pause for a rate limit that came without a Retry-After

    def __init__(
        self,
        base_url: str,
        *,
        pauses: PauseStore,
        timeout: float = 5.0,
        throttle: Throttle | None = None,
        backoff: float = 0.2,
        failure_pause: float = 30.0,
        budget: OutboundBudget | None = None,
        session: GuardedSession | None = None,
    ) -> None:
        """A provider on `base_url` (from settings, so tests can use a local fake).

        `failure_pause`: after a timeout, an unreachable upstream or a 5xx burst, the upstream is paused
        this long, so the next visitors do not each wait `timeout` on a service that is down (0: never).
        `budget`: the call budget every attempt takes from (Spotify's, for Spotify's audio features).
        `session`: the guarded session to call through (default: one of its own on `pauses`).
        """
        self.base_url = base_url if base_url.endswith("/") else base_url + "/"
        self.pauses = pauses
        self.timeout = timeout
        self.throttle = throttle or self.shared_throttle
        self.failure_pause = failure_pause
        self._session = session or GuardedSession(
            self.upstream,
            pauses=pauses,
            budget=budget,
            label=self.label,
            timeout=timeout,
            policy=RetryPolicy(retries=self.retries, backoff=backoff),
            retry_when=self._busy_answer,
        )

    def close(self) -> None:
        """Close the HTTP session (its pooled connections)."""
        self._session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def fetch(self, keys: Sequence[str]) -> dict[str, Features]:
        """Features for the keys the upstream knows; at most `max_batch` keys per call.

        Keys missing from the result were answered "no data". Raises `ProviderPaused` without any call
        while the upstream is paused (or its budget is spent), `ProviderRateLimited` on a 429,
        `ProviderUnavailable` otherwise.
        """
        unique = list(dict.fromkeys(keys))
        if len(unique) > self.max_batch:
            raise ValueError(f"{self.name} takes at most {self.max_batch} keys per call")
        if not unique:
            return {}
        return self._fetch(unique)

    def _fetch(self, keys: list[str]) -> dict[str, Features]:
        raise NotImplementedError

    def _pause_keys(self) -> tuple[str, ...]:
        return (self.upstream,)

    def _check_paused(self) -> None:
        paused = [u for k in self._pause_keys() if (u := self.pauses.paused_until(k)) is not None]
        if paused:
            raise ProviderPaused(self.name, max(paused))

    def _rate_limited_body(self, payload: Any) -> bool:
        """True when a 200 answer is really a rate-limit error (Deezer's quota error)."""
        return False

    def _busy_body(self, payload: Any) -> bool:
        """True when a 200 answer is really a temporary server error worth a retry (Deezer's 700)."""
        return False

    def _busy_answer(self, response: requests.Response) -> bool:
        return response.status_code == 200 and self._busy_body(_json(response))

    def _fail(self, reason: str) -> ProviderUnavailable:
        if self.failure_pause > 0:
            self.pauses.pause(self.upstream, self.failure_pause)
        log.warning("enrich: %s %s; paused for %.0f s", self.name, reason, self.failure_pause)
        return ProviderUnavailable(self.name, reason)

    def _get(
        self, path: str, *, params: dict[str, str] | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        """One GET under the error policy; returns (status, parsed JSON or None) for any other answer."""
        self._check_paused()
        with self.throttle.slot(self.name, self.timeout):
            try:
                # No redirects: a redirect could carry the bearer token to another host.
                response = self._session.get(
                    self.base_url + path, params=params, headers=headers, allow_redirects=False
                )
            except UpstreamPaused as exc:  # paused meanwhile, or the budget is spent: nothing was sent
                raise ProviderPaused(self.name, exc.until, exc.message) from None
            except BodyTooLarge:
                raise self._fail("sent an answer too large to read") from None
            except requests.Timeout:
                raise self._fail("did not answer in time") from None
            except requests.RequestException as exc:
                raise self._fail(f"could not be reached ({type(exc).__name__})") from None
        status, payload = response.status_code, _json(response)
        if status == 429 or (status == 200 and self._rate_limited_body(payload)):
            # The session has already paused the upstream on a 429; the same parser gives the same wait.
            seconds = (
                retry_after_seconds(response.headers.get("Retry-After"))
                if status == 429
                else self.quota_pause
            )
            until = self.pauses.pause(self.upstream, seconds)
            log.warning("enrich: %s rate limited; paused for %.0f s", self.name, seconds)
            raise ProviderRateLimited(self.name, seconds, until)
        if status >= 500 or self._busy_answer(response):
            raise self._fail(f"answered {status} {self.retries + 1} times")
        return status, payload

    def _unexpected(self, status: int) -> ProviderUnavailable:
        # A 404 or 400 here means a wrong base URL or a changed API, not "no data": never cached as a miss.
        log.warning("enrich: %s answered %s unexpectedly", self.name, status)
        return ProviderUnavailable(self.name, f"answered {status}")


class SpotifyFeatures(HttpProvider):
    """Spotify's audio-features endpoint: all seven features, for apps that still have access.

    Spotify withdrew the endpoint from new and development-mode apps in November 2024: they get a 403
    for every call. A 403 therefore disables the provider for an hour for everyone (its own flag, so it
    never pauses the rest of the Spotify Web API).
    """

    name = "spotify"
    label = "Spotify"
    key_kind: KeyKind = "spotify_id"
    supplies = frozenset(FEATURES)
    max_batch = 100  # Spotify's maximum ids per audio-features call
    upstream = "spotify"
    forbidden_key = "spotify:audio-features"
    forbidden_pause = 3600.0
    shared_throttle = Throttle(concurrency=2, min_interval=0.1)

    def __init__(self, base_url: str, *, token: Callable[[], str | None], **kwargs: Any) -> None:
        """A provider calling `token()` for the bearer token at each fetch (None: not asked)."""
        super().__init__(base_url, **kwargs)
        self._token = token

    def _pause_keys(self) -> tuple[str, ...]:
        return (self.upstream, self.forbidden_key)

    def _fetch(self, keys: list[str]) -> dict[str, Features]:
        if not all(is_spotify_id(k) for k in keys):
            raise ValueError("Spotify is asked by Spotify track ids only")
        self._check_paused()
        try:
            token = self._token()
        except Exception as exc:  # the token source (refresh, decryption) must not break the journey
            raise ProviderUnavailable(self.name, f"no access token ({type(exc).__name__})") from None
        if not token:
            raise ProviderUnavailable(self.name, "no access token")
        status, payload = self._get(
            "audio-features", params={"ids": ",".join(keys)}, headers={"Authorization": f"Bearer {token}"}
        )
        if status == 403:
            until = self.pauses.pause(self.forbidden_key, self.forbidden_pause)
            log.warning(
                "enrich: spotify refused audio features (403); not asked for %.0f s", self.forbidden_pause
            )
            raise ProviderPaused(self.name, until, "audio features refused (403)")
        if status == 401:
            raise ProviderUnavailable(self.name, "access token refused (401)")
        if (
            status != 200
            or not isinstance(payload, dict)
            or not isinstance(payload.get("audio_features"), list)
        ):
            raise self._unexpected(status)
        return from_spotify(payload, keys)


class ReccoBeats(HttpProvider):
    """ReccoBeats' public audio-features endpoint, asked by Spotify id (no key needed)."""

    name = "reccobeats"
    label = "ReccoBeats"
    key_kind: KeyKind = "spotify_id"
    supplies = frozenset(FEATURES)
    max_batch = 40  # ReccoBeats takes at most 40 ids per audio-features call
    upstream = "reccobeats"
    # ReccoBeats' limits are internal and unpublished (it answers 429 with Retry-After): stay gentle.
    shared_throttle = Throttle(concurrency=2, min_interval=0.2)

    def _fetch(self, keys: list[str]) -> dict[str, Features]:
        if not all(is_spotify_id(k) for k in keys):
            raise ValueError("ReccoBeats is asked by Spotify track ids only")
        status, payload = self._get("audio-features", params={"ids": ",".join(keys)})
        if status != 200 or not isinstance(payload, dict) or not isinstance(payload.get("content"), list):
            raise self._unexpected(status)
        return from_reccobeats(payload, keys)


class Deezer(HttpProvider):
    """Deezer's public track endpoint by ISRC: tempo only (its `bpm`), one song per call."""

    name = "deezer"
    label = "Deezer"
    key_kind: KeyKind = "isrc"
    supplies = frozenset({"tempo"})
    max_batch = 1  # `track/isrc:<ISRC>` looks up one recording
    upstream = "deezer"
    # Deezer allows 50 requests per 5 seconds; its quota error carries no Retry-After, so wait one window.
    shared_throttle = Throttle(concurrency=4, min_interval=0.1)
    quota_pause = 5.0

    def _rate_limited_body(self, payload: Any) -> bool:
        return deezer_error_code(payload) == 4  # "Quota limit exceeded", sent with HTTP 200

    def _busy_body(self, payload: Any) -> bool:
        return deezer_error_code(payload) == 700  # "Service busy", sent with HTTP 200

    def _fetch(self, keys: list[str]) -> dict[str, Features]:
        isrc = keys[0]
        if normalise_isrc(isrc) != isrc:
            raise ValueError("Deezer is asked by canonical ISRCs only")
        status, payload = self._get(f"track/isrc:{isrc}")
        if status != 200 or not isinstance(payload, dict):
            raise self._unexpected(status)
        code = deezer_error_code(payload)
        if code == 800:  # "no data": Deezer does not know this ISRC
            return {}
        if code is not None:
            raise self._unexpected(status)
        features = from_deezer(payload)
        return {isrc: features} if features else {}


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def default_providers(
    settings: Settings,
    *,
    pauses: PauseStore,
    spotify_token: Callable[[], str | None] | None = None,
) -> list[HttpProvider]:
    """The chain in order of trust: Spotify (only with a token), ReccoBeats, then Deezer for tempo."""
    common: dict[str, Any] = {"pauses": pauses, "timeout": settings.upstream_timeout}
    providers: list[HttpProvider] = []
    if spotify_token is not None:
        providers.append(
            SpotifyFeatures(
                settings.spotify_api_url,
                token=spotify_token,
                budget=budget_of(settings, SpotifyFeatures.upstream),
                **common,
            )
        )
    providers.append(ReccoBeats(settings.reccobeats_api_url, **common))
    providers.append(Deezer(settings.deezer_api_url, **common))
    return providers
