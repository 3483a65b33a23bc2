"""Arcs: story slots, the order of a character's songs, and why each sits where it does."""

from __future__ import annotations

import pytest

from fanapp.engine import SLOTS, Features, TrackProfile, order_arc, propose, slot_for


def song(ident: str, *, plays: int = 0, year: int | None = None, **sound: float) -> TrackProfile:
    return TrackProfile(
        id=ident,
        title=f"Song {ident}",
        artists=("Someone",),
        release_year=year,
        play_count=plays,
        features=Features.of("test", **sound),
    )


@pytest.mark.parametrize(
    ("count", "slots"),
    [
        (1, ["finale"]),
        (2, ["opening", "finale"]),
        (3, ["opening", "turn", "finale"]),
        (5, ["opening", "turn", "turn", "turn", "finale"]),
    ],
)
def test_slot_for(count: int, slots: list[str]) -> None:
    assert [slot_for(i, count) for i in range(count)] == slots
    assert set(slots) <= set(SLOTS)


@pytest.mark.parametrize(("index", "count"), [(0, 0), (3, 3), (-1, 3)])
def test_slot_for_outside_the_story(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="not part of a story"):
        slot_for(index, count)


def test_energy_rises_to_the_finale() -> None:
    arc = order_arc([song("a", energy=0.82), song("b", energy=0.31), song("c", energy=0.55)])
    assert [(p.track_id, p.slot) for p in arc] == [("b", "opening"), ("c", "turn"), ("a", "finale")]
    assert [p.reason for p in arc] == [
        "opens softly (energy 0.31)",
        "raises the stakes (energy 0.55)",
        "peaks at the finale (energy 0.82)",
    ]


def test_without_energy_for_all_the_tempo_tells_the_story() -> None:
    arc = order_arc([song("a", tempo=128, energy=0.9), song("b", tempo=92), song("c", tempo=110)])
    assert [p.track_id for p in arc] == ["b", "c", "a"]
    assert arc[0].reason == "sets off at 92 BPM"
    assert arc[-1].reason == "the fastest, for the finale (128 BPM)"


def test_without_features_the_years_tell_the_story() -> None:
    arc = order_arc([song("a", year=2021), song("b", year=1987), song("c", year=2004)])
    assert [p.reason for p in arc] == [
        "opens in 1987, the oldest",
        "moves on to 2004",
        "closes in 2021, the newest",
    ]


def test_with_nothing_else_the_most_loved_song_is_the_finale() -> None:
    arc = order_arc([song("a", plays=50), song("b", plays=1), song("c", plays=8)])
    assert [p.track_id for p in arc] == ["b", "c", "a"]
    assert arc[-1].reason == "the most-loved song, saved for the finale"


def test_knowing_nothing_keeps_the_given_order_and_claims_nothing() -> None:
    arc = order_arc([song("z"), song("y"), song("x")])
    assert [p.track_id for p in arc] == ["z", "y", "x"]
    assert [p.reason for p in arc] == ["opens the story", "carries the turn", "closes the story"]


def test_order_arc_edge_cases() -> None:
    assert order_arc([]) == ()
    single = order_arc([song("a", energy=0.5)])
    assert [(p.slot, p.reason) for p in single] == [("finale", "the whole story in one song")]
    twice = order_arc([song("a", energy=0.5), song("a", energy=0.5), song("b", energy=0.1)])
    assert [p.track_id for p in twice] == ["b", "a"]


def test_absurd_energy_is_not_used_to_order() -> None:
    arc = order_arc([song("a", energy=7.0, year=2001), song("b", energy=0.2, year=1999)])
    assert [p.track_id for p in arc] == ["b", "a"]
    assert "7.00" not in " ".join(p.reason for p in arc)


def _history(count: int) -> list[TrackProfile]:
    return [
        song(f"t{n:02d}", plays=n, energy=(n * 37 % 100) / 100, valence=(n * 53 % 100) / 100)
        for n in range(count)
    ]


@pytest.mark.parametrize("arc_length", [3, 4, 5])
def test_propose_tells_arcs_of_the_asked_length(arc_length: int) -> None:
    proposal = propose(_history(30), arc_length=arc_length)
    for character in (proposal.a, proposal.b):
        assert len(character.arc) == arc_length
        assert [p.slot for p in character.arc] == [slot_for(i, arc_length) for i in range(arc_length)]
        assert {p.track_id for p in character.arc} <= set(character.member_ids)
        beginning = character.arc[:-1]
        energies = [float(p.reason.rsplit(" ", 1)[1].rstrip(")")) for p in beginning]
        assert energies == sorted(energies)
        assert "mash-up" in character.arc[-1].reason


def test_each_arc_ends_on_its_half_of_the_mashup() -> None:
    proposal = propose(_history(30))
    best = proposal.mashups[0]
    assert (proposal.a.arc[-1].track_id, proposal.b.arc[-1].track_id) == (best.a_id, best.b_id)
    assert "both are finales" in best.reasons


def test_arc_songs_are_the_most_loved_typical_ones() -> None:
    proposal = propose(_history(30))
    for character in (proposal.a, proposal.b):
        beginning = {p.track_id for p in character.arc[:-1]}
        finale = character.arc[-1].track_id
        assert beginning <= set(character.member_ids[:3])
        assert finale in character.member_ids[:6]


def test_short_characters_get_short_arcs() -> None:
    proposal = propose(_history(4), arc_length=5)
    assert [len(proposal.a.arc), len(proposal.b.arc)] == [2, 2]
