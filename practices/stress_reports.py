"""Anonymous stress reports (``/tend stress``) and the support rota (``/tend support ...``).

A report is stored with no member id, no platform id and no exact time: the ISO week, the team only
when it is big enough not to single anyone out, and what the person chose to say. Asking for help
goes through a ``StressRelay``, whose two sides are member ids sealed under ``TEND_SECRET_KEY``
(``practices.sealing``), with the due hour and expiry day as its only times; it is deleted when the
conversation closes, the person is reached, or after 30 days. Every message between the two sides
(and the chosen person's "please reach out") is a sealed outbox row: the table shows neither who
receives it nor what it says, and the row is gone once sent. The request goes to the whole rota,
the author too when they are on it, so nobody is singled out by being left out. Submitting and
answering are ``ANONYMOUS`` events: the engine writes nothing about the person who acted.
docs/privacy.md ("Threat model") states what this protects against.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from practices import data_rights, local_time, sealing, signals
from practices.grammar import PERSONAL, People, Topic, Usage, group, only, people_cmd
from practices.hours import hours_of, next_send_time
from practices.messages import (
    Button,
    Buttons,
    Card,
    Choice,
    DirectMessage,
    Example,
    FieldErrors,
    Fine,
    Form,
    FormField,
    Intent,
    OpenForm,
    Outcome,
    Reply,
    Rich,
    Said,
    Text,
    UpdateCard,
    When,
    Wording,
    compose,
    joined,
    plain,
    text_card,
)
from practices.people import mention, resolve_people
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext, SweepContext, SweepResult
from practices.support_fallback import EXAMPLE as FALLBACK_EXAMPLE
from practices.support_fallback import parse_fallback
from practices.support_fallback import route as fallback_route
from storage import signals as signal_store
from storage import stress as store
from storage.db import Session
from storage.identity import find_member, find_members_by_name, get_member, members_with_role, zone_known
from storage.models import Member, StressRelay, StressReport, Workspace

# How long the rota has to answer before a request counts as unsupported. Settings carry
# TEND_SUPPORT_REPLY_HOURS (default 48), but practices cannot read settings; see the module report.
RELAY_LIFETIME = timedelta(days=30)
AUTHOR, SUPPORTER = "relay-author", "relay-supporter"  # sealing purposes of the relay's two sides
MAX_WORDS = 2000
MAX_MESSAGE = 2000

START = "stress.start"
REPLY = "stress.reply"
CLOSE = "stress.close"
REACHED = "stress.reached"
REPORT_FORM = "stress.report"
MESSAGE_FORM = "stress.message"

INTENSITIES = ("a little", "noticeable", "heavy", "very heavy", "too much")
CATEGORIES = {
    "workload": "workload",
    "deadlines": "deadlines",
    "conflict": "conflict",
    "personal": "something personal",
    "other": "something else",
}
SUPPORT_CHOICES = {
    "count": "Just count it",
    "talk": "Talk anonymously with a support person",
    "reach_out": "Ask someone I choose to reach out to me",
}

# --- what people read (one place, to review and translate) ---------------------------------------
FORM_TITLE = "A private check-in"
FORM_HINT_WORDS = (
    "Optional. Stored without your name. If you ask to talk, the support person reads these words too."
)
FORM_REVEAL_PERSON = "Choose who reaches out"  # Teams: the button that shows the question
FORM_HINT_PERSON = "Only if you chose 'ask someone to reach out'. They'll see your name and nothing else."
AGAIN = "Open the check-in again"

PROMISE = (
    "Your report is stored with no name, no user id and no exact time: only the week{team}. "
    "Nobody, admins included, can tell who sent it."
)
PROMISE_TEAM = " and your team, which is big enough that nobody can be singled out"
STRESS = Example("/tend stress")
ADD_SUPPORT = Example("/tend support add @kim")
ADMIN_LIST = Example("/tend admin list")
COUNTED = compose(
    "Thank you for telling me. It is counted, and that is all: nobody will contact you. "
    "If it gets heavier, type {stress} again and choose to talk to someone.",
    stress=STRESS,
)
TALK_SENT = (
    "Thank you for telling me. I've passed it to the support rota without your name. The first "
    "person to answer will write to you here, privately, within your working hours; answer with the "
    "Reply button under their message. They won't see who you are. Either of you can close the "
    "conversation at any time, which deletes the only link between you and this report (it is "
    "deleted after 30 days anyway)."
)
NO_ROTA = compose(
    "Thank you for telling me; it is counted. To be honest, nobody is on the support rota here yet, "
    "so there is no one I can pass it to. Ask an admin to add support people "
    "({add}), or type {stress} again and choose someone to reach out to you.",
    add=ADD_SUPPORT,
    stress=STRESS,
)
ROTA_INCLUDES_YOU = (
    "You are on the support rota yourself, so the request reaches you too, like everyone on it: that "
    "way nobody can tell who asked by who was left out. Someone else will answer it."
)
ONLY_YOU_ON_ROTA = compose(
    "You are the only person on the support rota, so nobody else can answer this yet. Ask an admin "
    "to add support people ({add}), or type {stress} again and choose "
    "someone to reach out to you.",
    add=ADD_SUPPORT,
    stress=STRESS,
)
ROTA_AWAY_UNTIL = (
    "Nobody else on the support rota is at work right now (they are away or outside their working "
    "hours), so the earliest anyone can see your request is {when}, your time. It stays open until then."
)
ROTA_AWAY = (
    "Nobody else on the support rota can see your request at the moment: everyone on it is away or has "
    "no working hours set. It stays open until someone can."
)
ADMINS_TOLD = "Tend's admins are told that the rota has no one available, never who asked or what about."
ANOTHER_ROUTE = "If you'd like to talk to someone sooner: {route}"
GENERIC_ROUTE = (
    "your manager, HR, or your employee assistance programme (EAP) if your organisation has one. "
    "If you are in danger, call your local emergency number."
)
STILL_OPEN_TITLE = "Your request to talk is still open"
STILL_OPEN = "Nobody on the support rota has answered your request yet."
ADMIN_STALL_TITLE = "The support rota has no one available"
ADMIN_STALL = (
    "An anonymous request to talk is waiting, and nobody on the support rota can see it within "
    "{hours} hours: everyone on it is away or outside their working hours. Add someone who is around "
    "({add}), or ask the people on it to check their hours and pauses."
)
ADMIN_NO_ROTA = compose(
    "Someone asked to talk anonymously, but nobody is on the support rota, so nobody could be asked. "
    "Add support people: {add}",
    add=ADD_SUPPORT,
)
ADMIN_STALL_FINE = "Tend never says who asked or what about. You get this at most once a day."
NOT_MET = compose("Please type {stress} to start a private check-in first.", stress=STRESS)
REACH_OUT_SENT = (
    "Thank you for telling me. I've asked {name} to reach out to you. They get a private message, "
    "within their working hours, with your name and nothing else: not how heavy it is, what it is "
    "about, or your words."
)

# A mistake in the form is shown under its field (the form stays open, or is asked again), so these
# say what to pick, not that nothing was saved.
BAD_INTENSITY = "Pick how heavy it feels, from 1 (a little) to 5 (too much). Example: 3."
BAD_CATEGORY = (
    "Pick what it is mostly about: workload, deadlines, conflict, personal or other. Example: workload."
)
BAD_SUPPORT = (
    "Pick what would help: just count it, talk anonymously, or ask someone to reach out. "
    "Example: just count it."
)
LONG_WORDS = (
    "Please keep your words under 2,000 characters (these have {count:,}); a few sentences are plenty. "
    "Example: Three deadlines this week and no time to think."
)
NO_PERSON = "You chose 'ask someone to reach out', so pick who. Example: @kim."
UNKNOWN_PERSON = "I couldn't find {name} here. Pick someone from the list. Example: @kim."
SELF_PERSON = "Pick someone other than yourself to reach out, or choose 'talk anonymously'. Example: @kim."
BOT_PERSON = "@{name} is a bot and can't reach out. Pick a person. Example: @kim."

ASK_TITLE = "Someone asked to talk, anonymously"
ASK_TEXT = "Intensity {intensity}/5, about {category}."
ASK_WORDS = "In their words: {words}"
ASK_FINE = (
    "You won't see who they are, and they won't see who you are. The first person on the rota to "
    "reply takes the conversation."
)
REMINDER_TITLE = "Still waiting for a reply"
REMINDER_TEXT = (
    "An anonymous request to talk (intensity {intensity}/5, about {category}) has had no reply for "
    "{hours} hours. If you can, answer it now."
)
REPLY_ANON = "Reply anonymously"
REACH_TITLE = "Could you reach out?"
REACH_TEXT = "{name} is having a hard time and asked if you could reach out to them."
REACH_FINE = "Only you got this. A short, kind message is enough. Tap the button once you have."
REACH_REMINDER = (
    "A gentle reminder: two days ago someone asked if you could reach out to them (see my earlier "
    "message). If you already did, tap the button."
)
REACHED_BUTTON = "I reached out"
REACHED_DONE = "Thank you for reaching out. The request is closed and its link to them is deleted."

MESSAGE_TITLE = "Reply"
MESSAGE_LABEL = "Your message"
MESSAGE_HINT = "Passed on privately and not stored by Tend. Your name is not shown."
TO_AUTHOR_TITLE = "A support person replied"
TO_AUTHOR_FINE = (
    "They can't see who you are. Reply below, or close the conversation when you're done: that "
    "deletes the link between you and your report."
)
TO_SUPPORTER_TITLE = "They replied"
TO_SUPPORTER_FINE = "You can't see who they are, and they can't see who you are."
SENT_TO_AUTHOR = (
    "Sent, without your name. They'll get it privately within their working hours; their answer "
    "comes back to you here."
)
SENT_TO_SUPPORTER = (
    "Sent, without your name. It reaches only the person who answered you, within their working hours."
)
EMPTY_MESSAGE = "Write a few words before sending. Example: Thanks for writing, could we talk tomorrow?"
LONG_MESSAGE = "Please keep it under 2,000 characters (this one has {count:,}). Nothing was sent."
CLOSE_BUTTON = "Close conversation"
CLOSED_BY_YOU_AUTHOR = (
    "Closed. The link between you and your report is deleted; the report stays counted, anonymously."
)
CLOSED_BY_YOU_SUPPORTER = "Closed. The link to the person you were supporting is deleted. Thank you."
CLOSED_FOR_AUTHOR = compose(
    "The support person closed the conversation, and the link between you and your report is "
    "deleted. If you want to talk again, type {stress}.",
    stress=STRESS,
)
CLOSED_FOR_SUPPORTER = (
    "They closed the conversation, and the link to them is deleted. Thank you for being there."
)
CLOSED_TITLE = "Conversation closed"

GONE = compose(
    "This conversation is closed (or older than 30 days), so I can't pass anything on. "
    "If you need to, start again with {stress}.",
    stress=STRESS,
)
TAKEN = "Someone else on the support rota has already answered this request. Thank you for offering."
NOT_ROTA = compose(
    "Only people on the support rota can answer anonymous requests. Type {list} to see who is on it.",
    list=Example("/tend support list"),
)
NOT_YOURS = "Only the two people in this conversation can do that."
WAITING = "Nobody has answered yet. I'll pass on the first reply as soon as someone writes."
UNKNOWN_BUTTON = compose("That button is no longer in use. Type {stress} to start again.", stress=STRESS)

ONLY_ADMINS = compose(
    "Only a Tend admin can change the support rota. Type {list} to see who the admins are.", list=ADMIN_LIST
)
ROTA_LIST = "Support rota: {names}. They answer anonymous requests to talk without seeing who asked."
ROTA_EMPTY = compose("Nobody is on the support rota yet. An admin can add people: {add}", add=ADD_SUPPORT)
ROTA_ADDED = "{names} now on the support rota: they'll get anonymous requests to talk, never who asked."
ROTA_REMOVED = "{names} no longer on the support rota."
ROTA_BOT = "{names} is a bot and can't be on the support rota. Example: {example}"
ROTA_WELCOME_TITLE = "You're on the support rota"
ROTA_WELCOME = (
    "When someone asks to talk anonymously, you'll get a private message saying how heavy it feels "
    "and what it is about. Tap 'Reply anonymously' to answer: they won't see your name, and you won't "
    "see theirs. The first person to answer takes the conversation."
)


# --- rules: pure, called by tests with no database ----------------------------------------------------


# rules: cards and forms


def report_form() -> Form:
    return Form(
        form_id=REPORT_FORM,
        title=FORM_TITLE,
        fields=(
            FormField(
                "intensity",
                "How heavy does it feel?",
                kind="choice",
                choices=tuple(
                    Choice(f"{level} · {label}", str(level)) for level, label in enumerate(INTENSITIES, 1)
                ),
            ),
            FormField(
                "category",
                "What is it mostly about?",
                kind="choice",
                choices=tuple(Choice(value.capitalize(), value) for value in CATEGORIES),
            ),
            FormField(
                "words",
                "Anything you want to say?",
                kind="long_text",
                required=False,
                max_length=MAX_WORDS,
                hint=FORM_HINT_WORDS,
            ),
            FormField(
                "support",
                "What would help?",
                kind="choice",
                choices=tuple(Choice(label, value) for value, label in SUPPORT_CHOICES.items()),
            ),
            FormField(
                "person",
                "Who should reach out to you?",
                kind="person",
                required=False,
                hint=FORM_HINT_PERSON,
                only_if=("support", "reach_out"),
                reveal=FORM_REVEAL_PERSON,
            ),
        ),
        submit_label="Send",
    )


def message_form(token: str, title: str = MESSAGE_TITLE) -> Form:
    return Form(
        form_id=MESSAGE_FORM,
        title=title,
        fields=(
            FormField("message", MESSAGE_LABEL, kind="long_text", max_length=MAX_MESSAGE, hint=MESSAGE_HINT),
        ),
        submit_label="Send",
        state=token,
    )


def _about(report: StressReport) -> dict[str, object]:
    return {"intensity": report.intensity, "category": CATEGORIES.get(report.category, report.category)}


def ask_card(report: StressReport, token: str) -> Card:
    """What each person on the rota sees: how heavy, what about, their words; never who."""
    blocks: list[Text | Fine | Buttons] = [Text(ASK_TEXT.format(**_about(report)))]
    if report.text:  # shown as typed: never a link, a ping or markup (the rota cannot ask who wrote it)
        blocks.append(Text(compose(ASK_WORDS, words=Said(report.text))))
    blocks += [Fine(ASK_FINE), Buttons((Button(REPLY_ANON, REPLY, token, style="primary"),))]
    return Card(title=ASK_TITLE, blocks=tuple(blocks))


def reminder_card(report: StressReport, token: str, window: timedelta) -> Card:
    hours = int(window.total_seconds() // 3600)
    return Card(
        title=REMINDER_TITLE,
        blocks=(
            Text(REMINDER_TEXT.format(hours=hours, **_about(report))),
            Buttons((Button(REPLY_ANON, REPLY, token, style="primary"),)),
        ),
    )


def reach_card(reporter: Member, token: str) -> Card:
    return Card(
        title=REACH_TITLE,
        blocks=(
            Text(compose(REACH_TEXT, name=mention(reporter))),
            Fine(REACH_FINE),
            Buttons((Button(REACHED_BUTTON, REACHED, token, style="primary"),)),
        ),
    )


def reach_reminder_card(token: str) -> Card:
    return Card(
        title=REACH_TITLE,
        blocks=(Text(REACH_REMINDER), Buttons((Button(REACHED_BUTTON, REACHED, token, style="primary"),))),
    )


def relayed_card(title: str, message: str, fine: str, token: str) -> Card:
    """One message across the relay, shown as its writer typed it."""
    return Card(
        title=title,
        blocks=(
            Text((Said(message),)),
            Fine(fine),
            Buttons((Button("Reply", REPLY, token, style="primary"), Button(CLOSE_BUTTON, CLOSE, token))),
        ),
    )


def _answer(*texts: Wording) -> Outcome:
    return Outcome((Reply(Card(title="", blocks=tuple(Text(text) for text in texts))),))


def _try_again(text: Wording) -> Outcome:
    """A mistake in the form: say what to fix and offer the form again (it closed on submit)."""
    return Outcome((Reply(Card(title="", blocks=(Text(text), Buttons((Button(AGAIN, START),))))),))


def _people(members: list[Member]) -> Rich:
    return joined([mention(member) for member in members])


def _names(members: list[Member]) -> Rich:
    return (*_people(members), " is" if len(members) == 1 else " are")


def _reply(*texts: Wording) -> Reply:
    return Reply(Card(title="", blocks=tuple(Text(text) for text in texts)))


def _local(moment: datetime, zone: str) -> str:
    return local_time.day_and_time(moment, zone)


def another_route(fallback: str) -> Rich:
    """Somewhere else to turn: the configured route (TEND_SUPPORT_FALLBACK), shown as the operator
    wrote it, else the generic words."""
    return compose(ANOTHER_ROUTE, route=Said(fallback) if fallback else GENERIC_ROUTE)


# rules: the report


@dataclass(frozen=True)
class Answers:
    """The check-in's answers once every field is valid (the person, if any, is picked separately)."""

    intensity: int
    category: str
    words: str
    support: str


FieldProblems = list[tuple[str, Wording]]


def read_answers(values: dict[str, str]) -> Answers | FieldProblems:
    """The form's answers, or every field that is wrong (each named, so the form can show them all)."""
    errors: FieldProblems = []
    intensity_text = values.get("intensity", "").strip()
    if intensity_text not in {str(level) for level in range(1, 6)}:
        errors.append(("intensity", BAD_INTENSITY))
    category = values.get("category", "").strip().lower()
    if category not in CATEGORIES:
        errors.append(("category", BAD_CATEGORY))
    words = values.get("words", "").strip()
    if len(words) > MAX_WORDS:
        errors.append(("words", LONG_WORDS.format(count=len(words))))
    support = values.get("support", "").strip().lower()
    if support not in SUPPORT_CHOICES:
        errors.append(("support", BAD_SUPPORT))
    if errors:
        return errors
    return Answers(int(intensity_text), category, words, support)


def wants_person(values: dict[str, str]) -> bool:
    return values.get("support", "").strip().lower() == "reach_out"


def pick_person(typed: str, found: Member | None, actor_id: int | None) -> Member | Wording:
    """The person picked to reach out (``found``: who ``typed`` names, if anyone), or what is wrong."""
    typed = typed.strip()
    if not typed:
        return NO_PERSON
    if found is None:
        return compose(UNKNOWN_PERSON, name=Said(typed if typed.startswith("@") else f"@{typed}"))
    if found.id == actor_id:
        return SELF_PERSON
    if found.is_bot:
        return BOT_PERSON.format(name=found.display_name)
    return found


def form_problems(problems: FieldProblems) -> Outcome:
    """Each bad field named under it; the form stays open (or is asked again) with the answers kept."""
    return Outcome((FieldErrors(tuple((name, plain(text)) for name, text in problems), report_form()),))


def reported_team(team_id: int | None, size: int, minimum: int) -> int | None:
    """The reporter's team is kept only when it has enough people that a report cannot point at anyone."""
    return team_id if team_id is not None and size >= minimum else None


def report_row(answers: Answers, organization_id: int, team_id: int | None, now: datetime) -> StressReport:
    """The stored report: no member id, no platform id, no time finer than the ISO week."""
    return StressReport(
        organization_id=organization_id,
        team_id=team_id,
        intensity=answers.intensity,
        category=answers.category,
        text=answers.words or None,
        week=signals.iso_week(now),
        support=answers.support,
        support_state="none" if answers.support == "count" else "requested",
    )


def promise_for(team_id: int | None) -> str:
    return PROMISE.format(team=PROMISE_TEAM if team_id is not None else "")


def _due_hour(moment: datetime) -> datetime:
    """The next whole hour: when a request falls due says nothing finer about when it was made."""
    hour = moment.replace(minute=0, second=0, microsecond=0)
    return hour if hour == moment else hour + timedelta(hours=1)


def _expiry_day(moment: datetime) -> datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return day if day == moment else day + timedelta(days=1)


def relay_row(
    token: str,
    report: StressReport,
    kind: str,
    now: datetime,
    window: timedelta,
    author_seal: str | None = None,
    supporter_seal: str | None = None,
) -> StressRelay:
    """A relay's only times are the hour its request falls due and the day it expires."""
    assert report.id is not None
    return StressRelay(
        token=token,
        report_id=report.id,
        kind=kind,
        support_due_at=_due_hour(now + window),
        expires_at=_expiry_day(now + RELAY_LIFETIME),
        author_seal=author_seal,
        supporter_seal=supporter_seal,
    )


def no_rota_answer(told: list[Intent], fallback: str, promise: str) -> Outcome:
    """Nobody is on the rota: the admins' notes, and the person is told so, with another route."""
    return Outcome((*told, _reply(NO_ROTA, another_route(fallback), promise)))


def rota_request(
    report: StressReport,
    token: str,
    rota: list[Member],
    asker: Member,
    now: datetime,
    window: timedelta,
    fallback: str,
    promise: str,
) -> Outcome:
    """The request to everyone on the rota, ``asker`` included when on it (whoever is left out would
    be the author), and what the asker is told: when it can first be seen if nobody else is at work
    now, whether the admins hear, and another route."""
    others = [member for member in rota if member.id != asker.id]
    card = ask_card(report, token)
    intents: list[Intent] = [DirectMessage(member.id or 0, card) for member in rota]
    said: list[Wording] = [TALK_SENT] if others else [ONLY_YOU_ON_ROTA]
    if others and len(others) < len(rota):
        said.append(ROTA_INCLUDES_YOU)
    seen_at = first_seen(others, now)
    if not others:
        said.append(another_route(fallback))
    elif seen_at is None or seen_at > now:
        zone = hours_of(asker).time_zone
        when = When(seen_at, _local(seen_at, zone)) if seen_at is not None else None
        said.append(compose(ROTA_AWAY_UNTIL, when=when) if when is not None else ROTA_AWAY)
        if stalled(rota, now, window):
            said.append(ADMINS_TOLD)
        said.append(another_route(fallback))
    intents.append(_reply(*said, promise))
    return Outcome(tuple(intents))


def reach_out_request(asker: Member, chosen: Member, token: str, promise: str) -> Outcome:
    """Only the chosen person hears, sealed while it waits, with the asker's name and nothing else."""
    assert chosen.id is not None
    return Outcome(
        (
            DirectMessage(chosen.id, reach_card(asker, token), sealed=True),
            Reply(
                Card(title="", blocks=(Text(compose(REACH_OUT_SENT, name=mention(chosen))), Text(promise)))
            ),
        )
    )


def can_see_from(member: Member, now: datetime) -> datetime | None:
    """When a request sent now reaches this person: their next working moment (Tend holds it till
    then); None when it never would (no working days, blocked Tend, time zone never learned)."""
    if member.unreachable or member.deactivated or not zone_known(member):
        return None
    return next_send_time(hours_of(member), now)


def first_seen(rota: list[Member], now: datetime) -> datetime | None:
    """The earliest moment anyone on ``rota`` can see a request sent now; None if nobody ever can."""
    return min((at for member in rota if (at := can_see_from(member, now)) is not None), default=None)


def stalled(rota: list[Member], now: datetime, window: timedelta) -> bool:
    """Nobody on the whole rota (the author included, so what admins hear never depends on who asked)
    can see a request within the reply window."""
    seen_at = first_seen(rota, now)
    return seen_at is None or seen_at > now + window


def admin_notes(admins: list[Member], workspace_id: int, now: datetime, text: Wording) -> list[Intent]:
    """One note per human admin, keyed per day (so a re-run adds none), held until the next whole hour."""
    hour = now.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    card = Card(title=ADMIN_STALL_TITLE, blocks=(Text(text), Fine(ADMIN_STALL_FINE)))
    day = now.date().isoformat()
    return [
        DirectMessage(admin.id, card, key=store.stall_key(workspace_id, day, admin.id), not_before=hour)
        for admin in admins
        if admin.id is not None and not admin.is_bot
    ]


# rules: the relay


@dataclass(frozen=True)
class Sides:
    """Who is in a "talk" conversation (unsealed), and the author's workspace, which decides who on
    a rota may pick it up (None when nobody needs to know: it is already answered)."""

    author: int
    supporter: int | None
    author_workspace: Workspace | None = None


def supporter_refusal(actor: Member, workspace: Workspace, sides: Sides) -> Outcome | None:
    """Why this person may not answer, if they may not: only the rota of the reporter's organisation
    can (every workspace linked into it: a Slack supporter answers a Teams person)."""
    if sides.supporter is not None and sides.supporter == actor.id:
        return None
    if sides.supporter is not None:
        return Outcome.reply(TAKEN)
    if actor.id is None or not actor.is_support or actor.is_bot:
        return Outcome.reply(NOT_ROTA)
    other = sides.author_workspace
    same = other is not None and other.organization_id == workspace.organization_id
    return None if same else Outcome.reply(NOT_ROTA)


def reply_form_answer(token: str, actor: Member, workspace: Workspace, sides: Sides) -> Outcome:
    """ "Reply anonymously" or "Reply": the form, or why not (the author waits for a first answer)."""
    if actor.id is not None and sides.author == actor.id:
        return (
            Outcome.reply(WAITING) if sides.supporter is None else Outcome((OpenForm(message_form(token)),))
        )
    refusal = supporter_refusal(actor, workspace, sides)
    if refusal is not None:
        return refusal
    title = REPLY_ANON if sides.supporter is None else MESSAGE_TITLE
    return Outcome((OpenForm(message_form(token, title)),))


def message_problem(message: str) -> str | None:
    """An empty or too long message is not passed on."""
    if not message:
        return EMPTY_MESSAGE
    if len(message) > MAX_MESSAGE:
        return LONG_MESSAGE.format(count=len(message))
    return None


@dataclass(frozen=True)
class Passing:
    """What passing a message on does: the outcome, and whether the sender first claims the request."""

    outcome: Outcome
    claim: bool = False


def pass_on_answer(token: str, message: str, actor: Member, workspace: Workspace, sides: Sides) -> Passing:
    """The author's message goes to the supporter (once there is one); a supporter's to the author,
    the first answer claiming the request for the one who wrote it."""
    if actor.id is not None and sides.author == actor.id:
        if sides.supporter is None:
            return Passing(Outcome.reply(WAITING))
        card = relayed_card(TO_SUPPORTER_TITLE, message, TO_SUPPORTER_FINE, token)
        return Passing(
            Outcome((DirectMessage(sides.supporter, card, sealed=True), Reply(text_card(SENT_TO_SUPPORTER))))
        )
    refusal = supporter_refusal(actor, workspace, sides)
    if refusal is not None:
        return Passing(refusal)
    card = relayed_card(TO_AUTHOR_TITLE, message, TO_AUTHOR_FINE, token)
    outcome = Outcome((DirectMessage(sides.author, card, sealed=True), Reply(text_card(SENT_TO_AUTHOR))))
    return Passing(outcome, claim=sides.supporter is None)


@dataclass(frozen=True)
class Closing:
    """What closing does: the outcome, and whether the relay is deleted first."""

    outcome: Outcome
    delete: bool = False


def close_answer(actor_id: int | None, sides: Sides) -> Closing:
    """Only the two sides may close; the other side hears it, sealed (the outbox must not show who)."""
    for_other: str | Rich
    if actor_id is not None and actor_id == sides.author:
        other, for_other, for_you = sides.supporter, CLOSED_FOR_SUPPORTER, CLOSED_BY_YOU_AUTHOR
    elif actor_id is not None and actor_id == sides.supporter:
        other, for_other, for_you = sides.author, CLOSED_FOR_AUTHOR, CLOSED_BY_YOU_SUPPORTER
    else:
        return Closing(Outcome.reply(NOT_YOURS))
    intents: list[Intent] = []
    if other is not None:
        intents.append(DirectMessage(other, text_card(for_other, CLOSED_TITLE), sealed=True))
    intents.append(Reply(text_card(for_you)))
    return Closing(Outcome(tuple(intents)), delete=True)


def reached_answer(
    kind: str | None, chosen: int | None, actor_id: int | None, message_ref: str | None, place_id: str | None
) -> Closing:
    """Only the chosen person's tap closes a reach-out (counted as answered); a second tap, once it is
    gone, just thanks them again. ``kind`` None: the relay is gone."""
    if kind != "reach_out":
        return Closing(Outcome.reply(REACHED_DONE if kind is None else UNKNOWN_BUTTON))
    if actor_id is None or chosen != actor_id:
        return Closing(Outcome.reply(NOT_YOURS))
    intents: list[Intent] = []
    if message_ref and place_id:
        intents.append(UpdateCard(message_ref, place_id, text_card(REACHED_DONE, REACH_TITLE)))
    intents.append(Reply(text_card(REACHED_DONE)))
    return Closing(Outcome(tuple(intents)), delete=True)


# rules: the sweep


def still_open_card(asker: Member, others: list[Member], now: datetime, fallback: str) -> Card | None:
    """For the person who asked, when their request falls due unanswered and nobody else on the rota
    is at work: when it can first be seen, and another route. None while someone can see it now
    (the rota is reminded; the person who asked is not pressed)."""
    seen_at = first_seen(others, now)
    if seen_at is not None and seen_at <= now:
        return None
    if seen_at is None:
        when: Wording = ROTA_AWAY
    else:
        when = compose(ROTA_AWAY_UNTIL, when=When(seen_at, _local(seen_at, hours_of(asker).time_zone)))
    blocks = (Text(STILL_OPEN), Text(when), Text(another_route(fallback)))
    return Card(title=STILL_OPEN_TITLE, blocks=blocks)


def talk_reminders(
    report: StressReport,
    token: str,
    rota: list[Member],
    asker: Member | None,
    now: datetime,
    window: timedelta,
    fallback: str,
) -> list[Intent]:
    """An unanswered request to talk, once due: the whole rota is reminded, and the person who asked
    hears (sealed) only when nobody else on it can see it now."""
    card = reminder_card(report, token, window)
    intents: list[Intent] = [DirectMessage(member.id or 0, card) for member in rota]
    if asker is None or asker.id is None:
        return intents
    others = [member for member in rota if member.id != asker.id]
    note = still_open_card(asker, others, now, fallback)
    if note is not None:  # sealed: the outbox must not show who asked
        intents.append(DirectMessage(asker.id, note, sealed=True))
    return intents


# rules: the support rota


def rota_list(rota: list[Member]) -> Outcome:
    """Anyone may see who is on the rota (they are who answers), and how an admin adds people."""
    if not rota:
        return Outcome.reply(ROTA_EMPTY)
    return Outcome.reply(compose(ROTA_LIST, names=joined([mention(m) for m in rota], ", ", ", ")))


@dataclass(frozen=True)
class RotaChange:
    """What an admin's change to the rota does: the outcome, and whose ``is_support`` flips."""

    outcome: Outcome
    members: tuple[Member, ...] = ()


def rota_change(is_admin: bool, members: list[Member], add: bool) -> RotaChange:
    """Admins only; no bots; each person new to the rota is told privately what being on it means."""
    if not is_admin:
        return RotaChange(Outcome.reply(ONLY_ADMINS))
    if not add:
        leaving = tuple(member for member in members if member.is_support)
        return RotaChange(Outcome.reply(compose(ROTA_REMOVED, names=_names(members))), leaving)
    bots = [member for member in members if member.is_bot]
    if bots:
        names = joined([mention(m) for m in bots], ", ", ", ")
        return RotaChange(Outcome.reply(compose(ROTA_BOT, names=names, example=ADD_SUPPORT)))
    joining = tuple(member for member in members if not member.is_support and member.id is not None)
    intents: list[Intent] = [
        DirectMessage(member.id, text_card(ROTA_WELCOME, ROTA_WELCOME_TITLE))
        for member in joining
        if member.id is not None
    ]
    intents.append(Reply(text_card(compose(ROTA_ADDED, names=_names(members)))))
    return RotaChange(Outcome(tuple(intents)), joining)


# rules: data rights


@dataclass(frozen=True)
class SideOfRelay:
    """One open support conversation a person is in, and on which side (for export and forget-me)."""

    relay: StressRelay
    role: str  # "author" or "supporter"


def sides_of(relays: list[StressRelay], member_id: int, key: bytes) -> list[SideOfRelay]:
    """Open conversations where the member is a side; only the server secret (``key``) can tell which."""
    found: list[SideOfRelay] = []
    for relay in relays:
        if sealing.unseal_id(key, AUTHOR, relay.author_seal) == member_id:
            found.append(SideOfRelay(relay, "author"))
        elif sealing.unseal_id(key, SUPPORTER, relay.supporter_seal) == member_id:
            found.append(SideOfRelay(relay, "supporter"))
    return found


def ends(side: SideOfRelay) -> bool:
    """Forget-me ends conversations the member started and reach-outs only they could act on; one
    they were answering stays open for its author (False), for another person on the rota to pick up."""
    return side.role == "author" or side.relay.kind == "reach_out"


# --- storage shells: load, call the rules, write ------------------------------------------------------


# the report


async def start(ctx: PracticeContext) -> Outcome:
    """``/tend stress`` and the opener's "I could use support" button: the private form."""
    return Outcome((OpenForm(report_form()),))


async def submit_report(ctx: PracticeContext, values: dict[str, str]) -> Outcome:
    """Checks everything first, so a mistake stores nothing: each bad field is named (the form stays
    open, or is asked again, with the other answers kept); then stores the report without its author."""
    answers = read_answers(values)
    problems: FieldProblems = [] if isinstance(answers, Answers) else answers
    chosen: Member | None = None
    if wants_person(values):
        picked = pick_person(
            values.get("person", ""), await _find_person(ctx, values.get("person", "")), ctx.actor.id
        )
        if isinstance(picked, Member):
            chosen = picked
        else:
            problems.append(("person", picked))
    if problems or not isinstance(answers, Answers):
        return form_problems(problems)
    if answers.support != "count" and ctx.actor.id is None:  # never met: nobody Tend could write back to
        return _try_again(NOT_MET)

    team_id = await _team_if_large_enough(ctx)
    report = await store.add_report(
        ctx.session, report_row(answers, ctx.workspace.organization_id, team_id, ctx.now)
    )
    await record_for_report(ctx.session, report, "stress_reported", value=float(report.intensity))
    said = promise_for(team_id)
    if answers.support == "count":
        return _answer(COUNTED, said)
    await record_for_report(ctx.session, report, "stress_support_requested")
    if chosen is not None:
        return await _ask_to_reach_out(ctx, report, chosen, said)
    return await _ask_the_rota(ctx, report, said)


async def _find_person(ctx: PracticeContext, typed: str) -> Member | None:
    """Who ``typed`` names here: by platform id, or by a unique name (like shout-outs)."""
    typed = typed.strip()
    if not typed:
        return None
    member = await find_member(ctx.session, ctx.workspace_id, typed)
    if member is None:
        matches = await find_members_by_name(ctx.session, ctx.workspace_id, typed)
        member = matches[0] if len(matches) == 1 else None
    return member


async def _team_if_large_enough(ctx: PracticeContext) -> int | None:
    """The reporter's team, only when it has enough people that a report cannot point at anyone."""
    if ctx.actor.id is None:
        return None
    found = await store.first_team_and_size(ctx.session, ctx.actor.id)  # one statement, not two
    return reported_team(found[0], found[1], ctx.min_group_size) if found is not None else None


def _new_relay(
    ctx: PracticeContext,
    report: StressReport,
    kind: str,
    author_seal: str | None = None,
    supporter_seal: str | None = None,
) -> StressRelay:
    token = secrets.token_urlsafe(24)
    return relay_row(token, report, kind, ctx.now, ctx.support_window, author_seal, supporter_seal)


async def _ask_the_rota(ctx: PracticeContext, report: StressReport, promise: str) -> Outcome:
    """The whole rota is asked, the author too when on it: whoever is left out would be the author.

    When nobody else on it is at work now, the author is told when the request can first be seen and
    offered another route; the admins hear (from the sweep, or here when the rota is empty) that the
    rota has no one available, never who asked."""
    rota = await store.support_members(ctx.session, ctx.workspace_id)
    assert report.id is not None
    if not rota:
        await store.set_report_state(ctx.session, report.id, "unsupported", only_from=("requested",))
        await record_for_report(ctx.session, report, "stress_unsupported")
        told = await tell_admins(ctx.session, ctx.workspace_id, ctx.now, ADMIN_NO_ROTA)
        return no_rota_answer(told, fallback_route(ctx), promise)
    relay = _new_relay(ctx, report, "talk", author_seal=sealing.seal_id(ctx.secret_key, AUTHOR, ctx.actor_id))
    await store.add_relay(ctx.session, relay)
    return rota_request(
        report, relay.token, rota, ctx.actor, ctx.now, ctx.support_window, fallback_route(ctx), promise
    )


async def tell_admins(session: Session, workspace_id: int, now: datetime, text: Wording) -> list[Intent]:
    """The admins' note that the rota has no one available, at most once a day per workspace, within
    each admin's working hours and never before the next whole hour (so its time says no more about
    a request than the hour). Nothing in it says who asked or what about."""
    if await store.admins_told_since(session, workspace_id, now - timedelta(days=1)):
        return []
    return admin_notes(await members_with_role(session, workspace_id, "admin"), workspace_id, now, text)


async def _ask_to_reach_out(
    ctx: PracticeContext, report: StressReport, chosen: Member, promise: str
) -> Outcome:
    """The chosen person's message is the only place the report meets a name, and it is sealed
    while it waits (it is written in the same transaction as the report); the relay has no author."""
    assert chosen.id is not None
    relay = _new_relay(
        ctx, report, "reach_out", supporter_seal=sealing.seal_id(ctx.secret_key, SUPPORTER, chosen.id)
    )
    await store.add_relay(ctx.session, relay)
    return reach_out_request(ctx.actor, chosen, relay.token, promise)


async def record_for_report(
    session: Session, report: StressReport, kind: signals.SignalKind, *, value: float = 0.0
) -> None:
    """Counts against the report's own week and team, so support rates line up with the reports."""
    await signal_store.bump(
        session, report.organization_id, report.team_id or signals.NO_TEAM, report.week, kind, value=value
    )


# the relay


def _author(ctx: PracticeContext, relay: StressRelay) -> int | None:
    return sealing.unseal_id(ctx.secret_key, AUTHOR, relay.author_seal)


def _supporter(ctx: PracticeContext, relay: StressRelay) -> int | None:
    return sealing.unseal_id(ctx.secret_key, SUPPORTER, relay.supporter_seal)


async def _live_talk(ctx: PracticeContext, token: str) -> tuple[StressRelay, int] | None:
    """The open "talk" conversation behind a button, with its author; None when it is gone."""
    relay = await store.get_relay(ctx.session, token)
    if relay is None or relay.kind != "talk":
        return None
    author = _author(ctx, relay)
    return (relay, author) if author is not None else None


async def _sides(ctx: PracticeContext, author: int, relay: StressRelay) -> Sides:
    """The author's workspace is loaded only while the request waits for a first answer from someone
    on a rota (the one case the rules ask)."""
    supporter = _supporter(ctx, relay)
    asks = supporter is None and author != ctx.actor.id and ctx.actor.is_support
    return Sides(author, supporter, await store.workspace_of_member(ctx.session, author) if asks else None)


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    if action == START:
        return await start(ctx)
    if action == REPLY:
        return await open_reply(ctx, value)
    if action == CLOSE:
        return await close(ctx, value)
    if action == REACHED:
        return await reached(ctx, value, message_ref)
    return Outcome.reply(UNKNOWN_BUTTON)


async def on_form(ctx: PracticeContext, form_id: str, values: dict[str, str], state: str) -> Outcome:
    if form_id == REPORT_FORM:
        return await submit_report(ctx, values)
    if form_id == MESSAGE_FORM:
        return await pass_on(ctx, state, values.get("message", ""))
    return Outcome.reply(UNKNOWN_BUTTON)


async def open_reply(ctx: PracticeContext, token: str) -> Outcome:
    """ "Reply anonymously" (rota) or "Reply" (either side of a conversation): the message form."""
    found = await _live_talk(ctx, token)
    if found is None:
        return Outcome.reply(GONE)
    relay, author = found
    sides = await _sides(ctx, author, relay)
    return reply_form_answer(token, ctx.actor, ctx.workspace, sides)


async def pass_on(ctx: PracticeContext, token: str, message: str) -> Outcome:
    """One message across the relay, sealed while it waits; the text is not stored by this practice."""
    message = message.strip()
    problem = message_problem(message)
    if problem is not None:
        return Outcome.reply(problem)
    found = await _live_talk(ctx, token)
    if found is None:
        return Outcome.reply(GONE)
    relay, author = found
    sides = await _sides(ctx, author, relay)
    passing = pass_on_answer(token, message, ctx.actor, ctx.workspace, sides)
    if passing.claim:
        sealed = sealing.seal_id(ctx.secret_key, SUPPORTER, ctx.actor_id)
        if not await store.claim_relay(ctx.session, token, sealed):
            return Outcome.reply(TAKEN)
        await _mark_answered(ctx, relay.report_id)
    return passing.outcome


async def _mark_answered(ctx: PracticeContext, report_id: int) -> None:
    """First answer: the report counts as supported (even when it came after the reminder)."""
    session = ctx.session
    if await store.set_report_state(session, report_id, "answered", only_from=("requested", "unsupported")):
        report = await store.get_report(session, report_id)
        if report is not None:
            await record_for_report(session, report, "stress_supported")


async def close(ctx: PracticeContext, token: str) -> Outcome:
    """Either side ends the conversation: the relay row (the only routing to the author) is deleted."""
    found = await _live_talk(ctx, token)
    if found is None:
        return Outcome.reply(GONE)
    relay, author = found
    closing = close_answer(ctx.actor.id, Sides(author, _supporter(ctx, relay)))
    if closing.delete and not await store.delete_relay(ctx.session, token):
        return Outcome.reply(GONE)
    return closing.outcome


async def reached(ctx: PracticeContext, token: str, message_ref: str | None) -> Outcome:
    """The chosen person reached out: the request is answered and its link deleted."""
    relay = await store.get_relay(ctx.session, token)
    chosen = _supporter(ctx, relay) if relay is not None else None
    closing = reached_answer(relay.kind if relay else None, chosen, ctx.actor.id, message_ref, ctx.place_id)
    if closing.delete and relay is not None:
        await _mark_answered(ctx, relay.report_id)
        await store.delete_relay(ctx.session, token)
    return closing.outcome


# the sweep


async def stall_sweep(ctx: SweepContext) -> list[SweepResult]:
    """Admins hear when a request to talk waits and nobody on the rota can see it within the reply
    window (everyone away or out of hours), once a day per workspace at most."""
    results: list[SweepResult] = []
    checked: set[int] = set()
    for relay in await store.waiting_talks(ctx.session):
        author = sealing.unseal_id(ctx.secret_key, AUTHOR, relay.author_seal)
        workspace = await store.workspace_of_member(ctx.session, author)
        if workspace is None or workspace.id is None or workspace.id in checked or not workspace.active:
            continue
        checked.add(workspace.id)
        rota = await store.support_members(ctx.session, workspace.id)
        if not stalled(rota, ctx.now, ctx.support_window):
            continue
        hours = int(ctx.support_window.total_seconds() // 3600)
        told = await tell_admins(
            ctx.session, workspace.id, ctx.now, compose(ADMIN_STALL, hours=hours, add=ADD_SUPPORT)
        )
        if told:
            scope = f"{store.STALL_KEY}:{workspace.id}"
            results.append(SweepResult(workspace, Outcome(tuple(told)), scope, anonymous=True))
    return results


async def sweep(ctx: SweepContext) -> list[SweepResult]:
    """Flags requests nobody answered in time (once each, with one reminder) and drops old relays."""
    results: list[SweepResult] = []
    for relay, report in await store.overdue_relays(ctx.session, ctx.now):
        assert report.id is not None
        # The state change is the marker: only the replica (and the tick) that makes it reminds.
        if not await store.set_report_state(ctx.session, report.id, "unsupported", only_from=("requested",)):
            continue
        await record_for_report(ctx.session, report, "stress_unsupported")
        scope = f"stress-reminder:{relay.token}"
        if relay.kind == "talk":
            author = sealing.unseal_id(ctx.secret_key, AUTHOR, relay.author_seal)
            workspace = await store.workspace_of_member(ctx.session, author)
            rota = await store.support_members(ctx.session, workspace.id or 0) if workspace else []
            asker = await get_member(ctx.session, author) if author is not None else None
            fallback = (workspace.support_fallback if workspace else None) or ctx.support_fallback
            intents = talk_reminders(report, relay.token, rota, asker, ctx.now, ctx.support_window, fallback)
        else:  # a reach-out: only the chosen person can act, and the reminder names nobody
            chosen = sealing.unseal_id(ctx.secret_key, SUPPORTER, relay.supporter_seal)
            workspace = await store.workspace_of_member(ctx.session, chosen)
            intents = [DirectMessage(chosen, reach_reminder_card(relay.token))] if chosen else []
        if workspace is not None and intents:
            results.append(SweepResult(workspace, Outcome(tuple(intents)), scope))
    await store.delete_expired_relays(ctx.session, ctx.now)
    return results


# the support rota


async def list_support(ctx: PracticeContext) -> Outcome:
    return rota_list(await store.support_members(ctx.session, ctx.workspace_id))


async def add_support(ctx: PracticeContext, members: list[Member]) -> Outcome:
    """Admins only; each new person is told privately what being on the rota means."""
    change = rota_change(ctx.is_admin, members, True)
    await store.set_support(ctx.session, change.members, True)
    return change.outcome


async def remove_support(ctx: PracticeContext, members: list[Member]) -> Outcome:
    change = rota_change(ctx.is_admin, members, False)
    await store.set_support(ctx.session, change.members, False)
    return change.outcome


# Handling these writes nothing about the person who acted (see ``bot.dispatch.is_anonymous``).
ANONYMOUS = frozenset({REPORT_FORM, MESSAGE_FORM, REPLY, CLOSE, REACHED})


# data rights


async def relays_of(ctx: PracticeContext, member_id: int) -> list[SideOfRelay]:
    return sides_of(await store.all_relays(ctx.session), member_id, ctx.secret_key)


async def end_relays_of(ctx: PracticeContext, member_id: int) -> int:
    """Forget-me: see ``ends``."""
    ended = 0
    for side in await relays_of(ctx, member_id):
        if ends(side):
            ended += await store.delete_relay(ctx.session, side.relay.token)
        else:
            ended += await store.release_supporter(ctx.session, side.relay.token)
    return ended


# --- the words: /tend stress and /tend support, their parsers and help ---------------------------------

SUPPORT_EXAMPLE = "/tend support add @kim"


@dataclass(frozen=True)
class Stress:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await start(ctx)


@dataclass(frozen=True)
class SupportList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_support(ctx)


@dataclass(frozen=True)
class SupportAdd:
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await add_support(ctx, await resolve_people(ctx, self.members))


@dataclass(frozen=True)
class SupportRemove:
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove_support(ctx, await resolve_people(ctx, self.members))


parse_support = group(
    "support",
    {
        "list": only(SupportList, "support list"),
        "add": people_cmd(SupportAdd, "add as a support contact", SUPPORT_EXAMPLE),
        "remove": people_cmd(SupportRemove, "remove as a support contact", SUPPORT_EXAMPLE),
        "fallback": parse_fallback,
    },
    SUPPORT_EXAMPLE,
)

TOPIC = Topic(
    "stress",
    "a private, anonymous check-in when things feel heavy",
    "Tell Tend how heavy things feel; nobody, admins included, can see who said it. You may ask to "
    "talk with a support person without giving your name. Admins choose who answers.",
    (
        Usage("/tend stress", "", "open the private check-in", "/tend stress", PERSONAL),
        Usage("/tend support list", "", "who answers anonymous requests", "/tend support list"),
        Usage("/tend support add", "@person ...", "add support people (admins)", SUPPORT_EXAMPLE),
        Usage("/tend support remove", "@person ...", "remove them (admins)", "/tend support remove @kim"),
        Usage(
            "/tend support fallback",
            "<words> | off",
            "where Tend points people when the rota is away (admins set it)",
            FALLBACK_EXAMPLE,
        ),
    ),
    aliases=("support", "check-in", "checkin"),
)

# --- data rights: open support conversations (never the reports: they carry no author) -----------
PRIVACY = (
    "*Stress reports* are stored with no link to you: no name, no user id, no exact time (only the "
    "week), and your team only if it has at least {size} people. If you ask for anonymous support, a "
    "temporary link, locked with a key that is not in Tend's database, lets replies reach you; it is "
    "deleted when the conversation closes, or after 30 days at the latest. The messages in that "
    "conversation are passed on locked the same way, and not kept once delivered. If nobody on the "
    "support rota can see a request soon, admins are told the rota has no one available, never who "
    "asked or what about.",
)
RELAYS_HEADING = "*Anonymous support conversations*"
RELAY_LINE = "• A conversation is open where you are the {role}, until {until} UTC at the latest."
RELAY_NOTE = "The messages themselves are not stored: Tend passes them on and keeps nothing."
FORGET_ASK = "open support conversations with you ended: {count}"
FORGET_DONE = "support conversations: {count}"


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    sides = await relays_of(ctx, ctx.actor_id)
    lines = [
        RELAY_LINE.format(role=side.role, until=data_rights.utc(side.relay.expires_at)) for side in sides
    ]
    data = [{"you_are": side.role, "open_until": data_rights.iso(side.relay.expires_at)} for side in sides]
    shown = (*lines, RELAY_NOTE) if lines else ()
    return (ExportSection(RELAYS_HEADING, "open_support_conversations", data, lines=shown),)


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    if not erase:
        count = len(await relays_of(ctx, ctx.actor_id))
        return Forgetting(erased=(FORGET_ASK.format(count=count),))
    return Forgetting(erased=(FORGET_DONE.format(count=await end_relays_of(ctx, ctx.actor_id)),))


PRACTICE = Practice(
    name="stress_reports",
    order=40,
    commands={"stress": only(Stress, "stress"), "support": parse_support},
    topics=(TOPIC,),
    actions={"stress": on_action},
    forms={"stress": on_form},
    anonymous=ANONYMOUS,
    sweeps=(sweep, stall_sweep),
    signals=("stress_reported", "stress_support_requested", "stress_supported", "stress_unsupported"),
    privacy=PRIVACY,
    export=export_mine,
    forget=forget_mine,
)
