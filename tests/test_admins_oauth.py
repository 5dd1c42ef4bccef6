"""Admins in OAuth mode, through the real install flow: installing again never makes anyone admin.

The fake Slack's ``users.info`` says who administers each workspace (tests/fake_slack_api.py: U1 is
the primary owner unless a test says otherwise); installs go through Tend's own install pages.
"""

from __future__ import annotations

from sqlmodel import select

from storage.models import AdminChange, Member
from tests import test_slack_oauth
from tests.test_slack_oauth import Workspaces, workspace

slack = test_slack_oauth.slack  # Tend in OAuth mode on a real socket, with the fake Slack


async def roles(slack: Workspaces, team_id: str) -> dict[str, str]:
    found = await workspace(slack.database, team_id)
    async with slack.database.session() as session:
        members = (await session.exec(select(Member).where(Member.workspace_id == found.id))).all()
        return {m.platform_user_id: m.role for m in members}


async def test_a_plain_member_installing_first_is_admin_and_one_installing_again_is_not(slack: Workspaces):
    for user in ("U1", "U2", "U3"):
        slack.fake.set_user(user, user.lower(), "UTC", role="")  # nobody administers this workspace
    await slack.install("T2", "Beta", user="U2")
    await slack.install("T2", "Beta", user="U3")  # the app installed again, by another plain member
    assert await roles(slack, "T2") == {"U2": "admin", "U3": "member"}
    answer = await slack.command("T2", "admin log", user="U2")
    assert "@u2 became admin by installing Tend here" in answer.args["text"]
    assert "@u3" not in answer.args["text"]
    assert "Only a Tend admin" in (await slack.command("T2", "admin log", user="U3")).args["text"]


async def test_an_owner_installing_is_admin_by_slacks_word_and_a_later_plain_installer_is_not(
    slack: Workspaces,
):
    slack.fake.set_user("U3", "cy", "UTC", role="")
    await slack.install("T2", "Beta", user="U1")  # U1: the primary owner
    await slack.install("T2", "Beta", user="U3")
    assert await roles(slack, "T2") == {"U1": "admin", "U3": "member"}
    async with slack.database.session() as session:
        [change] = (await session.exec(select(AdminChange))).all()
    assert (change.change, change.reason) == ("granted", "platform")
