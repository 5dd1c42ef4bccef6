"""Tend removed from a Teams team or chat, and added back, through the real CloudAdapter.

Every activity is signed by the fake identity server and every post lands on the fake Bot Connector
(tests/fake_teams.py), so "nothing is posted" is what the connector did not receive. Removal from one
team pauses the rituals posting into that team's channels and nothing else; removal from the last
conversation Tend knew in the tenant removes the tenant, like Slack's ``app_uninstalled``.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from bot.addresses import PLACE
from bot.scheduler import Scheduler
from storage.identity import find_workspace
from storage.models import Ritual
from tests.test_msteams import ANA, BOT, TENANT, Teams, rows, teams  # noqa: F401  (the fixture)

TEAM_A = "19:general-a@thread.tacv2"  # a team's id is its General channel's id
RANDOM_A = "19:random-a@thread.tacv2"  # another channel of team A
TEAM_B = "19:general-b@thread.tacv2"
MONDAY_NINE = "mon 09:00 UTC"


def in_channel(t: Teams, channel: str, team: str, **extra: Any) -> dict[str, Any]:
    activity = t.activity(conversation=channel, **extra)
    activity["channelData"] = {"tenant": {"id": TENANT}, "channel": {"id": channel}, "team": {"id": team}}
    return activity


def membership(
    t: Teams, kind: str, channel: str = TEAM_A, team: str | None = TEAM_A, **extra: Any
) -> dict[str, Any]:
    """An installationUpdate or conversationUpdate about Tend itself, in a team (or a chat: team None)."""
    activity = t.activity(conversation=channel, type=kind, **extra)
    activity.pop("text", None)
    activity["conversation"]["id"] = channel
    activity["channelData"] = {"tenant": {"id": TENANT}}
    if team is not None:
        activity["channelData"] |= {"team": {"id": team}, "channel": {"id": channel}}
    else:
        activity["conversation"]["conversationType"] = "groupChat"
    return activity


REMOVALS = {
    "installationUpdate remove": lambda t: membership(t, "installationUpdate", action="remove"),
    "membersRemoved names Tend": lambda t: membership(t, "conversationUpdate", membersRemoved=[BOT]),
    "teamDeleted": lambda t: (
        membership(t, "conversationUpdate", channelData={})
        | {"channelData": {"tenant": {"id": TENANT}, "team": {"id": TEAM_A}, "eventType": "teamDeleted"}}
    ),
}


async def install(t: Teams, team: str) -> None:
    """Ana adds Tend to a team (the first install in the tenant makes her its admin)."""
    t.connector.rosters[team] = [ANA, BOT]
    assert (await t.post(membership(t, "conversationUpdate", team, team, membersAdded=[BOT]))).status == 200
    await t.adapter.drain()  # the roster is read after the response
    t.connector.calls.clear()


async def add_ritual(t: Teams, channel: str, team: str) -> None:
    text = f"<at>Tend</at> tend ritual add shoutout-prompt here {MONDAY_NINE}"
    response = await t.post(in_channel(t, channel, team, text=text, mentions=(BOT,)))
    assert response.status == 200
    await t.connector.wait_for(lambda calls: [c for c in calls if "Added" in json.dumps(c.body)])
    t.connector.calls.clear()


async def next_monday_posts(t: Teams) -> set[str]:
    """Moves to the next Monday 09:01 (UTC), fires what is due and returns the channels posted to."""
    now = t.clock.now()
    nine = now.replace(hour=9, minute=1, second=0, microsecond=0)
    days = (7 - now.weekday()) % 7 or (0 if now < nine else 7)
    t.clock.set(nine + timedelta(days=days))
    scheduler = Scheduler(t.database, t.clock, senders=t.engine.senders)
    await scheduler.tick()
    await t.engine.delivery.deliver_due()
    posted = {c.conversation_id for c in t.connector.calls if c.kind in ("send", "reply") and c.status < 300}
    t.connector.calls.clear()
    return posted


async def rituals_by_place(t: Teams) -> dict[str | None, Ritual]:
    return {ritual.place_id: ritual for ritual in await rows(t.database, Ritual)}


async def tenant_active(t: Teams) -> bool:
    async with t.database.session() as session:
        workspace = await find_workspace(session, "teams", TENANT)
    assert workspace is not None
    return workspace.active


@pytest.fixture
async def two_teams(teams: Teams) -> Teams:  # noqa: F811
    """Rituals in both channels of team A and in team B, each posting on Mondays at 09:00 UTC; the
    clock is on a Monday at 08:00, before their first run."""
    t = teams
    t.clock.set(t.clock.now().replace(hour=8))
    for team in (TEAM_A, TEAM_B):
        await install(t, team)
    for channel, team in ((TEAM_A, TEAM_A), (RANDOM_A, TEAM_A), (TEAM_B, TEAM_B)):
        await add_ritual(t, channel, team)
    return teams


@pytest.mark.parametrize("removal", list(REMOVALS))
async def test_removed_from_one_team_its_rituals_stop_and_the_other_teams_go_on(
    two_teams: Teams, removal: str
):
    t = two_teams
    assert await next_monday_posts(t) == {TEAM_A, RANDOM_A, TEAM_B}  # all three run before
    assert (await t.post(REMOVALS[removal](t))).status == 200
    assert await next_monday_posts(t) == {TEAM_B}
    assert await next_monday_posts(t) == {TEAM_B}
    places = await rituals_by_place(t)
    assert places[TEAM_A].paused and places[RANDOM_A].paused and not places[TEAM_B].paused
    assert await tenant_active(t)  # team B, and the people of team A, still use Tend


async def test_an_upgrade_stops_nothing(two_teams: Teams):
    t = two_teams
    upgrade = membership(t, "installationUpdate", action="remove-upgrade")
    assert (await t.post(upgrade)).status == 200
    assert await next_monday_posts(t) == {TEAM_A, RANDOM_A, TEAM_B}


async def test_adding_tend_back_resumes_what_removal_paused_and_not_what_an_admin_paused(two_teams: Teams):
    t = two_teams
    random_a = (await rituals_by_place(t))[RANDOM_A].id
    text = f"<at>Tend</at> tend ritual pause {random_a}"
    assert (await t.post(in_channel(t, TEAM_A, TEAM_A, text=text, mentions=(BOT,)))).status == 200
    t.connector.calls.clear()
    assert await next_monday_posts(t) == {TEAM_A, TEAM_B}
    assert (await t.post(membership(t, "installationUpdate", action="remove"))).status == 200
    assert await next_monday_posts(t) == {TEAM_B}
    assert (await t.post(membership(t, "installationUpdate", action="add"))).status == 200
    assert await next_monday_posts(t) == {TEAM_A, TEAM_B}  # missed Mondays are not made up for
    places = await rituals_by_place(t)
    assert places[RANDOM_A].paused and "left" not in json.loads(places[TEAM_A].options)


async def test_removed_from_the_last_conversation_the_tenant_stops_like_an_uninstall(teams: Teams):  # noqa: F811
    t = teams
    t.clock.set(t.clock.now().replace(hour=8))
    await install(t, TEAM_A)
    await add_ritual(t, TEAM_A, TEAM_A)
    assert (await t.post(membership(t, "installationUpdate", action="remove"))).status == 200
    assert not await tenant_active(t)
    t.clock.advance(timedelta(hours=1))
    assert await next_monday_posts(t) == set()
    # Whatever arrives now changes nothing and is answered with nothing
    hello = in_channel(t, TEAM_A, TEAM_A, text="<at>Tend</at> tend help", mentions=(BOT,))
    assert (await t.post(hello)).status == 200
    assert [c for c in t.connector.calls if c.kind in ("send", "reply")] == []
    # ... until Tend is installed again: the tenant is active and the ritual posts from its next Monday
    assert (await t.post(membership(t, "installationUpdate", action="add"))).status == 200
    assert await tenant_active(t)
    assert await next_monday_posts(t) == {TEAM_A}


async def test_a_group_chat_and_a_personal_chat_are_left_on_their_own(two_teams: Teams):
    t = two_teams
    chat = "19:chat-1@thread.v2"
    hello = t.activity("<at>Tend</at> tend help", conversation=chat, mentions=(BOT,))
    hello["conversation"] |= {"id": chat, "conversationType": "groupChat"}
    hello["channelData"] = {"tenant": {"id": TENANT}}
    assert (await t.post(hello)).status == 200
    await t.say("hello", personal=True)
    assert (await t.post(membership(t, "conversationUpdate", chat, None, membersRemoved=[BOT]))).status == 200
    personal = t.activity(type="installationUpdate", action="remove", personal=True)
    assert (await t.post(personal)).status == 200
    known = await t.adapter.addresses.all_of(TENANT, PLACE)
    assert f"a:personal-{ANA['id']}" not in known  # a personal chat's reference is forgotten
    assert known[chat].get("tendLeft") is True
    t.connector.calls.clear()  # the answers to what was said above
    assert await tenant_active(t)
    assert await next_monday_posts(t) == {TEAM_A, RANDOM_A, TEAM_B}


async def test_an_unsigned_removal_changes_nothing(two_teams: Teams):
    t = two_teams
    removal = membership(t, "installationUpdate", action="remove")
    assert (await t.post(removal, headers={})).status == 401
    assert await next_monday_posts(t) == {TEAM_A, RANDOM_A, TEAM_B}
