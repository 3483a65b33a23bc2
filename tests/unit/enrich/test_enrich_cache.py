"""The feature cache on a temporary SQLite database: hits kept, misses remembered for a while, upserts."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, SQLModel, select

import fanapp.data.models  # noqa: F401 - registers the tables on SQLModel.metadata
from fanapp.data.models import FeatureCache, utcnow
from fanapp.data.session import make_engine
from fanapp.enrich import cache


@pytest.fixture
def db_session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'cache.sqlite3'}")
    SQLModel.metadata.create_all(engine)
    with Session(engine, expire_on_commit=False) as session:
        yield session
    engine.dispose()


def test_hits_and_misses_round_trip(db_session: Session) -> None:
    cache.store(db_session, "reccobeats", hits={"a": {"tempo": 120.0}}, misses=["b"])
    db_session.commit()
    assert cache.load(db_session, "reccobeats", ["a", "b", "c"]) == {"a": {"tempo": 120.0}, "b": None}
    assert cache.load(db_session, "deezer", ["a", "b"]) == {}  # per provider


def test_misses_expire_hits_do_not(db_session: Session) -> None:
    old = utcnow() - timedelta(days=400)
    cache.store(
        db_session, "deezer", hits={"GBAYE0601498": {"tempo": 99.0}}, misses=["FRZ110000000"], now=old
    )
    db_session.commit()
    loaded = cache.load(db_session, "deezer", ["GBAYE0601498", "FRZ110000000"])
    assert loaded == {"GBAYE0601498": {"tempo": 99.0}}
    recent = cache.load(db_session, "deezer", ["FRZ110000000"], now=old + cache.MISS_TTL - timedelta(hours=1))
    assert recent == {"FRZ110000000": None}


def test_store_upserts(db_session: Session) -> None:
    cache.store(db_session, "reccobeats", hits={}, misses=["a"])
    db_session.commit()
    cache.store(db_session, "reccobeats", hits={"a": {"energy": 0.5}})
    db_session.commit()
    rows = db_session.exec(select(FeatureCache)).all()
    assert len(rows) == 1
    db_session.refresh(rows[0])
    assert rows[0].found and rows[0].features == {"energy": 0.5}


def test_many_keys(db_session: Session) -> None:
    keys = [f"k{i}" for i in range(1200)]
    assert (
        cache.store(db_session, "reccobeats", hits={k: {"tempo": 100.0} for k in keys[:600]}, misses=keys)
        == 1200
    )
    db_session.commit()
    loaded = cache.load(db_session, "reccobeats", keys)
    assert len(loaded) == 1200
    assert sum(1 for v in loaded.values() if v) == 600
