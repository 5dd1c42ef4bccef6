"""Compassion ambassadors: a named network that hears, once a month and privately, where support is thin.

An admin names ambassadors (``/tend ambassadors add @sam``) and a shared channel for them
(``/tend ambassadors space #ambassadors``). Each month every ambassador gets a private digest, in their
own working hours: aggregate signals (support requests left unanswered, teams that heard no shout-out
for weeks, compassion pods that did not meet, newcomers waiting for a culture carrier) and prompts to
act. Every figure follows the index's rule: nothing about a group below the minimum group size, no
names of people, no team smaller than the minimum. Ambassadors are eligible as culture carriers
(``practices/carriers.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from practices import compassion_index_maths as maths
from practices.grammar import (
    TEAM,
    People,
    PlaceRef,
    Result,
    Token,
    Topic,
    Usage,
    UsageError,
    group,
    only,
    people_cmd,
    place_of,
    shown,
)
from practices.messages import (
    Card,
    DirectMessage,
    Example,
    Fine,
    Intent,
    Outcome,
    Place,
    Reply,
    Rich,
    Said,
    Span,
    Text,
    compose,
    joined,
    text_card,
)
from practices.people import mentioned, place_id, refuse_adding, resolve_people
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext, SweepContext, SweepResult
from practices.privacy_policy import shows
from practices.roles import ONLY_ADMINS
from practices.signals import iso_week
from storage import ambassadors as store
from storage import carriers as carrier_store
from storage import compassion_index as index_store
from storage.db import Session
from storage.models import Member, Team, Workspace

WINDOW_WEEKS = 4  # a digest compares the last four finished weeks with the four before
QUIET_WEEKS = 4  # a team with no shout-out for this long is "quiet"

ADD_EXAMPLE = "/tend ambassadors add @sam"
REMOVE_EXAMPLE = "/tend ambassadors remove @sam"
LIST_EXAMPLE = "/tend ambassadors list"
SPACE_EXAMPLE = "/tend ambassadors space here"

ADDED = "{names} will get the monthly ambassadors' digest, privately and in their working hours."
NOT_PEOPLE = "{names}: bots can't be ambassadors. Example: {example}"
REMOVED = "{names} won't get the ambassadors' digest any more."
NOT_AMBASSADORS = "{names} wasn't an ambassador. Type {example} to see who is."
WELCOME_TITLE = "You're a compassion ambassador"
WELCOME = (
    "Once a month I'll send you, privately, where support looks thin: totals only, never names, and "
    "nothing about a group smaller than {minimum}. You're also eligible to welcome newcomers as a culture "
    "carrier."
)
LIST_TITLE = "Compassion ambassadors"
NONE_YET = compose("No ambassadors yet. Name one, for example: {example}", example=Example(ADD_EXAMPLE))
LIST_NAMES = "Ambassadors: {names}."
SPACE_LINE = "Their shared space: {place}."
NO_SPACE = compose(
    "No shared space yet. An admin can set one, for example: {example}", example=Example(SPACE_EXAMPLE)
)
ONLY_ADMINS_OR_AMBASSADORS = compose(
    "Only Tend admins and ambassadors can see the network. Type {example} to see who the admins are.",
    example=Example("/tend admin list"),
)
SPACE_SET = "The ambassadors' shared space is now {place}; the monthly digest links it."
SPACE_NOWHERE = "“here” is a private chat; name a channel the ambassadors share. Example: {example}"

DIGEST_TITLE = "Your ambassadors' digest for {month}"
DIGEST_INTRO = "Where support may be thin across the organisation, from totals only:"
SUPPORT_TREND = "*Support requests left unanswered:* {now} of {asked} in the last {weeks} weeks{before}."
SUPPORT_BEFORE = " ({now} of {asked} in the {weeks} weeks before)"
SUPPORT_FEW = (
    "*Support requests:* fewer than {minimum} in the last {weeks} weeks, so no figure is shown "
    "(that keeps them anonymous)."
)
QUIET = "*Teams with no shout-out for {weeks} weeks:* {teams}."
QUIET_NONE = "*Every team* of {minimum} or more people heard a shout-out in the last {weeks} weeks."
PODS_UNMET = "*Compassion pods that did not meet:* {unmet} of {formed} formed in the last {weeks} weeks."
PODS_FEW = "*Compassion pods:* fewer than {minimum} formed in the last {weeks} weeks, so no figure is shown."
WAITING_MANY = "*Newcomers waiting for a culture carrier:* {count}."
WAITING_SOME = "*Some newcomers* are waiting for a culture carrier."
TOO_SMALL = "The organisation has fewer than {minimum} people Tend knows, so no figures are shown yet."
PROMPTS = "*Ideas to act on:* {ideas}"
IDEA_THANK = "thank someone in a quiet team ({example})"
IDEA_WELCOME = "welcome a newcomer: you're eligible as a culture carrier ({example})"
IDEA_POD = "offer to host a compassion pod, or bring a few people from different teams together for a chat"
IDEA_SUPPORT = "check the support rota is staffed ({example})"
SPACE_LINK = "Coordinate with the other ambassadors in {place}."
DIGEST_FINE = (
    "Totals only: no names, and nothing about a team or group smaller than {minimum} people. "
    "Only ambassadors get this digest."
)


# --- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AmbassadorsAdd:
    people: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await add(ctx, await resolve_people(ctx, self.people))


@dataclass(frozen=True)
class AmbassadorsRemove:
    people: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove(ctx, await resolve_people(ctx, self.people))


@dataclass(frozen=True)
class AmbassadorsList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_ambassadors(ctx)


@dataclass(frozen=True)
class AmbassadorsSpace:
    place: PlaceRef

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_space(ctx, self.place)


def _parse_space(text: str, args: list[Token]) -> Result:
    if len(args) != 1 or (place := place_of(args[0])) is None:
        what = f"not “{shown(args[0].raw)}”" if args else "and nothing else"
        return UsageError(
            f"Name one channel for the ambassadors' space, like #ambassadors or here; {what}.", SPACE_EXAMPLE
        )
    return AmbassadorsSpace(place)


parse_ambassadors = group(
    "ambassadors",
    {
        "add": people_cmd(AmbassadorsAdd, "name as an ambassador", ADD_EXAMPLE),
        "remove": people_cmd(AmbassadorsRemove, "remove as an ambassador", REMOVE_EXAMPLE),
        "list": only(AmbassadorsList, "ambassadors list"),
        "space": _parse_space,
    },
    LIST_EXAMPLE,
)


# --- rules: pure, called by tests with no database ---------------------------------------------------


def add_refusal(is_admin: bool, people: list[Member]) -> Rich | None:
    """Only admins name ambassadors, and only people (never bots)."""
    return refuse_adding(is_admin, people, ONLY_ADMINS, NOT_PEOPLE, ADD_EXAMPLE)


def welcome(member_id: int, min_group_size: int, now: datetime) -> DirectMessage:
    """A new ambassador's private welcome (said once a day at most, however often they are added)."""
    card = text_card(WELCOME.format(minimum=min_group_size), WELCOME_TITLE)
    return DirectMessage(member_id, card, key=f"ambassador-welcome:{member_id}:{now:%Y%m%d}")


def removed_answer(people: list[Member], removed: list[Member]) -> Rich:
    if not removed:
        return compose(NOT_AMBASSADORS, names=mentioned(people), example=Example(LIST_EXAMPLE))
    return compose(REMOVED, names=mentioned(removed))


def may_list(is_admin: bool, actor_id: int | None, ambassadors: list[Member]) -> bool:
    """Admins and the ambassadors themselves see the network and its space."""
    return is_admin or actor_id in {member.id for member in ambassadors}


def list_card(ambassadors: list[Member], space: str | None) -> Card:
    blocks: list[Text] = [
        Text(compose(LIST_NAMES, names=mentioned(ambassadors)) if ambassadors else NONE_YET)
    ]
    blocks.append(Text(compose(SPACE_LINE, place=Place(space)) if space else NO_SPACE))
    return Card(LIST_TITLE, tuple(blocks))


@dataclass(frozen=True)
class DigestFigures:
    """What one organisation's digest rests on, already counted (``digest_card`` decides what shows)."""

    people: int  # people Tend knows in the organisation
    requested: int  # support requests, last window
    unanswered: int
    requested_before: int  # the window before
    unanswered_before: int
    quiet_teams: tuple[str, ...]  # teams of at least the minimum size with no shout-out in the window
    waiting: int  # newcomers of this workspace waiting for a carrier
    pods_formed: int = 0  # compassion pods formed in the last window
    pods_met: int = 0  # of those, pods someone said met


def finished_weeks(today: date, count: int, skip: int = 0) -> list[str]:
    """ISO weeks before ``today``'s, most recent first, after skipping ``skip`` of them."""
    monday = today - timedelta(days=today.weekday())
    return [iso_week_of(monday - timedelta(weeks=skip + n + 1)) for n in range(count)]


def iso_week_of(day: date) -> str:
    return iso_week(datetime(day.year, day.month, day.day))


def digest_card(figures: DigestFigures, month: str, minimum: int, space: str | None) -> Card:
    """The digest, with every figure under the minimum group size left out (pure: tests read it)."""
    blocks: list[Text | Fine] = [Text(DIGEST_INTRO)]
    ideas: list[Span | Rich] = []
    if not shows(figures.people, minimum):
        blocks.append(Text(TOO_SMALL.format(minimum=minimum)))
    else:
        if figures.requested >= minimum:
            before = ""
            if figures.requested_before >= minimum:
                before = SUPPORT_BEFORE.format(
                    now=figures.unanswered_before, asked=figures.requested_before, weeks=WINDOW_WEEKS
                )
            blocks.append(
                Text(
                    SUPPORT_TREND.format(
                        now=figures.unanswered, asked=figures.requested, weeks=WINDOW_WEEKS, before=before
                    )
                )
            )
            if figures.unanswered:
                ideas.append(compose(IDEA_SUPPORT, example=Example("/tend support list")))
        else:
            blocks.append(Text(SUPPORT_FEW.format(minimum=minimum, weeks=WINDOW_WEEKS)))
        if figures.quiet_teams:
            teams = joined([Said(name) for name in figures.quiet_teams])
            blocks.append(Text(compose(QUIET, weeks=QUIET_WEEKS, teams=teams)))
            ideas.append(compose(IDEA_THANK, example=Example("/kudos @sam thanks for the help #teamwork")))
        else:
            blocks.append(Text(QUIET_NONE.format(minimum=minimum, weeks=QUIET_WEEKS)))
        if figures.pods_formed >= minimum:
            unmet = max(0, figures.pods_formed - figures.pods_met)
            blocks.append(
                Text(PODS_UNMET.format(unmet=unmet, formed=figures.pods_formed, weeks=WINDOW_WEEKS))
            )
        elif figures.pods_formed:
            blocks.append(Text(PODS_FEW.format(minimum=minimum, weeks=WINDOW_WEEKS)))
    if figures.waiting >= minimum:
        blocks.append(Text(WAITING_MANY.format(count=figures.waiting)))
    elif figures.waiting:
        blocks.append(Text(WAITING_SOME))
    if figures.waiting:
        ideas.append(compose(IDEA_WELCOME, example=Example("/tend help carriers")))
    ideas.append((IDEA_POD,))
    blocks.append(Text(compose(PROMPTS, ideas=joined(ideas, "; ", "; "))))
    blocks.append(Text(compose(SPACE_LINK, place=Place(space)) if space else NO_SPACE))
    blocks.append(Fine(DIGEST_FINE.format(minimum=minimum)))
    return Card(DIGEST_TITLE.format(month=month), tuple(blocks))


def _sum(rows: list[index_store.SignalRow], weeks: list[str], kind: str) -> int:
    wanted = set(weeks)
    return sum(row.count for row in rows if row.kind == kind and row.week in wanted and row.team_id >= 0)


def quiet_teams(
    teams: list[Team], thanked: set[int], people: int, sizes: dict[int, int], minimum: int
) -> tuple[str, ...]:
    """Teams nobody thanked lately, named only when the team is big enough to be shown at all."""
    quiet: list[str] = []
    for team in teams:
        group_of_team = maths.group_from_sizes(
            team.name, [team.id or 0], maths.Sizes(people, sizes, sizes.get(team.id or 0, 0)), minimum
        )
        if group_of_team.hidden is None and team.id not in thanked:
            quiet.append(team.name)
    return tuple(quiet)


def figures_from(
    rows: list[index_store.SignalRow],
    now: datetime,
    people: int,
    sizes: dict[int, int],
    teams: list[Team],
    waiting: int,
    minimum: int,
) -> DigestFigures:
    """The organisation's counters of the last two windows, as the digest's figures."""
    recent = finished_weeks(now.date(), WINDOW_WEEKS)
    before = finished_weeks(now.date(), WINDOW_WEEKS, skip=WINDOW_WEEKS)
    thanked = {row.team_id for row in rows if row.kind == "shoutout_given" and row.week in set(recent)}
    return DigestFigures(
        people=people,
        requested=_sum(rows, recent, "stress_support_requested"),
        unanswered=_sum(rows, recent, "stress_unsupported"),
        requested_before=_sum(rows, before, "stress_support_requested"),
        unanswered_before=_sum(rows, before, "stress_unsupported"),
        quiet_teams=quiet_teams(teams, thanked, people, sizes, minimum),
        waiting=waiting,
        pods_formed=_sum(rows, recent, "pod_formed"),
        pods_met=_sum(rows, recent, "pod_met"),
    )


def gets_digest(member: Member) -> bool:
    """Bots and people who left get no digest."""
    return not (member.is_bot or member.deactivated)


# --- storage shells: load, decide with the rules above, write -----------------------------------------


async def add(ctx: PracticeContext, people: list[Member]) -> Outcome:
    refusal = add_refusal(ctx.is_admin, people)
    if refusal is not None:
        return Outcome.reply(refusal)
    intents: list[Intent] = []
    for member in people:
        assert member.id is not None
        if await store.add(ctx.session, ctx.workspace_id, member.id, ctx.now):
            intents.append(welcome(member.id, ctx.min_group_size, ctx.now))
    return Outcome((*intents, Reply(text_card(compose(ADDED, names=mentioned(people))))))


async def remove(ctx: PracticeContext, people: list[Member]) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    removed = [
        m for m in people if m.id is not None and await store.remove(ctx.session, ctx.workspace_id, m.id)
    ]
    return Outcome.reply(removed_answer(people, removed))


async def list_ambassadors(ctx: PracticeContext) -> Outcome:
    """Admins and the ambassadors themselves see the network and its space."""
    found = await store.ambassadors_in(ctx.session, ctx.workspace_id)
    if not may_list(ctx.is_admin, ctx.actor.id, found):
        return Outcome.reply(ONLY_ADMINS_OR_AMBASSADORS)
    space = await store.space_of(ctx.session, ctx.workspace_id)
    return Outcome((Reply(list_card(found, space.place_id if space else None)),))


async def set_space(ctx: PracticeContext, place: PlaceRef) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    where = place_id(ctx, place)
    if where is None:
        return Outcome.reply(compose(SPACE_NOWHERE, example=Example("/tend ambassadors space #ambassadors")))
    await store.set_space(ctx.session, ctx.workspace_id, where, ctx.now)
    return Outcome.reply(compose(SPACE_SET, place=Place(where, place.name if not place.is_here else "")))


async def figures_for(session: Session, workspace: Workspace, now: datetime, minimum: int) -> DigestFigures:
    """The organisation's counters of the last weeks, read once per workspace and digest month."""
    assert workspace.id is not None
    organization = workspace.organization_id
    recent = finished_weeks(now.date(), WINDOW_WEEKS)
    before = finished_weeks(now.date(), WINDOW_WEEKS, skip=WINDOW_WEEKS)
    rows = await index_store.signals_for_weeks(session, organization, recent + before)
    people, sizes = await index_store.people_counts(session, organization)
    teams = await index_store.organization_teams(session, organization)
    waiting = (await carrier_store.coverage(session, workspace.id)).waiting
    return figures_from(rows, now, people, sizes, teams, waiting, minimum)


async def sweep(ctx: SweepContext) -> list[SweepResult]:
    """Each ambassador's digest, once a month (the month's row is the marker, so replicas send it once);
    the outbox holds it for the ambassador's own working hours."""
    month = f"{ctx.now:%Y-%m}"
    results: list[SweepResult] = []
    figures: dict[int, DigestFigures] = {}
    for workspace, member in await store.without_digest(ctx.session, month):
        assert workspace.id is not None and member.id is not None
        if not gets_digest(member):
            continue
        if not await store.mark_digest(ctx.session, member.id, month, ctx.now):
            continue
        if workspace.id not in figures:
            figures[workspace.id] = await figures_for(ctx.session, workspace, ctx.now, ctx.min_group_size)
        space = await store.space_of(ctx.session, workspace.id)
        card = digest_card(
            figures[workspace.id], month, ctx.min_group_size, space.place_id if space else None
        )
        scope = f"ambassador-digest:{member.id}:{month}"
        results.append(SweepResult(workspace, Outcome((DirectMessage(member.id, card, key=scope),)), scope))
    return results


# --- data rights -------------------------------------------------------------------------------------


async def export(ctx: PracticeContext) -> list[ExportSection]:
    is_one = await store.is_ambassador(ctx.session, ctx.workspace_id, ctx.actor_id)
    months = await store.digests_of(ctx.session, ctx.actor_id)
    lines: list[Rich | str] = []
    if is_one:
        lines.append("You are a compassion ambassador.")
    if months:
        lines.append(f"Monthly digests sent to you: {', '.join(months)}")
    data = {"ambassador": is_one, "digests_sent": months}
    return [ExportSection("*Compassion ambassadors*", "compassion_ambassadors", data, tuple(lines))]


async def forget(ctx: PracticeContext, erase: bool) -> Forgetting:
    is_one = await store.is_ambassador(ctx.session, ctx.workspace_id, ctx.actor_id)
    months = await store.digests_of(ctx.session, ctx.actor_id)
    if erase:
        await store.forget(ctx.session, ctx.actor_id)
    lines: list[str] = []
    if is_one:
        lines.append("compassion ambassador role")
    if months:
        lines.append(f"ambassador digests sent: {len(months)}")
    return Forgetting(erased=tuple(lines))


TOPIC = Topic(
    "ambassadors",
    "a network that hears monthly where support is thin",
    "Ambassadors get a private monthly digest of totals that show where support may be thin, with ideas "
    "to act on and a link to their shared channel. No names, and nothing about a group smaller than the "
    "minimum group size. Ambassadors are eligible as culture carriers.",
    (
        Usage("/tend ambassadors add", "@person [@person ...]", "name ambassadors (admins)", ADD_EXAMPLE),
        Usage(
            "/tend ambassadors remove", "@person [@person ...]", "remove ambassadors (admins)", REMOVE_EXAMPLE
        ),
        Usage(
            "/tend ambassadors list",
            "",
            "the ambassadors and their space (admins, ambassadors)",
            LIST_EXAMPLE,
        ),
        Usage(
            "/tend ambassadors space",
            "<#channel|here>",
            "set their shared channel (admins)",
            SPACE_EXAMPLE,
            TEAM,  # typed in the channel itself: "here"
        ),
    ),
    aliases=("ambassador",),
)

PRACTICE = Practice(
    name="ambassadors",
    order=64,
    commands={"ambassadors": parse_ambassadors},
    topics=(TOPIC,),
    sweeps=(sweep,),
    privacy=(
        "Compassion ambassadors: who is one, their shared channel, and which months' digests were sent. "
        "The digest holds totals only: no names, nothing about a group below the minimum group size.",
    ),
    export=export,
    forget=forget,
)
