"""Meeting-opener check-ins: "How are you arriving today?" on a weather scale, answered anonymously.

Before the meeting a card is posted in the ritual's channel. Whoever holds a dump, the database files
or their leftover bytes, the logs and every version of the public card must not learn who chose what:

- A tap is stored under a voter key, a keyed digest (``TEND_SECRET_KEY``) of the occurrence and the
  platform user id, so a second tap replaces the first, yet nothing in the database can recompute it.
  The tap is ``ANONYMOUS``: the engine writes no member row for it.
- The choice is stored sealed (``seal_score``: AES-GCM under the same secret, a fresh nonce per write).
  Rows, their order, their xmin and their WAL frames tie a row to the moment of a tap, which a
  colleague watching someone tap also knows; without the key a row still says nothing of the choice.
- Until the check-in closes the card shows only how many answered: a change per tap would tell
  whoever saw the tap what was chosen. Twelve hours after firing the occurrence closes: the card is
  updated once with the totals (only if at least the minimum group size answered), the answers become
  aggregate signals and the rows are deleted.

The key's holder can recompute voter keys and open scores while the rows (or their bytes) exist:
that is the documented residual (docs/privacy.md, "Threat model").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from practices import signals
from practices.messages import (
    Block,
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
from practices.practice import FireContext, Practice, PracticeContext, RitualKind, SweepContext, SweepResult
from practices.sealing import digest, digests, seal, unseal
from storage import openers as store
from storage.db import Session
from storage.models import Occurrence
from storage.outbox import by_key

KIND = "opener"
ANSWER_ACTION = "opener.answer"
# A tap writes nothing about the person who tapped (bot/dispatch.py ``is_anonymous``).
ANONYMOUS = frozenset({ANSWER_ACTION})
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
SCORES = tuple(score for score, _ in CHOICES)

# --- what people read (one place, to review and translate) ---------------------------------------
QUESTION = "How are you arriving today?"
INVITE = "Pick the weather that fits you right now. One tap, anonymous; tap again to change it."
SUPPORT_LABEL = "I could use support"
NO_ANSWERS = "No answers yet."
ANSWERS = "{count} answers"
ONE_ANSWER = "1 answer"
TOTALS_LATER = "Totals appear when the check-in closes, if at least {size} people answered."
PRIVATE = (
    "Anonymous: Tend shows nobody, admins included, who answered what. Until the check-in closes, "
    "{hours} hours after it started, this card changes only in its count; then the answers are erased."
)
CLOSED_HEADLINE = "This check-in has closed. {answers}"
NOBODY = "Nobody answered."
ANSWERED = "{count} people answered."
ONE_ANSWERED = "1 person answered."
TOO_FEW = "Fewer than {size} people answered, so no totals are shown."
CLOSED_PRIVATE = "Tend showed nobody, admins included, who answered what, and the answers are now erased."
SUPPORT_HINT = "Rough day? “I could use support” starts a private, anonymous report only you see."
THANKS = "Thanks — your answer is counted anonymously; tap again to change it."
CLOSED = "This check-in has closed, so answers are no longer counted. Look out for the next one!"
UNKNOWN = "I couldn't read that answer. Please tap one of the weather buttons on the latest check-in card."

# --- keys and sealed scores ------------------------------------------------------------------------
VOTER_PURPOSE = "opener-voter"
SCORE_PURPOSE = "opener-score"


def voter_key(secret: bytes, occurrence_id: int, platform_user_id: str) -> str:
    """The key a person's answer is stored under: one per person and occurrence, computable only with
    the server secret (never stored), so no value in the database leads back to the person."""
    return digest(secret, VOTER_PURPOSE, occurrence_id, platform_user_id)


async def voter_for(session: Session, secret: bytes, occurrence_id: int, platform_user_id: str) -> str:
    """The person's voter key: under the current key, or the one they answered under before a key
    rotation (``TEND_PREVIOUS_SECRET_KEYS``), so a changed answer still replaces the earlier one."""
    current, *earlier = digests(secret, VOTER_PURPOSE, occurrence_id, platform_user_id)
    return await store.existing_voter(session, occurrence_id, earlier) or current


def seal_score(secret: bytes, occurrence_id: int, voter: str, score: int) -> str:
    """The choice sealed (AES-GCM, fresh nonce), bound to its occurrence and voter: the row's order,
    time or transaction, which a watcher can match to a tap, must not lead to the choice."""
    return seal(secret, SCORE_PURPOSE, f"{occurrence_id}:{voter}:{score}")


def open_score(secret: bytes, occurrence_id: int, voter: str, stored: str) -> int | None:
    """The choice ``seal_score`` sealed, or None when it was not sealed for this answer under this key."""
    opened = unseal(secret, SCORE_PURPOSE, stored)
    if opened is None:
        return None
    where, _, score = opened.rpartition(":")
    if where != f"{occurrence_id}:{voter}" or not score.isdigit() or int(score) not in SCORES:
        return None
    return int(score)


# --- cards -----------------------------------------------------------------------------------------


def _count_text(count: int) -> str:
    if count == 0:
        return NO_ANSWERS
    return ONE_ANSWER if count == 1 else ANSWERS.format(count=count)


def _answered_text(count: int) -> str:
    if count == 0:
        return NOBODY
    return ONE_ANSWERED if count == 1 else ANSWERED.format(count=count)


def _support() -> tuple[Block, ...]:
    return (Buttons((Button(SUPPORT_LABEL, SUPPORT_ACTION, ""),)), Fine(SUPPORT_HINT))


def check_in_card(occurrence_id: int, count: int, min_group_size: int) -> Card:
    """The open card: the number of answers and nothing else that changes, whatever anyone chose."""
    answers = Buttons(
        tuple(Button(label, ANSWER_ACTION, f"{occurrence_id}:{score}") for score, label in CHOICES)
    )
    return Card(
        title=QUESTION,
        blocks=(
            Text(INVITE),
            answers,
            Text(_count_text(count)),
            Text(TOTALS_LATER.format(size=min_group_size)),
            *_support(),
            Fine(PRIVATE.format(hours=int(OPEN_FOR.total_seconds() // 3600))),
        ),
    )


def closed_card(tallies: dict[int, int], min_group_size: int) -> Card:
    """The card once closed: the totals per choice when enough people answered, else only that too few
    did. No answer buttons: nothing more is counted."""
    count = sum(tallies.values())
    status: list[Block] = [Text(CLOSED_HEADLINE.format(answers=_answered_text(count)))]
    if count >= min_group_size:
        status.append(Facts(tuple(Fact(label, str(tallies.get(score, 0))) for score, label in CHOICES)))
    else:
        status.append(Text(TOO_FEW.format(size=min_group_size)))
    return Card(title=QUESTION, blocks=(*status, *_support(), Fine(CLOSED_PRIVATE)))


def posted_key(occurrence_id: int) -> str:
    """The outbox key of the occurrence's card: how the closing sweep finds the message to update."""
    return f"opener:{occurrence_id}"


# --- rules: pure, called by tests with no database ---------------------------------------------


@dataclass(frozen=True)
class Count:
    """One signal to record: its kind, how many, and the sum of scores (0 when none is shown)."""

    kind: str
    count: int = 1
    value: float = 0.0


@dataclass(frozen=True)
class Closing:
    """What closing an occurrence writes (aggregate signals only) and the card it becomes."""

    counts: tuple[Count, ...]
    card: Card


def _parse(value: str) -> tuple[int, int] | None:
    """``"<occurrence id>:<score>"`` to numbers, or None for anything else."""
    matched = VALUE.fullmatch(value)
    if matched is None:
        return None
    occurrence_id, score = int(matched[1]), int(matched[2])
    return (occurrence_id, score) if occurrence_id <= MAX_ID and score in SCORES else None


def read_tap(action: str, value: str) -> tuple[int, int] | None:
    """The (occurrence id, score) a tap carries, or None for anything but a weather button's value."""
    return _parse(value) if action == ANSWER_ACTION else None


def _is_open(occurrence: Occurrence, now: datetime) -> bool:
    return occurrence.closed_at is None and now < occurrence.fired_at + OPEN_FOR


def refuse_tap(occurrence: Occurrence | None, now: datetime) -> Outcome | None:
    """Why a tap is not counted (no such check-in here, or it has closed), or None to count it."""
    if occurrence is None:
        return Outcome.reply(UNKNOWN)
    return None if _is_open(occurrence, now) else Outcome.reply(CLOSED)


def answered(
    occurrence_id: int, count: int, message_ref: str | None, place_id: str | None, min_group_size: int
) -> Outcome:
    """The card refreshed with the count only (when Tend knows which message it is), and thanks."""
    intents: list[UpdateCard | Reply] = []
    if message_ref and place_id:
        intents.append(UpdateCard(message_ref, place_id, check_in_card(occurrence_id, count, min_group_size)))
    intents.append(Reply(text_card(THANKS)))
    return Outcome(tuple(intents))


def closing(
    secret: bytes, occurrence_id: int, stored: Sequence[tuple[str, str]], min_group_size: int
) -> Closing:
    """The answers opened and turned into aggregates: a score sum only for at least the minimum group
    size (a smaller group's mood would be a few people's answers), below it only how many answered.
    An answer that does not open under this key for this occurrence and voter is not counted."""
    opened = (open_score(secret, occurrence_id, voter, value) for voter, value in stored)
    scores = [score for score in opened if score is not None]
    counts: list[Count] = []
    if len(scores) >= min_group_size:
        counts.append(Count("opener_answer", len(scores), sum(scores)))
    elif scores:
        counts.append(Count("opener_answer_few", len(scores)))
    counts.append(Count("opener_occurrence"))
    return Closing(tuple(counts), closed_card(dict(Counter(scores)), min_group_size))


# --- storage shells: load, decide with the rules above, write -------------------------------------


async def fire(ctx: FireContext) -> Outcome:
    """Posts the empty check-in card in the ritual's channel."""
    place = ctx.ritual.place_id
    occurrence_id = ctx.occurrence.id
    assert place is not None and occurrence_id is not None
    card = check_in_card(occurrence_id, 0, ctx.min_group_size)
    return Outcome((PostToPlace(place, card, key=posted_key(occurrence_id)),))


async def on_action(ctx: PracticeContext, action: str, value: str, message_ref: str | None) -> Outcome:
    """Stores (or replaces) the tapper's sealed answer, refreshes the count on the card, thanks them.

    The actor may be a person Tend never met (an unsaved member): only their platform id is used.
    """
    parsed = read_tap(action, value)
    if parsed is None:
        return Outcome.reply(UNKNOWN)
    occurrence_id, score = parsed
    keys = digests(ctx.secret_key, VOTER_PURPOSE, occurrence_id, ctx.actor.platform_user_id)
    # One read for the occurrence, the count so far and the person's earlier answer (as voter_for finds it).
    found = await store.tap_target(ctx.session, ctx.workspace_id, occurrence_id, KIND, keys)
    refused = refuse_tap(found.occurrence if found else None, ctx.now)
    if refused is not None:
        return refused
    assert found is not None  # refuse_tap refuses a missing occurrence
    voter = found.answered_as or keys[0]
    sealed = seal_score(ctx.secret_key, occurrence_id, voter, score)
    await store.save_answer(ctx.session, occurrence_id, voter, sealed)
    count = found.answers + (0 if found.answered_as else 1)  # a second tap replaces the first
    return answered(occurrence_id, count, message_ref, ctx.place_id, ctx.min_group_size)


async def close_due(ctx: SweepContext) -> list[SweepResult]:
    """Closes openers fired ``OPEN_FOR`` ago: answers become signals (``closing``), the rows are
    deleted, and the posted card is updated once with what may be shown. A closed occurrence is never
    found again, so a second sweep does nothing.
    """
    results: list[SweepResult] = []
    for occurrence, ritual, workspace in await store.due_to_close(
        ctx.session, KIND, ctx.now - OPEN_FOR, CLOSE_BATCH
    ):
        occurrence_id = occurrence.id
        assert occurrence_id is not None
        stored = await store.close(ctx.session, occurrence, ctx.now)
        closed = closing(ctx.secret_key, occurrence_id, stored, ctx.min_group_size)
        bucket = (ctx.session, workspace.organization_id, ritual.team_id, occurrence.scheduled_at)
        for counted in closed.counts:
            await signals.record(*bucket, counted.kind, count=counted.count, value=counted.value)
        posted = await by_key(ctx.session, posted_key(occurrence_id))
        if posted is None or not posted.platform_message_id:
            continue  # never sent (still queued, or given up): there is no card to update
        update = UpdateCard(posted.platform_message_id, posted.target_id, closed.card)
        results.append(SweepResult(workspace, Outcome((update,)), scope=f"opener-close:{occurrence_id}"))
    return results


# --- what /tend privacy says about check-ins ({size}: the minimum group size) ------------------------
PRIVACY = (
    "*Check-in answers* (meeting openers) are counted, never shown per person: nobody, admins "
    "included, can see who answered what. While a check-in is open its card shows only how many "
    "answered; the totals appear when it closes, and only if {size} or more people answered. The "
    "answers are deleted then; only totals remain.",
)


PRACTICE = Practice(
    name="meeting_openers",
    order=15,
    actions={"opener": on_action},
    anonymous=ANONYMOUS,
    # An opener an hour after the meeting started only adds noise: a missed one fires within 15 minutes.
    rituals=(RitualKind(KIND, fire, timedelta(minutes=15), "meeting-opener check-in"),),
    sweeps=(close_due,),
    signals=("opener_occurrence", "opener_answer", "opener_answer_few"),
    privacy=PRIVACY,
)
