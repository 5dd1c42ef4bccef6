"""Data rights end to end: /tend privacy, /tend export-my-data and /tend forget-me, on both databases."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot.events import PersonRef
from practices import sealing
from practices import stress_reports as stress
from practices.messages import Reply, Text, marked
from practices.sealing import PROCESS_KEY, unseal_id
from storage.models import (
    Contributor,
    Member,
    Outbox,
    Ritual,
    Shoutout,
    Signal,
    StressRelay,
    TeamMembership,
    Workspace,
)
from tests.helpers import at
from tests.scenario import Scenario

START = at("2025-03-03 10:00")  # a Monday, inside everyone's default working hours
ADA, BO, CY, KIM = "U0ADA", "U0BO", "U0CY", "U0KIM"
NAMES = {ADA: "ada", BO: "bo", CY: "cy", KIM: "kim"}
REPORT = {"intensity": "4", "category": "workload", "words": "Three launches at once.", "support": "talk"}


class Named(Scenario):
    """People keep their display names when they act (not their lower-cased ids)."""

    def origin(self, user, place="C1", **extra):
        plain = super().origin(user, place, **extra)
        return replace(plain, actor=PersonRef(user, NAMES.get(user, user.lower())))


async def rows(database, model, *where) -> list:
    async with database.session() as session:
        return list((await session.exec(select(model).where(*where))).all())


async def member(database, user: str, workspace: str = "T1") -> Member | None:
    async with database.session() as session:
        query = (
            select(Member)
            .join(Workspace, Workspace.id == Member.workspace_id)
            .where(Member.platform_user_id == user, Workspace.external_id == workspace)
        )
        return (await session.exec(query)).first()


def exported(s: Scenario) -> dict:
    """The JSON copy from the last export answer."""
    [reply] = [answer for answer in s.last_answers if isinstance(answer, Reply)]
    texts = [marked(block.text) for block in reply.card.blocks if isinstance(block, Text)]
    start = texts.index("*Machine-readable copy (JSON):*") + 1
    return json.loads("\n".join(texts[start:]))


@pytest.fixture
async def s(database) -> Scenario:
    """ada (admin), bo (the person exercising their rights), cy, and kim on the support rota.

    bo is in team "platform", has given and received a shout-out, is the report in cy's 1:1 and the
    manager of one with ada, created a ritual (as a second admin), and has an open support conversation.
    """
    scenario = Named(database, START)
    scenario.engine.delivery.pacing = {}
    for user in NAMES:
        await scenario.join(user, NAMES[user], admin=user == ADA)
    assert "now on the support rota" in await scenario.command(ADA, f"tend support add <@{KIM}|kim>")
    await scenario.command(ADA, "tend team create platform #C-platform")
    await scenario.command(ADA, f"tend team add platform <@{BO}|bo> <@{CY}|cy>")
    await scenario.command(ADA, f"tend admin add <@{BO}|bo>")
    assert "Sent" in await scenario.command(
        BO, f"kudos <@{CY}|cy> thanks for the careful review", "C-platform"
    )
    assert "Sent" in await scenario.command(CY, f"kudos <@{BO}|bo> thanks for covering on-call", "C-platform")
    assert "Added 1:1" in await scenario.command(CY, f"tend 1on1 add <@{BO}|bo> every 2 weeks thu 10:00")
    assert "Added 1:1" in await scenario.command(BO, f"tend 1on1 add <@{ADA}|ada> every 2 weeks fri 10:00")
    assert "Added" in await scenario.command(BO, "tend ritual add shoutout-digest #C-platform fri 16:00")
    await scenario.submit(BO, "stress.report", REPORT)
    assert len(await rows(database, StressRelay)) == 1
    return scenario


# --- privacy ----------------------------------------------------------------------------------------


async def test_privacy_explains_storage_visibility_rights_and_the_group_size(database):
    s = Named(database, START, min_group_size=7)
    answer = await s.command(ADA, "tend privacy")
    assert "at least 7 people" in answer
    expected = ("Shout-outs", "Stress reports", "Check-in answers", "working hours", "Never kept", "Who sees")
    for words in expected:
        assert words in answer
    assert "/tend export-my-data" in answer and "/tend forget-me" in answer


# --- export -----------------------------------------------------------------------------------------


async def test_export_contains_every_category_linked_to_the_person(s):
    answer = await s.command(BO, "tend export-my-data", direct=True)
    assert "Everything Tend stores about you" in answer
    assert "thanks for the careful review" in answer and "thanks for covering on-call" in answer
    assert "A conversation is open where you are the author" in answer
    assert "Three launches at once" not in answer  # the report is not linked to bo, nor its words
    assert "Not included, because it is not linked to you" in answer
    assert "stress reports" in answer and "check-in answers" in answer

    data = exported(s)
    assert data["member"]["display_name"] == "bo"
    assert data["member"]["platform_user_id"] == BO
    assert data["member"]["role"] == "admin" and data["member"]["support_rota"] is False
    assert data["member"]["working_hours"] == "09:00-17:30" and data["member"]["time_zone"] == "UTC"
    assert data["teams"] == [{"name": "platform", "manager": False}]
    [given] = data["shoutouts_given"]
    assert (given["to"], given["text"], given["channel"]) == (
        "@cy",
        "thanks for the careful review",
        "C-platform",
    )
    assert given["when"].startswith("2025-03-03T10:00")
    [received] = data["shoutouts_received"]
    assert (received["from"], received["text"]) == ("@cy", "thanks for covering on-call")
    assert sorted((p["you_are"], p["with"]) for p in data["one_on_ones"]) == [
        ("manager", "@ada"),
        ("report", "@cy"),
    ]
    assert [(r["kind"], r["where"]) for r in data["rituals_created"]] == [("shoutout-digest", "C-platform")]
    assert [c["you_are"] for c in data["open_support_conversations"]] == ["author"]
    assert "stress reports" in data["not_included"]


async def test_export_names_the_supporter_side_without_content(s):
    [relay] = await rows(s.database, StressRelay)
    await s.submit(KIM, "stress.message", {"message": "I'm here. Want to talk?"}, relay.token)
    await s.command(KIM, "tend export-my-data", direct=True)
    data = exported(s)
    assert [c["you_are"] for c in data["open_support_conversations"]] == ["supporter"]
    assert data["member"]["support_rota"] is True
    assert "Want to talk" not in json.dumps(data)


async def test_export_of_someone_new_is_short_and_says_none(database):
    s = Named(database, START)
    await s.join(ADA, "ada")
    answer = await s.command(ADA, "tend export-my-data")
    assert "*Your teams*\nnone" in answer
    data = exported(s)
    assert data["shoutouts_given"] == [] and data["one_on_ones"] == []


# --- forget-me --------------------------------------------------------------------------------------


async def test_forget_me_asks_first_and_deletes_nothing(s):
    before = await member(s.database, BO)
    answer = await s.command(BO, "tend forget-me")
    assert "Forget me?" in answer and "/tend forget-me confirm" in answer
    assert (
        "lose your name: 1 given, 1 received" in answer
        and "messages waiting to be sent to you dropped: 0" in answer
    )
    [reply] = [a for a in s.last_answers if isinstance(a, Reply)]
    assert [b.action for b in reply.card.buttons] == ["forget.confirm", "forget.cancel"]
    assert "Nothing was deleted" in await s.click(BO, "forget.cancel")
    assert await member(s.database, BO) == before
    assert len(await rows(s.database, TeamMembership)) == 2


async def test_forget_me_confirm_erases_each_category(s):
    bo = await member(s.database, BO)
    assert bo is not None
    # A message waiting for bo (the digest ritual is not due, so queue a pending note by hand).
    async with s.database.session() as session:
        session.add(
            Outbox(
                workspace_id=bo.workspace_id,
                idempotency_key="test:waiting-for-bo",
                target_kind="person",
                target_id=str(bo.id),
                payload="{}",
                next_attempt_at=at("2025-03-10 10:00"),
                created_at=START,
            )
        )
    signals_before = {(row.kind, row.count) for row in await rows(s.database, Signal)}

    answer = await s.click(BO, "forget.confirm", direct=True)
    assert "You are forgotten" in answer and "team memberships: 1\n• 1:1 pairs: 2" in answer
    assert "messages waiting for you: 1" in answer

    assert await member(s.database, BO) is None
    words = sorted(
        (r.text, r.giver_member_id is None, r.receiver_member_id is None)
        for r in await rows(s.database, Shoutout)
    )
    assert words == [
        ("thanks for covering on-call", False, True),
        ("thanks for the careful review", True, False),
    ]
    assert [m.member_id for m in await rows(s.database, TeamMembership)] == [
        (await member(s.database, CY)).id
    ]
    rituals = await rows(s.database, Ritual)
    assert [(r.kind, r.created_by_member_id) for r in rituals] == [("shoutout-digest", None)]
    assert await rows(s.database, StressRelay) == []
    assert (
        await rows(s.database, Outbox, Outbox.target_kind == "person", Outbox.target_id == str(bo.id)) == []
    )
    assert not [r for r in await rows(s.database, Outbox) if r.idempotency_key.startswith("1on1")]
    assert {(row.kind, row.count) for row in await rows(s.database, Signal)} == signals_before


async def test_forget_me_removes_the_persons_contributor_digests_and_keeps_the_others(s):
    bo, cy = await member(s.database, BO), await member(s.database, CY)

    def keys_of(person) -> set[str]:
        weeks = {row.week for row in contributors}
        org = person.workspace_id  # one organisation per workspace here
        return {sealing.digest(PROCESS_KEY, "contributor", org, week, person.id) for week in weeks}

    contributors = await rows(s.database, Contributor)
    bo_keys, cy_keys = keys_of(bo), keys_of(cy)
    assert bo_keys & {row.key for row in contributors} and cy_keys & {row.key for row in contributors}
    assert "You are forgotten" in await s.command(BO, "tend forget-me confirm")
    left = {row.key for row in await rows(s.database, Contributor)}
    assert not bo_keys & left and cy_keys & left  # bo's gone, cy's kept; the counts stay as totals


async def test_forgotten_names_read_as_someone_in_the_digest(s):
    assert "You are forgotten" in await s.command(BO, "tend forget-me confirm")
    await s.command(ADA, "tend ritual add shoutout-digest #C-platform mon 11:00")
    s.sender.sent.clear()
    await s.advance(hours=1, minutes=5)
    [digest] = [post for post in s.sender.posts("C-platform") if post.card.title == "This week's shout-outs"]
    assert "someone → @cy: thanks for the careful review" in digest.card.fallback
    assert "@cy → someone: thanks for covering on-call" in digest.card.fallback
    assert "@bo" not in digest.card.fallback


async def test_forget_me_on_a_supporter_leaves_the_conversation_open_for_its_author(s):
    [relay] = await rows(s.database, StressRelay)
    await s.submit(KIM, "stress.message", {"message": "I'm here."}, relay.token)
    await s.command(ADA, f"tend support remove <@{KIM}|kim>")
    assert "You are forgotten" in await s.command(KIM, "tend forget-me confirm")
    [kept] = await rows(s.database, StressRelay)
    assert kept.supporter_seal is None
    assert unseal_id(PROCESS_KEY, stress.AUTHOR, kept.author_seal) == (await member(s.database, BO)).id


async def test_the_last_admin_is_refused_with_a_way_forward(s):
    assert "no longer administer" in await s.command(ADA, f"tend admin remove <@{BO}|bo>")
    for line in ("tend forget-me", "tend forget-me confirm"):
        answer = await s.command(ADA, line)
        assert "only Tend admin" in answer and "/tend admin add @" in answer
    assert "only Tend admin" in await s.click(ADA, "forget.confirm")
    assert await member(s.database, ADA) is not None


async def test_a_later_message_is_a_first_contact(s):
    await s.command(BO, "tend settings tz Europe/Berlin")
    await s.command(BO, "tend forget-me confirm")
    await s.command(BO, "tend help")
    fresh = await member(s.database, BO)
    assert fresh is not None and fresh.time_zone == "UTC" and fresh.role == "member"
    data_answer = await s.command(BO, "tend export-my-data")
    assert "thanks for" not in data_answer
    assert exported(s)["teams"] == []


async def test_another_workspace_is_untouched(s):
    await s.join(BO, "bo", workspace="T2")
    await s.join(CY, "cy", workspace="T2")
    await s.command(CY, f"kudos <@{BO}|bo> thanks from the other side", "C-other", workspace="T2")
    await s.command(BO, "tend forget-me confirm")
    other = await member(s.database, BO, "T2")
    assert other is not None and other.display_name == "bo"
    [kept] = await rows(s.database, Shoutout, Shoutout.text == "thanks from the other side")
    assert kept.receiver_member_id == other.id


async def test_a_row_that_blocks_the_delete_leaves_an_anonymised_member(s):
    """Should a table Tend does not know about point at the member, the row is stripped instead."""
    bo = await member(s.database, BO)
    async with s.database.session() as session:
        await session.exec(text("CREATE TABLE blocker (member_id INTEGER REFERENCES member(id))"))
        await session.exec(text(f"INSERT INTO blocker VALUES ({bo.id})"))
    try:
        answer = await s.command(BO, "tend forget-me confirm")
        assert "stripped of your name" in answer
        [left] = await rows(s.database, Member, Member.id == bo.id)
        assert left.display_name == "forgotten member" and left.platform_user_id != BO
        assert left.role == "member" and not left.is_support
        await s.command(BO, "tend help")
        assert (await member(s.database, BO)).id != bo.id
    finally:
        async with s.database.session() as session:
            await session.exec(text("DROP TABLE blocker"))


async def test_export_asked_in_a_channel_also_goes_to_the_private_chat(s):
    s.sender.sent.clear()
    answer = await s.command(BO, "tend export-my-data", "C-platform")
    assert "also sent you a copy" in answer
    [copy] = s.sender.directs(BO)
    assert (
        copy.card.title == "Everything Tend stores about you"
        and "thanks for covering on-call" in copy.card.fallback
    )
    assert not s.sender.posts()
    sent = await rows(s.database, Outbox, Outbox.target_kind == "person", Outbox.state == "sent")
    assert sent and {row.payload for row in sent} == {""}  # words leave the outbox once delivered

    s.sender.sent.clear()
    answer = await s.command(BO, "tend export-my-data", "D-bo", direct=True)
    assert "also sent you a copy" not in answer and not s.sender.directs(BO)
