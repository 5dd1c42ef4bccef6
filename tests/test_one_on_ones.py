"""1:1 nudges end to end: registered by command, fired a day ahead, delivered in the manager's own hours."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import commands as c
from bot.events import ButtonClicked
from practices.hours import WorkingHours
from practices.messages import FieldErrors
from practices.one_on_ones import nudge_time
from practices.questions import load_questions
from storage.models import OneOnOneQuestion, Outbox, Ritual, Signal
from tests.fakes import Sent
from tests.helpers import at
from tests.scenario import Scenario

MONDAY = "2025-03-03"  # Europe goes to summer time on Sunday 30 March 2025
BERLIN, TOKYO, LOS_ANGELES = "Europe/Berlin", "Asia/Tokyo", "America/Los_Angeles"
MIA, BO = "<@MIA|mia>", "<@BO|bo>"


async def team(database, start: datetime | None = None, manager_tz: str = BERLIN, report_tz: str = BERLIN):
    """ada (admin: the platform says she administers the workspace), mia (a manager) and bo (her report)."""
    s = Scenario(database, start or at(f"{MONDAY} 09:00", "UTC"))
    await s.join("ADA", "ada", tz="UTC", admin=True)
    await s.join("MIA", "mia", tz=manager_tz)
    await s.join("BO", "bo", tz=report_tz)
    return s


def local(sent: Sent, zone: str) -> str:
    assert sent.at is not None
    return sent.at.astimezone(ZoneInfo(zone)).strftime("%a %Y-%m-%d %H:%M")


def nudges(s: Scenario, user: str = "MIA") -> list[Sent]:
    return [
        sent
        for sent in s.sender.directs(user)
        if sent.card.buttons and sent.card.buttons[0].action == "1on1.done"
    ]


def question_of(sent: Sent) -> str:
    texts = [line for line in sent.card.fallback.splitlines() if line.startswith("*A check-in question")]
    assert len(texts) == 1
    return texts[0].split(":*", 1)[1].strip()


async def rows(s: Scenario, model: type) -> list:
    async with s.database.session() as session:
        return list((await session.exec(select(model))).all())


async def questions_asked(s: Scenario) -> list[str]:
    """The pair's rotation history, oldest first, as stored."""
    return [row.question_id for row in sorted(await rows(s, OneOnOneQuestion), key=lambda row: row.id)]


async def signal_counts(s: Scenario) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in await rows(s, Signal):
        counts[row.kind] = counts.get(row.kind, 0) + row.count
    return counts


async def drive(s: Scenario, until: datetime, hourly_on: tuple[int, ...] = (3,)) -> None:
    """Ticks hourly on the given UTC weekdays (Thursday by default) and every six hours otherwise.

    A running server ticks every few seconds; this is enough to see on which hour each message
    leaves, at a fraction of the cost.
    """
    while s.clock.now() < until:
        hourly = (
            s.clock.now().weekday() in hourly_on
            or (s.clock.now() + timedelta(hours=6)).weekday() in hourly_on
        )
        await s.advance(hours=1 if hourly else 6)


# --- the nudge, on time ----------------------------------------------------------------------------


async def test_a_fortnightly_pair_nudges_the_manager_at_nine_berlin_every_other_thursday(database):
    s = await team(database)
    answer = await s.command("MIA", f"tend 1on1 add {BO} every 2 weeks thu 10:00")
    assert "Added 1:1 #1" in answer and "Thu 06 Mar 10:00" in answer
    await drive(s, at("2025-04-15 00:00", "UTC"))
    sent = nudges(s)
    # Across the change to summer time on 30 March the nudge stays at 09:00 on the manager's clock.
    assert [local(n, BERLIN) for n in sent] == [
        "Thu 2025-03-06 09:00",
        "Thu 2025-03-20 09:00",
        "Thu 2025-04-03 09:00",
    ]
    assert all(n.card.title == "Your 1:1 with @bo at 10:00" for n in sent)
    assert s.sender.directs("BO") == []  # no prep prompt unless asked for
    questions = [question_of(n) for n in sent]
    assert len(set(questions)) == 3
    # Short every week: the feedback template is one tap away, not on the nudge.
    assert "Situation" not in str(sent[0].card.blocks)
    assert [b.label for b in sent[0].card.buttons] == [
        "Done",
        "Skipped",
        "Move to another day",
        "Feedback tips",
    ]
    assert [b.action for b in sent[0].card.buttons] == [
        "1on1.done",
        "1on1.skipped",
        "1on1.move",
        "1on1.template",
    ]
    assert (await signal_counts(s))["nudge_sent"] == 3


async def test_managers_in_tokyo_and_los_angeles_are_nudged_at_nine_on_their_own_clocks(database):
    s = await team(database)
    await s.join("TARO", "taro", tz=TOKYO)
    await s.join("LENA", "lena", tz=LOS_ANGELES)
    await s.command("TARO", f"tend 1on1 add {BO} thu 10:00")
    await s.command("LENA", f"tend 1on1 add {BO} thu 10:00")
    await drive(s, at("2025-03-15 00:00", "UTC"), hourly_on=(2, 3, 4))
    # Los Angeles moves to summer time on 9 March: 09:00 there is 17:00 UTC, then 16:00 UTC.
    assert [local(n, TOKYO) for n in nudges(s, "TARO")] == ["Thu 2025-03-06 09:00", "Thu 2025-03-13 09:00"]
    assert [local(n, LOS_ANGELES) for n in nudges(s, "LENA")] == [
        "Thu 2025-03-06 09:00",
        "Thu 2025-03-13 09:00",
    ]
    assert [n.at for n in nudges(s, "LENA")] == [at("2025-03-06 17:00", "UTC"), at("2025-03-13 16:00", "UTC")]


async def test_questions_rotate_through_the_whole_library_before_any_repeats(database):
    s = await team(database, at(f"{MONDAY} 10:00", "UTC"), manager_tz="UTC")
    await s.command("MIA", "tend settings hours 08:00-18:00 mon-sun")
    await s.command("MIA", f"tend 1on1 add {BO} daily 10:00")
    library = {question.id for question in load_questions()}
    assert len(library) == 36
    for _ in range(40):
        await s.advance(days=1)  # each tick fires one meeting's nudge and delivers the one before
    asked = await questions_asked(s)
    assert len(asked) == 40
    assert set(asked[:36]) == library  # the first cycle uses every question exactly once
    assert all(a != b for a, b in pairwise(asked))
    delivered = [question_of(n) for n in nudges(s)]
    assert len(delivered) == 39
    assert len(set(delivered[:36])) == 36
    assert all(a != b for a, b in pairwise(delivered))


# --- what the manager does with it -------------------------------------------------------------------


async def first_nudge(s: Scenario) -> Sent:
    """Fires the pair's first meeting (Thu 6 March) and delivers its nudge."""
    s.clock.set(at("2025-03-05 09:00", "UTC"))
    await s.tick()
    s.clock.set(at("2025-03-06 08:00", "UTC"))
    await s.tick()
    [nudge] = nudges(s)
    return nudge


async def test_done_and_skipped_are_recorded_once_and_only_by_the_manager(database):
    s = await team(database)
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    nudge = await first_nudge(s)
    value = nudge.card.buttons[0].value
    assert "Only @mia" in await s.click("BO", "1on1.done", value)
    assert "done" in await s.click("MIA", "1on1.done", value)
    assert "Already noted" in await s.click("MIA", "1on1.done", value)
    assert "Already noted" in await s.click("MIA", "1on1.skipped", value)
    counts = await signal_counts(s)
    assert counts["nudge_done"] == 1 and "nudge_skipped" not in counts
    s.clock.set(at("2025-03-12 09:00", "UTC"))
    await s.tick()
    s.clock.set(at("2025-03-13 08:00", "UTC"))
    await s.tick()
    second = nudges(s)[-1]
    assert "skipped" in await s.click("MIA", "1on1.skipped", second.card.buttons[1].value)
    assert "Already noted" in await s.click("MIA", "1on1.skipped", second.card.buttons[1].value)
    counts = await signal_counts(s)
    assert (counts["nudge_sent"], counts["nudge_done"], counts["nudge_skipped"]) == (2, 1, 1)
    assert "no longer exists" in await s.click("MIA", "1on1.done", "999")
    assert "no longer exists" in await s.click("MIA", "1on1.done", "not-a-number")


async def test_move_sends_the_nudge_again_an_hour_before_the_new_time(database):
    s = await team(database)
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    nudge = await first_nudge(s)
    value = nudge.card.buttons[2].value
    assert "Only @mia" in await s.click("BO", "1on1.move", value)
    await s.click("MIA", "1on1.move", value)
    form = s.form
    assert form is not None and form.form.form_id == "1on1.moveform" and form.form.state == value
    assert [field.name for field in form.form.fields] == ["date", "time"]
    for values, field, complaint in [
        ({"date": "07/03/2025", "time": "14:00"}, "date", "isn't a date"),
        ({"date": "2025-02-30", "time": "14:00"}, "date", "isn't a date"),
        ({"date": "2025-03-07", "time": "2ish"}, "time", "isn't a time"),
        ({"date": "2025-03-05", "time": "14:00"}, "date", "already passed"),
        ({"date": "2027-03-05", "time": "14:00"}, "date", "more than a year"),
    ]:
        await s.submit("MIA", "1on1.moveform", values, value)
        [errors] = s.last_answers  # only the bad field is asked again; the form stays as it was
        assert isinstance(errors, FieldErrors) and errors.form is not None
        assert errors.form.fields == tuple(replace(f, initial="") for f in form.form.fields)  # answers kept
        [(name, message)] = errors.errors
        assert name == field and complaint in message and "Example: date 2025-03-07, time 10:00" in message
    assert "Only @mia" in await s.submit(
        "BO", "1on1.moveform", {"date": "2025-03-07", "time": "14:00"}, value
    )
    answer = await s.submit("MIA", "1on1.moveform", {"date": "2025-03-07", "time": "14:00"}, value)
    assert answer == "Moved to Fri 07 Mar 14:00 your time. I'll nudge you at Fri 07 Mar 13:00."
    again = await s.submit("MIA", "1on1.moveform", {"date": "2025-03-07", "time": "15:00"}, value)
    assert "already moved this 1:1 to 2025-03-07" in again
    s.clock.set(at("2025-03-07 11:59", "UTC"))
    await s.tick()
    assert len(nudges(s)) == 1
    s.clock.set(at("2025-03-07 12:00", "UTC"))  # 13:00 in Berlin
    await s.tick()
    moved = nudges(s)[-1]
    assert len(nudges(s)) == 2 and local(moved, BERLIN) == "Fri 2025-03-07 13:00"
    assert moved.card.title == "Your 1:1 with @bo at 14:00"
    assert question_of(moved) == question_of(nudge)
    assert "done" in await s.click("MIA", "1on1.done", moved.card.buttons[0].value)


# --- the report's prep prompt ---------------------------------------------------------------------


async def test_the_prep_prompt_reaches_the_report_the_day_before_and_the_note_only_comes_back_to_them(
    database,
):
    s = await team(database, report_tz="Europe/London")
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    assert "prompts for 1:1 #1 are on" in await s.command("BO", "tend 1on1 prep 1 on")
    s.clock.set(at("2025-03-05 09:00", "UTC"))
    await s.tick()
    [prompt] = s.sender.directs("BO")
    assert local(prompt, "Europe/London") == "Wed 2025-03-05 09:00"
    assert "Your 1:1 with @mia is tomorrow at 09:00. Anything you'd like to raise?" in prompt.card.fallback
    [button] = prompt.card.buttons
    assert button.action == "1on1.prep"
    assert "own preparation" in await s.click("MIA", "1on1.prep", button.value)
    await s.click("BO", "1on1.prep", button.value, direct=True)
    form = s.form
    assert form is not None and form.form.form_id == "1on1.prepform"
    [field] = form.form.fields
    assert field.kind == "long_text"
    note = "I'd like to talk about the on-call rota"
    answer = await s.submit("BO", "1on1.prepform", {"note": note}, form.form.state)
    assert answer == f"Here's your note, to share if you choose: {note}"
    assert "Nothing written" in await s.submit("BO", "1on1.prepform", {"note": "  "}, form.form.state)
    s.clock.set(at("2025-03-06 09:00", "UTC"))
    await s.tick()
    assert len(nudges(s)) == 1
    assert all("on-call" not in sent.card.fallback for sent in s.sender.sent)
    assert all("on-call" not in row.payload for row in await rows(s, Outbox))
    assert "are off" in await s.command("MIA", "tend 1on1 prep 1 off")


# --- working hours, leave, removal -----------------------------------------------------------------


def berlin_hours(**extra) -> WorkingHours:
    return WorkingHours.of(BERLIN, "mon,tue,wed,thu,fri", "09:00", "17:30", extra.get("paused_until"))


@pytest.mark.parametrize(
    ("meeting", "nudge"),
    [
        ("2025-03-06 11:00", "2025-03-06 10:00"),  # an hour before, inside the hours
        ("2025-03-06 09:30", "2025-03-06 09:00"),  # an hour before is too early: when the hours open
        ("2025-03-06 09:00", "2025-03-06 09:00"),  # nothing in hours before it that day: next in-hours time
        ("2025-03-06 19:00", "2025-03-06 17:29"),  # an hour before is too late: the last in-hours minute
        ("2025-03-07 17:45", "2025-03-07 16:45"),
        ("2025-03-08 10:00", "2025-03-10 09:00"),  # Saturday: the next working morning
    ],
)
def test_nudge_time_keeps_inside_the_managers_hours(meeting, nudge):
    assert nudge_time(berlin_hours(), at(meeting, BERLIN), timedelta(minutes=60)) == at(nudge, BERLIN)


async def test_a_nine_oclock_meeting_is_nudged_when_the_managers_day_starts(database):
    s = await team(database)
    await s.join("CY", "cy", tz=BERLIN)
    await s.command("MIA", f"tend 1on1 add {BO} thu 09:00")
    await s.command("MIA", "tend 1on1 add <@CY|cy> thu 19:00")
    for when in ("2025-03-05 08:00", "2025-03-05 18:00"):  # each fires a day before its meeting
        s.clock.set(at(when, "UTC"))
        await s.tick()
    for when in ("2025-03-06 07:00", "2025-03-06 07:59", "2025-03-06 08:00", "2025-03-06 16:29"):
        s.clock.set(at(when, "UTC"))
        await s.tick()
    assert [(local(n, BERLIN), n.card.title) for n in nudges(s)] == [
        ("Thu 2025-03-06 09:00", "Your 1:1 with @bo at 09:00"),
        ("Thu 2025-03-06 17:29", "Your 1:1 with @cy at 19:00"),
    ]


async def test_no_nudge_for_a_meeting_while_the_manager_is_on_leave(database):
    s = await team(database)
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    await s.command("MIA", "tend 1on1 prep 1 on")
    await s.command("MIA", "tend pause until 2025-03-10")
    await drive(s, at("2025-03-14 00:00", "UTC"))
    assert [local(n, BERLIN) for n in nudges(s)] == ["Thu 2025-03-13 09:00"]
    assert len(s.sender.directs("BO")) == 1
    assert (await signal_counts(s))["nudge_sent"] == 1


async def test_removing_a_pair_drops_its_queued_nudge(database):
    s = await team(database)
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    s.clock.set(at("2025-03-05 09:00", "UTC"))
    await s.tick()  # fired: the nudge waits in the outbox for Thursday 09:00
    assert "Removed 1:1 #1" in await s.command("MIA", "tend 1on1 remove 1")
    await drive(s, at("2025-03-14 00:00", "UTC"))
    assert nudges(s) == []
    assert [row for row in await rows(s, Outbox) if row.state == "pending"] == []
    assert "No 1:1s yet" in await s.command("MIA", "tend 1on1 list")


async def test_a_pair_added_again_after_removal_is_nudged_again(database):
    # SQLite may give the new pair and its first occurrence the ids of the removed ones; the old
    # nudge's key must not silence the new nudge.
    s = await team(database)
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    await first_nudge(s)
    await s.command("MIA", "tend 1on1 remove 1")
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    s.clock.set(at("2025-03-12 09:00", "UTC"))
    await s.tick()
    s.clock.set(at("2025-03-13 08:00", "UTC"))
    await s.tick()
    assert [local(n, BERLIN) for n in nudges(s)] == ["Thu 2025-03-06 09:00", "Thu 2025-03-13 09:00"]


# --- commands: who may do what, and friendly mistakes ----------------------------------------------


async def test_a_schedule_mistakes_example_mentions_the_report_as_people_can_type_it(database):
    """A one-word name after @ is found by name on every platform, so the example uses it and works as
    shown; a name with a space would be read as two words, so the example keeps @bo and says whom."""
    s = await team(database)
    await s.join("CY", "cy", tz=BERLIN)
    await s.join("DI", "Di Reyes", tz=BERLIN)
    answer = await s.command("MIA", "tend 1on1 add <@CY|cy> every 2 wekes thu 10:00")
    [example] = re.findall(r"`([^`]+)`", answer)
    assert example.startswith("/tend 1on1 add @cy every 2 weeks")
    assert "Added 1:1 #1: @mia with @cy" in await s.command("MIA", example)  # as shown, it works

    answer = await s.command("MIA", "tend 1on1 add <@DI|Di Reyes> every 2 wekes thu 10:00")
    [example] = re.findall(r"`([^`]+)`", answer)
    assert "Di Reyes" not in example and example.startswith("/tend 1on1 add @bo every 2 weeks")
    assert "Example, with @Di Reyes mentioned where it says @bo: `/tend 1on1 add @bo" in answer
    assert not isinstance(c.parse("tend", example.removeprefix("/tend ")), c.UsageError)


async def test_add_list_and_the_friendly_answers_to_mistakes(database):
    s = await team(database)
    await s.join("CY", "cy", tz=BERLIN)
    await s.join("DEPLOYBOT", "deploybot", is_bot=True)
    answer = await s.command("MIA", f"tend 1on1 add {BO} every 2 weeks thu 10:00")
    assert answer.startswith(
        "1:1 added\nAdded 1:1 #1: @mia with @bo, every 2 weeks on Thu at 10:00 (Europe/Berlin)"
    )
    assert "/tend 1on1 prep 1 on" in answer
    cases = [
        ("BO", f"tend 1on1 add {MIA} <@CY|cy> thu 10:00", "Only a Tend admin can register a 1:1 for another"),
        ("MIA", f"tend 1on1 add {MIA} thu 10:00", "needs two people"),
        ("MIA", "tend 1on1 add <@DEPLOYBOT|deploybot> thu 10:00", "@deploybot is a bot"),
        ("MIA", f"tend 1on1 add {BO} every 2 wekes thu 10:00", "Example: `/tend 1on1 add @bo"),
        ("MIA", "tend 1on1 add <@CY|cy> cron */5 * * * *", "at most once a day"),
        ("MIA", f"tend 1on1 add {BO} mon 09:00", "already have 1:1 #1"),
        ("BO", "tend 1on1 remove 1", "Only @mia or a Tend admin can remove 1:1 #1"),
        ("CY", "tend 1on1 remove 1", "There is no 1:1 #1 you can change here"),
        ("CY", "tend 1on1 prep 1 on", "There is no 1:1 #1 you can change here"),
        ("MIA", "tend 1on1 remove 99", "There is no 1:1 #99"),
    ]
    for user, line, expected in cases:
        assert expected in await s.command(user, line), line
    assert len([r for r in await rows(s, Ritual) if r.kind == "one-on-one"]) == 1
    # An admin registers a pair for mia; mia hears about it privately.
    assert "Added 1:1 #2: @mia with @cy" in await s.command("ADA", f"tend 1on1 add {MIA} <@CY|cy> mon 11:00")
    assert any("ada registered your 1:1 with @cy" in d.card.fallback for d in s.sender.directs("MIA"))
    mine = await s.command("MIA", "tend 1on1 list")
    assert "#1 @mia with @bo: every 2 weeks on Thu at 10:00 (Europe/Berlin); next Thu 06 Mar 10:00" in mine
    assert "#2 @mia with @cy: Mon at 11:00" in mine and "prep off" in mine
    assert "#2" in await s.command("CY", "tend 1on1 list") and "#1" not in await s.command(
        "CY", "tend 1on1 list"
    )
    assert "#1" in await s.command("ADA", "tend 1on1 list")
    assert "Removed 1:1 #2" in await s.command("ADA", "tend 1on1 remove 2")


async def test_a_meeting_too_close_to_nudge_is_named_in_the_answer(database):
    s = await team(database, at("2025-03-05 12:00", "UTC"))  # Wednesday: Thursday 10:00 is under a day away
    answer = await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    assert (
        "The one on Thu 06 Mar 10:00 is too soon for a nudge, so the first nudge is for Thu 13 Mar 10:00"
        in answer
    )


async def test_two_workspaces_cannot_see_or_touch_each_others_pairs(database):
    s = await team(database)
    await s.command("MIA", f"tend 1on1 add {BO} thu 10:00")
    nudge = await first_nudge(s)
    await s.join("VIC", "vic", workspace="T2", admin=True)  # administers T2 in Slack: its Tend admin
    assert "No 1:1s yet" in await s.command("VIC", "tend 1on1 list", workspace="T2")
    assert "There is no 1:1 #1" in await s.command("VIC", "tend 1on1 remove 1", workspace="T2")
    assert "There is no 1:1 #1" in await s.command("VIC", "tend 1on1 prep 1 on", workspace="T2")
    value = nudge.card.buttons[0].value
    for action in ("1on1.done", "1on1.move"):
        clicked = await s._handle(ButtonClicked(s.origin("VIC", workspace="T2"), action, value, None))
        assert "no longer exists" in clicked
    assert "nudge_done" not in await signal_counts(s)
    assert "#1 @mia with @bo" in await s.command("ADA", "tend 1on1 list")
