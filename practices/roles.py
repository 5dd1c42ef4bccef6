"""Who may administer Tend in a workspace. Admins set rituals; a workspace always keeps one admin."""

from __future__ import annotations

from practices.context import PracticeContext
from practices.messages import Outcome
from storage.identity import members_with_role
from storage.models import Member

ONLY_ADMINS = "Only a Tend admin can do that. Type /tend admin list to see who the admins are."


def names(members: list[Member]) -> str:
    return ", ".join(f"@{member.display_name}" for member in members)


async def list_admins(ctx: PracticeContext) -> Outcome:
    admins = await members_with_role(ctx.session, ctx.workspace_id, "admin")
    return Outcome.reply(f"Tend admins here: {names(admins) or 'nobody yet'}.")


async def add_admins(ctx: PracticeContext, members: list[Member]) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    bots = [member for member in members if member.is_bot]
    if bots:
        return Outcome.reply(f"{names(bots)} is a bot and cannot be an admin.")
    for member in members:
        member.role = "admin"
        ctx.session.add(member)
    return Outcome.reply(f"{names(members)} can now administer Tend here.")


async def remove_admins(ctx: PracticeContext, members: list[Member]) -> Outcome:
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS)
    admins = await members_with_role(ctx.session, ctx.workspace_id, "admin")
    remaining = [admin for admin in admins if admin.id not in {member.id for member in members}]
    if not remaining:
        return Outcome.reply("A workspace needs at least one admin. Add another admin first.")
    for member in members:
        if member.role == "admin":
            member.role = "member"
            ctx.session.add(member)
    return Outcome.reply(f"{names(members)} no longer administer Tend here.")
