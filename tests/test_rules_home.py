"""Home page rules with no database: only the person's own next 1:1s (as manager, not paused, three at
most, soonest first), the shout-outs they received, and nothing about 1:1s for someone who runs none."""

from __future__ import annotations

import json
from datetime import timedelta

from practices.home import THANKS_NONE, one_on_one_blocks, page, thanks_blocks, upcoming_one_on_ones
from practices.messages import Text
from storage.models import Member, OneOnOnePair, Ritual, Shoutout
from tests.helpers import at

NOW = at("2025-03-03 09:00")
MIA = Member(id=1, workspace_id=1, platform_user_id="MIA", display_name="mia", created_at=NOW)
BO = Member(id=2, workspace_id=1, platform_user_id="BO", display_name="bo", created_at=NOW)


def pair(ritual_id: int, manager: int, report: int, in_days: int, paused: bool = False):
    ritual = Ritual(
        id=ritual_id,
        workspace_id=1,
        kind="one-on-one",
        schedule="every week mon 10:00",
        options=json.dumps({"lead_minutes": 1440}),
        paused=paused,
        next_run_at=NOW + timedelta(days=in_days),
        created_at=NOW,
    )
    return ritual, OneOnOnePair(
        ritual_id=ritual_id, workspace_id=1, manager_member_id=manager, report_member_id=report
    )


def test_only_the_managers_own_unpaused_1on1s_show_soonest_first_three_at_most():
    pairs = [
        pair(1, 1, 2, 9),
        pair(2, 2, 1, 1),
        pair(3, 1, 3, 2),
        pair(4, 1, 4, 3, paused=True),
        pair(5, 1, 5, 4),
        pair(6, 1, 6, 5),
    ]
    soonest = upcoming_one_on_ones(pairs, actor_id=1)
    assert [ritual.id for _, ritual, _ in soonest] == [3, 5, 6]
    # the meeting is a day after the firing (the nudge's lead)
    assert soonest[0][0] == NOW + timedelta(days=3)
    assert upcoming_one_on_ones(pairs, actor_id=9) == []


def test_someone_who_runs_no_1on1s_sees_no_1on1_section():
    assert one_on_one_blocks([], {}, "UTC") == []
    (block,) = one_on_one_blocks(upcoming_one_on_ones([pair(1, 1, 2, 1)], 1), {2: BO}, "UTC")
    assert isinstance(block, Text) and "with @bo" in page(MIA, [], [block], "").fallback


def test_thanks_received_name_the_giver_and_say_when_there_are_none():
    assert THANKS_NONE in page(MIA, thanks_blocks([], {}, {}, "UTC"), [], "").fallback
    row = Shoutout(
        workspace_id=1, giver_member_id=2, receiver_member_id=1, text="for the demo", created_at=NOW
    )
    card = page(MIA, thanks_blocks([row], {2: BO}, {}, "UTC"), [], "*Your hours:* Mon–Fri")
    assert "@bo: for the demo" in card.fallback and "Your hours" in card.fallback
    gone = Shoutout(workspace_id=1, giver_member_id=None, receiver_member_id=1, text="thanks", created_at=NOW)
    assert "someone: thanks" in page(MIA, thanks_blocks([gone], {}, {}, "UTC"), [], "").fallback
