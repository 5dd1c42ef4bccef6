"""Teams and who is in them."""

from __future__ import annotations

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Member, Team, TeamMembership


async def team_for_channel(session: AsyncSession, workspace_id: int, channel_id: str) -> Team | None:
    query = select(Team).where(Team.workspace_id == workspace_id, Team.channel_id == channel_id)
    return (await session.exec(query)).first()


async def team_by_name(session: AsyncSession, workspace_id: int, name: str) -> Team | None:
    query = select(Team).where(Team.workspace_id == workspace_id, Team.name == name)
    return (await session.exec(query)).first()


async def teams_of(session: AsyncSession, member_id: int) -> list[Team]:
    query = (
        select(Team)
        .join(TeamMembership, col(TeamMembership.team_id) == col(Team.id))
        .where(TeamMembership.member_id == member_id)
        .order_by(col(Team.id))
    )
    return list((await session.exec(query)).all())


async def list_teams(session: AsyncSession, workspace_id: int) -> list[Team]:
    query = select(Team).where(Team.workspace_id == workspace_id).order_by(col(Team.name))
    return list((await session.exec(query)).all())


async def members_of(session: AsyncSession, team_id: int) -> list[tuple[Member, bool]]:
    """Each member with whether they manage the team."""
    query = (
        select(Member, TeamMembership.is_manager)
        .join(TeamMembership, col(TeamMembership.member_id) == col(Member.id))
        .where(TeamMembership.team_id == team_id)
        .order_by(col(Member.display_name))
    )
    return [(member, bool(is_manager)) for member, is_manager in (await session.exec(query)).all()]


async def membership(session: AsyncSession, team_id: int, member_id: int) -> TeamMembership | None:
    return await session.get(TeamMembership, (team_id, member_id))
