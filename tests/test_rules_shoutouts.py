"""Shout-out rules, decided with no database: who is thanked, where it is posted, who gets a note."""

from __future__ import annotations

from datetime import UTC, datetime

from practices.messages import Card, DirectMessage, Outcome, PostToPlace, Reply, plain
from practices.shoutouts import (
    Thanked,
    build_digest,
    check_shoutout,
    credited_team,
    form_person,
    plan_shoutout,
    public_place,
)
from storage.models import Member, Shoutout, Team

NOW = datetime(2025, 3, 3, 10, 0, tzinfo=UTC)


def member(id: int, name: str, is_bot: bool = False) -> Member:
    return Member(
        id=id, workspace_id=1, platform_user_id=f"U{id}", display_name=name, is_bot=is_bot, created_at=NOW
    )


def team(id: int, channel: str | None, shoutouts: str | None = None) -> Team:
    return Team(
        id=id,
        workspace_id=1,
        name=f"team{id}",
        channel_id=channel,
        shoutout_channel_id=shoutouts,
        created_at=NOW,
    )


def said(outcome: Outcome) -> str:
    (reply,) = outcome.intents
    assert isinstance(reply, Reply)
    return "\n".join(plain(block.text) for block in reply.card.blocks if hasattr(block, "text"))


def card_text(card: Card) -> str:
    return "\n".join(plain(block.text) for block in card.blocks if hasattr(block, "text"))


ANN, BO, CY = member(1, "ann"), member(2, "bo"), member(3, "cy")


def test_thanking_only_yourself_is_refused_with_an_example() -> None:
    refused = check_shoutout(ANN.id or 0, [ANN], "great work")
    assert isinstance(refused, Outcome)
    assert "can't thank yourself" in said(refused) and "/kudos @bo" in said(refused)


def test_yourself_among_others_is_left_out_and_each_other_person_counted_once() -> None:
    thanked = check_shoutout(ANN.id or 0, [BO, ANN, BO, CY], "  the review  ")
    assert thanked == Thanked((BO, CY), "the review", left_out_self=True)


def test_bots_empty_wordless_and_overlong_reasons_are_refused() -> None:
    bot = member(9, "deploybot", is_bot=True)
    assert "is a bot" in said(_refused(check_shoutout(1, [BO, bot], "thanks")))
    assert "Add a few words" in said(_refused(check_shoutout(1, [BO], "   ")))
    assert "doesn't say what they did" in said(_refused(check_shoutout(1, [BO], "!!! #")))
    assert "under 1000 characters" in said(_refused(check_shoutout(1, [BO], "x" * 1001)))
    assert isinstance(check_shoutout(1, [BO], "x" * 1000), Thanked)


def _refused(result: Thanked | Outcome) -> Outcome:
    assert isinstance(result, Outcome)
    return result


def test_the_teams_shoutout_channel_wins_over_where_it_was_typed() -> None:
    assert public_place("C1", False, team(1, "C1", "CKUDOS"), []) == "CKUDOS"
    assert public_place("C1", False, team(1, "C1"), []) == "C1"
    assert public_place("C1", False, None, [team(2, "C2", "CK2")]) == "C1"


def test_in_private_it_goes_to_the_givers_team_channel_or_nowhere() -> None:
    assert public_place("D1", True, None, [team(1, None), team(2, "C2"), team(3, "C3", "CK3")]) == "C2"
    assert public_place("D1", True, None, [team(1, "C1", "CK1")]) == "CK1"
    assert public_place(None, False, None, []) is None


def test_signals_count_for_the_channels_team_else_the_givers_first_team() -> None:
    here, mine = team(1, "C1"), team(2, "C2")
    assert credited_team(here, [mine]) is here
    assert credited_team(None, [mine]) is mine
    assert credited_team(None, []) is None


def test_each_person_thanked_gets_a_private_note_and_the_giver_does_not() -> None:
    thanked = Thanked((BO, CY), "covering on-call", left_out_self=False)
    plan = plan_shoutout(1, ANN, thanked, ("teamwork",), "C1", "general", contagious=False, now=NOW)
    notes = [intent for intent in plan.outcome.intents if isinstance(intent, DirectMessage)]
    assert [note.member_id for note in notes] == [2, 3]
    assert card_text(notes[0].card).startswith("@ann thanked you in #general: covering on-call\n")
    (post,) = [intent for intent in plan.outcome.intents if isinstance(intent, PostToPlace)]
    assert post.place_id == "C1" and "@ann thanked @bo and @cy: covering on-call" in card_text(post.card)
    assert [(row.giver_member_id, row.receiver_member_id, row.value_tag) for row in plan.rows] == [
        (1, 2, "teamwork"),
        (1, 3, "teamwork"),
    ]
    assert all(row.channel_id == "C1" and row.created_at == NOW for row in plan.rows)
    assert (plan.given, plan.contagion) == (2, 0)
    reply = plan.outcome.intents[-1]
    assert (
        isinstance(reply, Reply)
        and card_text(reply.card) == "Sent. @bo and @cy will also get a private note."
    )


def test_thanks_given_after_being_thanked_counts_as_contagion_per_person() -> None:
    thanked = Thanked((BO,), "the pairing", left_out_self=True)
    plan = plan_shoutout(1, ANN, thanked, (), "C1", "", contagious=True, now=NOW)
    assert (plan.given, plan.contagion) == (1, 1)
    assert plan.rows[0].value_tag is None
    reply = plan.outcome.intents[-1]
    assert isinstance(reply, Reply) and "I left you out" in card_text(reply.card)


def test_a_form_names_a_person_by_id_or_by_a_name_only_one_person_has() -> None:
    assert form_person(BO, []) is BO
    assert form_person(None, [CY]) is CY
    assert form_person(None, [BO, member(4, "bo")]) is None
    assert form_person(None, []) is None


def test_the_weekly_read_back_says_who_thanked_whom_in_order_with_no_counts() -> None:
    rows = [
        Shoutout(workspace_id=1, giver_member_id=1, receiver_member_id=2, text="the review", created_at=NOW),
        Shoutout(workspace_id=1, giver_member_id=3, receiver_member_id=2, text="lunch", created_at=NOW),
        Shoutout(workspace_id=1, giver_member_id=None, receiver_member_id=2, text="help", created_at=NOW),
    ]
    shown = card_text(build_digest(rows, {1: ANN, 2: BO, 3: CY}))
    assert shown.splitlines()[:3] == [
        "• @ann → @bo: the review",
        "• @cy → @bo: lunch",
        "• someone → @bo: help",
    ]
    assert "3" not in shown  # no count per person, no ranking
    assert card_text(build_digest([], {})).startswith("No shout-outs this week yet.")
