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
import os
import threading
import time
import uuid
import weakref
from collections import Counter as Tally
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
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
OTHER_CAMPAIGN = "(other)"
NAMES_PER_DAY = 500  # distinct (campaign, source) pairs a day keeps by name
FLUSH_SECONDS = 60.0
PUSH_SECONDS = 1.0
LIMIT = 100
_SEP = "\x1f"  # the unit separator: never in a value (values keep printable characters only)


def _clean(value: object) -> str:
    text = value if isinstance(value, str) else ""
    return "".join(ch for ch in text.strip()[:LIMIT] if ch.isprintable())


def attribution(params: Mapping[str, str] | None) -> tuple[str, str]:
    """(campaign, source) from utm parameters: `utm_campaign`, else `c`; and `utm_source`."""
    params = params or {}
    return _clean(params.get("utm_campaign") or params.get("c") or ""), _clean(params.get("utm_source", ""))


def field_for(step: str, campaign: Mapping[str, str] | None = None, way: str = "") -> str:
    """The counter a step of this campaign and way in adds to (campaign, source, way, step)."""
    if step not in STEPS:
        raise ValueError(f"unknown funnel step {step!r}")
    name, source = attribution(campaign)
    return _SEP.join((name, source, _clean(way)[:20], step))


class Funnel:
    """The app's counters: `count` on the hot path, `flush` into the database now and then.

    A count only adds to a dictionary in this process (about a microsecond: a Redis round trip on
    every share page would cost it more than the page itself, see `bench/funnel.py`). A thread of this
    process pushes those counts to Redis every `PUSH_SECONDS` in one pipeline, and once a
    `FLUSH_SECONDS` moves everything in Redis into the database; without Redis the counts wait in the
    process until a flush. A process that dies loses at most its last second of counts.
    """

    def __init__(self, settings: Settings, engine: Engine) -> None:
        """Count into Redis when the settings have it, else into this process."""
        self.settings = settings
        self.engine = engine
        self.prefix = settings.redis_prefix + "funnel:"
        self._local: Tally[tuple[str, str]] = Tally()
        self._local_lock = threading.Lock()
        self._last_flush = time.monotonic()
        self._flushing = threading.Lock()
        self._pushing = False  # this process runs the pusher thread (reset in a forked child)
        self._day, self._day_ends = "", 0.0
        # Tests make an app (and a database) per test and flush when they read: a flush a minute later, or
        # at exit, would reach a database the test has dropped.
        self.periodic_flush = settings.env != "test"
        _ALL.add(self)
        if self.periodic_flush:
            _LIVE.add(self)  # pushed and flushed at exit

    def count(
        self, step: str, *, campaign: Mapping[str, str] | None = None, way: str = "", n: int = 1
    ) -> None:
        """Add `n` to today's count of `step` for this campaign and way in. Never raises."""
        self.add(field_for(step, campaign, way), n)

    def add(self, field: str, n: int = 1) -> None:
        """Add `n` to today's count of a `field_for(…)`: the hot path (a dictionary under a lock)."""
        now = time.time()
        if now >= self._day_ends:  # the UTC day's name, worked out once a day
            self._day_ends = (now // 86400 + 1) * 86400
            self._day = time.strftime("%Y-%m-%d", time.gmtime(now))
        day = self._day
        with self._local_lock:
            self._local[(day, field)] += n
        if not self._pushing:
            self._start_pusher()

    def _start_pusher(self) -> None:
        with self._local_lock:
            if self._pushing:
                return
            self._pushing = True
        threading.Thread(
            target=self._run_pusher, args=(weakref.ref(self),), name="funnel", daemon=True
        ).start()

    @staticmethod
    def _run_pusher(ref: weakref.ref[Funnel]) -> None:
        while True:
            time.sleep(PUSH_SECONDS)
            funnel = ref()
            if funnel is None:  # the app is gone (tests): so is its thread
                return
            try:
                funnel.push()
                if funnel.periodic_flush and time.monotonic() - funnel._last_flush > FLUSH_SECONDS:
                    funnel._last_flush = time.monotonic()
                    funnel.flush()
            except Exception:  # never take a worker down; the counts wait for the next round
                log.warning(
                    "funnel: counts not moved this round; they are kept for the next one", exc_info=True
                )
            del funnel

    def push(self) -> int:
        """Move this process's counts to Redis (one pipeline); returns how many. No-op without Redis."""
        if not self.settings.redis_url:
            return 0
        with self._local_lock:
            pending, self._local = dict(self._local), Tally()
        if not pending:
            return 0
        try:
            self._give_back(pending)
        except RedisError:
            with self._local_lock:
                self._local.update(pending)
            raise
        return sum(pending.values())

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
        self.push()
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


_LIVE: weakref.WeakSet[Funnel] = weakref.WeakSet()
_ALL: weakref.WeakSet[Funnel] = weakref.WeakSet()


def _forked() -> None:
    # Threads do not survive a fork (gunicorn's preload): each worker starts its own pusher, and does
    # not push counts its parent had not pushed yet.
    for funnel in list(_ALL):
        funnel._pushing = False
        funnel._local = Tally()


os.register_at_fork(after_in_child=_forked)


@atexit.register
def _flush_at_exit() -> None:
    for funnel in list(_LIVE):
        try:
            funnel.push() if funnel.settings.redis_url else funnel.flush()
        except Exception as exc:  # the database may be gone already (tests): say so in one line
            log.warning("funnel: counts of this process not stored at exit (%s)", type(exc).__name__)


def _busiest_first(taken: Mapping[tuple[str, str], int]) -> list[tuple[tuple[str, str], int]]:
    """The counts, the busiest (day, campaign, source) first: a real campaign keeps its name when
    random ones arrive in the same flush."""

    def owner(day_field: tuple[str, str]) -> tuple[str, ...]:
        return (day_field[0], *day_field[1].split(_SEP)[:2])

    totals: Tally[tuple[str, ...]] = Tally()
    for key, n in taken.items():
        totals[owner(key)] += n
    return sorted(taken.items(), key=lambda item: (-totals[owner(item[0])], item[0]))


def _store(engine: Engine, taken: Mapping[tuple[str, str], int]) -> None:
    with Session(engine) as session:
        named: dict[date, set[tuple[str, str]]] = {}  # the (campaign, source) pairs each day already has
        for (day, field), n in _busiest_first(taken):
            parts = field.split(_SEP)
            if len(parts) != 4:
                continue
            name, source, way, step = parts
            when = date.fromisoformat(day)
            if when not in named:
                named[when] = set(
                    session.exec(
                        select(FunnelCount.campaign, FunnelCount.source).where(FunnelCount.day == when)
                    ).all()
                )
            if name and (name, source) not in named[when]:
                if len(named[when]) >= NAMES_PER_DAY:
                    # Anyone can put any ?c= on a link: past the day's share of names, a new one is
                    # counted as "(other)", so random names cannot grow the table or the dashboard.
                    name, source = OTHER_CAMPAIGN, ""
                named[when].add((name, source))
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
