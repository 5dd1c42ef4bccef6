"""Anonymous stress reports and the support relay, end to end through the engine, scheduler and outbox."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.events import PersonRef
from practices import stress_reports as stress
from practices.messages import FieldErrors
from practices.sealing import PROCESS_KEY, unseal_id
from storage.models import Member, Outbox, Signal, StressRelay, StressReport
from tests.helpers import at
from tests.scenario import Scenario

START = at("2025-03-03 10:00")  # a Monday, inside everyone's default working hours
WEEK = "2025-W10"

# Platform ids long enough that a random relay token is never mistaken for one in an assertion.
ANA, BO, KIM, LEE, MAX = "U0ANA", "U0BOJANA", "U0KIM", "U0LEE", "U0MAX"
NAMES = {ANA: "ana", BO: "bojana", KIM: "kim", LEE: "lee", MAX: "max"}

REPORT = {"intensity": "4", "category": "workload", "words": "Three launches at once.", "support": "talk"}


async def rows(database, model) -> list:
    async with database.session() as session:
        return list((await session.exec(select(model))).all())


async def signal_counts(database) -> dict[str, tuple[int, float]]:
    return {s.kind: (s.count, s.value_sum) for s in await rows(database, Signal)}


def side(relay: StressRelay, purpose: str) -> int | None:
    """Opens one side of a relay with the key the test engine uses (what TEND_SECRET_KEY's holder can do)."""
    sealed = relay.author_seal if purpose == stress.AUTHOR else relay.supporter_seal
    return unseal_id(PROCESS_KEY, purpose, sealed)


async def member(database, user: str) -> Member:
    async with database.session() as session:
        return (await session.exec(select(Member).where(Member.platform_user_id == user))).one()


class Named(Scenario):
    """A scenario whose people keep their display names when they act (not their lower-cased ids)."""

    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))


@pytest.fixture
async def s(database) -> Scenario:
    """ana (admin), bojana (who reports), kim and lee (the support rota), max (nobody in particular)."""
    scenario = Named(database, START)
    scenario.engine.delivery.pacing = {}  # several notes to one person at one instant (pacing: test_delivery)
    for user in NAMES:
        await scenario.join(user, NAMES[user], admin=user == ANA)
    assert "now on the support rota" in await scenario.command(
        ANA, f"tend support add <@{KIM}|kim> <@{LEE}|lee>"
    )
    scenario.sender.sent.clear()  # the rota's welcome notes
    return scenario


def token_from(card) -> str:
    [button] = [b for b in card.buttons if b.action in (stress.REPLY, stress.REACHED)]
    return button.value


def everything_sent_to(s: Scenario, user: str) -> str:
    return "\n".join(repr(sent.card) for sent in s.sender.directs(user))


# --- the form ----------------------------------------------------------------------------------------


async def test_tend_stress_and_the_opener_button_open_the_same_private_form(s):
    assert "[form stress.report" in await s.command(BO, "tend stress")
    form = s.form.form
    fields = {field.name: field for field in form.fields}
    assert list(fields) == ["intensity", "category", "words", "support", "person"]
    assert [c.value for c in fields["intensity"].choices] == ["1", "2", "3", "4", "5"]
    assert fields["intensity"].kind == "choice" and fields["intensity"].required
    assert [c.value for c in fields["category"].choices] == [
        "workload",
        "deadlines",
        "conflict",
        "personal",
        "other",
    ]
    assert fields["words"].kind == "long_text" and not fields["words"].required
    assert fields["words"].max_length == 2000
    assert [c.value for c in fields["support"].choices] == ["count", "talk", "reach_out"]
    assert fields["person"].kind == "person" and not fields["person"].required

    await s.click(BO, "stress.start", place="C-standup")
    assert s.form is not None and s.form.form == form


# --- submitting each option --------------------------------------------------------------------------


async def test_just_count_it_stores_an_anonymous_row_and_signals(s, database):
    answer = await s.submit(BO, "stress.report", {**REPORT, "support": "count", "intensity": "3"})
    assert "counted" in answer and "nobody will contact you" in answer
    assert "no name, no user id and no exact time" in answer
    [report] = await rows(database, StressReport)
    assert (report.intensity, report.category, report.text, report.week) == (
        3,
        "workload",
        "Three launches at once.",
        WEEK,
    )
    assert (report.support, report.support_state, report.team_id) == ("count", "none", None)
    assert await rows(database, StressRelay) == []
    assert await signal_counts(database) == {"stress_reported": (1, 3.0)}
    assert s.sender.sent == []


async def test_the_team_is_kept_only_when_it_is_big_enough(s, database):
    await s.command(ANA, "tend team create core")
    await s.command(ANA, f"tend team add core <@{BO}|bojana> <@{KIM}|kim> <@{LEE}|lee> <@{MAX}|max>")
    await s.submit(BO, "stress.report", {**REPORT, "support": "count"})
    await s.command(ANA, f"tend team add core <@{ANA}|ana>")  # now 5, the minimum group size
    answer = await s.submit(BO, "stress.report", {**REPORT, "support": "count"})
    assert "your team" in answer
    small, large = sorted(await rows(database, StressReport), key=lambda r: r.id)
    assert small.team_id is None and large.team_id is not None


async def test_talk_asks_the_rota_without_naming_the_reporter(s, database):
    answer = await s.submit(BO, "stress.report", REPORT)
    assert "support rota" in answer and "won't see who you are" in answer and "30 days" in answer
    assert "no name, no user id and no exact time" in answer
    for supporter in (KIM, LEE):
        [ask] = s.sender.directs(supporter)
        assert ask.card.title == "Someone asked to talk, anonymously"
        assert "Intensity 4/5, about workload." in ask.card.fallback
        assert "Three launches at once." in ask.card.fallback
        assert [b.label for b in ask.card.buttons] == ["Reply anonymously"]
        assert "bojana" not in repr(ask.card) and BO not in repr(ask.card)
    assert s.sender.directs(BO) == [] and s.sender.directs(MAX) == []
    [report] = await rows(database, StressReport)
    [relay] = await rows(database, StressRelay)
    assert (report.support, report.support_state) == ("talk", "requested")
    # Who asked is sealed under the server secret; the times are the due hour and the expiry day.
    assert relay.report_id == report.id and side(relay, stress.AUTHOR) == (await member(database, BO)).id
    assert relay.supporter_seal is None and not relay.answered
    assert relay.support_due_at == START + timedelta(hours=48)
    assert relay.expires_at == at("2025-04-03 00:00")
    assert len(relay.token) >= 32
    assert await signal_counts(database) == {
        "stress_reported": (1, 4.0),
        "stress_support_requested": (1, 0.0),
    }


async def test_talk_with_nobody_on_the_rota_says_so_honestly(s, database):
    await s.command(ANA, f"tend support remove <@{KIM}|kim> <@{LEE}|lee>")
    answer = await s.submit(BO, "stress.report", REPORT)
    assert "nobody is on the support rota" in answer and "`/tend support add @kim`" in answer
    assert "counted" in answer
    [report] = await rows(database, StressReport)
    assert report.support_state == "unsupported"
    assert await rows(database, StressRelay) == []
    assert s.sender.directs() == []
    assert await signal_counts(database) == {
        "stress_reported": (1, 4.0),
        "stress_support_requested": (1, 0.0),
        "stress_unsupported": (1, 0.0),
    }


async def test_a_reporter_on_the_rota_is_asked_like_everyone_so_nobody_is_singled_out(s, database):
    await s.command(ANA, f"tend support add <@{BO}|bojana>")
    s.sender.sent.clear()
    answer = await s.submit(BO, "stress.report", REPORT)
    assert "reaches you too" in answer and "Someone else will answer it" in answer
    assert {d.target for d in s.sender.directs()} == {BO, KIM, LEE}  # the whole rota, the author too
    token = token_from(s.sender.directs(BO)[0].card)
    assert "Nobody has answered yet" in await s.click(BO, "stress.reply", token, direct=True)


async def test_the_only_person_on_the_rota_reporting_is_told_nobody_else_can_answer(s, database):
    await s.command(ANA, f"tend support remove <@{KIM}|kim> <@{LEE}|lee>")
    await s.command(ANA, f"tend support add <@{BO}|bojana>")
    s.sender.sent.clear()
    answer = await s.submit(BO, "stress.report", REPORT)
    assert "only person on the support rota" in answer
    assert [d.target for d in s.sender.directs()] == [BO]  # as any report would: the rota is asked


# --- the relay ---------------------------------------------------------------------------------------


async def talk(s: Scenario) -> str:
    await s.submit(BO, "stress.report", REPORT)
    return token_from(s.sender.directs(KIM)[0].card)


async def test_a_reply_reaches_the_author_and_the_answer_reaches_only_that_supporter(s, database):
    token = await talk(s)
    assert "[form stress.message" in await s.click(KIM, "stress.reply", token, direct=True)
    assert s.form.form.state == token and [f.name for f in s.form.form.fields] == ["message"]
    answer = await s.submit(KIM, "stress.message", {"message": "I'm here. Want to talk it through?"}, token)
    assert "Sent" in answer and "bojana" not in answer

    [to_author] = s.sender.directs(BO)
    assert to_author.card.title == "A support person replied"
    assert "I'm here. Want to talk it through?" in to_author.card.fallback
    assert "kim" not in repr(to_author.card) and KIM not in repr(to_author.card)
    assert [b.action for b in to_author.card.buttons] == ["stress.reply", "stress.close"]
    [relay] = await rows(database, StressRelay)
    assert side(relay, stress.SUPPORTER) == (await member(database, KIM)).id and relay.answered
    [report] = await rows(database, StressReport)
    assert report.support_state == "answered"
    assert (await signal_counts(database))["stress_supported"] == (1, 0.0)

    # The author answers: it goes to kim only, never to lee, and kim still can't tell who it is.
    assert "[form stress.message" in await s.click(BO, "stress.reply", token, direct=True)
    await s.submit(BO, "stress.message", {"message": "Yes please, tomorrow?"}, token)
    [_, to_kim] = s.sender.directs(KIM)
    assert "Yes please, tomorrow?" in to_kim.card.fallback
    assert "bojana" not in everything_sent_to(s, KIM) and BO not in everything_sent_to(s, KIM)
    assert "Yes please" not in everything_sent_to(s, LEE)

    # Someone else on the rota is too late, and someone off the rota cannot answer at all.
    assert "already answered" in await s.click(LEE, "stress.reply", token, direct=True)
    assert "already answered" in await s.submit(LEE, "stress.message", {"message": "hi"}, token)
    assert (await signal_counts(database))["stress_supported"] == (1, 0.0)


async def test_messages_are_not_stored_in_any_stress_table(s, database):
    token = await talk(s)
    await s.submit(KIM, "stress.message", {"message": "A secret sentence 7781."}, token)
    async with database.session() as session:
        reports = (await session.exec(select(StressReport))).all()
        relays = (await session.exec(select(StressRelay))).all()
    assert "7781" not in repr(reports) + repr(relays)


async def test_only_the_rota_can_open_a_request(s):
    token = await talk(s)
    assert "Only people on the support rota" in await s.click(MAX, "stress.reply", token, direct=True)
    assert "Only people on the support rota" in await s.submit(
        MAX, "stress.message", {"message": "hi"}, token
    )
    assert s.sender.directs(BO) == []
    assert "Nobody has answered yet" in await s.click(BO, "stress.reply", token, direct=True)


async def test_closing_deletes_the_relay_and_tells_both_sides(s, database):
    token = await talk(s)
    await s.submit(KIM, "stress.message", {"message": "Here for you."}, token)
    assert "Only the two people" in await s.click(LEE, "stress.close", token, direct=True)
    answer = await s.click(BO, "stress.close", token, direct=True)
    assert "link between you and your report is deleted" in answer
    assert await rows(database, StressRelay) == []
    [report] = await rows(database, StressReport)
    assert report.support_state == "answered"  # the report stays, anonymously
    assert s.sender.directs(KIM)[-1].card.title == "Conversation closed"
    # Nothing can travel over a closed conversation, from either side.
    assert "closed" in await s.click(KIM, "stress.reply", token, direct=True)
    assert "closed" in await s.submit(KIM, "stress.message", {"message": "still there?"}, token)
    assert "closed" in await s.click(BO, "stress.close", token, direct=True)


async def test_the_supporter_can_close_too(s, database):
    token = await talk(s)
    await s.submit(LEE, "stress.message", {"message": "Here for you."}, token)
    assert "deleted" in await s.click(LEE, "stress.close", token, direct=True)
    assert await rows(database, StressRelay) == []
    assert s.sender.directs(BO)[-1].card.title == "Conversation closed"
    assert "/tend stress" in s.sender.directs(BO)[-1].card.fallback


@pytest.mark.parametrize(("message", "expected"), [("   ", "Write a few words"), ("x" * 2001, "2,001")])
async def test_an_empty_or_overlong_message_is_not_passed_on(s, database, message, expected):
    token = await talk(s)
    assert expected in await s.submit(KIM, "stress.message", {"message": message}, token)
    assert s.sender.directs(BO) == []
    [relay] = await rows(database, StressRelay)
    assert relay.supporter_seal is None


# --- the 48-hour window and the 30-day limit ---------------------------------------------------------


async def test_no_reply_in_48_hours_marks_it_unsupported_and_reminds_the_rota_once(s, database):
    token = await talk(s)
    await s.run_until(START + timedelta(hours=47, minutes=55), step=timedelta(hours=1))
    assert (await rows(database, StressReport))[0].support_state == "requested"
    await s.run_until(START + timedelta(hours=52), step=timedelta(minutes=30))  # several ticks past due
    [report] = await rows(database, StressReport)
    assert report.support_state == "unsupported"
    assert (await signal_counts(database))["stress_unsupported"] == (1, 0.0)
    [signal] = [sig for sig in await rows(database, Signal) if sig.kind == "stress_unsupported"]
    assert signal.week == WEEK and signal.team_id == 0
    for supporter in (KIM, LEE):
        reminders = [d for d in s.sender.directs(supporter) if d.card.title == "Still waiting for a reply"]
        assert len(reminders) == 1
        assert "4/5, about workload" in reminders[0].card.fallback
        assert token_from(reminders[0].card) == token
    outbox = await rows(database, Outbox)
    reminded = [row for row in outbox if row.idempotency_key.startswith("stress-reminder:")]
    rota_ids = {str((await member(database, user)).id) for user in (KIM, LEE)}
    assert {row.target_id for row in reminded} == rota_ids and len(reminded) == 2
    assert s.sender.directs(BO) == []  # never any pressure on the person who asked

    # A late answer still counts as support; the unsupported count stays what it was.
    await s.submit(KIM, "stress.message", {"message": "Sorry I'm late. I'm here."}, token)
    assert (await rows(database, StressReport))[0].support_state == "answered"
    assert (await signal_counts(database))["stress_unsupported"] == (1, 0.0)
    assert (await signal_counts(database))["stress_supported"] == (1, 0.0)


async def test_an_answered_request_is_never_flagged(s, database):
    token = await talk(s)
    await s.submit(KIM, "stress.message", {"message": "Here."}, token)
    await s.run_until(START + timedelta(hours=50), step=timedelta(hours=1))
    assert (await rows(database, StressReport))[0].support_state == "answered"
    assert "stress_unsupported" not in await signal_counts(database)


async def test_relays_are_deleted_after_30_days(s, database):
    token = await talk(s)
    await s.submit(KIM, "stress.message", {"message": "Here."}, token)
    await s.advance(days=30)  # it expires at the end of the 30th day (a day, not the report's moment)
    assert len(await rows(database, StressRelay)) == 1
    await s.advance(hours=14)
    assert await rows(database, StressRelay) == []
    assert len(await rows(database, StressReport)) == 1
    assert "closed" in await s.click(BO, "stress.reply", token, direct=True)


# --- reach out ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("person", [MAX, "max", "@max"])
async def test_reach_out_names_the_reporter_only_to_the_chosen_person(s, database, person):
    answer = await s.submit(BO, "stress.report", {**REPORT, "support": "reach_out", "person": person})
    assert "I've asked @max to reach out" in answer and "nothing else" in answer
    assert "no name, no user id and no exact time" in answer
    [ask] = s.sender.directs(MAX)
    assert "@bojana is having a hard time and asked if you could reach out to them." in ask.card.fallback
    assert (
        "workload" not in repr(ask.card) and "launches" not in repr(ask.card) and "4" not in ask.card.fallback
    )
    assert [b.label for b in ask.card.buttons] == ["I reached out"]
    assert [d.target for d in s.sender.directs()] == [MAX]  # the rota is not involved
    [report] = await rows(database, StressReport)
    [relay] = await rows(database, StressRelay)
    assert (report.support, report.support_state) == ("reach_out", "requested")
    assert relay.author_seal is None and side(relay, stress.SUPPORTER) == (await member(database, MAX)).id

    token = token_from(ask.card)
    assert "Only the two people" in await s.click(KIM, "stress.reached", token, direct=True)
    assert "Thank you for reaching out" in await s.click(
        MAX, "stress.reached", token, message_ref=ask.ref, place="D-U5", direct=True
    )
    assert (await rows(database, StressReport))[0].support_state == "answered"
    assert await rows(database, StressRelay) == []
    assert (await signal_counts(database))["stress_supported"] == (1, 0.0)
    [update] = [sent for sent in s.sender.sent if sent.kind == "update"]
    assert update.ref == ask.ref and update.card.buttons == ()
    # A second tap changes nothing.
    assert "Thank you" in await s.click(MAX, "stress.reached", token, direct=True)
    assert (await signal_counts(database))["stress_supported"] == (1, 0.0)


async def test_an_unanswered_reach_out_reminds_only_the_chosen_person_once(s, database):
    await s.submit(BO, "stress.report", {**REPORT, "support": "reach_out", "person": MAX})
    await s.run_until(START + timedelta(hours=52), step=timedelta(hours=1))
    assert (await rows(database, StressReport))[0].support_state == "unsupported"
    reminders = s.sender.directs(MAX)[1:]
    assert len(reminders) == 1 and "bojana" not in repr(reminders[0].card)
    assert s.sender.directs(KIM) == [] and s.sender.directs(LEE) == []
    assert (await signal_counts(database))["stress_unsupported"] == (1, 0.0)


# --- mistakes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "field", "expected"),
    [
        ({**REPORT, "intensity": ""}, "intensity", "Pick how heavy it feels"),
        ({**REPORT, "intensity": "7"}, "intensity", "Pick how heavy it feels"),
        ({**REPORT, "category": "weather"}, "category", "Pick what it is mostly about"),
        ({**REPORT, "support": ""}, "support", "Pick what would help"),
        ({**REPORT, "support": "reach_out"}, "person", "so pick who"),
        ({**REPORT, "support": "reach_out", "person": "  "}, "person", "so pick who"),
        ({**REPORT, "support": "reach_out", "person": "nobody"}, "person", "couldn't find @nobody"),
        ({**REPORT, "support": "reach_out", "person": BO}, "person", "someone other than yourself"),
        ({**REPORT, "words": "x" * 2001}, "words", "2,001"),
    ],
)
async def test_mistakes_name_the_field_to_fix_and_store_nothing(s, database, values, field, expected):
    await s.submit(BO, "stress.report", values)
    [errors] = s.last_answers
    assert isinstance(errors, FieldErrors) and errors.form == stress.report_form()
    [(name, message)] = errors.errors
    assert name == field and expected in message and "Example" in message
    assert await rows(database, StressReport) == []
    assert await rows(database, StressRelay) == []
    assert await rows(database, Signal) == []
    assert s.sender.sent == []


async def test_a_bot_cannot_be_asked_to_reach_out(s, database):
    await s.join("B1", "deploybot", is_bot=True)
    await s.submit(BO, "stress.report", {**REPORT, "support": "reach_out", "person": "B1"})
    [errors] = s.last_answers
    assert isinstance(errors, FieldErrors) and "is a bot" in errors.text
    assert await rows(database, StressReport) == []


async def test_unknown_buttons_and_forms_get_an_answer(s):
    assert "no longer in use" in await s.click(BO, "stress.explode", "x")
    assert "no longer in use" in await s.submit(BO, "stress.other", {})


# --- the rota ----------------------------------------------------------------------------------------


async def test_only_admins_change_the_support_rota_and_anyone_can_list_it(s, database):
    assert "Only a Tend admin" in await s.command(BO, f"tend support add <@{MAX}|max>")
    assert "Only a Tend admin" in await s.command(BO, f"tend support remove <@{KIM}|kim>")
    assert not (await member(database, MAX)).is_support
    assert (await member(database, KIM)).is_support
    assert await s.command(BO, "tend support list") == (
        "Support rota: @kim, @lee. They answer anonymous requests to talk without seeing who asked."
    )


async def test_admins_add_and_remove_support_people(s, database):
    assert "@max is now on the support rota" in await s.command(ANA, f"tend support add <@{MAX}|max>")
    [welcome] = s.sender.directs(MAX)
    assert welcome.card.title == "You're on the support rota"
    assert (await member(database, MAX)).is_support
    assert "@kim and @lee are no longer" in await s.command(
        ANA, f"tend support remove <@{KIM}|kim> <@{LEE}|lee>"
    )
    assert await s.command(MAX, "tend support list") == (
        "Support rota: @max. They answer anonymous requests to talk without seeing who asked."
    )
    await s.command(ANA, f"tend support remove <@{MAX}|max>")
    assert "Nobody is on the support rota yet" in await s.command(MAX, "tend support list")


async def test_bots_cannot_join_the_rota(s, database):
    await s.join("B1", "deploybot", is_bot=True)
    assert "is a bot" in await s.command(ANA, "tend support add <@B1|deploybot>")
    assert not (await member(database, "B1")).is_support


async def test_a_sealed_reply_waits_for_the_authors_own_time_zone(s, database):
    """The reply to someone Tend never learned a zone for is not sent on a guess: sealed rows cannot
    be held per receiver (nobody may read whose they are), so it is tried again each hour until then."""
    newcomer = "U0NEWCOMER"
    await s.click(newcomer, stress.START)  # first contact: no profile, no zone yet
    await s.submit(newcomer, "stress.report", REPORT)
    token = token_from(s.sender.directs(KIM)[0].card)
    await s.submit(KIM, "stress.message", {"message": "I'm here for you."}, token)
    await s.run_until(START + timedelta(hours=3), step=timedelta(minutes=30))
    assert s.sender.directs(newcomer) == []
    await s.join(newcomer, "newcomer", tz="Asia/Tokyo")  # the platform's profile arrives
    await s.run_until(START + timedelta(days=1), step=timedelta(minutes=30))
    [reply] = s.sender.directs(newcomer)
    assert "I'm here for you." in reply.card.fallback
    local = reply.at.astimezone(ZoneInfo("Asia/Tokyo"))
    assert local.weekday() < 5 and 9 <= local.hour < 18  # in Tokyo working hours, not on a guess
