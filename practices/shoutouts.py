"""Appreciation shout-outs: public thanks, a private note to each person thanked, and a weekly read-back.

There are deliberately no counts per person and no leaderboard: the digest reads back who thanked
whom and why, in the order it happened. Giving thanks within 7 days of receiving some is recorded
as contagion, an aggregated signal only.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from practices import signals
from practices.context import PracticeContext
from practices.messages import (
    Button,
    Buttons,
    Card,
    Choice,
    DirectMessage,
    Fine,
    Form,
    FormField,
    OpenForm,
    Outcome,
    PostToPlace,
    Reply,
    Text,
    text_card,
)
from storage import shoutouts as store
from storage.db import Session
from storage.identity import find_member, find_members_by_name, members_by_ids
from storage.models import Member, Shoutout
from storage.teams import team_for_channel, teams_of

MAX_REASON = 1000
CONTAGION_WINDOW = timedelta(days=7)
OPEN_FORM = "kudos.open"
FORM_ID = "kudos.form"

# --- what people read (one place, to review and translate) ---------------------------------------
ONLY_SELF = (
    "Thanking yourself is fair, but shout-outs are for others. Example: /kudos @bo thanks for the review"
)
BOT = "@{name} is a bot; shout-outs are for people. Example: /kudos @bo thanks for the review"
NO_PLACE = (
    "Shout-outs are public, so send /kudos in a channel (or ask an admin to set the team's "
    "shout-out channel). Example: /kudos @bo thanks for the review"
)
SENT = "Sent. {names} will also get a private note."
PROMPT_TITLE = "Who helped you this week?"
PROMPT_TEXT = "Think of one person whose help made a difference, big or small, and tell them."
DIGEST_TITLE = "This week's shout-outs"
DIGEST_EMPTY = "No shout-outs this week yet. Who helped you? Say it with /kudos @name why."
FORM_BAD_PERSON = "I couldn't find {name} here. Pick someone from the list."


def at(member: Member | None) -> str:
    return f"@{member.display_name}" if member is not None else "someone"


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def public_card(giver: Member, receivers: list[Member], reason: str, tags: tuple[str, ...]) -> Card:
    blocks: list[Text | Fine | Buttons] = [
        Text(f"*{at(giver)}* thanked *{_join([at(r) for r in receivers])}*: {reason}")
    ]
    if tags:
        blocks.append(Fine(" ".join(f"#{tag}" for tag in tags)))
    blocks.append(Buttons((Button("Send a shout-out too", OPEN_FORM),)))
    return Card(title="Shout-out", blocks=tuple(blocks))


def private_card(giver: Member, reason: str, where: str) -> Card:
    return Card(
        title="Someone appreciated you",
        blocks=(Text(f"*{at(giver)}* thanked you {where}: {reason}"), Fine("Pass it on: /kudos @name why")),
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
    return build_digest(rows, names)


def build_digest(shoutouts: list[Shoutout], names: dict[int, Member]) -> Card:
    """Who thanked whom and why, oldest first; never a count per person."""
    if not shoutouts:
        return text_card(DIGEST_EMPTY, DIGEST_TITLE)
    lines = []
    for row in shoutouts:
        giver = names.get(row.giver_member_id or -1)
        receiver = names.get(row.receiver_member_id or -1)
        lines.append(f"• {at(giver)} → {at(receiver)}: {row.text}")
    return Card(
        title=DIGEST_TITLE,
        blocks=(Text("\n".join(lines)), Fine("Read back for the team meeting. No rankings, just thanks.")),
    )


async def give(
    ctx: PracticeContext, receivers: list[Member], reason: str, tags: tuple[str, ...] = ()
) -> Outcome:
    """Stores and posts a shout-out; rejects only-yourself, bots and an empty or overlong reason."""
    reason = reason.strip()
    if not reason:
        return Outcome.reply("Add a few words on why. Example: /kudos @bo thanks for the careful review")
    if len(reason) > MAX_REASON:
        return Outcome.reply(f"Please keep it under {MAX_REASON} characters (this one has {len(reason)}).")
    unique: dict[int, Member] = {}
    for member in receivers:
        if member.id is not None and member.id != ctx.actor_id:
            unique[member.id] = member
    others = list(unique.values())
    if not others:
        return Outcome.reply(ONLY_SELF)
    bots = [member for member in others if member.is_bot]
    if bots:
        return Outcome.reply(BOT.format(name=bots[0].display_name))
    place = await _public_place(ctx)
    if place is None:
        return Outcome.reply(NO_PLACE)
    team = await team_for_channel(ctx.session, ctx.workspace_id, ctx.place_id) if ctx.place_id else None
    if team is None:
        actor_teams = await teams_of(ctx.session, ctx.actor_id)
        team = actor_teams[0] if actor_teams else None
    contagious = await store.received_since(ctx.session, ctx.actor_id, ctx.now - CONTAGION_WINDOW)
    org = ctx.workspace.organization_id
    for member in others:
        ctx.session.add(
            Shoutout(
                workspace_id=ctx.workspace_id,
                giver_member_id=ctx.actor_id,
                receiver_member_id=member.id,
                text=reason,
                value_tag=tags[0] if tags else None,
                channel_id=place,
                created_at=ctx.now,
            )
        )
    team_id = team.id if team else None
    await signals.record(ctx.session, org, team_id, ctx.now, "shoutout_given", count=len(others))
    await signals.contributed(ctx.session, ctx.secret_key, org, team_id, ctx.now, "shoutout", ctx.actor_id)
    if contagious:
        await signals.record(ctx.session, org, team_id, ctx.now, "shoutout_contagion", count=len(others))
    where = f"in #{place}" if place else ""
    intents: list[PostToPlace | DirectMessage | Reply] = [
        PostToPlace(place, public_card(ctx.actor, others, reason, tags))
    ]
    intents += [DirectMessage(member.id or 0, private_card(ctx.actor, reason, where)) for member in others]
    intents.append(Reply(text_card(SENT.format(names=_join([at(m) for m in others])))))
    return Outcome(tuple(intents))


async def _public_place(ctx: PracticeContext) -> str | None:
    """The channel it was sent from, unless its team set a shout-out channel; in private: the team's."""
    if ctx.place_id and not ctx.is_direct:
        team = await team_for_channel(ctx.session, ctx.workspace_id, ctx.place_id)
        return team.shoutout_channel_id if team and team.shoutout_channel_id else ctx.place_id
    for team in await teams_of(ctx.session, ctx.actor_id):
        if team.shoutout_channel_id or team.channel_id:
            return team.shoutout_channel_id or team.channel_id
    return None


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    return Outcome((OpenForm(kudos_form()),))


async def on_form(ctx: PracticeContext, form_id: str, values: dict[str, str], state: str) -> Outcome:
    person = values.get("person", "").strip()
    member = await find_member(ctx.session, ctx.workspace_id, person) if person else None
    if member is None and person:
        matches = await find_members_by_name(ctx.session, ctx.workspace_id, person)
        member = matches[0] if len(matches) == 1 else None
    if member is None:
        return Outcome.reply(FORM_BAD_PERSON.format(name=person or "that person"))
    value = values.get("value", "").strip()
    return await give(ctx, [member], values.get("reason", ""), (value,) if value else ())


ACTIONS = {"kudos": on_action}
FORMS = {"kudos": on_form}
