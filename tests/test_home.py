"""A person's own home page, and the hours form it opens, at the practice level (no platform)."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from adapters.console.repl import build_console
from bot.clock import FixedClock, ShiftedClock
from bot.engine import Answer, Engine
from bot.events import HomeOpened
from practices.messages import Card, FieldErrors, Mention, Reply, Text, spans
from storage.models import Member
from tests.helpers import at
from tests.scenario import Scenario

MIA, BO, CY = "<@MIA|mia>", "<@BO|bo>", "<@CY|cy>"


async def people(database) -> Scenario:
    """ada (admin), mia (manages bo and cy), bo and cy; Monday 3 March 2025, 10:00 UTC."""
    s = Scenario(database, at("2025-03-03 10:00"))
    await s.join("ADA", "ada", tz="UTC", admin=True)
    await s.join("MIA", "mia", tz="Europe/Berlin")
    await s.join("BO", "bo", tz="Asia/Tokyo")
    await s.join("CY", "cy", tz="UTC")
    return s


async def home(s: Scenario, user: str) -> Card:
    answers: tuple[Answer, ...] = await s.engine.handle(HomeOpened(s.origin(user, None)))
    [reply] = answers
    assert isinstance(reply, Reply) and reply.private
    return reply.card


async def member(s: Scenario, user: str) -> Member:
    async with s.database.session() as session:
        return (await session.exec(select(Member).where(Member.platform_user_id == user))).one()


async def test_a_managers_home_shows_recent_thanks_newest_first_and_their_next_one_on_ones(database):
    s = await people(database)
    await s.command("BO", f"kudos {MIA} thanks for the patient onboarding")
    s.clock.advance(timedelta(days=35))  # older than 30 days from here on
    await s.command("CY", f"kudos {MIA} thanks for covering my shift")
    s.clock.advance(timedelta(hours=1))
    await s.command("BO", f"kudos {MIA} thanks for the clear plan")
    await s.command("MIA", f"tend 1on1 add {BO} every week thu 10:00")
    await s.command("MIA", f"tend 1on1 add {CY} every week tue 15:00")
    await s.command("ADA", f"tend 1on1 add {CY} {BO} every week wed 11:00")  # cy's, not mia's

    card = await home(s, "MIA")
    text = card.fallback
    assert "clear plan" in text and "covering my shift" in text
    assert text.index("clear plan") < text.index("covering my shift")  # newest first
    assert "patient onboarding" not in text  # older than 30 days
    assert "Your next 1:1s" in text
    # Monday 7 April 2025: the next Tuesday 15:00 and Thursday 10:00 in Berlin (mia's own zone).
    assert text.index("Tue 08 Apr 15:00 with @cy") < text.index("Thu 10 Apr 10:00 with @bo")
    parts = {part for block in card.blocks if isinstance(block, Text) for part in spans(block.text)}
    assert {Mention("CY", "cy"), Mention("BO", "bo")} <= parts  # mentioned, not names in bold
    assert "Wed" not in text  # the 1:1 cy runs with bo is not mia's
    actions = {button.action for button in card.buttons}
    assert actions == {"kudos.open", "stress.start", "prefs.hours"}
    assert "Mon–Fri 09:00–17:30" in text and "Europe/Berlin" in text


async def test_a_non_managers_home_has_no_one_on_ones_and_nothing_about_others(database):
    s = await people(database)
    await s.command("MIA", f"tend 1on1 add {BO} every week thu 10:00")
    await s.command("MIA", f"kudos {CY} thanks for the review")
    card = await home(s, "BO")
    text = card.fallback
    assert "1:1" not in text and "mia" not in text  # bo is the report: nothing to run
    assert "No shout-outs in the last 30 days yet" in text
    assert "review" not in text  # cy's thanks are cy's
    assert {button.action for button in card.buttons} == {"kudos.open", "stress.start", "prefs.hours"}


async def test_the_home_buttons_open_the_existing_forms_and_the_hours_form(database):
    s = await people(database)
    for action, form_id in (("kudos.open", "kudos.form"), ("stress.start", "stress.report")):
        await s.click("BO", action, place=None)
        assert s.form is not None and s.form.form.form_id == form_id
    await s.click("BO", "prefs.hours", place=None)
    assert s.form is not None
    form = s.form.form
    assert [field.name for field in form.fields] == ["days", "start", "end", "time_zone"]
    assert "Asia/Tokyo" in form.fields[3].hint  # shows what is set now


async def test_bad_hours_are_named_per_field_and_nothing_is_stored(database):
    s = await people(database)
    before = await member(s, "BO")
    values = {"days": "mon-fri", "start": "08:00", "end": "16:00", "time_zone": "Mars/Base"}
    await s.submit("BO", "prefs.hoursform", values)
    [errors] = s.last_answers
    assert isinstance(errors, FieldErrors)
    assert errors.errors == (("time_zone", "I don't know the time zone “Mars/Base”; try Europe/Berlin."),)
    await s.submit(
        "BO", "prefs.hoursform", {"days": "mon-someday", "start": "8 am", "end": "07:00", "time_zone": "utc"}
    )
    [errors] = s.last_answers
    assert isinstance(errors, FieldErrors)
    assert [name for name, _ in errors.errors] == ["days", "start"]
    await s.submit(
        "BO", "prefs.hoursform", {"days": "mon", "start": "16:00", "end": "08:00", "time_zone": "UTC"}
    )
    [errors] = s.last_answers
    assert isinstance(errors, FieldErrors) and [name for name, _ in errors.errors] == ["end"]
    after = await member(s, "BO")
    assert (after.work_days, after.work_start, after.work_end, after.time_zone) == (
        before.work_days,
        before.work_start,
        before.work_end,
        "Asia/Tokyo",
    )


async def test_valid_hours_are_stored_and_kept_when_the_platform_reports_its_own_zone(database):
    s = await people(database)
    said = await s.submit(
        "BO",
        "prefs.hoursform",
        {"days": "mon, tue-thu", "start": "07:30", "end": "15:00", "time_zone": "europe/lisbon"},
    )
    assert "Mon–Thu 07:30–15:00" in said and "Europe/Lisbon" in said
    stored = await member(s, "BO")
    assert (stored.work_days, stored.work_start, stored.work_end, stored.time_zone) == (
        "mon,tue,wed,thu",
        "07:30",
        "15:00",
        "Europe/Lisbon",
    )
    # Every ordinary event carries the platform's zone: it must not undo the person's choice ...
    await s.engine.handle(HomeOpened(s.origin("BO", None, tz="Asia/Tokyo")))
    await s.command("BO", "tend settings")
    assert (await member(s, "BO")).time_zone == "Europe/Lisbon"
    # ... but when the platform says the zone changed (MemberSeen), it wins.
    await s.join("BO", "bo", tz="America/Chicago")
    assert (await member(s, "BO")).time_zone == "America/Chicago"


async def test_a_chosen_utc_is_kept_and_an_unlearned_zone_is_filled_in(database):
    s = await people(database)
    await s.command("CY", f"kudos {MIA} thanks")  # cy arrived with UTC from join: never learned
    await s.engine.handle(HomeOpened(s.origin("CY", None, tz="Europe/Paris")))
    assert (await member(s, "CY")).time_zone == "Europe/Paris"
    said = await s.command("CY", "tend settings tz UTC")
    assert "Your time zone:* UTC" in said
    await s.engine.handle(HomeOpened(s.origin("CY", None, tz="Europe/Paris")))
    assert (await member(s, "CY")).time_zone == "Etc/UTC"  # the person's own choice stays


async def test_the_console_shows_the_home_page_and_asks_a_bad_field_again(database):
    lines: list[str] = []
    engines: list[Engine] = []

    def make_engine(sender):
        engines.append(Engine(database, clock, {"console": sender}))
        return engines[0]

    clock = ShiftedClock(FixedClock(at("2025-03-03 10:00")))
    session = build_console(make_engine, clock, lines.append)
    await session.start()
    await session.handle_line("/home")
    page = "\n".join(lines)
    assert "Your Tend" in page and "Europe/Berlin" in page  # ana's own page, her console time zone
    [number] = [n for n, shown in session.buttons.items() if shown.button.action == "prefs.hours"]
    await session.handle_line(f"/click {number}")
    for answer in ("mon-thu", "08:00", "16:00"):
        await session.handle_line(answer)
    lines.clear()
    await session.handle_line("Mars/Base")
    asked = "\n".join(lines)
    assert "I don't know the time zone “Mars/Base”" in asked
    assert asked.rstrip().splitlines()[-2] == "Time zone"  # the same field again, nothing else
    assert session.pending is not None
    lines.clear()
    await session.handle_line("Europe/Lisbon")
    assert session.pending is None and "Saved" in "\n".join(lines)
    async with database.session() as db:
        ana = (await db.exec(select(Member).where(Member.platform_user_id == "ana"))).one()
    assert (ana.work_days, ana.work_start, ana.work_end, ana.time_zone) == (
        "mon,tue,wed,thu",
        "08:00",
        "16:00",
        "Europe/Lisbon",
    )
