"""Team administration end to end: commands, permissions, workspace isolation and attribution."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from storage.identity import find_workspace
from storage.models import Member, Ritual, Signal, Team, TeamMembership
from storage.org_teams import team_by_name
from tests.scenario import Scenario

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday

BO, CY, DI = "<@U2|bo>", "<@U3|cy>", "<@U4|di>"


@pytest.fixture
async def s(database) -> Scenario:
    scenario = Scenario(database, START)
    await scenario.join("U1", "ada", admin=True)  # Slack says ada administers the workspace
    await scenario.join("U2", "bo")
    await scenario.join("U3", "cy")
    await scenario.join("U4", "di")
    return scenario


async def rows(s: Scenario, model: type) -> list:
    async with s.database.session() as session:
        return list((await session.exec(select(model))).all())


async def team_named(s: Scenario, name: str, workspace: str = "T1") -> Team | None:
    async with s.database.session() as session:
        found = await find_workspace(session, "slack", workspace)
        assert found is not None and found.id is not None
        return await team_by_name(session, found.id, name)


async def memberships(s: Scenario, team: str) -> dict[str, bool]:
    """platform user id → is manager, for one team of workspace T1."""
    found = await team_named(s, team)
    assert found is not None
    async with s.database.session() as session:
        query = (
            select(Member.platform_user_id, TeamMembership.is_manager)
            .join(TeamMembership, TeamMembership.member_id == Member.id)
            .where(TeamMembership.team_id == found.id)
        )
        return dict((await session.exec(query)).all())


async def role_of(s: Scenario, user: str) -> str:
    async with s.database.session() as session:
        member = (await session.exec(select(Member).where(Member.platform_user_id == user))).one()
        return member.role


# --- create ------------------------------------------------------------------------------------------


async def test_admin_creates_a_team_for_a_channel_which_is_also_its_shoutout_channel(s):
    answer = await s.command("U1", "tend team create platform #C-plat")
    assert "Created team *platform* for #C-plat" in answer
    assert "private chat are posted there" in answer  # how the shout-out channel is set is explained
    assert "`/tend team add platform @sam @kim`" in answer  # an example, drawn as code
    [team] = await rows(s, Team)
    assert (team.name, team.channel_id, team.shoutout_channel_id) == ("platform", "C-plat", "C-plat")


async def test_create_here_uses_the_channel_the_command_was_typed_in(s):
    await s.command("U1", "tend team create design here", place="C-design")
    team = await team_named(s, "design")
    assert team is not None and team.channel_id == "C-design" == team.shoutout_channel_id


async def test_create_without_a_channel_says_how_to_give_it_one(s):
    answer = await s.command("U1", "tend team create ops")
    assert "Created team *ops*." in answer and "has no channel" in answer
    team = await team_named(s, "ops")
    assert team is not None and team.channel_id is None and team.shoutout_channel_id is None


async def test_only_admins_create_teams(s):
    answer = await s.command("U2", "tend team create platform #C-plat")
    assert "Only a Tend admin" in answer
    assert await rows(s, Team) == []


async def test_duplicate_name_is_refused_ignoring_letter_case(s):
    await s.command("U1", "tend team create platform #C-plat")
    answer = await s.command("U1", "tend team create Platform #C-other")
    assert "already a team called *platform*" in answer
    assert "type `/tend team create platform-web here` in the team's channel" in answer
    answer = await s.command("U1", "tend team create platform")
    assert "Example: `/tend team create platform-web`" in answer
    assert len(await rows(s, Team)) == 1


async def test_a_channel_reports_for_one_team_only(s):
    await s.command("U1", "tend team create platform #C-plat")
    answer = await s.command("U1", "tend team create web #C-plat")
    assert "Team *platform* already reports from #C-plat" in answer
    # The example names the channel as every platform can type it: "here", typed in that channel.
    assert "Pick another channel and type `/tend team create web here` in it." in answer
    here = await s.command("U1", "tend team create web here", place="C-plat")
    assert "Team *platform* already reports from this channel" in here
    assert len(await rows(s, Team)) == 1


async def test_grammar_mistakes_get_an_example(s):
    assert "Example: `/tend team create platform here`" in await s.command("U1", "tend team create")
    assert "can't be a team name" in await s.command("U1", "tend team create plat/form")
    assert "Mention at least one person" in await s.command("U1", "tend team add platform")


async def test_creating_a_team_for_a_channel_attributes_its_existing_rituals(s):
    assert "Added" in await s.command("U1", "tend ritual add shoutout-prompt #C-plat fri 15:00")
    assert "Added" in await s.command("U1", "tend ritual add shoutout-digest #C-plat fri 16:00")
    assert "Added" in await s.command("U1", "tend ritual add shoutout-prompt #C-other fri 15:00")
    await s.platform_admin("U9", workspace="T2")  # administers T2 in Slack
    assert "Added" in await s.command(
        "U9", "tend ritual add shoutout-prompt #C-plat fri 15:00", workspace="T2"
    )

    answer = await s.command("U1", "tend team create platform #C-plat")
    assert "2 rituals already in that channel will count for platform" in answer
    team = await team_named(s, "platform")
    assert team is not None
    by_place = {(r.workspace_id, r.place_id, r.kind): r.team_id for r in await rows(s, Ritual)}
    assert by_place[(team.workspace_id, "C-plat", "shoutout-prompt")] == team.id
    assert by_place[(team.workspace_id, "C-plat", "shoutout-digest")] == team.id
    assert by_place[(team.workspace_id, "C-other", "shoutout-prompt")] is None
    other_workspace = [r for r in await rows(s, Ritual) if r.workspace_id != team.workspace_id]
    assert [r.team_id for r in other_workspace] == [None]


async def test_a_ritual_added_after_the_team_counts_for_it_too(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", "tend ritual add shoutout-prompt #C-plat fri 15:00")
    team = await team_named(s, "platform")
    [ritual] = await rows(s, Ritual)
    assert team is not None and ritual.team_id == team.id


# --- list --------------------------------------------------------------------------------------------


async def test_anyone_lists_teams_with_channel_count_and_managers(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", "tend team create ops")
    await s.command("U1", f"tend team add platform {BO} {CY}")
    await s.command("U1", f"tend team manager platform {CY}")
    answer = await s.command("U2", "tend team list")
    assert answer.startswith("Teams")
    lines = answer.splitlines()
    assert "• *ops* (no channel): 0 members, no manager yet" in lines[1]
    assert "• *platform* (#C-plat): 2 members, managed by @cy" in lines[2]
    assert "fewer than 5 people: figures for this team stay hidden" in lines[2]
    assert "Membership only" in lines[-1]


async def test_list_gives_no_heads_up_once_a_team_reaches_the_minimum_group_size(database):
    s = Scenario(database, START, min_group_size=3)
    await s.platform_admin("U1")
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team add platform {BO} {CY}")
    assert "fewer than 3 people" in await s.command("U1", "tend team list")
    await s.command("U1", f"tend team add platform {DI}")
    answer = await s.command("U1", "tend team list")
    assert "3 members" in answer and "hidden" not in answer


async def test_list_with_no_teams_says_how_to_create_one(s):
    assert "no teams yet" in await s.command("U2", "tend team list")
    assert "/tend team create platform here" in await s.command("U2", "tend team list")


# --- add and remove ----------------------------------------------------------------------------------


async def test_admin_adds_people_and_adding_someone_twice_is_a_noted_no_op(s):
    await s.command("U1", "tend team create platform #C-plat")
    assert "Added @bo, @cy to *platform*." in await s.command("U1", f"tend team add platform {BO} {CY}")
    answer = await s.command("U1", f"tend team add Platform {CY} {DI}")  # any letter case finds it
    assert "Added @di to *platform*." in answer
    assert "@cy is already in *platform*, so nothing changed" in answer
    assert await memberships(s, "platform") == {"U2": False, "U3": False, "U4": False}


async def test_plain_names_resolve_to_known_members(s):
    await s.command("U1", "tend team create platform #C-plat")
    assert "Added @bo to *platform*." in await s.command("U1", "tend team add platform @bo")
    assert "I don't know anyone called @zed" in await s.command("U1", "tend team add platform @zed")


async def test_bots_cannot_be_members(s):
    await s.join("B1", "helper-bot", is_bot=True)
    await s.command("U1", "tend team create platform #C-plat")
    answer = await s.command("U1", f"tend team add platform {BO} <@B1|helper-bot>")
    assert "bots can't join one: @helper-bot. Nothing changed." in answer
    assert await memberships(s, "platform") == {}
    assert "bots can't join" in await s.command("U1", "tend team manager platform <@B1|helper-bot>")


async def test_remove_takes_people_out_and_notes_who_was_not_in(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team add platform {BO} {CY}")
    answer = await s.command("U1", f"tend team remove platform {BO} {DI}")
    assert "Removed @bo from *platform*." in answer
    assert "@di is not in *platform*, so nothing changed" in answer
    assert await memberships(s, "platform") == {"U3": False}


async def test_unknown_team_lists_the_existing_names(s):
    assert "nor any other yet" in await s.command("U1", f"tend team add platform {BO}")
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", "tend team create ops")
    for line in (f"add web {BO}", f"remove web {BO}", f"manager web {BO}", "delete web"):
        answer = await s.command("U1", f"tend team {line}")
        assert "There is no team called web here. Teams: ops, platform." in answer, line


# --- permissions -------------------------------------------------------------------------------------


async def test_a_plain_member_cannot_change_a_team_even_their_own(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team add platform {BO}")
    for line in (f"add platform {CY}", f"remove platform {BO}"):
        assert "Only a Tend admin or a manager of *platform*" in await s.command("U2", f"tend team {line}")
    for line in (f"manager platform {BO}", "delete platform"):
        assert "Only a Tend admin can do that" in await s.command("U2", f"tend team {line}")
    assert await memberships(s, "platform") == {"U2": False}


async def test_a_manager_changes_their_own_team_only(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", "tend team create web #C-web")
    await s.command("U1", f"tend team manager platform {CY}")
    assert "Added @bo" in await s.command("U3", f"tend team add platform {BO} {DI}")
    assert "Removed @di" in await s.command("U3", f"tend team remove platform {DI}")
    assert "manager of *web*" in await s.command("U3", f"tend team add web {BO}")
    assert "Only a Tend admin can do that" in await s.command("U3", f"tend team manager platform {BO}")
    assert "Only a Tend admin can do that" in await s.command("U3", "tend team delete platform")
    assert await memberships(s, "platform") == {"U2": False, "U3": True}


async def test_manager_joins_the_team_and_a_plain_member_becomes_a_manager(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team add platform {BO}")
    answer = await s.command("U1", f"tend team manager platform {BO} {CY} <@U1|ada>")
    assert "*platform* is now managed by @bo, @cy, @ada." in answer
    assert "@cy, @ada also joined the team." in answer
    assert await memberships(s, "platform") == {"U1": True, "U2": True, "U3": True}
    assert [await role_of(s, u) for u in ("U1", "U2", "U3", "U4")] == [
        "admin",
        "manager",
        "manager",
        "member",
    ]
    again = await s.command("U1", f"tend team manager platform {BO}")
    assert "@bo is already managing *platform*, so nothing changed" in again


async def test_removing_a_manager_from_the_team_keeps_their_role(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team manager platform {BO}")
    await s.command("U1", f"tend team remove platform {BO}")
    assert await memberships(s, "platform") == {}
    assert await role_of(s, "U2") == "manager"
    assert "managed by" not in await s.command("U1", "tend team list")


# --- delete ------------------------------------------------------------------------------------------


async def test_delete_removes_memberships_and_detaches_rituals(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", "tend ritual add shoutout-prompt #C-plat fri 15:00")
    await s.command("U1", f"tend team manager platform {BO}")
    await s.command("U1", f"tend team add platform {CY}")
    answer = await s.command("U1", "tend team delete PLATFORM")
    assert "Deleted team *platform*" in answer and "rituals keep running" in answer
    assert await rows(s, Team) == [] and await rows(s, TeamMembership) == []
    [ritual] = await rows(s, Ritual)
    assert ritual.team_id is None and ritual.place_id == "C-plat"
    assert "no teams yet" in await s.command("U2", "tend team list")
    # the name and the channel are free again
    assert "Created team *platform*" in await s.command("U1", "tend team create platform #C-plat")


# --- workspaces --------------------------------------------------------------------------------------


async def test_a_workspace_never_sees_or_changes_another_workspaces_teams(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team add platform {BO}")
    await s.platform_admin("V1", workspace="T2")  # administers T2 in Slack: its Tend admin

    assert "no teams yet" in await s.command("V1", "tend team list", workspace="T2")
    assert "nor any other yet" in await s.command("V1", "tend team add platform <@V2|vi>", workspace="T2")
    assert "nor any other yet" in await s.command("V1", "tend team delete platform", workspace="T2")
    # the same name and channel id are free in the other workspace
    created = await s.command("V1", "tend team create platform #C-plat", workspace="T2")
    assert "Created team *platform* for #C-plat" in created
    assert "Added @vi" in await s.command("V1", "tend team add platform <@V2|vi>", workspace="T2")
    assert "Deleted" in await s.command("V1", "tend team delete platform", workspace="T2")

    assert await memberships(s, "platform") == {"U2": False}
    assert "1 member," in await s.command("U1", "tend team list")
    assert await team_named(s, "platform", workspace="T2") is None


# --- attribution of shout-outs -------------------------------------------------------------------------


async def test_a_shoutout_in_a_teams_channel_counts_for_that_team(s):
    await s.command("U1", "tend team create platform #C-plat")
    team = await team_named(s, "platform")
    assert team is not None
    assert "Sent" in await s.command("U2", f"kudos {CY} thanks for the pairing", place="C-plat")
    assert "Sent" in await s.command("U4", f"kudos {CY} thanks for the notes", place="C-elsewhere")
    given = {sig.team_id: sig.count for sig in await rows(s, Signal) if sig.kind == "shoutout_given"}
    assert given == {team.id: 1, 0: 1}
    assert len(s.sender.posts("C-plat")) == 1 and len(s.sender.posts("C-elsewhere")) == 1


async def test_kudos_from_a_private_chat_is_posted_in_the_teams_shoutout_channel(s):
    await s.command("U1", "tend team create platform #C-plat")
    await s.command("U1", f"tend team add platform {BO}")
    answer = await s.command("U2", f"kudos {CY} thanks for covering on-call", place=None, direct=True)
    assert "Sent" in answer
    [post] = s.sender.posts("C-plat")
    assert "thanks for covering on-call" in post.card.fallback
    team = await team_named(s, "platform")
    assert team is not None
    given = [sig for sig in await rows(s, Signal) if sig.kind == "shoutout_given"]
    assert [(sig.team_id, sig.count) for sig in given] == [(team.id, 1)]


async def test_kudos_from_a_private_chat_without_a_team_explains_where_to_send_it(s):
    answer = await s.command("U2", f"kudos {CY} thanks", place=None, direct=True)
    assert "send them in a channel" in answer
    assert s.sender.posts() == []
