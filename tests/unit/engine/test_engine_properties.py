"""Invariants that hold for any history, however odd: checked with Hypothesis."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fanapp.engine import (
    FEATURE_NAMES,
    RULE,
    EngineError,
    Features,
    TrackProfile,
    propose,
    score_mashups,
    slot_for,
    tell_story,
)
from fanapp.engine.history import distinct
from fanapp.engine.mashup import NOT_CHECKED

RELAXED = settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])

moments = st.datetimes(min_value=datetime(2015, 1, 1), max_value=datetime(2026, 1, 1), timezones=st.just(UTC))
feature_values = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, 1000.0, -1.0, 0.5, 1.0, 120.0, 9.0, 11.0]),
    st.floats(min_value=0, max_value=1),
    st.floats(min_value=60, max_value=180),
    st.integers(min_value=0, max_value=11),
)
features = st.fixed_dictionaries({}, optional=dict.fromkeys(FEATURE_NAMES, feature_values)).map(
    lambda values: Features.of("hypothesis", **values)
)
listening = {
    "release_year": st.none() | st.integers(1800, 2200),
    "top_ranks": st.dictionaries(
        st.sampled_from(["short_term", "medium_term", "long_term", "odd"]), st.integers(-2, 60)
    ),
    "play_times": st.lists(moments, max_size=3).map(tuple),
    "play_count": st.integers(-3, 10**6),
    "saved_at": st.none() | moments,
    "features": features,
}
# Small alphabets on purpose: duplicates by id, ISRC and title, and local files, turn up often.
tracks = st.builds(
    TrackProfile,
    id=st.sampled_from(["", " ", "a", "b", "c", "d", "e", "f", "g", "h", "i", "j"]),
    title=st.sampled_from(["", "Heroes", "Heroes - Remastered", "Song", "Other", "Ünïcode ♫"])
    | st.text(max_size=6),
    artists=st.lists(st.sampled_from(["", "Bowie", "BOWIE", "Adele", "Queen"]), max_size=2).map(tuple),
    isrc=st.none() | st.sampled_from(["ISRC1", " isrc1 ", "ISRC2", ""]),
    **listening,
)
histories = st.lists(tracks, max_size=30)


def _lead(track: TrackProfile) -> str:
    return track.artists[0].strip().casefold() if track.artists and track.artists[0].strip() else ""


@RELAXED
@given(histories)
def test_any_history_gives_a_sound_proposal_or_a_clear_error(history: list[TrackProfile]) -> None:
    songs = distinct(history)
    try:
        proposal = propose(history)
    except EngineError as error:
        assert len(songs) < 2
        assert "at least 2 different songs" in str(error)
        return
    by_id = {t.stable_id: t for t in songs}
    a, b = proposal.a.member_ids, proposal.b.member_ids
    assert set(a) | set(b) == set(by_id) and not set(a) & set(b)
    assert min(len(a), len(b)) >= 1
    # Distinct lead artists: no credited lead artist plays both characters, unless one artist is all there is.
    leads = [{_lead(by_id[i]) for i in side} - {""} for side in (a, b)]
    groups = {_lead(t) or t.stable_id for t in songs}
    if len(groups) >= 2:
        assert not leads[0] & leads[1]
    assert (proposal.a.key, proposal.b.key) == ("a", "b")
    assert proposal.a.archetype != proposal.b.archetype
    assert proposal.basis
    for character in (proposal.a, proposal.b):
        assert character.name and character.description
        assert 1 <= len(character.arc) <= min(3, len(character.member_ids))
        assert {p.track_id for p in character.arc} <= set(character.member_ids)
        assert [p.slot for p in character.arc] == [
            slot_for(i, len(character.arc)) for i in range(len(character.arc))
        ]
        assert all(p.reason for p in character.arc)
        # The arc shape rule: every song of a story the engine tells counts, or it says why it cannot tell.
        story = tell_story([by_id[p.track_id] for p in character.arc])
        assert story.redundant == () or any("not checked" in n.casefold() for n in story.notes)
        if len(character.arc) < min(3, len(character.member_ids)):
            assert any(RULE in note for note in character.notes)
    assert len(proposal.mashups) <= 3
    for pair in proposal.mashups:
        assert pair.a_id in a and pair.b_id in b
        assert not {x.casefold() for x in by_id[pair.a_id].artists if x.strip()} & {
            x.casefold() for x in by_id[pair.b_id].artists if x.strip()
        }
        assert isinstance(pair.score, int) and 0 <= pair.score <= 100
        assert pair.reasons
        assert (pair.reasons[0] == NOT_CHECKED) == (pair.mix.verdict == "not checked")
    if proposal.mashups:
        first = proposal.mashups[0]
        assert (first.a_id, first.b_id) == (proposal.a.arc[-1].track_id, proposal.b.arc[-1].track_id)
    scores = [pair.score for pair in proposal.mashups]
    assert scores == sorted(scores, reverse=True)
    assert propose(history) == proposal


@RELAXED
@given(st.lists(tracks, max_size=6), st.lists(tracks, max_size=6), st.integers(-1, 5))
def test_mashup_pairs_take_one_song_from_each_side(
    a: list[TrackProfile], b: list[TrackProfile], top: int
) -> None:
    pairs = score_mashups(a, b, top=top)
    a_ids, b_ids = {t.stable_id for t in a}, {t.stable_id for t in b}
    assert len(pairs) <= max(top, 0)
    assert len({(p.a_id, p.b_id) for p in pairs}) == len(pairs)
    for pair in pairs:
        assert pair.a_id in a_ids and pair.b_id in b_ids
        assert pair.a_id != pair.b_id
        assert isinstance(pair.score, int) and 0 <= pair.score <= 100
        assert (pair.reasons[0] == NOT_CHECKED) == (pair.mix.verdict == "not checked")
    assert [p.score for p in pairs] == sorted((p.score for p in pairs), reverse=True)
    assert score_mashups(a, b, top=top) == pairs


distinct_tracks = st.lists(
    st.builds(TrackProfile, id=st.just(""), title=st.just(""), artists=st.just(("Someone",)), **listening),
    min_size=2,
    max_size=25,
).map(lambda found: [replace(t, id=f"t{n}", title=f"Song {n}") for n, t in enumerate(found)])


@RELAXED
@given(distinct_tracks, st.randoms(use_true_random=False))
def test_the_order_of_the_history_does_not_matter(history: list[TrackProfile], rng: object) -> None:
    shuffled = history[:]
    rng.shuffle(shuffled)  # type: ignore[attr-defined]
    assert propose(shuffled) == propose(history)
