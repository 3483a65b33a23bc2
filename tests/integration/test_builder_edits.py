"""Builder edits read only what they change (issue 13, item 4): an edit on a 2,000-song history loads
as few history rows as on the demo's 60, never the whole history."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import event
from sqlmodel import select

from fanapp.data.models import Episode, Track
from fanapp.data.session import get_session
from tests.conftest import csrf_from, start_demo

TRACK = re.compile(r'data-testid="history-track" data-track-id="([^"]+)"')


@contextmanager
def counting_track_loads() -> Iterator[list[int]]:
    loaded = [0]

    def count(_target: Track, _context: object) -> None:
        loaded[0] += 1

    event.listen(Track, "load", count)
    try:
        yield loaded
    finally:
        event.remove(Track, "load", count)


def _grow_history(app: Flask, episode_id: int, songs: int) -> None:
    with app.app_context(), get_session() as session:
        episode = session.get(Episode, episode_id)
        assert episode is not None and episode.listener_id is not None
        model = session.exec(select(Track).where(Track.listener_id == episode.listener_id)).first()
        assert model is not None
        fields = model.model_dump(exclude={"id", "source_id", "title"})
        session.add_all(
            Track(**fields, source_id=f"bulk-{n:05d}", title=f"Bulk song {n}") for n in range(songs)
        )
        session.commit()


def _edit_loads(client: FlaskClient, builder: str) -> int:
    page = client.get(builder).get_data(as_text=True)
    token, track = csrf_from(page), TRACK.findall(page)[-1]
    with counting_track_loads() as loaded:
        r = client.post(
            builder + "/add",
            data={"csrf_token": token, "track": track, "character": "b"},
            headers={"HX-Request": "true"},
        )
    assert r.status_code == 200 and 'data-testid="character-b"' in r.get_data(as_text=True)
    return loaded[0]


def test_an_edit_does_not_read_the_whole_history(app: Flask, client: FlaskClient) -> None:
    builder = start_demo(client)
    small = _edit_loads(client, builder)
    _grow_history(app, int(builder.rsplit("/", 1)[-1]), 2_000)
    big = _edit_loads(client, builder)
    assert small < 60 and big < 60, (small, big)  # the songs edited and their candidates, not 2,060
    # The whole page (not an edit) still lists the history, most loved first, bounded.
    assert len(TRACK.findall(client.get(builder).get_data(as_text=True))) == 200
