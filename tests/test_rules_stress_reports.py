"""Stress-report rules, called directly with no database: what is stored carries nobody, who hears a
request (the author too when on the rota), working hours, who may answer or close, the admins' note."""

from __future__ import annotations

from datetime import timedelta

from practices import stress_reports as stress
from practices.messages import Card, DirectMessage, OpenForm, Outcome, Reply, Text, UpdateCard, plain
from practices.sealing import seal_id
from storage.models import Member, StressRelay, StressReport, Workspace
from tests.helpers import at

MONDAY_10 = at("2025-03-03 10:00")  # a Monday, inside default working hours (UTC)
SATURDAY = at("2025-03-08 15:00")
WINDOW = timedelta(hours=48)
KEY = b"k" * 32
HERE = Workspace(id=1, organization_id=1, platform="slack", external_id="T1", created_at=MONDAY_10)
ELSEWHERE = Workspace(id=2, organization_id=2, platform="slack", external_id="T2", created_at=MONDAY_10)
VALID = {"intensity": "4", "category": "workload", "words": "Three launches.", "support": "talk"}


def person(
    member_id: int, *, support: bool = False, bot: bool = False, role: str = "member", **hours: str
) -> Member:
    return Member(
        id=member_id, workspace_id=1, platform_user_id=f"U{member_id}", display_name=f"p{member_id}",
        is_support=support, is_bot=bot, role=role, profile_known=True, created_at=MONDAY_10, **hours,
    )  # fmt: skip


def report() -> StressReport:
    return StressReport(
        id=7, organization_id=1, intensity=4, category="workload", week="2025-W10", support="talk"
    )


def words(card: Card) -> str:
    return "\n".join(plain(block.text) for block in card.blocks if isinstance(block, Text))


def reply_text(outcome: Outcome) -> str:
    replies = [intent for intent in outcome.intents if isinstance(intent, Reply)]
    assert len(replies) == 1
    return words(replies[0].card)


def dms(outcome: Outcome | list) -> dict[int, DirectMessage]:
    intents = outcome.intents if isinstance(outcome, Outcome) else outcome
    return {intent.member_id: intent for intent in intents if isinstance(intent, DirectMessage)}


# --- the report ------------------------------------------------------------------------------------


def test_every_wrong_field_is_named_at_once_and_a_good_form_reads_back():
    wrong = stress.read_answers({"intensity": "9", "category": "weather", "support": "?"})
    assert isinstance(wrong, list)
    assert [field for field, _ in wrong] == ["intensity", "category", "support"]
    assert stress.read_answers(VALID) == stress.Answers(4, "workload", "Three launches.", "talk")
    long = stress.read_answers({**VALID, "words": "x" * 2001})
    assert isinstance(long, list) and "these have 2,001" in plain(long[0][1])


def test_the_person_to_reach_out_is_someone_else_and_not_a_bot():
    me, kim, bot = person(1), person(2), person(3, bot=True)
    assert stress.pick_person("", None, 1) == stress.NO_PERSON
    assert stress.pick_person("@kim", kim, 1) is kim
    assert stress.pick_person("U1", me, 1) == stress.SELF_PERSON
    assert "is a bot" in plain(stress.pick_person("bot", bot, 1))
    assert "couldn't find @nobody" in plain(stress.pick_person("nobody", None, 1))


def test_the_stored_report_has_no_author_and_no_time_finer_than_the_week():
    answers = stress.read_answers(VALID)
    assert isinstance(answers, stress.Answers)
    row = stress.report_row(answers, 1, None, at("2025-03-05 16:42"))
    assert row.week == "2025-W10" and row.support_state == "requested"
    stored = {"id", "organization_id", "team_id", "intensity", "category", "text", "week", "support"}
    assert set(row.model_dump()) == {*stored, "support_state"}
    counted = stress.report_row(stress.Answers(2, "deadlines", "", "count"), 1, None, MONDAY_10)
    assert counted.support_state == "none" and counted.text is None


def test_the_team_is_kept_only_when_big_enough_to_hide_in():
    assert stress.reported_team(4, 4, 5) is None
    assert stress.reported_team(4, 5, 5) == 4
    assert plain(stress.promise_for(None)).count("your team") == 0
    assert stress.PROMISE_TEAM in stress.promise_for(4)


def test_a_relay_keeps_only_the_due_hour_and_the_expiry_day():
    relay = stress.relay_row("t", report(), "talk", at("2025-03-03 10:17"), WINDOW)
    assert relay.support_due_at == at("2025-03-05 11:00")
    assert relay.expires_at == at("2025-04-03 00:00")


# --- who hears a request to talk -------------------------------------------------------------------


def test_the_request_reaches_the_whole_rota_the_author_included():
    asker, kim, lee = person(1, support=True), person(2, support=True), person(3, support=True)
    outcome = stress.rota_request(report(), "t", [asker, kim, lee], asker, MONDAY_10, WINDOW, "", "p")
    assert set(dms(outcome)) == {1, 2, 3}  # leaving the author out would point at them
    said = reply_text(outcome)
    assert stress.TALK_SENT in said and stress.ROTA_INCLUDES_YOU in said
    assert "Nobody else on the support rota" not in said  # kim and lee are at work now


def test_the_only_person_on_the_rota_is_told_nobody_else_can_answer():
    asker = person(1, support=True)
    said = reply_text(stress.rota_request(report(), "t", [asker], asker, MONDAY_10, WINDOW, "Call Sam", "p"))
    assert plain(stress.ONLY_YOU_ON_ROTA) in said and "Call Sam" in said


def test_outside_the_rotas_working_hours_the_asker_hears_when_it_is_first_seen():
    asker = person(1, time_zone="Europe/Paris")
    kim = person(2, support=True, time_zone="America/New_York")  # Saturday: next seen on Monday 9:00 there
    said = reply_text(stress.rota_request(report(), "t", [kim], asker, SATURDAY, WINDOW, "", "p"))
    assert "earliest anyone can see your request is Mon 10 Mar 14:00" in said  # 9:00 New York, in Paris
    assert stress.ADMINS_TOLD not in said  # Monday 9:00 is within the 48-hour window
    away = person(2, support=True, work_days="")  # no working days: never
    said = reply_text(stress.rota_request(report(), "t", [away], asker, SATURDAY, WINDOW, "", "p"))
    assert stress.ROTA_AWAY in said and stress.ADMINS_TOLD in said


def test_the_admins_note_skips_bots_and_waits_for_the_next_whole_hour():
    notes = stress.admin_notes(
        [person(5, role="admin"), person(6, role="admin", bot=True)], 1, MONDAY_10, "x"
    )
    (note,) = dms(notes).values()
    assert note.member_id == 5 and note.not_before == at("2025-03-03 11:00")
    assert note.key == "support-stall:1:2025-03-03:5"  # one a day per admin


def test_a_reach_out_goes_only_to_the_chosen_person_sealed():
    asker, kim = person(1), person(2)
    outcome = stress.reach_out_request(asker, kim, "t", "p")
    assert list(dms(outcome)) == [2] and dms(outcome)[2].sealed


# --- the relay -------------------------------------------------------------------------------------


def test_only_the_rota_of_the_authors_organisation_may_answer_and_only_first():
    waiting = stress.Sides(author=1, supporter=None, author_workspace=HERE)
    assert stress.supporter_refusal(person(2, support=True), HERE, waiting) is None
    refused = stress.supporter_refusal(person(2), HERE, waiting)
    assert refused is not None and reply_text(refused) == plain(stress.NOT_ROTA)
    other = stress.Sides(author=1, supporter=None, author_workspace=ELSEWHERE)
    assert stress.supporter_refusal(person(2, support=True), HERE, other) is not None
    taken = stress.supporter_refusal(person(3, support=True), HERE, stress.Sides(1, 2))
    assert taken is not None and reply_text(taken) == stress.TAKEN
    assert stress.supporter_refusal(person(2, support=True), HERE, stress.Sides(1, 2)) is None


def test_the_author_waits_for_a_first_answer_before_writing():
    sides = stress.Sides(author=1, supporter=None)
    assert reply_text(stress.reply_form_answer("t", person(1), HERE, sides)) == stress.WAITING
    assert reply_text(stress.pass_on_answer("t", "hi", person(1), HERE, sides).outcome) == stress.WAITING
    answered = stress.reply_form_answer("t", person(1), HERE, stress.Sides(1, 2))
    assert isinstance(answered.intents[0], OpenForm)


def test_the_first_answer_claims_the_request_and_reaches_the_author_sealed():
    passing = stress.pass_on_answer(
        "t", "I'm here", person(2, support=True), HERE, stress.Sides(1, None, HERE)
    )
    assert passing.claim and dms(passing.outcome)[1].sealed
    later = stress.pass_on_answer("t", "Still here", person(2, support=True), HERE, stress.Sides(1, 2))
    assert not later.claim and list(dms(later.outcome)) == [1]
    back = stress.pass_on_answer("t", "Thanks", person(1), HERE, stress.Sides(1, 2))
    assert list(dms(back.outcome)) == [2] and dms(back.outcome)[2].sealed and not back.claim


def test_a_message_must_say_something_and_not_too_much():
    assert stress.message_problem("") == stress.EMPTY_MESSAGE
    assert "2,001" in (stress.message_problem("x" * 2001) or "")
    assert stress.message_problem("Thanks") is None


def test_only_the_two_sides_can_close_and_the_other_hears_sealed():
    stranger = stress.close_answer(3, stress.Sides(1, 2))
    assert not stranger.delete and reply_text(stranger.outcome) == stress.NOT_YOURS
    by_author = stress.close_answer(1, stress.Sides(1, 2))
    assert by_author.delete and list(dms(by_author.outcome)) == [2] and dms(by_author.outcome)[2].sealed
    before_anyone = stress.close_answer(1, stress.Sides(1, None))
    assert before_anyone.delete and not dms(before_anyone.outcome)


def test_only_the_chosen_person_closes_a_reach_out():
    assert not stress.reached_answer("reach_out", 2, 3, None, None).delete
    done = stress.reached_answer("reach_out", 2, 2, "ts1", "D1")
    assert done.delete and isinstance(done.outcome.intents[0], UpdateCard)
    gone = stress.reached_answer(None, None, 2, None, None)  # a second tap after it closed
    assert not gone.delete and reply_text(gone.outcome) == stress.REACHED_DONE


# --- the sweep -------------------------------------------------------------------------------------


def test_an_overdue_request_reminds_the_rota_and_tells_the_asker_only_when_nobody_is_at_work():
    asker, kim = person(1), person(2, support=True)
    at_work = stress.talk_reminders(report(), "t", [kim], asker, MONDAY_10, WINDOW, "")
    assert list(dms(at_work)) == [2]
    weekend = stress.talk_reminders(report(), "t", [kim], asker, SATURDAY, WINDOW, "")
    assert set(dms(weekend)) == {1, 2} and dms(weekend)[1].sealed


def test_a_rota_that_cannot_see_a_request_within_the_window_is_stalled():
    assert not stress.stalled([person(2, support=True)], SATURDAY, WINDOW)  # Monday 9:00 is within 48 h
    assert stress.stalled([person(2, support=True)], SATURDAY, timedelta(hours=24))
    assert stress.stalled([person(2, support=True, work_days="")], MONDAY_10, WINDOW)
    assert stress.stalled([], MONDAY_10, WINDOW)


# --- the rota and data rights ----------------------------------------------------------------------


def test_only_admins_change_the_rota_and_only_newcomers_are_welcomed():
    kim, lee = person(2, support=True), person(3)
    refused = stress.rota_change(False, [lee], True)
    assert reply_text(refused.outcome) == plain(stress.ONLY_ADMINS) and not refused.members
    added = stress.rota_change(True, [kim, lee], True)
    assert added.members == (lee,) and list(dms(added.outcome)) == [3]
    assert not stress.rota_change(True, [person(4, bot=True)], True).members
    assert stress.rota_change(True, [kim, lee], False).members == (kim,)


def test_forget_me_ends_what_the_person_started_and_releases_what_they_answered():
    def relay(token: str, kind: str, author: int | None, supporter: int | None) -> StressRelay:
        return StressRelay(
            token=token, report_id=7, kind=kind, support_due_at=MONDAY_10, expires_at=MONDAY_10,
            author_seal=seal_id(KEY, stress.AUTHOR, author) if author else None,
            supporter_seal=seal_id(KEY, stress.SUPPORTER, supporter) if supporter else None,
        )  # fmt: skip

    relays = [
        relay("a", "talk", 1, 2),
        relay("b", "talk", 3, 1),
        relay("c", "reach_out", None, 1),
        relay("d", "talk", 3, 4),
    ]
    sides = stress.sides_of(relays, 1, KEY)
    assert [(side.relay.token, side.role) for side in sides] == [
        ("a", "author"),
        ("b", "supporter"),
        ("c", "supporter"),
    ]
    assert [stress.ends(side) for side in sides] == [True, False, True]
    assert stress.sides_of(relays, 1, b"x" * 32) == []  # without the server secret nobody is found
