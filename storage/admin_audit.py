"""The audit trail of admin changes (``AdminChange``): written with every change, read by admins.

Rows hold member ids, two short codes and a time, never text. Every query takes the workspace id, so
one workspace's trail never shows in another's.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AdminChange, Member

GRANTED, REMOVED = "granted", "removed"
BY_ADMIN, BY_PLATFORM, BY_INSTALL = "admin", "platform", "install"


def _kept_time(reason: str, now: datetime) -> datetime:
    """The platform's word arrives with whatever the person happens to do in Tend, anonymous forms
    included: such a change keeps its day only. A change an admin typed keeps its time."""
    if reason == BY_PLATFORM:
        return now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now


async def record(
    session: AsyncSession,
    workspace_id: int,
    member_id: int,
    change: str,
    reason: str,
    now: datetime,
    *,
    by_member_id: int | None = None,
) -> None:
    session.add(
        AdminChange(
            workspace_id=workspace_id,
            member_id=member_id,
            by_member_id=by_member_id,
            change=change,
            reason=reason,
            created_at=_kept_time(reason, now),
        )
    )


async def latest_about(session: AsyncSession, workspace_id: int, member_id: int) -> AdminChange | None:
    """The last change of this member's role (to tell an admin the platform made from one granted)."""
    query = (
        select(AdminChange)
        .where(AdminChange.workspace_id == workspace_id, AdminChange.member_id == member_id)
        .order_by(col(AdminChange.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def recent(session: AsyncSession, workspace_id: int, limit: int) -> list[AdminChange]:
    """The newest ``limit`` changes of a workspace, newest first."""
    query = (
        select(AdminChange)
        .where(AdminChange.workspace_id == workspace_id)
        .order_by(col(AdminChange.id).desc())
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def naming(session: AsyncSession, workspace_id: int, member_id: int) -> list[AdminChange]:
    """Every change that names the member, as the one changed or as the admin who changed it."""
    query = (
        select(AdminChange)
        .where(
            AdminChange.workspace_id == workspace_id,
            or_(col(AdminChange.member_id) == member_id, col(AdminChange.by_member_id) == member_id),
        )
        .order_by(col(AdminChange.id))
    )
    return list((await session.exec(query)).all())


async def forget(session: AsyncSession, workspace_id: int, member_id: int) -> tuple[int, int]:
    """Deletes the changes about the member and blanks their id where they changed someone else's role
    (that person's change stays, by "a forgotten member"). Returns (deleted, blanked)."""
    deleted = await session.exec(
        delete(AdminChange)
        .where(col(AdminChange.workspace_id) == workspace_id, col(AdminChange.member_id) == member_id)
        .execution_options(synchronize_session="fetch")
    )
    blanked = await session.exec(
        update(AdminChange)
        .where(col(AdminChange.workspace_id) == workspace_id, col(AdminChange.by_member_id) == member_id)
        .values(by_member_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return int(deleted.rowcount or 0), int(blanked.rowcount or 0)


async def change_role(
    session: AsyncSession,
    workspace_id: int,
    member: Member,
    role: str,
    change: str,
    now: datetime,
    *,
    by_member_id: int,
) -> None:
    """An admin's grant or removal, and its line in the audit trail, in the same transaction."""
    assert member.id is not None
    member.role = role
    session.add(member)
    await record(session, workspace_id, member.id, change, BY_ADMIN, now, by_member_id=by_member_id)
