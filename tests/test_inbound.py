"""The inbound queue (bot/inbound.py, storage/inbound.py) on SQLite and PostgreSQL, with the real engine.

What is checked is what a platform's user would notice: an acked command handled exactly once however
its process ends (a lease that runs out, a process that lost its lease, a stop with work waiting),
and what someone holding the database learns from an anonymous event while it waits and after.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import select

from bot.engine import Answer
from bot.events import ButtonClicked, CommandReceived, FormSubmitted, Origin, PersonRef
from bot.inbound import LEASE, SEALED_PURPOSE, InboundQueue, Work, event_from_dict, event_to_dict
from practices import sealing
from practices import stress_reports as stress
from storage import inbound
from storage.db import Database
from storage.models import Inbound, Shoutout
from tests import test_slack
from tests.dumps import as_moment, inspectable_database, printable_strings, snapshot
from tests.helpers import at
from tests.scenario import Scenario, text_of
from tests.test_slack import Slack
from tests.test_slack_events import post_event
from tests.test_slack_home import home_opened
from tests.test_start_up_errors import closed_port

START = at("2025-03-03 10:00") + timedelta(seconds=17, microseconds=250_000)  # a Monday morning
REPORTER, REPORTER_NAME = "U0QUILL42", "Beatrix Quill"
WORDS = "Pager every night and nobody notices"


class Answers:
    """What the adapter was handed to show, per event."""

    def __init__(self) -> None:
        self.given: list[tuple[Work, tuple[Answer, ...]]] = []

    async def __call__(self, work: Work, answers: tuple[Answer, ...]) -> None:
        self.given.append((work, answers))

    def texts(self) -> list[str]:
        return [text_of(answers) for _, answers in self.given]


def gate() -> tuple[asyncio.Event, Callable[[Work], Awaitable[Work]]]:
    """A ``prepare`` step that waits until the event is set (a slow users.info, say)."""
    opened = asyncio.Event()

    async def prepare(work: Work) -> Work:
        await opened.wait()
        return work

    return opened, prepare


def kudos(s: Scenario, index: int) -> CommandReceived:
    return CommandReceived(
        s.origin("U1"), "kudos", f"<@U2|bo> thanks for item-{index}", event_id=f"ev-{index}"
    )


async def shoutouts(s: Scenario) -> list[str]:
    async with s.database.session() as session:
        return sorted(row.text for row in (await session.exec(select(Shoutout))).all())


async def rows(s: Scenario) -> list[Inbound]:
    async with s.database.session() as session:
        return list((await session.exec(select(Inbound).order_by(Inbound.id))).all())


@pytest.fixture
async def s(database) -> Scenario:
    scenario = Scenario(database, START)
    await scenario.join("U1", "ana")
    await scenario.join("U2", "bo")
    return scenario


def test_an_event_survives_its_trip_through_the_table() -> None:
    origin = Origin("slack", "T1", PersonRef("U1", "ana"), "C1", actor_time_zone="Europe/Berlin")
    events = [
        CommandReceived(origin, "kudos", "<@U2> thanks", (PersonRef("U2", "bo"),), event_id="e1"),
        ButtonClicked(origin, "opener.answer", "3:4", "1700.1", event_id="e2"),
        FormSubmitted(origin, "kudos.form", {"person": "U2", "reason": "demo"}, "state", event_id="e3"),
    ]
    for event in events:
        assert event_from_dict(event_to_dict(event)) == event
    newer = {**event_to_dict(events[0]), "added_later": 1}
    newer["origin"] = {**newer["origin"], "a_field_from_a_newer_release": True}
    assert event_from_dict(newer) == events[0]  # a row written by a newer release still reads


async def test_an_acked_event_is_handled_once_and_its_row_is_gone(s):
    answers = Answers()
    queue = InboundQueue(s.engine, "slack", answers)
    await queue.put(kudos(s, 1), {"response_url": "https://hooks.example/1"})
    await queue.drain()
    assert await shoutouts(s) == ["thanks for item-1"]
    assert await rows(s) == []
    [(work, given)] = answers.given
    assert work.context == {"response_url": "https://hooks.example/1"} and "Sent" in text_of(given)
    assert s.sender.sent == []  # the engine only woke the delivery loop: nothing sent while handling
    assert s.engine.metrics.inbound_handled.value(platform="slack", outcome="ok") == 1


async def test_a_dead_processs_row_is_taken_by_another_once_its_lease_is_over(s):
    opened, stuck = gate()  # the first process never gets past its users.info: as good as dead
    first = InboundQueue(s.engine, "slack", Answers(), prepare=stuck)
    await first.put(kudos(s, 2))
    answers = Answers()
    second = InboundQueue(s.engine, "slack", answers)
    assert await second.poll() == 0  # held by the first process: nobody else touches it
    s.clock.advance(LEASE + timedelta(seconds=1))
    assert await second.poll() == 1
    await second.drain()
    assert await shoutouts(s) == ["thanks for item-2"] and await rows(s) == []
    assert "Sent" in answers.texts()[0]  # the person is answered by whoever handled it

    opened.set()  # the first process wakes up: its lease is gone, so its work must not commit
    await first.drain()
    assert await shoutouts(s) == ["thanks for item-2"]
    assert s.engine.metrics.inbound_handled.value(platform="slack", outcome="taken_over") == 1


async def test_a_stop_hands_back_at_once_what_was_not_finished(s):
    opened, stuck = gate()
    first = InboundQueue(s.engine, "slack", Answers(), prepare=stuck, concurrency=1)
    for index in range(3):
        await first.put(kudos(s, 10 + index))
    await first.stop(within=0.05)  # one is under way (stuck), two wait: nothing may be lost
    assert [(row.owner, row.lease_until) for row in await rows(s)] == [("", None)] * 3
    second = InboundQueue(s.engine, "slack", Answers())
    assert await second.poll() == 3  # at once, with no lease to wait out
    await second.drain()
    assert await shoutouts(s) == [f"thanks for item-{10 + index}" for index in range(3)]
    assert await rows(s) == []
    opened.set()


async def test_a_row_no_key_can_open_is_dropped_not_retried_for_ever(s):
    async with s.database.session() as session:
        await inbound.enqueue(
            session, "slack", sealing.seal(b"another key" * 4, SEALED_PURPOSE, "{}"), sealed=True,
            now=s.clock.now(), owner="", until=s.clock.now(),
        )  # fmt: skip
    queue = InboundQueue(s.engine, "slack", Answers())
    s.clock.advance(timedelta(seconds=1))
    assert await queue.poll() == 1
    assert await rows(s) == []
    assert s.engine.metrics.inbound_handled.value(platform="slack", outcome="dropped") == 1


async def test_the_queue_depth_and_the_oldest_age_are_metrics(s):
    _, stuck = gate()
    first = InboundQueue(s.engine, "slack", Answers(), prepare=stuck, concurrency=1)
    await first.put(kudos(s, 20))
    await first.put(kudos(s, 21))
    s.clock.advance(timedelta(seconds=4))
    watcher = InboundQueue(s.engine, "slack", Answers())
    assert await watcher.poll() == 0
    assert s.engine.metrics.inbound_queued.value() == 2
    assert s.engine.metrics.inbound_oldest_seconds.value() == pytest.approx(4.0)
    rendered = s.engine.metrics.render()
    assert "tend_inbound_queued 2.0" in rendered and "tend_inbound_oldest_seconds 4.0" in rendered
    await first.stop(within=0)


# --- someone holding the database while an anonymous submission waits, and after ---------------------


def report(s: Scenario) -> FormSubmitted:
    values = {"intensity": "4", "category": "workload", "words": WORDS, "support": "count"}
    origin = s.origin(REPORTER, "D-" + REPORTER, direct=True)
    return FormSubmitted(origin, stress.REPORT_FORM, values, event_id="form:trigger.report.1")


def identifying(value: object) -> list[str]:
    """What in one stored value would name the reporter, quote their words or date the act."""
    found = []
    as_text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
    for secret in (REPORTER, REPORTER_NAME, WORDS, "trigger.report"):
        if secret.casefold() in as_text.casefold():
            found.append(secret)
    moment = as_moment(value)
    if moment is not None and (moment.second, moment.microsecond) != (0, 0):
        found.append(f"a time to the second: {value}")
    return found


def inbound_versions(taken: Any) -> list[dict[str, object]]:
    """Every inbound row the attacker can read: live ones and every stored version, dead ones too."""
    found = [dict(row) for row in taken.tables.get("inbound", [])]
    for stored in taken.stored:
        if stored.table == "inbound" and (row := taken.named(stored)) is not None:
            found.append(row)
    return found


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_an_anonymous_submission_waiting_in_the_queue_leaves_nothing_that_names_or_dates_it(
    backend, tmp_path, sqlite_template
):
    from tests.conftest import POSTGRES_SERVER_URL

    if backend == "postgres" and not POSTGRES_SERVER_URL:
        pytest.skip("TEND_TEST_POSTGRES_URL not set")
    async with inspectable_database(backend, tmp_path, sqlite_template) as database:
        s = Scenario(database, START - timedelta(days=3))
        for user, name in (("U0ADMIN", "ana"), (REPORTER, REPORTER_NAME), ("U0KIM", "kim")):
            await s.join(user, name, tz="Europe/Berlin")
        s.clock.set(START)
        _, stuck = gate()  # the replica that took it dies before handling it
        first = InboundQueue(s.engine, "slack", Answers(), prepare=stuck)
        await first.put(report(s), {"response_url": f"https://hooks.example/{REPORTER}", "trigger_id": "t.1"})
        queued = await snapshot(database, taken_at=s.clock.now())

        s.clock.advance(timedelta(minutes=2))  # its lease (kept to the minute) is over
        answers = Answers()
        second = InboundQueue(s.engine, "slack", answers)
        assert await second.poll() == 1
        await second.drain()
        after = await snapshot(database, taken_at=s.clock.now())
        await first.stop(within=0)

    [live] = queued.tables["inbound"]
    assert live["sealed"] and live["created_at"] is None  # no time of its own
    for moment, taken in (("while queued", queued), ("after", after)):
        versions = inbound_versions(taken)
        assert versions, moment  # the attack had something to read
        for row in versions:
            for column, value in row.items():
                assert identifying(value) == [], f"{moment}: inbound.{column}"
        for stored in taken.stored:  # the bytes of any version, decoded or not
            if stored.table == "inbound":
                for value in stored.values:
                    assert identifying(value) == [], moment
    assert after.tables["inbound"] == []  # handled: gone
    assert len(answers.given) == 1 and answers.texts()[0]  # the reporter was answered
    assert len(after.tables["stressreport"]) == 1  # and the report was taken

    # The control: the key opens the very payload the attacker read, so the checks above passed
    # because of the sealing, not because there was nothing to read.
    opened = sealing.unseal(sealing.PROCESS_KEY, SEALED_PURPOSE, str(live["payload"]))
    assert opened is not None and REPORTER in opened and WORDS in opened
    assert sealing.unseal(sealing.new_key_text().encode(), SEALED_PURPOSE, str(live["payload"])) is None
    assert all(WORDS not in text for text in printable_strings(str(live["payload"]).encode()))
    if backend == "postgres":
        # The listener's own transaction wrote the row and nothing else: no row shares its xmin.
        xmin = next(x for x, row in queued.xmins["inbound"] if row["id"] == live["id"])
        sharing = [table for table, found in queued.xmins.items() for x, _ in found if x == xmin]
        assert sharing == ["inbound"]


async def test_an_event_is_handled_as_stored_when_completing_it_fails(s):
    async def failing(work: Work) -> Work:
        raise OSError("users.info unreachable")

    answers = Answers()
    queue = InboundQueue(s.engine, "slack", answers, prepare=failing)
    await queue.put(kudos(s, 30))
    await queue.drain()
    assert await shoutouts(s) == ["thanks for item-30"] and await rows(s) == []
    assert "Sent" in answers.texts()[0]


# --- through the Slack adapter: a database that will not take the event ---------------------------------

slack = test_slack.slack  # the fixture: Tend's server with Bolt, signed requests, a fake Web API


async def test_what_the_database_will_not_store_is_not_acked_as_taken(slack: Slack):
    """A command is answered "could not take this" (Slack shows the ack's text), an Events API callback
    gets a 503 so Slack sends it again; nothing is handled later behind the person's back."""
    slack.adapter.inbound.database = Database(f"postgresql://tend@127.0.0.1:{closed_port()}/tend")
    try:
        response = await slack.command("/kudos", "<@U2|bo> thanks for the outage")
        assert response.status == 200
        assert "could not take this" in await response.text()
        assert (await post_event(slack, home_opened("U1"))).status == 503
    finally:
        await slack.adapter.inbound.database.dispose()
        slack.adapter.inbound.database = slack.database
    await slack.settle()
    async with slack.database.session() as session:
        assert (await session.exec(select(Shoutout))).all() == []
    assert slack.fake.of("chat.postMessage") == [] and slack.fake.of("views.publish") == []
