"""The feature cache (`FeatureCache` rows): what each provider said about each song, so it is asked once.

A hit is kept for good (a recording's tempo does not change). A miss ("no data") is remembered for
`MISS_TTL`, then asked again, since providers keep adding songs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col, select

from fanapp.data.models import FeatureCache, utcnow
from fanapp.enrich.features import Features

MISS_TTL = timedelta(days=30)
_CHUNK = 500  # keys per IN (...) query: well under SQLite's and PostgreSQL's parameter limits


def _aware(moment: datetime) -> datetime:
    # SQLite hands DATETIME columns back without a zone; everything stored is UTC.
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def load(
    session: Session,
    provider: str,
    keys: Sequence[str],
    *,
    now: datetime | None = None,
    miss_ttl: timedelta = MISS_TTL,
) -> dict[str, Features | None]:
    """Cached answers for `keys`: features for a hit, None for a miss still fresh; absent keys: ask."""
    now = now or utcnow()
    found: dict[str, Features | None] = {}
    unique = list(dict.fromkeys(keys))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start : start + _CHUNK]
        rows = session.exec(
            select(FeatureCache).where(
                col(FeatureCache.provider) == provider, col(FeatureCache.lookup_key).in_(chunk)
            )
        )
        for row in rows:
            if row.found and row.features:
                found[row.lookup_key] = {k: float(v) for k, v in row.features.items()}
            elif not row.found and _aware(row.fetched_at) > now - miss_ttl:
                found[row.lookup_key] = None
    return found


def store(
    session: Session,
    provider: str,
    *,
    hits: Mapping[str, Features],
    misses: Iterable[str] = (),
    now: datetime | None = None,
) -> int:
    """Record a provider's answers (hits with their features, misses as found=False); returns the rows.

    An upsert on (provider, lookup_key): two workers enriching the same song at once both succeed.
    Nothing is committed here; the caller commits with its other changes.
    """
    now = now or utcnow()
    rows: list[dict[str, Any]] = [
        {"provider": provider, "lookup_key": k, "features": dict(f), "found": True, "fetched_at": now}
        for k, f in hits.items()
    ]
    rows += [
        {"provider": provider, "lookup_key": k, "features": {}, "found": False, "fetched_at": now}
        for k in dict.fromkeys(misses)
        if k not in hits
    ]
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start : start + _CHUNK]
        if dialect in ("sqlite", "postgresql"):
            stmt = (sqlite_insert if dialect == "sqlite" else pg_insert)(FeatureCache).values(chunk)
            session.exec(
                stmt.on_conflict_do_update(
                    index_elements=["provider", "lookup_key"],
                    set_={
                        "features": stmt.excluded.features,
                        "found": stmt.excluded.found,
                        "fetched_at": stmt.excluded.fetched_at,
                    },
                )
            )
        else:
            _store_portably(session, chunk)
    return len(rows)


def _store_portably(session: Session, rows: list[dict[str, Any]]) -> None:
    # Other databases: update what exists, insert the rest (a concurrent insert can still collide).
    for row in rows:
        changed = session.exec(
            update(FeatureCache)
            .where(
                col(FeatureCache.provider) == row["provider"],
                col(FeatureCache.lookup_key) == row["lookup_key"],
            )
            .values(features=row["features"], found=row["found"], fetched_at=row["fetched_at"])
        )
        if not changed.rowcount:  # type: ignore[attr-defined]
            session.exec(insert(FeatureCache).values(**row))
