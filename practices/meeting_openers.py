"""Meeting-opener check-ins: "How are you arriving today?" on a weather scale, answered anonymously.

Before the meeting a card is posted in the ritual's channel. Each tap is stored under a voter key,
an HMAC of the member id keyed with the occurrence's random salt, so a person's second tap replaces
their first, yet nothing stored names them. The card shows only how many answered until the minimum
group size is reached, then the count per choice, never who chose what. Twelve hours after firing
the occurrence closes: its answers become two aggregated signals, then the rows and the salt are
deleted, after which no key can be recomputed for anyone.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from datetime import timedelta

from practices import signals
from practices.context import FireContext, PracticeContext, SweepContext, SweepResult
from practices.messages import (
    Button,
    Buttons,
    Card,
    Fact,
    Facts,
    Fine,
    Outcome,
    PostToPlace,
    Reply,
    Text,
    UpdateCard,
    text_card,
)
from storage import openers as store
from storage.models import Occurrence

KIND = "opener"
ANSWER_ACTION = "opener.answer"
SUPPORT_ACTION = "stress.start"  # registered by the stress practice; it opens the report privately
OPEN_FOR = timedelta(hours=12)
CLOSE_BATCH = 500  # occurrences closed per sweep; the rest wait for the next tick
VALUE = re.compile(r"([0-9]{1,10}):([0-9])")  # a button's value: "<occurrence id>:<score>"
MAX_ID = 2**31 - 1  # ids are 32-bit integers in the database; a larger number cannot name one

# The weather scale, worst to best: (score, label). Scores are what the signals sum.
CHOICES: tuple[tuple[int, str], ...] = (
    (1, "⛈️ Stormy"),
    (2, "🌧️ Rainy"),
    (3, "☁️ Cloudy"),
    (4, "⛅ Partly sunny"),
    (5, "☀️ Sunny"),
)
SCORES = {score for score, _ in CHOICES}

# --- what people read (one place, to review and translate) ---------------------------------------
QUESTION = "How are you arriving today?"
INVITE = "Pick the weather that fits you right now. One tap, anonymous; tap again to change it."
SUPPORT_LABEL = "I could use support"
NO_ANSWERS = "No answers yet."
ANSWERS = "{count} answers"
ONE_ANSWER = "1 answer"
WAITING = "The totals appear once {size} people have answered."
PRIVATE = (
    "Anonymous: only totals are shown, never who answered what, admins included. "
    "Answers are erased 12 hours after the check-in."
)
SUPPORT_HINT = "Rough day? “I could use support” starts a private, anonymous report only you see."
THANKS = "Thanks — your answer is counted anonymously; tap again to change it."
CLOSED = "This check-in has closed, so answers are no longer counted. Look out for the next one!"
UNKNOWN = "I couldn't read that answer. Please tap one of the weather buttons on the latest check-in card."


def voter_key(salt: str, member_id: int) -> str:
    """The key a person's answer is stored under: linkable to them only while the salt exists."""
    return hmac.new(salt.encode(), str(member_id).encode(), hashlib.sha256).hexdigest()


def _count_text(count: int) -> str:
    if count == 0:
        return NO_ANSWERS
    return ONE_ANSWER if count == 1 else ANSWERS.format(count=count)


def check_in_card(occurrence_id: int, tallies: dict[int, int], min_group_size: int) -> Card:
    """The card, with the count only below the group size and the totals per choice at or above it."""
    count = sum(tallies.values())
    status: list[Text | Facts] = [Text(_count_text(count))]
    if count >= min_group_size:
        status.append(Facts(tuple(Fact(label, str(tallies.get(score, 0))) for score, label in CHOICES)))
    else:
        status.append(Text(WAITING.format(size=min_group_size)))
    answers = Buttons(
        tuple(Button(label, ANSWER_ACTION, f"{occurrence_id}:{score}") for score, label in CHOICES)
    )
    return Card(
        title=QUESTION,
        blocks=(
            Text(INVITE),
            answers,
            *status,
            Buttons((Button(SUPPORT_LABEL, SUPPORT_ACTION, ""),)),
            Fine(SUPPORT_HINT),
            Fine(PRIVATE),
        ),
    )


async def fire(ctx: FireContext) -> Outcome:
    """Posts the empty check-in card in the ritual's channel."""
    place = ctx.ritual.place_id
    occurrence_id = ctx.occurrence.id
    assert place is not None and occurrence_id is not None
    card = check_in_card(occurrence_id, {}, ctx.min_group_size)
    return Outcome((PostToPlace(place, card, key=f"opener:{occurrence_id}"),))


def _parse(value: str) -> tuple[int, int] | None:
    """``"<occurrence id>:<score>"`` to numbers, or None for anything else."""
    matched = VALUE.fullmatch(value)
    if matched is None:
        return None
    occurrence_id, score = int(matched[1]), int(matched[2])
    return (occurrence_id, score) if occurrence_id <= MAX_ID and score in SCORES else None


def _is_open(occurrence: Occurrence, ctx: PracticeContext) -> bool:
    return (
        occurrence.closed_at is None
        and occurrence.answer_salt is not None
        and ctx.now < occurrence.fired_at + OPEN_FOR
    )


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """Stores (or replaces) the tapper's answer, refreshes the card in place, thanks them privately."""
    parsed = _parse(value) if action == ANSWER_ACTION else None
    if parsed is None:
        return Outcome.reply(UNKNOWN)
    occurrence_id, score = parsed
    found = await store.occurrence_for_answer(ctx.session, ctx.workspace_id, occurrence_id, KIND)
    if found is None:
        return Outcome.reply(UNKNOWN)
    occurrence, _ = found
    if not _is_open(occurrence, ctx):
        return Outcome.reply(CLOSED)
    assert occurrence.answer_salt is not None
    await store.save_answer(
        ctx.session, occurrence_id, voter_key(occurrence.answer_salt, ctx.actor_id), score
    )
    tallies = await store.tally(ctx.session, occurrence_id)
    intents: list[UpdateCard | Reply] = []
    if message_ref and ctx.place_id:
        card = check_in_card(occurrence_id, tallies, ctx.min_group_size)
        intents.append(UpdateCard(message_ref, ctx.place_id, card))
    intents.append(Reply(text_card(THANKS)))
    return Outcome(tuple(intents))


async def close_due(ctx: SweepContext) -> list[SweepResult]:
    """Closes openers fired ``OPEN_FOR`` ago: answers become signals, then rows and salt are erased.

    A closed occurrence is never found again, so a second sweep does nothing. Nothing is sent: a
    sweep has no reference to the posted card.
    """
    for occurrence, ritual, organization_id in await store.due_to_close(
        ctx.session, KIND, ctx.now - OPEN_FOR, CLOSE_BATCH
    ):
        count, score_sum = await store.close(ctx.session, occurrence, ctx.now)
        team, week_of = ritual.team_id, occurrence.scheduled_at
        await signals.record(
            ctx.session, organization_id, team, week_of, "opener_answer", count=count, value=score_sum
        )
        await signals.record(ctx.session, organization_id, team, week_of, "opener_occurrence")
    return []


ACTIONS = {"opener": on_action}
RITUALS = {KIND: fire}
SWEEPS = (close_due,)
