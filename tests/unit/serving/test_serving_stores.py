"""The serving layer's parts on their own: the image store's byte bound, the breaker, and a worker that
cannot hear the take-down news serving nothing stored."""

from __future__ import annotations

from pathlib import Path

from fanapp.sharing import store
from fanapp.sharing.store import FileStore, News, Page
from fanapp.upstream.shared import Breaker
from tests.conftest import CLOSED_PORT, make_settings


def _page(slug: str, size: int) -> Page:
    return Page((("Content-Type", "image/png"),), b"\x89PNG" + bytes(size), '"e"', slug)


def test_the_image_store_is_bounded_by_bytes_oldest_first(tmp_path: Path) -> None:
    files = FileStore(tmp_path, max_bytes=50_000)
    for n in range(12):  # 12 x ~10 KB into 50 KB
        files.put(f"/s/slug{n}.png|", _page(f"slug{n}", 10_000))
    total = sum(p.stat().st_size for p in tmp_path.rglob("*.page"))
    assert total <= 50_000
    assert files.get("/s/slug11.png|", "slug11") is not None  # the newest stay
    assert files.get("/s/slug0.png|", "slug0") is None  # the oldest went first
    files.forget(["slug11"])
    assert files.get("/s/slug11.png|", "slug11") is None and files.files_of("slug11") == []


def test_a_stored_answer_round_trips_and_garbage_is_refused() -> None:
    page = Page((("Content-Type", "text/html"), ("ETag", '"x"')), b"<p>hi</p>\n", '"x"', "abc", True)
    assert store.decode(store.encode(page)) == page
    assert store.decode(b"no header line") is None and store.decode(b"[1,2]\nbody") is None


def test_the_breaker_opens_on_a_failure_and_closes_after_its_cool_down() -> None:
    now = [100.0]
    breaker = Breaker(cooldown=2.0, timer=lambda: now[0])

    def broken() -> None:
        raise OSError("refused")

    assert breaker.call(broken, default="fallback") == "fallback" and breaker.open
    assert breaker.call(lambda: "called", default="refused") == "refused"  # not even tried
    now[0] += 2.5
    assert breaker.call(lambda: "called") == "called" and not breaker.open


def test_a_worker_that_cannot_hear_the_news_serves_nothing_stored() -> None:
    forgotten: list[tuple[list[str] | None, bool]] = []
    settings = make_settings("sqlite://", redis_url=CLOSED_PORT.replace("http", "redis") + "0")
    news = News(settings, Breaker(), lambda slugs, disk: forgotten.append((slugs, disk)))
    assert news.fresh() is False
    assert forgotten == [(None, False)]  # this worker's memory dropped, the disk left to the log
    assert news.current() is None
    # Without Redis there is one process, told directly: stored copies are always trusted.
    assert News(None, Breaker(), lambda *_: None).fresh() is True


def test_a_database_error_at_teardown_never_replaces_the_answer(
    client: object, app: object, monkeypatch: object
) -> None:
    from sqlalchemy.exc import OperationalError
    from sqlmodel import Session

    def broken_close(self: Session) -> None:
        raise OperationalError("ROLLBACK", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(Session, "close", broken_close)  # type: ignore[attr-defined]
    r = client.get("/healthz")  # type: ignore[attr-defined]
    assert r.status_code == 200 and r.get_json() == {"status": "ok"}
    landing = client.get("/")  # type: ignore[attr-defined]
    assert landing.status_code == 200
