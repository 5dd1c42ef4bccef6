"""A person's rights over their data: a copy (``/tend export-my-data``) or erasure (``/tend forget-me``).

The export shows everything stored that is linked to the person, in plain words and as JSON, and
says what is not included because it was never linked to them (stress reports, check-in answers,
signals). Forgetting asks first, then in one transaction: shout-outs keep their words and lose the
name, team memberships and 1:1 pairs go, the admin changes about the person are deleted (those they
made to others' roles stay, without their id), rituals they created keep running without a creator,
support conversations they started end, messages waiting for them are dropped, and the member row is
deleted. A later message from the same person is simply a first contact. The last admin of a
workspace cannot be forgotten until someone else is admin, so the workspace is never left without one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from practices.context import PracticeContext
from practices.messages import (
    Block,
    Button,
    Buttons,
    Card,
    DirectMessage,
    Example,
    Fact,
    Facts,
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
from practices.preferences import describe_days
from practices.rituals import options_of
from practices.schedules import ScheduleError, parse_schedule
from practices.signals import forget_contributor
from practices.stress_reports import SideOfRelay, end_relays_of, relays_of
from storage import admin_audit
from storage import data_rights as store
from storage import one_on_ones as pairs_store
from storage.identity import members_by_ids, members_with_role
from storage.models import AdminChange, Member, Ritual, Shoutout, Team

CONFIRM, CANCEL = "forget.confirm", "forget.cancel"
JSON_CHUNK = 2800  # characters per text block, under the chat platforms' per-section limits

# --- what people read (one place, to review and translate) ---------------------------------------
EXPORT_TITLE = "Everything Tend stores about you"
EXPORT_INTRO = (
    "Here is a copy of every record linked to you in this workspace, as of {when} UTC. "
    "Only you can see this message."
)
PROFILE = "*Your profile*"
TEAMS = "*Your teams*"
GIVEN = "*Shout-outs you gave*"
RECEIVED = "*Shout-outs you received*"
PAIRS = "*Your 1:1s*"
CREATED = "*Rituals you created*"
RELAYS = "*Anonymous support conversations*"
ADMIN_CHANGES = "*Admin changes that name you*"
ADMIN_CHANGE_LINE = "• {when} UTC: {what}"
ADMIN_CHANGE_WHAT = {
    ("changed", "granted"): "you became admin ({how})",
    ("changed", "removed"): "you stopped being admin ({how})",
    ("changer", "granted"): "you made {other} admin",
    ("changer", "removed"): "you removed {other} as admin",
}
ADMIN_HOW = {
    "admin": "by {other}",
    "platform": "your role in the chat platform",
    "install": "you installed Tend",
}
NONE = "none"
TEAM_LINE = "• {name}{manager}"
MANAGER_MARK = " (you manage it)"
GIVEN_LINE = "• {when} in {where}, to {other}: {text}"
RECEIVED_LINE = "• {when} in {where}, from {other}: {text}"
PAIR_LINE = "• #{id}: you are the {role}, with {other}; {schedule} ({zone}){paused}"
RITUAL_LINE = "• #{id} {kind} in {where}: {schedule} ({zone}){paused}"
RELAY_LINE = "• A conversation is open where you are the {role}, until {until} UTC at the latest."
RELAY_NOTE = "The messages themselves are not stored: Tend passes them on and keeps nothing."
NOT_INCLUDED = (
    "*Not included, because it is not linked to you:* stress reports (stored with no name, no user id "
    "and no exact time), check-in answers (counted, never kept per person), and the weekly signals "
    "the index is built from (totals per team, never per person)."
)
JSON_HEADER = "*Machine-readable copy (JSON):*"
COPY_SENT = "I've also sent you a copy in our private chat, so you can keep it."
EXPORT_FINE = compose(
    "To erase all this, type {forget}. To see who can see what, type {privacy}.",
    forget=Example("/tend forget-me"),
    privacy=Example("/tend privacy"),
)
PAUSED = "; paused"
PRIVATE = "private"
SOMEONE = "someone"
NO_CHANNEL = "a channel"

LAST_ADMIN = compose(
    "You are the only Tend admin here, and a workspace needs one. Make someone else admin first "
    "(for example {add}), then type {forget} again.",
    add=Example("/tend admin add @sam"),
    forget=Example("/tend forget-me"),
)
ASK_TITLE = "Forget me?"
ASK_TEXT = "This erases what Tend stores about you in this workspace. It cannot be undone."
ASK_WILL = (
    "*What happens:*\n"
    "• your profile (name, user id, time zone, working hours, role, pause, support rota) is deleted\n"
    "• team memberships removed: {teams}\n"
    "• 1:1 pairs with you removed, with their queued nudges: {pairs}\n"
    "• open support conversations with you ended: {relays}\n"
    "• messages waiting to be sent to you dropped: {waiting}\n"
    "• shout-outs that keep their words but lose your name: {given} given, {received} received\n"
    "• rituals you created that keep running, no longer credited to you: {created}\n"
    "• admin changes about you deleted, and ones you made to others kept without your name: {admin_changes}"
)
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
FORGOTTEN = (
    "{profile}; and with it:\n"
    "• team memberships: {teams}\n"
    "• 1:1 pairs: {pairs}\n"
    "• support conversations: {relays}\n"
    "• messages waiting for you: {waiting}\n"
    "• admin changes about you: {admin_deleted}\n"
    "Kept without your name: {shoutouts} shout-out(s), whose words stay, {created} ritual(s) you "
    "created, which keep running, and {admin_blanked} admin change(s) you made to others' roles."
)
FORGOTTEN_AGAIN = "If you use Tend again, it will start afresh with default settings, as for someone new."
PROFILE_DELETED = "Done. Your profile is deleted"
PROFILE_STRIPPED = (
    "Done. Your profile could not be deleted outright, so it was stripped of your name, user id, "
    "hours and role instead"
)


# --- gathering ------------------------------------------------------------------------------------


@dataclass
class Pair:
    ritual: Ritual
    role: str  # "manager" or "report"
    other_id: int | None


@dataclass
class Gathered:
    """Every stored record linked to one member, plus the names of the people those records mention."""

    member: Member
    teams: list[tuple[Team, bool]]
    given: list[Shoutout]
    received: list[Shoutout]
    pairs: list[Pair]
    created: list[Ritual]
    relays: list[SideOfRelay]
    waiting: int
    names: dict[int, str]
    admin_changes: list[AdminChange] = field(default_factory=list)

    def name(self, member_id: int | None) -> str:
        return f"@{self.names[member_id]}" if member_id is not None and member_id in self.names else SOMEONE


def _id_in(options: dict[str, object], key: str) -> int | None:
    value = options.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


async def _pairs_of(ctx: PracticeContext) -> list[Pair]:
    found: list[Pair] = []
    for ritual in await pairs_store.pairs_in_workspace(ctx.session, ctx.workspace_id):
        options = options_of(ritual)
        manager, report = _id_in(options, "manager"), _id_in(options, "report")
        if manager == ctx.actor_id:
            found.append(Pair(ritual, "manager", report))
        elif report == ctx.actor_id:
            found.append(Pair(ritual, "report", manager))
    return found


async def gather(ctx: PracticeContext) -> Gathered:
    """Everything linked to the person who asked, in their own workspace only."""
    member_id = ctx.actor_id
    given = await store.shoutouts_given(ctx.session, ctx.workspace_id, member_id)
    received = await store.shoutouts_received(ctx.session, ctx.workspace_id, member_id)
    pairs = await _pairs_of(ctx)
    # A pair they are part of is listed (and erased) as a 1:1, not as a ritual they created.
    created = await store.rituals_created_by(ctx.session, ctx.workspace_id, member_id)
    mentioned = {row.receiver_member_id for row in given} | {row.giver_member_id for row in received}
    mentioned |= {pair.other_id for pair in pairs}
    admin_changes = await admin_audit.naming(ctx.session, ctx.workspace_id, member_id)
    mentioned |= {change.member_id for change in admin_changes} | {
        change.by_member_id for change in admin_changes
    }
    people = await members_by_ids(ctx.session, {i for i in mentioned if i is not None})
    return Gathered(
        member=ctx.actor,
        teams=await store.memberships_of(ctx.session, member_id),
        given=given,
        received=received,
        pairs=pairs,
        created=[ritual for ritual in created if ritual.id not in {pair.ritual.id for pair in pairs}],
        relays=await relays_of(ctx, member_id),
        waiting=await store.messages_waiting_for(ctx.session, ctx.workspace_id, member_id),
        admin_changes=admin_changes,
        names={
            person.id: person.display_name
            for person in people
            if person.id is not None and person.workspace_id == ctx.workspace_id
        },
    )


# --- export ---------------------------------------------------------------------------------------


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _schedule(ritual: Ritual) -> str:
    parsed = parse_schedule(ritual.schedule)
    return ritual.schedule if isinstance(parsed, ScheduleError) else parsed.describe()


def export_data(found: Gathered, now: datetime, platform: str) -> dict[str, object]:
    """The machine-readable copy: plain JSON types, times in UTC ISO 8601."""
    member = found.member
    assert member.id is not None

    def shoutout(row: Shoutout, other_key: str, other_id: int | None) -> dict[str, object]:
        return {
            other_key: found.name(other_id),
            "text": row.text,
            "value": row.value_tag,
            "when": _iso(row.created_at),
            "channel": row.channel_id,
        }

    return {
        "exported_at": _iso(now),
        "platform": platform,
        "member": {
            "platform_user_id": member.platform_user_id,
            "display_name": member.display_name,
            "time_zone": member.time_zone,
            "working_days": member.work_days,
            "working_hours": f"{member.work_start}-{member.work_end}",
            "role": member.role,
            "paused_until": member.paused_until.isoformat() if member.paused_until else None,
            "support_rota": member.is_support,
            "private_chat_id": member.dm_channel_id,
            "first_seen": _iso(member.created_at),
        },
        "teams": [{"name": team.name, "manager": is_manager} for team, is_manager in found.teams],
        "shoutouts_given": [shoutout(row, "to", row.receiver_member_id) for row in found.given],
        "shoutouts_received": [shoutout(row, "from", row.giver_member_id) for row in found.received],
        "one_on_ones": [
            {
                "id": pair.ritual.id,
                "you_are": pair.role,
                "with": found.name(pair.other_id),
                "schedule": _schedule(pair.ritual),
                "time_zone": pair.ritual.time_zone,
                "prep_prompt": options_of(pair.ritual).get("prep") is True,
                "paused": pair.ritual.paused,
            }
            for pair in found.pairs
        ],
        "rituals_created": [
            {
                "id": ritual.id,
                "kind": ritual.kind,
                "where": ritual.place_id,
                "schedule": _schedule(ritual),
                "time_zone": ritual.time_zone,
                "paused": ritual.paused,
            }
            for ritual in found.created
        ],
        "admin_changes": [
            {
                "when": _iso(change.created_at),
                "change": change.change,
                "how": change.reason,
                "you_are": side,
                "other": None if other is None else found.name(other),
            }
            for change, side, other in (_admin_side(change, member.id) for change in found.admin_changes)
        ],
        "open_support_conversations": [
            {"you_are": relay.role, "open_until": _iso(relay.relay.expires_at)} for relay in found.relays
        ],
        "not_included": ["stress reports", "check-in answers", "signals (team totals)"],
    }


def _admin_side(change: AdminChange, member_id: int) -> tuple[AdminChange, str, int | None]:
    """(the change, whether the person was ``changed`` or the ``changer``, the other person's id)."""
    if change.member_id == member_id:
        return change, "changed", change.by_member_id
    return change, "changer", change.member_id


def admin_change_line(found: Gathered, change: AdminChange) -> str:
    assert found.member.id is not None
    _, side, other = _admin_side(change, found.member.id)
    how = ADMIN_HOW.get(change.reason, change.reason).format(other=found.name(other))
    what = ADMIN_CHANGE_WHAT.get((side, change.change), change.change).format(
        how=how, other=found.name(other)
    )
    # A change learned from the platform kept only its day (storage.admin_audit).
    shown = "%Y-%m-%d" if change.reason == admin_audit.BY_PLATFORM else "%Y-%m-%d %H:%M"
    return ADMIN_CHANGE_LINE.format(
        when=change.created_at.astimezone(ZoneInfo("UTC")).strftime(shown), what=what
    )


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


def _section(heading: str, lines: list[Rich | str]) -> list[Block]:
    """A heading and its lines, in as few paragraphs as the platforms' per-section limits allow."""
    rows: list[Rich | str] = [heading, *(lines or [NONE])]
    blocks: list[Block] = []
    current: list[Rich | str] = []
    size = 0
    for row in rows:
        length = len(plain(row)) + 1
        if current and size + length > JSON_CHUNK:
            blocks.append(Text(joined(current, "\n", "\n")))
            current, size = [], 0
        current.append(row)
        size += length
    blocks.append(Text(joined(current, "\n", "\n")))
    return blocks


def export_card(found: Gathered, now: datetime, platform: str, *, copy_sent: bool = False) -> Card:
    member = found.member
    assert member.id is not None
    zone = member.time_zone
    try:
        tz = ZoneInfo(zone)
    except (ValueError, KeyError, OSError):
        tz = ZoneInfo("UTC")

    def when(moment: datetime) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    def where(channel: str | None) -> Place | str:
        return Place(channel) if channel else NO_CHANNEL

    profile = Facts(
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
    intro = EXPORT_INTRO.format(when=now.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M"))
    blocks: list[Block] = [
        Text(intro + (f" {COPY_SENT}" if copy_sent else "")),
        Text(PROFILE),
        profile,
    ]
    blocks += _section(
        TEAMS,
        [compose(TEAM_LINE, name=Said(t.name), manager=MANAGER_MARK if m else "") for t, m in found.teams],
    )
    blocks += _section(
        GIVEN,
        [
            compose(
                GIVEN_LINE,
                when=when(row.created_at),
                where=where(row.channel_id),
                other=Said(found.name(row.receiver_member_id)),
                text=Said(row.text),
            )
            for row in found.given
        ],
    )
    blocks += _section(
        RECEIVED,
        [
            compose(
                RECEIVED_LINE,
                when=when(row.created_at),
                where=where(row.channel_id),
                other=Said(found.name(row.giver_member_id)),
                text=Said(row.text),
            )
            for row in found.received
        ],
    )
    blocks += _section(
        PAIRS,
        [
            compose(
                PAIR_LINE,
                id=pair.ritual.id or 0,
                role=pair.role,
                other=Said(found.name(pair.other_id)),
                schedule=_schedule(pair.ritual),
                zone=pair.ritual.time_zone,
                paused=PAUSED if pair.ritual.paused else "",
            )
            for pair in found.pairs
        ],
    )
    blocks += _section(
        CREATED,
        [
            compose(
                RITUAL_LINE,
                id=ritual.id or 0,
                kind=ritual.kind,
                where=Place(ritual.place_id) if ritual.place_id else PRIVATE,
                schedule=_schedule(ritual),
                zone=ritual.time_zone,
                paused=PAUSED if ritual.paused else "",
            )
            for ritual in found.created
        ],
    )
    relay_lines = [
        RELAY_LINE.format(
            role=relay.role,
            until=relay.relay.expires_at.astimezone(ZoneInfo("UTC")).strftime("%Y-%m-%d %H:%M"),
        )
        for relay in found.relays
    ]
    blocks += _section(RELAYS, [*relay_lines, RELAY_NOTE] if relay_lines else [])
    blocks += _section(ADMIN_CHANGES, [admin_change_line(found, change) for change in found.admin_changes])
    blocks.append(Text(NOT_INCLUDED))
    blocks.append(Text(JSON_HEADER))
    copy = json.dumps(export_data(found, now, platform), indent=2, ensure_ascii=False)
    blocks += [Text((Said(piece),)) for piece in _chunks(copy)]  # the stored words, shown as stored
    blocks.append(Fine(EXPORT_FINE))
    return Card(title=EXPORT_TITLE, blocks=tuple(blocks))


async def export_my_data(ctx: PracticeContext) -> Outcome:
    """A private copy of everything linked to the person who asked, readable and as JSON."""
    found = await gather(ctx)
    platform = ctx.workspace.platform
    if ctx.is_direct:
        return Outcome((Reply(export_card(found, ctx.now, platform)),))
    # Asked in a channel, the private answer may vanish (Slack ephemeral messages do): a copy goes to
    # the person's private chat at once, and its words leave the outbox when it is sent.
    copy = DirectMessage(ctx.actor_id, export_card(found, ctx.now, platform), respect_hours=False)
    return Outcome((Reply(export_card(found, ctx.now, platform, copy_sent=True)), copy))


# --- forget-me ------------------------------------------------------------------------------------


async def _is_last_admin(ctx: PracticeContext) -> bool:
    if not ctx.is_admin:
        return False
    admins = await members_with_role(ctx.session, ctx.workspace_id, "admin")
    return not [admin for admin in admins if admin.id != ctx.actor_id and not admin.is_bot]


def ask_card(found: Gathered) -> Card:
    will = ASK_WILL.format(
        given=len(found.given),
        received=len(found.received),
        teams=len(found.teams),
        pairs=len(found.pairs),
        created=len(found.created),
        relays=len(found.relays),
        waiting=found.waiting,
        admin_changes=len(found.admin_changes),
    )
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


async def forget_me(ctx: PracticeContext, confirmed: bool) -> Outcome:
    """Without ``confirmed``: what would be erased, and a button to go ahead. With it: erase."""
    if await _is_last_admin(ctx):
        return Outcome.reply(LAST_ADMIN)
    found = await gather(ctx)
    if not confirmed:
        return Outcome((Reply(ask_card(found)),))
    return await _erase(ctx, found)


async def _erase(ctx: PracticeContext, found: Gathered) -> Outcome:
    session, workspace_id, member_id = ctx.session, ctx.workspace_id, ctx.actor_id
    for pair in found.pairs:
        assert pair.ritual.id is not None
        occurrences = await pairs_store.occurrence_ids(session, pair.ritual.id)
        prefixes = [f"1on1:{occurrence}:" for occurrence in occurrences] + [f"1on1-added:{pair.ritual.id}:"]
        await pairs_store.drop_messages(session, workspace_id, "1on1", prefixes)
        await session.delete(pair.ritual)
    await session.flush()
    shoutouts = await store.unname_shoutouts(session, workspace_id, member_id)
    teams = await store.remove_memberships(session, member_id)
    created = await store.uncredit_rituals(session, workspace_id, member_id)
    relays = await end_relays_of(ctx, member_id)
    await forget_contributor(session, ctx.secret_key, ctx.workspace.organization_id, member_id)
    await store.drop_messages_to(session, workspace_id, member_id)
    admin_deleted, admin_blanked = await admin_audit.forget(session, workspace_id, member_id)
    deleted = await store.delete_member(session, ctx.actor)
    text = FORGOTTEN.format(
        profile=PROFILE_DELETED if deleted else PROFILE_STRIPPED,
        teams=teams,
        pairs=len(found.pairs),
        relays=relays,
        waiting=found.waiting,
        shoutouts=shoutouts,
        created=created,
        admin_deleted=admin_deleted,
        admin_blanked=admin_blanked,
    )
    return Outcome((Reply(Card(title=FORGOTTEN_TITLE, blocks=(Text(text), Fine(FORGOTTEN_AGAIN)))),))


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """The buttons on the forget-me question; a tap always concerns the person who tapped, nobody else."""
    if action == CONFIRM:
        return await forget_me(ctx, True)
    if action == CANCEL:
        return Outcome.reply(CANCELLED)
    return Outcome.reply(UNKNOWN_BUTTON)


ACTIONS = {"forget": on_action}
