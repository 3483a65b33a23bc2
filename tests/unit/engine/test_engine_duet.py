"""Duets: the friend's contrasting side, its finale chosen for the best mash-up with the given finale."""

from __future__ import annotations

import pytest

from fanapp.engine import EngineError, Features, TrackProfile, complement, score_pair
from fanapp.engine.duet import contrast


def song(ident: str, artist: str, *, plays: int = 5, **sound: float) -> TrackProfile:
    return TrackProfile(
        id=ident,
        title=ident.capitalize(),
        artists=(artist,),
        play_count=plays,
        features=Features.of("test", **sound),
    )


# The inviter's character: quiet, sad, acoustic songs, the finale in 8A at 90 BPM.
GIVEN = [
    song("g1", "Quiet One", energy=0.20, valence=0.20, acousticness=0.9, tempo=80.0, key=9.0, mode=0.0),
    song("g2", "Quiet Two", energy=0.25, valence=0.25, acousticness=0.85, tempo=85.0, key=2.0, mode=0.0),
    song("g3", "Quiet Three", energy=0.35, valence=0.3, acousticness=0.8, tempo=90.0, key=9.0, mode=0.0),
]


def friend_history() -> list[TrackProfile]:
    """A friend with a loud side and a quiet side."""
    loud = [
        song(
            f"loud{n}",
            f"Loud {n}",
            energy=0.84 + n / 100,
            valence=0.8,
            acousticness=0.1,
            tempo=92.0 + n,
            key=3.0,
            mode=1.0,
        )
        for n in range(6)
    ]
    loud.append(
        song(
            "loud-fit", "Loud Fit", energy=0.87, valence=0.8, acousticness=0.1, tempo=90.0, key=9.0, mode=0.0
        )
    )
    quiet = [
        song(f"soft{n}", f"Soft {n}", energy=0.2 + n / 100, valence=0.25, acousticness=0.9, tempo=70.0 + n)
        for n in range(6)
    ]
    return loud + quiet


def test_the_friend_plays_the_side_that_contrasts_most_and_ends_on_the_best_mash_up() -> None:
    friend = friend_history()
    duet = complement(GIVEN, friend)
    ids = [p.track_id for p in duet.character.arc]
    assert duet.character.key == "b"
    assert all(i.startswith("loud") for i in ids), ids  # the loud side, against a quiet character
    assert set(ids) <= {t.id for t in friend}
    pair = duet.mashups[0]
    assert pair.a_id == "g3"  # the given finale, untouched
    assert pair.b_id == ids[-1]  # the friend's finale
    by_id = {t.id: t for t in friend}
    scores = {c: score_pair(GIVEN[-1], by_id[c]) for c in duet.candidates}
    assert pair.score == max(s.score for s in scores.values() if s)  # the best of the friend's finales
    assert scores[pair.b_id] is not None and scores[pair.b_id].reasons == pair.reasons  # as any episode
    assert all(p.a_id == "g3" and p.b_id in duet.candidates for p in duet.mashups)


def test_the_same_inputs_give_the_same_duet() -> None:
    assert complement(GIVEN, friend_history()) == complement(GIVEN, friend_history())


def test_without_known_sound_the_better_mash_up_decides() -> None:
    bare = [TrackProfile(id=f"s{n}", title=f"S{n}", artists=(f"A{n}",), play_count=n + 1) for n in range(6)]
    duet = complement(GIVEN, bare)
    assert {p.track_id for p in duet.character.arc} <= {t.id for t in bare}
    assert duet.mashups and duet.mashups[0].a_id == "g3"


def test_one_song_is_enough_and_no_song_is_a_clear_error() -> None:
    duet = complement(GIVEN, [song("only", "Someone", energy=0.9)])
    assert [p.track_id for p in duet.character.arc] == ["only"]
    with pytest.raises(EngineError, match="empty"):
        complement(GIVEN, [])
    with pytest.raises(EngineError, match="no songs"):
        complement([], friend_history())


def test_a_friend_who_only_has_the_given_artist_gets_no_mash_up_with_themself() -> None:
    same = [song(f"q{n}", "Quiet Three", energy=0.5) for n in range(4)]
    duet = complement(GIVEN, same)
    assert duet.mashups == ()  # one artist never pairs with themself; the builder says so at publish


def test_contrast_reads_only_what_both_know() -> None:
    assert contrast({"energy": 0.2}, {"valence": 0.9}) is None
    assert contrast({"energy": 0.2, "era": 0.5}, {"energy": 0.8}) == pytest.approx(0.6)
