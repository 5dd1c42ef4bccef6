"""Team administration (``/tend team list|create|add|remove|manager|delete``).

A team is the unit the Compassion Impact Index reports on and usually maps to one channel: what
happens in that channel (shout-outs, rituals) counts for the team. Admins create and delete teams
and name their managers; a manager may change who is in their own team. Anyone may list the teams,
which shows membership only (never a figure per person), and warns when a team is too small for its
figures to be shown. Every lookup happens inside the caller's workspace.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from practices.grammar import (
    TEAM,
    Command,
    Parser,
    People,
    PlaceRef,
    Result,
    Token,
    Topic,
    Usage,
    UsageError,
    group,
    members,
    only,
    place_of,
    shown,
)
from practices.messages import Example, Outcome, Place, Rich, Said, Span, compose, joined
from practices.people import place_id, resolve_people
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext
from practices.privacy_policy import shows
from practices.roles import ONLY_ADMINS, names
from storage import org_teams as store
from storage.db import Session
from storage.models import Member, Team, TeamMembership

MAX_NAME = 80

# Examples name channels with "here", the one channel reference every platform types (Teams people
# cannot type a "#channel"); people are mentioned the way every example mentions them (@sam).
EXAMPLE_CREATE = "/tend team create platform here"
EXAMPLE_ADD = "/tend team add {team} @sam @kim"
EXAMPLE_UNKNOWN = "/tend team add {team} @sam"
EXAMPLE_RENAME = "/tend team create {name}-web"
EXAMPLE_CREATE_HERE = "/tend team create {name} here"
EXAMPLE_DELETE = "/tend team delete {name}"
EXAMPLE_LIST = "/tend team list"

# --- what people read (one place, to review and translate) ---------------------------------------
NO_TEAMS = "There are no teams yet. An admin can create one, for example: {example}"
UNKNOWN = "There is no team called {name} here. Teams: {known}. Example: {example}"
UNKNOWN_NONE = "There is no team called {name} here, nor any other yet. Example: {example}"
BAD_NAME = "A team name is 1–80 letters, digits, - _ or . with no spaces. Example: {example}"
DUPLICATE = (
    "There is already a team called *{name}* here; team names are unique. Pick another name. "
    "Example: {example}"
)
DUPLICATE_IN = (
    "There is already a team called *{name}* here; team names are unique. Pick another name: "
    "for example, type {example} in the team's channel."
)
CHANNEL_TAKEN = (
    "Team *{team}* already reports from {place}, and a channel counts for one team only. "
    "Pick another channel and type {example} in it."
)
THIS_CHANNEL = "this channel"
CREATED = "Created team *{name}*."
CREATED_IN = (
    "Created team *{name}* for {place}. What happens there counts for {name}, and shout-outs its "
    "members send from a private chat are posted there."
)
RITUALS_ATTRIBUTED = "{rituals} already in that channel will count for {name} from now on."
NO_CHANNEL_NOTE = (
    "It has no channel; to give it one, delete it ({delete}) and create it again in its channel ({create})."
)
NEXT_STEP = "Add people next: {example}"
ONLY_MANAGERS = (
    "Only a Tend admin or a manager of *{team}* can change who is in it. Type {example} to see its managers."
)
NOBODY = "Mention at least one person. Example: {example}"
BOTS = "Teams are for people, so bots can't join one: {names}. Nothing changed. Example: {example}"
ADDED = "Added {who} to *{team}*."
ALREADY_IN = "{who} already in *{team}*, so nothing changed for them."
REMOVED = "Removed {who} from *{team}*."
NOT_IN = "{who} not in *{team}*, so nothing changed for them."
MANAGERS_SET = "*{team}* is now managed by {who}."
JOINED_TOO = "{who} also joined the team."
ALREADY_MANAGING = "{who} already managing *{team}*, so nothing changed for them."
DELETED = (
    "Deleted team *{name}*: nobody is in it any more, and its rituals keep running without a team. "
    "Figures already counted stay in the index history."
)
LIST_TITLE = "Teams"
LIST_LINE = "• *{name}* ({where}): {people}, {led}"
LIST_SHOUTOUTS = "{where}, shout-outs in {place}"
NO_CHANNEL = "no channel"
HEADS_UP = "{line}. Heads-up: {hidden}"
HIDDEN = "fewer than {size} people: figures for this team stay hidden"
LIST_FOOTER = "Membership only: Tend never shows a figure per person."


# --- rules: pure, called by tests with no database ---------------------------------------------------


def channel_words(place_id: str, typed_in: str | None, is_direct: bool) -> Span:
    """A channel as the reader can tell it: "this channel" where they typed, else a ``Place`` (Slack
    and the console draw the channel; Teams, whose channel names Tend never learns, "a channel":
    never a raw ``19:…`` id)."""
    if place_id == typed_in and not is_direct:
        return THIS_CHANNEL
    return Place(place_id)


def _add_example(team: Team) -> Example:
    return Example(EXAMPLE_ADD.format(team=team.name))


def _who(members: list[Member]) -> str:
    """``@bo is`` / ``@bo, @cy are``, so one template reads well for one person or several."""
    return f"{names(members)} {'is' if len(members) == 1 else 'are'}"


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def unique_people(workspace_id: int, members: list[Member]) -> list[Member]:
    """Each person once, and only people of this workspace (mentions are resolved here, but be sure)."""
    seen: dict[int, Member] = {}
    for member in members:
        if member.id is not None and member.workspace_id == workspace_id:
            seen.setdefault(member.id, member)
    return list(seen.values())


def describe(team: Team, count: int, managers: list[Member], min_group_size: int) -> Rich:
    """A team's line in the list: membership only, and a heads-up when it is too small for figures."""
    where: Rich = (Place(team.channel_id),) if team.channel_id else (NO_CHANNEL,)
    if team.shoutout_channel_id and team.shoutout_channel_id != team.channel_id:
        where = compose(LIST_SHOUTOUTS, where=where, place=Place(team.shoutout_channel_id))
    people = _plural(count, "member")
    led = f"managed by {names(managers)}" if managers else "no manager yet"
    line = compose(LIST_LINE, name=team.name, where=where, people=people, led=led)
    if not shows(count, min_group_size):
        line = compose(HEADS_UP, line=line, hidden=HIDDEN.format(size=min_group_size))
    return line


def may_change_members(is_admin: bool, own: TeamMembership | None) -> bool:
    """Admins, or a manager of the team (``own``: the caller's membership of it, if any)."""
    return is_admin or (own is not None and own.is_manager)


def bad_name(name: str) -> bool:
    """A team name is 1-80 characters with no spaces."""
    return not name or len(name) > MAX_NAME or any(ch.isspace() for ch in name)


def people_refusal(team: Team, people: list[Member], *, refuse_bots: bool = True) -> Outcome | None:
    """Nobody mentioned, or a bot among them (teams are for people): nothing changes, with an example."""
    if not people:
        return Outcome.reply(compose(NOBODY, example=_add_example(team)))
    bots = [member for member in people if member.is_bot]
    if refuse_bots and bots:
        return Outcome.reply(compose(BOTS, names=names(bots), example=_add_example(team)))
    return None


def membership_answer(
    team: Team, changed: list[Member], same: list[Member], done: str, unchanged: str
) -> str:
    """Who changed, and who was already (or never) in it, each named once."""
    lines = [done.format(who=names(changed), team=team.name)] if changed else []
    if same:
        lines.append(unchanged.format(who=_who(same), team=team.name))
    return "\n".join(lines)


def managers_answer(team: Team, promoted: list[Member], joined: list[Member], already: list[Member]) -> str:
    lines = []
    if promoted:
        lines.append(MANAGERS_SET.format(who=names(promoted), team=team.name))
    if joined:
        lines.append(JOINED_TOO.format(who=names(joined)))
    if already:
        lines.append(ALREADY_MANAGING.format(who=_who(already), team=team.name))
    return "\n".join(lines)


def created_answer(name: str, created_in: Span | None, attributed: int) -> Outcome:
    """A new team: where it counts from (rituals already in its channel count for it now), or how to
    give it a channel, and the next step."""
    lines: list[Rich] = [
        compose(CREATED_IN, name=name, place=created_in) if created_in else compose(CREATED, name=name)
    ]
    if created_in is not None:
        if attributed:
            rituals = _plural(attributed, "ritual")
            lines.append(compose(RITUALS_ATTRIBUTED, rituals=rituals, name=name))
    else:
        delete, again = (
            Example(EXAMPLE_DELETE.format(name=name)),
            Example(EXAMPLE_CREATE_HERE.format(name=name)),
        )
        lines.append(compose(NO_CHANNEL_NOTE, delete=delete, create=again))
    lines.append(compose(NEXT_STEP, example=Example(EXAMPLE_ADD.format(team=name))))
    return Outcome.reply(joined(list(lines), "\n", "\n"), title="Team created")


def rises_to_manager(member: Member) -> bool:
    """Naming a plain member a team's manager raises their role; an admin stays admin."""
    return member.role == "member"


# --- storage shells: load, decide with the rules above, write -----------------------------------------


async def _find(ctx: PracticeContext, name: str) -> Team | Outcome:
    """The team by name, or a friendly answer listing the teams that do exist."""
    team = await store.team_by_name(ctx.session, ctx.workspace_id, name)
    if team is not None:
        return team
    known = [team.name for team in await store.list_teams(ctx.session, ctx.workspace_id)]
    if not known:
        return Outcome.reply(compose(UNKNOWN_NONE, name=Said(name), example=Example(EXAMPLE_CREATE)))
    example = Example(EXAMPLE_UNKNOWN.format(team=known[0]))
    return Outcome.reply(compose(UNKNOWN, name=Said(name), known=", ".join(known), example=example))


async def _may_change_members(ctx: PracticeContext, team: Team) -> bool:
    assert team.id is not None
    own = None if ctx.is_admin else await store.membership(ctx.session, team.id, ctx.actor_id)
    return may_change_members(ctx.is_admin, own)


async def list_teams(ctx: PracticeContext) -> Outcome:
    """Names, channel, member count and managers; open to everyone, as membership is not a figure."""
    found = await store.list_teams(ctx.session, ctx.workspace_id)
    if not found:
        return Outcome.reply(compose(NO_TEAMS, example=Example(EXAMPLE_CREATE)))
    counts = await store.member_counts(ctx.session, ctx.workspace_id)
    managers = await store.managers_by_team(ctx.session, ctx.workspace_id)
    lines = [
        describe(team, counts.get(team.id or 0, 0), managers.get(team.id or 0, []), ctx.min_group_size)
        for team in found
    ]
    lines.append((LIST_FOOTER,))
    return Outcome.reply(joined(list(lines), "\n", "\n"), title=LIST_TITLE)


async def create(ctx: PracticeContext, name: str, place_id: str | None) -> Outcome:
    """A new team; with a channel, that channel is both where it reports from and its shout-out channel."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    name = name.strip()
    if bad_name(name):
        return Outcome.reply(compose(BAD_NAME, example=Example(EXAMPLE_CREATE)))
    existing = await store.team_by_name(ctx.session, ctx.workspace_id, name)
    if existing is not None:
        return _duplicate(existing.name, place_id)
    if place_id:
        owner = await store.team_for_channel(ctx.session, ctx.workspace_id, place_id)
        if owner is not None:
            where = channel_words(place_id, ctx.place_id, ctx.is_direct)
            example = Example(EXAMPLE_CREATE_HERE.format(name=name))
            return Outcome.reply(compose(CHANNEL_TAKEN, place=where, team=owner.name, example=example))
    team = await store.add_team(
        ctx.session,
        Team(
            workspace_id=ctx.workspace_id,
            name=name,
            channel_id=place_id,
            shoutout_channel_id=place_id,
            created_at=ctx.now,
        ),
    )
    if team is None or team.id is None:  # created by a concurrent request a moment ago
        return _duplicate(name, place_id)
    created_in = channel_words(place_id, ctx.place_id, ctx.is_direct) if place_id else None
    attributed = (
        await store.attribute_rituals(ctx.session, ctx.workspace_id, place_id, team.id) if place_id else 0
    )
    return created_answer(name, created_in, attributed)


def _duplicate(name: str, place_id: str | None) -> Outcome:
    """A taken name; the example keeps the channel the person meant (typed there as "here")."""
    if place_id:
        example = Example(EXAMPLE_CREATE_HERE.format(name=f"{name}-web"))
        return Outcome.reply(compose(DUPLICATE_IN, name=name, example=example))
    return Outcome.reply(compose(DUPLICATE, name=name, example=Example(EXAMPLE_RENAME.format(name=name))))


async def add_members(ctx: PracticeContext, name: str, members: list[Member]) -> Outcome:
    """Admins, or a manager of the team; someone already in it is a no-op with a note."""
    return await _change_membership(
        ctx, name, members, store.add_membership, ADDED, ALREADY_IN, refuse_bots=True
    )


async def remove_members(ctx: PracticeContext, name: str, members: list[Member]) -> Outcome:
    """Admins, or a manager of the team; someone not in it is a no-op with a note."""
    return await _change_membership(ctx, name, members, store.remove_membership, REMOVED, NOT_IN)


async def _change_membership(
    ctx: PracticeContext,
    name: str,
    members: list[Member],
    change: Callable[[Session, int, int], Awaitable[bool]],
    done: str,
    unchanged: str,
    *,
    refuse_bots: bool = False,
) -> Outcome:
    """Adds or removes people; ``change`` says whether it changed anything for each person."""
    team = await _find(ctx, name)
    if isinstance(team, Outcome):
        return team
    assert team.id is not None
    if not await _may_change_members(ctx, team):
        return Outcome.reply(compose(ONLY_MANAGERS, team=team.name, example=Example(EXAMPLE_LIST)))
    people = unique_people(ctx.workspace_id, members)
    refusal = people_refusal(team, people, refuse_bots=refuse_bots)
    if refusal is not None:
        return refusal
    changed: list[Member] = []
    same: list[Member] = []
    for member in people:
        (changed if await change(ctx.session, team.id, member.id or 0) else same).append(member)
    return Outcome.reply(membership_answer(team, changed, same, done, unchanged))


async def set_managers(ctx: PracticeContext, name: str, members: list[Member]) -> Outcome:
    """Admins only. Managers join the team if they were not in it, and a plain member's role rises."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    team = await _find(ctx, name)
    if isinstance(team, Outcome):
        return team
    assert team.id is not None
    people = unique_people(ctx.workspace_id, members)
    refusal = people_refusal(team, people)
    if refusal is not None:
        return refusal
    promoted: list[Member] = []
    joined: list[Member] = []
    already: list[Member] = []
    for member in people:
        assert member.id is not None
        found = await store.membership(ctx.session, team.id, member.id)
        if found is None and await store.add_membership(ctx.session, team.id, member.id, is_manager=True):
            joined.append(member)
        else:  # in the team already (or added a moment ago by a concurrent request)
            found = found or await store.membership(ctx.session, team.id, member.id)
            if found is None or found.is_manager:
                already.append(member)
                continue
            await store.make_manager(ctx.session, found)
        promoted.append(member)
        if rises_to_manager(member):
            await store.raise_role(ctx.session, member, "manager")
    return Outcome.reply(managers_answer(team, promoted, joined, already))


async def delete(ctx: PracticeContext, name: str) -> Outcome:
    """Admins only. Memberships go; rituals that counted for the team carry on without one."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    team = await _find(ctx, name)
    if isinstance(team, Outcome):
        return team
    shown = team.name
    await store.delete_team(ctx.session, team)
    return Outcome.reply(DELETED.format(name=shown))


# --- the words: /tend team, its parsers and its help ---------------------------------------------------

TEAM_EXAMPLE = "/tend team add platform @sam @kim"
CREATE_EXAMPLE = "/tend team create platform here"
DELETE_EXAMPLE = "/tend team delete platform"
_TEAM_NAME = re.compile(r"[\w.-]{1,80}")


@dataclass(frozen=True)
class TeamList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_teams(ctx)


@dataclass(frozen=True)
class TeamCreate:
    name: str
    place: PlaceRef | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await create(ctx, self.name, place_id(ctx, self.place) if self.place else None)


@dataclass(frozen=True)
class TeamAdd:
    name: str
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await add_members(ctx, self.name, await resolve_people(ctx, self.members))


@dataclass(frozen=True)
class TeamRemove:
    name: str
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove_members(ctx, self.name, await resolve_people(ctx, self.members))


@dataclass(frozen=True)
class TeamManager:
    name: str
    members: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_managers(ctx, self.name, await resolve_people(ctx, self.members))


@dataclass(frozen=True)
class TeamDelete:
    name: str

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await delete(ctx, self.name)


def team_name(args: list[Token], example: str) -> str | UsageError:
    """A team's name as typed: one word of letters, digits, - _ or . (the index takes one too)."""
    if not args or args[0].kind == "mention":
        return UsageError("Give the team's name first, like platform.", example)
    if args[0].kind != "word" or not _TEAM_NAME.fullmatch(args[0].raw):
        msg = f"“{shown(args[0].raw)}” can't be a team name: use 1–80 letters, digits, - _ or . (no spaces)."
        return UsageError(msg, example)
    return args[0].raw


def parse_create(text: str, args: list[Token]) -> Result:
    name = team_name(args, CREATE_EXAMPLE)
    if isinstance(name, UsageError):
        return name
    place = place_of(args[1]) if len(args) > 1 else None
    extra = args[1] if len(args) > 1 and place is None else args[2] if len(args) > 2 else None
    if extra is not None:
        msg = f"After the team name I expected a #channel, not “{shown(extra.raw)}” (names have no spaces)."
        return UsageError(msg, CREATE_EXAMPLE)
    return TeamCreate(name, place)


def team_people(make: Callable[[str, People], Command], doing: str) -> Parser:
    def parse_(text: str, args: list[Token]) -> Result:
        name = team_name(args, TEAM_EXAMPLE)
        if isinstance(name, UsageError):
            return name
        found = members(args[1:], doing, TEAM_EXAMPLE)
        return found if isinstance(found, UsageError) else make(name, found)

    return parse_


def parse_delete(text: str, args: list[Token]) -> Result:
    name = team_name(args, DELETE_EXAMPLE)
    if isinstance(name, UsageError):
        return name
    if len(args) > 1:
        return UsageError(f"I only need the team name; remove “{shown(args[1].raw)}”.", DELETE_EXAMPLE)
    return TeamDelete(name)


parse_team = group(
    "team",
    {
        "list": only(TeamList, "team list"),
        "create": parse_create,
        "add": team_people(TeamAdd, "add to the team"),
        "remove": team_people(TeamRemove, "remove from the team"),
        "manager": team_people(TeamManager, "make a manager of the team"),
        "delete": parse_delete,
    },
    TEAM_EXAMPLE,
)

TOPIC = Topic(
    "team",
    "which people and channel make up a team (admins)",
    "A team is what the index reports on and where its shout-outs go; it usually maps to a channel.",
    (
        Usage("/tend team list", "", "the teams and their channels", "/tend team list", TEAM),
        Usage("/tend team create", "<name> [#channel]", "a new team", CREATE_EXAMPLE),
        Usage("/tend team add", "<name> @person ...", "add people", TEAM_EXAMPLE),
        Usage("/tend team remove", "<name> @person ...", "remove people", "/tend team remove platform @kim"),
        Usage(
            "/tend team manager",
            "<name> @person ...",
            "make people its managers",
            "/tend team manager platform @sam",
        ),
        Usage("/tend team delete", "<name>", "delete the team", DELETE_EXAMPLE),
    ),
    aliases=("teams",),
)

# --- data rights: team memberships --------------------------------------------------------------
TEAMS_HEADING = "*Your teams*"
TEAM_LINE = "• {name}{manager}"
MANAGER_MARK = " (you manage it)"
FORGET_ASK = "team memberships removed: {count}"
FORGET_DONE = "team memberships: {count}"


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    teams = await store.memberships_of(ctx.session, ctx.actor_id)
    lines = tuple(
        compose(TEAM_LINE, name=Said(team.name), manager=MANAGER_MARK if manages else "")
        for team, manages in teams
    )
    data = [{"name": team.name, "manager": manages} for team, manages in teams]
    return (ExportSection(TEAMS_HEADING, "teams", data, lines=lines),)


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    """The person leaves every team; the teams stay, for the others in them."""
    if not erase:
        count = len(await store.memberships_of(ctx.session, ctx.actor_id))
        return Forgetting(erased=(FORGET_ASK.format(count=count),))
    count = await store.remove_memberships(ctx.session, ctx.actor_id)
    return Forgetting(erased=(FORGET_DONE.format(count=count),))


PRACTICE = Practice(
    name="teams",
    order=60,
    commands={"team": parse_team},
    topics=(TOPIC,),
    export=export_mine,
    forget=forget_mine,
)
