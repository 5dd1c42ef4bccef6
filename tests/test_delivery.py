"""The outbox and delivery worker: retries, Retry-After, parking, pacing, hours, and crash safety."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from bot.clock import FixedClock
from bot.delivery import DeliveryWorker
from bot.errors import SendError
from practices.messages import Card
from storage.models import Outbox
from tests.fakes import InMemorySender
from tests.helpers import at
from tests.scenario import Scenario

TUESDAY_10 = at("2026-11-24 10:00")  # UTC; default working hours are Mon–Fri 09:00–17:30


async def rows(database) -> list[Outbox]:
    async with database.session() as session:
        return list((await session.exec(select(Outbox).order_by(Outbox.id))).all())


async def test_a_429_is_retried_after_retry_after_and_arrives_once(database):
    s = Scenario(database, TUESDAY_10)
    s.sender.fail_next = [SendError("rate limited", retry_after=30)]
    await s.command("U1", "kudos <@U2|bo> thanks for the help")
    assert s.sender.posts("C1") == []
    await s.advance(seconds=29)
    assert s.sender.posts("C1") == []
    await s.advance(seconds=1)
    assert len(s.sender.posts("C1")) == 1
    await s.advance(minutes=10)
    assert len(s.sender.posts("C1")) == 1


async def test_server_errors_back_off_and_then_deliver_once(database):
    s = Scenario(database, TUESDAY_10)
    s.sender.fail_next = [SendError("500"), SendError("502")]
    await s.command("U1", "kudos <@U2|bo> thanks for the help")
    for _ in range(10):
        await s.advance(seconds=10)
    assert len(s.sender.posts("C1")) == 1 and len(s.sender.directs("U2")) == 1
    # The post and the private note each failed once (500, then 502) and went through on the retry.
    assert [(r.state, r.attempts) for r in await rows(database)] == [("sent", 2), ("sent", 2)]


async def test_a_message_is_parked_after_its_last_attempt_and_admins_are_told(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")  # U1 is the first member: admin
    s.sender.fail_next = [SendError("channel_not_found", permanent=True)]
    await s.command("U2", "kudos <@U3|cy> thanks")
    post = next(r for r in await rows(database) if r.target_kind == "place")
    assert post.state == "parked" and "channel_not_found" in (post.last_error or "")
    await s.advance(seconds=1)
    notices = [d for d in s.sender.directs("U1") if "could not be delivered" in d.card.title]
    assert len(notices) == 1 and "#C1" in notices[0].card.fallback


async def test_attempts_run_out_then_the_message_is_parked(database):
    s = Scenario(database, TUESDAY_10)
    s.sender.fail_next = [SendError("500")] * 12  # the post and the private note, six times each
    await s.command("U1", "kudos <@U2|bo> thanks")
    await s.run_until(TUESDAY_10 + timedelta(hours=2), step=timedelta(minutes=1))
    post = next(r for r in await rows(database) if r.target_kind == "place")
    assert post.state == "parked" and post.attempts == 6
    assert s.sender.posts("C1") == []


async def test_a_private_note_due_in_the_evening_waits_for_the_next_working_morning(database):
    s = Scenario(database, at("2026-11-24 20:00", "Asia/Tokyo"))
    await s.join("U2", "bo", tz="Asia/Tokyo")
    await s.command("U1", "kudos <@U2|bo> thanks")
    assert s.sender.directs("U2") == []
    await s.run_until(at("2026-11-25 09:30", "Asia/Tokyo"), step=timedelta(minutes=30))
    [note] = s.sender.directs("U2")
    assert note.at == at("2026-11-25 09:00", "Asia/Tokyo")


async def test_pause_until_holds_personal_messages_until_that_day(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U2", "tend pause until 2026-12-01")
    await s.command("U1", "kudos <@U2|bo> thanks")
    await s.run_until(at("2026-12-01 08:00"), step=timedelta(hours=6))
    assert s.sender.directs("U2") == []
    await s.run_until(at("2026-12-01 10:00"), step=timedelta(minutes=30))
    [note] = s.sender.directs("U2")
    assert note.at == at("2026-12-01 09:00")


async def test_messages_to_one_slack_channel_are_paced(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "kudos <@U2|bo> one")
    await s.command("U1", "kudos <@U2|bo> two")
    await s.advance(seconds=1)
    first, second = s.sender.posts("C1")
    assert second.at - first.at >= timedelta(seconds=1)


class BlockingSender(InMemorySender):
    """Accepts the call, then hangs: the process dies before it can record the send."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = asyncio.Event()

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        self.entered.set()
        await asyncio.Event().wait()
        raise AssertionError("unreachable")


async def test_a_delivery_cancelled_between_claim_and_send_is_delivered_after_restart_once(database):
    s = Scenario(database, TUESDAY_10)
    # The engine only enqueues here: its own worker lives a day in the past, so nothing is due for it.
    s.engine.delivery = DeliveryWorker(database, FixedClock(TUESDAY_10 - timedelta(days=1)), {})
    await s.command("U1", "kudos <@U2|bo> thanks")
    blocking = BlockingSender()
    crashed = DeliveryWorker(database, s.clock, {"slack": blocking})
    task = asyncio.create_task(crashed.deliver_due())
    await asyncio.wait_for(blocking.entered.wait(), timeout=10)  # a guard, not a sync: it is set at once
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)

    restarted = DeliveryWorker(database, s.clock, {"slack": s.sender})
    await restarted.deliver_due()
    assert s.sender.posts("C1") == []  # the lease still holds: the first send might be in flight
    s.clock.advance(timedelta(seconds=61))
    await restarted.deliver_due()
    await restarted.deliver_due()
    assert len(s.sender.posts("C1")) == 1


async def test_the_words_are_not_kept_once_sent_and_old_rows_are_dropped(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "kudos <@U2|bo> thanks for listening yesterday")
    assert [r.state for r in await rows(database)] == ["sent", "sent"]
    assert all("listening" not in r.payload for r in await rows(database))
    await s.run_until(TUESDAY_10 + timedelta(days=31), step=timedelta(days=1))
    assert await rows(database) == []
