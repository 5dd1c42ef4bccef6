"""Compassion pods: small cross-team groups that meet every round to talk about challenges and share
support, so emotional labour is spread across the organisation instead of resting on a few people.

An admin starts a programme for a channel (``/tend pods start here``): the channel's team takes part
unless they opt out, or, with ``opt-in``, whoever opts in. A programme is a ``Ritual`` of kind ``pods``
(its schedule is the cadence, in the admin's zone) and a ``PodProgramme`` row. Each firing forms a
round with the pure matcher (``practices/pod_matching.py``): teams mixed, recent pairs apart, working
hours shared; nobody who is paused, skipping, opted out or out of office (``practices/availability``).
Each pod's conversation is opened with ``OpenGroup`` (a Slack group DM; on Teams a post in the
programme's channel that mentions them) at a moment inside all of their working hours, with a warm
introduction and the round's prompt (``practices/data/pod_prompts.txt``). Halfway through the round
each member gets a gentle nudge, and near its end a one-tap "did your pod meet?", both as private
messages that wait for the person's working hours.

Signals (counts per week, no names): rounds formed, pods formed, pods that met (once per pod, on the
first "yes"), cross-team ties (pairs of people from different teams in one pod).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Literal

from practices import local_time, signals
from practices.availability import Presence, is_available, week_start, week_windows
from practices.grammar import (
    TEAM,
    Parser,
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
    positive_id,
    shown,
)
from practices.hours import hours_of, is_within, next_send_time
from practices.messages import (
    Button,
    Buttons,
    Card,
    DirectMessage,
    Example,
    Intent,
    OpenGroup,
    Outcome,
    Place,
    PostToPlace,
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
from practices.people import mention
from practices.pod_matching import Candidate, Formation, form_pods
from practices.practice import (
    ExportSection,
    FireContext,
    Forgetting,
    Practice,
    PracticeContext,
    RitualKind,
    SweepContext,
    SweepResult,
)
from practices.schedules import Recurrence, ScheduleError, parse_schedule
from storage import ambassadors as ambassador_store
from storage import pods as store
from storage.identity import zone_known
from storage.models import Member, PodParticipant, PodProgramme, PodRound, Ritual

KIND = "pods"
ACTION = "pods"
MET = "pods.met"
GRACE = timedelta(hours=6)  # a round formed a few hours late still has its whole month ahead
RECENT_ROUNDS = 3  # pairs from this many past rounds are kept apart when possible
ROUND_TIME = "10:00"  # rounds form at 10:00 in the admin's zone (each message then waits for its reader)
MAX_WEEKS = 8
SIZE_LIMITS = (2, 12)
PROMPTS = Path(__file__).parent / "data" / "pod_prompts.txt"
SEARCH = timedelta(days=14)  # how far ahead to look for a moment inside everyone's working hours

START_EXAMPLE = "/tend pods start here size 4-6 monthly"
EXAMPLE = START_EXAMPLE
PAUSE_EXAMPLE = "/tend pods pause until 2027-01-15"

ONLY_ADMINS = "Only admins start, pause, resume or stop pod programmes; ask an admin. See {example}."
NO_PLACE = "Say where the programme runs: a #channel or here, as in {example}."
NO_TEAM = (
    "No team is linked to {place} yet, so I can't tell who its members are. Start it as opt-in "
    "({example}) or link a team to the channel first."
)
STARTED = (
    "Pods #{id} started in {place}: pods of {low}–{high} people, {cadence}, {who}. The first round is "
    "formed {first}. People can leave with {out}, sit out a round with {skip} or pause until a date."
)
WHO_CHANNEL = "everyone in the channel's team unless they opt out"
WHO_OPT_IN = "whoever opts in"
ANNOUNCE = (
    "*Compassion pods* start here: every round Tend gathers small groups of {low}–{high} people from "
    "different teams to share what is hard and what helps, {cadence}. {join}"
)
ANNOUNCE_CHANNEL = "Everyone in this channel's team takes part; {out} to step out."
ANNOUNCE_OPT_IN = "Want in? Type {join}."
NO_PROGRAMMES = "No pod programmes yet. An admin starts one with {example}."
LIST_LINE = "• #{id} in {place}: pods of {low}–{high}, {cadence}, {mode}; {state}; {rounds} round(s) formed"
NOT_FOUND = "There is no pod programme #{id} here; {example} shows them."
STATE_SET = "Pods #{id} is now {state}."
ALREADY = "Pods #{id} is already {state}."
STOPPED_FOR_GOOD = "Pods #{id} was stopped; start a new programme with {example}."
NONE_TO_CHANGE = "There is no running pod programme here to change; {example} shows them."
OPTED_OUT = "You're out of pods {which}: no more rounds for you. Come back any time with {example}."
OPTED_IN = "You're in pods {which}. You'll hear from me when the next round is formed."
SKIPPING = "You'll sit out the next round of pods {which}; the one after includes you again."
PAUSED = "Pods {which}: paused for you until {until}; you're matched again from that day."
PAUSE_PAST = "Pick a day after today for the pause to end, as in {example}."

INTRO_TITLE = "Your compassion pod"
INTRO = (
    "Hello {people}! You're a compassion pod for this round: people from different teams who meet "
    "to talk about what is hard at work and what helps."
)
INTRO_MORE = (
    "Find 30–45 minutes in the next {weeks} weeks that suits you all. What is said in the pod stays in "
    "the pod; nobody has to share more than they want."
)
HOST = "{host} is an ambassador and can help host."
PROMPT = "*To start:* {prompt}"
NO_ROOM = (
    "Pods {which}: this round's pods were full, so you're not in one this time. You'll be matched in "
    "the next round."
)
ROUND_POST = (
    "*Compassion pods*, round {number}: {pods} pod(s) formed. Each pod hears from me in a group conversation."
)
NUDGE_TITLE = "Your pod, halfway"
NUDGE = (
    "Halfway through this pod round. If your pod hasn't found a time yet, a short call this week is "
    "plenty; one person suggesting two times is often all it takes."
)
ASK_TITLE = "Did your pod meet?"
ASK = "This pod round is ending. Did your pod manage to meet? One tap; it's only counted, never shown."
YES, NO = "Yes, we met", "Not this time"
THANKS_YES = "Thank you, glad your pod met. The next round is formed {cadence}."
THANKS_NO = "Thanks for saying. Rounds are busy sometimes; the next one is a fresh start."
ANSWERED = "You already answered for this pod; thank you."
NOT_YOURS = "That pod isn't yours, so I didn't count the tap."
GONE = "That pod round is over or was removed."

PRIVACY = (
    "*Compassion pods* keep who is in which pod, each person's opt-in, opt-out, skipped round or "
    "pause, and a yes/no 'did your pod meet?' per person. Pod members see each other; admins see "
    "only counts (rounds, pods formed, pods that met, cross-team ties), never who said what.",
)
EXPORT_HEADING = "*Your compassion pods*"
EXPORT_LINE = "• Pods #{programme}, round {number} ({day}): with {others}{answer}"
EXPORT_CHOICE = "• Pods #{programme}: {choice}"
FORGET_ASK = (
    "pod memberships removed: {pods}; 'did your pod meet?' answers: {answers}; pod choices: {choices}"
)
FORGET_DONE = "pod memberships: {pods}; 'did your pod meet?' answers: {answers}; pod choices: {choices}"


# --- rules: pure, called by tests with no database ---------------------------------------------------


@dataclass(frozen=True)
class Cadence:
    """How often rounds form: monthly (the first Tuesday) or every 1–8 weeks (on Tuesdays)."""

    weeks: int | None  # None: monthly

    def words(self) -> str:
        if self.weeks is None:
            return "monthly"
        return "every week" if self.weeks == 1 else f"every {self.weeks} weeks"

    def schedule(self) -> Recurrence:
        text = (
            f"first tue {ROUND_TIME}" if self.weeks is None else f"every {self.weeks} weeks tue {ROUND_TIME}"
        )
        recurrence = parse_schedule(text)
        assert not isinstance(recurrence, ScheduleError)
        return recurrence

    def length(self) -> timedelta:
        return timedelta(weeks=4 if self.weeks is None else self.weeks)


def cadence_of(programme: PodProgramme) -> Cadence:
    m = re.fullmatch(r"every (\d+) weeks", programme.cadence)
    if m:
        return Cadence(int(m[1]))
    return Cadence(1) if programme.cadence == "every week" else Cadence(None)


def round_times(formed: datetime, cadence: Cadence) -> tuple[datetime, datetime]:
    """(mid-round nudge, end-of-round question): halfway, and four days before the next round, a Friday
    for rounds formed on Tuesdays (at least a day after forming)."""
    length = cadence.length()
    return formed + length / 2, formed + max(length - timedelta(days=4), timedelta(days=1))


@cache
def prompts() -> tuple[str, ...]:
    lines = PROMPTS.read_text(encoding="utf-8").splitlines()
    return tuple(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))


def prompt_for(number: int) -> str:
    """Round ``number``'s prompt: the data file's lines in turn, so consecutive rounds never repeat one."""
    found = prompts()
    return found[(number - 1) % len(found)]


def shared_send_time(members: list[Member], wanted: datetime) -> datetime | None:
    """The first moment from ``wanted`` inside every member's working hours (None within ``SEARCH``)."""
    hours = [hours_of(m) for m in members]
    moment = wanted
    while moment < wanted + SEARCH:
        nexts = [next_send_time(h, moment) for h in hours]
        if any(n is None for n in nexts):
            return None
        latest = max(n for n in nexts if n is not None)
        if all(is_within(h, latest) for h in hours):
            return latest
        moment = latest + timedelta(minutes=1)
    return None


def eligible(member: Member, row: PodParticipant | None, opt_in: bool, number: int, today: date) -> bool:
    """Whether ``member`` is matched in round ``number``: in (by channel or by opting in), not skipping,
    not paused, not out of office, a person Tend can reach at a time it knows is their working time."""
    if row is not None and row.opted == "out":
        return False
    if opt_in and (row is None or row.opted != "in"):
        return False
    if row is not None and row.skip_round == number:
        return False
    if not zone_known(member):  # until Tend knows their zone it cannot tell when they are at work
        return False
    presence = Presence(member.paused_until, member.deactivated, member.is_bot, member.unreachable)
    return is_available(presence, today, row.paused_until if row else None)


# --- the round ------------------------------------------------------------------------------------


def eligible_people(
    pool: dict[int, Member], rows: dict[int, PodParticipant], opt_in: bool, number: int, today: date
) -> dict[int, Member]:
    """Who of the channel's team (or the opted-in) is matched in round ``number`` (``eligible``)."""
    return {mid: m for mid, m in pool.items() if eligible(m, rows.get(mid), opt_in, number, today)}


@dataclass(frozen=True)
class RoundPlan:
    """A round as decided: its pods, who found no room, when it nudges and asks, and its team mix."""

    formation: Formation
    nudge_at: datetime
    ends_at: datetime
    mixes: tuple[int, ...]  # teams mixed in each pod
    ties: int  # pairs of people from different teams who share a pod


def plan_round(
    programme_id: int,
    number: int,
    now: datetime,
    people: dict[int, Member],
    teams: dict[int, int],
    recent: dict[int, set[int]],
    cadence: Cadence,
    min_size: int,
    max_size: int,
) -> RoundPlan:
    """Forms the pods: mixing teams, keeping apart recent partners, with shared working time."""
    monday = week_start(now.date())
    candidates = [
        Candidate(
            mid,
            str(teams[mid]) if mid in teams else None,
            None,
            week_windows(hours_of(m), monday),
            frozenset(recent.get(mid, ())),
        )
        for mid, m in people.items()
    ]
    formation = form_pods(
        candidates, seed=programme_id * 1_000_003 + number, min_size=min_size, max_size=max_size
    )
    nudge_at, ends_at = round_times(now, cadence)
    mixes = tuple(len({teams.get(i) for i in pod}) for pod in formation.pods)
    ties = sum(
        1 for pod in formation.pods for a in pod for b in pod if a < b and teams.get(a) != teams.get(b)
    )
    return RoundPlan(formation, nudge_at, ends_at, mixes, ties)


def round_intents(
    plan: RoundPlan,
    pod_ids: Sequence[int | None],
    round_id: int | None,
    programme_id: int,
    place_id: str,
    number: int,
    people: dict[int, Member],
    now: datetime,
    cadence: Cadence,
    hosts: Collection[int] = (),
) -> list[Intent]:
    """Each pod's conversation, opened when all its members are at work (else each hears privately, in
    their own hours); a private word to whoever found no room; one post in the channel."""
    intents: list[Intent] = []
    prompt = prompt_for(number)
    weeks = max(1, cadence.length().days // 7)
    for pod_id, member_ids in zip(pod_ids, plan.formation.pods, strict=True):
        members = [people[i] for i in member_ids]
        card = intro_card(members, prompt, weeks, hosts)
        at = shared_send_time(members, now)
        if at is not None:
            intents.append(OpenGroup(member_ids, card, place_id, key=f"pods:{pod_id}:open", not_before=at))
        else:  # no moment when all are at work: each hears it privately, in their own hours
            intents += [DirectMessage(i, card, key=f"pods:{pod_id}:open:{i}") for i in member_ids]
    for i in plan.formation.unplaced:
        card = text_card(compose(NO_ROOM, which=f"#{programme_id}"), INTRO_TITLE)
        intents.append(DirectMessage(i, card, key=f"pods:r{round_id}:noroom:{i}"))
    post = compose(ROUND_POST, number=number, pods=len(pod_ids))
    intents.append(PostToPlace(place_id, text_card(post), key=f"pods:r{round_id}:post"))
    return intents


AnswerRule = Literal["gone", "not_yours", "answer"]


def answer_rule(action: str, value: str, in_pod: bool | None) -> AnswerRule:
    """A "did your pod meet?" tap counts only from someone in that pod (``in_pod`` None: no such pod)."""
    pod_part, _, answer = value.partition(":")
    if action != MET or not pod_part.isdigit() or answer not in ("yes", "no") or in_pod is None:
        return "gone"
    return "answer" if in_pod else "not_yours"


def state_change(
    programme: PodProgramme,
    ritual: Ritual | None,
    state: str,
    now: datetime,
    next_run: Callable[[], datetime | None],
) -> Rich | None:
    """Pauses, resumes or stops a programme (``next_run``: the next round after now, for a resume whose
    round passed while paused); a stopped one stays stopped. Returns why nothing changed, else None."""
    assert programme.id is not None
    if programme.state == "stopped":
        return compose(STOPPED_FOR_GOOD, id=programme.id, example=Example(START_EXAMPLE))
    if programme.state == state:
        return compose(ALREADY, id=programme.id, state=state)
    programme.state = state
    if ritual is not None:
        ritual.paused = state != "active"
        if state == "active" and ritual.next_run_at is not None and ritual.next_run_at < now:
            ritual.next_run_at = next_run()
    return None


def start_refusal(is_admin: bool, place_id: str | None, opt_in: bool, has_team: bool) -> Rich | None:
    """Only admins start pods, in a channel; without opt-in the channel needs a team to draw people from."""
    example = Example(START_EXAMPLE)
    if not is_admin:
        return compose(ONLY_ADMINS, example=example)
    if not place_id:
        return compose(NO_PLACE, example=example)
    if not opt_in and not has_team:
        return compose(NO_TEAM, place=Place(place_id), example=Example("/tend pods start here opt-in"))
    return None


def apply_choice(
    row: PodParticipant, choice: str, next_round: int, until: date | None, now: datetime
) -> None:
    """A person's own choice on their row: out, in (which ends a pause), skip the next round, or pause."""
    if choice == "out":
        row.opted = "out"
    elif choice == "in":
        row.opted, row.paused_until = "in", None
    elif choice == "skip":
        row.skip_round = next_round
    else:
        row.paused_until = until
    row.updated_at = now


def choice_answer(choice: str, which: str, until: date | None) -> Rich:
    if choice == "out":
        return compose(OPTED_OUT, which=which, example=Example("/tend pods opt-in"))
    if choice == "in":
        return compose(OPTED_IN, which=which)
    if choice == "skip":
        return compose(SKIPPING, which=which)
    assert until is not None
    return compose(PAUSED, which=which, until=until.isoformat())


# --- the round: storage shells ----------------------------------------------------------------------


async def fire(ctx: FireContext) -> Outcome:
    """Forms one round: picks who takes part, forms the pods, opens each pod's conversation."""
    ritual = ctx.ritual
    assert ritual.id is not None
    programme = await store.programme_of_ritual(ctx.session, ritual.id)
    if programme is None or programme.state != "active" or programme.id is None:
        return Outcome()
    number = await store.last_round_number(ctx.session, programme.id) + 1
    rows = await store.participants(ctx.session, programme.id)
    pool: dict[int, Member] = {}
    if not programme.opt_in:
        for member in await store.channel_team_members(ctx.session, ctx.workspace_id, programme.place_id):
            if member.id is not None:
                pool[member.id] = member
    opted = [mid for mid, row in rows.items() if row.opted == "in" and mid not in pool]
    pool.update(await store.members_by_id(ctx.session, ctx.workspace_id, opted))
    people = eligible_people(pool, rows, programme.opt_in, number, ctx.now.date())
    teams = await store.team_of(ctx.session, list(people), programme.place_id)
    recent = await store.recent_partners(ctx.session, programme.id, RECENT_ROUNDS)
    cadence = cadence_of(programme)
    plan = plan_round(
        programme.id, number, ctx.now, people, teams, recent, cadence, programme.min_size, programme.max_size
    )
    pod_round = PodRound(
        programme_id=programme.id,
        number=number,
        formed_at=ctx.now,
        nudge_at=plan.nudge_at,
        ends_at=plan.ends_at,
        unplaced=len(plan.formation.unplaced),
    )
    made = await store.add_round(
        ctx.session, pod_round, list(zip(plan.mixes, plan.formation.pods, strict=True))
    )
    org = ctx.workspace.organization_id
    await signals.record(ctx.session, org, None, ctx.now, "pod_round_formed")
    if made:
        await signals.record(ctx.session, org, None, ctx.now, "pod_formed", count=len(made))
    if plan.ties:
        await signals.record(ctx.session, org, None, ctx.now, "pod_cross_team_tie", count=plan.ties)
    pod_ids = [pod.id for pod in made]
    hosts = {m.id for m in await ambassador_store.ambassadors_in(ctx.session, ctx.workspace_id) if m.id}
    intents = round_intents(
        plan, pod_ids, pod_round.id, programme.id, programme.place_id, number, people, ctx.now, cadence, hosts
    )
    return Outcome(tuple(intents))


def intro_card(members: list[Member], prompt: str, weeks: int, hosts: Collection[int] = ()) -> Card:
    """``hosts``: the workspace's ambassadors; the first one in the pod is named as someone who can
    help host (one, so nobody else in the pod feels passed over and no one is asked twice)."""
    people = joined([mention(m) for m in members])
    host = next((m for m in members if m.id in hosts), None)
    return Card(
        INTRO_TITLE,
        (
            Text(compose(INTRO, people=people)),
            *((Text(compose(HOST, host=mention(host))),) if host is not None else ()),
            Text(compose(INTRO_MORE, weeks=weeks)),
            Text(compose(PROMPT, prompt=prompt)),
        ),
    )


def ask_card(pod_id: int) -> Card:
    return Card(
        ASK_TITLE,
        (
            Text(ASK),
            Buttons((Button(YES, MET, f"{pod_id}:yes", "primary"), Button(NO, MET, f"{pod_id}:no"))),
        ),
    )


async def sweep(ctx: SweepContext) -> list[SweepResult]:
    """Queues the mid-round nudges and the end-of-round questions that fell due (each once)."""
    results: list[SweepResult] = []
    for step in ("nudge", "ask"):
        for workspace, _programme, pod_round in await store.rounds_due(ctx.session, ctx.now, step):
            assert pod_round.id is not None
            if not await store.mark(ctx.session, pod_round.id, step):
                continue
            intents: list[Intent] = []
            for pod, member_ids in await store.pods_of_round(ctx.session, pod_round.id):
                assert pod.id is not None
                card = text_card(NUDGE, NUDGE_TITLE) if step == "nudge" else ask_card(pod.id)
                intents += [DirectMessage(i, card, key=f"pods:{pod.id}:{step}:{i}") for i in member_ids]
            if intents:
                scope = f"pods:r{pod_round.id}:{step}"
                results.append(SweepResult(workspace, Outcome(tuple(intents)), scope))
    return results


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """The one-tap "did your pod meet?": counted once per person; the pod counts as met on its first yes."""
    pod_part, _, answer = value.partition(":")
    if answer_rule(action, value, False) == "gone":
        return Outcome.reply(GONE)
    found = await store.pod_in_workspace(ctx.session, ctx.workspace_id, int(pod_part))
    in_pod = None if found is None else await store.is_in_pod(ctx.session, found[0].id or 0, ctx.actor_id)
    rule = answer_rule(action, value, in_pod)
    if rule == "gone" or found is None:
        return Outcome.reply(GONE)
    if rule == "not_yours":
        return Outcome.reply(NOT_YOURS)
    pod, pod_round, programme = found
    assert pod.id is not None
    met = answer == "yes"
    if not await store.answer(ctx.session, pod.id, ctx.actor_id, met, ctx.now):
        return Outcome.reply(ANSWERED)
    if met and not await store.pod_met_before(ctx.session, pod.id, ctx.actor_id):
        # Counted in the week the round was formed, beside its pods, so the index's share never mixes weeks.
        org = ctx.workspace.organization_id
        await signals.record(ctx.session, org, None, pod_round.formed_at, "pod_met")
    if met:
        return Outcome.reply(compose(THANKS_YES, cadence=cadence_of(programme).words()))
    return Outcome.reply(THANKS_NO)


# --- commands -------------------------------------------------------------------------------------


def _place_id(ctx: PracticeContext, place: PlaceRef) -> str | None:
    if place.is_here:
        return ctx.place_id if not ctx.is_direct else None
    return place.place_id or place.name or None


def _zone(ctx: PracticeContext) -> str:
    return ctx.actor.time_zone if local_time.is_known_zone(ctx.actor.time_zone) else "UTC"


async def start(
    ctx: PracticeContext, place: PlaceRef, low: int, high: int, cadence: Cadence, opt_in: bool
) -> Outcome:
    place_id = _place_id(ctx, place)
    needs_team = ctx.is_admin and place_id is not None and not opt_in
    has_team = needs_team and await store.has_channel_team(ctx.session, ctx.workspace_id, place_id or "")
    refusal = start_refusal(ctx.is_admin, place_id, opt_in, has_team)
    if refusal is not None or place_id is None:
        return Outcome.reply(refusal or compose(NO_PLACE, example=Example(START_EXAMPLE)))
    recurrence = cadence.schedule()
    zone = _zone(ctx)
    anchor = local_time.local_date(ctx.now, zone)
    first = ctx.next_run(recurrence, zone, ctx.now, anchor)
    ritual = Ritual(
        workspace_id=ctx.workspace_id,
        kind=KIND,
        place_id=place_id,
        schedule=recurrence.to_text(),
        time_zone=zone,
        options=json.dumps({"anchor": anchor.isoformat()}),
        next_run_at=first,
        created_by_member_id=ctx.actor_id,
        created_at=ctx.now,
    )
    programme = PodProgramme(
        workspace_id=ctx.workspace_id,
        ritual_id=0,
        place_id=place_id,
        min_size=low,
        max_size=high,
        cadence=cadence.words(),
        opt_in=opt_in,
        created_by_member_id=ctx.actor_id,
        created_at=ctx.now,
    )
    await store.add_programme(ctx.session, ritual, programme)
    pid = programme.id or 0
    out, skip, join = Example("/tend pods opt-out"), Example("/tend pods skip"), Example("/tend pods opt-in")
    first_words: Span = When(first, local_time.day_and_time(first, zone)) if first else "soon"
    text = compose(
        STARTED,
        id=pid,
        place=Place(place_id),
        low=low,
        high=high,
        cadence=cadence.words(),
        who=WHO_OPT_IN if opt_in else WHO_CHANNEL,
        first=first_words,
        out=out,
        skip=skip,
    )
    joining = compose(ANNOUNCE_OPT_IN, join=join) if opt_in else compose(ANNOUNCE_CHANNEL, out=out)
    post = compose(ANNOUNCE, low=low, high=high, cadence=cadence.words(), join=joining)
    return Outcome(
        (
            Reply(text_card(text, "Pods started")),
            PostToPlace(place_id, text_card(post), key=f"pods:{pid}:announce"),
        )
    )


async def list_programmes(ctx: PracticeContext) -> Outcome:
    found = await store.programmes_in(ctx.session, ctx.workspace_id)
    if not found:
        return Outcome.reply(compose(NO_PROGRAMMES, example=Example(START_EXAMPLE)))
    lines: list[Rich] = []
    for p in found:
        assert p.id is not None
        rounds = await store.last_round_number(ctx.session, p.id)
        lines.append(
            compose(
                LIST_LINE,
                id=p.id,
                place=Place(p.place_id),
                low=p.min_size,
                high=p.max_size,
                cadence=p.cadence,
                mode="opt-in" if p.opt_in else "the channel's team",
                state=p.state,
                rounds=rounds,
            )
        )
    return Outcome((Reply(Card("Pod programmes", tuple(Text(line) for line in lines))),))


async def set_state(ctx: PracticeContext, programme_id: int, state: str) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(compose(ONLY_ADMINS, example=Example(START_EXAMPLE)))
    programme = await store.programme_in(ctx.session, ctx.workspace_id, programme_id)
    if programme is None:
        return Outcome.reply(compose(NOT_FOUND, id=programme_id, example=Example("/tend pods list")))
    ritual = await store.ritual_of(ctx.session, programme)

    def next_round() -> datetime | None:
        zone = ritual.time_zone if ritual is not None else "UTC"
        return ctx.next_run(cadence_of(programme).schedule(), zone, ctx.now, None)

    unchanged = state_change(programme, ritual, state, ctx.now, next_round)
    if unchanged is not None:
        return Outcome.reply(unchanged)
    await store.save_state(ctx.session, programme, ritual)
    return Outcome.reply(compose(STATE_SET, id=programme_id, state=state))


async def _mine(ctx: PracticeContext, programme_id: int | None) -> list[PodProgramme] | Outcome:
    found = [p for p in await store.programmes_in(ctx.session, ctx.workspace_id) if p.state != "stopped"]
    if programme_id is not None:
        found = [p for p in found if p.id == programme_id]
    if not found:
        return Outcome.reply(compose(NONE_TO_CHANGE, example=Example("/tend pods list")))
    return found


def _which(found: list[PodProgramme]) -> str:
    return ", ".join(f"#{p.id}" for p in found)


async def choose(
    ctx: PracticeContext, choice: str, programme_id: int | None, until: date | None = None
) -> Outcome:
    """A person's own choice: opt-out, opt-in, skip the next round, or pause until a date."""
    if choice == "pause" and (until is None or until <= ctx.now.date()):
        return Outcome.reply(compose(PAUSE_PAST, example=Example(PAUSE_EXAMPLE)))
    found = await _mine(ctx, programme_id)
    if isinstance(found, Outcome):
        return found
    for programme in found:
        assert programme.id is not None
        row = await store.participant(ctx.session, programme.id, ctx.actor_id, ctx.now)
        next_round = await store.last_round_number(ctx.session, programme.id) + 1 if choice == "skip" else 0
        apply_choice(row, choice, next_round, until, ctx.now)
        await store.save_participant(ctx.session, row)
    await store.flush(ctx.session)
    return Outcome.reply(choice_answer(choice, _which(found), until))


# --- grammar --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PodsStart:
    place: PlaceRef
    low: int = 4
    high: int = 6
    weeks: int | None = None
    opt_in: bool = False

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await start(ctx, self.place, self.low, self.high, Cadence(self.weeks), self.opt_in)


@dataclass(frozen=True)
class PodsList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_programmes(ctx)


@dataclass(frozen=True)
class PodsState:
    programme_id: int
    state: str

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await set_state(ctx, self.programme_id, self.state)


@dataclass(frozen=True)
class PodsChoice:
    choice: str
    programme_id: int | None = None
    until: date | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await choose(ctx, self.choice, self.programme_id, self.until)


_SIZE = re.compile(r"(\d{1,2})(?:-|–|to)(\d{1,2})")


def parse_start(text: str, args: list[Token]) -> Result:
    ex = START_EXAMPLE
    place = place_of(args[0]) if args else None
    if place is None:
        return UsageError("After “start”, say where the programme runs: a #channel or the word here.", ex)
    low, high, weeks, opt_in = 4, 6, None, False
    rest = [t.word for t in args[1:]]
    i = 0
    while i < len(rest):
        word = rest[i]
        if word == "size":
            m = _SIZE.fullmatch(rest[i + 1]) if i + 1 < len(rest) else None
            if m is None:
                return UsageError("Give the pod size as a range, like size 4-6.", ex)
            low, high = int(m[1]), int(m[2])
            if not SIZE_LIMITS[0] <= low <= high <= SIZE_LIMITS[1]:
                lo, hi = SIZE_LIMITS
                return UsageError(f"Pod sizes go from {lo} to {hi}, smaller first, like size 4-6.", ex)
            i += 2
        elif word == "monthly":
            weeks, i = None, i + 1
        elif word in ("weekly", "biweekly", "fortnightly"):
            weeks, i = (1 if word == "weekly" else 2), i + 1
        elif word == "every":
            following = rest[i + 1 : i + 3]
            if following[:1] == ["week"]:
                weeks, i = 1, i + 2
            elif len(following) == 2 and following[0].isdigit() and following[1] in ("weeks", "week"):
                weeks = int(following[0])
                if not 1 <= weeks <= MAX_WEEKS:
                    return UsageError(f"Rounds can be every 1 to {MAX_WEEKS} weeks, or monthly.", ex)
                i += 3
            else:
                return UsageError("Say how often as monthly or every N weeks, like every 2 weeks.", ex)
        elif word in ("opt-in", "optin"):
            opt_in, i = True, i + 1
        else:
            msg = (
                f"I don't understand “{shown(args[1 + i].raw)}”; use size, monthly, every N weeks or opt-in."
            )
            return UsageError(msg, ex)
    return PodsStart(place, low, high, weeks, opt_in)


def _optional_id(args: list[Token], example: str) -> int | UsageError | None:
    if not args:
        return None
    if len(args) > 1:
        return UsageError(f"I only need a programme id; remove “{shown(args[1].raw)}”.", example)
    return positive_id(args, "pods programme", example)


def choice_cmd(choice: str, name: str) -> Parser:
    example = f"/tend pods {name}"

    def parse_(text: str, args: list[Token]) -> Result:
        ident = _optional_id(args, example)
        return ident if isinstance(ident, UsageError) else PodsChoice(choice, ident)

    return parse_


def parse_pause(text: str, args: list[Token]) -> Result:
    """``pause <id>`` (an admin pauses a programme) or ``pause until YYYY-MM-DD [id]`` (for oneself)."""
    if args and args[0].word == "until":
        if len(args) < 2:
            return UsageError("Say the day the pause ends, as YYYY-MM-DD.", PAUSE_EXAMPLE)
        try:
            until = date.fromisoformat(args[1].raw)
        except ValueError:
            msg = f"“{shown(args[1].raw)}” isn't a date; write it as YYYY-MM-DD."
            return UsageError(msg, PAUSE_EXAMPLE)
        ident = _optional_id(args[2:], PAUSE_EXAMPLE)
        return ident if isinstance(ident, UsageError) else PodsChoice("pause", ident, until)
    if not args:
        return UsageError("Pause a programme by its id, or yourself with “until” and a date.", PAUSE_EXAMPLE)
    return id_cmd(lambda i: PodsState(i, "paused"), "pods programme", "/tend pods pause 1")(text, args)


parse_pods = group(
    "pods",
    {
        "start": parse_start,
        "list": only(PodsList, "pods list"),
        "pause": parse_pause,
        "resume": id_cmd(lambda i: PodsState(i, "active"), "pods programme", "/tend pods resume 1"),
        "stop": id_cmd(lambda i: PodsState(i, "stopped"), "pods programme", "/tend pods stop 1"),
        "opt-out": choice_cmd("out", "opt-out"),
        "opt-in": choice_cmd("in", "opt-in"),
        "skip": choice_cmd("skip", "skip"),
    },
    START_EXAMPLE,
)

TOPIC = Topic(
    "pods",
    "compassion pods: small cross-team groups that meet each round",
    "Small groups of people from different teams meet each round to talk about what is hard and "
    "what helps, so support does not rest on a few people. Tend forms the pods, opens each pod's "
    "conversation with a prompt, nudges halfway and asks at the end whether the pod met.",
    usages=(
        Usage(
            "/tend pods start",
            "<#channel|here> [size 4-6] [monthly|every N weeks] [opt-in]",
            "start a programme (admins)",
            START_EXAMPLE,
            TEAM,  # in a channel, where "here" is the channel its pods come from
        ),
        Usage("/tend pods list", "", "the programmes, their sizes, cadence and state", "/tend pods list"),
        Usage(
            "/tend pods pause",
            "<id>",
            "pause a programme (admins); resume or stop it the same way",
            "/tend pods pause 1",
        ),
        Usage("/tend pods opt-out", "[id]", "leave pods (opt-in joins again)", "/tend pods opt-out"),
        Usage("/tend pods skip", "[id]", "sit out the next round", "/tend pods skip"),
        Usage("/tend pods pause until", "<YYYY-MM-DD> [id]", "not matched until that day", PAUSE_EXAMPLE),
    ),
    notes=(
        "Pods mix teams, keep people who met recently apart, and only gather people whose working hours "
        "meet. Nobody is matched while paused or out of office.",
    ),
)


# --- data rights ----------------------------------------------------------------------------------


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    mine = await store.pods_of(ctx.session, ctx.actor_id)
    answers = await store.answers_of(ctx.session, ctx.actor_id)
    others = sorted({i for *_, people in mine for i in people if i != ctx.actor_id})
    names = await store.members_by_id(ctx.session, ctx.workspace_id, others)

    def name(member_id: int) -> str:
        member = names.get(member_id)
        return f"@{member.display_name}" if member and member.display_name else "someone"

    lines: list[Rich | str] = []
    pods: list[dict[str, object]] = []
    choices: list[dict[str, object]] = []
    for programme, pod_round, pod, people in mine:
        assert pod.id is not None
        with_whom = [name(i) for i in people if i != ctx.actor_id]
        said = answers.get(pod.id)
        answer = "" if said is None else ("; you said it met" if said else "; you said it didn't meet")
        lines.append(
            compose(
                EXPORT_LINE,
                programme=programme.id or 0,
                number=pod_round.number,
                day=pod_round.formed_at.date().isoformat(),
                others=Said(", ".join(with_whom)),
                answer=answer,
            )
        )
        pods.append(
            {
                "programme": programme.id,
                "round": pod_round.number,
                "formed_at": pod_round.formed_at.isoformat(),
                "with": with_whom,
                "met": said,
            }
        )
    for programme, row in await store.participations_of(ctx.session, ctx.actor_id):
        choice = {"opted": row.opted, "skip_round": row.skip_round}
        choice["paused_until"] = row.paused_until.isoformat() if row.paused_until else None
        words = f"opted {row.opted}" + (f", paused until {row.paused_until}" if row.paused_until else "")
        lines.append(compose(EXPORT_CHOICE, programme=programme.id or 0, choice=words))
        choices.append({"programme": programme.id, **choice})
    data = {"pods": pods, "choices": choices}
    return (ExportSection(EXPORT_HEADING, "pods", data, lines=tuple(lines)),)


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    """The person leaves every pod they were in (the others keep theirs), with their answers and choices."""
    if not erase:
        pods, answers, choices = await store.counts_of(ctx.session, ctx.actor_id)
        return Forgetting(erased=(FORGET_ASK.format(pods=pods, answers=answers, choices=choices),))
    await store.withdraw_group_messages(ctx.session, ctx.workspace_id, ctx.actor_id)  # they name the person
    pods, answers, choices = await store.forget(ctx.session, ctx.actor_id)
    return Forgetting(erased=(FORGET_DONE.format(pods=pods, answers=answers, choices=choices),))


PRACTICE = Practice(
    name="pods",
    order=60,
    commands={"pods": parse_pods},
    topics=(TOPIC,),
    actions={ACTION: on_action},
    # Started by /tend pods start, not /tend ritual add; a round formed a few hours late is still a round.
    rituals=(RitualKind(KIND, fire, GRACE, "a compassion pod round", listed=False),),
    sweeps=(sweep,),
    signals=("pod_round_formed", "pod_formed", "pod_met", "pod_cross_team_tie"),
    privacy=PRIVACY,
    export=export_mine,
    forget=forget_mine,
)
