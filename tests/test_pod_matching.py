"""Properties of pod formation: everyone placed once or reported, sizes in bounds, teams spread, working
hours shared, recent pairs split up, and the same seed giving the same pods."""

from __future__ import annotations

from collections import Counter
from datetime import date, time

from hypothesis import given, settings
from hypothesis import strategies as st

from practices.availability import Presence, is_available, week_start, week_windows
from practices.hours import WorkingHours
from practices.pod_matching import Candidate, form_pods, pairs_in, pod_count

DAILY = tuple((d * 1440 + 9 * 60, d * 1440 + 17 * 60) for d in range(5))


def shifted(hours: int) -> tuple[tuple[int, int], ...]:
    return tuple((lo + hours * 60, hi + hours * 60) for lo, hi in DAILY)


people_st = st.lists(
    st.tuples(st.integers(0, 8), st.sampled_from([None, "junior", "senior"]), st.integers(0, 23)),
    min_size=0,
    max_size=60,
)
sizes_st = st.tuples(st.integers(2, 6), st.integers(0, 3)).map(lambda t: (t[0], t[0] + t[1]))


def build(rows: list[tuple[int, str | None, int]]) -> list[Candidate]:
    return [
        Candidate(i + 1, f"t{team}", level, shifted(shift)) for i, (team, level, shift) in enumerate(rows)
    ]


@settings(max_examples=150, deadline=None)
@given(people_st, sizes_st, st.integers(0, 2**32))
def test_everyone_is_in_one_pod_or_reported_and_sizes_stay_in_bounds(rows, sizes, seed):
    lo, hi = sizes
    people = build(rows)
    formation = form_pods(people, seed, lo, hi)
    placed = [i for pod in formation.pods for i in pod]
    assert len(placed) == len(set(placed)), "someone is in two pods"
    assert sorted(placed + list(formation.unplaced)) == sorted(p.id for p in people), "someone was dropped"
    assert all(lo <= len(pod) <= hi for pod in formation.pods)
    if formation.unplaced:
        # Only left out when no pod had room and too few remained to form another.
        assert len(formation.unplaced) < lo
        assert all(len(pod) == hi for pod in formation.pods)


@settings(max_examples=60, deadline=None)
@given(people_st, st.integers(0, 2**32))
def test_the_same_seed_forms_the_same_pods_whatever_the_input_order(rows, seed):
    people = build(rows)
    assert form_pods(people, seed) == form_pods(list(reversed(people)), seed)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 30), min_size=8, max_size=80), st.integers(0, 2**32))
def test_teams_are_spread_when_no_team_outnumbers_the_pods(teams, seed):
    people = [Candidate(i + 1, f"t{team}", None, DAILY) for i, team in enumerate(teams)]
    formation = form_pods(people, seed)
    k = len(formation.pods)
    if max(Counter(teams).values()) <= k:
        for pod in formation.pods:
            names = [people[i - 1].team for i in pod]
            assert len(names) == len(set(names)), f"two from one team in {pod}"


@settings(max_examples=100, deadline=None)
@given(st.integers(8, 40), st.integers(8, 40), st.integers(0, 2**32))
def test_people_whose_hours_never_meet_are_not_put_together(east, west, seed):
    people = [Candidate(i + 1, f"t{i % 5}", None, shifted(-6)) for i in range(east)]
    people += [Candidate(east + i + 1, f"t{i % 5}", None, shifted(+6)) for i in range(west)]
    formation = form_pods(people, seed)
    assert not formation.unplaced and not formation.without_overlap
    for pod in formation.pods:
        assert len({i <= east for i in pod}) == 1, "a pod mixes people who are never at work together"


def test_someone_alone_in_their_hours_is_still_placed_where_hours_meet_most():
    people = [Candidate(i, f"t{i}", None, DAILY) for i in range(1, 9)]
    people.append(Candidate(9, "t9", None, shifted(7)))  # 16:00-24:00: one hour with the others
    people.append(Candidate(10, "t10", None, shifted(12)))  # 21:00-05:00: meets no one
    formation = form_pods(people, seed=3)
    assert not formation.unplaced
    assert sorted(i for pod in formation.pods for i in pod) == list(range(1, 11))
    assert len(formation.without_overlap) == 1  # the one pod that had to take person 10


@settings(max_examples=100, deadline=None)
@given(st.integers(30, 90), st.integers(0, 2**32), st.integers(0, 2**32))
def test_pairs_from_the_last_round_do_not_meet_again_when_there_is_room(n, first_seed, second_seed):
    # From 30 people there are at least as many old pods as anyone's new pod has places, so a round
    # with no repeated pair exists (with 26, a pod of 6 from 5 old pods must repeat one).
    people = [Candidate(i + 1, f"t{i % 3}", None, DAILY) for i in range(n)]
    first = form_pods(people, first_seed)
    recent: dict[int, set[int]] = {p.id: set() for p in people}
    for a, b in pairs_in(first.pods):
        recent[a].add(b)
        recent[b].add(a)
    again = [Candidate(p.id, p.team, None, DAILY, frozenset(recent[p.id])) for p in people]
    second = form_pods(again, second_seed)
    assert not pairs_in(first.pods) & pairs_in(second.pods)


def test_pod_count_folds_odd_remainders_in_and_refuses_too_few():
    assert pod_count(3, 4, 6) == 0
    assert pod_count(4, 4, 6) == 1
    assert pod_count(7, 4, 6) == 1  # one pod of 6 and one person left over
    assert pod_count(11, 4, 6) == 2  # 6 + 5: the remainder folded in, not a pod of 1
    assert pod_count(10_000, 4, 6) == 2000


def test_seven_people_in_pods_of_four_to_six_leave_one_reported():
    people = [Candidate(i, f"t{i}", None, DAILY) for i in range(1, 8)]
    formation = form_pods(people, seed=1)
    assert [len(p) for p in formation.pods] == [6]
    assert len(formation.unplaced) == 1


def test_paused_out_of_office_and_gone_people_are_not_available():
    today = date(2026, 12, 7)
    assert is_available(Presence(), today)
    assert not is_available(Presence(paused_until=date(2026, 12, 8)), today)  # out of office
    assert is_available(Presence(paused_until=today), today)  # back on that day
    assert not is_available(Presence(), today, paused_until=date(2027, 1, 1))  # paused pods
    assert not is_available(Presence(deactivated=True), today)
    assert not is_available(Presence(is_bot=True), today)


def test_working_hours_east_of_utc_wrap_round_the_reference_week():
    hours = WorkingHours("Australia/Sydney", ("mon",), time(9), time(17, 30))  # UTC+11 in December
    windows = week_windows(hours, week_start(date(2026, 12, 9)))
    assert windows == ((0, 390), (10080 - 120, 10080))
