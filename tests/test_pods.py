"""Compassion pods end to end: an admin starts a programme, rounds form pods that mix teams, each pod's
conversation opens with an introduction and a prompt, a nudge comes halfway and a one-tap "did your pod
meet?" at the end; people opt out, skip or pause, and admins pause, resume and stop the programme."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from practices.pods import prompt_for
from storage.models import Signal
from tests.fakes import Sent
from tests.helpers import at
from tests.scenario import Scenario

TEAMS = {"eng": ["E1", "E2", "E3", "E4"], "ops": ["O1", "O2", "O3", "O4"], "care": ["C1", "C2", "C3", "C4"]}
EVERYONE = [u for people in TEAMS.values() for u in people]
START = at("2026-12-07 09:00", "UTC")  # a Monday
FIRST_ROUND = at("2026-12-08 10:00", "UTC")  # the next Tuesday 10:00 in the admin's zone


async def company(database, platform: str = "slack") -> Scenario:
    """An admin and twelve people in three teams, all also in the team of the channel #all (C1)."""
    s = Scenario(database, START, platform=platform)
    await s.join("ADA", "ada", tz="UTC", admin=True)
    for user in EVERYONE:
        await s.join(user, user.lower(), tz="Europe/London")
    mention = " ".join(f"<@{u}|{u.lower()}>" for u in EVERYONE)
    assert "created" in (await s.command("ADA", "tend team create all here", place="C1")).lower()
    await s.command("ADA", f"tend team add all {mention}", place="C1")
    for n, (name, people) in enumerate(TEAMS.items()):
        await s.command("ADA", f"tend team create {name} here", place=f"T{n}")
        await s.command("ADA", f"tend team add {name} " + " ".join(f"<@{u}|{u.lower()}>" for u in people))
    return s


def groups(s: Scenario, since: int = 0) -> list[list[str]]:
    return [sorted(g.target.split(",")) for g in s.sender.groups()[since:]]


def team_of(user: str) -> str:
    return next(name for name, people in TEAMS.items() if user in people)


async def signals(s: Scenario, kind: str) -> int:
    async with s.database.session() as session:
        rows = (await session.exec(select(Signal).where(Signal.kind == kind))).all()
    return sum(r.count for r in rows)


def asks(s: Scenario, user: str) -> list[Sent]:
    return [d for d in s.sender.directs(user) if d.card.title == "Did your pod meet?"]


async def test_a_round_forms_cross_team_pods_and_opens_each_conversation(database):
    s = await company(database)
    answer = await s.command("ADA", "tend pods start here every 2 weeks", place="C1")
    assert "Pods #1 started" in answer and "pods of 4–6 people" in answer and "every 2 weeks" in answer
    assert any("Compassion pods" in p.card.fallback for p in s.sender.posts("C1"))

    await s.advance(until_delta(s, FIRST_ROUND))
    formed = groups(s)
    assert [len(g) for g in formed] == [6, 6]
    assert sorted(u for g in formed for u in g) == sorted(EVERYONE)  # everyone once, nobody twice
    for pod in formed:
        assert len({team_of(u) for u in pod}) == 3  # every team in every pod
    intro = s.sender.groups()[0]
    assert intro.card.title == "Your compassion pod"
    assert prompt_for(1) in intro.card.fallback
    assert all(f"@{u.lower()}" in intro.card.fallback for u in intro.target.split(","))
    assert intro.at is not None and 9 <= intro.at.hour < 17  # inside everyone's working hours
    assert any("round 1" in p.card.fallback for p in s.sender.posts("C1"))
    assert await signals(s, "pod_round_formed") == 1
    assert await signals(s, "pod_formed") == 2
    assert await signals(s, "pod_cross_team_tie") == 2 * 12  # 6 people, 2 from each of 3 teams: 12 ties

    # Halfway through the two weeks, everyone gets a gentle nudge, once.
    await s.advance(days=7)
    await s.advance(hours=1)
    for user in EVERYONE:
        assert [d.card.title for d in s.sender.directs(user)].count("Your pod, halfway") == 1

    # The Friday before the next round: "did your pod meet?", one tap each, counted per pod.
    await s.advance(days=3)
    first, second = formed
    ask = asks(s, first[0])
    assert len(ask) == 1 and [b.label for b in ask[0].card.buttons] == ["Yes, we met", "Not this time"]
    yes = ask[0].card.buttons[0]
    assert "glad your pod met" in await s.click(first[0], yes.action, yes.value, direct=True)
    other_yes = asks(s, first[1])[0].card.buttons[0]
    await s.click(first[1], other_yes.action, other_yes.value, direct=True)
    assert "already answered" in await s.click(first[0], yes.action, yes.value, direct=True)
    assert await signals(s, "pod_met") == 1  # the pod met once, however many say so
    assert "isn't yours" in await s.click(second[0], yes.action, yes.value, direct=True)


def until_delta(s: Scenario, when) -> timedelta:
    return when - s.clock.now()


async def test_people_opt_out_skip_or_pause_and_are_left_out_of_those_rounds(database):
    s = await company(database)
    await s.command("ADA", "tend pods start here every 1 weeks", place="C1")
    assert "You're out of pods #1" in await s.command("E1", "tend pods opt-out", direct=True, place="D-E1")
    assert "sit out the next round" in await s.command("O1", "tend pods skip", direct=True, place="D-O1")
    answer = await s.command("C1", "tend pods pause until 2026-12-20", direct=True, place="D-C1")
    assert "paused for you until 2026-12-20" in answer

    await s.advance(until_delta(s, FIRST_ROUND))
    first = {u for g in groups(s) for u in g}
    assert first == set(EVERYONE) - {"E1", "O1", "C1"}

    seen = len(s.sender.groups())
    await s.advance(days=7)  # round 2, 15 Dec: O1 is back, C1 still paused, E1 still out
    second = {u for g in groups(s, seen) for u in g}
    assert second == set(EVERYONE) - {"E1", "C1"}

    assert "You're in pods #1" in await s.command("E1", "tend pods opt-in", direct=True, place="D-E1")
    seen = len(s.sender.groups())
    await s.advance(days=7)  # round 3, 22 Dec: everyone
    assert {u for g in groups(s, seen) for u in g} == set(EVERYONE)


async def test_an_admin_pauses_resumes_and_stops_a_programme(database):
    s = await company(database)
    await s.command("ADA", "tend pods start here every 1 weeks", place="C1")
    assert "only admins" in (await s.command("E1", "tend pods pause 1")).lower()
    assert "now paused" in await s.command("ADA", "tend pods pause 1")
    await s.advance(until_delta(s, FIRST_ROUND))
    assert groups(s) == []
    assert "paused" in await s.command("ADA", "tend pods list")

    assert "now active" in await s.command("ADA", "tend pods resume 1")
    await s.advance(days=7)
    assert len(groups(s)) == 2

    assert "now stopped" in await s.command("ADA", "tend pods stop 1")
    await s.advance(days=7)
    assert len(groups(s)) == 2  # no round after the stop
    assert all(not asks(s, u) for u in EVERYONE)  # nor the stopped round's question
    assert "was stopped" in await s.command("ADA", "tend pods resume 1")


async def test_mistakes_get_a_friendly_answer_with_an_example(database):
    s = await company(database)
    assert "/tend pods start here" in await s.command("ADA", "tend pods start")
    assert "size 4-6" in await s.command("ADA", "tend pods start here size 9-3")
    assert "every 2 weeks" in await s.command("ADA", "tend pods start here every fortnight")
    assert "YYYY-MM-DD" in await s.command("E1", "tend pods pause until someday")
    assert "opt-in" in await s.command("ADA", "tend pods start <#C9|random>")  # no team: suggest opt-in
    assert "after today" in await s.command("E1", "tend pods pause until 2026-12-01")
    assert "no pod programme #7" in (await s.command("ADA", "tend pods stop 7")).lower()


async def test_an_opt_in_programme_matches_only_those_who_opted_in(database):
    s = await company(database)
    answer = await s.command("ADA", "tend pods start <#C9|random> size 3-4 opt-in", place="C1")
    assert "whoever opts in" in answer
    joined = EVERYONE[:7]
    for user in joined:
        await s.command(user, "tend pods opt-in", direct=True, place=f"D-{user}")
    # Someone whose time zone Tend has not learned yet: it cannot tell when they are at work.
    assert "You're in pods" in await s.command("ZED", "tend pods opt-in", direct=True, place="D-ZED")
    await s.advance(until_delta(s, at("2027-01-05 10:00", "UTC")))  # the first Tuesday of the month
    formed = groups(s)
    assert sorted(len(g) for g in formed) == [3, 4]
    assert {u for g in formed for u in g} == set(joined)  # not ZED, until Tend knows their zone


async def test_export_lists_my_pods_and_forget_me_removes_them(database):
    from practices.pods import export_mine, forget_mine
    from practices.practice import PracticeContext
    from storage import identity

    s = await company(database)
    await s.command("ADA", "tend pods start here every 2 weeks", place="C1")
    await s.advance(until_delta(s, FIRST_ROUND))
    async with s.database.session() as session:
        workspace = await identity.find_workspace(session, "slack", "T1")
        me = await identity.find_member(session, workspace.id, "E1")
        ctx = PracticeContext(session, workspace, me, s.clock.now())
        (section,) = await export_mine(ctx)
        assert len(section.data["pods"]) == 1 and len(section.data["pods"][0]["with"]) == 5
        assert all(name.startswith("@") for name in section.data["pods"][0]["with"])
        assert "pod memberships removed: 1" in (await forget_mine(ctx, False)).erased[0]
        await forget_mine(ctx, True)
        await session.commit()
    async with s.database.session() as session:
        ctx = PracticeContext(session, workspace, me, s.clock.now())
        (section,) = await export_mine(ctx)
        assert section.data["pods"] == []


async def test_export_my_data_shows_my_pod_and_forget_me_takes_me_out_of_it(database):
    s = await company(database)
    await s.command("ADA", "tend pods start here every 2 weeks", place="C1")
    await s.advance(until_delta(s, FIRST_ROUND))
    await s.command("E1", "tend pods pause until 2027-02-01", direct=True, place="D-E1")
    await s.command("E1", "tend export-my-data", direct=True, place="D-E1")
    exported = "\n".join(d.card.fallback for d in s.sender.directs("E1")) + str(s.last_answers)
    assert "Your compassion pods" in exported and "round 1" in exported
    assert "paused until 2027-02-01" in exported  # their own choice

    await s.command("E1", "tend forget-me confirm", direct=True, place="D-E1")
    async with s.database.session() as session:
        from storage.models import Outbox, PodMember

        left = (await session.exec(select(PodMember))).all()
        gathered = (await session.exec(select(Outbox).where(Outbox.target_kind == "group"))).all()
    assert len(left) == 11  # E1 is out of their pod; the other eleven keep theirs
    assert len(gathered) == 1  # the message gathering E1's pod (it named them) is gone; the other stays


async def test_a_pod_with_an_ambassador_in_it_is_told_they_can_help_host(database):
    """E1 is an ambassador: the introduction of E1's pod names them as someone who can help host (once,
    a real mention); the other pod, with no ambassador, reads as before."""
    s = await company(database)
    await s.command("ADA", "tend ambassadors add <@E1|e1>")
    await s.command("ADA", "tend pods start here every 2 weeks", place="C1")
    await s.advance(until_delta(s, FIRST_ROUND))
    [hosted] = [g for g in s.sender.groups() if "E1" in g.target.split(",")]
    [other] = [g for g in s.sender.groups() if "E1" not in g.target.split(",")]
    assert "@e1 is an ambassador and can help host." in hosted.card.fallback
    assert hosted.card.fallback.count("ambassador") == 1
    assert "ambassador" not in other.card.fallback
