"""A person's own home page (Slack's App Home): what is theirs to read, and the few things they can do.

It shows only what the person could see anyway: shout-outs they received (public by nature), their own
next 1:1s when they run some, and their own settings. No scores, no counts per person, nothing about
a colleague beyond what a shout-out or a shared 1:1 already shows them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from practices import local_time, preferences, shoutouts, stress_reports
from practices.messages import (
    Block,
    Button,
    Buttons,
    Card,
    Divider,
    Fine,
    Mention,
    Outcome,
    Reply,
    Rich,
    Said,
    Span,
    Text,
    When,
    compose,
    joined,
    words,
)
from practices.practice import PracticeContext
from practices.rituals import lead_of
from storage import one_on_ones as pairs_store
from storage import shoutouts as shoutouts_store
from storage.identity import members_by_ids
from storage.models import Member, OneOnOnePair, Ritual, Shoutout

RECENT = timedelta(days=30)
MAX_SHOUTOUTS = 5
MAX_ONE_ON_ONES = 3

# --- what people read (one place, to review and translate) ---------------------------------------
TITLE = "Your Tend"
GREETING = "Hi {name}. This page is only yours: nobody else sees it."
THANKS_HEADING = "*Thanks you received lately*"
THANKS_LINE = "• {when}, {giver}: {text}"
THANKS_NONE = "No shout-outs in the last 30 days yet. They will show up here when someone thanks you."
ONE_ON_ONES_HEADING = "*Your next 1:1s*"
ONE_ON_ONE_LINE = "• {when} with {report}"
SETTINGS_HEADING = "*Your settings*"
SOMEONE = "someone"
KUDOS_BUTTON = "Send a shout-out"
STRESS_BUTTON = "Report stress privately"
HOURS_BUTTON = "Change hours or time zone"
FINE = "Stress reports are anonymous: nobody, admins included, can see who sent one."


def _local(moment: datetime, time_zone: str) -> str:
    return local_time.day_and_time(moment, time_zone)  # an odd stored zone reads as UTC


def _day(moment: datetime, time_zone: str) -> str:
    return local_time.day(moment, time_zone)


def _person(member: Member | None) -> Span:
    return Mention(member.platform_user_id, member.display_name) if member is not None else SOMEONE


def _paragraph(heading: str, lines: list[Rich]) -> Text:
    return Text(joined([heading, *lines], "\n", "\n"))


# --- rules: pure, called by tests with no database ---------------------------------------------------


def thanks_blocks(
    rows: Sequence[Shoutout], givers: dict[int | None, Member], mentioned: dict[str, str], zone: str
) -> list[Block]:
    """The shout-outs the person received lately (public by nature), each with its day and giver."""
    if not rows:
        return [Text(THANKS_HEADING + "\n" + THANKS_NONE)]
    lines = [
        compose(
            THANKS_LINE,
            when=When(row.created_at, _day(row.created_at, zone), "date"),
            giver=_person(givers.get(row.giver_member_id)),
            text=words(row.text, mentioned),
        )
        for row in rows
    ]
    return [_paragraph(THANKS_HEADING, lines)]


def upcoming_one_on_ones(
    pairs: Sequence[tuple[Ritual, OneOnOnePair]], actor_id: int
) -> list[tuple[datetime, Ritual, int | None]]:
    """The person's own next 1:1s as the manager (never another pair's), soonest first, at most three;
    a paused pair has no next meeting."""
    upcoming: list[tuple[datetime, Ritual, int | None]] = []
    for ritual, pair in pairs:
        if pair.manager_member_id != actor_id or ritual.paused or ritual.next_run_at is None:
            continue
        upcoming.append((ritual.next_run_at + lead_of(ritual), ritual, pair.report_member_id))
    upcoming.sort(key=lambda item: (item[0], item[1].id or 0))
    return upcoming[:MAX_ONE_ON_ONES]


def one_on_one_blocks(
    soonest: Sequence[tuple[datetime, Ritual, int | None]], people: dict[int | None, Member], zone: str
) -> list[Block]:
    """Nothing at all for someone who runs no 1:1s."""
    if not soonest:
        return []
    lines = [
        compose(
            ONE_ON_ONE_LINE, when=When(meeting, _local(meeting, zone)), report=_person(people.get(report))
        )
        for meeting, _, report in soonest
    ]
    return [_paragraph(ONE_ON_ONES_HEADING, lines)]


def page(actor: Member, thanks: list[Block], one_on_ones: list[Block], settings: str) -> Card:
    """The page: greeting, thanks, 1:1s, settings and the few things the person can do."""
    blocks: list[Block] = [Text(compose(GREETING, name=Said(actor.display_name))), Divider()]
    blocks += thanks
    blocks += one_on_ones
    blocks += [
        Text(SETTINGS_HEADING + "\n" + settings),
        Buttons(
            (
                Button(KUDOS_BUTTON, shoutouts.OPEN_FORM, style="primary"),
                Button(STRESS_BUTTON, stress_reports.START),
                Button(HOURS_BUTTON, preferences.OPEN_HOURS),
            )
        ),
        Fine(FINE),
    ]
    return Card(title=TITLE, blocks=tuple(blocks))


# --- storage shells: load, decide with the rules above, write -----------------------------------------


async def _thanks(ctx: PracticeContext) -> list[Block]:
    rows = await shoutouts_store.received_recently(ctx.session, ctx.actor_id, ctx.now - RECENT, MAX_SHOUTOUTS)
    givers = {row.giver_member_id for row in rows if row.giver_member_id is not None}
    names: dict[int | None, Member] = {
        member.id: member for member in await members_by_ids(ctx.session, givers)
    }
    mentioned = (
        await shoutouts.names_for(ctx.session, ctx.workspace_id, [row.text for row in rows]) if rows else {}
    )
    return thanks_blocks(rows, names, mentioned, ctx.actor.time_zone)


async def _next_one_on_ones(ctx: PracticeContext) -> list[Block]:
    soonest = upcoming_one_on_ones(
        await pairs_store.pairs_in_workspace(ctx.session, ctx.workspace_id), ctx.actor_id
    )
    reports = {r for _, _, r in soonest if r is not None}
    people: dict[int | None, Member] = (
        {m.id: m for m in await members_by_ids(ctx.session, reports)} if reports else {}
    )
    return one_on_one_blocks(soonest, people, ctx.actor.time_zone)


async def home_card(ctx: PracticeContext) -> Card:
    return page(ctx.actor, await _thanks(ctx), await _next_one_on_ones(ctx), preferences.describe(ctx))


async def show(ctx: PracticeContext) -> Outcome:
    """The person's home page, as a private answer the adapter shows where home pages live."""
    return Outcome((Reply(await home_card(ctx)),))
