"""Meeting-opener check-ins end to end: the card fires on time, taps are counted anonymously, and
twelve hours later the answers become signals and are erased."""

from __future__ import annotations

import hashlib

from sqlmodel import select

from practices import meeting_openers as openers
from practices.messages import Facts
from storage.models import Member, Occurrence, OpenerAnswer, Signal, Team, Workspace
from tests.fakes import Sent
from tests.helpers import at
from tests.scenario import Scenario

PLACE = "C9"
ADD = "tend ritual add opener <#C9|standup> mon,wed 09:25 Europe/Berlin"
MONDAY = "2025-03-03"  # Berlin is UTC+1 until 2025-03-30, so 09:25 there is 08:25 UTC
PEOPLE = [f"U{n}" for n in range(2, 9)]


async def fired(database, until: str = f"{MONDAY} 09:00") -> Scenario:
    """An admin (U1, first to speak) adds the opener; the clock runs past its first firing."""
    s = Scenario(database, at(f"{MONDAY} 07:00"), min_group_size=5)
    assert "Added" in await s.command("U1", ADD)
    await s.run_until(at(until))
    return s


def card_post(s: Scenario, index: int = -1) -> Sent:
    return s.sender.posts(PLACE)[index]


def occurrence_of(post: Sent) -> int:
    return int(post.card.buttons[0].value.split(":")[0])


async def tap(s: Scenario, user: str, post: Sent, score: int) -> str:
    return await s.click(user, "opener.answer", f"{occurrence_of(post)}:{score}", post.ref, place=PLACE)


def updates(s: Scenario) -> list[Sent]:
    return [sent for sent in s.sender.sent if sent.kind == "update"]


def distribution(sent: Sent) -> dict[str, int] | None:
    facts = [block for block in sent.card.blocks if isinstance(block, Facts)]
    if not facts:
        return None
    return {fact.label.split()[-1]: int(fact.value) for fact in facts[0].facts}


async def rows(database, model: type) -> list:
    async with database.session() as session:
        return list((await session.exec(select(model))).all())


async def signal(database, kind: str) -> tuple[int, float, str, int] | None:
    found = [row for row in await rows(database, Signal) if row.kind == kind]
    assert len(found) <= 1
    return (found[0].count, found[0].value_sum, found[0].week, found[0].team_id) if found else None


async def test_one_card_is_posted_at_the_ritual_local_time_with_the_weather_and_support_buttons(database):
    s = await fired(database)
    [post] = s.sender.posts(PLACE)
    assert post.at == at(f"{MONDAY} 08:25")  # 09:25 Europe/Berlin
    assert post.card.title == "How are you arriving today?"
    answers = [b for b in post.card.buttons if b.action == "opener.answer"]
    assert [b.label.split()[-1] for b in answers] == ["Stormy", "Rainy", "Cloudy", "sunny", "Sunny"]
    assert [b.value for b in answers] == [f"{occurrence_of(post)}:{score}" for score in range(1, 6)]
    [support] = [b for b in post.card.buttons if b.action == "stress.start"]
    assert support.label == "I could use support" and support.value == ""
    assert "No answers yet" in post.card.fallback and distribution(post) is None
    await s.run_until(at(f"{MONDAY} 12:00"))
    assert len(s.sender.posts(PLACE)) == 1


async def test_only_admins_can_add_an_opener(database):
    s = Scenario(database, at(f"{MONDAY} 07:00"))
    await s.command("U1", "tend help")  # the first member is the admin
    assert "Only a Tend admin" in await s.command("U2", ADD)
    await s.run_until(at(f"{MONDAY} 09:00"))
    assert s.sender.posts() == []


async def test_the_count_alone_is_shown_until_the_group_is_large_enough_then_the_distribution(database):
    s = await fired(database)
    post = card_post(s)
    for user, score in zip(PEOPLE[:4], (1, 3, 5, 5), strict=True):
        assert await tap(s, user, post, score) == openers.THANKS
    latest = updates(s)[-1]
    assert (latest.target, latest.ref) == (PLACE, post.ref)
    assert "4 answers" in latest.card.fallback and distribution(latest) is None
    await tap(s, PEOPLE[4], post, 4)
    latest = updates(s)[-1]
    assert "5 answers" in latest.card.fallback
    assert distribution(latest) == {"Stormy": 1, "Rainy": 0, "Cloudy": 1, "sunny": 1, "Sunny": 2}
    assert len(updates(s)) == 5 and len(s.sender.posts(PLACE)) == 1


async def test_tapping_again_changes_the_answer_and_counts_once(database):
    s = await fired(database)
    post = card_post(s)
    for user in PEOPLE[:5]:
        await tap(s, user, post, 3)
    assert distribution(updates(s)[-1]) == {"Stormy": 0, "Rainy": 0, "Cloudy": 5, "sunny": 0, "Sunny": 0}
    assert "tap again to change it" in await tap(s, PEOPLE[0], post, 1)
    latest = updates(s)[-1]
    assert "5 answers" in latest.card.fallback
    assert distribution(latest) == {"Stormy": 1, "Rainy": 0, "Cloudy": 4, "sunny": 0, "Sunny": 0}
    assert sorted(row.score for row in await rows(database, OpenerAnswer)) == [1, 3, 3, 3, 3]


async def test_no_answer_row_holds_or_hashes_a_member_id_or_platform_id(database):
    s = await fired(database)
    post = card_post(s)
    for user in PEOPLE[:3]:
        await tap(s, user, post, 2)
    assert set(OpenerAnswer.model_fields) == {"occurrence_id", "voter_key", "score"}
    members = await rows(database, Member)
    identities = {str(m.id) for m in members} | {m.platform_user_id for m in members}
    hashed = {hashlib.sha256(i.encode()).hexdigest() for i in identities}
    hashed |= {hashlib.md5(i.encode()).hexdigest() for i in identities}
    answers = await rows(database, OpenerAnswer)
    assert len(answers) == 3 and len({row.voter_key for row in answers}) == 3
    for row in answers:
        assert row.voter_key not in identities | hashed
        assert not any(identity in row.voter_key for identity in identities if len(identity) > 1)
        assert row.occurrence_id == occurrence_of(post)


async def test_at_close_answers_become_signals_and_are_erased_and_later_taps_are_refused(database):
    s = await fired(database)
    post = card_post(s)
    for user, score in zip(PEOPLE[:6], (1, 2, 4, 4, 5, 5), strict=True):
        await tap(s, user, post, score)
    await s.run_until(at(f"{MONDAY} 20:20"))  # 11 h 55 min after firing: still open
    assert len(await rows(database, OpenerAnswer)) == 6 and await signal(database, "opener_answer") is None
    await s.run_until(at(f"{MONDAY} 20:30"))
    assert await rows(database, OpenerAnswer) == []
    [occurrence] = await rows(database, Occurrence)
    assert occurrence.answer_salt is None and occurrence.closed_at == at(f"{MONDAY} 20:25")  # 12 h on
    assert await signal(database, "opener_answer") == (6, 21.0, "2025-W10", 0)
    assert await signal(database, "opener_occurrence") == (1, 0.0, "2025-W10", 0)

    sent_before = len(s.sender.sent)
    assert await tap(s, PEOPLE[6], post, 3) == openers.CLOSED
    assert await rows(database, OpenerAnswer) == [] and len(s.sender.sent) == sent_before
    await s.advance(minutes=5)  # a second sweep finds nothing to close
    assert await signal(database, "opener_answer") == (6, 21.0, "2025-W10", 0)
    assert await signal(database, "opener_occurrence") == (1, 0.0, "2025-W10", 0)


async def test_the_signals_go_to_the_channel_team(database):
    s = Scenario(database, at(f"{MONDAY} 07:00"))
    await s.command("U1", "tend help")
    async with database.session() as session:
        [workspace] = (await session.exec(select(Workspace))).all()
        session.add(
            Team(workspace_id=workspace.id, name="standup", channel_id=PLACE, created_at=s.clock.now())
        )
    await s.command("U1", ADD)
    await s.run_until(at(f"{MONDAY} 09:00"))
    await tap(s, "U2", card_post(s), 4)
    await s.run_until(at(f"{MONDAY} 21:00"))
    [team_signal] = [row for row in await rows(database, Signal) if row.kind == "opener_answer"]
    [team] = await rows(database, Team)
    assert team_signal.team_id == team.id and (team_signal.count, team_signal.value_sum) == (1, 4.0)


async def test_monday_and_wednesday_are_counted_separately(database):
    s = await fired(database)
    monday = card_post(s)
    for user in PEOPLE[:5]:
        await tap(s, user, monday, 2)
    await s.run_until(at("2025-03-05 09:00"))
    wednesday = card_post(s)
    assert wednesday.at == at("2025-03-05 08:25") and len(s.sender.posts(PLACE)) == 2
    assert occurrence_of(wednesday) != occurrence_of(monday)
    assert await tap(s, PEOPLE[0], monday, 5) == openers.CLOSED  # Monday closed at 20:25
    for user in PEOPLE[:3]:
        await tap(s, user, wednesday, 4)
    latest = updates(s)[-1]
    assert (
        latest.ref == wednesday.ref and "3 answers" in latest.card.fallback and distribution(latest) is None
    )
    await s.run_until(at("2025-03-06 09:00"))
    assert await signal(database, "opener_answer") == (8, 22.0, "2025-W10", 0)
    assert await signal(database, "opener_occurrence") == (2, 0.0, "2025-W10", 0)
    assert all(o.answer_salt is None and o.closed_at for o in await rows(database, Occurrence))


async def test_malformed_or_foreign_values_get_a_friendly_answer_and_nothing_is_stored(database):
    s = await fired(database)
    post = card_post(s)
    occurrence = occurrence_of(post)
    bad = ("", "x", f"{occurrence}", f"{occurrence}:0", f"{occurrence}:6", f"{occurrence}:-1", "²:3")
    for value in (*bad, f"{occurrence + 1}:3", "99999999999999999999:3"):
        answer = await s.click("U2", "opener.answer", value, post.ref, place=PLACE)
        assert answer == openers.UNKNOWN, value
    assert await s.click("U2", "opener.other", f"{occurrence}:3", post.ref, place=PLACE) == openers.UNKNOWN
    assert await rows(database, OpenerAnswer) == [] and updates(s) == []


def test_voter_keys_depend_on_the_salt():
    assert openers.voter_key("a" * 32, 7) != openers.voter_key("b" * 32, 7)
    assert openers.voter_key("a" * 32, 7) == openers.voter_key("a" * 32, 7)
    assert len(openers.voter_key("a" * 32, 7)) == 64
