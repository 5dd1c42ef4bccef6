"""Ambassador rules with no database: who names ambassadors and sees the network, which teams the
digest calls quiet (never one below the minimum group size), and which weeks its figures count."""

from __future__ import annotations

from practices.ambassadors import (
    ONLY_ADMINS,
    add_refusal,
    figures_from,
    finished_weeks,
    gets_digest,
    may_list,
    quiet_teams,
    removed_answer,
    welcome,
)
from storage.compassion_index import SignalRow
from storage.models import Member, Team
from tests.helpers import at

NOW = at("2025-04-02 10:00")  # a Wednesday
ANA = Member(id=1, workspace_id=1, platform_user_id="ANA", display_name="ana", created_at=NOW)
BO = Member(id=2, workspace_id=1, platform_user_id="BO", display_name="bo", created_at=NOW)
TEAMS = [
    Team(id=1, workspace_id=1, name="big", created_at=NOW),
    Team(id=2, workspace_id=1, name="small", created_at=NOW),
    Team(id=3, workspace_id=1, name="thanked", created_at=NOW),
]
SIZES = {1: 6, 2: 3, 3: 7}


def test_only_admins_name_ambassadors_and_never_bots():
    assert add_refusal(False, [ANA]) == ONLY_ADMINS
    bot = Member(
        id=3, workspace_id=1, platform_user_id="B", display_name="helper", is_bot=True, created_at=NOW
    )
    refusal = add_refusal(True, [bot])
    assert refusal is not None and "helper" in "".join(str(part) for part in refusal)
    assert add_refusal(True, [ANA]) is None


def test_admins_and_ambassadors_see_the_network_and_no_one_else():
    assert may_list(True, 9, []) and may_list(False, 1, [ANA]) and not may_list(False, 2, [ANA])


def test_removing_someone_who_was_not_an_ambassador_says_so():
    assert "wasn't an ambassador" in "".join(map(str, removed_answer([BO], [])))
    assert "won't get the ambassadors' digest" in "".join(map(str, removed_answer([BO], [BO])))


def test_a_welcome_is_private_and_said_once_a_day():
    message = welcome(1, 5, NOW)
    assert message.member_id == 1 and message.key == "ambassador-welcome:1:20250402"


def test_quiet_teams_leave_out_teams_below_the_minimum_and_teams_thanked_lately():
    assert quiet_teams(TEAMS, thanked={3}, people=16, sizes=SIZES, minimum=5) == ("big",)
    assert quiet_teams(TEAMS, thanked=set(), people=16, sizes=SIZES, minimum=5) == ("big", "thanked")


def test_figures_count_the_last_four_finished_weeks_against_the_four_before():
    recent, before = finished_weeks(NOW.date(), 4), finished_weeks(NOW.date(), 4, skip=4)
    assert recent[0] == "2025-W13" and before[0] == "2025-W09"
    rows = [
        SignalRow(0, recent[0], "stress_support_requested", 6, 0.0),
        SignalRow(0, recent[3], "stress_unsupported", 2, 0.0),
        SignalRow(0, before[1], "stress_support_requested", 9, 0.0),
        SignalRow(0, "2025-W14", "stress_support_requested", 100, 0.0),  # this week is not finished
        SignalRow(3, recent[1], "shoutout_given", 1, 0.0),
        SignalRow(1, before[0], "shoutout_given", 1, 0.0),  # thanked, but too long ago
    ]
    figures = figures_from(rows, NOW, people=16, sizes=SIZES, teams=TEAMS, waiting=2, minimum=5)
    assert (figures.requested, figures.unanswered, figures.requested_before) == (6, 2, 9)
    assert figures.quiet_teams == ("big",) and figures.waiting == 2


def test_bots_and_people_who_left_get_no_digest():
    assert gets_digest(ANA)
    assert not gets_digest(
        Member(id=4, workspace_id=1, platform_user_id="X", deactivated=True, created_at=NOW)
    )
