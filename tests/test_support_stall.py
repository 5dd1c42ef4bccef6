"""Support never stalls silently: when nobody on the rota can see a request to talk soon, the person
asking is told when it can first be seen and offered another route, and the admins hear (once a day,
in their hours, with no author and no content) that the rota has no one available."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.engine import Engine
from bot.events import PersonRef
from bot.scheduler import Scheduler
from practices import stress_reports as stress
from practices.messages import When
from storage.models import Member, Outbox, StressRelay, StressReport
from tests.helpers import at
from tests.scenario import Scenario

MONDAY = at("2025-03-03 10:00")  # inside everyone's default hours (09:00-17:30 UTC, Monday to Friday)
FRIDAY_EVENING = at("2025-03-07 18:00")

ANA, BO, KIM, LEE = "U0ANA", "U0BOJANA", "U0KIM", "U0LEE"
NAMES = {ANA: "ana", BO: "bojana", KIM: "kim", LEE: "lee"}
TALK = {"intensity": "4", "category": "workload", "words": "Three launches at once.", "support": "talk"}
EAP = "Call Acme's EAP on 0800 123 456 (free, confidential, any hour)."


class Named(Scenario):
    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))


async def people(start, database, *, fallback: str = "", key: bytes | None = None) -> Scenario:
    """ana (admin), bojana (who asks), kim and lee (the support rota)."""
    s = Named(database, start)
    if fallback or key:
        keyed = {"secret_key": key} if key else {}
        s.engine = Engine(database, s.clock, {"slack": s.sender}, support_fallback=fallback, **keyed)
        s.scheduler = Scheduler(
            database, s.clock, senders={"slack": s.sender}, support_fallback=fallback, **keyed
        )
    s.engine.delivery.pacing = {}
    for user in NAMES:
        await s.join(user, NAMES[user], admin=user == ANA)
    await s.command(ANA, f"tend support add <@{KIM}|kim> <@{LEE}|lee>")
    s.sender.sent.clear()
    return s


async def admin_notes(s: Scenario) -> list:
    return [d for d in s.sender.directs(ANA) if d.card.title == stress.ADMIN_STALL_TITLE]


async def stall_rows(database) -> list[Outbox]:
    async with database.session() as session:
        found = (await session.exec(select(Outbox))).all()
    return [row for row in found if row.idempotency_key.startswith("support-stall:")]


async def test_a_rota_on_leave_the_asker_is_told_and_the_admins_hear_once_a_day(database):
    s = await people(MONDAY, database)
    for user in (KIM, LEE):  # both on leave for three weeks: the request would wait 19 days
        assert "2025-03-24" in await s.command(user, "tend pause until 2025-03-24")
    s.sender.sent.clear()
    answer = await s.submit(BO, "stress.report", TALK)
    assert "Nobody else on the support rota is at work right now" in answer
    assert "the earliest anyone can see your request is Mon 24 Mar 09:00, your time" in answer
    assert "admins are told that the rota has no one available, never who asked" in answer
    assert "your manager, HR, or your employee assistance programme (EAP)" in answer
    assert (await rows_of(database, StressReport))[0].support_state == "requested"  # still open

    await s.advance(minutes=1)  # the sweep notices; the note waits for the next whole hour
    assert await admin_notes(s) == []
    await s.run_until(MONDAY + timedelta(hours=1, minutes=5))
    [note] = await admin_notes(s)
    assert at("2025-03-03 11:00") <= note.at < at("2025-03-03 11:05")  # the first tick from 11:00
    text = repr(note.card)
    assert "nobody on the support rota can see it within 48 hours" in text
    for secret in ("bojana", BO, "workload", "launches", "4/5"):
        assert secret not in text  # no author, no content
    assert [d.target for d in s.sender.directs() if d.card.title == stress.ADMIN_STALL_TITLE] == [ANA]

    # A second request the same day adds nothing for the admins; the next day they hear again.
    await s.submit(BO, "stress.report", TALK)
    await s.run_until(MONDAY + timedelta(hours=20))
    assert len(await admin_notes(s)) == 1
    await s.run_until(MONDAY + timedelta(days=1, hours=2))
    assert [(n.at.day, n.at.hour) for n in await admin_notes(s)] == [(3, 11), (4, 11)]


async def test_a_request_on_friday_evening_says_when_monday_it_is_seen_and_offers_the_configured_route(
    database,
):
    s = await people(FRIDAY_EVENING, database, fallback=EAP)
    answer = await s.submit(BO, "stress.report", TALK)
    assert "the earliest anyone can see your request is Mon 10 Mar 09:00, your time" in answer
    assert f"If you'd like to talk to someone sooner: {EAP}" in answer
    [when] = [
        part
        for answer_ in s.last_answers
        for block in answer_.card.blocks
        for part in getattr(block, "text", ())
        if isinstance(part, When)
    ]
    assert when.at == at("2025-03-10 09:00")  # each platform shows it in the reader's own zone
    # 63 hours until anyone is at work, past the 48-hour window: the admins hear, in their own hours.
    await s.run_until(FRIDAY_EVENING + timedelta(days=3, hours=1), step=timedelta(hours=1))
    [note] = await admin_notes(s)
    assert note.at == at("2025-03-10 09:00")
    # The rota gets the request itself when their week starts.
    assert [d.at for d in s.sender.directs(KIM) if d.card.title == stress.ASK_TITLE] == [
        at("2025-03-10 09:00")
    ]


async def test_an_evening_request_seen_next_morning_tells_the_asker_but_not_the_admins(database):
    s = await people(at("2025-03-04 20:00"), database)  # a Tuesday evening
    answer = await s.submit(BO, "stress.report", TALK)
    assert "the earliest anyone can see your request is Wed 05 Mar 09:00, your time" in answer
    assert "admins are told" not in answer and "sooner" in answer
    await s.run_until(at("2025-03-05 12:00"), step=timedelta(hours=1))
    assert await admin_notes(s) == [] and await stall_rows(database) == []


async def test_a_rota_at_work_changes_nothing_for_anyone(database):
    s = await people(MONDAY, database)
    answer = await s.submit(BO, "stress.report", TALK)
    assert "Nobody else" not in answer and "sooner" not in answer
    await s.advance(hours=2)
    assert await admin_notes(s) == [] and await stall_rows(database) == []


async def test_asking_with_an_empty_rota_tells_the_admins_and_offers_another_route(database):
    s = await people(MONDAY, database)
    await s.command(ANA, f"tend support remove <@{KIM}|kim> <@{LEE}|lee>")
    answer = await s.submit(BO, "stress.report", TALK)
    assert "nobody is on the support rota" in answer and "employee assistance programme" in answer
    await s.run_until(MONDAY + timedelta(hours=1, minutes=5))
    [note] = await admin_notes(s)
    assert "nobody is on the support rota, so nobody could be asked" in note.card.fallback
    assert "bojana" not in repr(note.card) and "workload" not in repr(note.card)


async def test_a_rota_member_asking_is_not_singled_out_in_what_the_admins_hear(database):
    """kim is on the rota and at work; lee is on leave. kim asks: the author is told nobody ELSE can
    see it, but the admins hear nothing, exactly as if anyone else had asked (kim is available)."""
    s = await people(MONDAY, database)
    await s.command(LEE, "tend pause until 2025-03-24")
    answer = await s.submit(KIM, "stress.report", TALK)
    assert "Nobody else on the support rota is at work right now" in answer
    assert "admins are told" not in answer
    await s.run_until(MONDAY + timedelta(hours=3))
    assert await admin_notes(s) == [] and await stall_rows(database) == []


@pytest.mark.parametrize("held_by", ["no working days", "never looked up"])
async def test_rota_members_who_can_never_be_reached_count_as_away(database, held_by):
    s = await people(MONDAY, database)
    await s.command(KIM, "tend pause until 2025-03-24")
    async with database.session() as session:
        [lee] = (await session.exec(select(Member).where(Member.platform_user_id == LEE))).all()
        if held_by == "no working days":
            lee.work_days = ""
        else:
            lee.profile_known, lee.time_zone = False, "UTC"
        session.add(lee)
    answer = await s.submit(BO, "stress.report", TALK)
    assert "Mon 24 Mar 09:00" in answer  # kim's return is the first time anyone can see it


async def rows_of(database, model) -> list:
    async with database.session() as session:
        return list((await session.exec(select(model))).all())


async def test_what_the_stall_writes_names_nobody_and_keeps_only_the_hour(database):
    """The database holder's view: the stall check reads the rota and writes nothing about the asker;
    the admins' note is addressed to the admin, says nothing of the request, and keeps only the hour."""
    s = await people(at("2025-03-03 10:17"), database)
    await s.command(KIM, "tend pause until 2025-03-24")
    await s.command(LEE, "tend pause until 2025-03-24")
    await s.submit(BO, "stress.report", TALK)
    await s.advance(seconds=15)  # the first tick after the request: the sweep queues the note
    [relay] = await rows_of(database, StressRelay)
    assert relay.supporter_seal is None and relay.kind == "talk"
    async with database.session() as session:
        ids = {m.platform_user_id: m.id for m in (await session.exec(select(Member))).all()}
    [note] = await stall_rows(database)
    assert note.target_kind == "person" and note.target_id == str(ids[ANA])
    assert (note.created_at.minute, note.created_at.second) == (0, 0)  # not the request's moment
    assert note.next_attempt_at.replace(tzinfo=None) == at("2025-03-03 11:00").replace(tzinfo=None)
    for secret in (BO, "bojana", "workload", "launches"):
        assert secret not in note.payload and secret not in note.idempotency_key
    for row in await rows_of(database, Outbox):  # nothing readable is on its way to the asker
        assert not (row.target_kind == "person" and row.target_id == str(ids[BO]))


async def test_a_rota_that_goes_away_after_the_request_the_asker_hears_when_it_falls_due(database):
    s = await people(MONDAY, database, key=b"k" * 32)  # the server's own key seals the note (not a default)
    answer = await s.submit(BO, "stress.report", TALK)
    assert "Nobody else" not in answer  # kim and lee are at work when bojana asks
    await s.command(KIM, "tend pause until 2025-03-24")  # ...and then both go on leave
    await s.command(LEE, "tend pause until 2025-03-24")
    await s.run_until(MONDAY + timedelta(hours=47), step=timedelta(hours=1))
    assert s.sender.directs(BO) == []
    await s.run_until(MONDAY + timedelta(hours=50), step=timedelta(minutes=30))
    [note] = s.sender.directs(BO)  # once, when it falls due unanswered
    assert note.card.title == stress.STILL_OPEN_TITLE
    assert "the earliest anyone can see your request is Mon 24 Mar 09:00, your time" in note.card.fallback
    assert "employee assistance programme" in note.card.fallback
    async with database.session() as session:
        bo = (await session.exec(select(Member).where(Member.platform_user_id == BO))).one()
    outbox = await rows_of(database, Outbox)
    assert all(row.target_id != str(bo.id) for row in outbox)  # sealed on its way: nobody saw whose
    await s.run_until(MONDAY + timedelta(days=4), step=timedelta(hours=2))
    assert len(s.sender.directs(BO)) == 1
