"""Meeting-opener rules, decided with no database: which taps count, and what closing may show."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from practices.meeting_openers import (
    CLOSED,
    THANKS,
    UNKNOWN,
    Count,
    answered,
    closing,
    read_tap,
    refuse_tap,
    seal_score,
    voter_key,
)
from practices.messages import Card, Facts, Outcome, Reply, UpdateCard, plain
from storage.models import Occurrence

SECRET = b"k" * 32
OTHER_SECRET = b"o" * 32
FIRED = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def occurrence(closed: bool = False) -> Occurrence:
    return Occurrence(
        id=7,
        ritual_id=1,
        scheduled_at=FIRED,
        fired_at=FIRED,
        closed_at=FIRED + timedelta(hours=1) if closed else None,
    )


def answers(*scores: int, secret: bytes = SECRET) -> list[tuple[str, str]]:
    stored = []
    for n, score in enumerate(scores):
        voter = voter_key(secret, 7, f"U{n}")
        stored.append((voter, seal_score(secret, 7, voter, score)))
    return stored


def text(card: Card) -> str:
    return "\n".join(plain(block.text) for block in card.blocks if hasattr(block, "text"))


def replied(outcome: Outcome | None) -> str:
    assert outcome is not None
    (reply,) = outcome.intents
    assert isinstance(reply, Reply)
    return text(reply.card)


def test_only_a_weather_buttons_value_is_read_as_an_answer() -> None:
    assert read_tap("opener.answer", "7:3") == (7, 3)
    assert read_tap("opener.answer", "7:6") is None  # no such score
    assert read_tap("opener.answer", "7:0") is None
    assert read_tap("opener.answer", f"{2**31}:3") is None  # no database id is that large
    assert read_tap("opener.answer", "7:3 ") is None
    assert read_tap("stress.start", "7:3") is None


def test_a_tap_counts_only_while_the_check_in_is_open_for_twelve_hours() -> None:
    assert replied(refuse_tap(None, FIRED)) == UNKNOWN
    assert refuse_tap(occurrence(), FIRED + timedelta(hours=11, minutes=59)) is None
    assert replied(refuse_tap(occurrence(), FIRED + timedelta(hours=12))) == CLOSED
    assert replied(refuse_tap(occurrence(closed=True), FIRED + timedelta(minutes=5))) == CLOSED


def test_an_answer_refreshes_only_the_count_on_the_card_and_thanks_the_tapper() -> None:
    outcome = answered(7, 3, "msg-1", "C1", 5)
    update, reply = outcome.intents
    assert isinstance(update, UpdateCard) and (update.message_ref, update.place_id) == ("msg-1", "C1")
    assert "3 answers" in text(update.card)
    assert not any(isinstance(block, Facts) for block in update.card.blocks)  # no totals while open
    assert isinstance(reply, Reply) and text(reply.card) == THANKS
    assert [type(intent) for intent in answered(7, 1, None, "C1", 5).intents] == [Reply]


def test_at_the_minimum_group_size_totals_are_shown_and_the_score_sum_recorded() -> None:
    closed = closing(SECRET, 7, answers(1, 4, 4, 5, 5), 5)
    assert closed.counts == (Count("opener_answer", 5, 19), Count("opener_occurrence"))
    (facts,) = [block for block in closed.card.blocks if isinstance(block, Facts)]
    assert [fact.value for fact in facts.facts] == ["1", "0", "0", "2", "2"]
    assert "5 people answered." in text(closed.card)


def test_below_the_minimum_the_aggregate_is_hidden_and_no_score_is_kept() -> None:
    closed = closing(SECRET, 7, answers(1, 2, 5, 5), 5)
    assert closed.counts == (Count("opener_answer_few", 4), Count("opener_occurrence"))
    assert not any(isinstance(block, Facts) for block in closed.card.blocks)
    assert "Fewer than 5 people answered, so no totals are shown." in text(closed.card)


def test_nobody_answering_still_counts_the_occurrence() -> None:
    closed = closing(SECRET, 7, [], 5)
    assert closed.counts == (Count("opener_occurrence"),)
    assert "Nobody answered." in text(closed.card)


def test_answers_that_do_not_open_under_the_key_are_not_counted() -> None:
    stored = answers(5, 5, 5, 5) + answers(1, secret=OTHER_SECRET)
    closed = closing(SECRET, 7, stored, 5)
    assert closed.counts[0] == Count("opener_answer_few", 4)
    assert closing(SECRET, 8, answers(3), 1).counts == (Count("opener_occurrence"),)  # sealed for 7
