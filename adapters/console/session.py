"""The console's brain, separate from the terminal so tests can type into it.

It turns typed lines into the same neutral events Slack and Teams produce, and prints what Tend
sends. ``/as``, ``/in``, ``/click``, ``/wait`` are console-only conveniences; everything else is typed
exactly as in Slack.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta
from zoneinfo import ZoneInfo

from adapters.console.render import CLEAR, field_prompt, numbered_buttons, prefilled, render_card
from bot.clock import ShiftedClock
from bot.engine import Answer, Engine
from bot.events import (
    ButtonClicked,
    CommandReceived,
    DirectText,
    FormSubmitted,
    HomeOpened,
    MemberSeen,
    Origin,
    PersonRef,
)
from practices.messages import Button, Card, FieldErrors, Form, FormField, OpenForm, Reply

WORKSPACE = "console"
DIRECT = "dm"

# A few colleagues to try things with; their time zones differ on purpose.
DEMO_MEMBERS: tuple[tuple[str, str], ...] = (
    ("ana", "Europe/Berlin"),
    ("bo", "Asia/Tokyo"),
    ("cy", "America/New_York"),
    ("di", "America/Los_Angeles"),
    ("ed", "Europe/London"),
    ("fa", "Africa/Accra"),
)

CONSOLE_HELP = """Console commands (everything else is typed exactly as in Slack):
  /kudos @bo thanks for the review     send a shout-out
  /tend help                           what Tend can do
  /as <name>                           type as someone else (demo people: {people})
  /in #channel | /in dm                move to a channel, or to your private chat with Tend
  /click N                             press button N of a card
  /home                                your own page (what Slack shows in Tend's App Home)
  /wait 2d | 3h | 30m                  move the clock forward; scheduled prompts fire
  /now                                 show the time
  /cancel                              abandon a form you are filling in
  /quit                                leave"""

WAIT_STEP = timedelta(minutes=10)  # shorter than the tightest grace window (an opener's 15 minutes)
MAX_WAIT = timedelta(days=31)
_DURATION = re.compile(r"^\s*(\d+)\s*([dhm])\s*$")


def parse_duration(text: str) -> timedelta | None:
    """``2d``, ``3h``, ``30m``: the console's ``/wait`` argument."""
    match = _DURATION.match(text.lower())
    if not match:
        return None
    amount, unit = int(match.group(1)), match.group(2)
    return {"d": timedelta(days=amount), "h": timedelta(hours=amount), "m": timedelta(minutes=amount)}[unit]


@dataclass
class PendingForm:
    form: Form
    place_id: str
    values: dict[str, str] = field(default_factory=dict)
    index: int = 0
    fixing: list[int] | None = None  # after a submission named bad fields: the ones still to ask again


@dataclass
class ShownButton:
    button: Button
    place_id: str
    message_ref: str | None


class ConsoleSender:
    """Prints what Tend sends; remembers cards so buttons can be pressed and cards updated."""

    def __init__(self) -> None:
        self.console: ConsoleSession | None = None
        self._next_ref = 0

    def _show(self, heading: str, card: Card, place_id: str, ref: str) -> None:
        if self.console is not None:
            self.console.show(heading, card, place_id, ref)

    def _ref(self) -> str:
        self._next_ref += 1
        return f"m{self._next_ref}"

    async def post(self, workspace_external_id: str, place_id: str, card: Card) -> str:
        ref = self._ref()
        self._show(f"[#{place_id}] Tend posted:", card, place_id, ref)
        return ref

    async def direct(self, workspace_external_id: str, user_id: str, card: Card) -> str:
        ref = self._ref()
        self._show(f"[private message to @{user_id}]", card, DIRECT, ref)
        return ref

    async def open_group(
        self, workspace_external_id: str, user_ids: Sequence[str], place_id: str, card: Card
    ) -> str:
        ref = self._ref()
        people = ", ".join(f"@{user}" for user in user_ids)
        self._show(f"[group conversation with {people}]", card, place_id, ref)
        return ref

    async def update(self, workspace_external_id: str, place_id: str, message_ref: str, card: Card) -> None:
        self._show(f"[#{place_id}] Tend updated its message {message_ref}:", card, place_id, message_ref)


class ConsoleSession:
    """One person at a keyboard, able to type as any member."""

    def __init__(
        self,
        engine: Engine,
        clock: ShiftedClock,
        write: Callable[[str], None],
        *,
        on_time_moved: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.write = write
        self.on_time_moved = on_time_moved
        self.user = DEMO_MEMBERS[0][0]
        self.place_id = "general"
        self.buttons: dict[int, ShownButton] = {}
        self._next_button = 1
        self.pending: PendingForm | None = None
        self.submitted: PendingForm | None = None  # the form just sent, to ask again what it got wrong
        self.finished = False

    @property
    def prompt(self) -> str:
        where = "private chat with Tend" if self.place_id == DIRECT else f"#{self.place_id}"
        field_hint = f" [{self.pending.form.title}]" if self.pending else ""
        return f"{self.user} in {where}{field_hint}> "

    def origin(self) -> Origin:
        time_zone = dict(DEMO_MEMBERS).get(self.user)
        return Origin(
            platform="console",
            workspace_id=WORKSPACE,
            workspace_name="Console",
            actor=PersonRef(self.user, self.user),
            place_id=self.place_id,
            is_direct=self.place_id == DIRECT,
            actor_time_zone=time_zone,
        )

    def show(self, heading: str, card: Card, place_id: str, message_ref: str | None) -> None:
        first = self._next_button
        for number, button in numbered_buttons(card, first).items():
            self.buttons[number] = ShownButton(button, place_id, message_ref)
        self._next_button += len(card.buttons)
        self.write(f"{heading}\n{render_card(card, first)}")

    async def start(self) -> None:
        """Introduces the demo people to Tend and says hello. The console plays the platform: it says
        the first of them (ana) administers the workspace, so she is the Tend admin."""
        for index, (name, time_zone) in enumerate(DEMO_MEMBERS):
            origin = Origin(
                platform="console",
                workspace_id=WORKSPACE,
                workspace_name="Console",
                actor=PersonRef(name, name),
                actor_time_zone=time_zone,
                actor_may_administer=index == 0,
            )
            await self.engine.handle(MemberSeen(origin, display_name=name, time_zone=time_zone))
        people = ", ".join(name for name, _ in DEMO_MEMBERS)
        self.write("Welcome to the Tend console. Type /help for console commands, /tend help for Tend's.")
        self.write(f"You are {self.user} (a Tend admin). Others here: {people}.")

    async def handle_line(self, line: str) -> None:
        """One typed line; never raises for anything a person can type. What the line queued is sent
        before the next prompt: the console is no request path, nothing waits on it meanwhile."""
        await self._handle_line(line)
        await self.engine.delivery.deliver_due()

    async def _handle_line(self, line: str) -> None:
        line = line.strip()
        if self.pending is not None:
            if line.startswith("/") and not line.startswith("/cancel"):
                self.write("You are filling in a form: answer the question above, or type /cancel.")
                return
            if not line.startswith("/cancel"):
                await self._fill_field(line)
                return
        if not line:
            return
        word, _, rest = line.partition(" ")
        word = word.lower()
        if word in ("/kudos", "/tend"):
            await self._command(word[1:], rest)
        elif word == "/as":
            await self._switch_user(rest)
        elif word == "/in":
            self._move(rest)
        elif word == "/click":
            await self._click(rest)
        elif word == "/home":
            await self._present(await self.engine.handle(HomeOpened(replace(self.origin(), place_id=None))))
        elif word == "/wait":
            await self._wait(rest)
        elif word == "/now":
            self._tell_time()
        elif word == "/cancel":
            self.pending = None
            self.write("Form abandoned; nothing was sent.")
        elif word in ("/help", "/?"):
            self.write(CONSOLE_HELP.format(people=", ".join(name for name, _ in DEMO_MEMBERS)))
        elif word in ("/quit", "/exit"):
            self.finished = True
        elif word.startswith("/"):
            self.write(f"I don't know {word}. Type /help for console commands, or /tend help.")
        elif self.place_id == DIRECT:
            await self._present(await self.engine.handle(DirectText(self.origin(), line)))
        else:
            self.write("(Only commands reach Tend in a channel. Try /kudos @bo thanks for ..., or /help.)")

    async def _command(self, command: str, text: str) -> None:
        if command not in ("kudos", "tend"):
            return
        event = CommandReceived(self.origin(), "kudos" if command == "kudos" else "tend", text)
        await self._present(await self.engine.handle(event))

    async def _present(self, answers: tuple[Answer, ...]) -> None:
        for answer in answers:
            if isinstance(answer, Reply):
                heading = "(only you can see this)" if answer.private else f"[#{self.place_id}]"
                self.show(heading, answer.card, self.place_id, None)
            elif isinstance(answer, OpenForm):
                self.pending = PendingForm(answer.form, self.place_id)
                self.pending.index = self._next_asked(self.pending, 0)
                self.write(f"── {answer.form.title} ── (fill in each field; /cancel to stop)")
                self._ask()
            elif isinstance(answer, FieldErrors):
                self._ask_again(answer)

    def _ask_again(self, answer: FieldErrors) -> None:
        """Says what was wrong and asks just those fields again; the rest keep their answers."""
        for _, message in answer.errors:
            self.write(message)
        submitted, self.submitted = self.submitted, None
        if submitted is None:
            return
        names = {name for name, _ in answer.errors}
        wrong = [i for i, form_field in enumerate(submitted.form.fields) if form_field.name in names]
        if not wrong:
            return
        self.pending = replace(submitted, index=wrong[0], fixing=wrong[1:])
        self._ask()

    def _ask(self) -> None:
        assert self.pending is not None
        form_field = self.pending.form.fields[self.pending.index]
        self.write(field_prompt(form_field, self._keep(self.pending, form_field)))

    @staticmethod
    def _keep(pending: PendingForm, form_field: FormField) -> str:
        """What Enter answers: the field's prefilled value, as on Slack and Teams, except when the field is
        asked again because that very value was refused (Enter would only send it back to be refused)."""
        keep = prefilled(form_field)
        refused = pending.fixing is not None and pending.values.get(form_field.name) == keep
        return "" if refused else keep

    @staticmethod
    def _next_asked(pending: PendingForm, index: int) -> int:
        """The next field from ``index`` on that applies to the answers so far (a question asked only
        after a certain choice is skipped, and any answer it had is dropped); past the end when none."""
        fields = pending.form.fields
        while index < len(fields) and not fields[index].applies(pending.values):
            pending.values.pop(fields[index].name, None)
            index += 1
        return index

    async def _fill_field(self, line: str) -> None:
        pending = self.pending
        assert pending is not None
        form_field = pending.form.fields[pending.index]
        keep = self._keep(pending, form_field)
        value = line or keep
        if keep and not form_field.required and line == CLEAR:
            value = ""
        elif form_field.choices and line:
            if line.isdigit() and 1 <= int(line) <= len(form_field.choices):
                value = form_field.choices[int(line) - 1].value
            else:
                matches = [
                    choice.value
                    for choice in form_field.choices
                    if line.casefold() in (choice.value.casefold(), choice.label.casefold())
                ]
                if not matches:
                    self.write(f"Please pick a number from 1 to {len(form_field.choices)}.")
                    return
                value = matches[0]
        if not value and form_field.required:
            self.write("This one is needed. Type an answer, or /cancel.")
            return
        if form_field.max_length and len(value) > form_field.max_length:
            self.write(f"That is {len(value)} characters; please keep it under {form_field.max_length}.")
            return
        pending.values[form_field.name] = value
        if pending.fixing:
            pending.index = pending.fixing.pop(0)
            self._ask()
            return
        if pending.fixing is None:
            pending.index = self._next_asked(pending, pending.index + 1)
            if pending.index < len(pending.form.fields):
                self._ask()
                return
        self.pending = None
        self.submitted = pending
        event = FormSubmitted(self.origin(), pending.form.form_id, dict(pending.values), pending.form.state)
        await self._present(await self.engine.handle(event))

    async def _switch_user(self, name: str) -> None:
        name = name.strip().lstrip("@").lower()
        if not re.fullmatch(r"[a-z][a-z0-9._-]{0,30}", name):
            self.write("Usage: /as <name>, for example /as bo")
            return
        if name not in dict(DEMO_MEMBERS):
            origin = Origin(platform="console", workspace_id=WORKSPACE, actor=PersonRef(name, name))
            await self.engine.handle(MemberSeen(origin, display_name=name, joined=True))  # a newcomer
            self.write(f"{name} joined the workspace.")
        self.user = name
        self.write(f"You are now typing as {name}.")

    def _move(self, where: str) -> None:
        where = where.strip()
        if where.lower() in ("dm", "private", "@tend"):
            self.place_id = DIRECT
            self.write("You are in your private chat with Tend. Plain text you type here goes to Tend.")
        elif re.fullmatch(r"#?[a-z0-9][a-z0-9._-]{0,79}", where.lower()):
            self.place_id = where.lower().lstrip("#")
            self.write(f"You are in #{self.place_id}.")
        else:
            self.write("Usage: /in #channel or /in dm, for example /in #team-standup")

    async def _click(self, text: str) -> None:
        text = text.strip()
        shown = self.buttons.get(int(text)) if text.isdigit() else None
        if shown is None:
            self.write("Usage: /click N, where N is a button number shown in [brackets] on a card.")
            return
        origin = replace(self.origin(), place_id=shown.place_id, is_direct=shown.place_id == DIRECT)
        event = ButtonClicked(origin, shown.button.action, shown.button.value, shown.message_ref)
        await self._present(await self.engine.handle(event))

    async def _wait(self, text: str) -> None:
        duration = parse_duration(text)
        if duration is None or duration <= timedelta() or duration > MAX_WAIT:
            self.write("Usage: /wait 2d, /wait 3h or /wait 30m (days, hours or minutes; at most 31d).")
            return
        # Time passes in steps, so what falls due on the way fires on time, as on a running server.
        remaining = duration
        while remaining > timedelta():
            step = min(WAIT_STEP, remaining)
            self.clock.advance(step)
            remaining -= step
            if self.on_time_moved is not None:
                await self.on_time_moved()
        self._tell_time()

    def _tell_time(self) -> None:
        now = self.clock.now()
        zone = dict(DEMO_MEMBERS).get(self.user, "UTC")
        local = now.astimezone(ZoneInfo(zone))
        self.write(f"It is now {local:%a %d %b %Y %H:%M} for {self.user} ({zone}).")
