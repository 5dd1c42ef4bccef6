"""Meeting-opener check-ins end to end: the card fires on time, taps are counted anonymously (the card
shows only how many answered), and twelve hours later the card shows the totals once, the answers
become signals and are erased."""

from __future__ import annotations

import hashlib
from datetime import timedelta

from sqlmodel import select

from bot.errors import SendError
from practices import meeting_openers as openers
from practices.messages import Facts
from practices.sealing import PROCESS_KEY, new_key_text
from storage.models import Member, Occurrence, OpenerAnswer, Signal, Team, Workspace
from tests.fakes import Sent
from tests.helpers import at
from tests.scenario import Scenario

PLACE = "C9"
ADD = "tend ritual add opener <#C9|standup> mon,wed 09:25 Europe/Berlin"
MONDAY = "2025-03-03"  # Berlin is UTC+1 until 2025-03-30, so 09:25 there is 08:25 UTC
CLOSES = f"{MONDAY} 20:25"  # 12 h after the 08:25 UTC firing
PEOPLE = [f"U{n}" for n in range(2, 9)]


async def run_until(s: Scenario, when: str) -> None:
    """Ticks hourly until an hour before ``when``, then every 5 minutes: each tick catches up on what
    came due, as a server's would, and the last hour lands on the 5-minute grid the tests assert."""
    target = at(when)
    if s.clock.now() + timedelta(hours=2) <= target:
        await s.run_until(target - timedelta(hours=1), step=timedelta(hours=1))
    await s.run_until(target)


async def fired(database, until: str = f"{MONDAY} 09:00") -> Scenario:
    """An admin (U1: the platform says so) adds the opener; the clock runs past its first firing."""
    s = Scenario(database, at(f"{MONDAY} 07:00"), min_group_size=5)
    await s.platform_admin("U1")
    assert "Added" in await s.command("U1", ADD)
    await run_until(s, until)
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


def answer_buttons(sent: Sent) -> list[str]:
    return [b.value for b in sent.card.buttons if b.action == "opener.answer"]


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
    assert "Totals appear when the check-in closes, if at least 5 people answered" in post.card.fallback
    await run_until(s, f"{MONDAY} 12:00")
    assert len(s.sender.posts(PLACE)) == 1


async def test_only_admins_can_add_an_opener(database):
    s = Scenario(database, at(f"{MONDAY} 07:00"))
    await s.command("U2", "tend help")  # speaking first makes nobody admin
    await s.platform_admin("U1")  # the platform says U1 administers the workspace
    assert "Only a Tend admin" in await s.command("U2", ADD)
    await run_until(s, f"{MONDAY} 09:00")
    assert s.sender.posts() == []


async def test_while_open_the_card_shows_only_the_count_and_at_close_the_totals_once(database):
    s = await fired(database)
    post = card_post(s)
    for user, score in zip(PEOPLE[:6], (1, 3, 5, 5, 4, 2), strict=True):
        assert await tap(s, user, post, score) == openers.THANKS
    open_updates = updates(s)
    assert [(u.target, u.ref) for u in open_updates] == [(PLACE, post.ref)] * 6
    assert [u.card.fallback.count(f"{n} answer") for n, u in enumerate(open_updates, 1)] == [1] * 6
    assert all(distribution(u) is None for u in open_updates)  # past the group size too: no totals yet

    await run_until(s, f"{MONDAY} 20:20")
    assert len(updates(s)) == 6
    await run_until(s, f"{MONDAY} 20:30")
    [closing] = updates(s)[6:]
    assert (closing.target, closing.ref, closing.at) == (PLACE, post.ref, at(CLOSES))
    assert distribution(closing) == {"Stormy": 1, "Rainy": 1, "Cloudy": 1, "sunny": 1, "Sunny": 2}
    assert "closed" in closing.card.fallback and "6 people answered" in closing.card.fallback
    assert answer_buttons(closing) == []  # nothing more is counted
    assert [b.action for b in closing.card.buttons] == ["stress.start"]
    await run_until(s, f"{MONDAY} 23:00")
    assert len(updates(s)) == 7 and len(s.sender.posts(PLACE)) == 1


async def test_fewer_than_the_group_size_closes_without_totals_and_counts_only(database):
    s = await fired(database)
    post = card_post(s)
    for user, score in zip(PEOPLE[:4], (1, 3, 5, 5), strict=True):
        await tap(s, user, post, score)
    await run_until(s, f"{MONDAY} 21:00")
    closing = updates(s)[-1]
    assert distribution(closing) is None
    assert "4 people answered" in closing.card.fallback
    assert "Fewer than 5 people answered, so no totals are shown." in closing.card.fallback
    assert await signal(database, "opener_answer") is None
    assert await signal(database, "opener_answer_few") == (4, 0.0, "2025-W10", 0)
    assert await signal(database, "opener_occurrence") == (1, 0.0, "2025-W10", 0)


async def test_tapping_again_changes_the_answer_and_counts_once(database):
    s = await fired(database)
    post = card_post(s)
    for user in PEOPLE[:5]:
        await tap(s, user, post, 3)
    assert "tap again to change it" in await tap(s, PEOPLE[0], post, 1)
    assert "5 answers" in updates(s)[-1].card.fallback and len(await rows(database, OpenerAnswer)) == 5
    await run_until(s, f"{MONDAY} 21:00")
    assert distribution(updates(s)[-1]) == {"Stormy": 1, "Rainy": 0, "Cloudy": 4, "sunny": 0, "Sunny": 0}
    assert await signal(database, "opener_answer") == (5, 13.0, "2025-W10", 0)


async def test_someone_tend_never_met_can_answer_and_no_member_row_is_written(database):
    s = await fired(database)
    before = {m.platform_user_id for m in await rows(database, Member)}
    assert before == {"U1"}
    for user in PEOPLE[:5]:
        assert await tap(s, user, card_post(s), 4) == openers.THANKS
    assert {m.platform_user_id for m in await rows(database, Member)} == before
    assert len(await rows(database, OpenerAnswer)) == 5


async def test_no_answer_row_holds_or_hashes_a_member_id_or_platform_id(database):
    s = await fired(database)
    post = card_post(s)
    for user in PEOPLE[:3]:
        await s.command(user, "tend help")  # Tend knows them, so they have member ids
        await tap(s, user, post, 2)
    assert set(OpenerAnswer.model_fields) == {"occurrence_id", "voter_key", "sealed_score"}
    members = await rows(database, Member)
    identities = {str(m.id) for m in members} | {m.platform_user_id for m in members}
    hashed = {hashlib.sha256(i.encode()).hexdigest() for i in identities}
    hashed |= {hashlib.md5(i.encode()).hexdigest() for i in identities}
    hashed |= {h[:32] for h in hashed}
    answers = await rows(database, OpenerAnswer)
    assert len(answers) == 3 and len({row.voter_key for row in answers}) == 3
    for row in answers:
        assert row.voter_key not in identities | hashed
        assert not any(identity in row.voter_key for identity in identities if len(identity) > 1)
        assert row.occurrence_id == occurrence_of(post)
        assert not any(str(score) == row.sealed_score for score in openers.SCORES)  # sealed, not itself


async def test_at_close_answers_become_signals_and_are_erased_and_later_taps_are_refused(database):
    s = await fired(database)
    post = card_post(s)
    for user, score in zip(PEOPLE[:6], (1, 2, 4, 4, 5, 5), strict=True):
        await tap(s, user, post, score)
    await run_until(s, f"{MONDAY} 20:20")  # 11 h 55 min after firing: still open
    assert len(await rows(database, OpenerAnswer)) == 6 and await signal(database, "opener_answer") is None
    await run_until(s, f"{MONDAY} 20:30")
    assert await rows(database, OpenerAnswer) == []
    [occurrence] = await rows(database, Occurrence)
    assert occurrence.closed_at == at(CLOSES)
    assert await signal(database, "opener_answer") == (6, 21.0, "2025-W10", 0)
    assert await signal(database, "opener_answer_few") is None
    assert await signal(database, "opener_occurrence") == (1, 0.0, "2025-W10", 0)

    sent_before = len(s.sender.sent)
    assert await tap(s, PEOPLE[6], post, 3) == openers.CLOSED
    assert await rows(database, OpenerAnswer) == [] and len(s.sender.sent) == sent_before
    await s.advance(minutes=5)  # a second sweep finds nothing to close, and updates nothing
    assert len(s.sender.sent) == sent_before
    assert await signal(database, "opener_answer") == (6, 21.0, "2025-W10", 0)
    assert await signal(database, "opener_occurrence") == (1, 0.0, "2025-W10", 0)


async def test_a_tap_after_twelve_hours_is_refused_even_before_the_sweep_closes_it(database):
    s = await fired(database)
    post = card_post(s)
    s.clock.set(at(CLOSES))  # no tick yet: the occurrence is not closed in the database
    assert await tap(s, PEOPLE[0], post, 3) == openers.CLOSED
    assert await rows(database, OpenerAnswer) == []


async def test_a_failed_closing_update_still_closes_and_is_counted(database):
    s = await fired(database)
    post = card_post(s)
    for user in PEOPLE[:5]:
        await tap(s, user, post, 5)
    await run_until(s, f"{MONDAY} 20:20")
    s.sender.fail_next.append(SendError("chat.update: message_not_found", permanent=True))
    s.clock.set(at(CLOSES))
    report = await s.tick()
    assert report.updated == 0
    assert s.scheduler.metrics.messages_failed.value(platform="slack") == 1
    assert await rows(database, OpenerAnswer) == []
    assert await signal(database, "opener_answer") == (5, 25.0, "2025-W10", 0)
    await s.advance(minutes=5)  # closed once: not tried again
    assert len(updates(s)) == 5


async def test_a_card_that_was_never_posted_is_not_updated_at_close(database):
    s = Scenario(database, at(f"{MONDAY} 07:00"), min_group_size=5)
    await s.platform_admin("U1")
    await s.command("U1", ADD)
    s.sender.fail_next.append(SendError("chat.postMessage: channel_not_found", permanent=True))
    await run_until(s, f"{MONDAY} 09:00")
    await run_until(s, f"{MONDAY} 21:00")
    assert s.sender.posts(PLACE) == [] and updates(s) == []
    [occurrence] = await rows(database, Occurrence)
    assert occurrence.closed_at == at(CLOSES)
    assert await signal(database, "opener_occurrence") == (1, 0.0, "2025-W10", 0)


async def test_the_signals_go_to_the_channel_team(database):
    s = Scenario(database, at(f"{MONDAY} 07:00"))
    await s.platform_admin("U1")
    async with database.session() as session:
        [workspace] = (await session.exec(select(Workspace))).all()
        session.add(
            Team(workspace_id=workspace.id, name="standup", channel_id=PLACE, created_at=s.clock.now())
        )
    await s.command("U1", ADD)
    await run_until(s, f"{MONDAY} 09:00")
    for user in PEOPLE[:5]:
        await tap(s, user, card_post(s), 4)
    await run_until(s, f"{MONDAY} 21:00")
    [team_signal] = [row for row in await rows(database, Signal) if row.kind == "opener_answer"]
    [team] = await rows(database, Team)
    assert team_signal.team_id == team.id and (team_signal.count, team_signal.value_sum) == (5, 20.0)


async def test_monday_and_wednesday_are_counted_separately(database):
    s = await fired(database)
    monday = card_post(s)
    for user in PEOPLE[:5]:
        await tap(s, user, monday, 2)
    await run_until(s, "2025-03-05 09:00")
    wednesday = card_post(s)
    assert wednesday.at == at("2025-03-05 08:25") and len(s.sender.posts(PLACE)) == 2
    assert occurrence_of(wednesday) != occurrence_of(monday)
    assert await tap(s, PEOPLE[0], monday, 5) == openers.CLOSED  # Monday closed at 20:25
    for user in PEOPLE[:3]:
        await tap(s, user, wednesday, 4)
    latest = updates(s)[-1]
    assert latest.ref == wednesday.ref and "3 answers" in latest.card.fallback
    await run_until(s, "2025-03-06 09:00")
    closed = [u for u in updates(s) if not answer_buttons(u)]
    assert [(u.ref, distribution(u)) for u in closed] == [
        (monday.ref, {"Stormy": 0, "Rainy": 5, "Cloudy": 0, "sunny": 0, "Sunny": 0}),
        (wednesday.ref, None),
    ]
    assert await signal(database, "opener_answer") == (5, 10.0, "2025-W10", 0)
    assert await signal(database, "opener_answer_few") == (3, 0.0, "2025-W10", 0)
    assert await signal(database, "opener_occurrence") == (2, 0.0, "2025-W10", 0)
    assert all(o.closed_at for o in await rows(database, Occurrence))


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


def test_voter_keys_need_the_secret_and_differ_per_person_and_occurrence():
    other = new_key_text().encode()
    key = openers.voter_key(PROCESS_KEY, 7, "U2")
    assert key == openers.voter_key(PROCESS_KEY, 7, "U2") and len(key) == 32
    assert key not in {
        openers.voter_key(other, 7, "U2"),
        openers.voter_key(PROCESS_KEY, 8, "U2"),
        openers.voter_key(PROCESS_KEY, 7, "U3"),
    }


def test_a_sealed_score_opens_only_with_its_key_and_voter_and_repeats_look_different():
    voter = openers.voter_key(PROCESS_KEY, 7, "U2")
    for score in openers.SCORES:
        sealed = [openers.seal_score(PROCESS_KEY, 7, voter, score) for _ in range(50)]
        assert len(set(sealed)) == 50 and all(len(value) <= 200 for value in sealed)  # fits the column
        assert {openers.open_score(PROCESS_KEY, 7, voter, value) for value in sealed} == {score}
        other_voter = openers.voter_key(PROCESS_KEY, 7, "U3")
        wrong = [openers.open_score(PROCESS_KEY, 7, other_voter, value) for value in sealed]
        wrong += [openers.open_score(PROCESS_KEY, 8, voter, value) for value in sealed]
        wrong += [openers.open_score(new_key_text().encode(), 7, voter, value) for value in sealed]
        assert wrong == [None] * 150  # bound to its key, its check-in and its voter
    assert openers.open_score(PROCESS_KEY, 7, voter, "-1") is None
