"""Teams and who is in them.

Every query takes the workspace id (or a team id already found inside one), so one organisation's
team is never visible to another. Names, lists and counts span every workspace of the organisation
(a Slack workspace and a Teams tenant linked with ``/tend link``): a team made on one side is found,
joined and counted from the other; a channel belongs to its own workspace only. Team names are
matched ignoring letter case: "Platform" and "platform" are the same team to the people typing them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, bindparam, delete, false, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Member, Ritual, StressReport, Team, TeamMembership
from storage.organisation import sibling_workspaces


async def team_for_channel(session: AsyncSession, workspace_id: int, channel_id: str) -> Team | None:
    query = select(Team).where(Team.workspace_id == workspace_id, Team.channel_id == channel_id)
    return (await session.exec(query.order_by(col(Team.id)))).first()


def _teams_here_and_own(with_channel: bool) -> Any:
    mine = col(Team.id).in_(
        select(TeamMembership.team_id).where(TeamMembership.member_id == bindparam("member"))
    )
    here = (
        and_(col(Team.workspace_id) == bindparam("workspace"), col(Team.channel_id) == bindparam("channel"))
        if with_channel
        else false()
    )
    return select(Team, mine).where(or_(here, mine)).order_by(col(Team.id))


# Built once, with and without a channel: every shout-out asks (building costs more than running).
TEAMS_HERE_AND_OWN = {True: _teams_here_and_own(True), False: _teams_here_and_own(False)}


async def teams_here_and_own(
    session: AsyncSession, workspace_id: int, channel_id: str | None, member_id: int
) -> tuple[Team | None, list[Team]]:
    """``team_for_channel`` and ``teams_of`` in one query: every shout-out asks both."""
    params = {"member": member_id, "workspace": workspace_id, "channel": channel_id}
    rows = (await session.exec(TEAMS_HERE_AND_OWN[bool(channel_id)], params=params)).all()
    here_team = next(
        (team for team, _ in rows if team.workspace_id == workspace_id and team.channel_id == channel_id),
        None,
    )
    return (here_team if channel_id else None), [team for team, is_mine in rows if is_mine]


async def team_by_name(session: AsyncSession, workspace_id: int, name: str) -> Team | None:
    """The team called ``name`` in this workspace's organisation, ignoring letter case (this
    workspace's own first, should a linked one have a team of the same name)."""
    query = select(Team).where(
        col(Team.workspace_id).in_(sibling_workspaces(workspace_id)),
        func.lower(Team.name) == func.lower(name.strip()),
    )
    own_first = (col(Team.workspace_id) != workspace_id, col(Team.id))
    return (await session.exec(query.order_by(*own_first))).first()


async def teams_of(session: AsyncSession, member_id: int) -> list[Team]:
    query = (
        select(Team)
        .join(TeamMembership, col(TeamMembership.team_id) == col(Team.id))
        .where(TeamMembership.member_id == member_id)
        .order_by(col(Team.id))
    )
    return list((await session.exec(query)).all())


async def memberships_of(session: AsyncSession, member_id: int) -> list[tuple[Team, bool]]:
    """The member's teams, each with whether they manage it (their data export)."""
    query = (
        select(Team, TeamMembership.is_manager)
        .join(TeamMembership, col(TeamMembership.team_id) == col(Team.id))
        .where(TeamMembership.member_id == member_id)
        .order_by(col(Team.name), col(Team.id))
    )
    return [(team, bool(is_manager)) for team, is_manager in (await session.exec(query)).all()]


async def remove_memberships(session: AsyncSession, member_id: int) -> int:
    """Forget-me: the member leaves every team."""
    result = await session.exec(
        delete(TeamMembership)
        .where(col(TeamMembership.member_id) == member_id)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


async def list_teams(session: AsyncSession, workspace_id: int) -> list[Team]:
    query = (
        select(Team)
        .where(col(Team.workspace_id).in_(sibling_workspaces(workspace_id)))
        .order_by(col(Team.name), col(Team.id))
    )
    return list((await session.exec(query)).all())


async def membership(session: AsyncSession, team_id: int, member_id: int) -> TeamMembership | None:
    return await session.get(TeamMembership, (team_id, member_id))


async def add_team(session: AsyncSession, team: Team) -> Team | None:
    """Inserts the team; None when the name was taken meanwhile (another request, another replica)."""
    try:
        async with session.begin_nested():
            session.add(team)
            await session.flush()
    except IntegrityError:
        return None
    return team


async def attribute_rituals(session: AsyncSession, workspace_id: int, channel_id: str, team_id: int) -> int:
    """Rituals already posting in the team's channel now count for it; returns how many."""
    result = await session.exec(
        update(Ritual)
        .where(col(Ritual.workspace_id) == workspace_id, col(Ritual.place_id) == channel_id)
        .values(team_id=team_id)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


async def add_membership(
    session: AsyncSession, team_id: int, member_id: int, *, is_manager: bool = False
) -> bool:
    """Adds a member; False when they were already in (also when a concurrent request just added them)."""
    if await membership(session, team_id, member_id) is not None:
        return False
    try:
        async with session.begin_nested():
            session.add(TeamMembership(team_id=team_id, member_id=member_id, is_manager=is_manager))
            await session.flush()
    except IntegrityError:
        return False
    return True


async def remove_membership(session: AsyncSession, team_id: int, member_id: int) -> bool:
    """Removes a member; False when they were not in the team."""
    found = await membership(session, team_id, member_id)
    if found is None:
        return False
    await session.delete(found)
    await session.flush()
    return True


async def member_counts(session: AsyncSession, workspace_id: int) -> dict[int, int]:
    """Team id → how many people are in it, for every team of the workspace that has anyone."""
    query = (
        select(TeamMembership.team_id, func.count())
        .join(Team, col(Team.id) == col(TeamMembership.team_id))
        .where(col(Team.workspace_id).in_(sibling_workspaces(workspace_id)))
        .group_by(col(TeamMembership.team_id))
    )
    return {team_id: int(count) for team_id, count in (await session.exec(query)).all()}


async def managers_by_team(session: AsyncSession, workspace_id: int) -> dict[int, list[Member]]:
    """Team id → its managers, by name, for every team of the workspace that has one."""
    query = (
        select(TeamMembership.team_id, Member)
        .join(Member, col(Member.id) == col(TeamMembership.member_id))
        .join(Team, col(Team.id) == col(TeamMembership.team_id))
        .where(
            col(Team.workspace_id).in_(sibling_workspaces(workspace_id)),
            col(TeamMembership.is_manager).is_(True),
        )
        .order_by(col(Member.display_name), col(Member.id))
    )
    found: dict[int, list[Member]] = {}
    for team_id, member in (await session.exec(query)).all():
        found.setdefault(team_id, []).append(member)
    return found


async def delete_team(session: AsyncSession, team: Team) -> None:
    """Deletes a team and its memberships; its rituals and stress reports carry on without a team.

    Signals keep their counters under the old team id: the index's history is aggregated already.
    """
    team_id = team.id
    await session.exec(
        update(Ritual)
        .where(col(Ritual.team_id) == team_id)
        .values(team_id=None)
        .execution_options(synchronize_session="fetch")
    )
    await session.exec(
        update(StressReport)
        .where(col(StressReport.team_id) == team_id)
        .values(team_id=None)
        .execution_options(synchronize_session="fetch")
    )
    await session.exec(
        delete(TeamMembership)
        .where(col(TeamMembership.team_id) == team_id)
        .execution_options(synchronize_session="fetch")
    )
    await session.delete(team)
    await session.flush()


async def make_manager(session: AsyncSession, membership: TeamMembership) -> None:
    """Someone already in the team now manages it too."""
    membership.is_manager = True
    session.add(membership)


async def raise_role(session: AsyncSession, member: Member, role: str) -> None:
    """A plain member named a team's manager becomes a manager (``practices.org_teams.rises_to_manager``)."""
    member.role = role
    session.add(member)
