"""Enrichment: fill the musical features (tempo, key, mode, energy, …) an import left missing.

`enrich_tracks` runs a chain of providers (Spotify audio features when a token is given, ReccoBeats by
Spotify id, Deezer by ISRC for tempo) over a batch of tracks, asking each provider only for what is
still missing and only once per song (the `FeatureCache` table remembers hits and misses). Provider
failures never break the journey: they are logged, counted in the report, and summed up in a note.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from sqlmodel import Session

from fanapp.config import Settings
from fanapp.data.models import Track
from fanapp.enrich import cache
from fanapp.enrich.features import FEATURES, Features, sanitise
from fanapp.enrich.providers import (
    Deezer,
    FeatureProvider,
    KeyKind,
    ProviderError,
    ProviderPaused,
    ProviderRateLimited,
    ProviderUnavailable,
    ReccoBeats,
    SpotifyFeatures,
    default_providers,
)
from fanapp.tracks import is_spotify_id, normalise_isrc
from fanapp.upstream.pauses import MemoryPauses, PauseStore, RedisPauses, pause_store, process_pauses

__all__ = [
    "FEATURES",
    "Deezer",
    "EnrichReport",
    "FeatureProvider",
    "MemoryPauses",
    "PauseStore",
    "ProviderCounts",
    "ProviderError",
    "ProviderPaused",
    "ProviderRateLimited",
    "ProviderUnavailable",
    "ReccoBeats",
    "RedisPauses",
    "SpotifyFeatures",
    "default_providers",
    "enrich_tracks",
    "missing_features",
    "pause_store",
    "process_pauses",
]

log = logging.getLogger(__name__)


@dataclass
class ProviderCounts:
    """What happened to the songs one provider was needed for; each song lands in exactly one count.

    `asked`: sent to the upstream and answered (`found` of them had features); `cached`: answered from
    the cache (hit or remembered miss); `failed`: no answer (timeout, 5xx, unreadable) or not tried
    after a failure in this run; `paused`: not asked because the upstream is paused (429, 403);
    `skipped`: not asked because the time budget ran out.
    """

    asked: int = 0
    found: int = 0
    cached: int = 0
    failed: int = 0
    paused: int = 0
    skipped: int = 0

    @property
    def unanswered(self) -> int:
        """Songs this provider could not be asked about this time."""
        return self.failed + self.paused + self.skipped


@dataclass
class EnrichReport:
    """The outcome of one `enrich_tracks` run."""

    providers: dict[str, ProviderCounts] = field(default_factory=dict)
    considered: int = 0  # tracks that were missing at least one feature
    filled: int = 0  # tracks that gained at least one feature
    still_missing: int = 0  # considered tracks still missing at least one feature
    notes: list[str] = field(default_factory=list)  # for the visitor, e.g. appended to import notes
    resume_at: datetime | None = None  # earliest end of a pause that left songs unasked

    @property
    def complete(self) -> bool:
        """True when every provider that was needed answered (from the cache or the upstream)."""
        return all(c.unanswered == 0 for c in self.providers.values())


def missing_features(features: dict[str, object]) -> list[str]:
    """The engine's features absent from a track's `features` dict."""
    return [name for name in FEATURES if name not in features]


def _key(track: Track, kind: KeyKind) -> str | None:
    if kind == "spotify_id":
        return track.spotify_id if is_spotify_id(track.spotify_id) else None
    return normalise_isrc(track.isrc)


def _chunks(keys: list[str], size: int) -> Iterator[list[str]]:
    for start in range(0, len(keys), max(size, 1)):
        yield keys[start : start + max(size, 1)]


@dataclass
class _Pending:
    track: Track
    present: set[str]
    new: dict[str, dict[str, object]] = field(default_factory=dict)

    def fill(self, features: Features, allowed: frozenset[str], source: str) -> None:
        for name, value in sanitise(features, allowed).items():
            if name not in self.present:
                self.new[name] = {"value": value, "source": source}
                self.present.add(name)


def enrich_tracks(
    session: Session,
    tracks: Sequence[Track],
    *,
    settings: Settings,
    pauses: PauseStore | None = None,
    spotify_token: Callable[[], str | None] | None = None,
    providers: Sequence[FeatureProvider] | None = None,
    budget: float | None = None,
) -> EnrichReport:
    """Fill missing features of `tracks` from the cache and the providers, store them, and commit.

    Features already present (from the import or the demo) are never overwritten. `providers` defaults
    to `default_providers(settings, pauses=…, spotify_token=…)`: Spotify is in the chain only when
    `spotify_token` is given. `pauses` (used to build those default providers; given providers carry
    their own) defaults to `pause_store(settings)`: shared through Redis when REDIS_URL is set.
    `budget`: seconds after which no new upstream call starts (None: no limit), for callers inside a
    web request. The upstream calls all happen before anything is written, so no database lock is held
    while waiting on the network. Provider failures never raise; database errors do.
    """
    owned = providers is None
    chain: Sequence[FeatureProvider]
    if providers is None:
        chain = default_providers(
            settings,
            pauses=pauses if pauses is not None else pause_store(settings),
            spotify_token=spotify_token,
        )
    else:
        chain = providers
    try:
        return _run(session, tracks, chain, budget)
    finally:
        if owned:
            for provider in chain:
                close = getattr(provider, "close", None)
                if callable(close):
                    close()


def _run(
    session: Session, tracks: Sequence[Track], chain: Sequence[FeatureProvider], budget: float | None
) -> EnrichReport:
    report = EnrichReport()
    deadline = time.monotonic() + budget if budget is not None else None
    pending = [_Pending(t, set(t.features)) for t in tracks if missing_features(t.features)]
    report.considered = len(pending)
    writes: list[tuple[str, dict[str, Features], list[str]]] = []
    troubled: list[FeatureProvider] = []
    resume: list[float] = []

    for provider in chain:
        counts = report.providers.setdefault(provider.name, ProviderCounts())
        wanted: dict[str, list[_Pending]] = {}
        for item in pending:
            if provider.supplies - item.present and (key := _key(item.track, provider.key_kind)):
                wanted.setdefault(key, []).append(item)
        if not wanted:
            continue

        cached = cache.load(session, provider.name, list(wanted))
        counts.cached += len(cached)
        answers: dict[str, Features] = {k: f for k, f in cached.items() if f}
        hits: dict[str, Features] = {}
        misses: list[str] = []
        state: Literal["ok", "paused", "failed"] = "ok"
        for chunk in _chunks([k for k in wanted if k not in cached], provider.max_batch):
            if state == "paused":
                counts.paused += len(chunk)
                continue
            if state == "failed":
                counts.failed += len(chunk)
                continue
            if deadline is not None and time.monotonic() >= deadline:
                counts.skipped += len(chunk)
                continue
            try:
                result = provider.fetch(chunk)
            except ProviderPaused as exc:
                counts.paused += len(chunk)
                state = "paused"
                resume.append(exc.until)
                log.warning("enrich: %s not asked (%s)", provider.name, exc.message)
            except ProviderError as exc:
                counts.failed += len(chunk)
                state = "failed"
                log.warning("enrich: %s gave no answer (%s)", provider.name, exc.message)
            except Exception:  # a provider bug must not break the journey either
                counts.failed += len(chunk)
                state = "failed"
                log.warning("enrich: %s failed unexpectedly", provider.name, exc_info=True)
            else:
                counts.asked += len(chunk)
                for key in chunk:
                    features = sanitise(result.get(key) or {}, provider.supplies)
                    if features:
                        hits[key] = features
                        counts.found += 1
                    else:
                        misses.append(key)
        answers.update(hits)
        if hits or misses:
            writes.append((provider.name, hits, misses))
        if counts.unanswered:
            troubled.append(provider)
        for key, features in answers.items():
            for item in wanted[key]:
                item.fill(features, provider.supplies, provider.name)

    for name, hits, misses in writes:
        cache.store(session, name, hits=hits, misses=misses)
    for item in pending:
        if item.new:
            # A new dict, not an in-place update: SQLAlchemy only notices a JSON column being reassigned.
            item.track.features = {**item.track.features, **item.new}
            session.add(item.track)
            report.filled += 1
    session.commit()

    report.still_missing = sum(1 for item in pending if missing_features(dict.fromkeys(item.present)))
    if resume:
        report.resume_at = datetime.fromtimestamp(min(resume), UTC)
    if troubled and report.still_missing:
        names = " and ".join(p.label for p in troubled)
        report.notes.append(
            f"{names} did not answer just now, so {report.still_missing} of your songs have no "
            "tempo or key yet; the mash-up uses what the others have."
        )
    log.info(
        "enrich: %d tracks considered, %d filled, %d still missing",
        report.considered,
        report.filled,
        report.still_missing,
    )
    return report
