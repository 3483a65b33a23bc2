"""Bad input: duplicates, local files, absurd values and tiny histories give sense or a clear error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from fanapp.engine import EngineError, Features, TrackProfile, propose, score_mashups
from fanapp.engine.history import distinct

SPEC_MESSAGE = "We need at least 2 different songs to cast two characters; pick a few more."


def song(ident: str, title: str | None = None, artist: str = "Someone", **kwargs: object) -> TrackProfile:
    return TrackProfile(id=ident, title=title or f"Song {ident}", artists=(artist,), **kwargs)  # type: ignore[arg-type]


def test_empty_history() -> None:
    with pytest.raises(EngineError, match="empty") as caught:
        propose([])
    assert "at least 2 different songs" in str(caught.value)


def test_one_song() -> None:
    with pytest.raises(EngineError) as caught:
        propose([song("a")])
    assert str(caught.value) == SPEC_MESSAGE


def test_one_song_many_times() -> None:
    copies = [
        song("a"),
        song("a", play_count=3),
        song("", title="Song a"),
        song("b", title="Song A (feat. X)"),
    ]
    with pytest.raises(EngineError, match="all the same song"):
        propose(copies)


def test_engine_error_is_a_value_error() -> None:
    assert issubclass(EngineError, ValueError)


def test_something_that_is_not_a_song() -> None:
    with pytest.raises(EngineError, match="not a song"):
        propose([song("a"), song("b"), "song c"])  # type: ignore[list-item]


@pytest.mark.parametrize("arc_length", [0, 2, 6, True])
def test_arc_length_outside_three_to_five(arc_length: int) -> None:
    with pytest.raises(EngineError, match="3 to 5 songs"):
        propose([song(str(n)) for n in range(8)], arc_length=arc_length)


def test_duplicates_by_id_isrc_and_title_merge_into_one_song() -> None:
    march, may = datetime(2025, 3, 1, 23, tzinfo=UTC), datetime(2025, 5, 1, 8, tzinfo=UTC)
    copies = [
        song("x", "Heroes", "David Bowie", top_ranks={"short_term": 9}, play_times=(march,)),
        song("x", "Heroes", "David Bowie", top_ranks={"short_term": 4, "long_term": 30}, play_count=12),
        song("y", "Heroes - 2017 Remaster", "David Bowie", isrc="GBAYE7700050", play_times=(may, march)),
        song("z", "Another Title", "Someone Else", isrc=" gbaye7700050 ", saved_at=may),
        song("", "Heroes (feat. Nobody)", "DAVID BOWIE", features=Features.of("demo", tempo=112)),
    ]
    (merged,) = distinct(copies)
    assert merged.id == "x"
    assert dict(merged.top_ranks) == {"short_term": 4, "long_term": 30}
    assert merged.play_times == (march, may)
    assert merged.plays == 12
    assert merged.saved_at == may
    assert merged.isrc == "GBAYE7700050"
    assert merged.features.get("tempo") == 112


def test_distinct_does_not_depend_on_input_order() -> None:
    tracks = [song("b"), song("a", play_count=2), song("a", play_count=5), song("", "Local", "Me")]
    assert distinct(tracks) == distinct(list(reversed(tracks)))
    assert [t.stable_id for t in distinct(tracks)] == sorted(t.stable_id for t in distinct(tracks))


def test_duplicates_count_once_in_a_proposal() -> None:
    tracks = [song(str(n), features=Features.of("t", energy=n / 10)) for n in range(6)] + [
        song("3"),
        song("4", play_count=9),
    ]
    proposal = propose(tracks)
    members = proposal.a.member_ids + proposal.b.member_ids
    assert sorted(members) == [str(n) for n in range(6)]


def test_remixes_and_live_versions_stay_separate_songs() -> None:
    tracks = [song("a", "Heroes"), song("b", "Heroes (Live)"), song("c", "Heroes - Remix")]
    assert len(distinct(tracks)) == 3


def test_local_files_without_ids() -> None:
    tracks = [
        TrackProfile(id="", title=f"Demo {n}", artists=("Me",), release_year=1990 + n) for n in range(6)
    ]
    proposal = propose(tracks)
    members = proposal.a.member_ids + proposal.b.member_ids
    assert sorted(members) == sorted(t.stable_id for t in tracks)
    assert all(m.startswith("local:") for m in members)
    assert propose(tracks) == proposal


def test_absurd_feature_values_are_ignored_not_repaired() -> None:
    absurd = [
        TrackProfile(
            id=str(n),
            title=f"Song {n}",
            artists=("Someone",),
            features=Features.of("bad", tempo=[0, 1000][n % 2], key=-1, mode=2, energy=1.5, valence=-3),
        )
        for n in range(6)
    ]
    proposal = propose(absurd)
    text = " ".join(
        [p.reason for c in (proposal.a, proposal.b) for p in c.arc]
        + [r for pair in proposal.mashups for r in pair.reasons]
    )
    for invented in ("1000", "BPM", "energy", "1.50", "-1"):
        assert invented not in text
    assert all(not pair.uses_features for pair in proposal.mashups)
    assert proposal.basis != "sound and mood"


def test_odd_listening_data_does_not_break_anything() -> None:
    naive = datetime(2025, 1, 1, 23)
    tracks = [
        song("a", release_year=0, play_count=-4, top_ranks={"short_term": 0}),
        song("b", release_year=99999, duration_ms=-1, top_ranks={"weird_term": 3}),
        song("c", play_times=(naive, datetime(2025, 1, 2, 1, tzinfo=UTC))),
        song("c", play_times=(naive,)),
        TrackProfile(id="d", title="", artists=()),
        TrackProfile(id="e", title="   ", artists=("",)),
    ]
    proposal = propose(tracks)
    assert len(proposal.a.member_ids) + len(proposal.b.member_ids) == 5


def test_score_mashups_with_only_bad_values() -> None:
    bad = Features.of("bad", tempo=float("nan"), key=12, mode=0.5, energy=float("inf"))
    pairs = score_mashups([song("a", features=bad)], [song("b", artist="Someone else", features=bad)])
    assert len(pairs) == 1
    assert not pairs[0].verified and pairs[0].mix.verdict == "not checked"
