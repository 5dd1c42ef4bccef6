"""Reads for the Compassion Impact Index: signal rollups and who is in which group, per organisation.

The index reports on teams across every workspace of one organisation, so these queries take the
organisation id; they return plain ids and counters, and the privacy rules are applied by
``practices.index_maths`` on top of them.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Member, Signal, Team, TeamMembership, Workspace


class SignalRow(NamedTuple):
    """One counter as the index reads it."""

    team_id: int
    week: str
    kind: str
    count: int
    value_sum: float


async def signals_for_weeks(session: AsyncSession, organization_id: int, weeks: list[str]) -> list[SignalRow]:
    """Every counter of the organisation in the given ISO weeks (all teams, and team 0 = no team).

    Plain rows, not ORM objects: an organisation query reads tens of thousands of counters, and
    building an identity-mapped object for each cost most of the query's time.
    """
    if not weeks:
        return []
    query = select(Signal.team_id, Signal.week, Signal.kind, Signal.count, Signal.value_sum).where(
        Signal.organization_id == organization_id, col(Signal.week).in_(weeks)
    )
    connection = await session.connection()
    result = await connection.execute(query)
    return [SignalRow(*row) for row in result.all()]


async def organization_teams(session: AsyncSession, organization_id: int) -> list[Team]:
    """The organisation's teams in every workspace, by name."""
    query = (
        select(Team)
        .join(Workspace, col(Workspace.id) == col(Team.workspace_id))
        .where(Workspace.organization_id == organization_id)
        .order_by(col(Team.name), col(Team.id))
    )
    return list((await session.exec(query)).all())


async def organization_people(session: AsyncSession, organization_id: int) -> set[int]:
    """Ids of the people (not bots) in every workspace of the organisation."""
    query = (
        select(Member.id)
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, col(Member.is_bot).is_(False))
    )
    return {int(member_id) for member_id in (await session.exec(query)).all() if member_id is not None}


async def team_people(session: AsyncSession, organization_id: int) -> dict[int, set[int]]:
    """Team id → ids of the people (not bots) in it, for every team of the organisation."""
    query = (
        select(TeamMembership.team_id, TeamMembership.member_id)
        .join(Team, col(Team.id) == col(TeamMembership.team_id))
        .join(Workspace, col(Workspace.id) == col(Team.workspace_id))
        .join(Member, col(Member.id) == col(TeamMembership.member_id))
        .where(Workspace.organization_id == organization_id, col(Member.is_bot).is_(False))
    )
    found: dict[int, set[int]] = {}
    for team_id, member_id in (await session.exec(query)).all():
        found.setdefault(int(team_id), set()).add(int(member_id))
    return found


async def managed_team_ids(session: AsyncSession, member_id: int) -> set[int]:
    """Teams this member manages."""
    query = select(TeamMembership.team_id).where(
        TeamMembership.member_id == member_id, col(TeamMembership.is_manager).is_(True)
    )
    return {int(team_id) for team_id in (await session.exec(query)).all()}
