"""A person's rights over their data: a copy (``/tend export-my-data``) or erasure (``/tend forget-me``).

Each practice declares its own part (``Practice.export``, ``Practice.forget`` in practices/practice.py,
next to the code that stores the data); this module is only the flow around them: the export card
and its JSON copy, the question before forgetting, the last-admin rule, and what belongs to no
practice (the messages waiting for the person, their contributor digests, their profile row).

The export shows everything stored that is linked to the person, in plain words and as JSON, and
says what is not included because it was never linked to them (stress reports, check-in answers,
signals). Forgetting asks first, then in one transaction runs every practice's part (shout-outs keep
their words and lose the name, team memberships and 1:1 pairs go, rituals keep running uncredited...),
drops the messages waiting for the person and deletes the member row. A later message from the same
person is simply a first contact. The last admin of a workspace cannot be forgotten until someone
else is admin, so the workspace is never left without one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from practices import local_time
from practices.grammar import Result, Token, UsageError, only, shown
from practices.messages import (
    Block,
    Button,
    Buttons,
    Card,
    DirectMessage,
    Example,
    Fine,
    Outcome,
    Place,
    Reply,
    Rich,
    Said,
    Text,
    compose,
    joined,
    plain,
)
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext
from practices.signals import forget_contributor
from storage import data_rights as store
from storage.identity import members_by_ids, members_with_role
from storage.models import Member

CONFIRM, CANCEL = "forget.confirm", "forget.cancel"
JSON_CHUNK = 2800  # characters per text block, under the chat platforms' per-section limits

# The order a person reads their data in, and forget-me runs in: who they are and their teams, what
# they did with others, then the admin changes that name them. A practice not named here (a new one)
# comes after these, in the registry's order; none has to be listed for its part to be included.
ORDER = (
    "preferences",
    "teams",
    "shoutouts",
    "one_on_ones",
    "rituals",
    "meeting_openers",
    "stress_reports",
    "roles",
)

# --- what people read (one place, to review and translate) ---------------------------------------
EXPORT_TITLE = "Everything Tend stores about you"
EXPORT_INTRO = (
    "Here is a copy of every record linked to you in this workspace, as of {when} UTC. "
    "Only you can see this message."
)
NONE = "none"
SOMEONE = "someone"
NO_CHANNEL = "a channel"
NOT_INCLUDED = (
    "*Not included, because it is not linked to you:* stress reports (stored with no name, no user id "
    "and no exact time), check-in answers (counted, never kept per person), and the weekly signals "
    "the index is built from (totals per team, never per person)."
)
NOT_INCLUDED_DATA = ["stress reports", "check-in answers", "signals (team totals)"]
JSON_HEADER = "*Machine-readable copy (JSON):*"
COPY_SENT = "I've also sent you a copy in our private chat, so you can keep it."
EXPORT_FINE = compose(
    "To erase all this, type {forget}. To see who can see what, type {privacy}.",
    forget=Example("/tend forget-me"),
    privacy=Example("/tend privacy"),
)

LAST_ADMIN = compose(
    "You are the only Tend admin here, and a workspace needs one. Make someone else admin first "
    "(for example {add}), then type {forget} again.",
    add=Example("/tend admin add @sam"),
    forget=Example("/tend forget-me"),
)
ASK_TITLE = "Forget me?"
ASK_TEXT = "This erases what Tend stores about you in this workspace. It cannot be undone."
ASK_WILL = "*What happens:*"
ASK_PROFILE = "your profile (name, user id, time zone, working hours, role, pause, support rota) is deleted"
ASK_WAITING = "messages waiting to be sent to you dropped: {waiting}"
ASK_KEEPS = (
    "Team totals (signals) stay: they are counts per team and week, with no names. Shout-outs already "
    "posted in channels stay in the chat history; Tend cannot delete other people's chat."
)
ASK_HOW = compose("Tap *Forget me*, or type {example}.", example=Example("/tend forget-me confirm"))
CONFIRM_LABEL, CANCEL_LABEL = "Forget me", "Keep my data"
CANCELLED = compose(
    "Nothing was deleted. You can see what Tend stores about you with {example}.",
    example=Example("/tend export-my-data"),
)
UNKNOWN_BUTTON = compose(
    "That button is no longer in use. Type {example} to start again.", example=Example("/tend forget-me")
)
FORGOTTEN_TITLE = "You are forgotten"
FORGOTTEN = "{profile}; and with it:"
FORGOTTEN_WAITING = "messages waiting for you: {waiting}"
FORGOTTEN_KEPT = "Kept without your name: {kept}."
FORGOTTEN_AGAIN = "If you use Tend again, it will start afresh with default settings, as for someone new."
PROFILE_DELETED = "Done. Your profile is deleted"
PROFILE_STRIPPED = (
    "Done. Your profile could not be deleted outright, so it was stripped of your name, user id, "
    "hours and role instead"
)


# --- rules: pure, called by tests with no database ------------------------------------------------


@dataclass(frozen=True)
class Names:
    """The people a person's records mention, as the export shows them: "@name", or "someone" for
    a person forgotten, gone, or of another workspace (never an id)."""

    names: Mapping[int, str]

    def __call__(self, member_id: int | None) -> str:
        if member_id is not None and member_id in self.names:
            return f"@{self.names[member_id]}"
        return SOMEONE


def known_names(people: Iterable[Member], workspace_id: int) -> Names:
    """Only names from the person's own workspace: someone of another workspace reads "someone"."""
    return Names(
        {
            person.id: person.display_name
            for person in people
            if person.id is not None and person.workspace_id == workspace_id
        }
    )


def iso(moment: datetime | None) -> str | None:
    """A time in the JSON copy: ISO 8601, as stored (UTC)."""
    return moment.isoformat() if moment is not None else None


def utc(moment: datetime) -> str:
    return local_time.stamp(moment)


def channel(channel_id: str | None) -> Place | str:
    return Place(channel_id) if channel_id else NO_CHANNEL


def in_order(practices: Iterable[Practice]) -> list[Practice]:
    """The practices in ``ORDER``, then any others in the order given."""
    rank = {name: index for index, name in enumerate(ORDER)}
    return sorted(practices, key=lambda practice: rank.get(practice.name, len(ORDER)))


def export_data(parts: Sequence[ExportSection], now: datetime, platform: str) -> dict[str, object]:
    """The machine-readable copy: plain JSON types, times in UTC ISO 8601."""
    data: dict[str, object] = {"exported_at": iso(now), "platform": platform}
    for part in parts:
        if part.key in data:
            raise ValueError(f"two parts of the export use the key {part.key!r}")
        data[part.key] = part.data
    data["not_included"] = list(NOT_INCLUDED_DATA)
    return data


def _chunks(text: str, size: int = JSON_CHUNK) -> list[str]:
    """Splits on line breaks into pieces no longer than ``size`` (a longer single line is cut)."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines():
        while len(line) > size:
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:size])
            line = line[size:]
        if current and len(current) + 1 + len(line) > size:
            pieces.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        pieces.append(current)
    return pieces


def _section(heading: str, lines: Sequence[Rich | str]) -> list[Block]:
    """A heading and its lines, in as few paragraphs as the platforms' per-section limits allow."""
    rows: list[Rich | str] = [heading, *(lines or [NONE])]
    blocks: list[Block] = []
    current: list[Rich | str] = []
    size = 0
    for row in rows:
        length = len(plain(row)) + 1
        if current and size + length > JSON_CHUNK:
            blocks.append(Text(joined([*current], "\n", "\n")))
            current, size = [], 0
        current.append(row)
        size += length
    blocks.append(Text(joined([*current], "\n", "\n")))
    return blocks


def export_card(
    parts: Sequence[ExportSection], now: datetime, platform: str, *, copy_sent: bool = False
) -> Card:
    intro = EXPORT_INTRO.format(when=utc(now))
    blocks: list[Block] = [Text(intro + (f" {COPY_SENT}" if copy_sent else ""))]
    for part in parts:
        blocks += [Text(part.heading), *part.blocks] if part.blocks else _section(part.heading, part.lines)
    blocks.append(Text(NOT_INCLUDED))
    blocks.append(Text(JSON_HEADER))
    copy = json.dumps(export_data(parts, now, platform), indent=2, ensure_ascii=False)
    blocks += [Text((Said(piece),)) for piece in _chunks(copy)]  # the stored words, shown as stored
    blocks.append(Fine(EXPORT_FINE))
    return Card(title=EXPORT_TITLE, blocks=tuple(blocks))


def export_answer(
    parts: Sequence[ExportSection], now: datetime, platform: str, *, is_direct: bool, actor_id: int
) -> Outcome:
    """The export as the person gets it. Asked in a channel, the private answer may vanish (Slack
    ephemeral messages do): a copy goes to the person's private chat at once, whatever the hour
    (they just asked), and its words leave the outbox when it is sent."""
    if is_direct:
        return Outcome((Reply(export_card(parts, now, platform)),))
    copy = DirectMessage(actor_id, export_card(parts, now, platform), respect_hours=False)
    return Outcome((Reply(export_card(parts, now, platform, copy_sent=True)), copy))


def is_last_admin(actor: Member, admins: Iterable[Member]) -> bool:
    """The workspace's only human admin: forgetting them would leave it with none (a bot admin
    cannot run ``/tend admin add``)."""
    if actor.role != "admin":
        return False
    return not [admin for admin in admins if admin.id != actor.id and not admin.is_bot]


def _bullets(lines: Iterable[str]) -> str:
    return "\n".join(f"• {line}" for line in lines)


def _listed(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b, and c``."""
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])}, and {items[-1]}"


def ask_card(parts: Sequence[Forgetting], waiting: int) -> Card:
    lines = [ASK_PROFILE, *(line for part in parts for line in (*part.erased, *part.kept))]
    will = f"{ASK_WILL}\n{_bullets([*lines, ASK_WAITING.format(waiting=waiting)])}"
    return Card(
        title=ASK_TITLE,
        blocks=(
            Text(ASK_TEXT),
            Text(will),
            Fine(ASK_KEEPS),
            Text(ASK_HOW),
            Buttons(
                (
                    Button(CONFIRM_LABEL, CONFIRM, style="danger"),
                    Button(CANCEL_LABEL, CANCEL),
                )
            ),
        ),
    )


def forgotten_card(parts: Sequence[Forgetting], waiting: int, deleted: bool) -> Card:
    erased = [*(line for part in parts for line in part.erased), FORGOTTEN_WAITING.format(waiting=waiting)]
    kept = [line for part in parts for line in part.kept]
    text = f"{FORGOTTEN.format(profile=PROFILE_DELETED if deleted else PROFILE_STRIPPED)}\n{_bullets(erased)}"
    if kept:
        text += "\n" + FORGOTTEN_KEPT.format(kept=_listed(kept))
    return Card(title=FORGOTTEN_TITLE, blocks=(Text(text), Fine(FORGOTTEN_AGAIN)))


def forget_answer(parts: Sequence[Forgetting], waiting: int, *, confirmed: bool, deleted: bool) -> Outcome:
    """Before confirming: what would be erased and the buttons; after: what was."""
    if not confirmed:
        return Outcome((Reply(ask_card(parts, waiting)),))
    return Outcome((Reply(forgotten_card(parts, waiting, deleted)),))


# --- storage shells: load, call the rules, write --------------------------------------------------


async def names_of(ctx: PracticeContext, member_ids: Iterable[int | None]) -> Names:
    """Looks up, in the person's own workspace only, the names of the people their records mention."""
    people = await members_by_ids(ctx.session, {i for i in member_ids if i is not None})
    return known_names(people, ctx.workspace_id)


def local_clock(ctx: PracticeContext) -> Callable[[datetime], str]:
    """Formats times on the card in the person's own zone (UTC if theirs is unknown)."""
    zone = ctx.actor.time_zone
    return lambda moment: local_time.stamp(moment, zone)


def registered(ctx: PracticeContext) -> list[Practice]:
    """The practices the dispatcher passed in, in ``ORDER``."""
    if not ctx.practices:
        # Without them an export would look complete and be empty, and forget-me would erase only
        # the profile: refuse (the person gets the apology) rather than do either.
        raise RuntimeError("data rights need the registered practices (PracticeContext.practices)")
    return in_order(ctx.practices)


async def sections(ctx: PracticeContext) -> list[ExportSection]:
    """Every practice's part of the person's data, in ``ORDER``."""
    found: list[ExportSection] = []
    for practice in registered(ctx):
        if practice.export is not None:
            found.extend(await practice.export(ctx))
    return found


async def export_my_data(ctx: PracticeContext) -> Outcome:
    """A private copy of everything linked to the person who asked, readable and as JSON."""
    parts = await sections(ctx)
    return export_answer(
        parts, ctx.now, ctx.workspace.platform, is_direct=ctx.is_direct, actor_id=ctx.actor_id
    )


async def _is_last_admin(ctx: PracticeContext) -> bool:
    if not ctx.is_admin:
        return False
    return is_last_admin(ctx.actor, await members_with_role(ctx.session, ctx.workspace_id, "admin"))


async def _forget_parts(ctx: PracticeContext, erase: bool) -> list[Forgetting]:
    """Every practice's part of forget-me, in ``ORDER``: counted only, or carried out."""
    return [await p.forget(ctx, erase) for p in registered(ctx) if p.forget is not None]


async def forget_me(ctx: PracticeContext, confirmed: bool) -> Outcome:
    """Without ``confirmed``: what would be erased, and a button to go ahead. With it: erase."""
    if await _is_last_admin(ctx):
        return Outcome.reply(LAST_ADMIN)
    waiting = await store.messages_waiting_for(ctx.session, ctx.workspace_id, ctx.actor_id)
    if not confirmed:
        return forget_answer(await _forget_parts(ctx, False), waiting, confirmed=False, deleted=False)
    parts = await _forget_parts(ctx, True)
    session, member_id = ctx.session, ctx.actor_id
    await forget_contributor(session, ctx.secret_key, ctx.workspace.organization_id, member_id)
    await store.drop_messages_to(session, ctx.workspace_id, member_id)
    deleted = await store.delete_member(session, ctx.actor)
    return forget_answer(parts, waiting, confirmed=True, deleted=deleted)


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """The buttons on the forget-me question; a tap always concerns the person who tapped, nobody else."""
    if action == CONFIRM:
        return await forget_me(ctx, True)
    if action == CANCEL:
        return Outcome.reply(CANCELLED)
    return Outcome.reply(UNKNOWN_BUTTON)


# --- the words: /tend export-my-data and /tend forget-me ---------------------------------------------

FORGET_EXAMPLE = "/tend forget-me"


@dataclass(frozen=True)
class ExportMyData:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await export_my_data(ctx)


@dataclass(frozen=True)
class ForgetMe:
    confirmed: bool = False

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await forget_me(ctx, self.confirmed)


def parse_forget_me(text: str, args: list[Token]) -> Result:
    if not args:
        return ForgetMe(False)
    if len(args) == 1 and args[0].word == "confirm":
        return ForgetMe(True)
    msg = f"The only word forget-me takes is confirm, not “{shown(args[-1].raw)}”."
    return UsageError(msg, FORGET_EXAMPLE)


PRACTICE = Practice(
    name="data_rights",
    order=85,
    commands={"export-my-data": only(ExportMyData, "export-my-data"), "forget-me": parse_forget_me},
    actions={"forget": on_action},
)
