"""Who is a Tend admin, and the audit trail of every change (issue 14, section 1).

An admin is someone the platform says may administer the workspace (Slack: admin or owner in
``users.info``; Teams: owner on the roster), the installer of a workspace Tend meets for the first
time, or someone an admin grants. Rules through neutral events first (``Scenario``), then through
Slack's and Teams' real endpoints with the fake platforms answering.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from sqlmodel import select

from bot import commands as c
from bot.events import MemberSeen
from practices.messages import Reply, Text
from practices.roles import LOG_LIMIT, AdminLog
from storage.db import Database
from storage.models import AdminChange, Member
from tests import test_msteams, test_slack
from tests.fake_slack_api import Call
from tests.helpers import at
from tests.scenario import Scenario
from tests.test_msteams import ANA, BO, BOT, Teams
from tests.test_slack import Slack
from tests.test_slack_events import post_event
from tests.test_slack_home import home_opened, user_event

slack = test_slack.slack  # Tend's server with Bolt (one workspace), signed requests, a fake Web API
teams = test_msteams.teams  # Tend's server with botbuilder, a fake Bot Connector and token servers

START = at("2026-11-24 10:00")  # a Tuesday
CY = {"id": "29:cy", "name": "Cy", "aadObjectId": "aad-cy"}


async def roles(database: Database, workspace: str = "T1") -> dict[str, str]:
    async with database.session() as session:
        found = (await session.exec(select(Member))).all()
        return {m.platform_user_id: m.role for m in found}


async def trail(database: Database) -> list[tuple[str, str, str | None, str]]:
    """(member's platform id, change, by whom, reason), oldest first."""
    async with database.session() as session:
        members = {m.id: m.platform_user_id for m in (await session.exec(select(Member))).all()}
        rows = (await session.exec(select(AdminChange).order_by(AdminChange.id))).all()  # type: ignore[arg-type]
        return [(members[r.member_id], r.change, members.get(r.by_member_id), r.reason) for r in rows]


def plain(text: object) -> str:
    """A text block's words, whether Tend's own string or parts (a person's words, mentions)."""
    if isinstance(text, str):
        return text
    return "".join(part if isinstance(part, str) else str(getattr(part, "text", "")) for part in text)  # type: ignore[attr-defined]


# --- the rules, through neutral events ----------------------------------------------------------------


@pytest.fixture
async def s(database: Database) -> Scenario:
    """ana, whom the platform calls an admin; bo, cy and di, plain members."""
    scenario = Scenario(database, START)
    await scenario.join("U1", "ana", admin=True)
    for user, name in (("U2", "bo"), ("U3", "cy"), ("U4", "di")):
        await scenario.join(user, name)
    return scenario


async def test_speaking_first_makes_nobody_admin(database: Database):
    s = Scenario(database, START)
    await s.command("U2", "tend help")
    await s.join("U3", "cy")
    assert await roles(database) == {"U2": "member", "U3": "member"}
    assert "nobody yet" in await s.command("U2", "tend admin list")
    assert await trail(database) == []


async def test_the_platforms_word_makes_an_admin_and_is_written_with_its_day_only(s: Scenario):
    assert (await roles(s.database))["U1"] == "admin"
    async with s.database.session() as session:
        [row] = (await session.exec(select(AdminChange))).all()
    assert (row.change, row.reason, row.by_member_id) == ("granted", "platform", None)
    assert row.created_at == at("2026-11-24 00:00")  # the day, not the moment ana used Tend


async def test_an_install_grants_only_in_a_workspace_tend_meets_for_the_first_time(database: Database):
    s = Scenario(database, START)
    await s.engine.handle(MemberSeen(replace(s.origin("U2", None, workspace="T9"), actor_is_installer=True)))
    await s.join("U3", "cy", workspace="T9")
    again = replace(s.origin("U3", None, workspace="T9"), actor_is_installer=True)  # a plain member, again
    await s.engine.handle(MemberSeen(again))
    assert await roles(database) == {"U2": "admin", "U3": "member"}
    assert await trail(database) == [("U2", "granted", None, "install")]


async def test_admins_grant_and_remove_and_every_change_is_in_the_log_newest_first(s: Scenario):
    assert "@bo can now administer Tend here" in await s.command("U1", "tend admin add <@U2|bo>")
    assert "already administer" in await s.command("U1", "tend admin add <@U2|bo>")
    assert "@bo no longer administer" in await s.command("U1", "tend admin remove <@U2|bo>")
    assert "nothing to remove" in await s.command("U1", "tend admin remove <@U3|cy>")
    log = await s.command("U1", "tend admin log")
    lines = [line for line in log.splitlines() if line.startswith("• ")]
    assert lines == [
        "• 2026-11-24 10:00 UTC: @bo removed as admin by @ana",
        "• 2026-11-24 10:00 UTC: @bo made admin by @ana",
        "• 2026-11-24: @ana became admin (Slack says they administer this workspace)",
    ]
    assert await trail(s.database) == [
        ("U1", "granted", None, "platform"),
        ("U2", "granted", "U1", "admin"),
        ("U2", "removed", "U1", "admin"),
    ]


async def test_plain_members_are_refused_kindly_and_change_nothing(s: Scenario):
    for line in ("tend admin log", "tend admin add <@U3|cy>", "tend admin remove <@U1|ana>"):
        assert "Only a Tend admin can do that" in await s.command("U2", line)
    assert (await roles(s.database))["U1"] == "admin" and (await roles(s.database))["U3"] == "member"
    assert len(await trail(s.database)) == 1


async def test_the_log_is_bounded_and_says_so_and_an_empty_log_says_what_it_will_hold(database: Database):
    s = Scenario(database, START)
    await s.join("U1", "ana")
    async with database.session() as session:  # an admin from before the trail existed
        [ana] = (await session.exec(select(Member))).all()
        ana.role = "admin"
        session.add(ana)
    assert "No admin changes recorded yet" in await s.command("U1", "tend admin log")
    await s.join("U2", "bo")
    for _ in range(LOG_LIMIT):
        await s.command("U1", "tend admin add <@U2|bo>")
        await s.command("U1", "tend admin remove <@U2|bo>")
    lines = [line for line in (await s.command("U1", "tend admin log")).splitlines() if line.startswith("• ")]
    assert len(lines) == LOG_LIMIT and "removed as admin" in lines[0]
    assert f"The newest {LOG_LIMIT} changes are shown" in await s.command("U1", "tend admin log")


async def test_the_last_admin_cannot_be_removed_even_by_themselves(s: Scenario):
    assert "at least one admin" in await s.command("U1", "tend admin remove <@U1|ana>")
    await s.command("U1", "tend admin add <@U2|bo>")
    assert "at least one admin" in await s.command("U1", "tend admin remove <@U1|ana> <@U2|bo>")
    assert "@bo no longer administer" in await s.command("U2", "tend admin remove <@U2|bo>")
    assert (await roles(s.database))["U1"] == "admin"


async def test_a_platform_admin_is_not_removed_in_tend_the_platform_decides(s: Scenario):
    await s.command("U1", "tend admin add <@U2|bo>")
    answer = await s.command("U2", "tend admin remove <@U1|ana>")
    assert "administer this workspace in Slack" in answer and "change their role in Slack" in answer
    assert (await roles(s.database))["U1"] == "admin"


async def test_when_the_platform_takes_its_role_back_tend_does_too_but_never_from_the_last_admin(s: Scenario):
    no_longer = replace(s.origin("U1", None), actor_may_administer=False)
    await s.engine.handle(MemberSeen(no_longer))
    assert (await roles(s.database))["U1"] == "admin"  # the only admin stays one
    await s.command("U1", "tend admin add <@U2|bo>")
    await s.engine.handle(MemberSeen(no_longer))
    assert (await roles(s.database))["U1"] == "member"
    await s.engine.handle(MemberSeen(no_longer))  # said again: nothing more happens
    # bo's role was granted by an admin: the platform saying he is no admin there takes nothing
    await s.engine.handle(MemberSeen(replace(s.origin("U2", None), actor_may_administer=False)))
    assert (await roles(s.database))["U2"] == "admin"
    assert (await trail(s.database))[-1] == ("U1", "removed", None, "platform")
    assert "@ana no longer admin (Slack no longer says so)" in await s.command("U2", "tend admin log")


async def test_forget_me_deletes_the_changes_about_the_person_and_unnames_the_ones_they_made(s: Scenario):
    await s.command("U1", "tend admin add <@U2|bo>")
    await s.command("U2", "tend admin add <@U3|cy>")
    await s.command("U2", "tend export-my-data", direct=True)
    [reply] = [answer for answer in s.last_answers if isinstance(answer, Reply)]
    texts = [plain(block.text) for block in reply.card.blocks if isinstance(block, Text)]
    readable = "\n".join(texts)
    assert "you became admin (by @ana)" in readable and "you made @cy admin" in readable
    data = json.loads("\n".join(texts[texts.index("*Machine-readable copy (JSON):*") + 1 :]))
    assert [(c["change"], c["how"], c["you_are"], c["other"]) for c in data["admin_changes"]] == [
        ("granted", "admin", "changed", "@ana"),
        ("granted", "admin", "changer", "@cy"),
    ]
    assert "admin changes about you: 1" in await s.command("U2", "tend forget-me confirm")
    assert await trail(s.database) == [("U1", "granted", None, "platform"), ("U3", "granted", None, "admin")]
    assert "@cy made admin by a forgotten member" in await s.command("U1", "tend admin log")


# --- Slack, one workspace, through its real endpoint ------------------------------------------------


async def command(slack: Slack, user: str, text: str) -> str:
    """``/tend text`` from ``user``; returns the text Tend answered (its response URL's last call)."""
    before = len([c for c in slack.fake.calls if c.method == "response" and c.args["_response_url"] == user])
    assert (await slack.command("/tend", text, user=user)).status == 200
    await slack.settle()

    def answers(calls: list[Call]) -> list[Call]:
        return [c for c in calls if c.method == "response" and c.args["_response_url"] == user][before:]

    [answer] = await slack.fake.wait_for(answers)
    return str(answer.args.get("text", ""))


async def test_slack_opening_the_home_tab_first_makes_nobody_admin(slack: Slack):
    slack.fake.set_user("U1", "ana", "UTC", role="")  # the owner is someone Tend has not met
    assert (await post_event(slack, home_opened("U2"))).status == 200
    await slack.settle()
    assert await roles(slack.database) == {"U2": "member"}
    assert "Only a Tend admin" in await command(slack, "U2", "admin log")


async def test_slack_owners_and_admins_are_tend_admins_and_the_log_lists_them(slack: Slack):
    slack.fake.set_user("U3", "cy", "UTC", role="admin")
    await command(slack, "U2", "help")  # a plain member
    await command(slack, "U3", "help")  # a workspace admin in Slack
    assert "Tend admins here: @ana, @cy" in await command(slack, "U1", "admin list")  # ana: the owner
    assert await roles(slack.database) == {"U1": "admin", "U2": "member", "U3": "admin"}
    log = await command(slack, "U1", "admin log")
    assert "@ana became admin (Slack says they administer this workspace)" in log
    assert "@cy became admin (Slack says they administer this workspace)" in log and "@bo" not in log


async def test_slack_the_last_admin_cannot_be_removed(slack: Slack):
    assert "at least one admin" in await command(slack, "U1", "admin remove <@U1|ana>")
    assert (await roles(slack.database))["U1"] == "admin"


async def test_slack_an_admin_demoted_in_slack_is_no_longer_one_in_tend(slack: Slack):
    slack.fake.set_user("U3", "cy", "UTC", role="admin")
    await command(slack, "U1", "help")
    await command(slack, "U3", "help")
    demoted = user_event("user_change", "U3", "cy", "UTC")  # no is_admin: a plain member again
    assert (await post_event(slack, demoted)).status == 200
    await slack.settle()
    assert await roles(slack.database) == {"U1": "admin", "U3": "member"}
    assert "@cy no longer admin (Slack no longer says so)" in await command(slack, "U1", "admin log")


# --- Teams, through its real endpoint --------------------------------------------------------------------


async def added_to_team(teams: Teams, team_id: str, roster: list[dict[str, Any]], by: dict[str, str]) -> None:
    teams.connector.rosters[team_id] = [*roster, {"id": BOT["id"], "name": "Tend", "userRole": "bot"}]
    added = teams.activity(type="conversationUpdate", membersAdded=[BOT], user=by)
    added["channelData"]["team"] = {"id": team_id, "name": "Team"}
    assert (await teams.post(added)).status == 200
    await teams.adapter.drain()  # the roster is read after the response


async def test_teams_the_first_install_makes_its_installer_admin_and_a_roster_owner_too(teams: Teams):
    plain = {**CY, "userRole": "user"}
    await added_to_team(teams, "19:one@thread.tacv2", [ANA, {**BO, "userRole": "owner"}, plain], by=ANA)
    assert await roles(teams.database) == {ANA["id"]: "admin", BO["id"]: "admin", CY["id"]: "member"}
    assert sorted(await trail(teams.database)) == [
        (ANA["id"], "granted", None, "install"),
        (BO["id"], "granted", None, "platform"),
    ]


async def test_teams_adding_tend_to_another_team_grants_its_plain_installer_nothing(teams: Teams):
    await added_to_team(teams, "19:one@thread.tacv2", [ANA, BO], by=ANA)
    await added_to_team(teams, "19:two@thread.tacv2", [BO, CY], by=CY)
    assert await roles(teams.database) == {ANA["id"]: "admin", BO["id"]: "member", CY["id"]: "member"}


async def test_teams_writing_to_tend_first_makes_nobody_admin(teams: Teams):
    await teams.say("hello", personal=True)
    await teams.say("hello", user=BO, personal=True)
    assert await roles(teams.database) == {ANA["id"]: "member", BO["id"]: "member"}


# --- the grammar --------------------------------------------------------------------------------------


def test_admin_log_is_a_command_of_its_own_and_takes_no_words():
    assert c.parse("tend", "admin log") == AdminLog()
    mistake = c.parse("tend", "admin log everything")
    assert isinstance(mistake, c.UsageError) and "takes nothing after it" in mistake.message
    assert any("admin list | add @person ... | remove @person ... | log" in line for line in c.help_lines())
