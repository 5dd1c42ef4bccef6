"""Pod rules with no database: who is matched in a round, how a round's pods mix teams and when each
pod's conversation opens, who may answer "did your pod meet?", and people's own choices."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from practices.messages import DirectMessage, OpenGroup, PostToPlace
from practices.pods import (
    MET,
    Cadence,
    answer_rule,
    apply_choice,
    choice_answer,
    eligible_people,
    plan_round,
    round_intents,
    start_refusal,
    state_change,
)
from storage.models import Member, PodParticipant, PodProgramme, Ritual
from tests.helpers import at

BERLIN = "Europe/Berlin"
NOW = at("2025-03-04 09:00", BERLIN)  # a Tuesday morning, when rounds form
TODAY = NOW.date()


def person(member_id: int, tz: str = BERLIN, **extra: object) -> Member:
    fields: dict[str, object] = {"profile_known": True, **extra}
    return Member(
        id=member_id,
        workspace_id=1,
        platform_user_id=f"U{member_id}",
        display_name=f"p{member_id}",
        time_zone=tz,
        created_at=NOW,
        **fields,
    )


def row(member_id: int, **extra: object) -> PodParticipant:
    return PodParticipant(programme_id=1, member_id=member_id, updated_at=NOW, **extra)


def test_out_skipping_paused_or_zone_unknown_people_are_not_matched():
    pool = {i: person(i) for i in range(1, 7)}
    pool[5] = person(5, tz="UTC", profile_known=False)  # Tend cannot tell when they are at work
    pool[6] = person(6, paused_until=TODAY + timedelta(days=3))  # out of office
    rows = {
        2: row(2, opted="out"),
        3: row(3, skip_round=4),
        4: row(4, paused_until=TODAY + timedelta(days=1)),
    }
    assert set(eligible_people(pool, rows, opt_in=False, number=4, today=TODAY)) == {1}
    assert set(eligible_people(pool, rows, opt_in=False, number=5, today=TODAY)) == {1, 3}


def test_an_opt_in_programme_matches_only_those_who_opted_in():
    pool = {1: person(1), 2: person(2)}
    assert set(eligible_people(pool, {2: row(2, opted="in")}, opt_in=True, number=1, today=TODAY)) == {2}


def test_a_round_mixes_teams_and_opens_each_pod_when_all_its_members_are_at_work():
    people = {i: person(i) for i in range(1, 9)}
    teams = {i: 1 if i <= 4 else 2 for i in people}
    cadence = Cadence(2)
    plan = plan_round(1, 1, NOW, people, teams, {}, cadence, min_size=4, max_size=4)
    assert sorted(len(pod) for pod in plan.formation.pods) == [4, 4] and plan.formation.unplaced == ()
    assert plan.mixes == (2, 2) and plan.ties > 0
    assert (plan.nudge_at, plan.ends_at) == (NOW + timedelta(days=7), NOW + timedelta(days=10))
    intents = round_intents(plan, [11, 12], 5, 1, "C1", 1, people, NOW, cadence)
    opened = [i for i in intents if isinstance(i, OpenGroup)]
    assert [o.key for o in opened] == ["pods:11:open", "pods:12:open"] and all(
        o.not_before == NOW for o in opened
    )
    assert isinstance(intents[-1], PostToPlace) and intents[-1].place_id == "C1"


def test_someone_without_room_in_a_pod_hears_privately():
    people = {i: person(i) for i in range(1, 6)}
    plan = plan_round(1, 1, NOW, people, {}, {}, Cadence(None), min_size=4, max_size=4)
    (unplaced,) = plan.formation.unplaced
    intents = round_intents(plan, [11], 5, 1, "C1", 1, people, NOW, Cadence(None))
    private = [i for i in intents if isinstance(i, DirectMessage)]
    assert [(m.member_id, m.key) for m in private] == [(unplaced, f"pods:r5:noroom:{unplaced}")]


def test_a_pod_whose_members_never_share_working_time_hears_privately_each_in_their_hours():
    people = {1: person(1, tz="Asia/Tokyo"), 2: person(2, tz="America/New_York")}
    plan = plan_round(1, 1, NOW, people, {}, {}, Cadence(1), min_size=2, max_size=2)
    intents = round_intents(plan, [11], 5, 1, "C1", 1, people, NOW, Cadence(1))
    assert not any(isinstance(i, OpenGroup) for i in intents)
    assert sorted(i.member_id for i in intents if isinstance(i, DirectMessage)) == [1, 2]


def test_only_someone_in_the_pod_answers_and_a_bad_value_is_gone():
    assert answer_rule(MET, "7:yes", True) == "answer"
    assert answer_rule(MET, "7:no", False) == "not_yours"
    assert answer_rule(MET, "7:maybe", True) == "gone"
    assert answer_rule(MET, "7:yes", None) == "gone"  # no such pod in this workspace


def programme(state: str) -> PodProgramme:
    return PodProgramme(
        id=3, workspace_id=1, ritual_id=9, place_id="C1", cadence="monthly", state=state, created_at=NOW
    )


def ritual(next_run_at: datetime) -> Ritual:
    return Ritual(
        id=9, workspace_id=1, kind="pods", schedule="first tue 10:00", next_run_at=next_run_at, created_at=NOW
    )


def test_a_stopped_programme_stays_stopped_and_a_resumed_one_skips_the_round_it_missed():
    stopped, its_ritual = programme("stopped"), ritual(NOW)
    assert "stopped" in str(state_change(stopped, its_ritual, "active", NOW, lambda: None))
    assert stopped.state == "stopped"
    paused, its_ritual = programme("paused"), ritual(NOW - timedelta(days=3))
    assert state_change(paused, its_ritual, "active", NOW, lambda: NOW + timedelta(days=28)) is None
    assert (
        paused.state == "active"
        and not its_ritual.paused
        and its_ritual.next_run_at == NOW + timedelta(days=28)
    )
    active, its_ritual = programme("active"), ritual(NOW + timedelta(days=1))
    assert state_change(active, its_ritual, "paused", NOW, lambda: None) is None and its_ritual.paused


def test_opting_back_in_ends_a_pause_and_skip_sits_out_the_next_round_only():
    mine = row(1, opted="out", paused_until=date(2025, 4, 1))
    apply_choice(mine, "in", 0, None, NOW)
    assert (mine.opted, mine.paused_until, mine.updated_at) == ("in", None, NOW)
    apply_choice(mine, "skip", 6, None, NOW)
    assert mine.skip_round == 6
    assert "#3" in str(choice_answer("skip", "#3", None))


def test_only_admins_start_pods_in_a_channel_that_has_a_team_unless_people_opt_in():
    assert "Only" in "".join(map(str, start_refusal(False, "C1", False, True) or ()))
    assert start_refusal(True, None, True, False) is not None
    no_team = start_refusal(True, "C1", False, False)
    assert no_team is not None and "opt-in" in "".join(map(str, no_team))
    assert start_refusal(True, "C1", True, False) is None and start_refusal(True, "C1", False, True) is None
