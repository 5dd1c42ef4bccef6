"""Ritual administration (``/tend ritual add|list|pause|resume|remove``) and the channel rituals' firing.

A ritual is stored with a canonical schedule text, its own time zone and the next time it fires
(UTC). Admins manage them; every id is looked up inside the caller's workspace, so one workspace's
admin can never see or change another's rituals.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from practices import local_time, shoutouts
from practices.grammar import (
    KINDS_SLOT,
    TEAM,
    PlaceRef,
    Result,
    Token,
    Topic,
    Usage,
    UsageError,
    group,
    id_cmd,
    only,
    place_of,
    shown,
    span,
    zone,
)
from practices.messages import (
    Example,
    Mention,
    Outcome,
    Place,
    PostToPlace,
    Rich,
    Said,
    When,
    compose,
    joined,
)
from practices.people import place_id
from practices.practice import (
    ExportSection,
    FireContext,
    Forgetting,
    NextRun,
    Practice,
    PracticeContext,
    RitualKind,
)
from practices.roles import ONLY_ADMINS
from practices.schedules import Recurrence, ScheduleError, parse_schedule
from storage import rituals as store
from storage.addresses import unreachable_members
from storage.models import Member, Ritual
from storage.org_teams import team_for_channel


def listed_kinds(ctx: PracticeContext) -> dict[str, str]:
    """The kinds admins add with /tend ritual add, as the practices declare them (name -> summary)."""
    return {k.name: k.summary for practice in ctx.practices for k in practice.rituals if k.listed}


RITUAL_EXAMPLE = "/tend ritual add opener here mon,wed 09:25 Europe/Berlin"
EXAMPLE = Example(RITUAL_EXAMPLE)
ADD_USAGE = Usage(
    "/tend ritual add",
    f"{KINDS_SLOT} <#channel|here> <schedule> [time zone]",
    "start a ritual",
    RITUAL_EXAMPLE,
    TEAM,
)
NO_PLACE = "Say where the ritual posts: a #channel, or here. Example: {example}"
NEVER = "That schedule never comes round. Example: {example}"
# The one check of the kind (the grammar takes any word there): the kinds in use, the usage as help
# shows it (a *synopsis*, not a command to type) and an example that works as typed.
UNKNOWN_KIND = (
    "I don't know the ritual kind “{kind}”; pick one of {kinds}.\n"
    "Usage: *{command}* {args}\nExample: {example}"
)
BAD_SCHEDULE = "{message} Example: {example}"
# A channel other than where the person typed: examples say "here" (the channel reference every platform
# types; Teams people cannot type a #channel) and name the channel to type it in as a Place.
BAD_SCHEDULE_THERE = "{message} Example, typed in {place}: {example}"
BAD_ZONE = "I don't know the time zone “{zone}”. Example: {example}"
NOT_FOUND = "There is no ritual #{id} here. Type {example} to see their numbers."
LIST_EXAMPLE = Example("/tend ritual list")
NONE_YET = "No rituals yet. Add one, for example: {example}"
UNREACHABLE = (
    "Tend can't reach {names}: they blocked or removed Tend, so their private prompts and notes are "
    "skipped until they write to Tend again."
)
NAMELESS = "someone with no name yet"


def options_of(ritual: Ritual) -> dict[str, object]:
    try:
        loaded = json.loads(ritual.options or "{}")
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, dict) else {}


def anchor_of(ritual: Ritual) -> date | None:
    raw = options_of(ritual).get("anchor")
    return date.fromisoformat(raw) if isinstance(raw, str) else None


def lead_of(ritual: Ritual) -> timedelta:
    """How long before the recurrence instant the ritual fires (1:1 nudges fire ahead of the meeting)."""
    minutes = options_of(ritual).get("lead_minutes", 0)
    return timedelta(minutes=minutes if isinstance(minutes, int) else 0)


def recurrence_of(ritual: Ritual) -> Recurrence:
    parsed = parse_schedule(ritual.schedule)
    if isinstance(parsed, ScheduleError):  # only canonical texts are stored, so this means corruption
        raise ValueError(f"ritual {ritual.id} has an unreadable schedule")
    return parsed


def local(moment: datetime, time_zone: str) -> str:
    return local_time.day_and_time(moment, time_zone)


def describe(ritual: Ritual, viewer_time_zone: str) -> Rich:
    """One ritual: its channel as a channel reference, its next run in the reader's own time."""
    where = Place(ritual.place_id) if ritual.place_id else "private"
    when = recurrence_of(ritual).describe()
    if ritual.paused:
        state: Rich = ("paused",)
    elif ritual.next_run_at:
        fallback = local(ritual.next_run_at, viewer_time_zone)
        state = compose("next {at} your time", at=When(ritual.next_run_at, fallback))
    else:
        state = ("no next run",)
    return compose(
        "#{id} {kind} in {where}: {when} ({zone}); {state}",
        id=ritual.id or 0,
        kind=ritual.kind,
        where=where,
        when=when,
        zone=ritual.time_zone,
        state=state,
    )


# --- rules: pure, called by tests with no database ---------------------------------------------


@dataclass(frozen=True)
class Timing:
    """What pausing or resuming writes on the ritual."""

    paused: bool
    next_run_at: datetime | None


@dataclass(frozen=True)
class AddRequest:
    """``/tend ritual add`` as typed, with where it was typed and who typed it."""

    kind: str
    place_id: str | None
    schedule_text: str
    time_zone: str | None  # as typed; None: the admin's own
    typed_in: str | None
    own_zone: str


def new_ritual(
    request: AddRequest,
    is_admin: bool,
    kinds: Mapping[str, str],
    workspace_id: int,
    team_id: int | None,
    creator_id: int,
    now: datetime,
    next_run: NextRun,
) -> Ritual | Outcome:
    """The ritual to add (not yet stored), or why not: admins only, a listed kind, a place, a schedule
    that parses and comes round, a known zone. ``next_run`` is the recurrence maths (pure)."""
    kind, place_id, time_zone = request.kind, request.place_id, request.time_zone or request.own_zone
    if not is_admin:
        return Outcome.reply(ONLY_ADMINS)
    if kind not in kinds:
        listed = tuple(kinds)
        unknown = compose(
            UNKNOWN_KIND,
            kind=Said(shown(kind)),
            kinds=", ".join(listed),
            command=ADD_USAGE.command,
            args=ADD_USAGE.args_with(listed),
            example=EXAMPLE,
        )
        return Outcome.reply(unknown)
    if not place_id:
        return Outcome.reply(compose(NO_PLACE, example=EXAMPLE))
    recurrence = parse_schedule(request.schedule_text)
    if isinstance(recurrence, ScheduleError):
        zone_words = f" {request.time_zone}" if request.time_zone else ""
        typed = Example(f"/tend ritual add {kind} here {recurrence.example}{zone_words}")
        if place_id == request.typed_in:
            return Outcome.reply(compose(BAD_SCHEDULE, message=recurrence.message, example=typed))
        there = compose(BAD_SCHEDULE_THERE, message=recurrence.message, place=Place(place_id), example=typed)
        return Outcome.reply(there)
    if not local_time.is_known_zone(time_zone):
        return Outcome.reply(compose(BAD_ZONE, zone=Said(time_zone), example=EXAMPLE))
    anchor = local_time.local_date(now, time_zone)
    next_run_at = next_run(recurrence, time_zone, now, anchor)
    if next_run_at is None:
        return Outcome.reply(compose(NEVER, example=EXAMPLE))
    return Ritual(
        workspace_id=workspace_id,
        team_id=team_id,
        kind=kind,
        place_id=place_id,
        schedule=recurrence.to_text(),
        time_zone=time_zone,
        options=json.dumps({"anchor": anchor.isoformat()}),
        next_run_at=next_run_at,
        created_by_member_id=creator_id,
        created_at=now,
    )


def ritual_list(
    is_admin: bool,
    kinds: Mapping[str, str],
    rituals: Sequence[Ritual],
    unreachable: Sequence[Member],
    viewer_zone: str,
) -> Outcome:
    """The listed kinds' rituals in the reader's time, and who Tend cannot reach (never a silent failure)."""
    if not is_admin:
        return Outcome.reply(ONLY_ADMINS)
    found = [ritual for ritual in rituals if ritual.kind in kinds]
    lines: list[Rich] = [describe(ritual, viewer_zone) for ritual in found]
    lines = lines or [compose(NONE_YET, example=EXAMPLE)]
    if unreachable:
        names = joined(
            [
                Mention(m.platform_user_id, m.display_name) if m.display_name else NAMELESS
                for m in unreachable
            ],
            ", ",
            ", ",
        )
        lines.append(compose(UNREACHABLE, names=names))
    if not found:
        return Outcome.reply(joined(list(lines), "\n", "\n"))
    return Outcome.reply(joined(list(lines), "\n", "\n"), title="Rituals")


def owned(
    is_admin: bool, kinds: Mapping[str, str], ritual: Ritual | None, ritual_id: int
) -> Ritual | Outcome:
    """The ritual an admin names, if it is of a listed kind (the 1:1s and others are changed elsewhere)."""
    if not is_admin:
        return Outcome.reply(ONLY_ADMINS)
    if ritual is None or ritual.kind not in kinds:
        return Outcome.reply(compose(NOT_FOUND, id=ritual_id, example=LIST_EXAMPLE))
    return ritual


def timing(ritual: Ritual, paused: bool, now: datetime, next_run: NextRun) -> Timing:
    """Resuming fires next at the following occurrence: those missed while paused are not made up for."""
    if paused:
        return Timing(True, ritual.next_run_at)
    lead = lead_of(ritual)
    following = next_run(recurrence_of(ritual), ritual.time_zone, now + lead, anchor_of(ritual))
    return Timing(False, following - lead if following else None)


def timing_changed(ritual: Ritual, viewer_zone: str) -> Outcome:
    verb = "Paused" if ritual.paused else "Resumed"
    return Outcome.reply((f"{verb}. ", *describe(ritual, viewer_zone)))


# --- storage shells: load, decide with the rules above, write -------------------------------------


async def add(
    ctx: PracticeContext, kind: str, place_id: str | None, schedule_text: str, time_zone: str | None
) -> Outcome:
    team = (
        await team_for_channel(ctx.session, ctx.workspace_id, place_id) if ctx.is_admin and place_id else None
    )
    request = AddRequest(kind, place_id, schedule_text, time_zone, ctx.place_id, ctx.actor.time_zone)
    ritual = new_ritual(
        request,
        ctx.is_admin,
        listed_kinds(ctx),
        ctx.workspace_id,
        team.id if team else None,
        ctx.actor_id,
        ctx.now,
        ctx.next_run,
    )
    if isinstance(ritual, Outcome):
        return ritual
    await store.add(ctx.session, ritual)
    return Outcome.reply(("Added. ", *describe(ritual, ctx.actor.time_zone)), title="Ritual added")


async def list_rituals(ctx: PracticeContext) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    rituals = await store.list_for_workspace(ctx.session, ctx.workspace_id)
    unreachable = await unreachable_members(ctx.session, ctx.workspace_id)
    return ritual_list(ctx.is_admin, listed_kinds(ctx), rituals, unreachable, ctx.actor.time_zone)


async def _owned(ctx: PracticeContext, ritual_id: int) -> Ritual | Outcome:
    ritual = await store.get_in_workspace(ctx.session, ctx.workspace_id, ritual_id) if ctx.is_admin else None
    return owned(ctx.is_admin, listed_kinds(ctx), ritual, ritual_id)


async def set_paused(ctx: PracticeContext, ritual_id: int, paused: bool) -> Outcome:
    ritual = await _owned(ctx, ritual_id)
    if isinstance(ritual, Outcome):
        return ritual
    change = timing(ritual, paused, ctx.now, ctx.next_run)
    ritual.paused, ritual.next_run_at = change.paused, change.next_run_at
    store.save(ctx.session, ritual)
    return timing_changed(ritual, ctx.actor.time_zone)


async def remove(ctx: PracticeContext, ritual_id: int) -> Outcome:
    ritual = await _owned(ctx, ritual_id)
    if isinstance(ritual, Outcome):
        return ritual
    await store.delete(ctx.session, ritual)
    return Outcome.reply(f"Removed ritual #{ritual_id}. Nothing more will be posted for it.")


async def fire_shoutout_prompt(ctx: FireContext) -> Outcome:
    assert ctx.ritual.place_id is not None
    return Outcome((PostToPlace(ctx.ritual.place_id, shoutouts.prompt_card()),))


async def fire_shoutout_digest(ctx: FireContext) -> Outcome:
    place = ctx.ritual.place_id
    assert place is not None
    card = await shoutouts.digest(ctx.session, ctx.workspace_id, ctx.now, place)
    return Outcome((PostToPlace(place, card),))


# --- the words: /tend ritual, its parsers and its help --------------------------------------------


@dataclass(frozen=True)
class RitualList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_rituals(ctx)


@dataclass(frozen=True)
class RitualAdd:
    kind: str
    place: PlaceRef
    schedule: str
    time_zone: str | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await add(ctx, self.kind, place_id(ctx, self.place), self.schedule, self.time_zone)


@dataclass(frozen=True)
class RitualPause:
    ritual_id: int

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_paused(ctx, self.ritual_id, True)


@dataclass(frozen=True)
class RitualResume:
    ritual_id: int

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_paused(ctx, self.ritual_id, False)


@dataclass(frozen=True)
class RitualRemove:
    ritual_id: int

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove(ctx, self.ritual_id)


ADD_WHICH = "Say which ritual to add first, then where and when; `/tend help ritual` lists the kinds."


def parse_add(text: str, args: list[Token]) -> Result:
    """Any word is taken as the kind: which kinds exist is the registry's business, checked once, by
    ``new_ritual`` (an unknown kind is answered there with the kinds in use)."""
    ex = RITUAL_EXAMPLE
    if not args or args[0].kind != "word" or place_of(args[0]) is not None:
        return UsageError(ADD_WHICH, ex)
    place = place_of(args[1]) if len(args) > 1 else None
    if place is None:
        return UsageError("After the kind, say where it runs: a #channel or the word here.", ex)
    rest, time_zone = args[2:], None
    if rest and (time_zone := zone(rest[-1].raw)):
        rest = rest[:-1]
    elif rest and "/" in rest[-1].raw and local_time.ZONE_SHAPE.fullmatch(rest[-1].raw):
        msg = f"“{shown(rest[-1].raw)}” isn't a time zone I know; use an Area/City name like Europe/Berlin."
        return UsageError(msg, ex)
    if not rest:
        return UsageError("Add a schedule after the channel, like mon,wed 09:25.", ex)
    return RitualAdd(args[0].word, place, span(text, rest), time_zone)


parse_ritual = group(
    "ritual",
    {
        "list": only(RitualList, "ritual list"),
        "add": parse_add,
        "pause": id_cmd(RitualPause, "ritual", "/tend ritual pause 12"),
        "resume": id_cmd(RitualResume, "ritual", "/tend ritual resume 12"),
        "remove": id_cmd(RitualRemove, "ritual", "/tend ritual remove 12"),
    },
    RITUAL_EXAMPLE,
)

TOPIC = Topic(
    "ritual",
    "scheduled openers and shout-out rounds in a channel (admins)",
    "Rituals post on a schedule: an anonymous meeting opener, a shout-out prompt, or the week's "
    "shout-outs read back. Admins add and change them; `/tend help schedules` explains the times.",
    (
        Usage(
            "/tend ritual list",
            "",
            "every ritual, where it posts and when it runs next",
            "/tend ritual list",
            TEAM,
        ),
        ADD_USAGE,
        Usage("/tend ritual pause", "<id>", "stop it for now", "/tend ritual pause 12"),
        Usage("/tend ritual resume", "<id>", "start it again", "/tend ritual resume 12"),
        Usage("/tend ritual remove", "<id>", "delete it", "/tend ritual remove 12"),
    ),
    aliases=("rituals", "opener", "openers"),
)

# --- data rights: rituals the person created ----------------------------------------------------
CREATED_HEADING = "*Rituals you created*"
CREATED_LINE = "• #{id} {kind} in {where}: {schedule} ({zone}){paused}"
CREATED_PAUSED = "; paused"
CREATED_PRIVATE = "private"
FORGET_ASK = "rituals you created that keep running, no longer credited to you: {count}"
FORGET_DONE = "{count} ritual(s) you created, which keep running"


def schedule_words(ritual: Ritual) -> str:
    """The schedule as the export reads it ("every Friday at 16:00"), or as stored if unreadable."""
    parsed = parse_schedule(ritual.schedule)
    return ritual.schedule if isinstance(parsed, ScheduleError) else parsed.describe()


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    created = await store.created_by(ctx.session, ctx.workspace_id, ctx.actor_id)
    lines = tuple(
        compose(
            CREATED_LINE,
            id=ritual.id or 0,
            kind=ritual.kind,
            where=Place(ritual.place_id) if ritual.place_id else CREATED_PRIVATE,
            schedule=schedule_words(ritual),
            zone=ritual.time_zone,
            paused=CREATED_PAUSED if ritual.paused else "",
        )
        for ritual in created
    )
    data = [
        {
            "id": ritual.id,
            "kind": ritual.kind,
            "where": ritual.place_id,
            "schedule": schedule_words(ritual),
            "time_zone": ritual.time_zone,
            "paused": ritual.paused,
        }
        for ritual in created
    ]
    return (ExportSection(CREATED_HEADING, "rituals_created", data, lines=lines),)


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    """A ritual serves its channel, so it keeps running; only the credit to its creator goes."""
    if not erase:
        count = len(await store.created_by(ctx.session, ctx.workspace_id, ctx.actor_id))
        return Forgetting(kept=(FORGET_ASK.format(count=count),))
    count = await store.uncredit(ctx.session, ctx.workspace_id, ctx.actor_id)
    return Forgetting(kept=(FORGET_DONE.format(count=count),))


PRACTICE = Practice(
    name="rituals",
    order=20,
    commands={"ritual": parse_ritual},
    topics=(TOPIC,),
    rituals=(
        RitualKind(
            "shoutout-prompt", fire_shoutout_prompt, timedelta(hours=3), "'who helped you this week?' prompt"
        ),
        RitualKind("shoutout-digest", fire_shoutout_digest, timedelta(hours=3), "weekly shout-out read-back"),
    ),
    export=export_mine,
    forget=forget_mine,
)
