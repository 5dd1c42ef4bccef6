"""Culture carriers: every newcomer is paired with someone who helps them find their feet.

An admin names the carriers (``/tend carriers add @sam``); compassion ambassadors are eligible too.
When someone joins (Slack ``team_join``, Teams ``membersAdded``) Tend picks a carrier
(``practices/carrier_choice.py``: another team, the least loaded under their cap, overlapping hours),
introduces the two privately in each one's working hours, and checks in lightly after about 1, 4 and 12
weeks. Either of them can end the check-ins. Admins see totals (newcomers paired, check-ins answered),
never what anyone said: Tend keeps counts, not answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from practices.availability import Presence, is_available
from practices.carrier_choice import Candidate, Newcomer, choose_carrier
from practices.grammar import (
    TEAM,
    People,
    Result,
    Token,
    Topic,
    Usage,
    UsageError,
    group,
    members,
    only,
    shown,
)
from practices.hours import hours_of
from practices.messages import (
    Button,
    Buttons,
    Card,
    DirectMessage,
    Example,
    Fine,
    Intent,
    Mention,
    Outcome,
    Reply,
    Rich,
    Span,
    Text,
    compose,
    joined,
    text_card,
)
from practices.people import mentioned, refuse_adding, resolve_people
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext, SweepContext, SweepResult
from practices.roles import ONLY_ADMINS
from storage import ambassadors as ambassador_store
from storage import carriers as store
from storage.carriers import Coverage
from storage.db import Session
from storage.identity import first_seen_day, get_member
from storage.models import Carrier, Member, NewcomerPairing, Workspace

DEFAULT_CAP = 3
MAX_CAP = 20
CHECKINS = (timedelta(weeks=1), timedelta(weeks=4), timedelta(weeks=12))
CHECKIN_WORDS = ("a week", "4 weeks", "12 weeks")
# Someone Tend first met before yesterday is not new here (Teams says "membersAdded" for an old hand
# added to one more team, too).
NEW_FOR = timedelta(days=1)
# A newcomer who joined while no carrier was free is paired when one is added, for this long.
WAITING_FOR = timedelta(weeks=4)

ADD_EXAMPLE = "/tend carriers add @sam"
CAP_EXAMPLE = "/tend carriers add @sam cap 2"
REMOVE_EXAMPLE = "/tend carriers remove @sam"
LIST_EXAMPLE = "/tend carriers list"

ADDED = "{names} will welcome newcomers, up to {cap} at a time."
ADDED_OWN_CAPS = "{names} will welcome newcomers, each up to their own cap: {example} shows them."
ADDED_PAIRED = " {count} newcomer(s) who were waiting now have a carrier."
NOT_PEOPLE = "{names}: bots can't welcome newcomers. Example: {example}"
REMOVED = "{names} won't be given new newcomers. The newcomers they welcome now keep their check-ins."
NOT_CARRIERS = "{names} wasn't a culture carrier. Type {example} to see who is."
WELCOME_TITLE = "You're a culture carrier"
WELCOME = (
    "You'll be introduced to newcomers (up to {cap} at a time), ideally from other teams. A short hello "
    "in their first days goes a long way: offer a chat, point to the people and channels worth knowing. "
    "Tend checks in with you both after about 1, 4 and 12 weeks; either of you can stop that."
)
LIST_TITLE = "Culture carriers"
NONE_YET = compose("No culture carriers yet. Name one, for example: {example}", example=Example(ADD_EXAMPLE))
LIST_LINE = "{who}: {load} of {cap} newcomers now"
AMBASSADORS_TOO = "Compassion ambassadors are eligible too ({count}), up to {cap} newcomers each."
COVERAGE = (
    "*Coverage:* {paired} newcomer(s) paired ({active} now), {waiting} waiting for a carrier; "
    "{answered} of {sent} check-ins answered; {early} ended early; {unpaired} never paired."
)
COVERAGE_FINE = "Only totals are kept: never what newcomers or carriers answer or say to each other."

INTRO_NEWCOMER_TITLE = "Welcome! Meet your culture carrier"
INTRO_NEWCOMER = (
    "{carrier} is one of the people here who help newcomers find their feet. Say hello whenever you "
    "like, and ask them anything, from where things live to how people work here."
)
INTRO_CARRIER_TITLE = "A newcomer to welcome"
INTRO_CARRIER = (
    "{newcomer} just joined, and you're their culture carrier. A short hello in their first days goes a "
    "long way: offer a chat, point to the people and channels worth knowing."
)
INTRO_FINE = (
    "I'll check in with you both after about 1, 4 and 12 weeks; either of you can end that. "
    "Admins see only totals, never what you say."
)
CHECKIN_TITLE = "How is settling in going?"
CHECKIN_NEWCOMER = "It's been about {weeks} since you joined. How is settling in going?"
CHECKIN_CARRIER = "It's been about {weeks} since {newcomer} joined. How is it going from your side?"
CHECKIN_FINE = "Only whether this was answered is counted, never the answer."
WELL = "Going well"
HAND = "Could use a hand"
END = "End these check-ins"
THANKS_WELL = "Glad to hear it. Thanks for letting me know."
THANKS_HAND_NEWCOMER = "Thanks for saying so. I've asked {carrier} to reach out."
THANKS_HAND_CARRIER = "Thanks for saying so. An ambassador may have ideas: {who}."
THANKS_HAND_ALONE = "Thanks for saying so. A Tend admin or your manager can help too."
HAND_TITLE = "A newcomer could use a hand"
HAND_NOTE = "{newcomer} could use a hand settling in. A quick hello or a coffee chat goes a long way."
ENDED = "Done: no more settling-in check-ins for you two. Thank you."
ALREADY_ENDED = "These check-ins have already ended; nothing more to do."
NOT_YOURS = "This check-in is for a newcomer and their carrier only."
GONE = compose(
    "That check-in is no longer in use. Type {example} to start again.", example=Example("/tend help")
)
SOMEONE = "someone"


# --- commands ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarriersAdd:
    people: People
    cap: int | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await add(ctx, await resolve_people(ctx, self.people), self.cap)


@dataclass(frozen=True)
class CarriersRemove:
    people: People

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await remove(ctx, await resolve_people(ctx, self.people))


@dataclass(frozen=True)
class CarriersList:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await list_carriers(ctx)


def _parse_add(text: str, args: list[Token]) -> Result:
    cap: int | None = None
    if len(args) >= 2 and args[-2].word == "cap":
        raw = args[-1].raw
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_CAP:
            msg = f"A cap is how many newcomers at a time, from 1 to {MAX_CAP}; not “{shown(raw)}”."
            return UsageError(msg, CAP_EXAMPLE)
        cap, args = int(raw), args[:-2]
    found = members(args, "name as a culture carrier", ADD_EXAMPLE)
    return found if isinstance(found, UsageError) else CarriersAdd(found, cap)


def _parse_remove(text: str, args: list[Token]) -> Result:
    found = members(args, "remove as a culture carrier", REMOVE_EXAMPLE)
    return found if isinstance(found, UsageError) else CarriersRemove(found)


parse_carriers = group(
    "carriers",
    {"add": _parse_add, "remove": _parse_remove, "list": only(CarriersList, "carriers list")},
    LIST_EXAMPLE,
)


# --- rules: pure, called by tests with no database ---------------------------------------------------


def _who(member: Member | None) -> Mention | str:
    return Mention(member.platform_user_id, member.display_name) if member is not None else SOMEONE


@dataclass(frozen=True)
class Naming:
    """Carriers an admin named: the rows to write, each new carrier's private welcome, and the caps."""

    carriers: tuple[Carrier, ...]
    welcomes: tuple[DirectMessage, ...]
    caps: frozenset[int]


def name_carriers(
    workspace_id: int, people: list[Member], existing: dict[int, Carrier], cap: int | None, now: datetime
) -> Naming:
    """New carriers get the cap asked (or the default) and a welcome; existing ones keep theirs unless
    a cap is given."""
    carriers: list[Carrier] = []
    welcomes: list[DirectMessage] = []
    caps: set[int] = set()
    for member in people:
        assert member.id is not None
        carrier = existing.get(member.id)
        if carrier is None:
            carrier = Carrier(
                workspace_id=workspace_id, member_id=member.id, cap=cap or DEFAULT_CAP, created_at=now
            )
            welcome = text_card(WELCOME.format(cap=carrier.cap), WELCOME_TITLE)
            welcomes.append(
                DirectMessage(member.id, welcome, key=f"carrier-welcome:{member.id}:{now:%Y%m%d}")
            )
        elif cap is not None:
            carrier.cap = cap
        caps.add(carrier.cap)
        carriers.append(carrier)
    return Naming(tuple(carriers), tuple(welcomes), frozenset(caps))


def add_refusal(is_admin: bool, people: list[Member]) -> Rich | None:
    """Only admins name carriers, and only people (never bots)."""
    return refuse_adding(is_admin, people, ONLY_ADMINS, NOT_PEOPLE, ADD_EXAMPLE)


def added_answer(people: list[Member], caps: frozenset[int], paired: int) -> Rich:
    if len(caps) == 1:
        text = compose(ADDED, names=mentioned(people), cap=next(iter(caps)))
    else:  # some were carriers already, with caps of their own
        text = compose(ADDED_OWN_CAPS, names=mentioned(people), example=Example(LIST_EXAMPLE))
    if paired:
        text = compose("{text}" + ADDED_PAIRED, text=text, count=paired)
    return text


def removed_answer(people: list[Member], removed: list[Member]) -> Rich:
    missing = [member for member in people if member not in removed]
    if missing and not removed:
        return compose(NOT_CARRIERS, names=mentioned(missing), example=Example(LIST_EXAMPLE))
    return compose(REMOVED, names=mentioned(removed))


def carriers_card(
    carriers: list[tuple[Carrier, Member]],
    loads: dict[int, int],
    ambassadors: list[Member],
    covered: Coverage,
) -> Card:
    """Who carries and how full they are, then coverage as totals (never content)."""
    blocks: list[Text | Fine] = []
    if carriers:
        lines: list[Span | Rich] = [
            compose(LIST_LINE, who=_who(member), load=loads.get(member.id or 0, 0), cap=carrier.cap)
            for carrier, member in carriers
        ]
        blocks.append(Text(joined(lines, "\n", "\n")))
    else:
        blocks.append(Text(NONE_YET))
    named = {member.id for _, member in carriers}
    extra = [member for member in ambassadors if member.id not in named]
    if extra:
        blocks.append(Text(AMBASSADORS_TOO.format(count=len(extra), cap=DEFAULT_CAP)))
    blocks.append(
        Text(
            COVERAGE.format(
                paired=covered.paired,
                active=covered.active,
                waiting=covered.waiting,
                answered=covered.checkins_answered,
                sent=covered.checkins_sent,
                early=covered.ended_early,
                unpaired=covered.unpaired,
            )
        )
    )
    blocks.append(Fine(COVERAGE_FINE))
    return Card(LIST_TITLE, tuple(blocks))


def _available(member: Member, now: datetime) -> bool:
    presence = Presence(member.paused_until, member.deactivated, member.is_bot, member.unreachable)
    return is_available(presence, now.date())


def carrier_pool(
    carriers: list[tuple[Carrier, Member]],
    ambassadors: list[Member],
    loads: dict[int, int],
    teams: dict[int, set[int]],
    now: datetime,
) -> list[tuple[Candidate, Member]]:
    """Named carriers and ambassadors (at the default cap unless named as carriers too), with their
    load, teams, hours and whether they are around today."""
    found: dict[int, tuple[int, Member]] = {}
    for carrier, member in carriers:
        found[member.id or 0] = (carrier.cap, member)
    for member in ambassadors:
        found.setdefault(member.id or 0, (DEFAULT_CAP, member))
    return [
        (
            Candidate(
                member_id,
                frozenset(teams.get(member_id, ())),
                hours_of(member),
                loads.get(member_id, 0),
                cap,
                _available(member, now),
            ),
            member,
        )
        for member_id, (cap, member) in found.items()
    ]


def is_newcomer(member: Member, now: datetime) -> bool:
    """Tend met them today or yesterday: a person, not a bot, still here."""
    if member.is_bot or member.deactivated or member.id is None:
        return False
    return member.created_at >= first_seen_day(now) - NEW_FOR


def new_pairing(
    workspace_id: int, newcomer_id: int, carrier_id: int | None, now: datetime
) -> NewcomerPairing:
    """A newcomer's pairing; with no carrier free they wait (no check-in until someone is paired)."""
    return NewcomerPairing(
        workspace_id=workspace_id,
        newcomer_id=newcomer_id,
        carrier_id=carrier_id,
        started_at=now,
        next_checkin_at=now + CHECKINS[0] if carrier_id is not None else None,
    )


def pair_now(pairing: NewcomerPairing, carrier_id: int, now: datetime) -> None:
    """A waiting newcomer paired: their check-ins count from now."""
    pairing.carrier_id, pairing.started_at = carrier_id, now
    pairing.next_checkin_at = now + CHECKINS[0]


def introduction_intents(
    pairing: NewcomerPairing, newcomer: Member | None, carrier: Member | None
) -> list[Intent]:
    """The two private introductions; each waits for its reader's working hours."""
    if newcomer is None or carrier is None or newcomer.id is None or carrier.id is None:
        return []
    to_newcomer = Card(
        INTRO_NEWCOMER_TITLE, (Text(compose(INTRO_NEWCOMER, carrier=_who(carrier))), Fine(INTRO_FINE))
    )
    to_carrier = Card(
        INTRO_CARRIER_TITLE, (Text(compose(INTRO_CARRIER, newcomer=_who(newcomer))), Fine(INTRO_FINE))
    )
    key = f"carrier-intro:{pairing.id}"
    return [
        DirectMessage(newcomer.id, to_newcomer, key=f"{key}:newcomer"),
        DirectMessage(carrier.id, to_carrier, key=f"{key}:carrier"),
    ]


@dataclass(frozen=True)
class CheckinStep:
    """The check-in due now (1-based), when the one after it is due, or None: the pairing then ends."""

    number: int
    next_at: datetime | None


def checkin_step(pairing: NewcomerPairing) -> CheckinStep | None:
    """None when every check-in was sent (the pairing is done)."""
    number = pairing.next_checkin + 1
    if number > len(CHECKINS):
        return None
    next_at = pairing.started_at + CHECKINS[number] if number < len(CHECKINS) else None
    return CheckinStep(number, next_at)


def checkin_card(pairing: NewcomerPairing, number: int, newcomer: Member, for_newcomer: bool) -> Card:
    weeks = CHECKIN_WORDS[number - 1]
    if for_newcomer:
        text: Rich = compose(CHECKIN_NEWCOMER, weeks=weeks)
    else:
        text = compose(CHECKIN_CARRIER, weeks=weeks, newcomer=_who(newcomer))
    value = f"{pairing.id}:{number}"
    buttons = (
        Button(WELL, "carriers.well", value, "primary"),
        Button(HAND, "carriers.hand", value),
        Button(END, "carriers.end", value),
    )
    return Card(CHECKIN_TITLE, (Text(text), Buttons(buttons), Fine(CHECKIN_FINE)))


def checkin_intents(pairing: NewcomerPairing, number: int, newcomer: Member) -> tuple[DirectMessage, ...]:
    """One check-in: the same question to the newcomer and to their carrier, privately."""
    assert pairing.carrier_id is not None
    key = f"carrier-checkin:{pairing.id}:{number}"
    return (
        DirectMessage(pairing.newcomer_id, checkin_card(pairing, number, newcomer, True), key=f"{key}:n"),
        DirectMessage(pairing.carrier_id, checkin_card(pairing, number, newcomer, False), key=f"{key}:c"),
    )


def tap_role(actor_id: int | None, pairing: NewcomerPairing) -> Literal["newcomer", "carrier"] | None:
    """Only the two people of a pairing answer its check-ins."""
    if actor_id == pairing.newcomer_id:
        return "newcomer"
    if actor_id is not None and actor_id == pairing.carrier_id:
        return "carrier"
    return None


def hand_answer(
    role: str,
    actor: Member,
    pairing: NewcomerPairing,
    number: int,
    carrier: Member | None,
    others: list[Member],
) -> Outcome:
    """ "I'd like a hand": the newcomer's carrier hears it privately; a carrier is pointed to the other
    ambassadors (``others``), or told they are the only one."""
    if role == "newcomer":
        if carrier is None or carrier.id is None:
            return Outcome.reply(THANKS_HAND_ALONE)
        note = text_card(compose(HAND_NOTE, newcomer=_who(actor)), HAND_TITLE)
        return Outcome(
            (
                DirectMessage(carrier.id, note, key=f"carrier-hand:{pairing.id}:{number}"),
                Reply(text_card(compose(THANKS_HAND_NEWCOMER, carrier=_who(carrier)))),
            )
        )
    if not others:
        return Outcome.reply(THANKS_HAND_ALONE)
    return Outcome.reply(compose(THANKS_HAND_CARRIER, who=mentioned(others)))


# --- storage shells: load, decide with the rules above, write -----------------------------------------


async def add(ctx: PracticeContext, people: list[Member], cap: int | None) -> Outcome:
    """Admins only; each new carrier is told privately what it means, and waiting newcomers are paired."""
    refusal = add_refusal(ctx.is_admin, people)
    if refusal is not None:
        return Outcome.reply(refusal)
    existing: dict[int, Carrier] = {}
    for member in people:
        assert member.id is not None
        found = await store.find_carrier(ctx.session, ctx.workspace_id, member.id)
        if found is not None:
            existing[member.id] = found
    naming = name_carriers(ctx.workspace_id, people, existing, cap, ctx.now)
    await store.save_all(ctx.session, naming.carriers)
    paired = await pair_waiting(ctx.session, ctx.workspace, ctx.now)
    intents: list[Intent] = list(naming.welcomes)
    for pairing in paired:
        intents.extend(await introductions(ctx.session, pairing))
    text = added_answer(people, naming.caps, len(paired))
    return Outcome((*intents, Reply(text_card(text))))


async def remove(ctx: PracticeContext, people: list[Member]) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    removed = [
        m
        for m in people
        if m.id is not None and await store.remove_carrier(ctx.session, ctx.workspace_id, m.id)
    ]
    return Outcome.reply(removed_answer(people, removed))


async def list_carriers(ctx: PracticeContext) -> Outcome:
    """Admins only: who carries and how full they are, then coverage as totals (never content)."""
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    carriers = await store.carriers_in(ctx.session, ctx.workspace_id)
    loads = await store.loads(ctx.session, ctx.workspace_id)
    ambassadors = await ambassador_store.ambassadors_in(ctx.session, ctx.workspace_id)
    covered = await store.coverage(ctx.session, ctx.workspace_id)
    return Outcome((Reply(carriers_card(carriers, loads, ambassadors, covered)),))


async def candidates(session: Session, workspace_id: int, now: datetime) -> list[tuple[Candidate, Member]]:
    """Named carriers and ambassadors (``carrier_pool``)."""
    carriers = await store.carriers_in(session, workspace_id)
    ambassadors = await ambassador_store.ambassadors_in(session, workspace_id)
    loads = await store.loads(session, workspace_id)
    ids = list({member.id or 0 for _, member in carriers} | {member.id or 0 for member in ambassadors})
    teams = await store.team_ids_of(session, ids)
    return carrier_pool(carriers, ambassadors, loads, teams, now)


async def _choose(session: Session, workspace_id: int, newcomer: Member, now: datetime) -> int | None:
    assert newcomer.id is not None
    teams = await store.team_ids_of(session, [newcomer.id])
    who = Newcomer(newcomer.id, frozenset(teams.get(newcomer.id, ())), hours_of(newcomer))
    pool = [candidate for candidate, _ in await candidates(session, workspace_id, now)]
    return choose_carrier(who, pool, now.date())


async def on_join(ctx: PracticeContext) -> Outcome:
    """Someone joined: pair them with a carrier and introduce the two (once, however often the
    platform says so). With no carrier free they wait, and are paired when an admin adds one."""
    newcomer = ctx.actor
    if not is_newcomer(newcomer, ctx.now):
        return Outcome()
    assert newcomer.id is not None
    if await store.pairing_of_newcomer(ctx.session, newcomer.id) is not None:
        return Outcome()
    carrier_id = await _choose(ctx.session, ctx.workspace_id, newcomer, ctx.now)
    pairing = new_pairing(ctx.workspace_id, newcomer.id, carrier_id, ctx.now)
    await store.save_pairing(ctx.session, pairing)
    if carrier_id is None:
        return Outcome()
    return Outcome(tuple(await introductions(ctx.session, pairing)))


async def pair_waiting(session: Session, workspace: Workspace, now: datetime) -> list[NewcomerPairing]:
    """Newcomers of the last weeks still without a carrier, paired now (oldest first)."""
    assert workspace.id is not None
    paired: list[NewcomerPairing] = []
    for pairing in await store.waiting(session, workspace.id, now - WAITING_FOR):
        newcomer = await get_member(session, pairing.newcomer_id)
        if newcomer is None:
            continue
        carrier_id = await _choose(session, workspace.id, newcomer, now)
        if carrier_id is None:
            break
        pair_now(pairing, carrier_id, now)
        await store.save_pairing(session, pairing)  # the next choice sees this carrier's new load
        paired.append(pairing)
    return paired


async def introductions(session: Session, pairing: NewcomerPairing) -> list[Intent]:
    newcomer = await get_member(session, pairing.newcomer_id)
    carrier = await get_member(session, pairing.carrier_id) if pairing.carrier_id else None
    return introduction_intents(pairing, newcomer, carrier)


async def sweep(ctx: SweepContext) -> list[SweepResult]:
    """Sends the check-ins that fell due (each once, however many replicas tick), in each reader's
    working hours; after the last one the pairing ends and the carrier is free for someone new. A
    newcomer who waited ``WAITING_FOR`` without a carrier stops waiting (counted as never paired)."""
    results: list[SweepResult] = []
    await store.give_up_waiting(ctx.session, ctx.now - WAITING_FOR, ctx.now)
    for pairing in await store.due_checkins(ctx.session, ctx.now):
        assert pairing.id is not None
        step = checkin_step(pairing)
        if step is None:
            await store.end_pairing(ctx.session, pairing.id, "done", ctx.now)
            continue
        if not await store.advance_checkin(ctx.session, pairing.id, pairing.next_checkin, step.next_at):
            continue  # another replica sent it
        if step.next_at is None:
            await store.end_pairing(ctx.session, pairing.id, "done", ctx.now)
        workspace = await store.workspace_of(ctx.session, pairing)
        newcomer = await get_member(ctx.session, pairing.newcomer_id)
        if workspace is None or not workspace.active or newcomer is None or pairing.carrier_id is None:
            continue
        intents = checkin_intents(pairing, step.number, newcomer)
        results.append(
            SweepResult(workspace, Outcome(intents), f"carrier-checkin:{pairing.id}:{step.number}")
        )
    return results


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """A check-in's buttons: either of the two answers (counted once per check-in) or ends them."""
    raw_id, _, raw_number = value.partition(":")
    if not raw_id.isdigit() or not raw_number.isdigit():
        return Outcome.reply(GONE)
    pairing = await store.pairing_in_workspace(ctx.session, ctx.workspace_id, int(raw_id))
    if pairing is None or pairing.id is None:
        return Outcome.reply(GONE)
    number = int(raw_number)
    role = tap_role(ctx.actor.id, pairing)
    if role is None:
        return Outcome.reply(NOT_YOURS)
    if action == "carriers.end":
        if not await store.end_pairing(ctx.session, pairing.id, role, ctx.now):
            return Outcome.reply(ALREADY_ENDED)
        return Outcome.reply(ENDED)
    if action not in ("carriers.well", "carriers.hand"):
        return Outcome.reply(GONE)
    await store.count_answer(ctx.session, pairing.id, number)
    if action == "carriers.well":
        return Outcome.reply(THANKS_WELL)
    carrier = (
        await get_member(ctx.session, pairing.carrier_id)
        if pairing.carrier_id and role == "newcomer"
        else None
    )
    others = (
        [
            m
            for m in await ambassador_store.ambassadors_in(ctx.session, ctx.workspace_id)
            if m.id != ctx.actor.id
        ]
        if role == "carrier"
        else []
    )
    return hand_answer(role, ctx.actor, pairing, number, carrier, others)


# --- data rights -------------------------------------------------------------------------------------


async def export(ctx: PracticeContext) -> list[ExportSection]:
    """Whom the person was welcomed by or welcomes, and the check-in counts; never anyone's answers."""
    member_id = ctx.actor_id
    carrier = await store.find_carrier(ctx.session, ctx.workspace_id, member_id)
    rows: list[dict[str, object]] = []
    lines: list[Rich | str] = []
    if carrier is not None:
        lines.append(f"You are a culture carrier, up to {carrier.cap} newcomers at a time.")
    for pairing in await store.pairings_of(ctx.session, member_id):
        is_newcomer_here = pairing.newcomer_id == member_id
        other_id = pairing.carrier_id if is_newcomer_here else pairing.newcomer_id
        other = await get_member(ctx.session, other_id) if other_id else None
        other_name = f"@{other.display_name}" if other is not None else SOMEONE
        rows.append(
            {
                "role": "newcomer" if is_newcomer_here else "carrier",
                "with": other_name if other_id else None,
                "started_at": pairing.started_at.isoformat(),
                "checkins_sent": pairing.checkins_sent,
                "checkins_answered": pairing.checkins_answered,
                "ended_at": pairing.ended_at.isoformat() if pairing.ended_at else None,
                "ended_by": pairing.ended_by,
            }
        )
        if is_newcomer_here:
            line = f"Welcomed by {other_name}" if other_id else "Waiting for a culture carrier"
        else:
            line = f"Welcoming {other_name}"
        lines.append(
            f"{line} since {pairing.started_at:%Y-%m-%d}: {pairing.checkins_answered} of "
            f"{pairing.checkins_sent} check-ins answered" + (" (ended)" if pairing.ended_at else "")
        )
    data = {"carrier_cap": carrier.cap if carrier is not None else None, "pairings": rows}
    return [ExportSection("*Culture carriers: welcoming newcomers*", "culture_carriers", data, tuple(lines))]


async def forget(ctx: PracticeContext, erase: bool) -> Forgetting:
    """The pairings naming the person (as newcomer or carrier) and their carrier role go."""
    member_id = ctx.actor_id
    pairings = await store.pairings_of(ctx.session, member_id)
    was_carrier = await store.find_carrier(ctx.session, ctx.workspace_id, member_id) is not None
    if erase:
        await store.forget(ctx.session, member_id)
    lines = []
    if pairings:
        lines.append(f"newcomer pairings: {len(pairings)}")
    if was_carrier:
        lines.append("culture carrier role")
    return Forgetting(erased=tuple(lines))


TOPIC = Topic(
    "carriers",
    "pair each newcomer with a culture carrier",
    "When someone joins, Tend introduces them privately to a culture carrier, ideally from another team, "
    "and checks in lightly after about 1, 4 and 12 weeks. Either of them can end the check-ins. Admins "
    "see only totals.",
    (
        Usage(
            "/tend carriers add",
            "@person [@person ...] [cap N]",
            "name culture carriers (admins)",
            ADD_EXAMPLE,
            TEAM,  # in a channel, where the people to name are
        ),
        Usage(
            "/tend carriers remove",
            "@person [@person ...]",
            "stop giving them newcomers (admins)",
            REMOVE_EXAMPLE,
        ),
        Usage(
            "/tend carriers list",
            "",
            "carriers, how full they are, and coverage totals (admins)",
            LIST_EXAMPLE,
        ),
    ),
    (
        f"A carrier welcomes up to {DEFAULT_CAP} newcomers at a time unless a cap is given; compassion "
        "ambassadors are eligible too. Nobody on leave or paused is picked.",
    ),
    examples=(CAP_EXAMPLE,),
    aliases=("carrier", "newcomers", "culture-carriers"),
)

PRACTICE = Practice(
    name="carriers",
    order=62,  # after pods and teams in help: the networks together
    commands={"carriers": parse_carriers},
    topics=(TOPIC,),
    actions={"carriers": on_action},
    sweeps=(sweep,),
    privacy=(
        "Culture carriers: who welcomes which newcomer, when, and how many check-ins were sent and "
        "answered (never the answers). Admins see only totals.",
    ),
    export=export,
    forget=forget,
    on_join=on_join,
)
