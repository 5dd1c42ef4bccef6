"""The outbox and delivery worker: retries, Retry-After, parking, pacing, hours, and crash safety."""

from __future__ import annotations

import asyncio
import itertools
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.clock import Clock, FixedClock, ShiftedClock
from bot.delivery import DeliveryWorker, enqueue_intents
from bot.errors import SendError
from bot.scheduler import Scheduler, start_background
from practices.messages import Card, DirectMessage, PostToPlace, text_card
from storage import outbox
from storage.db import Database
from storage.identity import find_workspace
from storage.models import Outbox
from tests.fakes import InMemorySender
from tests.helpers import at
from tests.scenario import WORKSPACE, Scenario

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
    await s.join("U2", "bo")
    s.sender.fail_next = [SendError("500"), SendError("502")]
    await s.command("U1", "kudos <@U2|bo> thanks for the help")
    for _ in range(10):
        await s.advance(seconds=10)
    assert len(s.sender.posts("C1")) == 1 and len(s.sender.directs("U2")) == 1
    # The post and the private note each failed once (500, then 502) and went through on the retry.
    assert [(r.state, r.attempts) for r in await rows(database)] == [("sent", 2), ("sent", 2)]


async def test_a_message_is_parked_after_its_last_attempt_and_admins_are_told(database):
    s = Scenario(database, TUESDAY_10)
    await s.join("U1", "ana", admin=True)  # a Slack admin: told of parked messages
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
    await s.join("U2", "bo")
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
    s.clock.advance(timedelta(seconds=19))
    await restarted.deliver_due()
    assert s.sender.posts("C1") == []  # the lease still holds: the first send might be in flight
    s.clock.advance(timedelta(seconds=2))  # 21 s after the claim: the 20 s lease has run out
    await restarted.deliver_due()
    await restarted.deliver_due()
    assert len(s.sender.posts("C1")) == 1


async def test_the_words_are_not_kept_once_sent_and_old_rows_are_dropped(database):
    s = Scenario(database, TUESDAY_10)
    await s.join("U2", "bo")
    await s.command("U1", "kudos <@U2|bo> thanks for listening yesterday")
    assert [r.state for r in await rows(database)] == ["sent", "sent"]
    assert all("listening" not in r.payload for r in await rows(database))
    await s.run_until(TUESDAY_10 + timedelta(days=31), step=timedelta(days=1))
    assert await rows(database) == []


async def test_a_sent_row_keeps_the_platforms_message_id_and_when_it_went(database):
    s = Scenario(database, TUESDAY_10)
    await s.join("U2", "bo")
    await s.command("U1", "kudos <@U2|bo> thanks for listening yesterday")
    sent = {(r.ref, r.at) for r in s.sender.sent}
    stored = {(r.platform_message_id, r.sent_at) for r in await rows(database)}
    assert len(sent) == 2 and stored == sent  # what a later card update and retention go by
    assert [r.attempts for r in await rows(database)] == [1, 1]
    assert all(r.lease_until is None for r in await rows(database))


# --- batches: many targets at once, each one in order and paced --------------------------------------


async def queue_posts(database: Database, s: Scenario, posts: list[tuple[str, str]], scope: str) -> None:
    """(channel, words) each, written to the outbox the way a ritual's occurrence writes them."""
    async with database.session() as session:
        workspace = await find_workspace(session, "slack", WORKSPACE)
        assert workspace is not None
        intents = [PostToPlace(place, text_card(words)) for place, words in posts]
        await enqueue_intents(session, workspace, intents, s.clock.now(), scope)


def words(sender: InMemorySender, place: str) -> list[str]:
    return [sent.card.fallback for sent in sender.posts(place)]


class LimitedChannelSender(InMemorySender):
    """Answers 429 for the next posts to some channels; every other channel is fine."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.limited: dict[str, list[SendError]] = {}

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        if self.limited.get(place_id):
            self.attempts += 1
            raise self.limited[place_id].pop(0)
        return await super().post(workspace_external_id, place_id, card)


async def test_a_429_on_one_channel_does_not_hold_back_other_channels_nor_reorder_its_own(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")  # the workspace exists
    sender = LimitedChannelSender(s.clock)
    sender.limited["C1"] = [SendError("ratelimited", retry_after=30)]
    s.engine.delivery = DeliveryWorker(database, s.clock, {"slack": sender})
    posts = [("C1", "first"), ("C1", "second")] + [(f"C{n}", f"hello {n}") for n in range(2, 8)]
    await queue_posts(database, s, posts, "batch")
    await s.engine.delivery.deliver_due()
    assert {sent.target for sent in sender.posts()} == {f"C{n}" for n in range(2, 8)}  # all at once
    assert words(sender, "C1") == []
    await s.advance(seconds=29)
    assert words(sender, "C1") == []  # "second" did not overtake "first" while it waited
    await s.advance(seconds=1)
    assert words(sender, "C1") == ["first"]
    await s.advance(seconds=1)
    first, second = sender.posts("C1")
    assert words(sender, "C1") == ["first", "second"] and second.at - first.at >= timedelta(seconds=1)


async def test_many_messages_to_one_channel_go_in_order_one_second_apart_while_others_go_at_once(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")
    s.sender.sent.clear()
    posts = [("C1", f"part {n}") for n in range(1, 5)] + [(f"C{n}", "hello") for n in range(2, 12)]
    await queue_posts(database, s, posts, "batch")
    await s.engine.delivery.deliver_due()
    assert len(s.sender.posts()) == 11  # ten channels at once, and the first part in C1
    await s.run_until(TUESDAY_10 + timedelta(seconds=10), step=timedelta(milliseconds=250))
    assert words(s.sender, "C1") == ["part 1", "part 2", "part 3", "part 4"]
    times = [sent.at for sent in s.sender.posts("C1")]
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in itertools.pairwise(times))
    assert {sent.at for sent in s.sender.posts() if sent.target != "C1"} == {TUESDAY_10}


class SlowSender(InMemorySender):
    """Lets other work run while a send is under way, as a real HTTP call does."""

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        await asyncio.sleep(0)
        return await super().post(workspace_external_id, place_id, card)


async def test_two_replicas_delivering_at_once_send_every_message_exactly_once(database_url):
    setup = Scenario(Database(database_url), TUESDAY_10)
    await setup.command("U1", "help")
    posts = [(f"room-{n % 40}", f"message {n}") for n in range(400)]
    await queue_posts(setup.database, setup, posts, "fanout")
    await setup.database.dispose()

    clock = FixedClock(TUESDAY_10)
    replicas = [Database(database_url) for _ in range(2)]
    senders = [SlowSender(clock=clock) for _ in replicas]
    workers = [
        DeliveryWorker(db, clock, {"slack": sender}, pacing={}, in_flight=8)
        for db, sender in zip(replicas, senders, strict=True)
    ]
    try:
        # Each replica runs its loop's passes and, at the same time, an event's small pass.
        loops = [worker.deliver_backlog(limit=60) for worker in workers]
        await asyncio.gather(*loops, *(worker.deliver_due() for worker in workers))
        async with replicas[0].session() as session:
            states = (await session.exec(select(Outbox.state).where(Outbox.target_kind == "place"))).all()
    finally:
        for db in replicas:
            await db.dispose()
    delivered = sorted(sent.card.fallback for sender in senders for sent in sender.sent)
    assert delivered == sorted(f"message {n}" for n in range(400))  # none lost, none twice
    assert set(states) == {"sent"}


async def test_the_background_worker_delivers_a_backlog_without_waiting_for_the_next_interval(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")
    s.sender.sent.clear()
    await queue_posts(database, s, [(f"C{n}", "hello") for n in range(1200)], "backlog")
    worker = DeliveryWorker(database, s.clock, {"slack": s.sender})
    scheduler = Scheduler(database, s.clock)
    background = start_background(scheduler, worker, tick_seconds=3600, deliver_seconds=600)
    try:
        for _ in range(300):  # bounded wait on the condition; the idle interval is ten minutes
            if {r.state for r in await rows(database)} == {"sent"}:
                break
            await asyncio.sleep(0.1)
    finally:
        await background.stop()
    assert {r.state for r in await rows(database)} == {"sent"}
    assert len(s.sender.posts()) == 1200  # more than two passes' worth, all in one go, each once


async def test_a_replica_stuck_on_a_slow_send_holds_only_its_batch_and_another_sends_the_rest(database_url):
    setup = Scenario(Database(database_url), TUESDAY_10)
    await setup.command("U1", "help")
    await queue_posts(setup.database, setup, [(f"room-{n}", "hello") for n in range(40)], "batch")
    await setup.database.dispose()
    replicas = [Database(database_url) for _ in range(2)]
    clock = FixedClock(TUESDAY_10)
    stuck, healthy = BlockingSender(), InMemorySender(clock=clock)
    try:
        task = asyncio.create_task(DeliveryWorker(replicas[0], clock, {"slack": stuck}).deliver_due(limit=5))
        await asyncio.wait_for(stuck.entered.wait(), timeout=10)  # a guard: it is set at once
        await DeliveryWorker(replicas[1], clock, {"slack": healthy}).deliver_due(limit=100)
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    finally:
        for db in replicas:
            await db.dispose()
    assert len(healthy.posts()) == 35  # the five held by the stuck replica wait for its lease


class StallsAfter(InMemorySender):
    """Sends the first ``count`` posts, then hangs on every other one (a shutdown arrives meanwhile)."""

    def __init__(self, clock: Clock, count: int) -> None:
        super().__init__(clock=clock)
        self.count = count
        self.stalled = asyncio.Event()

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        if len(self.sent) >= self.count:
            self.stalled.set()
            await asyncio.Event().wait()
        return await super().post(workspace_external_id, place_id, card)


async def test_stopping_mid_backlog_writes_down_what_was_sent_so_a_restart_sends_only_the_rest(database_url):
    setup = Scenario(Database(database_url), TUESDAY_10)
    await setup.command("U1", "help")
    await queue_posts(setup.database, setup, [(f"C{n}", f"hello {n}") for n in range(60)], "backlog")
    await setup.database.dispose()
    clock = FixedClock(TUESDAY_10)
    database = Database(database_url)
    first = StallsAfter(clock, 25)
    worker = DeliveryWorker(database, clock, {"slack": first})
    background = start_background(Scheduler(database, clock), worker)
    try:
        await asyncio.wait_for(first.stalled.wait(), timeout=30)  # a guard: it stalls once 25 are out
        await background.stop()  # as app.py stops on SIGTERM, before it closes the database
    finally:
        await database.dispose()
    assert len(first.posts()) == 25

    database = Database(database_url)  # the restarted process, once the stalled sends' lease is over
    clock.advance(timedelta(seconds=21))
    second = InMemorySender(clock=clock)
    try:
        await DeliveryWorker(database, clock, {"slack": second}).deliver_backlog()
    finally:
        await database.dispose()
    delivered = sorted(sent.card.fallback for sender in (first, second) for sent in sender.posts())
    assert delivered == sorted(f"hello {n}" for n in range(60))  # each exactly once


async def test_the_running_worker_keeps_one_channel_in_order_and_paced_through_a_429(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")
    clock = ShiftedClock()  # real seconds pass here: the running worker waits out short gaps itself
    clock.advance(TUESDAY_10 - clock.now())
    sender = LimitedChannelSender(clock)
    sender.limited["C1"] = [SendError("ratelimited", retry_after=1)]
    posts = [("C1", "first"), ("C1", "second"), ("C1", "third"), ("C2", "elsewhere")]
    await queue_posts(database, s, posts, "live")
    started = clock.now()
    worker = DeliveryWorker(database, clock, {"slack": sender})
    background = start_background(Scheduler(database, clock), worker)
    try:
        for _ in range(150):  # bounded wait on the condition (about three seconds are needed)
            if {r.state for r in await rows(database)} == {"sent"}:
                break
            await asyncio.sleep(0.1)
    finally:
        await background.stop()
    assert words(sender, "C2") == ["elsewhere"] and sender.posts("C2")[0].at - started < timedelta(seconds=1)
    assert words(sender, "C1") == ["first", "second", "third"]
    times = [started] + [sent.at for sent in sender.posts("C1")]
    assert all(later - earlier >= timedelta(seconds=1) for earlier, later in itertools.pairwise(times))


# --- what a crash can repeat, leases, 429s ----------------------------------------------------------


class WatchingSender(InMemorySender):
    """Before accepting each post, reads the outbox: which posts it already accepted are not marked
    sent yet (what a crash at that instant would send again)."""

    def __init__(self, clock: Clock, database: Database) -> None:
        super().__init__(clock=clock)
        self.database = database
        self.unmarked_at_each_send: list[int] = []
        self.earlier_to_same_channel_unmarked: list[str] = []

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        # What was accepted before the read, so a send accepted and marked while the read ran (a
        # loaded machine) is not counted as unmarked: the rows read are at least this fresh.
        accepted = [(sent.target, sent.card.fallback) for sent in self.sent]
        marked = {r.idempotency_key for r in await rows(self.database) if r.state == "sent"}
        self.unmarked_at_each_send.append(sum(1 for _, words in accepted if f"k:{words}" not in marked))
        self.earlier_to_same_channel_unmarked += [
            words for target, words in accepted if target == place_id and f"k:{words}" not in marked
        ]
        await asyncio.sleep(0)  # other sends run meanwhile, as during a real HTTP call
        return await super().post(workspace_external_id, place_id, card)


async def test_each_accepted_send_is_marked_sent_before_more_than_in_flight_go_unmarked(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")
    sender = WatchingSender(s.clock, database)
    posts = [("C1", f"c1-{n}") for n in range(3)] + [(f"C{n}", f"m{n}") for n in range(2, 30)]
    async with database.session() as session:
        workspace = await find_workspace(session, "slack", WORKSPACE)
        assert workspace is not None
        intents = [PostToPlace(place, text_card(words), key=f"k:{words}") for place, words in posts]
        await enqueue_intents(session, workspace, intents, s.clock.now(), "watched")
    worker = DeliveryWorker(database, s.clock, {"slack": sender}, pacing={}, in_flight=4)
    await worker.deliver_backlog(limit=10)
    assert sorted(sent.card.fallback for sent in sender.posts()) == sorted(words for _, words in posts)
    # A crash at the start of any send would have repeated at most the other sends in flight.
    assert max(sender.unmarked_at_each_send) <= 3
    assert sender.earlier_to_same_channel_unmarked == []  # the next post to a channel waits for the mark
    assert {r.state for r in await rows(database)} == {"sent"}


async def test_a_429_is_not_an_attempt_so_throttling_alone_never_parks_a_message(database):
    s = Scenario(database, TUESDAY_10)
    await s.join("U1", "ana")  # the admin, who would be told of a parked message
    s.sender.fail_next = [SendError("rate limited", retry_after=2)] * 10  # five times the attempts
    await s.command("U1", "kudos <@U2|bo> thanks")
    for _ in range(10):
        await s.advance(seconds=2)
    assert len(s.sender.posts("C1")) == 1
    row = next(r for r in await rows(database) if r.target_kind == "place")
    assert (row.state, row.attempts) == ("sent", 1)  # only the attempt that went through counts
    assert not [d for d in s.sender.directs("U1") if "could not be delivered" in d.card.title]


class ThrottledDirects(InMemorySender):
    """Answers the next private messages with these errors; posts go through."""

    def __init__(self, clock: Clock, errors: list[SendError]) -> None:
        super().__init__(clock=clock)
        self.errors = errors

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        if self.errors:
            raise self.errors.pop(0)
        return await super().direct(workspace_external_id, user_id, card)


async def test_after_a_429_no_worker_messages_that_person_before_retry_after_even_once_the_row_is_parked(
    database,
):
    s = Scenario(database, TUESDAY_10)
    await s.join("U2", "bo")
    s.sender = ThrottledDirects(s.clock, [SendError("rate limited", retry_after=30)])
    s.engine.delivery.senders = {"slack": s.sender}
    await s.command("U1", "kudos <@U2|bo> thanks")  # the post goes; the private note gets a 429
    assert s.sender.directs("U2") == []
    bo = next(r for r in await rows(database) if r.target_kind == "person")
    async with database.session() as session:  # the note is dropped (as when bo is forgotten)
        await outbox.drop_pending_for_member(session, bo.workspace_id, int(bo.target_id), "dropped")
        workspace = await find_workspace(session, "slack", WORKSPACE)
        assert workspace is not None
        later = [DirectMessage(int(bo.target_id), text_card("a later note"), key="later")]
        await enqueue_intents(session, workspace, later, s.clock.now(), "later")
    replica = DeliveryWorker(database, s.clock, {"slack": s.sender})  # another process
    for worker in (replica, s.engine.delivery):
        s.clock.advance(timedelta(seconds=14))
        await worker.deliver_due()
    assert s.sender.directs("U2") == []  # 28 s after the 429: neither process sent to bo
    s.clock.advance(timedelta(seconds=2))
    await replica.deliver_due()
    [note] = s.sender.directs("U2")
    assert note.card.fallback == "a later note" and note.at == TUESDAY_10 + timedelta(seconds=30)


async def test_one_channel_is_paced_across_replicas(database):
    if database.is_sqlite:
        pytest.skip("SQLite serves one process, which keeps its pacing gaps in memory")
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")
    await queue_posts(database, s, [("C1", "first")], "one")
    await DeliveryWorker(database, s.clock, {"slack": s.sender}).deliver_due()
    await queue_posts(database, s, [("C1", "second")], "two")
    other = DeliveryWorker(database, s.clock, {"slack": s.sender})  # another replica
    s.clock.advance(timedelta(milliseconds=500))
    await other.deliver_due()
    assert words(s.sender, "C1") == ["first"]
    s.clock.advance(timedelta(milliseconds=500))
    await other.deliver_due()
    first, second = s.sender.posts("C1")
    assert second.card.fallback == "second" and second.at - first.at == timedelta(seconds=1)


class HeldSender(InMemorySender):
    """Holds each post until the test lets it go: a send that takes longer than several leases."""

    def __init__(self, clock: Clock) -> None:
        super().__init__(clock=clock)
        self.entered = asyncio.Event()
        self.go = asyncio.Event()

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        self.entered.set()
        await self.go.wait()
        return await super().post(workspace_external_id, place_id, card)


async def test_a_slow_send_keeps_its_lease_renewed_so_no_other_worker_sends_that_row(database):
    s = Scenario(database, TUESDAY_10)
    await s.command("U1", "help")
    clock = ShiftedClock()  # real time: the lease runs out unless renewed
    clock.advance(TUESDAY_10 - clock.now())
    await queue_posts(database, s, [("C1", "slow")], "slow")
    # Long enough that a loaded machine still starts the send inside the lease it was claimed with.
    lease = timedelta(seconds=1)
    slow, other = HeldSender(clock), InMemorySender(clock=clock)
    task = asyncio.create_task(DeliveryWorker(database, clock, {"slack": slow}, lease=lease).deliver_due())
    await asyncio.wait_for(slow.entered.wait(), timeout=10)  # a guard: the send starts at once
    [claimed] = await rows(database)
    for _ in range(1000):  # bounded wait on the condition: renewed twice, so past two leases' ends
        [row] = await rows(database)
        if row.lease_until is not None and row.lease_until - claimed.lease_until > lease:
            break
        await asyncio.sleep(0.01)
    assert clock.now() > claimed.lease_until  # the lease it was claimed with has run out meanwhile
    assert await DeliveryWorker(database, clock, {"slack": other}, lease=lease).deliver_due() == []
    slow.go.set()
    await asyncio.wait_for(task, timeout=10)
    assert other.posts() == [] and len(slow.posts()) == 1
    assert [(r.state, r.lease_until) for r in await rows(database)] == [("sent", None)]
