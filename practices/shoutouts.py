"""Appreciation shout-outs: public thanks, a private note to each person thanked, and a weekly read-back.

There are deliberately no counts per person and no leaderboard: the digest reads back who thanked
whom and why, in the order it happened. Giving thanks within 7 days of receiving some is recorded
as contagion, an aggregated signal only.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from practices import data_rights, signals
from practices.grammar import (
    PERSONAL_AND_TEAM,
    People,
    PersonRef,
    Result,
    Token,
    Topic,
    Usage,
    UsageError,
    shown,
    unique_people,
)
from practices.messages import (
    Button,
    Buttons,
    Card,
    Choice,
    DirectMessage,
    Example,
    Fine,
    Form,
    FormField,
    Mention,
    OpenForm,
    Outcome,
    Place,
    PostToPlace,
    Reply,
    Rich,
    Said,
    Span,
    Text,
    as_typed,
    compose,
    joined,
    people_in,
    text_card,
    words,
)
from practices.people import resolve_people
from practices.practice import ExportSection, Forgetting, Practice, PracticeContext
from storage import shoutouts as store
from storage.db import Session
from storage.identity import find_member, find_members_by_name, members_by_ids
from storage.models import Member, Shoutout, Team
from storage.org_teams import team_for_channel, teams_here_and_own

MAX_REASON = 1000
CONTAGION_WINDOW = timedelta(days=7)
OPEN_FORM = "kudos.open"
FORM_ID = "kudos.form"

# --- what people read (one place, to review and translate) ---------------------------------------
EXAMPLE = Example("/kudos @bo thanks for the review")
ONLY_SELF = "You can't thank yourself; shout-outs are for others. Example: {example}"
BOT = "@{name} is a bot; shout-outs are for people. Example: {example}"
NO_PLACE = (
    "Shout-outs are public, so send them in a channel (or ask an admin to set the team's "
    "shout-out channel). Example: {example}"
)
NO_REASON = "Add a few words on why. Example: {example}"
NO_WORDS = "“{reason}” doesn't say what they did; add a few words on why. Example: {example}"
SENT = "Sent. {names} will also get a private note."
SENT_NOT_YOU = "You can't thank yourself, so I left you out. Sent to {names}, with a private note."
PUBLIC = "{giver} thanked {receivers}: {reason}"
PRIVATE = "{giver} thanked you {where}: {reason}"
IN_PLACE = "in {place}"
DIGEST_LINE = "• {giver} → {receiver}: {reason}"
SOMEONE = "someone"
PROMPT_TITLE = "Who helped you this week?"
PROMPT_TEXT = "Think of one person whose help made a difference, big or small, and tell them."
DIGEST_TITLE = "This week's shout-outs"
DIGEST_EMPTY = "No shout-outs this week yet. Who helped you? Say it, for example: {example}"
PASS_IT_ON = "Pass it on: {example}"
FORM_BAD_PERSON = "I couldn't find {name} here. Pick someone from the list."


def person(member: Member | None) -> Span:
    """A member as a mention (their platform shows their current name and notifies them)."""
    if member is None:
        return SOMEONE
    return Mention(member.platform_user_id, member.display_name)


async def names_for(session: Session, workspace_id: int, texts: list[str]) -> dict[str, str]:
    """Display names of the people mentioned inside typed texts, so every platform can name them."""
    names: dict[str, str] = {}
    for user_id in sorted({uid for text in texts for uid in people_in(text)}):
        member = await find_member(session, workspace_id, user_id)
        if member is not None:
            names[user_id] = member.display_name
    return names


def public_card(
    giver: Member,
    receivers: list[Member],
    reason: str,
    tags: tuple[str, ...],
    names: dict[str, str] | None = None,
) -> Card:
    """The channel's card: the giver and the people thanked mentioned, the reason as they typed it."""
    text = compose(
        PUBLIC,
        giver=person(giver),
        receivers=joined([person(r) for r in receivers]),
        reason=words(reason, names),
    )
    blocks: list[Text | Fine | Buttons] = [Text(text)]
    if tags:
        blocks.append(Fine((Said(" ".join(f"#{tag}" for tag in tags)),)))
    blocks.append(Buttons((Button("Send a shout-out too", OPEN_FORM),)))
    return Card(title="Shout-out", blocks=tuple(blocks))


def private_card(giver: Member, reason: str, where: Rich | str, names: dict[str, str] | None = None) -> Card:
    text = compose(PRIVATE, giver=person(giver), where=where, reason=words(reason, names))
    return Card(
        title="Someone appreciated you",
        blocks=(Text(text), Fine(compose(PASS_IT_ON, example=EXAMPLE))),
    )


def kudos_form() -> Form:
    return Form(
        form_id=FORM_ID,
        title="Send a shout-out",
        fields=(
            FormField("person", "Who do you want to thank?", kind="person"),
            FormField(
                "reason",
                "What did they do?",
                kind="long_text",
                max_length=MAX_REASON,
                hint="Be specific: what happened and why it mattered.",
            ),
            FormField(
                "value",
                "Which value did it show?",
                kind="choice",
                required=False,
                choices=tuple(
                    Choice(label, label.lower())
                    for label in ("Care", "Teamwork", "Courage", "Craft", "Learning")
                ),
            ),
        ),
        submit_label="Send",
    )


def prompt_card() -> Card:
    return Card(
        title=PROMPT_TITLE,
        blocks=(Text(PROMPT_TEXT), Buttons((Button("Send a shout-out", OPEN_FORM, style="primary"),))),
    )


async def digest(session: Session, workspace_id: int, end: datetime, channel_id: str | None) -> Card:
    """The week up to ``end`` read back; in the ritual's channel when it has one."""
    rows = await store.given_between(session, workspace_id, end - timedelta(days=7), end, channel_id)
    ids = {i for row in rows for i in (row.giver_member_id, row.receiver_member_id) if i is not None}
    names = {member.id or 0: member for member in await members_by_ids(session, ids)}
    mentioned = await names_for(session, workspace_id, [row.text for row in rows])
    return build_digest(rows, names, mentioned)


def build_digest(
    shoutouts: list[Shoutout], names: dict[int, Member], mentioned: dict[str, str] | None = None
) -> Card:
    """Who thanked whom and why, oldest first; never a count per person."""
    if not shoutouts:
        return text_card(compose(DIGEST_EMPTY, example=EXAMPLE), DIGEST_TITLE)
    lines: list[Rich] = []
    for row in shoutouts:
        giver = names.get(row.giver_member_id or -1)
        receiver = names.get(row.receiver_member_id or -1)
        reason = words(row.text, mentioned)
        lines.append(compose(DIGEST_LINE, giver=person(giver), receiver=person(receiver), reason=reason))
    return Card(
        title=DIGEST_TITLE,
        blocks=(
            Text(joined(lines, "\n", "\n")),
            Fine("Read back for the team meeting. No rankings, just thanks."),
        ),
    )


# --- rules: pure, called by tests with no database ---------------------------------------------


@dataclass(frozen=True)
class Thanked:
    """A shout-out that passed the checks: the people thanked (never the giver, each once)."""

    receivers: tuple[Member, ...]
    reason: str
    left_out_self: bool


@dataclass(frozen=True)
class ShoutoutPlan:
    """What giving a shout-out does: the intents to send and what to write (rows and signal counts)."""

    outcome: Outcome
    rows: tuple[Shoutout, ...]
    given: int
    contagion: int


def check_shoutout(giver_id: int, receivers: Sequence[Member], reason: str) -> Thanked | Outcome:
    """Refuses an empty, wordless or overlong reason, only-yourself and bots, with an example each."""
    reason = reason.strip()
    if not reason:
        return Outcome.reply(compose(NO_REASON, example=EXAMPLE))
    if not any(character.isalnum() for character in reason):  # "#" or "!!!" says nothing they did
        return Outcome.reply(compose(NO_WORDS, reason=Said(reason[:40]), example=EXAMPLE))
    if len(reason) > MAX_REASON:
        return Outcome.reply(f"Please keep it under {MAX_REASON} characters (this one has {len(reason)}).")
    unique: dict[int, Member] = {}
    for member in receivers:
        if member.id is not None and member.id != giver_id:
            unique[member.id] = member
    others = tuple(unique.values())
    if not others:
        return Outcome.reply(compose(ONLY_SELF, example=EXAMPLE))
    bots = [member for member in others if member.is_bot]
    if bots:
        return Outcome.reply(compose(BOT, name=Said(bots[0].display_name), example=EXAMPLE))
    return Thanked(others, reason, any(member.id == giver_id for member in receivers))


def public_place(
    place_id: str | None, is_direct: bool, here_team: Team | None, own_teams: Sequence[Team]
) -> str | None:
    """The channel it was sent from, unless its team set a shout-out channel; in private: the team's."""
    if place_id and not is_direct:
        return here_team.shoutout_channel_id if here_team and here_team.shoutout_channel_id else place_id
    for team in own_teams:
        if team.shoutout_channel_id or team.channel_id:
            return team.shoutout_channel_id or team.channel_id
    return None


def credited_team(here_team: Team | None, own_teams: Sequence[Team]) -> Team | None:
    """The team whose signals count the shout-out: the channel's, else the giver's first team."""
    return here_team if here_team is not None else (own_teams[0] if own_teams else None)


def plan_shoutout(
    workspace_id: int,
    giver: Member,
    thanked: Thanked,
    tags: tuple[str, ...],
    place: str,
    place_name: str,
    contagious: bool,
    now: datetime,
    names: dict[str, str] | None = None,
) -> ShoutoutPlan:
    """One row per person thanked, the public card, a private note to each of them (never the giver),
    and contagion counted when the giver was thanked within ``CONTAGION_WINDOW``."""
    others = list(thanked.receivers)
    rows = tuple(
        Shoutout(
            workspace_id=workspace_id,
            giver_member_id=giver.id,
            receiver_member_id=member.id,
            text=thanked.reason,
            value_tag=tags[0] if tags else None,
            channel_id=place,
            created_at=now,
        )
        for member in others
    )
    where = compose(IN_PLACE, place=Place(place, place_name))
    intents: list[PostToPlace | DirectMessage | Reply] = [
        PostToPlace(place, public_card(giver, others, thanked.reason, tags, names))
    ]
    intents += [
        DirectMessage(member.id or 0, private_card(giver, thanked.reason, where, names)) for member in others
    ]
    sent = SENT_NOT_YOU if thanked.left_out_self else SENT
    intents.append(Reply(text_card(compose(sent, names=joined([person(m) for m in others])))))
    return ShoutoutPlan(Outcome(tuple(intents)), rows, len(others), len(others) if contagious else 0)


def form_person(by_id: Member | None, by_name: Sequence[Member]) -> Member | None:
    """The person a form names: by platform id, else the one member with that name (never a guess)."""
    if by_id is not None:
        return by_id
    return by_name[0] if len(by_name) == 1 else None


# --- storage shells: load, decide with the rules above, write -------------------------------------


async def give(
    ctx: PracticeContext, receivers: list[Member], reason: str, tags: tuple[str, ...] = ()
) -> Outcome:
    """Stores and posts a shout-out; rejects only-yourself, bots and an empty or overlong reason."""
    thanked = check_shoutout(ctx.actor_id, receivers, reason)
    if isinstance(thanked, Outcome):
        return thanked
    here_team, own_teams = await teams_here_and_own(ctx.session, ctx.workspace_id, ctx.place_id, ctx.actor_id)
    place = public_place(ctx.place_id, ctx.is_direct, here_team, own_teams)
    if place is None:
        return Outcome.reply(compose(NO_PLACE, example=EXAMPLE))
    team = credited_team(here_team, own_teams)
    contagious = await store.received_since(ctx.session, ctx.actor_id, ctx.now - CONTAGION_WINDOW)
    names = await names_for(ctx.session, ctx.workspace_id, [thanked.reason])
    channel = (
        here_team if place == ctx.place_id else await team_for_channel(ctx.session, ctx.workspace_id, place)
    )
    plan = plan_shoutout(
        ctx.workspace_id,
        ctx.actor,
        thanked,
        tags,
        place,
        channel.name if channel else "",
        contagious,
        ctx.now,
        names,
    )
    await store.add_all(ctx.session, plan.rows)
    org, team_id = ctx.workspace.organization_id, team.id if team else None
    counts: list[signals.Count] = [(team_id, "shoutout_given", plan.given)]
    if plan.contagion:
        counts.append((team_id, "shoutout_contagion", plan.contagion))
    counts += await signals.newly_contributed(
        ctx.session, ctx.secret_key, org, team_id, ctx.now, "shoutout", ctx.actor_id
    )
    await signals.record_many(ctx.session, org, ctx.now, counts)
    return plan.outcome


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    return Outcome((OpenForm(kudos_form()),))


async def on_form(ctx: PracticeContext, form_id: str, values: dict[str, str], state: str) -> Outcome:
    person = values.get("person", "").strip()
    by_id = await find_member(ctx.session, ctx.workspace_id, person) if person else None
    by_name = (
        await find_members_by_name(ctx.session, ctx.workspace_id, person) if person and not by_id else []
    )
    member = form_person(by_id, by_name)
    if member is None:
        return Outcome.reply(compose(FORM_BAD_PERSON, name=Said(person) if person else "that person"))
    value = values.get("value", "").strip()
    return await give(ctx, [member], as_typed(values.get("reason", "")), (value,) if value else ())


# --- the words: /kudos, its parser and its help --------------------------------------------------

MAX_TAG = 30  # a value tag is a word (#teamwork), not a second reason
KUDOS_EXAMPLE = "/kudos @sam thanks for covering the on-call shift #teamwork"
_TAG = re.compile(r"#[\w-]+")
_JOINERS = {",", "&", "+", "and"}
_WORDY = re.compile(r"[^\W_]")  # a reason needs at least one letter or digit ("#" alone says nothing)
_TOKENS_ONLY = re.compile(r"<[@#][^<>]*>")  # platform mention tokens are people, not words


@dataclass(frozen=True)
class Kudos:
    receivers: People
    reason: str
    value_tags: tuple[str, ...] = ()

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await give(ctx, await resolve_people(ctx, self.receivers), self.reason, self.value_tags)


def parse_kudos(text: str, toks: list[Token]) -> Result:
    people: list[PersonRef] = []
    i = 0
    while i < len(toks):
        k = i
        while people and k < len(toks) and toks[k].word in _JOINERS:  # "@a, and @b"
            k += 1
        if k == len(toks) or (person := toks[k].person) is None:
            break
        people.append(person)
        i = k + 1
    if not people:
        if any(t.person for t in toks):
            return UsageError("Start with the people you're thanking, then say what they did.", KUDOS_EXAMPLE)
        return UsageError("Tell me who to thank: mention at least one person.", KUDOS_EXAMPLE)
    j = len(toks)
    while j > i and _TAG.fullmatch(toks[j - 1].raw):
        j -= 1
    tags = tuple(dict.fromkeys(t.raw[1:].lower() for t in toks[j:]))
    long_tag = next((tag for tag in tags if len(tag) > MAX_TAG), None)
    if long_tag is not None:
        msg = (
            f"A value tag is one short word of up to {MAX_TAG} characters, like #teamwork; "
            f"“#{shown(long_tag, 20)}” has {len(long_tag):,}. Put longer words in the reason."
        )
        return UsageError(msg, KUDOS_EXAMPLE)
    reason = text[toks[i - 1].end : toks[j].start if j < len(toks) else len(text)] if j > i else ""
    reason = re.sub(r"^[:,;–—-]+(?=\s|$)", "", reason.strip()).strip()
    if not reason:
        return UsageError("Say what you're thanking them for after the mentions.", KUDOS_EXAMPLE)
    if not _WORDY.search(_TOKENS_ONLY.sub("", reason)):
        msg = f"“{shown(reason)}” doesn't say what they did; add a few words after the mentions."
        return UsageError(msg, KUDOS_EXAMPLE)
    if len(reason) > MAX_REASON:
        return UsageError(
            f"That reason is {len(reason):,} characters; please keep it to {MAX_REASON:,}.", KUDOS_EXAMPLE
        )
    return Kudos(unique_people(people), reason, tags)


TOPIC = Topic(
    "kudos",
    "thank someone where the team sees it",
    "A shout-out is posted in the channel (or the team's shout-out channel) and each person thanked "
    "gets a private note. There are no counts and no leaderboard.",
    (
        Usage(
            "/kudos",
            "@person [@person ...] what they did [#value ...]",
            "thank one or more people; value tags go at the end",
            KUDOS_EXAMPLE,
            PERSONAL_AND_TEAM,
        ),
    ),
    (
        "The reason is up to 1,000 characters; a value tag is one word of up to 30 letters, digits or "
        "dashes. You can't thank yourself.",
    ),
    aliases=("shoutout", "shout-out", "thanks"),
)

# --- data rights: shout-outs given and received ---------------------------------------------------
PRIVACY = (
    "*Shout-outs* are public by nature: who thanked whom and why, in the channel where they were "
    "given, read back in the weekly digest. There are no counts per person and no leaderboard.",
)
GIVEN_HEADING = "*Shout-outs you gave*"
RECEIVED_HEADING = "*Shout-outs you received*"
GIVEN_LINE = "• {when} in {where}, to {other}: {text}"
RECEIVED_LINE = "• {when} in {where}, from {other}: {text}"
FORGET_ASK = "shout-outs that keep their words but lose your name: {given} given, {received} received"
FORGET_DONE = "{count} shout-out(s), whose words stay"


async def export_mine(ctx: PracticeContext) -> tuple[ExportSection, ...]:
    given = await store.given_by(ctx.session, ctx.workspace_id, ctx.actor_id)
    received = await store.received_by(ctx.session, ctx.workspace_id, ctx.actor_id)
    name = await data_rights.names_of(
        ctx, [row.receiver_member_id for row in given] + [row.giver_member_id for row in received]
    )
    when = data_rights.local_clock(ctx)

    def section(heading: str, key: str, line: str, rows: list[Shoutout], other: str) -> ExportSection:
        def other_id(row: Shoutout) -> int | None:
            return row.receiver_member_id if other == "to" else row.giver_member_id

        lines = tuple(
            compose(
                line,
                when=when(row.created_at),
                where=data_rights.channel(row.channel_id),
                other=Said(name(other_id(row))),
                text=Said(row.text),
            )
            for row in rows
        )
        data = [
            {
                other: name(other_id(row)),
                "text": row.text,
                "value": row.value_tag,
                "when": data_rights.iso(row.created_at),
                "channel": row.channel_id,
            }
            for row in rows
        ]
        return ExportSection(heading, key, data, lines=lines)

    return (
        section(GIVEN_HEADING, "shoutouts_given", GIVEN_LINE, given, "to"),
        section(RECEIVED_HEADING, "shoutouts_received", RECEIVED_LINE, received, "from"),
    )


async def forget_mine(ctx: PracticeContext, erase: bool) -> Forgetting:
    """Shout-outs keep their words (they were public, and thank the other person too) but lose the name."""
    if not erase:
        given = await store.given_by(ctx.session, ctx.workspace_id, ctx.actor_id)
        received = await store.received_by(ctx.session, ctx.workspace_id, ctx.actor_id)
        return Forgetting(kept=(FORGET_ASK.format(given=len(given), received=len(received)),))
    count = await store.unname(ctx.session, ctx.workspace_id, ctx.actor_id)
    return Forgetting(kept=(FORGET_DONE.format(count=count),))


PRACTICE = Practice(
    name="shoutouts",
    order=10,
    top_level={"kudos": parse_kudos},
    topics=(TOPIC,),
    actions={"kudos": on_action},
    forms={"kudos": on_form},
    signals=("shoutout_given", "shoutout_contagion", "contributor_shoutout"),
    privacy=PRIVACY,
    export=export_mine,
    forget=forget_mine,
)
