"""Reads for the Compassion Impact Index: signal rollups and who is in which group, per organisation.

The index reports on teams across every workspace of one organisation, so these queries take the
organisation id; they return plain ids and counters, and the privacy rules are applied by
``practices.index_maths`` on top of them.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

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


ALL_TEAMS = -1  # the team id on counters already summed over the whole organisation


async def group_counters(
    session: AsyncSession, organization_id: int, weeks: list[str], team_ids: list[int] | None
) -> list[SignalRow]:
    """The counters one group's figures need: summed in the database for the organisation, or only
    the asked-for teams' rows. One query reads a few hundred rows instead of every team's."""
    if not weeks:
        return []
    where = (Signal.organization_id == organization_id, col(Signal.week).in_(weeks))
    if team_ids is None:
        query = (
            select(Signal.week, Signal.kind, func.sum(Signal.count), func.sum(Signal.value_sum))
            .where(*where)
            .group_by(Signal.week, Signal.kind)
        )
        result = await (await session.connection()).execute(query)
        return [
            SignalRow(ALL_TEAMS, week, kind, int(count), float(total)) for week, kind, count, total in result
        ]
    query = select(Signal.team_id, Signal.week, Signal.kind, Signal.count, Signal.value_sum).where(
        *where, col(Signal.team_id).in_(team_ids)
    )
    result = await (await session.connection()).execute(query)
    return [SignalRow(*row) for row in result.all()]


def _people_of(organization_id: int) -> SelectOfScalar[int | None]:
    """Members (not bots) of the organisation's workspaces, as a subquery of ids."""
    return (
        select(Member.id)
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, col(Member.is_bot).is_(False))
    )


async def team_sizes(session: AsyncSession, organization_id: int) -> dict[int, int]:
    """Team id → number of people in it (teams with nobody in them are left out, as in ``team_people``)."""
    query = (
        select(TeamMembership.team_id, func.count(func.distinct(TeamMembership.member_id)))
        .where(col(TeamMembership.member_id).in_(_people_of(organization_id)))
        .group_by(TeamMembership.team_id)
    )
    return {int(team_id): int(size) for team_id, size in (await session.exec(query)).all()}


async def organization_size(session: AsyncSession, organization_id: int) -> int:
    query = select(func.count()).select_from(_people_of(organization_id).subquery())
    return int((await session.exec(query)).one())


async def people_outside(session: AsyncSession, organization_id: int, team_ids: list[int]) -> int:
    """People of the organisation in none of the given teams."""
    in_teams = select(TeamMembership.member_id).where(col(TeamMembership.team_id).in_(team_ids))
    people = _people_of(organization_id).where(col(Member.id).not_in(in_teams))
    return int((await session.exec(select(func.count()).select_from(people.subquery()))).one())


async def people_in(session: AsyncSession, organization_id: int, team_ids: list[int]) -> int:
    """Distinct people across the given teams."""
    query = select(func.count(func.distinct(TeamMembership.member_id))).where(
        col(TeamMembership.team_id).in_(team_ids),
        col(TeamMembership.member_id).in_(_people_of(organization_id)),
    )
    return int((await session.exec(query)).one())
