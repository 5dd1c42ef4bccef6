"""Data rights rules, called directly with no database: the last admin is kept, the export reaches the
person privately, and other workspaces' people are never named."""

from __future__ import annotations

import json

from practices import data_rights as rights
from practices.messages import Buttons, Card, DirectMessage, Reply, Said, Text, plain
from practices.practice import ExportSection, Forgetting
from storage.models import Member
from tests.helpers import at

NOW = at("2025-03-03 10:00")


def person(member_id: int, role: str = "member", *, bot: bool = False, workspace: int = 1) -> Member:
    return Member(
        id=member_id, workspace_id=workspace, platform_user_id=f"U{member_id}", display_name=f"p{member_id}",
        role=role, is_bot=bot, created_at=NOW,
    )  # fmt: skip


def card_text(card: Card) -> str:
    return "\n".join(plain(block.text) for block in card.blocks if isinstance(block, Text))


def test_the_only_human_admin_cannot_be_forgotten_but_one_of_two_can():
    ada = person(1, "admin")
    assert rights.is_last_admin(ada, [ada])
    assert rights.is_last_admin(ada, [ada, person(9, "admin", bot=True)])  # a bot admin cannot take over
    assert not rights.is_last_admin(ada, [ada, person(2, "admin")])
    assert not rights.is_last_admin(person(3), [ada])  # a member is never the last admin


def test_names_from_another_workspace_read_someone():
    names = rights.known_names([person(2), person(3, workspace=7)], workspace_id=1)
    assert names(2) == "@p2"
    assert names(3) == rights.SOMEONE  # same database, other workspace: never named
    assert names(None) == rights.SOMEONE and names(99) == rights.SOMEONE


def test_asked_in_a_channel_the_export_also_goes_privately_at_once():
    part = ExportSection("*Teams*", "teams", ["platform"], lines=("platform",))
    outcome = rights.export_answer([part], NOW, "slack", is_direct=False, actor_id=4)
    reply, copy = outcome.intents
    assert isinstance(reply, Reply) and rights.COPY_SENT in card_text(reply.card)
    assert isinstance(copy, DirectMessage) and copy.member_id == 4
    assert not copy.respect_hours  # they just asked: not held for their working hours
    in_private = rights.export_answer([part], NOW, "slack", is_direct=True, actor_id=4)
    (only,) = in_private.intents
    assert isinstance(only, Reply) and rights.COPY_SENT not in card_text(only.card)


def test_the_json_copy_holds_every_part_and_says_what_is_not_linked():
    part = ExportSection("*Teams*", "teams", ["platform"], lines=("platform",))
    card = rights.export_card([part], NOW, "teams")
    copy = "".join(
        "".join(span.text for span in block.text if isinstance(span, Said))
        for block in card.blocks
        if isinstance(block, Text) and isinstance(block.text, tuple)
    )
    data = json.loads(copy)
    assert data["teams"] == ["platform"] and data["platform"] == "teams"
    assert "stress reports" in data["not_included"]


def test_forget_me_asks_first_with_buttons_then_says_what_went():
    parts = [Forgetting(erased=("team memberships: 1",), kept=("2 shout-out(s), whose words stay",))]
    asked = rights.forget_answer(parts, 3, confirmed=False, deleted=False).intents[0]
    assert isinstance(asked, Reply) and asked.card.title == rights.ASK_TITLE
    assert any(isinstance(block, Buttons) for block in asked.card.blocks)
    assert "messages waiting to be sent to you dropped: 3" in card_text(asked.card)
    done = rights.forget_answer(parts, 3, confirmed=True, deleted=False).intents[0]
    assert isinstance(done, Reply) and done.card.title == rights.FORGOTTEN_TITLE
    text = card_text(done.card)
    assert rights.PROFILE_STRIPPED in text and "Kept without your name: 2 shout-out(s)" in text
