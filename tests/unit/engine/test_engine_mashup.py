"""Mash-ups: harmonic-mixing scores, readable reasons, and an honest fallback without features."""

from __future__ import annotations

import re

import pytest

from fanapp.engine import Features, TrackProfile, propose, score_mashups
from fanapp.engine.mashup import FALLBACK_NOTE


def song(ident: str, *, year: int | None = None, plays: int = 0, **sound: float) -> TrackProfile:
    return TrackProfile(
        id=ident,
        title=ident.capitalize(),
        artists=("Someone",),
        release_year=year,
        play_count=plays,
        features=Features.of("test", **sound),
    )


def best(a: TrackProfile, b: TrackProfile) -> tuple[int, tuple[str, ...]]:
    (pair,) = score_mashups([a], [b], top=1)
    return pair.score, pair.reasons


A_MINOR = {"key": 9, "mode": 0}


def test_perfect_match_of_two_finales_scores_95_or_more() -> None:
    score, reasons = best(
        song("one", tempo=122, energy=0.72, **A_MINOR), song("two", tempo=122.4, energy=0.68, **A_MINOR)
    )
    assert score >= 95
    assert reasons == (
        "both about 122 BPM",
        "both in 8A (A minor): the same key",
        "similar energy (0.72 vs 0.68)",
        "both are finales",
    )


def test_unrelated_keys_and_far_tempos_score_low() -> None:
    score, reasons = best(
        song("one", tempo=90, energy=0.2, key=0, mode=1), song("two", tempo=125, energy=0.9, key=6, mode=1)
    )
    assert score <= 30
    assert "90 and 125 BPM: too far apart to beatmatch cleanly" in reasons
    assert "8B and 2B clash: their keys do not mix" in reasons


def test_scores_follow_the_wheel() -> None:
    base = song("one", tempo=120, energy=0.6, **A_MINOR)

    def with_key(key: int, mode: int) -> int:
        return best(base, song("two", tempo=120, energy=0.6, key=key, mode=mode))[0]

    same, adjacent, relative, boost, clash = (
        with_key(9, 0),  # 8A
        with_key(4, 0),  # 9A
        with_key(0, 1),  # 8B
        with_key(11, 0),  # 10A
        with_key(3, 0),  # 2A
    )
    assert same > adjacent > relative > boost > clash


@pytest.mark.parametrize(
    ("key", "mode", "reason"),
    [
        (4, 0, "8A and 9A sit next to each other on the Camelot wheel"),
        (0, 1, "8A and 8B: relative minor and major"),
        (7, 1, "8A and 9B: a diagonal step on the Camelot wheel"),
        (11, 0, "a +2 jump (8A to 10A): a risky energy boost"),
        (7, 0, "a -2 step (8A to 6A): a risky energy drop"),
    ],
)
def test_key_reasons(key: int, mode: int, reason: str) -> None:
    _, reasons = best(song("one", tempo=120, **A_MINOR), song("two", tempo=120, key=key, mode=mode))
    assert reason in reasons


def test_double_time() -> None:
    score, reasons = best(song("one", tempo=124, **A_MINOR), song("two", tempo=62, **A_MINOR))
    assert reasons[0] == "124 and 62 BPM: one plays at double time"
    assert score >= 85
    _, reasons = best(song("one", tempo=90), song("two", tempo=135))
    assert reasons[0] == "90 and 135 BPM: too far apart to beatmatch, even at double time"


@pytest.mark.parametrize(
    ("a", "b", "phrase"),
    [
        (120, 122.4, "2% apart, a seamless"),
        (120, 126, "5% apart, an easy"),
        (120, 129, "8% apart, a stretchy"),
        (115, 122, "6.1% apart, a stretchy"),
    ],
)
def test_tempo_tiers_in_words(a: float, b: float, phrase: str) -> None:
    _, reasons = best(song("one", tempo=a), song("two", tempo=b))
    assert reasons[0] == f"{a:.0f} and {b:.0f} BPM: {phrase} beatmatch"


def test_pitching_to_meet_the_tempo_moves_the_key() -> None:
    # G♯ minor (1A) at 113.2 BPM pitched up 6% meets A minor (8A) at 120 BPM: the same key.
    _, reasons = best(song("one", tempo=120, **A_MINOR), song("two", tempo=113.2, key=8, mode=0))
    assert "pitching 'Two' up 6% to meet the tempo moves it from 1A to 8A" in reasons
    assert "both in 8A (A minor): the same key" in reasons


def test_pitching_can_spoil_a_shared_key() -> None:
    shared, _ = best(song("one", tempo=120, **A_MINOR), song("two", tempo=120, **A_MINOR))
    pitched, reasons = best(song("one", tempo=120, **A_MINOR), song("two", tempo=113.2, **A_MINOR))
    assert "pitching 'Two' up 6% to meet the tempo moves it from 8A to 3A" in reasons
    assert "8A and 3A clash: their keys do not mix" in reasons
    assert pitched < shared - 30


def test_finales_are_preferred() -> None:
    a = [song("a1", tempo=120, energy=0.5, **A_MINOR), song("a2", tempo=120, energy=0.5, **A_MINOR)]
    b = [song("b1", tempo=120, energy=0.5, **A_MINOR), song("b2", tempo=120, energy=0.5, **A_MINOR)]
    pairs = score_mashups(a, b, top=4)
    assert (pairs[0].a_id, pairs[0].b_id) == ("a2", "b2")
    assert pairs[0].reasons[-1] == "both are finales"
    assert (pairs[-1].a_id, pairs[-1].b_id) == ("a1", "b1")
    assert pairs[-1].reasons[-1] == "both are part of the story"
    assert [p.score for p in pairs] == sorted((p.score for p in pairs), reverse=True)


def test_fallback_without_tempo_or_key_says_so_and_invents_nothing() -> None:
    pairs = score_mashups([song("one", year=1984), song("two", year=2019)], [song("three", year=1986)])
    assert pairs
    for pair in pairs:
        assert not pair.uses_features
        assert pair.reasons[0] == FALLBACK_NOTE
        assert 0 <= pair.score <= 85
        text = " ".join(pair.reasons)
        assert "BPM" not in text and "energy" not in text
        assert set(re.findall(r"\d+", text)) <= {"1984", "2019", "1986", "1980"}
    assert (pairs[0].a_id, pairs[0].b_id) == ("one", "three")
    assert pairs[0].reasons == (FALLBACK_NOTE, "both from the 1980s", "'Three' is a finale")


def test_fallback_pairs_score_below_a_verified_match() -> None:
    verified, _ = best(
        song("one", tempo=120, energy=0.6, **A_MINOR), song("two", tempo=120, energy=0.6, **A_MINOR)
    )
    guessed, _ = best(song("one", year=2001, energy=0.6), song("two", year=2001, energy=0.6))
    assert guessed < verified


def test_one_known_measure_is_used_and_the_other_named() -> None:
    pair = score_mashups([song("one", tempo=120, **A_MINOR)], [song("two", tempo=121)])[0]
    assert pair.uses_features
    assert pair.reasons[0] == "both about 120 BPM"
    assert "key unknown for 'Two': harmony not checked" in pair.reasons


def test_absurd_values_fall_back() -> None:
    pair = score_mashups([song("one", tempo=0, key=-1, mode=0)], [song("two", tempo=1000, key=3, mode=1)])[0]
    assert not pair.uses_features
    assert pair.reasons[0] == FALLBACK_NOTE
    assert "1000" not in " ".join(pair.reasons)


def test_never_pairs_a_song_with_itself() -> None:
    x, y = song("x", tempo=120, **A_MINOR), song("y", tempo=120, **A_MINOR)
    assert score_mashups([x], [x]) == ()
    pairs = score_mashups([x, y], [x], top=5)
    assert [(p.a_id, p.b_id) for p in pairs] == [("y", "x")]


def test_empty_sides_and_top() -> None:
    x, y, z = song("x"), song("y"), song("z")
    assert score_mashups([], [x]) == ()
    assert score_mashups([x], []) == ()
    assert score_mashups([x, y], [z], top=0) == ()
    assert len(score_mashups([x, y], [z], top=1)) == 1
    assert len(score_mashups([x, y], [z, song("w")])) == 3


def test_local_files_pair_by_their_derived_id() -> None:
    local = TrackProfile(id="", title="Bedroom Demo", artists=("Me",))
    (pair,) = score_mashups([local], [song("two")])
    assert pair.a_id == local.stable_id and pair.a_id.startswith("local:")


def test_proposal_mashups_take_one_song_from_each_character() -> None:
    tracks = [
        song(f"t{n:02d}", plays=n, tempo=100 + n, key=n % 12, mode=n % 2, energy=(n * 37 % 100) / 100)
        for n in range(30)
    ]
    proposal = propose(tracks)
    assert len(proposal.mashups) == 3
    for pair in proposal.mashups:
        assert pair.a_id in proposal.a.member_ids
        assert pair.b_id in proposal.b.member_ids
        assert pair.uses_features
    assert [p.score for p in proposal.mashups] == sorted((p.score for p in proposal.mashups), reverse=True)
