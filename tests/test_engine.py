"""The engine through neutral events: identity on first contact, routing, kudos end to end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot.clock import FixedClock
from bot.engine import Engine
from bot.events import ButtonClicked, CommandReceived, FormSubmitted, MemberSeen, Origin, PersonRef
from practices.messages import OpenForm, Reply
from storage.models import Member, ProcessedEvent, Shoutout, Signal
from tests.fakes import InMemorySender

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday


def origin(user: str, place: str | None = "C-general", **extra: object) -> Origin:
    return Origin(
        platform="slack",
        workspace_id="T1",
        workspace_name="Acme",
        actor=PersonRef(user, user),
        place_id=place,
        **extra,
    )  # type: ignore[arg-type]


def kudos(user: str, text: str, mentions: tuple[PersonRef, ...] = (), **extra: object) -> CommandReceived:
    return CommandReceived(origin(user), "kudos", text, mentions, **extra)  # type: ignore[arg-type]


def tend(
    user: str, text: str, place: str | None = "C-general", *, administers: bool | None = None
) -> CommandReceived:
    return CommandReceived(origin(user, place, actor_may_administer=administers), "tend", text)


def said(answers: tuple[object, ...]) -> str:
    return "\n".join(a.card.fallback for a in answers if isinstance(a, Reply))


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(START)


@pytest.fixture
def sender() -> InMemorySender:
    return InMemorySender()


@pytest.fixture
async def engine(database, clock, sender) -> Engine:
    return Engine(database, clock, {"slack": sender}, min_group_size=5)


async def members(database) -> dict[str, Member]:
    async with database.session() as session:
        return {m.platform_user_id: m for m in (await session.exec(select(Member))).all()}


async def test_being_heard_from_first_makes_nobody_admin_the_platforms_word_does(engine, database):
    await engine.handle(tend("U1", "help"))  # first to speak: still a member
    await engine.handle(tend("U2", "help", administers=True))  # the platform says bo administers
    await engine.handle(MemberSeen(origin("U3", actor_is_installer=True)))  # installs where Tend knows people
    roles = {uid: m.role for uid, m in (await members(database)).items()}
    assert roles == {"U1": "member", "U2": "admin", "U3": "member"}


async def test_kudos_is_posted_publicly_and_each_receiver_gets_a_private_note(engine, database, sender):
    answers = await engine.handle(kudos("U1", "<@U2|bo> <@U3|cy> thanks for the careful review #craft"))
    assert "Sent" in said(answers)
    assert sender.sent == []  # handling an event sends nothing itself: the delivery loop does
    await engine.delivery.deliver_due()
    [post] = sender.posts("C-general")
    assert "thanked" in post.card.fallback and "careful review" in post.card.fallback
    assert sender.directs() == []  # bo's and cy's time zones are not known yet: the notes wait
    for user in ("U2", "U3"):  # the platform tells Tend about them (Slack: users.info after the ack)
        await engine.handle(MemberSeen(origin(user, None), time_zone="UTC"))
    await engine.delivery.deliver_due()
    assert {d.target for d in sender.directs()} == {"U2", "U3"}
    async with database.session() as session:
        rows = (await session.exec(select(Shoutout))).all()
        signal = (await session.exec(select(Signal).where(Signal.kind == "shoutout_given"))).one()
    assert sorted(r.text for r in rows) == ["thanks for the careful review"] * 2
    assert signal.count == 2 and signal.week == "2026-W48"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thanks for everything", "mention"),
        ("<@U1|ana> well done me", "yourself"),
        ("@zed thanks", "don't know anyone called @zed"),
        ("<@U2|bo>   ", "thanking them for"),
        ("<@U2|bo> " + "x" * 1001, "1,000"),
    ],
)
async def test_kudos_mistakes_get_a_friendly_answer_and_nothing_is_stored(
    engine, database, sender, text, expected
):
    answers = await engine.handle(kudos("U1", text))
    assert expected.lower() in said(answers).lower()
    assert sender.sent == []
    async with database.session() as session:
        assert (await session.exec(select(Shoutout))).all() == []


async def test_kudos_to_a_bot_is_refused(engine, sender):
    await engine.handle(MemberSeen(origin("B1"), display_name="deploybot", is_bot=True))
    answers = await engine.handle(kudos("U1", "<@B1|deploybot> thanks"))
    assert "bot" in said(answers)
    assert sender.posts() == []


async def test_plain_name_mentions_resolve_to_known_members(engine, sender):
    await engine.handle(MemberSeen(origin("U2"), display_name="bo", time_zone="UTC"))
    await engine.handle(kudos("U1", "@bo thanks for the pairing"))
    await engine.delivery.deliver_due()
    assert [d.target for d in sender.directs()] == ["U2"]


async def test_a_retried_event_is_handled_once(engine, database, sender):
    event = kudos("U1", "<@U2|bo> thanks", event_id="Ev1")
    await engine.handle(event)
    assert await engine.handle(event) == ()
    await engine.delivery.deliver_due()
    assert len(sender.posts()) == 1
    async with database.session() as session:
        assert len((await session.exec(select(ProcessedEvent))).all()) == 1


async def test_thanks_given_within_a_week_of_receiving_counts_as_contagion(engine, database, clock):
    await engine.handle(kudos("U1", "<@U2|bo> thanks"))
    clock.advance(timedelta(days=6))
    await engine.handle(kudos("U2", "<@U3|cy> thanks in turn"))
    clock.advance(timedelta(days=8))
    await engine.handle(kudos("U3", "<@U1|ana> thanks much later"))  # cy received 8 days ago: no contagion
    async with database.session() as session:
        contagion = (await session.exec(select(Signal).where(Signal.kind == "shoutout_contagion"))).all()
    assert [(s.week, s.count) for s in contagion] == [("2026-W49", 1)]


async def test_usage_errors_explain_and_show_an_example(engine):
    answer = said(await engine.handle(tend("U1", "ritaul list")))
    assert "ritual" in answer and "Example: `/tend" in answer


async def test_help_lists_the_topics(engine):
    answer = said(await engine.handle(tend("U1", "help")))
    assert "`/tend help ritual`" in answer
    assert all(f"*{topic}*" in answer for topic in ("kudos", "ritual", "1on1", "schedules", "admin"))


async def test_working_hours_and_time_zone_are_saved(engine, database):
    said_hours = said(await engine.handle(tend("U1", "settings hours 08:00-16:00 mon-thu")))
    said_tz = said(await engine.handle(tend("U1", "settings tz Asia/Tokyo")))
    me = (await members(database))["U1"]
    assert (me.work_start, me.work_end, me.work_days, me.time_zone) == (
        "08:00",
        "16:00",
        "mon,tue,wed,thu",
        "Asia/Tokyo",
    )
    assert "08:00–16:00" in said_hours and "Asia/Tokyo" in said_tz


async def test_pause_until_must_be_in_the_future(engine, database):
    assert "not in the future" in said(await engine.handle(tend("U1", "pause until 2026-01-01")))
    assert "paused until 2026-12-01" in said(await engine.handle(tend("U1", "pause until 2026-12-01")))
    assert str((await members(database))["U1"].paused_until) == "2026-12-01"


async def test_only_admins_can_add_admins_and_the_last_admin_stays(engine, database):
    await engine.handle(tend("U1", "help", administers=True))  # ana: a workspace admin in Slack
    refused = said(await engine.handle(CommandReceived(origin("U2"), "tend", "admin add <@U3|cy>")))
    assert "Only a Tend admin" in refused
    assert "at least one admin" in said(await engine.handle(tend("U1", "admin remove <@U1|ana>")))
    await engine.handle(tend("U1", "admin add <@U2|bo>"))
    assert (await members(database))["U2"].role == "admin"


async def test_the_kudos_button_opens_a_form_whose_submission_sends_the_shoutout(engine, sender):
    await engine.handle(MemberSeen(origin("U2"), display_name="bo"))
    [form] = await engine.handle(ButtonClicked(origin("U1"), "kudos.open"))
    assert isinstance(form, OpenForm) and [f.name for f in form.form.fields] == ["person", "reason", "value"]
    await engine.handle(FormSubmitted(origin("U1"), "kudos.form", {"person": "U2", "reason": "great demo"}))
    await engine.delivery.deliver_due()
    assert "great demo" in sender.posts("C-general")[0].card.fallback


async def test_events_from_bots_are_ignored(engine, sender):
    bot_origin = Origin(
        platform="slack", workspace_id="T1", actor=PersonRef("B9", "bot"), place_id="C1", actor_is_bot=True
    )
    assert await engine.handle(CommandReceived(bot_origin, "kudos", "<@U2> thanks")) == ()
    assert sender.sent == []


def test_every_command_of_the_grammar_is_routed_to_a_practice():
    """A command the grammar accepts but nobody handles would end in the engine's apology: every
    example help shows parses to a command that runs itself (its practice's ``run``)."""
    import inspect

    from bot import commands

    for example in commands.examples():
        word, _, rest = example.partition(" ")
        parsed = commands.parse(word[1:], rest)
        assert not isinstance(parsed, commands.UsageError), example
        assert inspect.iscoroutinefunction(type(parsed).run), example


async def test_an_event_wakes_the_delivery_loop_which_sends_at_once(database, clock):
    """The engine sends nothing itself; the loop it wakes does, without waiting out its idle sleep."""
    posted = asyncio.Event()

    class Watched(InMemorySender):
        async def post(self, workspace_external_id: str, place_id: str, card) -> str:
            ref = await super().post(workspace_external_id, place_id, card)
            posted.set()
            return ref

    sender = Watched()
    engine = Engine(database, clock, {"slack": sender})
    loop = asyncio.create_task(engine.delivery.run(idle_seconds=60))
    try:
        await engine.handle(MemberSeen(origin("U2", None), display_name="bo", time_zone="UTC"))
        await engine.handle(kudos("U1", "<@U2|bo> thanks for the quick review"))
        await asyncio.wait_for(posted.wait(), 10)  # an idle loop would sleep a minute
    finally:
        loop.cancel()
        await asyncio.gather(loop, return_exceptions=True)
    assert "quick review" in sender.posts("C-general")[0].card.fallback
