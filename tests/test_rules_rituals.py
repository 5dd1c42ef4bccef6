"""Ritual rules, decided with no database: who may add and change rituals, and when they fire next."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.recurrence import next_run
from practices.messages import Outcome, Reply, plain
from practices.rituals import AddRequest, Timing, new_ritual, owned, ritual_list, timing
from storage.models import Member, Ritual

KINDS = {"opener": "meeting-opener check-in", "shoutout-prompt": "'who helped you this week?' prompt"}
MONDAY = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)  # 11:00 in Berlin


def replied(outcome: Ritual | Outcome) -> str:
    assert isinstance(outcome, Outcome)
    (reply,) = outcome.intents
    assert isinstance(reply, Reply)
    return "\n".join(plain(block.text) for block in reply.card.blocks if hasattr(block, "text"))


def add(
    schedule: str = "mon,wed 09:25",
    *,
    kind: str = "opener",
    place: str | None = "C1",
    zone: str | None = "Europe/Berlin",
    admin: bool = True,
) -> Ritual | Outcome:
    request = AddRequest(kind, place, schedule, zone, typed_in="C1", own_zone="America/New_York")
    return new_ritual(request, admin, KINDS, 1, 4, 9, MONDAY, next_run)


def ritual(**fields: object) -> Ritual:
    base: dict[str, object] = {
        "id": 3,
        "workspace_id": 1,
        "kind": "opener",
        "place_id": "C1",
        "schedule": "mon,wed 09:25",
        "time_zone": "Europe/Berlin",
        "options": json.dumps({"anchor": "2025-03-03"}),
        "next_run_at": datetime(2025, 3, 5, 8, 25, tzinfo=UTC),
        "created_at": MONDAY,
    }
    return Ritual(**(base | fields))


def test_a_ritual_added_fires_next_at_its_local_time_and_remembers_who_and_where() -> None:
    added = add()
    assert isinstance(added, Ritual)
    assert added.next_run_at == datetime(2025, 3, 5, 8, 25, tzinfo=UTC)  # Wednesday 09:25 in Berlin
    assert (added.workspace_id, added.team_id, added.created_by_member_id) == (1, 4, 9)
    assert (added.place_id, added.time_zone, added.schedule) == ("C1", "Europe/Berlin", "mon,wed 09:25")
    assert json.loads(added.options or "{}") == {"anchor": "2025-03-03"}


def test_without_a_zone_the_admins_own_zone_is_used() -> None:
    added = add("mon 09:00", zone=None)
    assert isinstance(added, Ritual) and added.time_zone == "America/New_York"


def test_only_admins_add_rituals_and_only_of_a_listed_kind() -> None:
    assert "admin" in replied(add(admin=False))
    unknown = replied(add(kind="one-on-one"))
    known = "pick one of opener, shoutout-prompt."
    assert unknown.startswith(f"I don't know the ritual kind “one-on-one”; {known}")
    assert "\nUsage: /tend ritual add <opener|shoutout-prompt> <#channel|here> <schedule>" in unknown
    assert unknown.endswith("\nExample: /tend ritual add opener here mon,wed 09:25 Europe/Berlin")


def test_a_ritual_needs_a_place_a_schedule_that_parses_and_a_known_zone() -> None:
    assert replied(add(place=None)).startswith("Say where the ritual posts")
    bad = replied(add("someday 9"))
    assert "Example: /tend ritual add opener here" in bad and bad.endswith(" Europe/Berlin")
    assert "I don't know the time zone “Mars/Base”" in replied(add(zone="Mars/Base"))


def test_a_bad_schedule_for_another_channel_says_where_to_type_the_example() -> None:
    assert ", typed in #C2: /tend ritual add" in replied(add("someday 9", place="C2"))


def test_a_listed_ritual_is_changed_by_admins_only_and_other_kinds_are_not_found() -> None:
    mine = ritual()
    assert owned(True, KINDS, mine, 3) is mine
    assert "admin" in replied(owned(False, KINDS, mine, 3))
    assert replied(owned(True, KINDS, ritual(kind="one-on-one"), 3)).startswith("There is no ritual #3 here.")
    assert replied(owned(True, KINDS, None, 3)).startswith("There is no ritual #3 here.")


def test_pausing_keeps_the_next_run_and_resuming_skips_what_was_missed() -> None:
    paused = ritual(paused=False)
    assert timing(paused, True, MONDAY, next_run) == Timing(True, paused.next_run_at)
    weeks_later = datetime(2025, 3, 20, 12, 0, tzinfo=UTC)  # a Thursday
    resumed = timing(ritual(paused=True), False, weeks_later, next_run)
    assert resumed == Timing(
        False, datetime(2025, 3, 24, 8, 25, tzinfo=UTC)
    )  # the next Monday, not a missed one


def test_a_ritual_with_a_lead_resumes_that_long_before_its_occurrence() -> None:
    nudge = ritual(options=json.dumps({"anchor": "2025-03-03", "lead_minutes": 30}), paused=True)
    just_before = datetime(2025, 3, 24, 8, 0, tzinfo=UTC)  # 09:00 Berlin: inside the 30-minute lead
    assert timing(nudge, False, just_before, next_run).next_run_at == datetime(2025, 3, 26, 7, 55, tzinfo=UTC)


def test_the_list_shows_listed_kinds_only_and_who_tend_cannot_reach() -> None:
    gone = Member(id=5, workspace_id=1, platform_user_id="U5", display_name="bo", created_at=MONDAY)
    shown = replied(ritual_list(True, KINDS, [ritual(), ritual(id=4, kind="one-on-one")], [gone], "UTC"))
    assert shown.startswith("#3 opener in #C1") and "#4" not in shown
    assert "Tend can't reach @bo" in shown
    assert replied(ritual_list(True, KINDS, [], [], "UTC")).startswith("No rituals yet.")
    assert "admin" in replied(ritual_list(False, KINDS, [ritual()], [], "UTC"))
