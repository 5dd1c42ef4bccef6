"""Culture carriers for newcomers: the choice of carrier (pure), then the whole flow on each platform."""

from __future__ import annotations

from datetime import date, time, timedelta

from practices.carrier_choice import Candidate, Newcomer, choose_carrier, weekly_overlap
from practices.hours import WorkingHours

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ON = date(2026, 12, 7)


def hours(zone: str = "Europe/London", start: int = 9, end: int = 17) -> WorkingHours:
    return WorkingHours(zone, WEEKDAYS, time(start), time(end))


def newcomer(teams: tuple[int, ...] = (1,), zone: str = "Europe/London") -> Newcomer:
    return Newcomer(100, frozenset(teams), hours(zone))


def carrier(
    member_id: int,
    teams: tuple[int, ...] = (2,),
    load: int = 0,
    cap: int = 3,
    zone: str = "Europe/London",
    available: bool = True,
) -> Candidate:
    return Candidate(member_id, frozenset(teams), hours(zone), load, cap, available)


def test_a_carrier_from_another_team_is_preferred() -> None:
    assert choose_carrier(newcomer((1,)), [carrier(1, (1,)), carrier(2, (2,))], ON) == 2


def test_the_least_loaded_carrier_is_chosen_and_a_full_one_never() -> None:
    assert choose_carrier(newcomer(), [carrier(1, load=2), carrier(2, load=1)], ON) == 2
    assert choose_carrier(newcomer(), [carrier(1, load=3, cap=3)], ON) is None
    # the same team beats a full carrier from another team
    assert choose_carrier(newcomer((1,)), [carrier(1, (2,), load=3, cap=3), carrier(2, (1,))], ON) == 2


def test_load_counts_relative_to_the_cap() -> None:
    assert choose_carrier(newcomer(), [carrier(1, load=1, cap=2), carrier(2, load=2, cap=8)], ON) == 2


def test_nobody_out_of_office_or_paused_and_never_the_newcomer_themself() -> None:
    assert choose_carrier(newcomer(), [carrier(1, available=False)], ON) is None
    assert choose_carrier(newcomer(), [carrier(100)], ON) is None


def test_overlapping_working_hours_beat_another_team_and_a_lighter_load() -> None:
    far = carrier(1, (2,), load=0, zone="Pacific/Auckland")
    near = carrier(2, (1,), load=2, zone="Europe/Paris")
    assert choose_carrier(newcomer((1,)), [far, near], ON) == 2
    # with nobody overlapping, someone still welcomes them
    assert choose_carrier(newcomer((1,)), [far], ON) == 1


def test_weekly_overlap_is_measured_in_each_persons_own_zone() -> None:
    london, paris = hours("Europe/London"), hours("Europe/Paris")
    assert weekly_overlap(london, london, ON) == timedelta(hours=40)
    assert weekly_overlap(london, paris, ON) == timedelta(hours=35)  # Paris is an hour ahead
    assert weekly_overlap(london, hours("Pacific/Auckland"), ON) == timedelta(0)


def test_ties_are_deterministic_and_spread_across_equal_carriers() -> None:
    equal = [carrier(member_id) for member_id in range(1, 6)]
    first = choose_carrier(newcomer(), equal, ON)
    assert first == choose_carrier(newcomer(), list(reversed(equal)), ON)
    chosen = {choose_carrier(Newcomer(n, frozenset(), hours()), equal, ON) for n in range(100, 140)}
    assert len(chosen) > 1  # not always the lowest id
