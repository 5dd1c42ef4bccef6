"""Queries behind a person's data rights: everything stored about one member, and erasing it.

Every query takes the workspace id (or a member id already found inside one), so a person with the
same platform id in another workspace is never read or touched. Erasing runs in the caller's
transaction: either all of it happens, or none.
"""

from __future__ import annotations

import secrets

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.addresses import forget_person
from storage.models import Member, Outbox, Ritual, Shoutout, Team, TeamMembership
from storage.outbox import HELD, PENDING, SENDING

FORGOTTEN_NAME = "forgotten member"


async def memberships_of(session: AsyncSession, member_id: int) -> list[tuple[Team, bool]]:
    """The member's teams, each with whether they manage it."""
    query = (
        select(Team, TeamMembership.is_manager)
        .join(TeamMembership, col(TeamMembership.team_id) == col(Team.id))
        .where(TeamMembership.member_id == member_id)
        .order_by(col(Team.name), col(Team.id))
    )
    return [(team, bool(is_manager)) for team, is_manager in (await session.exec(query)).all()]


async def shoutouts_given(session: AsyncSession, workspace_id: int, member_id: int) -> list[Shoutout]:
    query = select(Shoutout).where(
        Shoutout.workspace_id == workspace_id, Shoutout.giver_member_id == member_id
    )
    return list((await session.exec(query.order_by(col(Shoutout.created_at), col(Shoutout.id)))).all())


async def shoutouts_received(session: AsyncSession, workspace_id: int, member_id: int) -> list[Shoutout]:
    query = select(Shoutout).where(
        Shoutout.workspace_id == workspace_id, Shoutout.receiver_member_id == member_id
    )
    return list((await session.exec(query.order_by(col(Shoutout.created_at), col(Shoutout.id)))).all())


async def rituals_created_by(session: AsyncSession, workspace_id: int, member_id: int) -> list[Ritual]:
    query = select(Ritual).where(
        Ritual.workspace_id == workspace_id, Ritual.created_by_member_id == member_id
    )
    return list((await session.exec(query.order_by(col(Ritual.id)))).all())


async def messages_waiting_for(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """How many messages to the member are still waiting to be sent."""
    query = select(Outbox.id).where(
        Outbox.workspace_id == workspace_id,
        Outbox.target_kind == "person",
        Outbox.target_id == str(member_id),
        col(Outbox.state).in_((HELD, PENDING, SENDING)),
    )
    return len((await session.exec(query)).all())


# --- erasing ---------------------------------------------------------------------------------------


async def unname_shoutouts(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Shout-outs keep their words and lose this person's name (giver or receiver becomes NULL)."""
    changed = 0
    for column in (Shoutout.giver_member_id, Shoutout.receiver_member_id):
        result = await session.exec(
            update(Shoutout)  # type: ignore[call-overload]
            .where(col(Shoutout.workspace_id) == workspace_id, col(column) == member_id)
            .values({column: None})
            .execution_options(synchronize_session="fetch")
        )
        changed += int(result.rowcount or 0)
    return changed


async def remove_memberships(session: AsyncSession, member_id: int) -> int:
    result = await session.exec(
        delete(TeamMembership)  # type: ignore[call-overload]
        .where(col(TeamMembership.member_id) == member_id)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


async def uncredit_rituals(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Rituals the member created keep running; they just no longer say who created them."""
    result = await session.exec(
        update(Ritual)  # type: ignore[call-overload]
        .where(col(Ritual.workspace_id) == workspace_id, col(Ritual.created_by_member_id) == member_id)
        .values(created_by_member_id=None)
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


async def drop_messages_to(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Deletes every outbox row addressed to the member: nothing more goes to someone forgotten.

    Sent rows go too: their words are erased already, but they still say when Tend wrote to whom.
    """
    result = await session.exec(
        delete(Outbox)  # type: ignore[call-overload]
        .where(
            col(Outbox.workspace_id) == workspace_id,
            col(Outbox.target_kind) == "person",
            col(Outbox.target_id) == str(member_id),
        )
        .execution_options(synchronize_session="fetch")
    )
    return int(result.rowcount or 0)


async def delete_member(session: AsyncSession, member: Member) -> bool:
    """Deletes the member row; True when it is gone, False when it had to be anonymised instead.

    The delete runs in a savepoint: if a row Tend does not know about still points at the member,
    the delete is undone and the row is stripped of everything personal (name, platform id replaced
    by a random token, hours, role), so a later message from the same person is a first contact.
    """
    member_id = member.id
    await forget_person(session, member.workspace_id, member.platform_user_id)  # their Teams 1:1 chat
    try:
        async with session.begin_nested():
            await session.exec(
                delete(Member).where(col(Member.id) == member_id)  # type: ignore[call-overload]
            )
    except IntegrityError:
        await session.exec(
            update(Member)  # type: ignore[call-overload]
            .where(col(Member.id) == member_id)
            .values(
                platform_user_id=f"forgotten-{secrets.token_hex(16)}",
                display_name=FORGOTTEN_NAME,
                time_zone="UTC",
                work_days="",
                role="member",
                is_support=False,
                paused_until=None,
                dm_channel_id=None,
            )
            .execution_options(synchronize_session="fetch")
        )
        return False
    if member in session:
        session.expunge(member)  # the row is gone; nothing may flush the stale object back
    return True
