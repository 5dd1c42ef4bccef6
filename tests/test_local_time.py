"""Time zones and local times, from practices/local_time.py: the one place Tend decides both."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from practices import local_time


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("europe/berlin", "Europe/Berlin"),
        ("  America/New_York ", "America/New_York"),
        ("utc", "UTC"),
        ("Etc/GMT+5", "Etc/GMT+5"),
        ("Mars/Olympus", None),
        ("localtime", None),  # this machine's zone: another replica would read it differently
        ("../../etc/passwd", None),
        ("Europe/" + "x" * 70, None),
        ("", None),
    ],
)
def test_a_typed_zone_is_stored_in_its_own_spelling_or_refused(typed: str, stored: str | None):
    assert local_time.canonical_zone(typed) == stored


@given(st.text(max_size=80))
def test_no_typed_zone_makes_the_check_raise(typed: str):
    found = local_time.canonical_zone(typed)
    assert found is None or local_time.is_known_zone(found)


def test_only_an_exact_accepted_name_counts_as_a_stored_zone():
    assert local_time.is_known_zone("Asia/Kolkata")
    assert not local_time.is_known_zone("asia/kolkata")  # a stored zone is already canonical
    assert not local_time.is_known_zone("Factory")
    with pytest.raises(ValueError):
        local_time.zone_of("Nowhere/Town")


def test_a_moment_reads_on_the_readers_wall_clock_across_a_dst_change():
    before = datetime(2025, 3, 30, 0, 30, tzinfo=UTC)  # Berlin: 01:30 CET, then clocks jump to 03:00
    after = datetime(2025, 3, 30, 1, 30, tzinfo=UTC)
    assert local_time.day_and_time(before, "Europe/Berlin") == "Sun 30 Mar 01:30"
    assert local_time.day_and_time(after, "Europe/Berlin") == "Sun 30 Mar 03:30"
    assert local_time.clock(after, "America/Los_Angeles") == "18:30"
    assert local_time.day(after, "America/Los_Angeles") == "Sat 29 Mar"  # still the day before there
    assert local_time.local_date(after, "Pacific/Kiritimati").isoformat() == "2025-03-30"


def test_an_odd_stored_zone_reads_as_utc_and_exports_are_utc_unless_told():
    moment = datetime(2025, 3, 3, 14, 5, tzinfo=UTC)
    assert local_time.day_and_time(moment, "Not/AZone") == "Mon 03 Mar 14:05"
    assert local_time.day_and_time(moment, None) == "Mon 03 Mar 14:05"
    assert local_time.stamp(moment) == "2025-03-03 14:05"
    assert local_time.stamp(moment, "Asia/Tokyo") == "2025-03-03 23:05"
    assert local_time.date_stamp(moment, "Pacific/Kiritimati") == "2025-03-04"  # already tomorrow there


def test_a_moment_without_its_zone_is_refused_rather_than_guessed():
    with pytest.raises(ValueError):
        local_time.day(datetime(2025, 3, 3, 14, 5), "UTC")
