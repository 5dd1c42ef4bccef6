"""Organisations that span several workspaces (a Slack workspace and a Teams tenant): link codes, the
merge that joins two organisations, and the split that takes a workspace out again.

Everything keyed by organisation (signals, contributor rollups, stress reports) follows the
workspaces into the organisation they join, in the caller's one transaction. On PostgreSQL both
organisations' rows are locked (lowest id first) before anything moves, so two replicas confirming
codes at once wait for each other instead of merging half-way; a second confirmation finds the
workspace already inside and changes nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.sql.selectable import ScalarSelect
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Contributor,
    Member,
    Organization,
    OrganizationLinkCode,
    Signal,
    StressReport,
    Team,
    TeamMembership,
    Workspace,
)


def organisation_of(workspace_id: int) -> ScalarSelect[int]:
    """The organisation id of a workspace, as a subquery (scopes queries without a round trip)."""
    return select(Workspace.organization_id).where(Workspace.id == workspace_id).scalar_subquery()


def sibling_workspaces(workspace_id: int) -> ScalarSelect[int]:
    """Every workspace of the same organisation as ``workspace_id`` (itself included), as a subquery
    for ``col(X.workspace_id).in_(...)``: what a team, the support rota, the index span once linked."""
    query = select(Workspace.id).where(Workspace.organization_id == organisation_of(workspace_id))
    return query.scalar_subquery()


async def workspaces_of(session: AsyncSession, organization_id: int) -> list[Workspace]:
    query = (
        select(Workspace)
        .where(Workspace.organization_id == organization_id)
        .order_by(col(Workspace.created_at), col(Workspace.id))
    )
    return list((await session.exec(query)).all())


async def add_code(session: AsyncSession, code: OrganizationLinkCode) -> None:
    session.add(code)
    await session.flush()


async def find_code(session: AsyncSession, hashes: tuple[str, ...]) -> OrganizationLinkCode | None:
    """The code stored under any of ``hashes`` (the digests under every configured key)."""
    if not hashes:
        return None
    query = select(OrganizationLinkCode).where(col(OrganizationLinkCode.code_hash).in_(hashes))
    return (await session.exec(query)).first()


async def spend_code(session: AsyncSession, code_hash: str, workspace_id: int, now: datetime) -> bool:
    """Marks the code used, if nobody did and it has not expired; True when this call spent it (the
    compare-and-set makes two confirmations of one code, on two replicas, link once)."""
    result = await session.exec(
        update(OrganizationLinkCode)
        .where(
            col(OrganizationLinkCode.code_hash) == code_hash,
            col(OrganizationLinkCode.used_at).is_(None),
            col(OrganizationLinkCode.expires_at) > now,
        )
        .values(used_at=now, used_by_workspace_id=workspace_id)
        .execution_options(synchronize_session="fetch")
    )
    return bool(result.rowcount == 1)


async def delete_spent_codes(session: AsyncSession, before: datetime) -> int:
    """Codes that expired before ``before``, used or not: nothing needs them any more."""
    result = await session.exec(
        delete(OrganizationLinkCode).where(col(OrganizationLinkCode.expires_at) <= before)
    )
    return int(result.rowcount or 0)


async def _lock(session: AsyncSession, organization_ids: list[int]) -> None:
    """Row locks on the organisations, lowest id first (a no-op on SQLite, which locks the database)."""
    query = (
        select(Organization.id)
        .where(col(Organization.id).in_(sorted(set(organization_ids))))
        .order_by(col(Organization.id))
        .with_for_update()
    )
    await session.exec(query)


async def current_organisation(session: AsyncSession, workspace_id: int) -> int | None:
    query = select(Workspace.organization_id).where(Workspace.id == workspace_id)
    return (await session.exec(query.execution_options(populate_existing=True))).first()


async def merge(session: AsyncSession, into_workspace_id: int, from_workspace_id: int) -> int | None:
    """Joins the organisation of ``from_workspace_id`` into that of ``into_workspace_id``: its
    workspaces, signals (counts added into the same buckets), contributor rollups (each person once)
    and stress reports. Returns the joined organisation's id, or None when both were one already."""
    into = await current_organisation(session, into_workspace_id)
    source = await current_organisation(session, from_workspace_id)
    if into is None or source is None:
        return None
    await _lock(session, [into, source])
    # Read again under the locks: another replica may have moved either workspace meanwhile.
    into = await current_organisation(session, into_workspace_id)
    source = await current_organisation(session, from_workspace_id)
    if into is None or source is None or into == source:
        return None
    await _merge_signals(session, into, source)
    await _merge_contributors(session, into, source)
    for model in (Workspace, StressReport):
        await session.exec(
            update(model)
            .where(col(model.organization_id) == source)
            .values(organization_id=into)
            .execution_options(synchronize_session="fetch")
        )
    await session.flush()
    return into


async def _merge_signals(session: AsyncSession, into: int, source: int) -> None:
    moving = list((await session.exec(select(Signal).where(Signal.organization_id == source))).all())
    if not moving:
        return
    existing = {
        (row.team_id, row.week, row.kind): row
        for row in (await session.exec(select(Signal).where(Signal.organization_id == into))).all()
    }
    for row in moving:
        found = existing.get((row.team_id, row.week, row.kind))
        if found is None:
            row.organization_id = into
            session.add(row)
            continue
        found.count += row.count
        found.value_sum += row.value_sum
        session.add(found)
        await session.delete(row)
    await session.flush()


async def _merge_contributors(session: AsyncSession, into: int, source: int) -> None:
    """A person counted on both sides (never: member ids differ per workspace, but be sure) counts once."""
    moving = list(
        (await session.exec(select(Contributor).where(Contributor.organization_id == source))).all()
    )
    if not moving:
        return
    existing = {
        (row.week, row.family, row.team_id, row.key)
        for row in (await session.exec(select(Contributor).where(Contributor.organization_id == into))).all()
    }
    for row in moving:
        if (row.week, row.family, row.team_id, row.key) in existing:
            await session.delete(row)
        else:
            row.organization_id = into
            session.add(row)
    await session.flush()


async def split(session: AsyncSession, workspace: Workspace, name: str, now: datetime) -> tuple[int, int]:
    """Takes ``workspace`` out of its organisation into a new one of its own. History (signals,
    contributor rollups, stress reports) stays with the organisation it was counted in; teams stay
    with the workspace they were made in, and memberships across the cut end. Returns (the new
    organisation's id, how many team memberships ended)."""
    assert workspace.id is not None
    await _lock(session, [workspace.organization_id])
    organisation = Organization(name=name, created_at=now)
    session.add(organisation)
    await session.flush()
    assert organisation.id is not None
    here = select(Team.id).where(Team.workspace_id == workspace.id).scalar_subquery()
    people_here = select(Member.id).where(Member.workspace_id == workspace.id).scalar_subquery()
    ended = await session.exec(
        delete(TeamMembership)
        .where(
            (col(TeamMembership.team_id).in_(here) & col(TeamMembership.member_id).not_in(people_here))
            | (col(TeamMembership.team_id).not_in(here) & col(TeamMembership.member_id).in_(people_here))
        )
        .execution_options(synchronize_session="fetch")
    )
    workspace.organization_id = organisation.id
    session.add(workspace)
    await session.flush()
    return organisation.id, int(ended.rowcount or 0)
