"""Campaign operations: the funnel's counters, and the ways in an operator switched off.

The funnel counts steps (landing visits, journeys started, imports done, publishes, share-page, embed
and image views, saves, duets) per day, campaign (`utm_campaign`, else `?c=`), `utm_source` and way in.
Nothing about a visitor is kept: no cookie is read or set for it, no IP, no user agent, no account id;
only the counts. A count is one `HINCRBY` on a Redis hash per day (shared by every worker; without
Redis, a dictionary in the process), cheap enough for the share page's hot path, and every minute one
worker moves the counts into PostgreSQL (`FunnelCount`), so they survive restarts and Redis losing its
memory costs at most that minute. The dashboard and the CSV flush first, so they show every count.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import uuid
import weakref
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from redis.exceptions import RedisError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from fanapp.config import Settings
from fanapp.data.models import FunnelCount, WayInSwitch, utcnow
from fanapp.upstream.shared import named_lock, redis_client

log = logging.getLogger(__name__)

STEPS = (
    "visits",
    "starts",
    "imports",
    "published",
    "share_views",
    "embed_views",
    "image_views",
    "saves",
    "duets",
)
# The ways in an operator can switch off (the names the imports use).
WAYS = ("spotify", "apple-music", "lastfm", "export", "pick", "demo")
WAY_LABELS = {
    "spotify": "Spotify",
    "apple-music": "Apple Music",
    "lastfm": "Last.fm",
    "export": "Spotify data export",
    "pick": "Picking by hand",
    "demo": "The demo",
}
NO_CAMPAIGN = "(none)"
FLUSH_SECONDS = 60.0
LIMIT = 100
_SEP = "\x1f"  # the unit separator: never in a value (values keep printable characters only)


def _clean(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return "".join(ch for ch in text.strip()[:LIMIT] if ch.isprintable())


def attribution(params: Mapping[str, str] | None) -> tuple[str, str]:
    """(campaign, source) from utm parameters: `utm_campaign`, else `c`; and `utm_source`."""
    params = params or {}
    return _clean(params.get("utm_campaign") or params.get("c") or ""), _clean(params.get("utm_source", ""))


class Funnel:
    """The app's counters: `count` on the hot path, `flush` into the database now and then."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        """Count into Redis when the settings have it, else into this process."""
        self.settings = settings
        self.engine = engine
        self.prefix = settings.redis_prefix + "funnel:"
        self._local: Tally[tuple[str, str]] = Tally()
        self._local_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._flushing = threading.Lock()
        if not settings.redis_url:
            _IN_PROCESS.add(self)  # flushed at exit: the in-process counts would go with the process

    def count(
        self, step: str, *, campaign: Mapping[str, str] | None = None, way: str = "", n: int = 1
    ) -> None:
        """Add `n` to today's count of `step` for this campaign and way in. Never raises."""
        if step not in STEPS:
            raise ValueError(f"unknown funnel step {step!r}")
        name, source = attribution(campaign)
        field = _SEP.join((name, source, _clean(way)[:20], step))
        day = datetime.now(UTC).date().isoformat()
        if self.settings.redis_url:
            try:
                redis_client(self.settings.redis_url).hincrby(self.prefix + day, field, n)
            except RedisError:  # a lost count is better than a failed share page
                log.warning("funnel: Redis did not take a count")
        else:
            with self._local_lock:
                self._local[(day, field)] += n
        if time.monotonic() - self._last_flush > FLUSH_SECONDS:
            self._last_flush = time.monotonic()
            threading.Thread(target=self._flush_quietly, name="funnel-flush", daemon=True).start()

    def _flush_quietly(self) -> None:
        try:
            self.flush()
        except Exception:  # a background flush must never take a worker down; the next one retries
            log.exception("funnel: flush failed; the counts stay in Redis for the next one")

    def _take(self) -> tuple[dict[tuple[str, str], int], list[str]]:
        """Take the counts out of Redis (or the process) atomically: each day's hash is renamed first,
        so counts arriving meanwhile go to a new hash."""
        if not self.settings.redis_url:
            with self._local_lock:
                local, self._local = dict(self._local), Tally()
            return local, []
        r = redis_client(self.settings.redis_url)
        taken: dict[tuple[str, str], int] = {}
        moved = []
        # Hashes set aside by a flusher that died before storing them (this one holds the lock).
        for key in r.scan_iter(match=self.settings.redis_prefix + "funnel-flushing:*", count=100):
            name = key.decode() if isinstance(key, bytes) else str(key)
            moved.append(name)
            for field, value in r.hgetall(name).items():
                f = field.decode() if isinstance(field, bytes) else str(field)
                day = name.rsplit(":", 1)[-1]
                taken[(day, f)] = taken.get((day, f), 0) + int(value)
        for key in r.scan_iter(match=self.prefix + "????-??-??", count=100):
            name = key.decode() if isinstance(key, bytes) else str(key)
            aside = (
                f"{self.settings.redis_prefix}funnel-flushing:{uuid.uuid4().hex}:{name[len(self.prefix) :]}"
            )
            try:
                r.rename(name, aside)
            except RedisError:  # gone meanwhile (another flusher took it)
                continue
            moved.append(aside)
            for field, value in r.hgetall(aside).items():
                f = field.decode() if isinstance(field, bytes) else str(field)
                day = name[len(self.prefix) :]
                taken[(day, f)] = taken.get((day, f), 0) + int(value)
        return taken, moved

    def _give_back(self, taken: dict[tuple[str, str], int]) -> None:
        if not self.settings.redis_url:
            with self._local_lock:
                self._local.update(taken)
            return
        pipe = redis_client(self.settings.redis_url).pipeline()
        for (day, field), n in taken.items():
            pipe.hincrby(self.prefix + day, field, n)
        pipe.execute()

    def flush(self) -> int:
        """Move the counts into the database (added to what is there); returns how many were moved.
        One flusher at a time across workers; on a database failure the counts go back."""
        with self._flushing, named_lock(self.settings, "funnel-flush", timeout=30):
            taken, moved = self._take()
            try:
                if taken:
                    _store(self.engine, taken)
            except Exception:
                self._give_back(taken)
                raise
            finally:
                if moved:
                    redis_client(self.settings.redis_url).delete(*moved)
            return sum(taken.values())


_IN_PROCESS: weakref.WeakSet[Funnel] = weakref.WeakSet()


@atexit.register
def _flush_at_exit() -> None:
    for funnel in list(_IN_PROCESS):
        try:
            funnel.flush()
        except Exception as exc:  # the database may be gone already (tests): say so in one line
            log.warning("funnel: counts of this process not stored at exit (%s)", type(exc).__name__)


def _store(engine: Engine, taken: Mapping[tuple[str, str], int]) -> None:
    with Session(engine) as session:
        for (day, field), n in sorted(taken.items()):
            parts = field.split(_SEP)
            if len(parts) != 4:
                continue
            name, source, way, step = parts
            when = date.fromisoformat(day)
            row = session.exec(
                select(FunnelCount).where(
                    FunnelCount.day == when,
                    FunnelCount.campaign == name,
                    FunnelCount.source == source,
                    FunnelCount.way == way,
                    FunnelCount.step == step,
                )
            ).first()
            if row is None:
                row = FunnelCount(day=when, campaign=name, source=source, way=way, step=step, count=0)
            row.count += n
            session.add(row)
        session.commit()


@dataclass(frozen=True)
class Figures:
    """The funnel between two days (inclusive), ready for a table, a chart or the CSV."""

    start: date
    end: date
    # (day, campaign) -> step -> count
    by_day: dict[tuple[date, str], dict[str, int]]
    # campaign -> step -> count, and (campaign, source) and way -> step -> count
    by_campaign: dict[str, dict[str, int]]
    by_source: dict[tuple[str, str], dict[str, int]]
    by_way: dict[str, dict[str, int]]

    def days(self) -> list[date]:
        """Every day of the range, in order."""
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    def campaigns(self) -> list[str]:
        """The campaigns seen, most visits first."""
        return sorted(self.by_campaign, key=lambda c: (-self.by_campaign[c].get("visits", 0), c))


def figures(session: Session, *, start: date, end: date) -> Figures:
    """Sum the stored counts between `start` and `end` (inclusive) every way the dashboard shows them."""
    rows = session.exec(
        select(FunnelCount).where(col(FunnelCount.day) >= start, col(FunnelCount.day) <= end)
    ).all()
    by_day: dict[tuple[date, str], dict[str, int]] = {}
    by_campaign: dict[str, dict[str, int]] = {}
    by_source: dict[tuple[str, str], dict[str, int]] = {}
    by_way: dict[str, dict[str, int]] = {}

    def add(bucket: dict[str, int], row: FunnelCount) -> None:
        bucket[row.step] = bucket.get(row.step, 0) + row.count

    for row in rows:
        name = row.campaign or NO_CAMPAIGN
        add(by_day.setdefault((row.day, name), {}), row)
        add(by_campaign.setdefault(name, {}), row)
        add(by_source.setdefault((name, row.source or NO_CAMPAIGN), {}), row)
        add(by_way.setdefault(row.way or "", {}), row)
    return Figures(start, end, by_day, by_campaign, by_source, by_way)


def csv_rows(found: Figures) -> Iterable[list[str]]:
    """One row per campaign and day that has any count: CONTRACT's columns, in order."""
    yield ["day", "campaign", *STEPS]
    for (day, name), steps in sorted(found.by_day.items()):
        yield [day.isoformat(), name, *(str(steps.get(s, 0)) for s in STEPS)]


# -- ways in switched off ----------------------------------------------------------------------------


def ways_off(session: Session) -> set[str]:
    """The ways in an operator has switched off."""
    return set(session.exec(select(WayInSwitch.way).where(col(WayInSwitch.off).is_(True))).all())


def switch_way(session: Session, *, way: str, off: bool) -> None:
    """Switch a way in off (or back on) for every worker, at once and across restarts."""
    if way not in WAYS:
        raise ValueError(f"unknown way in {way!r}")
    row = session.get(WayInSwitch, way) or WayInSwitch(way=way)
    row.off, row.changed_at = off, utcnow()
    session.add(row)
    session.commit()


def current(app: Any = None) -> Funnel:
    """The running app's funnel."""
    from flask import current_app

    funnel: Funnel = (app or current_app).extensions["fanapp.funnel"]
    return funnel
