"""One-on-one check-in nudges: a private nudge to the manager before each 1:1, and an optional prep prompt.

A pair is a ``Ritual`` of kind ``one-on-one`` with no place. Its schedule is the meeting's, in the
manager's time zone, and it fires a day ahead (``lead_minutes``), so the nudge can wait in the outbox
for its time and the rotation of check-in questions is saved in the same transaction as the firing.
Who the pair is and whether the report gets a prep prompt are a ``OneOnOnePair`` row; the questions its
nudges asked and the days its meetings were moved to have tables of their own (``storage.one_on_ones``).
The ritual's options keep only what the scheduler reads (``anchor``, ``lead_minutes``).

When the nudge goes (``nudge_time``): ``nudge_minutes`` (60) before the meeting when that is inside
the manager's working hours. Otherwise, on that same local day, the in-hours moment nearest to it and
still before the meeting: the last in-hours minute when the hours closed earlier that day (a 19:00
meeting is nudged at 17:29 for hours ending 17:30); when the hours had not opened yet (a 09:00 meeting,
hours from 09:00) there is no in-hours moment before the meeting that day, so it goes at the next
in-hours time, which is then the meeting's own start. A manager on leave (paused) on the meeting's
day gets no nudge for it, and the report no prep prompt: no meeting happens on leave, and nothing
should pile up for their return.

Who may do what: anyone may register their own 1:1s and becomes the pair's manager; their role does
not change, so registering a 1:1 grants nothing else. Only admins register a pair for another manager.
The manager or an admin removes a pair; the manager, the report or an admin turns the prep prompt on or
off; only the pair's manager presses Done, Skipped or Move.

Privacy: the report's prep note is handed straight back to them as a private answer; it is never
stored, queued or shown to the manager. Done, Skipped and sent are aggregated signals only; each also
counts the manager once among the week's contributors (a keyed digest, the same for Done and Skipped),
so the index can tell a team's follow-through from one manager's own.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Literal

from practices import data_rights, local_time, signals
from practices.grammar import (
    PERSONAL,
    PersonRef,
    Result,
    Token,
    Topic,
    Usage,
    UsageError,
    group,
    id_cmd,
    only,
    positive_id,
    span,
    unique_people,
)
from practices.hours import WorkingHours, hours_of, is_within, local_at, next_send_time
from practices.messages import (
    Button,
    Buttons,
    Card,
    DirectMessage,
    Example,
    Fact,
    Facts,
    FieldErrors,
    Fine,
    Form,
    FormField,
    Mention,
    OpenForm,
    Outcome,
    Reply,
    Rich,
    Said,
    Span,
    Text,
    When,
    compose,
    joined,
    text_card,
)
from practices.people import resolve_person
from practices.practice import (
    ExportSection,
    FireContext,
    Forgetting,
    NextRun,
    Practice,
    PracticeContext,
    RitualKind,
)
from practices.questions import Question, load_feedback_template, load_questions, next_question
from practices.rituals import lead_of, recurrence_of, schedule_words
from practices.schedules import Recurrence, ScheduleError, parse_schedule, parse_time
from storage import one_on_ones as store
from storage.db import Session
from storage.identity import get_member, members_by_ids
from storage.models import Member, Occurrence, OneOnOnePair, Ritual
from storage.org_teams import teams_of

KIND = store.KIND
LEAD_MINUTES = 24 * 60
NUDGE_MINUTES = 60
MIN_GAP = timedelta(hours=12)  # 1:1s closer together than this would be a stream of nudges
MOVE_HORIZON = timedelta(days=365)
MAX_NOTE = 3000

DONE, SKIPPED, MOVE, PREP = "1on1.done", "1on1.skipped", "1on1.move", "1on1.prep"
TEMPLATE = "1on1.template"
PREP_FORM, MOVE_FORM = "1on1.prepform", "1on1.moveform"

# --- what people read (one place, to review and translate) ---------------------------------------
EXAMPLE = Example("/tend 1on1 add @bo every 2 weeks thu 10:00")
ADD_FOR_OTHERS = compose(
    "Only a Tend admin can register a 1:1 for another manager. To register your own, leave the "
    "manager out. Example: {example}",
    example=EXAMPLE,
)
WITH_SELF = compose(
    "A 1:1 needs two people; mention the person you meet. Example: {example}", example=EXAMPLE
)
WITH_BOT = "@{name} is a bot; 1:1s are between people. Example: {example}"
BAD_SCHEDULE = "{message} Example: {example}"
# The report as an example mentions people (@bo): a one-word name typed after @ is found by name on every
# platform; a name with a space is not one word, so the example keeps @bo and says whom to mention.
BAD_SCHEDULE_MENTION = "{message} Example, with {report} mentioned where it says @bo: {example}"
BAD_SCHEDULE_EXAMPLE = "/tend 1on1 add @{report} {schedule}"
PLACEHOLDER = "bo"
_ONE_WORD = re.compile(r"[\w.'-]*\w")  # what the grammar reads whole after @ (no space, no trailing stop)
NEVER = compose("That schedule never comes round. Example: {example}", example=EXAMPLE)
TOO_OFTEN = compose("A 1:1 can come round at most once a day. Example: {example}", example=EXAMPLE)
DUPLICATE = (
    "@{manager} and @{report} already have 1:1 #{id}. To change its schedule, remove it "
    "({example}) and add it again."
)
REMOVE_EXAMPLE = "/tend 1on1 remove {id}"
LIST_EXAMPLE = Example("/tend 1on1 list")
ADDED = (
    "Added 1:1 #{id}: {manager} with {report}, {schedule} ({zone}). Next meeting {next} your time; "
    "{manager} gets a private nudge {minutes} minutes before each one."
)
TOO_SOON = " The one on {soon} is too soon for a nudge, so the first nudge is for {next}."
PREP_HINT = " To give {report} a private prep prompt the day before: {example}"
PREP_EXAMPLE = "/tend 1on1 prep {id} on"
ADDED_FOR_YOU_TITLE = "A 1:1 was registered for you"
ADDED_FOR_YOU = (
    "{admin} registered your 1:1 with {report}: {schedule} ({zone}). I'll send you a private nudge "
    "with a check-in question {minutes} minutes before each one. Type {example} to see it."
)
NONE_YET = compose("No 1:1s yet. Add one, for example: {example}", example=EXAMPLE)
LIST_TITLE = "1:1s"
LIST_LINE = "#{id} {manager} with {report}: {schedule} ({zone}); next {next} your time; prep {prep}"
NOT_FOUND = "There is no 1:1 #{id} you can change here. Type {example} to see their numbers."
ONLY_MANAGER_REMOVES = "Only @{manager} or a Tend admin can remove 1:1 #{id}."
REMOVED = "Removed 1:1 #{id} (@{manager} with @{report}). No more nudges will be sent for it."
PREP_ON = "Prep prompts for 1:1 #{id} are on: @{report} gets a private prompt the day before each meeting."
PREP_OFF = "Prep prompts for 1:1 #{id} are off."
UNKNOWN_PERSON = "someone who left"

NUDGE_TITLE = "Your 1:1 with @{report} at {time}"
NUDGE_WHEN = "Your 1:1 with {report} is on {when}."
NUDGE_QUESTION = "*A check-in question to open with:* {question}"
NUDGE_AFTER = "Afterwards, tap Done or Skipped. Only totals are counted, never who."
DONE_LABEL, SKIPPED_LABEL, MOVE_LABEL = "Done", "Skipped", "Move to another day"
TEMPLATE_LABEL = "Feedback tips"
TEMPLATE_FINE = "Only you see this. The check-in questions rotate, so none repeats until all were asked."

GONE = compose(
    "That 1:1 no longer exists, so there is nothing to record. Type {example} to see yours.",
    example=LIST_EXAMPLE,
)
ONLY_MANAGER = "Only @{manager}, who runs this 1:1, can record it or move it."
RECORDED_DONE = "Noted: 1:1 done. Thank you for making the time."
RECORDED_SKIPPED = "Noted: skipped this time. Need another day? Tap Move to another day."
ALREADY = "Already noted for this 1:1, thanks; nothing more to do."

MOVE_TITLE = "Move the 1:1"
MOVE_DATE_LABEL, MOVE_TIME_LABEL = "New date", "New time"
MOVE_BAD_DATE = "“{raw}” isn't a date; write it as YYYY-MM-DD. Example: date {example}, time 10:00"
MOVE_BAD_TIME = "“{raw}” isn't a time; write it as 24-hour HH:MM. Example: date {example}, time 10:00"
MOVE_PAST = "{when} has already passed; pick a time still to come. Example: date {example}, time 10:00"
MOVE_TOO_FAR = "That is more than a year away; pick a nearer day. Example: date {example}, time 10:00"
MOVE_NO_HOURS = compose(
    "You have no working days set, so I can't nudge you. Set them with {example}.",
    example=Example("/tend settings hours 09:00-17:00 mon-fri"),
)
MOVE_AGAIN = "You already moved this 1:1 to {day}, and I keep one nudge per day: that one stands."
MOVED = "Moved to {when} your time. I'll nudge you at {nudge}."

PREP_TITLE = "Your 1:1 with @{manager}"
PREP_TEXT = "Your 1:1 with {manager} is {day} at {time}. Anything you'd like to raise?"
PREP_FINE = "Only you see this and what you write; Tend doesn't keep your note."
PREP_BUTTON = "Jot something down"
PREP_FORM_TITLE = "Before your 1:1"
PREP_FIELD = "What would you like to raise?"
PREP_HINT_FIELD = "Only you will see this. Tend hands it back to you and keeps nothing."
ONLY_REPORT = "This prompt is for @{report}'s own preparation."
NOTE_BACK = "Here's your note, to share if you choose: {note}"
NOTE_EMPTY = "Nothing written, so nothing to hand back. Tap the button again whenever you like."
NOTE_TOO_LONG = "Please keep the note under {limit} characters (this one has {length})."


# --- people and times ------------------------------------------------------------------------------


def _nudge_before(pair: OneOnOnePair) -> timedelta:
    minutes = pair.nudge_minutes
    return timedelta(minutes=minutes if minutes >= 0 else NUDGE_MINUTES)


def _at(member: Member | None) -> str:
    return member.display_name if member is not None else UNKNOWN_PERSON


def _who(member: Member | None) -> Span:
    """A member as a mention; someone who left as words."""
    return Mention(member.platform_user_id, member.display_name) if member is not None else UNKNOWN_PERSON


def _zone_of(member: Member) -> str:
    return hours_of(member).time_zone


def _local(moment: datetime, zone: str) -> str:
    return local_time.day_and_time(moment, zone)


def _clock(moment: datetime, zone: str) -> str:
    return local_time.clock(moment, zone)


def nudge_time(hours: WorkingHours, meeting: datetime, before: timedelta) -> datetime | None:
    """When the manager's nudge goes (see the module docstring); None when they are never reachable."""
    wanted = meeting - before
    if is_within(hours, wanted):
        return wanted
    day = wanted.astimezone(hours.zone).date()
    closes = local_at(hours.time_zone, day, hours.end)
    last_minute = closes - timedelta(minutes=1)
    if closes <= wanted and last_minute < meeting and is_within(hours, last_minute):
        return last_minute
    return next_send_time(hours, wanted)


def on_leave(hours: WorkingHours, meeting: datetime) -> bool:
    """A manager paused on the meeting's local day gets no nudge: no meeting happens on leave."""
    local_day = meeting.astimezone(hours.zone).date()
    return hours.paused_until is not None and local_day < hours.paused_until


def _day_word(meeting: datetime, seen_at: datetime, zone: str) -> str:
    """``tomorrow``, ``today`` or ``on Thu 06 Mar``, as read on the day the prompt arrives."""
    days = (local_time.local_date(meeting, zone) - local_time.local_date(seen_at, zone)).days
    if days == 1:
        return "tomorrow"
    if days == 0:
        return "today"
    return "on " + local_time.day(meeting, zone)


def _meeting_of(ritual: Ritual) -> datetime | None:
    return ritual.next_run_at + lead_of(ritual) if ritual.next_run_at is not None else None


# --- cards and forms ------------------------------------------------------------------------------


def nudge_card(report: Member, meeting: datetime, zone: str, question: Question | None, value: str) -> Card:
    """Short, since it comes every week: when, one question, and the buttons; the feedback template is
    one tap away (``template_card``), not repeated each time."""
    blocks: list[Text | Fine | Buttons] = [
        Text(compose(NUDGE_WHEN, report=_who(report), when=When(meeting, _local(meeting, zone))))
    ]
    if question is not None:
        blocks.append(Text(NUDGE_QUESTION.format(question=question.text)))
    blocks += [
        Fine(NUDGE_AFTER),
        Buttons(
            (
                Button(DONE_LABEL, DONE, value, style="primary"),
                Button(SKIPPED_LABEL, SKIPPED, value),
                Button(MOVE_LABEL, MOVE, value),
                Button(TEMPLATE_LABEL, TEMPLATE, value),
            )
        ),
    ]
    title = NUDGE_TITLE.format(report=_at(report), time=_clock(meeting, zone))
    return Card(title=title, blocks=tuple(blocks))


def template_card() -> Card:
    """The feedback template, shown privately to whoever asks for it from a nudge."""
    template = load_feedback_template()
    return Card(
        title=template.title,
        blocks=(
            Text(template.intro),
            Facts(tuple(Fact(part.title, part.prompt) for part in template.parts)),
            Fine(TEMPLATE_FINE),
        ),
    )


def prep_card(manager: Member, meeting: datetime, zone: str, seen_at: datetime, value: str) -> Card:
    text = compose(
        PREP_TEXT,
        manager=_who(manager),
        day=_day_word(meeting, seen_at, zone),
        time=When(meeting, _clock(meeting, zone), "time"),
    )
    return Card(
        title=PREP_TITLE.format(manager=_at(manager)),
        blocks=(Text(text), Fine(PREP_FINE), Buttons((Button(PREP_BUTTON, PREP, value),))),
    )


def prep_form(value: str) -> Form:
    field = FormField("note", PREP_FIELD, kind="long_text", max_length=MAX_NOTE, hint=PREP_HINT_FIELD)
    return Form(PREP_FORM, PREP_FORM_TITLE, (field,), submit_label="Show me my note", state=value)


def move_form(value: str, example_day: date, planned: datetime | None = None, zone: str = "UTC") -> Form:
    """``planned``: the meeting being moved, which the pickers start from (moves are mostly small)."""
    day = local_time.local_date(planned, zone).isoformat() if planned else ""
    at = local_time.clock(planned, zone) if planned else ""
    fields = (
        FormField(
            "date", MOVE_DATE_LABEL, kind="date", hint=f"Tomorrow is {example_day.isoformat()}.", initial=day
        ),
        FormField("time", MOVE_TIME_LABEL, kind="time", hint="In your own time zone.", initial=at),
    )
    return Form(MOVE_FORM, MOVE_TITLE, fields, submit_label="Move", state=value)


# --- rules: pure, called by tests with no database ---------------------------------------------------


def team_for_signals(report_teams: Sequence[int], manager_teams: Sequence[int]) -> int | None:
    """The team the signals count under: one both share, else the report's, else the manager's, so a
    team's follow-through is told apart from one manager's own."""
    shared = [team for team in report_teams if team in set(manager_teams)]
    return next(iter(shared or list(report_teams) or list(manager_teams)), None)


@dataclass(frozen=True)
class Firing:
    """What one firing of a pair sends, and what it writes with it."""

    intents: tuple[DirectMessage, ...] = ()
    asked: str | None = None  # the question the nudge asks, recorded so the rotation moves on
    nudged: bool = False  # counts nudge_sent, and the manager among the week's contributors
    pause: bool = False  # one of the two has left: the ritual stops


def plan_firing(
    pair: OneOnOnePair | None,
    manager: Member | None,
    report: Member | None,
    meeting: datetime,
    now: datetime,
    occurrence_id: int,
    questions: tuple[Question, ...],
    asked: Sequence[str],
    seed: int,
) -> Firing:
    """One meeting, a day ahead: the manager's nudge at its time (with the next question of the pair's
    rotation) and the report's prep prompt, unless one of them left or the manager is on leave."""
    if pair is None or manager is None or report is None or manager.id is None or report.id is None:
        return Firing(pause=True)
    hours = hours_of(manager)
    if on_leave(hours, meeting):
        return Firing()
    intents: list[DirectMessage] = []
    question_id: str | None = None
    send_at = nudge_time(hours, meeting, _nudge_before(pair))
    if send_at is not None:
        question = next_question(questions, asked, seed=seed)
        question_id = question.id
        card = nudge_card(report, meeting, hours.time_zone, question, str(occurrence_id))
        intents.append(DirectMessage(manager.id, card, key=f"1on1:{occurrence_id}:nudge", not_before=send_at))
    if pair.prep:
        prompt = prep_prompt(manager, report, meeting, now, occurrence_id)
        if prompt is not None:
            intents.append(prompt)
    return Firing(tuple(intents), question_id, send_at is not None)


def prep_prompt(
    manager: Member, report: Member, meeting: datetime, now: datetime, occurrence_id: int
) -> DirectMessage | None:
    """The report's prompt, sent now (within their hours); none if it could only arrive after the meeting."""
    hours = hours_of(report)
    arrives = next_send_time(hours, now)
    if report.id is None or arrives is None or arrives >= meeting:
        return None
    card = prep_card(manager, meeting, hours.time_zone, arrives, str(occurrence_id))
    return DirectMessage(report.id, card, key=f"1on1:{occurrence_id}:prep")


def add_refusal(actor: Member, is_admin: bool, report: Member, manager: Member | None) -> Rich | None:
    """Why a pair can't be registered as asked (someone else's without being an admin, with oneself,
    with a bot); None when it can. The caller is the manager unless an admin names another one."""
    if manager is not None and manager.id != actor.id and not is_admin:
        return ADD_FOR_OTHERS
    lead = manager or actor
    if lead.id == report.id:
        return WITH_SELF
    bots = [member for member in (lead, report) if member.is_bot]
    if bots:
        return compose(WITH_BOT, name=bots[0].display_name, example=EXAMPLE)
    return None


def duplicate_answer(
    pairs: Sequence[tuple[Ritual, OneOnOnePair]], manager: Member, report: Member
) -> Rich | None:
    """The same manager and report have a pair already: say which, and how to change its schedule."""
    for existing, pair in pairs:
        if (pair.manager_member_id, pair.report_member_id) == (manager.id, report.id):
            remove = Example(REMOVE_EXAMPLE.format(id=existing.id))
            return compose(
                DUPLICATE,
                manager=manager.display_name,
                report=report.display_name,
                id=existing.id or 0,
                example=remove,
            )
    return None


def first_nudged_meeting(
    next_run: NextRun, recurrence: Recurrence, zone: str, anchor: date, now: datetime
) -> datetime | Rich:
    """The first meeting far enough ahead to be nudged, or why the schedule can't be used."""
    lead = timedelta(minutes=LEAD_MINUTES)
    first = next_run(recurrence, zone, now + lead, anchor)
    if first is None:
        return NEVER
    second = next_run(recurrence, zone, first, anchor)
    if second is not None and second - first < MIN_GAP:
        return TOO_OFTEN
    return first


def pair_ritual(
    workspace_id: int,
    actor_id: int,
    recurrence: Recurrence,
    zone: str,
    anchor: date,
    first: datetime,
    now: datetime,
) -> Ritual:
    """The ritual that schedules a new pair: in the manager's zone, firing a day before each meeting."""
    options = {"anchor": anchor.isoformat(), "lead_minutes": LEAD_MINUTES}
    return Ritual(
        workspace_id=workspace_id,
        kind=KIND,
        place_id=None,
        schedule=recurrence.to_text(),
        time_zone=zone,
        options=json.dumps(options),
        next_run_at=first - timedelta(minutes=LEAD_MINUTES),
        created_by_member_id=actor_id,
        created_at=now,
    )


def added(
    pair_id: int,
    actor: Member,
    manager: Member,
    report: Member,
    recurrence: Recurrence,
    zone: str,
    first: datetime,
    soonest: datetime | None,
) -> Outcome:
    """The answer to whoever registered the pair (naming a meeting too soon to nudge), and a private
    note to the manager when an admin registered it for them."""
    viewer = _zone_of(actor)
    names = {"manager": _who(manager), "report": _who(report), "id": pair_id}
    coming = When(first, _local(first, viewer))
    text = compose(
        ADDED, schedule=recurrence.describe(), zone=zone, next=coming, minutes=NUDGE_MINUTES, **names
    )
    if soonest is not None and soonest < first:
        text += compose(TOO_SOON, soon=When(soonest, _local(soonest, viewer)), next=coming)
    text += compose(PREP_HINT, example=Example(PREP_EXAMPLE.format(id=pair_id)), **names)
    intents: list[Reply | DirectMessage] = [Reply(text_card(text, "1:1 added"))]
    if manager.id != actor.id and manager.id is not None:
        note = compose(
            ADDED_FOR_YOU,
            admin=_who(actor),
            report=_who(report),
            schedule=recurrence.describe(),
            zone=zone,
            minutes=NUDGE_MINUTES,
            example=LIST_EXAMPLE,
        )
        intents.append(
            DirectMessage(manager.id, text_card(note, ADDED_FOR_YOU_TITLE), key=f"1on1-added:{pair_id}:dm")
        )
    return Outcome(tuple(intents))


def pairs_list(
    pairs: Sequence[tuple[Ritual, OneOnOnePair]], people: dict[int | None, Member], viewer: str
) -> Outcome:
    """Each pair with its next meeting in the reader's zone (none while paused) and its prep setting."""
    if not pairs:
        return Outcome.reply(NONE_YET)
    lines = []
    for ritual, pair in pairs:
        meeting = _meeting_of(ritual)
        lines.append(
            compose(
                LIST_LINE,
                id=ritual.id or 0,
                manager=_who(people.get(pair.manager_member_id)),
                report=_who(people.get(pair.report_member_id)),
                schedule=recurrence_of(ritual).describe(),
                zone=ritual.time_zone,
                next=When(meeting, _local(meeting, viewer)) if meeting and not ritual.paused else "none",
                prep="on" if pair.prep else "off",
            )
        )
    return Outcome.reply(joined(lines, "\n", "\n"), title=LIST_TITLE)


def is_party(actor_id: int, pair: OneOnOnePair) -> bool:
    return actor_id in (pair.manager_member_id, pair.report_member_id)


def may_see(actor_id: int, is_admin: bool, pair: OneOnOnePair) -> bool:
    """A pair is seen (listed, changed) by its two people and by admins; to anyone else it is absent."""
    return is_admin or is_party(actor_id, pair)


def may_remove(actor_id: int, is_admin: bool, pair: OneOnOnePair) -> bool:
    return pair.manager_member_id == actor_id or is_admin


TapRule = Literal["prep", "only_report", "only_manager", "move", "record", "gone"]


def tap_rule(action: str, actor_id: int, pair: OneOnOnePair) -> TapRule:
    """Who may press what: the prep button is the report's; Done, Skipped and Move are the manager's."""
    if action == PREP:
        return "prep" if pair.report_member_id == actor_id else "only_report"
    if pair.manager_member_id != actor_id:
        return "only_manager"
    if action == MOVE:
        return "move"
    if action not in (DONE, SKIPPED) or pair.report_member_id is None:
        return "gone"
    return "record"


@dataclass(frozen=True)
class Move:
    """A meeting moved to ``meeting`` (local ``day``), and when its fresh nudge goes."""

    day: date
    meeting: datetime
    send_at: datetime


def plan_move(
    values: dict[str, str], state: str, now: datetime, hours: WorkingHours, before: timedelta
) -> Move | Outcome:
    """The move form's answers as a new meeting in the manager's zone and hours, or the form asked
    again for just the bad field (a date or time not understood, in the past, more than a year away)."""
    zone = hours.time_zone
    example = (local_time.local_date(now, zone) + timedelta(days=1)).isoformat()
    raw_date, raw_time = values.get("date", "").strip(), values.get("time", "").strip()
    new_day = date.fromisoformat(raw_date) if _is_date(raw_date) else None
    new_time = parse_time(raw_time)
    errors: list[tuple[str, str]] = []
    if new_day is None:
        errors.append(("date", MOVE_BAD_DATE.format(raw=_show(raw_date), example=example)))
    if new_time is None:
        errors.append(("time", MOVE_BAD_TIME.format(raw=_show(raw_time), example=example)))
    if new_day is None or new_time is None:
        return _move_again(errors, state, example)
    meeting = local_at(zone, new_day, new_time)
    today = local_time.local_date(now, zone)
    if meeting <= now:  # earlier today is the time's fault; an earlier day the date's
        field = "time" if new_day == today else "date"
        return _move_again(
            [(field, MOVE_PAST.format(when=_local(meeting, zone), example=example))], state, example
        )
    if meeting - now > MOVE_HORIZON:
        return _move_again([("date", MOVE_TOO_FAR.format(example=example))], state, example)
    send_at = nudge_time(hours, meeting, before)
    if send_at is None:
        return Outcome.reply(MOVE_NO_HOURS)
    return Move(new_day, meeting, send_at)


def note_back(note: str) -> Outcome:
    """The note goes back to its author as a private answer, and nowhere else: nothing is stored."""
    note = note.strip()
    if not note:
        return Outcome.reply(NOTE_EMPTY)
    if len(note) > MAX_NOTE:
        return Outcome.reply(NOTE_TOO_LONG.format(limit=MAX_NOTE, length=len(note)))
    return Outcome.reply(compose(NOTE_BACK, note=Said(note)))


_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _is_date(raw: str) -> bool:
    if not _DATE.fullmatch(raw):
        return False
    try:
        date.fromisoformat(raw)
    except ValueError:
        return False
    return True


def _move_again(errors: list[tuple[str, str]], state: str, example: str) -> Outcome:
    """The move form asks again for just the bad field (Slack keeps it open; Teams sends it again)."""
    return Outcome((FieldErrors(tuple(errors), move_form(state, date.fromisoformat(example))),))


def _show(raw: str) -> str:
    """What someone typed, quoted back as one short printable line."""
    return "".join(c if c.isprintable() else "?" for c in raw[:20])


# --- storage shells: load, decide with the rules above, write -----------------------------------------


async def _member(session: Session, workspace_id: int, member_id: int | None) -> Member | None:
    member = await get_member(session, member_id) if member_id is not None else None
    return member if member is not None and member.workspace_id == workspace_id else None


async def _team_id(session: Session, manager_id: int, report_id: int) -> int | None:
    report_teams = [team.id for team in await teams_of(session, report_id) if team.id is not None]
    manager_teams = [team.id for team in await teams_of(session, manager_id) if team.id is not None]
    return team_for_signals(report_teams, manager_teams)


async def fire(ctx: FireContext) -> Outcome:
    """One meeting, a day ahead: queue the manager's nudge (and the report's prep prompt) for their time."""
    ritual, occurrence = ctx.ritual, ctx.occurrence
    assert ritual.id is not None and occurrence.id is not None
    pair = await store.pair_of(ctx.session, ritual)
    manager = await _member(ctx.session, ctx.workspace_id, pair.manager_member_id if pair else None)
    report = await _member(ctx.session, ctx.workspace_id, pair.report_member_id if pair else None)
    asked = await store.questions_asked(ctx.session, ritual.id)
    meeting = occurrence.scheduled_at + lead_of(ritual)
    firing = plan_firing(
        pair, manager, report, meeting, ctx.now, occurrence.id, load_questions(), asked, seed=ritual.id
    )
    if firing.pause:
        ritual.paused = True
        await store.save(ctx.session, ritual)
    if firing.asked is not None:
        await store.record_question(ctx.session, ritual.id, occurrence.id, firing.asked)
    if firing.nudged and manager is not None and report is not None:
        assert manager.id is not None and report.id is not None
        team_id = await _team_id(ctx.session, manager.id, report.id)
        org = ctx.workspace.organization_id
        await signals.record(ctx.session, org, team_id, ctx.now, "nudge_sent")
        await signals.contributed(ctx.session, ctx.secret_key, org, team_id, ctx.now, "nudge", manager.id)
    return Outcome(firing.intents)


async def add(ctx: PracticeContext, report: Member, schedule: str, manager: Member | None) -> Outcome:
    """Registers a pair; the caller is the manager unless an admin names another one."""
    refusal = add_refusal(ctx.actor, ctx.is_admin, report, manager)
    if refusal is not None:
        return Outcome.reply(refusal)
    lead = manager or ctx.actor
    assert lead.id is not None and report.id is not None
    recurrence = parse_schedule(schedule)
    if isinstance(recurrence, ScheduleError):
        return Outcome.reply(_bad_schedule(report, recurrence))
    duplicate = duplicate_answer(await store.pairs_in_workspace(ctx.session, ctx.workspace_id), lead, report)
    if duplicate is not None:
        return Outcome.reply(duplicate)
    zone = _zone_of(lead)
    anchor = local_time.local_date(ctx.now, zone)
    first = first_nudged_meeting(ctx.next_run, recurrence, zone, anchor, ctx.now)
    if isinstance(first, tuple):
        return Outcome.reply(first)
    ritual = pair_ritual(ctx.workspace_id, ctx.actor_id, recurrence, zone, anchor, first, ctx.now)
    await store.add_pair(ctx.session, ritual, lead.id, report.id)
    assert ritual.id is not None
    soonest = ctx.next_run(recurrence, zone, ctx.now, anchor)
    return added(ritual.id, ctx.actor, lead, report, recurrence, zone, first, soonest)


def _bad_schedule(report: Member, error: ScheduleError) -> Rich:
    """A schedule mistake, with an example that mentions the report as people can type it."""
    one_word = bool(_ONE_WORD.fullmatch(report.display_name))
    typed = BAD_SCHEDULE_EXAMPLE.format(
        report=report.display_name if one_word else PLACEHOLDER, schedule=error.example
    )
    if one_word:
        return compose(BAD_SCHEDULE, message=error.message, example=Example(typed))
    return compose(BAD_SCHEDULE_MENTION, message=error.message, report=_who(report), example=Example(typed))


async def _visible_pairs(ctx: PracticeContext) -> list[tuple[Ritual, OneOnOnePair]]:
    pairs = await store.pairs_in_workspace(ctx.session, ctx.workspace_id)
    return [(ritual, pair) for ritual, pair in pairs if may_see(ctx.actor_id, ctx.is_admin, pair)]


async def list_pairs(ctx: PracticeContext) -> Outcome:
    """The caller's own pairs (as manager or report); an admin sees every pair in the workspace."""
    pairs = await _visible_pairs(ctx)
    if not pairs:
        return Outcome.reply(NONE_YET)
    ids = {i for _, pair in pairs for i in (pair.manager_member_id, pair.report_member_id) if i is not None}
    people: dict[int | None, Member] = {
        member.id: member for member in await members_by_ids(ctx.session, ids)
    }
    return pairs_list(pairs, people, _zone_of(ctx.actor))


async def _pair_for(ctx: PracticeContext, pair_id: int) -> tuple[Ritual, OneOnOnePair] | None:
    """The pair if the caller is part of it or an admin; otherwise as good as absent."""
    found = await store.pair_in_workspace(ctx.session, ctx.workspace_id, pair_id)
    return found if found is not None and may_see(ctx.actor_id, ctx.is_admin, found[1]) else None


async def _names(ctx: PracticeContext, pair: OneOnOnePair) -> dict[str, str]:
    manager = await _member(ctx.session, ctx.workspace_id, pair.manager_member_id)
    report = await _member(ctx.session, ctx.workspace_id, pair.report_member_id)
    return {"manager": _at(manager), "report": _at(report)}


async def _delete_pair(ctx: PracticeContext, ritual: Ritual) -> None:
    """Deletes a pair with its queued nudges and prompts (removed, or forgotten with one of its two)."""
    assert ritual.id is not None
    occurrences = await store.occurrence_ids(ctx.session, ritual.id)
    prefixes = [f"1on1:{occurrence_id}:" for occurrence_id in occurrences] + [f"1on1-added:{ritual.id}:"]
    await store.drop_messages(ctx.session, ctx.workspace_id, "1on1", prefixes)
    await store.delete_pair(ctx.session, ritual)


async def remove(ctx: PracticeContext, pair_id: int) -> Outcome:
    """The manager or an admin removes a pair; its queued nudges and prompts are dropped with it."""
    found = await _pair_for(ctx, pair_id)
    if found is None:
        return Outcome.reply(compose(NOT_FOUND, id=pair_id, example=LIST_EXAMPLE))
    ritual, pair = found
    names = await _names(ctx, pair)
    if not may_remove(ctx.actor_id, ctx.is_admin, pair):
        return Outcome.reply(ONLY_MANAGER_REMOVES.format(id=pair_id, **names))
    await _delete_pair(ctx, ritual)
    return Outcome.reply(REMOVED.format(id=pair_id, **names))


async def set_prep(ctx: PracticeContext, pair_id: int, enabled: bool) -> Outcome:
    """The manager, the report or an admin turns the report's day-before prompt on or off."""
    found = await _pair_for(ctx, pair_id)
    if found is None:
        return Outcome.reply(compose(NOT_FOUND, id=pair_id, example=LIST_EXAMPLE))
    _, pair = found
    pair.prep = enabled
    await store.save(ctx.session, pair)
    names = await _names(ctx, pair)
    return Outcome.reply((PREP_ON if enabled else PREP_OFF).format(id=pair_id, **names))


# --- buttons and forms ----------------------------------------------------------------------------


async def _occurrence(ctx: PracticeContext, value: str) -> tuple[Occurrence, OneOnOnePair] | None:
    if not value.strip().isdigit():
        return None
    return await store.occurrence_in_workspace(ctx.session, ctx.workspace_id, int(value.strip()))


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """Done / Skipped / Move / Feedback tips on the manager's nudge, and the report's prep button."""
    if action == TEMPLATE:  # the same public template for anyone: nothing about the pair in it
        return Outcome((Reply(template_card()),))
    found = await _occurrence(ctx, value)
    if found is None:
        return Outcome.reply(GONE)
    occurrence, pair = found
    assert occurrence.id is not None
    rule = tap_rule(action, ctx.actor_id, pair)
    if rule == "prep":
        return Outcome((OpenForm(prep_form(str(occurrence.id))),))
    if rule == "only_report":
        return Outcome.reply(ONLY_REPORT.format(**await _names(ctx, pair)))
    if rule == "only_manager":
        return Outcome.reply(ONLY_MANAGER.format(**await _names(ctx, pair)))
    if rule == "move":
        zone = _zone_of(ctx.actor)
        tomorrow = local_time.local_date(ctx.now, zone) + timedelta(days=1)
        ritual = await store.ritual_of_pair(ctx.session, pair)
        planned = occurrence.scheduled_at + lead_of(ritual) if ritual is not None else None
        return Outcome((OpenForm(move_form(str(occurrence.id), tomorrow, planned, zone)),))
    report_id = pair.report_member_id
    if rule == "gone" or report_id is None:
        return Outcome.reply(GONE)
    if not await store.close_occurrence(ctx.session, occurrence.id, ctx.now):
        return Outcome.reply(ALREADY)
    kind = "nudge_done" if action == DONE else "nudge_skipped"
    team_id = await _team_id(ctx.session, ctx.actor_id, report_id)
    org = ctx.workspace.organization_id
    await signals.record(ctx.session, org, team_id, ctx.now, kind)
    # Done and Skipped both count the manager, so what is stored never tells which they pressed.
    await signals.contributed(ctx.session, ctx.secret_key, org, team_id, ctx.now, "nudge", ctx.actor_id)
    return Outcome.reply(RECORDED_DONE if action == DONE else RECORDED_SKIPPED)


async def on_form(ctx: PracticeContext, form_id: str, values: dict[str, str], state: str) -> Outcome:
    if form_id == PREP_FORM:
        return note_back(values.get("note", ""))
    if form_id == MOVE_FORM:
        return await _move(ctx, values, state)
    return Outcome.reply(GONE)


async def _move(ctx: PracticeContext, values: dict[str, str], state: str) -> Outcome:
    """A fresh nudge for the new meeting time, in the manager's time zone and working hours."""
    found = await _occurrence(ctx, state)
    if found is None:
        return Outcome.reply(GONE)
    occurrence, pair = found
    assert occurrence.id is not None
    report = await _member(ctx.session, ctx.workspace_id, pair.report_member_id)
    if pair.manager_member_id != ctx.actor_id or report is None:
        return Outcome.reply(ONLY_MANAGER.format(**await _names(ctx, pair)))
    hours = hours_of(ctx.actor)
    zone = hours.time_zone
    move = plan_move(values, state, ctx.now, hours, _nudge_before(pair))
    if isinstance(move, Outcome):
        return move
    new_day, meeting, send_at = move.day, move.meeting, move.send_at
    if not await store.record_move(ctx.session, occurrence.id, new_day):
        return Outcome.reply(MOVE_AGAIN.format(day=new_day.isoformat()))
    key = f"1on1:{occurrence.id}:moved:{new_day.isoformat()}"
    question_id = await store.question_of(ctx.session, occurrence.id)
    question = next((q for q in load_questions() if q.id == question_id), None)
    card = nudge_card(report, meeting, zone, question, str(occurrence.id))
    nudge = DirectMessage(ctx.actor_id, card, key=key, not_before=send_at)
    answer = MOVED.format(when=_local(meeting, zone), nudge=_local(max(send_at, ctx.now), zone))
    return Outcome((nudge, Reply(text_card(answer))))


# --- the words: /tend 1on1, its parsers and its help ------------------------------------------------

ONE_EXAMPLE = "/tend 1on1 add @kim every 2 weeks thu 10:00"
PREP_TYPED = "/tend 1on1 prep 3 on"


@dataclass(frozen=True)
class OneOnOneAdd:
    report: PersonRef
    schedule: str
    manager: PersonRef | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        manager = await resolve_person(ctx, self.manager) if self.manager else None
        return await add(ctx, await resolve_person(ctx, self.report), self.schedule, manager)


@dataclass(frozen=True)
class OneOnOneList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_pairs(ctx)


@dataclass(frozen=True)
class OneOnOneRemove:
    pair_id: int

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove(ctx, self.pair_id)


@dataclass(frozen=True)
class OneOnOnePrep:
    pair_id: int
    enabled: bool

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_prep(ctx, self.pair_id, self.enabled)


def parse_add(text: str, args: list[Token]) -> Result:
    ex = ONE_EXAMPLE
    n = next((i for i, t in enumerate(args) if not t.person), len(args))
    people = [t.person for t in args[:n] if t.person]
    if n == 0:
        return UsageError("Mention who the 1:1 is with, then the schedule.", ex)
    if n > 2:
        return UsageError("Mention at most two people: the manager (optional), then the report.", ex)
    if not args[n:]:
        return UsageError("Add a schedule after the person, like every 2 weeks thu 10:00.", ex)
    manager, report = (people[0], people[1]) if n == 2 else (None, people[0])
    if manager and len(unique_people([manager, report])) == 1:
        return UsageError("The manager and the report must be two different people.", ex)
    return OneOnOneAdd(report, span(text, args[n:]), manager)


def parse_prep(text: str, args: list[Token]) -> Result:
    ident = positive_id(args, "1:1", PREP_TYPED)
    if isinstance(ident, UsageError):
        return ident
    if len(args) != 2 or args[1].word not in ("on", "off"):
        return UsageError("After the 1:1 id, say on or off.", PREP_TYPED)
    return OneOnOnePrep(ident, args[1].word == "on")


parse_one_on_one = group(
    "1on1",
    {
        "list": only(OneOnOneList, "1on1 list"),
        "add": parse_add,
        "remove": id_cmd(OneOnOneRemove, "1:1", "/tend 1on1 remove 3"),
        "prep": parse_prep,
    },
    ONE_EXAMPLE,
)

TOPIC = Topic(
    "1on1",
    "reminders before your 1:1s, with a question to ask",
    "A day before each 1:1 the manager gets a nudge with one check-in question and a feedback "
    "template. Managers add their own; admins can add one for any manager.",
    (
        Usage("/tend 1on1 list", "", "your 1:1s and their schedules", "/tend 1on1 list", PERSONAL),
        Usage("/tend 1on1 add", "[@manager] @report <schedule>", "start nudges for a 1:1", ONE_EXAMPLE),
        Usage("/tend 1on1 remove", "<id>", "stop them", "/tend 1on1 remove 3"),
        Usage("/tend 1on1 prep", "<id> on|off", "also ask the report to prepare", PREP_TYPED),
    ),
    aliases=("1:1", "1-1", "one-on-one", "oneonone"),
)

# --- data rights: the person's 1:1 pairs ----------------------------------------------------------
PRIVACY = (
    "*1:1s* are seen by the two people in them and by admins. A prep note you write is handed back "
    "to you and never stored.",
)
PAIRS_HEADING = "*Your 1:1s*"
PAIR_LINE = "• #{id}: you are the {role}, with {other}; {schedule} ({zone}){paused}"
PAIR_PAUSED = "; paused"
FORGET_ASK = "1:1 pairs with you removed, with their queued nudges: {count}"
FORGET_DONE = "1:1 pairs: {count}"


async def _pairs_with(ctx: PracticeContext) -> list[tuple[Ritual, OneOnOnePair, str, int | None]]:
    """(ritual, pair, whether the person is the manager or the report, the other person's id)."""
    found: list[tuple[Ritual, OneOnOnePair, str, int | None]] = []
    for ritual, pair in await store.pairs_in_workspace(ctx.session, ctx.workspace_id):
        if pair.manager_member_id == ctx.actor_id:
            found.append((ritual, pair, "manager", pair.report_member_id))
        elif pair.report_member_id == ctx.actor_id:
            found.append((ritual, pair, "report", pair.manager_member_id))
    return found


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    pairs = await _pairs_with(ctx)
    name = await data_rights.names_of(ctx, [other for *_, other in pairs])
    lines = tuple(
        compose(
            PAIR_LINE,
            id=ritual.id or 0,
            role=role,
            other=Said(name(other)),
            schedule=schedule_words(ritual),
            zone=ritual.time_zone,
            paused=PAIR_PAUSED if ritual.paused else "",
        )
        for ritual, _, role, other in pairs
    )
    data = [
        {
            "id": ritual.id,
            "you_are": role,
            "with": name(other),
            "schedule": schedule_words(ritual),
            "time_zone": ritual.time_zone,
            "prep_prompt": pair.prep,
            "paused": ritual.paused,
        }
        for ritual, pair, role, other in pairs
    ]
    return (ExportSection(PAIRS_HEADING, "one_on_ones", data, lines=lines),)


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    """A 1:1 is about the two people in it: it goes, with its queued nudges, for the other person too."""
    pairs = await _pairs_with(ctx)
    if not erase:
        return Forgetting(erased=(FORGET_ASK.format(count=len(pairs)),))
    for ritual, *_ in pairs:
        await _delete_pair(ctx, ritual)
    await store.flush(ctx.session)
    return Forgetting(erased=(FORGET_DONE.format(count=len(pairs)),))


PRACTICE = Practice(
    name="one_on_ones",
    order=30,
    commands={"1on1": parse_one_on_one},
    topics=(TOPIC,),
    actions={"1on1": on_action},
    forms={"1on1": on_form},
    # Added by /tend 1on1, not /tend ritual add; a nudge is still useful half a day late.
    rituals=(RitualKind(KIND, fire, timedelta(hours=12), "a nudge before a 1:1", listed=False),),
    signals=("nudge_sent", "nudge_done", "nudge_skipped", "contributor_nudge"),
    privacy=PRIVACY,
    export=export_mine,
    forget=forget_mine,
)
