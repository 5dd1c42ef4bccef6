"""A form's prefilled value (``FormField.initial``) in the console, as a person typing there meets it:
the prompt shows it in brackets, Enter keeps it, anything typed replaces it. The move-1:1 form starts
at the meeting being moved, so a manager moving only the time types only the time."""

from __future__ import annotations

from adapters.console.render import field_prompt, prefilled
from adapters.console.session import ConsoleSession
from bot.scheduler import Scheduler
from practices.messages import Choice, Form, FormField, OpenForm
from tests import test_console
from tests.test_forms_ask_again import fill, said

Console = tuple[ConsoleSession, test_console.Screen, list[int]]
console = test_console.console  # the fixture, shared: Tue 24 Nov 2026 09:00 UTC, ana in Berlin


async def move_form_opened(session: ConsoleSession, screen: test_console.Screen, wait: str = "23h") -> str:
    """ana's weekly 1:1 with ed on Thursdays at 10:00 (Berlin); its nudge arrives Thursday at 09:00
    (``wait`` after Wednesday's firing), and ana presses "Move to another day". What the console shows."""
    scheduler = Scheduler(session.engine.database, session.clock)
    assert "Added 1:1" in await said(session, screen, "/tend 1on1 add @ed every week thu 10:00")
    await session.handle_line("/wait 1d")  # Wednesday: the pair fires a day ahead
    await scheduler.tick()
    await session.engine.delivery.deliver_due()
    await session.handle_line(f"/wait {wait}")
    assert "Your 1:1 with @ed" in screen.take()
    move = next(n for n, shown in session.buttons.items() if shown.button.label == "Move to another day")
    return await said(session, screen, f"/click {move}")


async def test_the_move_form_shows_the_meetings_day_enter_keeps_it_typed_replaces(console: Console) -> None:
    session, screen, _ = console
    out = await move_form_opened(session, screen)
    assert "New date [2026-11-26]" in out and "Enter keeps it; type to change it." in out
    out = await said(session, screen, "")  # Enter: the same Thursday
    assert "New time [10:00]" in out and "This one is needed" not in out
    assert "Moved to Thu 26 Nov 15:00" in await said(session, screen, "15:00")


async def test_a_typed_date_replaces_the_prefilled_one_and_enter_keeps_the_time(console: Console) -> None:
    session, screen, _ = console
    await move_form_opened(session, screen)
    await fill(session, "2026-11-27", "")
    assert "Moved to Fri 27 Nov 10:00" in screen.take()


async def test_enter_on_every_field_keeps_the_meeting_where_it_was(console: Console) -> None:
    session, screen, _ = console
    await move_form_opened(session, screen)
    await fill(session, "", "")
    assert "Moved to Thu 26 Nov 10:00" in screen.take()
    assert session.submitted is not None
    assert session.submitted.values == {"date": "2026-11-26", "time": "10:00"}


async def test_a_field_asked_again_offers_the_prefilled_value_again(console: Console) -> None:
    session, screen, _ = console
    await move_form_opened(session, screen)
    await fill(session, "27/11/2026", "14:00")  # a date the practice does not read: asked again
    out = screen.take()
    assert "New date [2026-11-26]" in out[out.index("isn't a date") :]  # Enter goes back to the meeting's day
    assert "Moved to Thu 26 Nov 14:00" in await said(session, screen, "")


async def test_a_refused_prefilled_value_is_not_offered_again(console: Console) -> None:
    """Opened at 10:00 in Berlin, when the 10:00 meeting is starting: the kept time is refused, and the
    field asked again has nothing in brackets, so Enter cannot send the same time back in a loop."""
    session, screen, _ = console
    await move_form_opened(session, screen, wait="1d")
    await fill(session, "", "")
    out = screen.take()
    again = out[out.index("already passed") :]
    assert "New time" in again and "[10:00]" not in again and "Enter keeps it" not in again
    assert "This one is needed" in await said(session, screen, "")
    assert "Moved to Thu 26 Nov 15:00" in await said(session, screen, "15:00")


# --- any form: choices, optional fields, and fields with nothing prefilled ----------------------------

MOODS = (Choice("Good", "good"), Choice("Hard", "hard"))
MOOD = FormField("mood", "How was it?", kind="choice", choices=MOODS, initial="hard")
NOTE = FormField("note", "Anything else?", required=False, max_length=10, initial="nothing to add")
WHO = FormField("who", "Who?", kind="person", initial="ed")
FORM = Form("test.form", "A short form", (MOOD, NOTE))


def test_the_prompt_shows_a_prefilled_choice_by_its_label_and_nothing_where_none_is_offered() -> None:
    assert field_prompt(MOOD, prefilled(MOOD)).splitlines()[0] == "How was it? [Hard]"
    assert field_prompt(NOTE, prefilled(NOTE)).splitlines()[:2] == [
        "Anything else? (optional) [nothing to]",  # cut to the field's length, as Slack does
        "  Enter keeps it; type to change it. Type - to leave it empty.",
    ]
    assert prefilled(WHO) == ""  # no platform prefills a person
    assert prefilled(FormField("x", "X", kind="choice", choices=MOODS, initial="meh")) == ""
    plain = FormField("note", "Note")
    assert field_prompt(plain, prefilled(plain)) == "Note"  # as before: nothing in brackets


async def submitted(session: ConsoleSession, *answers: str) -> dict[str, str]:
    """Opens ``FORM`` as a practice's OpenForm would, types the answers, and returns what was sent."""
    await session._present((OpenForm(FORM),))  # no practice has these fields; the console's own step
    await fill(session, *answers)
    assert session.pending is None and session.submitted is not None
    return session.submitted.values


async def test_enter_keeps_a_prefilled_choice_and_text_and_a_dash_empties_it(console: Console) -> None:
    session, _, _ = console
    assert await submitted(session, "", "") == {"mood": "hard", "note": "nothing to"}
    assert await submitted(session, "1", "-") == {"mood": "good", "note": ""}
    assert await submitted(session, "good", "fine") == {"mood": "good", "note": "fine"}


async def test_a_required_field_with_nothing_prefilled_still_asks_again_on_enter(console: Console) -> None:
    session, screen, _ = console
    await session.handle_line("/kudos @bo thanks")
    await session.handle_line("/click 1")
    assert "Who do you want to thank?" in screen.take()
    assert "This one is needed" in await said(session, screen, "")
    assert session.pending is not None and session.pending.index == 0
