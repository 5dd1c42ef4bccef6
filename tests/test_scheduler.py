"""Rituals fire on their own schedule, in their own time zone, exactly once, whatever happens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import func, select

from bot.clock import FixedClock
from bot.delivery import DeliveryWorker
from bot.scheduler import Scheduler
from storage.db import Database
from storage.models import Occurrence, Outbox, Ritual
from tests.fakes import InMemorySender
from tests.helpers import at
from tests.scenario import Scenario


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def post_times(s: Scenario, place: str) -> list[datetime]:
    return [sent.at for sent in s.sender.posts(place) if sent.at is not None]


@pytest.mark.parametrize(
    ("zone", "days", "expected_utc"),
    [
        # Europe/Berlin springs forward on 2026-03-29: 09:30 local is 08:30 UTC before, 07:30 after.
        (
            "Europe/Berlin",
            ("2026-03-27", "2026-03-31"),
            ["2026-03-27 08:30", "2026-03-28 08:30", "2026-03-29 07:30", "2026-03-30 07:30"],
        ),
        # ... and falls back on 2026-10-25.
        (
            "Europe/Berlin",
            ("2026-10-23", "2026-10-27"),
            ["2026-10-23 07:30", "2026-10-24 07:30", "2026-10-25 08:30", "2026-10-26 08:30"],
        ),
        # America/New_York springs forward on 2026-03-08 and falls back on 2026-11-01.
        (
            "America/New_York",
            ("2026-03-06", "2026-03-10"),
            ["2026-03-06 14:30", "2026-03-07 14:30", "2026-03-08 13:30", "2026-03-09 13:30"],
        ),
        (
            "America/New_York",
            ("2026-10-30", "2026-11-03"),
            ["2026-10-30 13:30", "2026-10-31 13:30", "2026-11-01 14:30", "2026-11-02 14:30"],
        ),
    ],
)
async def test_a_daily_ritual_keeps_its_local_time_across_dst(database, zone, days, expected_utc):
    s = Scenario(database, utc(f"{days[0]} 00:00"))
    await s.platform_admin("U1")  # a Slack admin: adds rituals
    await s.command("U1", f"tend ritual add shoutout-prompt #team daily 09:30 {zone}")
    await s.run_until(utc(f"{days[1]} 00:00"), step=timedelta(minutes=30))
    assert await post_times(s, "team") == [utc(t) for t in expected_utc]


async def test_a_missed_occurrence_fires_once_within_grace_and_is_skipped_after(database):
    s = Scenario(database, at("2026-11-23 08:00", "UTC"))  # a Monday
    await s.platform_admin("U1")  # a Slack admin: adds rituals
    await s.command("U1", "tend ritual add shoutout-prompt #team daily 10:00 UTC")
    # Down from 09:00 for two hours (grace for a prompt: 3 h): on restart it fires once, late.
    s.clock.set(at("2026-11-23 12:00"))
    await s.tick()
    assert await post_times(s, "team") == [at("2026-11-23 12:00")]
    # Down for three whole days: only the latest missed one may fire, and it is past its grace.
    s.clock.set(at("2026-11-27 09:00"))
    report = await s.tick()
    assert report.fired == [] and report.skipped == 1
    assert len(await post_times(s, "team")) == 1
    await s.run_until(at("2026-11-27 10:30"))
    assert (await post_times(s, "team"))[-1] == at("2026-11-27 10:00")


async def test_paused_rituals_stay_silent_and_resume_without_making_up(database):
    s = Scenario(database, at("2026-11-23 08:00"))
    await s.platform_admin("U1")  # a Slack admin: adds rituals
    await s.command("U1", "tend ritual add shoutout-prompt #team daily 10:00 UTC")
    assert "Paused" in await s.command("U1", "tend ritual pause 1")
    await s.run_until(at("2026-11-25 08:00"), step=timedelta(hours=1))
    assert await post_times(s, "team") == []
    assert "Resumed" in await s.command("U1", "tend ritual resume 1")
    await s.run_until(at("2026-11-25 11:00"), step=timedelta(hours=1))
    assert await post_times(s, "team") == [at("2026-11-25 10:00")]


async def test_ticking_again_at_the_same_moment_fires_nothing_new(database):
    s = Scenario(database, at("2026-11-23 09:59"))
    await s.platform_admin("U1")  # a Slack admin: adds rituals
    await s.command("U1", "tend ritual add shoutout-prompt #team daily 10:00 UTC")
    s.clock.set(at("2026-11-23 10:00"))
    first = await s.tick()
    second = await s.tick()
    assert len(first.fired) == 1 and second.fired == []
    assert len(await post_times(s, "team")) == 1


async def test_two_processes_on_one_database_fire_each_occurrence_and_send_each_message_once(database_url):
    """Two replicas tick the same due rituals at the same moment, then both deliver."""
    start = at("2026-11-23 09:00")
    setup = Scenario(Database(database_url), start)
    await setup.platform_admin("U1")  # a Slack admin: adds rituals
    for index in range(40):
        await setup.command("U1", f"tend ritual add shoutout-prompt #room-{index} daily 10:00 UTC")
    await setup.database.dispose()

    clock = FixedClock(at("2026-11-23 10:00"))
    replicas = [Database(database_url) for _ in range(2)]
    senders = [InMemorySender(clock=clock) for _ in replicas]
    try:
        schedulers = [Scheduler(db, clock, batch=7) for db in replicas]
        reports = await asyncio.gather(*(scheduler.tick() for scheduler in schedulers))
        workers = [
            DeliveryWorker(db, clock, {"slack": sender}, pacing={})
            for db, sender in zip(replicas, senders, strict=True)
        ]
        for _ in range(20):  # bounded: 40 rows, 2 workers, 5 each per round
            rounds = await asyncio.gather(*(worker.deliver_due(limit=5) for worker in workers))
            if not any(rounds):
                break
        async with replicas[0].session() as session:
            occurrences = (await session.exec(select(func.count()).select_from(Occurrence))).one()
            rows = (await session.exec(select(func.count()).select_from(Outbox))).one()
    finally:
        for db in replicas:
            await db.dispose()
    assert sum(len(report.fired) for report in reports) == 40
    assert occurrences == 40 and rows == 40
    delivered = [sent.target for sender in senders for sent in sender.sent]
    assert sorted(delivered) == sorted(f"room-{index}" for index in range(40))


async def test_the_tick_claims_only_due_rituals(database):
    s = Scenario(database, at("2026-11-23 08:00"))
    await s.platform_admin("U1")  # a Slack admin: adds rituals
    await s.command("U1", "tend ritual add shoutout-prompt #a daily 09:00 UTC")
    await s.command("U1", "tend ritual add shoutout-prompt #b daily 17:00 UTC")
    s.clock.set(at("2026-11-23 09:00"))
    report = await s.tick()
    assert report.claimed == 1
    async with database.session() as session:
        later = (await session.exec(select(Ritual).where(Ritual.place_id == "b"))).one()
    assert later.next_run_at == at("2026-11-23 17:00")
