"""Who may administer Tend in a workspace, and the trail of every change (``/tend admin ...``).

An admin is someone the platform says may administer the workspace (``storage.identity`` settles
that on every event that carries the platform's word), the first installer of a workspace, or someone
an admin grants here. A workspace always keeps one admin: the last one cannot be removed. Every change
is written to the audit trail, which admins read with ``/tend admin log``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from practices import data_rights, local_time
from practices.grammar import People, Topic, Usage, group, only, people_cmd
from practices.messages import Example, Outcome, Wording, compose
from practices.people import resolve_people
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext
from storage import admin_audit as audit
from storage.identity import count_admins, members_by_ids, members_with_role
from storage.models import AdminChange, Member

LOG_LIMIT = 20  # changes shown by /tend admin log, newest first

# --- what people read (one place, to review and translate) ---------------------------------------
ONLY_ADMINS = compose(
    "Only a Tend admin can do that. Type {example} to see who the admins are.",
    example=Example("/tend admin list"),
)
ADMINS = "Tend admins here: {names}."
NOBODY = "nobody yet"
IS_BOT = "{names} is a bot and cannot be an admin."
ALREADY = "{names} already administer Tend here."
GRANTED = "{names} can now administer Tend here."
NOT_ADMINS = "{names} is not a Tend admin, so there was nothing to remove."
REMOVED = "{names} no longer administer Tend here."
LAST_ADMIN = compose(
    "A workspace needs at least one admin. Add another admin first (for example {example}).",
    example=Example("/tend admin add @sam"),
)
FROM_PLATFORM = (
    "{names} administer this workspace in {platform}, so they are Tend admins as long as {platform} says "
    "so. To change that, change their role in {platform}."
)
LOG_TITLE = "Admin changes"
LOG_EMPTY = (
    "No admin changes recorded yet. Changes are written here from now on: who was made admin or removed, "
    "by whom, and when."
)
LOG_MORE = "The newest {limit} changes are shown."
LOG_LINE = {
    (audit.GRANTED, audit.BY_ADMIN): "• {when}: {who} made admin by {by}",
    (audit.REMOVED, audit.BY_ADMIN): "• {when}: {who} removed as admin by {by}",
    (audit.GRANTED, audit.BY_PLATFORM): (
        "• {when}: {who} became admin ({platform} says they administer this workspace)"
    ),
    (audit.REMOVED, audit.BY_PLATFORM): "• {when}: {who} no longer admin ({platform} no longer says so)",
    (audit.GRANTED, audit.BY_INSTALL): "• {when}: {who} became admin by installing Tend here",
    # /tend link (practices/organisation.py): recorded in every workspace of the organisation
    ("linked", audit.BY_ADMIN): (
        "• {when}: {by} linked workspaces into one organisation (“/tend link status”)"
    ),
    ("unlinked", audit.BY_ADMIN): "• {when}: {by} split a workspace off this organisation",
}
OTHER_LINE = "• {when}: {who}: {change} ({reason})"
FORGOTTEN = "a forgotten member"
PLATFORM_NAMES = {"slack": "Slack", "teams": "Teams", "console": "the console"}


def names(members: list[Member]) -> str:
    return ", ".join(f"@{member.display_name}" for member in members)


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform)


# --- rules: pure, called by tests with no database ---------------------------------------------------


@dataclass(frozen=True)
class RoleChange:
    """What a grant or removal answers, and who takes ``role`` (each change goes to the audit trail)."""

    answer: Wording
    role: str = "admin"
    members: tuple[Member, ...] = ()
    change: str = audit.GRANTED


def grant_rule(is_admin: bool, members: Sequence[Member]) -> RoleChange:
    """Only admins grant; a bot is never an admin; someone already admin is said to be, not granted again."""
    if not is_admin:
        return RoleChange(ONLY_ADMINS)
    bots = [member for member in members if member.is_bot]
    if bots:
        return RoleChange(IS_BOT.format(names=names(bots)))
    new = _unique([member for member in members if member.role != "admin"])
    already = _unique([member for member in members if member not in new])
    lines = [GRANTED.format(names=names(new))] if new else []
    if already:
        lines.append(ALREADY.format(names=names(already)))
    return RoleChange("\n".join(lines), "admin", tuple(new), audit.GRANTED)


def removal_rule(
    is_admin: bool, members: Sequence[Member], admin_count: int, by_platform: set[int], platform: str
) -> RoleChange:
    """Removes admins an admin named; never the last one, and never someone whose admin role the
    platform gives (``by_platform``: their next event would give it back, so the change belongs there)."""
    if not is_admin:
        return RoleChange(ONLY_ADMINS)
    admins = _unique([member for member in members if member.role == "admin"])
    not_admins = _unique([member for member in members if member.role != "admin"])
    people = [member for member in admins if not member.is_bot]
    if people and admin_count - len(people) < 1:
        return RoleChange(LAST_ADMIN)
    from_platform = [member for member in admins if member.id in by_platform]
    if from_platform:
        return RoleChange(FROM_PLATFORM.format(names=names(from_platform), platform=platform_name(platform)))
    lines = [REMOVED.format(names=names(admins))] if admins else []
    if not_admins:
        lines.append(NOT_ADMINS.format(names=names(not_admins)))
    return RoleChange("\n".join(lines), "member", tuple(admins), audit.REMOVED)


def log_line(change: AdminChange, known: dict[int | None, str], platform: str) -> str:
    """One change in words. A change learned from the platform kept only its day, so shows a date."""

    def who(member_id: int | None) -> str:
        return f"@{known[member_id]}" if member_id in known else FORGOTTEN

    template = LOG_LINE.get((change.change, change.reason), OTHER_LINE)
    return template.format(
        when=_when(change.created_at, date_only=change.reason == audit.BY_PLATFORM),
        who=who(change.member_id),
        by=who(change.by_member_id),
        platform=platform,
        change=change.change,
        reason=change.reason,
    )


def _when(moment: datetime, *, date_only: bool) -> str:
    return moment.strftime("%Y-%m-%d") if date_only else moment.strftime("%Y-%m-%d %H:%M UTC")


def _unique(members: list[Member]) -> list[Member]:
    seen: set[int | None] = set()
    found = []
    for member in members:
        if member.id not in seen:
            seen.add(member.id)
            found.append(member)
    return found


def admin_by_platform(latest: AdminChange | None) -> bool:
    """The person's latest change made them admin on the platform's word."""
    return latest is not None and (latest.change, latest.reason) == (audit.GRANTED, audit.BY_PLATFORM)


# --- storage shells: load, decide with the rules above, write -----------------------------------------


async def list_admins(ctx: PracticeContext) -> Outcome:
    admins = await members_with_role(ctx.session, ctx.workspace_id, "admin")
    return Outcome.reply(ADMINS.format(names=names(admins) or NOBODY))


async def _apply(ctx: PracticeContext, decided: RoleChange) -> Outcome:
    for member in decided.members:
        await audit.change_role(
            ctx.session,
            ctx.workspace_id,
            member,
            decided.role,
            decided.change,
            ctx.now,
            by_member_id=ctx.actor_id,
        )
    return Outcome.reply(decided.answer)


async def add_admins(ctx: PracticeContext, members: list[Member]) -> Outcome:
    return await _apply(ctx, grant_rule(ctx.is_admin, members))


async def remove_admins(ctx: PracticeContext, members: list[Member]) -> Outcome:
    """Removes admins an admin named (``removal_rule``)."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    admin_count = await count_admins(ctx.session, ctx.workspace_id)
    by_platform = set[int]()
    for member in members:
        if member.id is None or member.role != "admin":
            continue
        if admin_by_platform(await audit.latest_about(ctx.session, ctx.workspace_id, member.id)):
            by_platform.add(member.id)
    return await _apply(ctx, removal_rule(True, members, admin_count, by_platform, ctx.workspace.platform))


async def admin_log(ctx: PracticeContext) -> Outcome:
    """The newest admin changes, for admins only; names of people forgotten since show as such."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    changes = await audit.recent(ctx.session, ctx.workspace_id, LOG_LIMIT + 1)
    if not changes:
        return Outcome.reply(LOG_EMPTY, title=LOG_TITLE)
    shown = changes[:LOG_LIMIT]
    ids = {change.member_id for change in shown} | {
        change.by_member_id for change in shown if change.by_member_id
    }
    known = {member.id: member.display_name for member in await members_by_ids(ctx.session, ids)}
    platform = platform_name(ctx.workspace.platform)
    lines = [log_line(change, known, platform) for change in shown]
    if len(changes) > LOG_LIMIT:
        lines.append(LOG_MORE.format(limit=LOG_LIMIT))
    return Outcome.reply("\n".join(lines), title=LOG_TITLE)


# --- the words: /tend admin, its parsers and its help --------------------------------------------------

ADMIN_EXAMPLE = "/tend admin add @sam"


@dataclass(frozen=True)
class AdminAdd:
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await add_admins(ctx, await resolve_people(ctx, self.members))


@dataclass(frozen=True)
class AdminRemove:
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove_admins(ctx, await resolve_people(ctx, self.members))


@dataclass(frozen=True)
class AdminList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_admins(ctx)


@dataclass(frozen=True)
class AdminLog:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await admin_log(ctx)


parse_admin = group(
    "admin",
    {
        "list": only(AdminList, "admin list"),
        "log": only(AdminLog, "admin log"),
        "add": people_cmd(AdminAdd, "make an admin", ADMIN_EXAMPLE),
        "remove": people_cmd(AdminRemove, "remove as admin", ADMIN_EXAMPLE),
    },
    ADMIN_EXAMPLE,
)

TOPIC = Topic(
    "admin",
    "who administers Tend, and the log of every change",
    "Admins set up rituals, teams and the support rota. The last admin can't be removed.",
    (
        Usage("/tend admin list", "", "the admins", "/tend admin list"),
        Usage("/tend admin add", "@person ...", "make people admins", ADMIN_EXAMPLE),
        Usage("/tend admin remove", "@person ...", "remove admins", "/tend admin remove @sam"),
        Usage("/tend admin log", "", "every change admins made", "/tend admin log"),
    ),
    aliases=("admins",),
)

# --- data rights: the admin changes that name the person --------------------------------------------
ADMIN_CHANGES_HEADING = "*Admin changes that name you*"
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
FORGET_ASK = "admin changes about you deleted, and ones you made to others kept without your name: {count}"
FORGET_DONE = "admin changes about you: {count}"
FORGET_KEPT = "{count} admin change(s) you made to others' roles"


def _side(change: AdminChange, member_id: int) -> tuple[str, int | None]:
    """Whether the person was ``changed`` or the ``changer``, and the other person's id."""
    if change.member_id == member_id:
        return "changed", change.by_member_id
    return "changer", change.member_id


def admin_change_line(change: AdminChange, member_id: int, name: Callable[[int | None], str]) -> str:
    side, other = _side(change, member_id)
    how = ADMIN_HOW.get(change.reason, change.reason).format(other=name(other))
    what = ADMIN_CHANGE_WHAT.get((side, change.change), change.change).format(how=how, other=name(other))
    # A change learned from the platform kept only its day (storage.admin_audit).
    by_platform = change.reason == audit.BY_PLATFORM
    when = local_time.date_stamp(change.created_at) if by_platform else local_time.stamp(change.created_at)
    return ADMIN_CHANGE_LINE.format(when=when, what=what)


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    changes = await audit.naming(ctx.session, ctx.workspace_id, ctx.actor_id)
    name = await data_rights.names_of(
        ctx, [change.member_id for change in changes] + [change.by_member_id for change in changes]
    )
    lines = tuple(admin_change_line(change, ctx.actor_id, name) for change in changes)
    data = []
    for change in changes:
        side, other = _side(change, ctx.actor_id)
        data.append(
            {
                "when": data_rights.iso(change.created_at),
                "change": change.change,
                "how": change.reason,
                "you_are": side,
                "other": None if other is None else name(other),
            }
        )
    return (ExportSection(ADMIN_CHANGES_HEADING, "admin_changes", data, lines=lines),)


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    """Changes about the person go; changes they made to others' roles stay, by "a forgotten member"."""
    if not erase:
        count = len(await audit.naming(ctx.session, ctx.workspace_id, ctx.actor_id))
        return Forgetting(erased=(FORGET_ASK.format(count=count),))
    deleted, blanked = await audit.forget(ctx.session, ctx.workspace_id, ctx.actor_id)
    return Forgetting(erased=(FORGET_DONE.format(count=deleted),), kept=(FORGET_KEPT.format(count=blanked),))


PRACTICE = Practice(
    name="roles",
    order=100,
    commands={"admin": parse_admin},
    topics=(TOPIC,),
    export=export_mine,
    forget=forget_mine,
)
