"""Arcs: story slots, the order of a character's songs, and why each sits where it does."""

from __future__ import annotations

import numpy as np
import pytest

from fanapp.engine import RULE, SLOTS, Features, TrackProfile, arcs, order_arc, propose, slot_for, tell_story


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


def titles(placements: tuple) -> list[str]:  # type: ignore[type-arg]
    return [p.track_id for p in placements]


def test_words_follow_the_energy_as_given() -> None:
    arc = order_arc([song("a", energy=0.3), song("b", energy=0.8), song("c", energy=0.5)])
    assert titles(arc) == ["a", "b", "c"]
    assert [p.reason for p in arc] == [
        "opens softly (energy 0.30)",
        "raises the stakes (energy 0.30 → 0.80)",
        "comes down for the finale (energy 0.80 → 0.50)",
    ]


def test_a_tie_claims_no_change() -> None:
    arc = order_arc([song("a", energy=0.0), song("b", energy=0.0), song("c", energy=0.6)])
    assert arc[1].reason == "stays where the story was (energy 0.00 → energy 0.00)"
    assert "raises" not in arc[1].reason


def test_the_shows_rule_flags_a_song_the_story_can_do_without() -> None:
    story = tell_story([song("a", energy=0.2), song("b", energy=0.5), song("c", energy=0.8)])
    assert story.redundant == ("b",)
    assert story.notes == (
        "'Song b' could go: without it the story still rises. "
        "The show's rule: if you can take a song out and the story can still be told, cut it.",
    )
    turning = tell_story([song("a", energy=0.2), song("b", energy=0.8), song("c", energy=0.5)])
    assert turning.redundant == () and turning.notes == ()


@pytest.mark.parametrize(
    ("series", "shape", "follows"),
    [
        ([0.2, 0.8, 0.4], (1, -1), True),
        ([0.8, 0.2, 0.6], (-1, 1), True),
        ([0.2, 0.5, 0.8], (1,), False),
        ([0.5, 0.52, 0.9], (1,), False),
        ([0.3, 0.9, 0.2, 0.7], (1, -1, 1), True),
        ([0.4, 0.4], (), False),
    ],
)
def test_shape_and_rule(series: list[float], shape: tuple[int, ...], follows: bool) -> None:
    values = np.array(series)
    assert arcs.shape(values, "energy") == shape
    assert arcs.follows_rule(values, "energy") == follows
    assert (arcs.redundant(values, "energy") == []) == follows


def test_without_energy_for_all_the_tempo_tells_the_story() -> None:
    arc = order_arc([song("a", tempo=90, energy=0.5), song("b", tempo=128), song("c", tempo=100)])
    assert arc[1].reason == "picks up the pace (90 → 128 BPM)"


def test_without_features_the_years_tell_the_story() -> None:
    arc = order_arc([song("a", year=1985), song("b", year=2015), song("c", year=1999)])
    assert [p.reason for p in arc] == ["opens in 1985", "jumps ahead: 2015", "ends further back: 1999"]


def test_knowing_nothing_keeps_the_given_order_and_claims_nothing() -> None:
    story = tell_story([song("a"), song("b"), song("c")])
    assert [p.reason for p in story.placements] == [
        "opens the story",
        "carries the story on",
        "closes the story",
    ]
    assert story.notes and "Not checked" in story.notes[0]


def test_order_arc_edge_cases() -> None:
    assert order_arc([]) == ()
    (only,) = order_arc([song("a", energy=0.5)])
    assert (only.slot, only.reason) == ("finale", "the whole story in one song")
    twice = order_arc([song("a", energy=0.5), song("a", energy=0.5), song("b", energy=0.9)])
    assert titles(twice) == ["a", "b"]


def test_absurd_energy_is_not_used() -> None:
    arc = order_arc([song("a", energy=7.0, year=1990), song("b", energy=0.2, year=2010)])
    assert arc[0].reason == "opens in 1990"


def _history(count: int) -> list[TrackProfile]:
    return [
        TrackProfile(
            id=f"t{n:02d}",
            title=f"Song {n}",
            artists=(f"Artist {n % 9}",),
            play_count=n,
            features=Features.of("test", energy=(n * 37 % 100) / 100, valence=(n * 53 % 100) / 100),
        )
        for n in range(count)
    ]


@pytest.mark.parametrize("arc_length", [3, 4, 5])
def test_propose_tells_arcs_of_the_asked_length_that_follow_the_rule(arc_length: int) -> None:
    proposal = propose(_history(40), arc_length=arc_length)
    by_id = {t.stable_id: t for t in _history(40)}
    for character in (proposal.a, proposal.b):
        assert len(character.arc) == arc_length
        assert [p.slot for p in character.arc] == [slot_for(i, arc_length) for i in range(arc_length)]
        assert {p.track_id for p in character.arc} <= set(character.member_ids)
        story = tell_story([by_id[p.track_id] for p in character.arc])
        assert story.redundant == ()
        assert [p.reason for p in story.placements] == [p.reason for p in character.arc]


def test_each_arc_ends_on_its_half_of_the_mashup() -> None:
    proposal = propose(_history(30))
    best = proposal.mashups[0]
    assert (proposal.a.arc[-1].track_id, proposal.b.arc[-1].track_id) == (best.a_id, best.b_id)
    assert best.a_id in proposal.candidates[0] and best.b_id in proposal.candidates[1]


def test_finales_represent_their_character() -> None:
    proposal = propose(_history(40))
    for character, candidates in zip((proposal.a, proposal.b), proposal.candidates, strict=True):
        assert character.arc[-1].track_id in candidates
        assert set(candidates) <= set(character.member_ids)


def test_a_story_that_cannot_be_told_in_full_is_cut_and_says_so() -> None:
    flat = [
        TrackProfile(
            id=f"f{n}",
            title=f"Flat {n}",
            artists=(f"F{n}",),
            features=Features.of("t", energy=0.5, valence=0.5),
        )
        for n in range(4)
    ]
    lively = [
        TrackProfile(
            id=f"l{n}",
            title=f"Lively {n}",
            artists=(f"L{n}",),
            features=Features.of("t", energy=e, valence=0.9),
        )
        for n, e in enumerate((0.6, 0.95, 0.7, 0.99))
    ]
    proposal = propose(flat + lively)
    short = next(c for c in (proposal.a, proposal.b) if c.member_ids[0].startswith("f"))
    assert len(short.arc) == 1
    assert any("told in one song, not 3" in note and RULE in note for note in short.notes)


def test_short_characters_get_short_arcs() -> None:
    proposal = propose(_history(4), arc_length=5)
    assert [len(proposal.a.arc), len(proposal.b.arc)] == [2, 2]
