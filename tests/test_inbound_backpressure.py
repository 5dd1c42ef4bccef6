"""Back-pressure on the inbound queue (bot/inbound.py, issue 18), on SQLite and PostgreSQL.

What a user or an operator would notice: a burst larger than one process's share is still handled,
each event once and in order, with the rest spread to any replica; past ``TEND_INBOUND_MAX_QUEUED`` a
slash command through the real Slack adapter is answered "Tend is busy", nothing of it is saved, the
refusal shows in ``/metrics``, and once the queue has drained commands are taken again.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlmodel import select

from bot.events import FormSubmitted
from bot.inbound import InboundFull, InboundQueue
from practices import stress_reports as stress
from storage.db import Database
from storage.models import Shoutout, StressReport
from tests.helpers import fixed_clock
from tests.scenario import Scenario
from tests.test_inbound import Answers, gate, kudos, rows, shoutouts
from tests.test_slack import Slack, slack_server
from tests.test_slack_events import post_event
from tests.test_slack_home import home_opened

START = fixed_clock("2025-03-03 10:00").now() + timedelta(seconds=17)  # a Monday morning


@pytest.fixture
async def s(database: Database) -> Scenario:
    scenario = Scenario(database, START)
    await scenario.join("U1", "ana")
    await scenario.join("U2", "bo")
    return scenario


def report(s: Scenario) -> FormSubmitted:
    """An anonymous stress report (stored sealed, with no time of its own)."""
    values = {"intensity": "3", "category": "workload", "words": "too much at once", "support": "count"}
    return FormSubmitted(s.origin("U1", "D-U1", direct=True), stress.REPORT_FORM, values, event_id="form:r1")


async def test_a_burst_past_one_processs_share_waits_unleased_and_another_replica_takes_it(
    s: Scenario,
) -> None:
    opened, stuck = gate()  # the first replica's one worker is busy (a slow users.info, say)
    first = InboundQueue(s.engine, "slack", Answers(), prepare=stuck, concurrency=1)
    burst = first.hold + 4
    for index in range(burst - 1):
        await first.put(kudos(s, index))
    await first.put(report(s))  # an anonymous event meets the same bound
    stored = await rows(s)
    assert len(stored) == burst  # every acked event is durable
    assert [row.owner for row in stored] == [first.owner] * first.hold + [""] * 4
    passed = stored[first.hold :]
    assert all(row.lease_until is None for row in passed)  # ready for any replica's poll at once
    assert passed[-1].sealed and passed[-1].created_at is None  # nothing dates the anonymous one
    metrics = s.engine.metrics
    assert metrics.inbound_held.value(platform="slack") == first.hold
    assert metrics.inbound_passed.value(platform="slack") == 4

    answers = Answers()
    second = InboundQueue(s.engine, "slack", answers)  # a second replica on the same database
    assert await second.poll() == 4
    await second.drain()
    opened.set()
    await first.drain()

    expected = [f"thanks for item-{index}" for index in range(burst - 1)]
    assert await shoutouts(s) == sorted(expected)  # each once
    assert await rows(s) == []
    assert len(answers.given) == 4  # the second replica answered the four it took
    assert metrics.inbound_handled.value(platform="slack", outcome="ok") == burst
    async with s.database.session() as session:
        assert len((await session.exec(select(StressReport))).all()) == 1


async def test_one_replica_alone_works_through_a_burst_in_order_without_waiting_for_its_poll(
    s: Scenario,
) -> None:
    opened, stuck = gate()
    answers = Answers()
    queue = InboundQueue(s.engine, "slack", answers, prepare=stuck, concurrency=1)
    burst = queue.hold * 2 + 3
    for index in range(burst):
        await queue.put(kudos(s, index))
    assert len([row for row in await rows(s) if row.owner == ""]) == burst - queue.hold
    opened.set()
    await queue.drain()  # no poll: the worker claims what was passed on as its own work runs low
    assert await rows(s) == []
    handled = [getattr(work.event, "event_id", None) for work, _ in answers.given]
    assert handled == [f"ev-{index}" for index in range(burst)]  # first acked, first handled
    assert s.engine.metrics.inbound_held.value(platform="slack") == 0


async def test_requests_stored_at_the_same_moment_never_take_more_than_the_share(s: Scenario) -> None:
    opened, stuck = gate()
    queue = InboundQueue(s.engine, "slack", Answers(), prepare=stuck, concurrency=1)
    burst = queue.hold + 8
    await asyncio.gather(*(queue.put(kudos(s, index)) for index in range(burst)))  # 40 acks in flight
    assert len([row for row in await rows(s) if row.owner == queue.owner]) == queue.hold
    assert s.engine.metrics.inbound_held.value(platform="slack") == queue.hold
    opened.set()
    await queue.drain()
    assert len(await shoutouts(s)) == burst and await rows(s) == []


async def test_past_the_bound_nothing_is_stored_and_the_depth_is_counted_without_a_query(
    s: Scenario,
) -> None:
    opened, stuck = gate()
    queue = InboundQueue(s.engine, "slack", Answers(), prepare=stuck, max_queued=3)
    for index in range(3):
        await queue.put(kudos(s, index))
    with pytest.raises(InboundFull):  # three stored since the last poll read none
        await queue.put(kudos(s, 3))
    with pytest.raises(InboundFull):
        await queue.put(report(s))  # anonymous: the same rule
    assert len(await rows(s)) == 3
    assert s.engine.metrics.inbound_refused.value(platform="slack") == 2
    opened.set()
    await queue.drain()
    await queue.put(kudos(s, 4))  # what this process handled counts down at once, before any poll
    await queue.drain()
    assert await shoutouts(s) == [f"thanks for item-{index}" for index in (0, 1, 2, 4)]


# --- through the Slack adapter: signed requests on a real socket, /metrics on the same server ---------


@pytest.fixture
async def busy_slack(database: Database) -> AsyncIterator[Slack]:
    """Tend's server as ``tests.test_slack.slack`` builds it, with ``TEND_INBOUND_MAX_QUEUED`` 3."""
    async with slack_server(database, max_queued=3) as server:
        yield server


async def scrape(slack: Slack) -> str:
    async with slack.http.get(slack.url + "/metrics") as response:
        assert response.status == 200
        return await response.text()


async def test_a_full_queue_answers_busy_saves_nothing_and_takes_commands_again_once_drained(
    busy_slack: Slack,
) -> None:
    slack = busy_slack
    scenario = Scenario(slack.database, slack.clock.now())
    opened, stuck = gate()  # another replica holds three acked commands it has not finished
    other = InboundQueue(slack.engine, "slack", Answers(), prepare=stuck, max_queued=3)  # the same setting
    for index in range(3):
        await other.put(kudos(scenario, index))
    await slack.adapter.inbound.poll()  # this replica's once-a-second poll reads the depth

    response = await slack.command("/kudos", "<@U2|bo> thanks for the release notes")
    assert response.status == 200
    text = await response.text()
    assert "Tend is busy" in text and "nothing was saved" in text and "try again in a minute" in text
    assert (await post_event(slack, home_opened("U1"))).status == 503  # Slack sends it again later
    assert len(await rows(scenario)) == 3  # neither was stored
    metrics = await scrape(slack)
    assert 'tend_inbound_refused_total{platform="slack"} 2.0' in metrics
    assert "tend_inbound_queued 3.0" in metrics and "tend_inbound_max_queued 3.0" in metrics

    opened.set()
    await other.drain()
    await slack.adapter.inbound.poll()
    response = await slack.command("/kudos", "<@U2|bo> thanks for waiting")
    assert response.status == 200 and "Tend is busy" not in await response.text()
    await slack.settle()
    async with slack.database.session() as session:
        texts = sorted(row.text for row in (await session.exec(select(Shoutout))).all())
    assert texts == sorted(["thanks for waiting", *(f"thanks for item-{index}" for index in range(3))])
    assert "thanks for the release notes" not in texts  # the refused one was never handled behind their back
    assert 'tend_inbound_refused_total{platform="slack"} 2.0' in await scrape(slack)
