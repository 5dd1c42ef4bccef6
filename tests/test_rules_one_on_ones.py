"""1:1 rules with no database: who is nudged when, with which question, who may press what, and what
a moved meeting or a prep note becomes. The handlers only load and save around these."""

from __future__ import annotations

from datetime import datetime, timedelta

from practices.hours import WorkingHours
from practices.messages import DirectMessage, FieldErrors, Outcome, Reply
from practices.one_on_ones import (
    ADD_FOR_OTHERS,
    DONE,
    MOVE,
    NEVER,
    PREP,
    SKIPPED,
    TOO_OFTEN,
    WITH_SELF,
    Move,
    add_refusal,
    added,
    first_nudged_meeting,
    may_remove,
    may_see,
    note_back,
    pair_ritual,
    pairs_list,
    plan_firing,
    plan_move,
    tap_rule,
    team_for_signals,
)
from practices.questions import Question
from practices.schedules import Recurrence, parse_schedule
from storage.models import Member, OneOnOnePair
from tests.helpers import at

BERLIN = "Europe/Berlin"
QUESTIONS = (Question("a", "How are you, really?", "care"), Question("b", "What's in your way?", "work"))


def person(member_id: int, name: str, tz: str = BERLIN, **extra: object) -> Member:
    return Member(
        id=member_id,
        workspace_id=1,
        platform_user_id=name.upper(),
        display_name=name,
        time_zone=tz,
        created_at=at("2025-01-01 00:00"),
        **extra,
    )


MIA, BO, ADA = person(1, "mia"), person(2, "bo"), person(3, "ada", role="admin")


def pair(prep: bool = False, report: int | None = 2) -> OneOnOnePair:
    return OneOnOnePair(ritual_id=7, workspace_id=1, manager_member_id=1, report_member_id=report, prep=prep)


def fire(meeting: datetime, now: datetime, manager: Member = MIA, report: Member | None = BO, **kw: object):
    asked = kw.pop("asked", ())
    return plan_firing(kw.pop("pair", pair()), manager, report, meeting, now, 42, QUESTIONS, asked, seed=7)


def test_the_manager_is_nudged_an_hour_before_with_a_question_and_the_rotation_moves_on():
    meeting = at("2025-03-06 11:00", BERLIN)
    firing = fire(meeting, meeting - timedelta(days=1))
    (nudge,) = firing.intents
    assert isinstance(nudge, DirectMessage) and nudge.member_id == MIA.id
    assert nudge.not_before == at("2025-03-06 10:00", BERLIN)
    asked = next(q for q in QUESTIONS if q.id == firing.asked)
    assert asked.text in nudge.card.fallback
    assert firing.nudged and not firing.pause
    # the next firing, with that question recorded, asks the other one: none repeats before all were asked
    again = fire(meeting + timedelta(days=7), meeting + timedelta(days=6), asked=(firing.asked,))
    assert again.asked != firing.asked and again.asked in {"a", "b"}


def test_a_nudge_never_goes_outside_the_managers_hours():
    meeting = at("2025-03-06 19:00", BERLIN)  # an hour before is after 17:30: the last in-hours minute
    (nudge,) = fire(meeting, meeting - timedelta(days=1)).intents
    assert isinstance(nudge, DirectMessage) and nudge.not_before == at("2025-03-06 17:29", BERLIN)


def test_no_nudge_and_no_question_used_for_a_meeting_while_the_manager_is_on_leave():
    on_leave = person(1, "mia", paused_until=at("2025-03-10 00:00").date())
    meeting = at("2025-03-06 11:00", BERLIN)
    firing = fire(meeting, meeting - timedelta(days=1), manager=on_leave, pair=pair(prep=True))
    assert firing.intents == () and firing.asked is None and not firing.nudged and not firing.pause


def test_a_pair_whose_report_left_stops_instead_of_nudging():
    meeting = at("2025-03-06 11:00", BERLIN)
    firing = fire(meeting, meeting - timedelta(days=1), report=None, pair=pair(report=None))
    assert firing.pause and firing.intents == () and not firing.nudged


def test_the_prep_prompt_goes_to_the_report_only_when_on_and_only_if_it_arrives_before_the_meeting():
    meeting = at("2025-03-06 11:00", BERLIN)
    assert [i.member_id for i in fire(meeting, meeting - timedelta(days=1)).intents] == [MIA.id]
    with_prep = fire(meeting, meeting - timedelta(days=1), pair=pair(prep=True)).intents
    assert [i.member_id for i in with_prep] == [MIA.id, BO.id]
    # fired at 18:00 the evening before a 09:00 meeting, the report's next in-hours moment is the meeting
    early = at("2025-03-06 09:00", BERLIN)
    late = fire(early, at("2025-03-05 18:00", BERLIN), pair=pair(prep=True)).intents
    assert BO.id not in [i.member_id for i in late]


def test_only_the_report_preps_and_only_the_manager_records_or_moves():
    assert tap_rule(PREP, BO.id or 0, pair()) == "prep"
    assert tap_rule(PREP, MIA.id or 0, pair()) == "only_report"
    assert tap_rule(DONE, MIA.id or 0, pair()) == "record"
    assert tap_rule(SKIPPED, MIA.id or 0, pair()) == "record"
    assert tap_rule(DONE, BO.id or 0, pair()) == "only_manager"
    assert tap_rule(MOVE, ADA.id or 0, pair()) == "only_manager"
    assert tap_rule(MOVE, MIA.id or 0, pair()) == "move"
    assert tap_rule(DONE, MIA.id or 0, pair(report=None)) == "gone"


def test_a_pair_is_seen_by_its_two_people_and_admins_and_removed_by_its_manager_or_an_admin():
    assert may_see(2, False, pair()) and may_see(3, True, pair()) and not may_see(3, False, pair())
    assert may_remove(1, False, pair()) and may_remove(3, True, pair()) and not may_remove(2, False, pair())


def test_registering_for_another_manager_needs_an_admin_and_a_1on1_needs_two_people():
    assert add_refusal(BO, False, BO, None) == WITH_SELF
    assert add_refusal(BO, False, person(4, "kim"), MIA) == ADD_FOR_OTHERS
    assert add_refusal(ADA, True, BO, MIA) is None
    bot = person(5, "helper", is_bot=True)
    refusal = add_refusal(MIA, False, bot, None)
    assert refusal is not None and "is a bot" in str(refusal)


def test_a_schedule_that_comes_round_within_half_a_day_or_never_is_refused():
    daily = parse_schedule("every day 10:00")
    assert isinstance(daily, Recurrence)
    now = at("2025-03-03 09:00")

    def twice_a_day(recurrence: Recurrence, zone: str, after: datetime, anchor: object) -> datetime:
        return after + timedelta(hours=6)

    assert first_nudged_meeting(twice_a_day, daily, BERLIN, now.date(), now) == TOO_OFTEN
    assert first_nudged_meeting(lambda *_: None, daily, BERLIN, now.date(), now) == NEVER

    def weekly(recurrence: Recurrence, zone: str, after: datetime, anchor: object) -> datetime:
        return after + timedelta(days=7)

    # the first meeting is at least a day (the nudge's lead) ahead
    assert first_nudged_meeting(weekly, daily, BERLIN, now.date(), now) == now + timedelta(days=8)


HOURS = WorkingHours.of(BERLIN, "mon,tue,wed,thu,fri", "09:00", "17:30", None)


def test_a_moved_meeting_gets_a_nudge_an_hour_before_in_the_managers_zone():
    now = at("2025-03-03 10:00", BERLIN)
    move = plan_move({"date": "2025-03-05", "time": "14:00"}, "42", now, HOURS, timedelta(minutes=60))
    assert move == Move(
        at("2025-03-05 00:00").date(), at("2025-03-05 14:00", BERLIN), at("2025-03-05 13:00", BERLIN)
    )


def test_a_bad_or_past_move_asks_again_for_just_the_bad_field_with_an_example():
    now = at("2025-03-03 10:00", BERLIN)
    before = timedelta(minutes=60)
    bad = plan_move({"date": "5 March", "time": "14:00"}, "42", now, HOURS, before)
    assert isinstance(bad, Outcome)
    (errors,) = bad.intents
    assert isinstance(errors, FieldErrors) and [f for f, _ in errors.errors] == ["date"]
    assert "2025-03-04" in errors.errors[0][1]  # tomorrow, as an example that works
    earlier_today = plan_move({"date": "2025-03-03", "time": "08:00"}, "42", now, HOURS, before)
    assert isinstance(earlier_today, Outcome) and isinstance(earlier_today.intents[0], FieldErrors)
    assert [f for f, _ in earlier_today.intents[0].errors] == ["time"]
    far = plan_move({"date": "2026-06-01", "time": "10:00"}, "42", now, HOURS, before)
    assert isinstance(far, Outcome) and isinstance(far.intents[0], FieldErrors)
    assert "more than a year" in far.intents[0].errors[0][1]


def test_the_prep_note_comes_back_only_as_a_private_answer():
    (answer,) = note_back("  my workload  ").intents
    assert isinstance(answer, Reply) and answer.private and "my workload" in answer.card.fallback
    (empty,) = note_back("   ").intents
    assert isinstance(empty, Reply) and "Nothing written" in empty.card.fallback


def test_signals_count_under_a_shared_team_else_the_reports_else_the_managers():
    assert team_for_signals([5, 6], [6, 9]) == 6
    assert team_for_signals([5], [9]) == 5
    assert team_for_signals([], [9]) == 9
    assert team_for_signals([], []) is None


def test_a_manager_registered_by_an_admin_gets_a_private_note_and_one_registering_their_own_does_not():
    weekly = parse_schedule("every week thu 11:00")
    assert isinstance(weekly, Recurrence)
    first = at("2025-03-06 11:00", BERLIN)
    by_admin = added(7, ADA, MIA, BO, weekly, BERLIN, first, first).intents
    assert isinstance(by_admin[0], Reply) and "Added 1:1 #7" in by_admin[0].card.fallback
    (note,) = by_admin[1:]
    assert isinstance(note, DirectMessage) and note.member_id == MIA.id and note.key == "1on1-added:7:dm"
    own = added(7, MIA, MIA, BO, weekly, BERLIN, first, first).intents
    assert [type(i) for i in own] == [Reply]


def test_a_meeting_too_soon_to_nudge_is_named_in_the_answer():
    weekly = parse_schedule("every week thu 11:00")
    assert isinstance(weekly, Recurrence)
    soon, first = at("2025-03-06 11:00", BERLIN), at("2025-03-13 11:00", BERLIN)
    (answer,) = added(7, MIA, MIA, BO, weekly, BERLIN, first, soon).intents
    assert isinstance(answer, Reply) and "too soon for a nudge" in answer.card.fallback


def test_the_list_shows_no_next_meeting_for_a_paused_pair():
    ritual = pair_ritual(
        1,
        1,
        parse_schedule("every week thu 11:00"),
        BERLIN,
        at("2025-03-03 00:00").date(),
        at("2025-03-06 11:00", BERLIN),
        at("2025-03-03 09:00"),
    )
    ritual.id, ritual.paused = 7, True
    (answer,) = pairs_list([(ritual, pair())], {1: MIA, 2: BO}, BERLIN).intents
    assert isinstance(answer, Reply) and "next none your time" in answer.card.fallback
    ritual.paused = False
    (answer,) = pairs_list([(ritual, pair())], {1: MIA, 2: BO}, BERLIN).intents
    assert isinstance(answer, Reply) and "next none" not in answer.card.fallback
