"""Mash-ups pinned to the theory: overlay harmony with key lock, a costed transposition, one honest scale."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fanapp.engine import Features, TrackProfile, score_mashups, score_pair
from fanapp.engine.camelot import CODES, parse
from fanapp.engine.history import Table
from fanapp.engine.mashup import CLASH_TOP, CLEAN_FLOOR, NOT_CHECKED, PARTIAL_TOP, grid


def key_of(code: str) -> dict[str, float]:
    """Pitch class and mode of a Camelot code, computed here from the wheel (not from the engine)."""
    number, letter = parse(code)
    major = letter == "B"
    tonic = ((number - 8) * 7) % 12 if major else ((number - 5) * 7) % 12
    return {"key": float(tonic), "mode": float(major)}


def song(ident: str, artist: str | None = None, *, plays: int = 3, **sound: float) -> TrackProfile:
    return TrackProfile(
        id=ident,
        title=ident.capitalize(),
        artists=(artist or f"Artist {ident}",),
        play_count=plays,
        features=Features.of("test", **sound),
    )


def fits_untouched(a: str, b: str) -> bool:
    """The overlay rule, written out: same key, relative, or one step round the wheel."""
    (na, la), (nb, lb) = parse(a), parse(b)
    step = (nb - na) % 12
    return step == 0 if la != lb else step in (0, 1, 11)


def fits_transposed(a: str, b: str) -> int | None:
    """The fewest semitones (0, 1 or 2) one song must move for the pair to fit, None if that is not enough."""
    nb, lb = parse(b)
    for semitones in (0, 1, 2):
        for sign in (1, -1):
            moved = f"{(nb - 1 + 7 * sign * semitones) % 12 + 1}{lb}"
            if fits_untouched(a, moved):
                return semitones
    return None


RATIOS = [r / 100 for r in range(11)]  # 0% to 10%
MULTIPLES = (1.0, 2.0, 0.5)


def test_a_grid_of_keys_and_tempos_follows_key_lock_and_the_overlay_rules() -> None:
    a_songs = [song(f"a{n}", tempo=100.0, energy=0.5, **key_of(code)) for n, code in enumerate(CODES)]
    cases = list(itertools.product(range(24), RATIOS, MULTIPLES))
    b_songs = [
        song(f"b{n}", tempo=100.0 * (1 + ratio) / multiple, energy=0.5, **key_of(CODES[k]))
        for n, (k, ratio, multiple) in enumerate(cases)
    ]
    a, b = Table.of(a_songs), Table.of(b_songs)
    found = grid(a, b)
    for i, code_a in enumerate(CODES):
        for j, (k, ratio, multiple) in enumerate(cases):
            code_b = CODES[k]
            needed = fits_transposed(code_a, code_b)
            tempo_ok = ratio <= 0.08 + 1e-9
            assert bool(found.key_good[i, j]) == (needed is not None), (code_a, code_b)
            # Key lock: a tempo change never moves a key, so the semitones needed do not depend on it.
            assert abs(int(found.shift[i, j])) == (needed or 0), (code_a, code_b, ratio)
            assert bool(found.tempo_good[i, j]) == tempo_ok, (ratio, multiple)
            assert float(found.multiple[i, j]) == multiple
            score = float(found.score[i, j])
            if needed is not None and tempo_ok:
                assert score >= CLEAN_FLOOR
            else:
                assert score <= CLASH_TOP


@pytest.mark.parametrize(("code_b", "relation"), [("8A", "same key"), ("8B", "relative"), ("9A", "adjacent")])
def test_a_transposed_pair_never_beats_an_untouched_one_as_good(code_b: str, relation: str) -> None:
    anchor = song("anchor", tempo=120, energy=0.5, **key_of("8A"))
    untouched = score_pair(anchor, song("plain", tempo=120, energy=0.5, **key_of(code_b)))
    moved_code = f"{(parse(code_b)[0] - 1 + 7) % 12 + 1}{parse(code_b)[1]}"  # a semitone away
    transposed = score_pair(anchor, song("moved", tempo=120, energy=0.5, **key_of(moved_code)))
    assert untouched is not None and transposed is not None
    assert untouched.mix.relation == transposed.mix.relation == relation
    assert transposed.mix.semitones != 0 and untouched.mix.semitones == 0
    assert transposed.score < untouched.score
    # ...and every transposed pair sits below every untouched good pair.
    loosest = score_pair(anchor, song("loose", tempo=120, energy=0.5, **key_of("9A")))
    best_moved = score_pair(anchor, song("close", tempo=120, energy=0.5, **key_of("3A")))
    assert loosest is not None and best_moved is not None and best_moved.mix.semitones
    assert best_moved.score < loosest.score


def test_relative_is_worth_at_least_one_step_round_the_wheel() -> None:
    anchor = song("anchor", tempo=120, **key_of("8A"))
    relative = score_pair(anchor, song("rel", tempo=120, **key_of("8B")))
    step = score_pair(anchor, song("step", tempo=120, **key_of("9A")))
    assert relative is not None and step is not None and relative.score >= step.score


def test_the_transposition_is_said_in_the_reason() -> None:
    # E minor (9A) and E flat minor (2A): E flat minor up a semitone is E minor.
    pair = score_pair(
        song("first", tempo=120, plays=50, **key_of("9A")), song("second", tempo=121, plays=1, **key_of("2A"))
    )
    assert pair is not None
    assert pair.mix.transposed == "b" and pair.mix.semitones == 1 and pair.mix.shifted == "9A"
    assert "'Second' is transposed up a semitone to E minor (9A)" in pair.reasons
    assert "both in 9A (E minor): the same key" in pair.reasons
    assert any("with key lock, keys unchanged" in r for r in pair.reasons)


def test_double_time_is_said() -> None:
    pair = score_pair(song("a", tempo=124, **key_of("8A")), song("b", tempo=63, **key_of("8A")))
    assert pair is not None and pair.mix.multiple == 2.0
    assert pair.reasons[0].startswith("'A' 124 BPM and 'B' 63 BPM counted at double time (126): 2% apart")


def test_transition_moves_clash_when_layered() -> None:
    for code in ("9B", "10A", "7B"):  # diagonal, +2 "energy boost", loose diagonal from 8A
        pair = score_pair(song("a", tempo=120, **key_of("8A")), song("b", tempo=120, **key_of(code)))
        assert pair is not None
        # The engine may still rescue it by transposing; it never calls the move itself good.
        if pair.mix.semitones == 0:
            assert pair.mix.verdict == "clash"


def test_a_clash_caps_the_whole_score_whatever_the_story() -> None:
    loved = {"plays": 10**6}
    clash = score_pair(
        song("a", tempo=120, energy=0.5, valence=0.5, **key_of("8A"), **loved),
        song("b", tempo=120, energy=0.5, valence=0.5, **key_of("2B"), **loved),
    )
    far = score_pair(
        song("c", tempo=90, energy=0.5, **key_of("8A"), **loved),
        song("d", tempo=125, energy=0.5, **key_of("8A"), **loved),
    )
    for pair in (clash, far):
        assert pair is not None and pair.mix.verdict == "clash" and pair.score <= CLASH_TOP
    assert far is not None and any("too far to stretch (8% at most)" in r for r in far.reasons)


sound = st.fixed_dictionaries(
    {},
    optional={
        "tempo": st.floats(60, 180),
        "key": st.integers(0, 11).map(float),
        "mode": st.integers(0, 1).map(float),
        "energy": st.floats(0, 1),
        "valence": st.floats(0, 1),
    },
)
listens = st.integers(0, 10**6)


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(sound, listens), min_size=2, max_size=8),
    st.lists(st.tuples(sound, listens), min_size=2, max_size=8),
)
def test_an_unchecked_pair_never_outranks_a_clean_one(a: list, b: list) -> None:  # type: ignore[type-arg]
    side_a = [song(f"a{n}", f"A{n}", plays=p, **f) for n, (f, p) in enumerate(a)]
    side_b = [song(f"b{n}", f"B{n}", plays=p, **f) for n, (f, p) in enumerate(b)]
    pairs = score_mashups(side_a, side_b, top=len(a) * len(b))
    assert len(pairs) == len(a) * len(b)
    for pair in pairs:
        assert 0 <= pair.score <= 100
        if pair.mix.verdict == "clean":
            assert pair.score >= CLEAN_FLOOR and pair.verified
        elif pair.mix.verdict == "clash":
            assert pair.score <= CLASH_TOP
        else:
            assert pair.score <= PARTIAL_TOP < CLEAN_FLOOR and pair.mix.label.startswith("not checked")
    verdicts = [p.mix.verdict for p in pairs]
    if "clean" in verdicts:
        assert verdicts[0] == "clean"
    last_clean = max((n for n, v in enumerate(verdicts) if v == "clean"), default=-1)
    assert all(v == "clean" for v in verdicts[: last_clean + 1])


def test_with_nothing_known_the_words_claim_nothing() -> None:
    pair = score_pair(song("a"), song("b"))
    assert pair is not None and pair.mix.verdict == "not checked" and pair.reasons[0] == NOT_CHECKED
    joined = " ".join(pair.reasons)
    for claim in ("BPM", "key", "same", "wheel", "energy", "night", "day"):
        assert claim not in joined.replace(NOT_CHECKED, "")


def test_tempo_only_is_partly_checked_and_says_so() -> None:
    pair = score_pair(song("a", tempo=120), song("b", tempo=121))
    assert pair is not None and pair.mix.verdict == "partly checked"
    assert pair.mix.label == "not checked: no key known" and pair.score <= PARTIAL_TOP
    assert "key not checked: no key known for 'A' or 'B'" in pair.reasons


def test_what_is_known_on_one_side_is_kept() -> None:
    pair = score_pair(song("a", tempo=120, key=9.0, mode=0.0), song("b", key=4.0))
    assert pair is not None
    assert pair.mix.a_bpm == 120 and pair.mix.b_bpm is None and pair.mix.a_key == "8A"
    assert pair.mix.b_pitch == "E" and pair.mix.b_key is None
    assert "'B' is in E but its mode is unknown" in pair.reasons


def test_no_pair_with_oneself_or_an_artist_with_themself() -> None:
    same = song("x", "Thee Oh Sees", tempo=120, **key_of("8A"))
    other = song("y", "thee oh sees", tempo=120, **key_of("8A"))
    assert score_pair(same, other) is None
    assert score_mashups([same], [other]) == ()
    featured = TrackProfile(id="z", title="Z", artists=("King Krule", "Thee Oh Sees"))
    assert score_pair(same, featured) is None


def test_scores_depend_on_the_two_songs_alone() -> None:
    a = song("a", tempo=120, energy=0.4, **key_of("8A"))
    b = song("b", tempo=118, energy=0.6, **key_of("9A"))
    crowd = [song(f"c{n}", tempo=80 + n, **key_of(CODES[n % 24])) for n in range(12)]
    alone = score_pair(a, b)
    among = next(
        p for p in score_mashups([a, *crowd], [b, *crowd[:3]], top=200) if (p.a_id, p.b_id) == ("a", "b")
    )
    assert alone == among
    assert np.isfinite(alone.score if alone else np.nan)
