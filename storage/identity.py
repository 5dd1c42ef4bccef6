"""Workspaces and members, created on first contact.

Two requests from a new workspace can arrive at once (and on two replicas); inserts run in a
savepoint and fall back to reading the row the other request created, so first contact never fails.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Table, bindparam
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import admin_audit as audit
from storage.models import Member, Organization, Workspace
from storage.outbox import release_held

Row = TypeVar("Row", Workspace, Member)
# Plain Core for the insert: SQLModel declares no __table__ for type checkers; the ORM sets it.
MEMBERS: Table = Member.__table__  # type: ignore[attr-defined]
UNSET_TIME_ZONE = "UTC"  # a member's zone until one is learned; a person choosing UTC is stored as Etc/UTC

# Statements every event runs, built once: building one costs SQLAlchemy more CPU than running it
# (benchmarks/kudos_profile.py; docs/architecture.md, issue 18).
FIND_MEMBER = select(Member).where(
    Member.workspace_id == bindparam("workspace_id"), Member.platform_user_id == bindparam("user_id")
)
MEMBER_COLUMNS = [column.name for column in MEMBERS.columns if column.name != "id"]
INSERT_MEMBER = {  # key: is it PostgreSQL
    postgres: insert(MEMBERS)
    .values({name: bindparam(name) for name in MEMBER_COLUMNS})
    .on_conflict_do_nothing(index_elements=["workspace_id", "platform_user_id"])
    .returning(MEMBERS.c.id)
    for postgres, insert in ((True, pg_insert), (False, sqlite_insert))
}
FIND_WORKSPACE = select(Workspace).where(
    Workspace.platform == bindparam("platform"), Workspace.external_id == bindparam("external_id")
)


async def _insert_or_read(session: AsyncSession, row: Row, read: Callable[[], Awaitable[Row | None]]) -> Row:
    try:
        async with session.begin_nested():
            session.add(row)
            await session.flush()
        return row
    except IntegrityError:
        existing = await read()
        if existing is None:
            raise
        return existing


async def _insert_member(session: AsyncSession, member: Member) -> bool:
    """Inserts a new member in one ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` (every first
    contact pays this: no savepoint and its release around an ORM flush); False when another request
    created the person first. The row joins the session as loaded, as if it had been read."""
    values = {name: getattr(member, name) for name in MEMBER_COLUMNS}
    row = (
        await session.exec(INSERT_MEMBER[session.get_bind().dialect.name == "postgresql"], params=values)
    ).first()
    if row is None:
        return False
    member.id = int(row[0])
    make_transient_to_detached(member)
    session.add(member)
    return True


async def find_workspace(session: AsyncSession, platform: str, external_id: str) -> Workspace | None:
    params = {"platform": platform, "external_id": external_id}
    return (await session.exec(FIND_WORKSPACE, params=params)).first()


async def ensure_workspace(
    session: AsyncSession, platform: str, external_id: str, name: str, now: datetime
) -> Workspace:
    """The workspace for a platform id; a new one gets its own organisation."""
    found = await find_workspace(session, platform, external_id)
    if found is not None:
        if name and found.name != name:
            found.name = name
            session.add(found)
        return found
    organization = Organization(name=name or f"{platform} {external_id}", created_at=now)
    session.add(organization)
    await session.flush()
    assert organization.id is not None
    workspace = Workspace(
        organization_id=organization.id, platform=platform, external_id=external_id, name=name, created_at=now
    )
    return await _insert_or_read(session, workspace, lambda: find_workspace(session, platform, external_id))


async def find_member(session: AsyncSession, workspace_id: int, platform_user_id: str) -> Member | None:
    params = {"workspace_id": workspace_id, "user_id": platform_user_id}
    return (await session.exec(FIND_MEMBER, params=params)).first()


async def find_members_by_name(session: AsyncSession, workspace_id: int, name: str) -> list[Member]:
    """Members whose display name or platform id matches, ignoring case (for plain ``@name``)."""
    wanted = name.strip().lstrip("@").casefold()
    query = select(Member).where(
        Member.workspace_id == workspace_id,
        (func.lower(Member.display_name) == wanted) | (func.lower(Member.platform_user_id) == wanted),
    )
    return list((await session.exec(query)).all())


async def find_members_by_name_elsewhere(session: AsyncSession, workspace_id: int, name: str) -> list[Member]:
    """People of the other workspaces linked into this one's organisation whose name matches: to say
    a mention typed here cannot reach them (mentions name people of the workspace they are typed in)."""
    wanted = name.strip().lstrip("@").casefold()
    organisation = select(Workspace.organization_id).where(Workspace.id == workspace_id).scalar_subquery()
    query = (
        select(Member)
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(
            Workspace.organization_id == organisation,
            Member.workspace_id != workspace_id,
            (func.lower(Member.display_name) == wanted) | (func.lower(Member.platform_user_id) == wanted),
        )
    )
    return list((await session.exec(query)).all())


async def platform_of(session: AsyncSession, workspace_id: int) -> str:
    found = await session.get(Workspace, workspace_id)
    return found.platform if found is not None else ""


async def count_members(session: AsyncSession, workspace_id: int) -> int:
    query = select(func.count()).select_from(Member).where(Member.workspace_id == workspace_id)
    return int((await session.exec(query)).one())


def zone_known(member: Member) -> bool:
    """Whether Tend knows the person's own time zone: the platform told it (``profile_known``), or they
    chose one in Tend (stored as anything but ``UTC``). Until then no private message goes to them."""
    return member.profile_known or member.time_zone != UNSET_TIME_ZONE


async def ensure_member(
    session: AsyncSession,
    workspace: Workspace,
    platform_user_id: str,
    now: datetime,
    *,
    display_name: str = "",
    time_zone: str | None = None,
    default_time_zone: str | None = None,
    is_installer: bool = False,
    platform_admin: bool | None = None,
    is_bot: bool = False,
    deactivated: bool | None = None,
) -> Member:
    """The member for a platform user, and whether they administer Tend (see ``_settle_role``).

    ``platform_admin``: whether the platform says the person may administer the workspace (Slack:
    admin or owner; Teams: team owner), None when it did not say. ``is_installer``: the person just
    installed Tend in this workspace.

    ``time_zone`` replaces the stored zone; ``default_time_zone`` only fills in one never learned
    (still ``UTC``), so a zone the person chose themselves survives the platform's on every event.
    Either one means the platform told Tend the person's zone: their profile is known from then on,
    and private messages held until then are released in this same transaction. ``deactivated``
    (None: unchanged) records whether the platform says the account is gone or disabled.
    """
    assert workspace.id is not None
    member = await _ensure_member(
        session,
        workspace,
        platform_user_id,
        now,
        display_name=display_name,
        time_zone=time_zone,
        default_time_zone=default_time_zone,
        is_installer=is_installer,
        platform_admin=platform_admin,
        is_bot=is_bot,
        deactivated=deactivated,
    )
    # The session's identity map holds rows weakly: kept here for the transaction, a person met in it
    # (a kudos receiver) is not read again when the outbox looks them up by id (``get_member``).
    session.info.setdefault(MET, []).append(member)
    return member


MET = "tend_members_met"


async def _ensure_member(
    session: AsyncSession,
    workspace: Workspace,
    platform_user_id: str,
    now: datetime,
    *,
    display_name: str,
    time_zone: str | None,
    default_time_zone: str | None,
    is_installer: bool,
    platform_admin: bool | None,
    is_bot: bool,
    deactivated: bool | None,
) -> Member:
    assert workspace.id is not None
    platform_zone = time_zone or default_time_zone or None
    while True:  # twice at most: after a lost insert race the row the other request made is read
        found = await find_member(session, workspace.id, platform_user_id)
        if found is not None:
            changed = False
            if display_name and found.display_name != display_name:
                found.display_name, changed = display_name, True
            if time_zone and found.time_zone != time_zone:
                found.time_zone, changed = time_zone, True
            elif default_time_zone not in (None, "", UNSET_TIME_ZONE) and found.time_zone == UNSET_TIME_ZONE:
                found.time_zone, changed = str(default_time_zone), True
            if deactivated is not None and found.deactivated != deactivated:
                found.deactivated, changed = deactivated, True
            # A zone chosen with /tend settings (never plain UTC) counts as known from the next contact.
            learned = not found.profile_known and (platform_zone is not None or zone_known(found))
            if learned:
                found.profile_known, changed = True, True
            if changed:
                session.add(found)
            if learned:
                await release_held(session, workspace.id, found.id or 0, now)
            first_install = is_installer and (await count_members(session, workspace.id)) == 1
            await _settle_role(
                session, found, now, platform_admin=platform_admin, first_install=first_install
            )
            return found
        # Only an installer can be a workspace's first member who matters (its first admin): nobody else
        # pays for the count, which reads every member of the workspace.
        first = is_installer and (await count_members(session, workspace.id)) == 0
        member = Member(
            workspace_id=workspace.id,
            platform_user_id=platform_user_id,
            display_name=display_name or platform_user_id,
            time_zone=platform_zone or UNSET_TIME_ZONE,
            role="member",
            is_bot=is_bot,
            profile_known=platform_zone is not None,
            deactivated=bool(deactivated),
            created_at=first_seen_day(now),
        )
        if await _insert_member(session, member):
            await _settle_role(session, member, now, platform_admin=platform_admin, first_install=first)
            return member
        # Another request created the person first: what this one learned applies to that row (read
        # on the next turn).


async def _settle_role(
    session: AsyncSession, member: Member, now: datetime, *, platform_admin: bool | None, first_install: bool
) -> None:
    """Who administers Tend, and every change written to the audit trail.

    Admin: whoever the platform says may administer the workspace; the installer of a workspace Tend
    meets for the first time (nobody else known there yet, so no admin either); and whoever an admin
    grants (``practices.roles``). A re-install meets known people, so it grants nothing by itself.
    When the platform says someone no longer administers, the admin role goes only if the platform
    gave it (an admin's grant stays) and someone else is still admin. Bots never administer.
    """
    assert member.id is not None
    if member.is_bot:
        return
    if member.role != "admin":
        reason = audit.BY_PLATFORM if platform_admin else audit.BY_INSTALL if first_install else None
        if reason is None:
            return
        member.role = "admin"
        session.add(member)
        await audit.record(session, member.workspace_id, member.id, audit.GRANTED, reason, now)
        return
    if platform_admin is not False:
        return
    latest = await audit.latest_about(session, member.workspace_id, member.id)
    from_platform = latest is not None and (latest.change, latest.reason) == (
        audit.GRANTED,
        audit.BY_PLATFORM,
    )
    if from_platform and await count_admins(session, member.workspace_id) > 1:
        member.role = "member"
        session.add(member)
        await audit.record(session, member.workspace_id, member.id, audit.REMOVED, audit.BY_PLATFORM, now)


async def count_admins(session: AsyncSession, workspace_id: int) -> int:
    """Admins who are people (a bot never counts toward keeping a workspace administered)."""
    query = (
        select(func.count())
        .select_from(Member)
        .where(Member.workspace_id == workspace_id, Member.role == "admin", col(Member.is_bot).is_(False))
    )
    return int((await session.exec(query)).one())


def first_seen_day(now: datetime) -> datetime:
    """Midnight of the day: when Tend first saw a person, no finer (see ``Member.created_at``)."""
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


async def members_with_role(session: AsyncSession, workspace_id: int, role: str) -> list[Member]:
    query = (
        select(Member)
        .where(Member.workspace_id == workspace_id, Member.role == role)
        .order_by(col(Member.display_name))
    )
    return list((await session.exec(query)).all())


async def get_member(session: AsyncSession, member_id: int) -> Member | None:
    return await session.get(Member, member_id)


async def members_by_ids(session: AsyncSession, member_ids: set[int]) -> list[Member]:
    if not member_ids:
        return []
    query = select(Member).where(col(Member.id).in_(sorted(member_ids)))
    return list((await session.exec(query)).all())


async def deactivate_workspace(session: AsyncSession, platform: str, external_id: str) -> int | None:
    """Marks a workspace the platform removed Tend from as inactive (its rituals and deliveries stop;
    its rows stay for the data-rights tools). Returns its id, or None when Tend never knew it."""
    found = await find_workspace(session, platform, external_id)
    if found is None:
        return None
    if found.active:
        found.active = False
        session.add(found)
    return found.id
