"""A person's own settings: working hours, time zone, and pausing personal prompts.

These are what keep Tend from adding pressure: nothing personal is sent outside the hours set
here, in the person's own time zone, or while they are paused.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, time

from practices import data_rights, grammar
from practices.grammar import PERSONAL, Result, Token, Topic, Usage, UsageError, group, only, shown, span
from practices.hours import DAY_NAMES, parse_clock, parse_days
from practices.local_time import canonical_zone
from practices.messages import (
    Example,
    Fact,
    Facts,
    FieldErrors,
    Form,
    FormField,
    OpenForm,
    Outcome,
    Said,
    compose,
)
from practices.practice import ExportSection, Practice, PracticeContext
from storage.models import Member
from storage.outbox import release_held

OPEN_HOURS = "prefs.hours"
HOURS_FORM = "prefs.hoursform"
EXPLICIT_UTC = "Etc/UTC"  # how a person's own choice of UTC is stored: plain "UTC" means "not learned yet"

# --- what people read (one place, to review and translate) ---------------------------------------
HOURS_TITLE = "Hours and time zone"
DAYS_LABEL, START_LABEL, END_LABEL, ZONE_LABEL = "Working days", "Start", "End", "Time zone"
DAYS_HINT = "Names or ranges, like mon-fri or mon,wed,fri. Now: {now}"
START_HINT = "When your day starts. Now: {now}"  # a time picker, or HH:MM typed (the console says so)
END_HINT = "When your day ends. Now: {now}"
ZONE_HINT = "An IANA name, like Europe/Berlin or America/New_York. Now: {now}"
BAD_DAY = "“{raw}” isn't a day; use names like mon or ranges like mon-fri."
NO_DAYS = "Pick at least one working day, like mon-fri."
BAD_TIME = "“{raw}” isn't a time; use 24-hour HH:MM, like 08:00."
START_AFTER_END = "The end ({end}) must be after the start ({start})."
BAD_ZONE = "I don't know the time zone “{raw}”; try Europe/Berlin."
UNUSED_FORM = compose(
    "That form is no longer in use. Type {example} to see your settings.", example=Example("/tend settings")
)
NOT_FUTURE = "{until} is not in the future. Example: {example}"
PAUSE_EXAMPLE = "/tend pause until {until}"
PAUSED = "Personal prompts are paused until {until}. Enjoy the time off. Type {example} to come back earlier."
PAUSE_OFF_EXAMPLE = "/tend pause off"


def describe_days(days: tuple[str, ...]) -> str:
    ordered = [day for day in DAY_NAMES if day in days]
    if not ordered:
        return "no days"
    indexes = [DAY_NAMES.index(day) for day in ordered]
    if indexes == list(range(indexes[0], indexes[-1] + 1)) and len(indexes) > 2:
        return f"{ordered[0].title()}–{ordered[-1].title()}"
    return ", ".join(day.title() for day in ordered)


def shown_zone(time_zone: str) -> str:
    return "UTC" if time_zone == EXPLICIT_UTC else time_zone


def chosen_zone(time_zone: str) -> str:
    """A zone the person picked; UTC is stored as Etc/UTC so the platform's zone never replaces it."""
    return EXPLICIT_UTC if time_zone == "UTC" else time_zone


def parse_zone(raw: str) -> str | None:
    """The canonical IANA name for ``raw`` in any letter case, or None (the check delivery relies on)."""
    return canonical_zone(raw)


# --- rules: pure, called by tests with no database ---------------------------------------------


@dataclass(frozen=True)
class Hours:
    """Working hours as the member row stores them: HH:MM, HH:MM, days in week order."""

    start: str
    end: str
    days: str


@dataclass(frozen=True)
class HoursForm:
    """A hours form whose every field was read."""

    hours: Hours
    time_zone: str


@dataclass(frozen=True)
class PauseChange:
    """What a pause request writes (``write`` False: nothing) and what Tend answers."""

    write: bool
    until: date | None
    outcome: Outcome


def settings_text(member: Member, today: date) -> str:
    """The person's hours, zone and pause as Tend will act on them (a pause that ended is not shown)."""
    days = tuple(member.work_days.split(","))
    lines = [
        f"*Your hours:* {describe_days(days)} {member.work_start}–{member.work_end}",
        f"*Your time zone:* {shown_zone(member.time_zone)}",
    ]
    if member.paused_until and member.paused_until > today:
        lines.append(f"*Personal prompts paused until* {member.paused_until.isoformat()}")
    lines.append("I only send you personal prompts inside these hours.")
    return "\n".join(lines)


def hours_of(start: time, end: time, days: tuple[str, ...]) -> Hours:
    """Days are stored in week order whatever order they were typed in."""
    return Hours(start.strftime("%H:%M"), end.strftime("%H:%M"), ",".join(d for d in DAY_NAMES if d in days))


def check_hours_form(values: dict[str, str]) -> HoursForm | Outcome:
    """Checks every field first; any bad one is named back under its field and nothing is stored."""
    errors: list[tuple[str, str]] = []
    days = parse_days(values.get("days", ""))
    if isinstance(days, str):
        errors.append(("days", BAD_DAY.format(raw=days[:40])))
    elif not days:
        errors.append(("days", NO_DAYS))
    raw_start, raw_end = values.get("start", "").strip(), values.get("end", "").strip()
    start, end = parse_clock(raw_start), parse_clock(raw_end)
    if start is None:
        errors.append(("start", BAD_TIME.format(raw=raw_start[:20])))
    if end is None:
        errors.append(("end", BAD_TIME.format(raw=raw_end[:20])))
    if start is not None and end is not None and start >= end:
        errors.append(("end", START_AFTER_END.format(start=raw_start, end=raw_end)))
    raw_zone = values.get("time_zone", "").strip()
    zone = parse_zone(raw_zone)
    if zone is None:
        errors.append(("time_zone", BAD_ZONE.format(raw=raw_zone[:64])))
    if errors or isinstance(days, str) or start is None or end is None or zone is None:
        return Outcome((FieldErrors(tuple(errors)),))
    return HoursForm(hours_of(start, end, days), zone)


def pause_change(until: date | None, today: date) -> PauseChange:
    """A pause must end in the future (the example offers a date that does); ``None`` ends a pause."""
    if until is None:
        return PauseChange(True, None, Outcome.reply("Welcome back: personal prompts are on again."))
    if until <= today:
        later = PAUSE_EXAMPLE.format(until=date(today.year + 1, 1, 5).isoformat())
        refused = Outcome.reply(compose(NOT_FUTURE, until=until.isoformat(), example=Example(later)))
        return PauseChange(False, None, refused)
    paused = compose(PAUSED, until=until.isoformat(), example=Example(PAUSE_OFF_EXAMPLE))
    return PauseChange(True, until, Outcome.reply(paused))


def hours_form(member: Member) -> Form:
    """The form filled in with what Tend knows now, in each field's hint."""
    days = tuple(member.work_days.split(","))
    return Form(
        form_id=HOURS_FORM,
        title=HOURS_TITLE,
        fields=(
            FormField("days", DAYS_LABEL, max_length=60, hint=DAYS_HINT.format(now=describe_days(days))),
            FormField("start", START_LABEL, kind="time", hint=START_HINT.format(now=member.work_start)),
            FormField("end", END_LABEL, kind="time", hint=END_HINT.format(now=member.work_end)),
            FormField(
                "time_zone",
                ZONE_LABEL,
                max_length=64,
                hint=ZONE_HINT.format(now=shown_zone(member.time_zone)),
            ),
        ),
        submit_label="Save",
    )


# --- storage shells: load, decide with the rules above, write -------------------------------------


def describe(ctx: PracticeContext) -> str:
    return settings_text(ctx.actor, ctx.now.date())


async def show(ctx: PracticeContext) -> Outcome:
    return Outcome.reply(describe(ctx), title="Your settings")


async def _save_hours(ctx: PracticeContext, hours: Hours) -> Outcome:
    ctx.actor.work_start, ctx.actor.work_end, ctx.actor.work_days = hours.start, hours.end, hours.days
    ctx.session.add(ctx.actor)
    return Outcome.reply("Saved. " + describe(ctx), title="Your settings")


async def set_hours(ctx: PracticeContext, start: time, end: time, days: tuple[str, ...]) -> Outcome:
    return await _save_hours(ctx, hours_of(start, end, days))


async def _zone_chosen(ctx: PracticeContext, time_zone: str) -> None:
    """A zone the person chose is known: notes held for want of one may now go, in their hours."""
    ctx.actor.time_zone = chosen_zone(time_zone)
    ctx.actor.profile_known = True
    ctx.session.add(ctx.actor)
    await release_held(ctx.session, ctx.workspace_id, ctx.actor_id, ctx.now)


async def set_time_zone(ctx: PracticeContext, time_zone: str) -> Outcome:
    await _zone_chosen(ctx, time_zone)
    return Outcome.reply("Saved. " + describe(ctx), title="Your settings")


async def _pause(ctx: PracticeContext, until: date | None) -> Outcome:
    change = pause_change(until, ctx.now.date())
    if change.write:
        ctx.actor.paused_until = change.until
        ctx.session.add(ctx.actor)
    return change.outcome


async def pause_until(ctx: PracticeContext, until: date) -> Outcome:
    return await _pause(ctx, until)


async def pause_off(ctx: PracticeContext) -> Outcome:
    return await _pause(ctx, None)


async def submit_hours(ctx: PracticeContext, values: dict[str, str]) -> Outcome:
    checked = check_hours_form(values)
    if isinstance(checked, Outcome):
        return checked
    await _zone_chosen(ctx, checked.time_zone)
    return await _save_hours(ctx, checked.hours)


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    return Outcome((OpenForm(hours_form(ctx.actor)),))


async def on_form(ctx: PracticeContext, form_id: str, values: dict[str, str], state: str) -> Outcome:
    if form_id == HOURS_FORM:
        return await submit_hours(ctx, values)
    return Outcome.reply(UNUSED_FORM)


# --- the words: /tend settings, /tend pause and /tend resume, their parsers and help -------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SETTINGS_EXAMPLE = "/tend settings hours 08:00-16:00 mon-thu"
TZ_EXAMPLE = "/tend settings tz Europe/Berlin"
PAUSE_UNTIL_EXAMPLE = "/tend pause until 2030-01-31"


@dataclass(frozen=True)
class SettingsShow:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await show(ctx)


@dataclass(frozen=True)
class SettingsHours:
    start: time
    end: time
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_hours(ctx, self.start, self.end, self.days)


@dataclass(frozen=True)
class SettingsTimeZone:
    time_zone: str

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_time_zone(ctx, self.time_zone)


@dataclass(frozen=True)
class PauseUntil:
    until: date

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await pause_until(ctx, self.until)


@dataclass(frozen=True)
class PauseOff:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await pause_off(ctx)


def parse_hours(text: str, args: list[Token]) -> Result:
    ex = SETTINGS_EXAMPLE
    m = re.fullmatch(r"([^\s–-]+)\s*[–-]\s*([^\s–-]+)(?:\s+(.*))?", span(text, args), re.S)
    if not m:
        return UsageError("Give working hours as start-end in 24-hour time, like 08:00-16:00.", ex)
    start, end = parse_clock(m[1]), parse_clock(m[2])
    if start is None or end is None:
        bad = m[1] if start is None else m[2]
        return UsageError(f"“{shown(bad)}” isn't a time; use 24-hour HH:MM, like 08:00.", ex)
    if start >= end:
        return UsageError(f"The start ({m[1]}) must be before the end ({m[2]}).", ex)
    days = parse_days(m[3]) if m[3] and m[3].strip() else WEEKDAYS[:5]
    if isinstance(days, str):
        return UsageError(f"“{shown(days)}” isn't a day; use names like mon or ranges like mon-thu.", ex)
    return SettingsHours(start, end, days)


def parse_tz(text: str, args: list[Token]) -> Result:
    if len(args) != 1:
        return UsageError("Give one time zone name, like Europe/Berlin.", TZ_EXAMPLE)
    found = grammar.zone(args[0].raw)
    if found is None:
        msg = f"“{shown(args[0].raw)}” isn't a time zone I know; try one like Europe/Berlin."
        return UsageError(msg, TZ_EXAMPLE)
    return SettingsTimeZone(found)


def parse_settings(text: str, args: list[Token]) -> Result:
    if not args:
        return SettingsShow()
    return group("settings", {"hours": parse_hours, "tz": parse_tz}, SETTINGS_EXAMPLE)(text, args)


def parse_pause(text: str, args: list[Token]) -> Result:
    if len(args) == 1 and args[0].word == "off":
        return PauseOff()
    if args and args[0].word == "until":
        args = args[1:]
    if len(args) != 1:
        return UsageError(
            "Say when to pause until, as a date like 2030-01-31, or pause off.", PAUSE_UNTIL_EXAMPLE
        )
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", args[0].raw):
            raise ValueError
        return PauseUntil(date.fromisoformat(args[0].raw))
    except ValueError:
        return UsageError(
            f"“{shown(args[0].raw)}” isn't a date; write it as YYYY-MM-DD.", PAUSE_UNTIL_EXAMPLE
        )


TOPIC = Topic(
    "settings",
    "your working hours, time zone, and a pause",
    "Tend only messages you inside your working hours, in your time zone.",
    (
        Usage(
            "/tend settings",
            "",
            "your working hours and time zone as Tend knows them",
            "/tend settings",
            PERSONAL,
        ),
        Usage("/tend settings hours", "<start-end> [days]", "your working hours", SETTINGS_EXAMPLE),
        Usage("/tend settings tz", "<Area/City>", "your time zone", TZ_EXAMPLE),
        Usage("/tend pause until", "<YYYY-MM-DD>", "no messages until then", PAUSE_UNTIL_EXAMPLE, PERSONAL),
        Usage("/tend pause off", "", "end a pause (or `/tend resume`)", "/tend pause off"),
    ),
    aliases=("hours", "tz", "pause", "resume", "time zone", "timezone"),
)

# --- data rights: the profile (data_rights deletes the member row itself, last) -------------------
PROFILE_HEADING = "*Your profile*"


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    """The person's own settings and what Tend knows of them, first in their data export."""
    member = ctx.actor
    when = data_rights.local_clock(ctx)
    facts = Facts(
        (
            Fact("Name", (Said(member.display_name),)),
            Fact("User id", member.platform_user_id),
            Fact("Time zone", member.time_zone),
            Fact(
                "Working hours",
                f"{describe_days(tuple(member.work_days.split(',')))} {member.work_start}–{member.work_end}",
            ),
            Fact("Role", member.role),
            Fact("Paused until", member.paused_until.isoformat() if member.paused_until else "not paused"),
            Fact("Support rota", "yes" if member.is_support else "no"),
            Fact("First seen", when(member.created_at)),
        )
    )
    data = {
        "platform_user_id": member.platform_user_id,
        "display_name": member.display_name,
        "time_zone": member.time_zone,
        "working_days": member.work_days,
        "working_hours": f"{member.work_start}-{member.work_end}",
        "role": member.role,
        "paused_until": member.paused_until.isoformat() if member.paused_until else None,
        "support_rota": member.is_support,
        "private_chat_id": member.dm_channel_id,
        "first_seen": data_rights.iso(member.created_at),
    }
    return (ExportSection(PROFILE_HEADING, "member", data, blocks=(facts,)),)


PRACTICE = Practice(
    name="preferences",
    order=70,
    commands={"settings": parse_settings, "pause": parse_pause, "resume": only(PauseOff, "resume")},
    topics=(TOPIC,),
    actions={"prefs": on_action},
    forms={"prefs": on_form},
    export=export_mine,
)
