"""Casting: two contrasting, balanced, explainable characters from a history, always the same way."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from fanapp.engine import Features, Proposal, TrackProfile, propose
from fanapp.engine.archetypes import archetypes


def song(
    n: int, *, artist: str = "", plays: int = 0, year: int | None = None, **sound: float
) -> TrackProfile:
    return TrackProfile(
        id=f"t{n:03d}",
        title=f"Song {n}",
        artists=(artist or f"Artist {n}",),
        release_year=year,
        play_count=plays,
        features=Features.of("test", **sound),
    )


def loud(n: int, **kwargs: float) -> TrackProfile:
    return song(n, energy=0.85 + n % 3 * 0.03, valence=0.8, danceability=0.8, acousticness=0.05, **kwargs)


def soft(n: int, **kwargs: float) -> TrackProfile:
    return song(n, energy=0.2 + n % 3 * 0.03, valence=0.25, danceability=0.3, acousticness=0.9, **kwargs)


def members(proposal: Proposal) -> tuple[set[str], set[str]]:
    return set(proposal.a.member_ids), set(proposal.b.member_ids)


def test_splits_by_sound_and_mood_when_known() -> None:
    tracks = [loud(n) for n in range(6)] + [soft(n) for n in range(6, 12)]
    proposal = propose(tracks)
    a, b = members(proposal)
    loud_ids, soft_ids = {t.id for t in tracks[:6]}, {t.id for t in tracks[6:]}
    assert {frozenset(a), frozenset(b)} == {frozenset(loud_ids), frozenset(soft_ids)}
    assert proposal.basis.startswith("sound: ")


def test_characters_get_different_archetypes_with_descriptions() -> None:
    proposal = propose([loud(n) for n in range(6)] + [soft(n) for n in range(6, 12)])
    known = {arch.id: arch.name for arch in archetypes()}
    assert proposal.a.archetype != proposal.b.archetype
    for character in (proposal.a, proposal.b):
        assert known[character.archetype] == character.name
        assert character.description and "\n" not in character.description
        assert "{" not in character.description
    assert {proposal.a.archetype, proposal.b.archetype} <= {
        "spark",
        "dancer",
        "storm",
        "dreamer",
        "heartbreaker",
    }


def test_character_a_holds_the_most_loved_song() -> None:
    tracks = [loud(n) for n in range(6)] + [soft(n) for n in range(6, 12)]
    favourite = tracks[9]
    tracks[9] = song(9, plays=500, energy=0.2, valence=0.25, danceability=0.3, acousticness=0.9)
    proposal = propose(tracks)
    assert favourite.id in proposal.a.member_ids
    assert proposal.a.member_ids[0] == favourite.id


@pytest.mark.parametrize("loud_count", [6, 8, 9])
def test_each_character_gets_at_least_three_songs(loud_count: int) -> None:
    tracks = [loud(n) for n in range(loud_count)] + [soft(n) for n in range(loud_count, 10)]
    a, b = members(propose(tracks))
    assert len(a) >= 3 and len(b) >= 3
    assert len(a) + len(b) == 10


def test_big_histories_stay_balanced() -> None:
    tracks = [loud(n) for n in range(95)] + [soft(n) for n in range(95, 100)]
    a, b = members(propose(tracks))
    assert min(len(a), len(b)) >= 25


@pytest.mark.parametrize(("count", "sizes"), [(2, [1, 1]), (3, [1, 2]), (4, [2, 2]), (5, [2, 3])])
def test_tiny_histories_split_as_evenly_as_possible(count: int, sizes: list[int]) -> None:
    tracks = [loud(n) for n in range(count - 1)] + [soft(count)]
    a, b = members(propose(tracks))
    assert sorted([len(a), len(b)]) == sizes


def test_without_features_splits_by_era() -> None:
    tracks = [song(n, year=1975 + n) for n in range(6)] + [song(n, year=2018 + n % 6) for n in range(6, 12)]
    proposal = propose(tracks)
    assert proposal.basis == "era"
    a, b = members(proposal)
    old = {t.id for t in tracks[:6]}
    assert old in (a, b)
    assert {proposal.a.archetype, proposal.b.archetype} <= {
        "crate-digger",
        "time-traveller",
        "trendsetter",
        "nostalgic",
        "throwback",
    }
    assert {c.archetype for c in (proposal.a, proposal.b)} & {"crate-digger", "time-traveller"}
    assert any("1970s" in c.description for c in (proposal.a, proposal.b))


def test_without_features_splits_by_time_of_day() -> None:
    start = datetime(2025, 3, 1, tzinfo=UTC)

    def played(n: int, hour: int) -> TrackProfile:
        times = tuple(start + timedelta(days=d, hours=hour) for d in range(6))
        return TrackProfile(id=f"t{n}", title=f"Song {n}", artists=(f"Artist {n}",), play_times=times)

    proposal = propose([played(n, 23) for n in range(5)] + [played(n, 13) for n in range(5, 10)])
    assert proposal.basis == "time of day"
    assert {proposal.a.archetype, proposal.b.archetype} == {"night-owl", "day-shift"}
    night = next(c for c in (proposal.a, proposal.b) if c.archetype == "night-owl")
    assert set(night.member_ids) == {f"t{n}" for n in range(5)}


def test_time_of_day_from_single_plays_is_noise_and_is_not_used() -> None:
    rng = random.Random(11)
    start = datetime(2025, 3, 1, tzinfo=UTC)
    tracks = [
        TrackProfile(
            id=f"t{n}",
            title=f"Song {n}",
            artists=(f"Artist {n}",),
            play_times=(start + timedelta(days=n, hours=rng.choice((2, 14))),),
            release_year=1990 + n % 30,
        )
        for n in range(40)
    ]
    proposal = propose(tracks)
    assert proposal.basis == "era"
    assert not {proposal.a.archetype, proposal.b.archetype} & {"night-owl", "day-shift", "twilight"}


def test_a_time_of_day_split_reproduces_on_half_the_plays() -> None:
    rng = random.Random(5)
    start = datetime(2025, 3, 1, tzinfo=UTC)

    def played(n: int, night_share: float) -> TrackProfile:
        hours = [23 if rng.random() < night_share else 13 for _ in range(8)]
        times = tuple(start + timedelta(days=d, hours=h) for d, h in enumerate(hours))
        return TrackProfile(id=f"t{n}", title=f"Song {n}", artists=(f"Artist {n}",), play_times=times)

    tracks = [played(n, 0.9) for n in range(10)] + [played(n, 0.1) for n in range(10, 20)]
    proposal = propose(tracks)
    assert proposal.basis == "time of day"
    owl = next(c for c in (proposal.a, proposal.b) if c.archetype == "night-owl")
    assert len(set(owl.member_ids) & {f"t{n}" for n in range(10)}) >= 8


def test_one_artist_never_plays_both_characters() -> None:
    tracks = [song(n, artist="Thee Oh Sees", energy=0.1 + 0.08 * n, valence=0.5) for n in range(8)]
    tracks += [
        song(n, artist=name, energy=0.9, valence=0.2)
        for n, name in zip(range(8, 11), ("King Krule", "King Gizzard", "System Of A Down"), strict=False)
    ]
    proposal = propose(tracks)
    by_id = {t.id: t.artists[0] for t in tracks}
    a = {by_id[i] for i in proposal.a.member_ids}
    b = {by_id[i] for i in proposal.b.member_ids}
    assert not a & b
    for pair in proposal.mashups:
        assert by_id[pair.a_id] != by_id[pair.b_id]


def test_without_features_splits_by_recent_versus_long_time_listening() -> None:
    recent = [
        TrackProfile(id=f"r{n}", title=f"New {n}", artists=("A",), top_ranks={"short_term": n + 1})
        for n in range(5)
    ]
    loyal = [
        TrackProfile(id=f"l{n}", title=f"Old {n}", artists=("B",), top_ranks={"long_term": n + 1})
        for n in range(5)
    ]
    proposal = propose(recent + loyal)
    assert proposal.basis == "recent versus long-time favourites"
    assert {frozenset(proposal.a.member_ids), frozenset(proposal.b.member_ids)} == {
        frozenset(t.id for t in recent),
        frozenset(t.id for t in loyal),
    }


def test_with_only_artists_splits_by_artist() -> None:
    tracks = [
        TrackProfile(id=f"t{n}", title=f"Song {n}", artists=("Adele" if n < 5 else "Queen",))
        for n in range(9)
    ]
    proposal = propose(tracks)
    assert proposal.basis == "artists"
    a, b = members(proposal)
    assert {frozenset(a), frozenset(b)} == {
        frozenset(f"t{n}" for n in range(5)),
        frozenset(f"t{n}" for n in range(5, 9)),
    }


def test_with_one_artist_splits_favourites_from_the_rest() -> None:
    tracks = [
        TrackProfile(id=f"t{n}", title=f"Song {n}", artists=("Adele",), play_count=n * 10) for n in range(8)
    ]
    proposal = propose(tracks)
    assert proposal.basis == "how often you play them"
    assert set(proposal.a.member_ids) == {f"t{n}" for n in range(4, 8)}


def test_knowing_nothing_still_gives_an_even_split() -> None:
    tracks = [TrackProfile(id=f"t{n}", title=f"Song {n}", artists=()) for n in range(7)]
    proposal = propose(tracks)
    assert "too little is known" in proposal.basis
    a, b = members(proposal)
    assert sorted([len(a), len(b)]) == [3, 4]


def test_mixed_data_places_every_song() -> None:
    rng = random.Random(7)
    tracks = []
    for n in range(60):
        sound = {"energy": rng.random(), "valence": rng.random()} if n % 10 < 7 else {}
        tracks.append(song(n, year=rng.randrange(1970, 2025), plays=rng.randrange(20), **sound))
    proposal = propose(tracks)
    a, b = members(proposal)
    assert a | b == {t.id for t in tracks} and not a & b
    assert proposal.basis.startswith("sound: ")
    assert min(len(a), len(b)) >= 15


def test_same_history_same_proposal_in_any_order() -> None:
    rng = random.Random(3)
    tracks = [
        song(
            n,
            plays=rng.randrange(30),
            year=rng.randrange(1960, 2025),
            energy=rng.random(),
            valence=rng.random(),
        )
        for n in range(40)
    ]
    first = propose(tracks)
    assert propose(tracks) == first
    shuffled = tracks[:]
    rng.shuffle(shuffled)
    assert propose(shuffled) == first


def test_ten_thousand_songs() -> None:
    rng = random.Random(11)
    tracks = [
        song(
            n, plays=rng.randrange(50), energy=rng.random(), valence=rng.random(), tempo=rng.uniform(60, 180)
        )
        for n in range(10_000)
    ]
    proposal = propose(tracks)
    assert len(proposal.a.member_ids) + len(proposal.b.member_ids) == 10_000
    assert len(proposal.mashups) == 3


def test_when_sound_does_not_vary_listening_decides() -> None:
    tracks = [song(n, year=1970 + n * 6, energy=0.5, valence=0.5) for n in range(8)]
    assert propose(tracks).basis == "era"


def test_tempo_alone_is_not_sound_and_mood() -> None:
    tracks = [song(n, year=1970 + n * 6, tempo=90 + n * 5) for n in range(8)]
    assert propose(tracks).basis == "era"
