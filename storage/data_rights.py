"""Queries behind a person's data rights that belong to no one practice: the messages waiting for
the person, and their member row. Each practice's own records are read and erased by its storage
module (storage/shoutouts.py, storage/org_teams.py...), called from its part in practices/.

Every query takes the workspace id (or a member already found inside one), so a person with the
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
from storage.models import Member, Outbox
from storage.outbox import HELD, PENDING, SENDING

FORGOTTEN_NAME = "forgotten member"


async def messages_waiting_for(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """How many messages to the member are still waiting to be sent."""
    query = select(Outbox.id).where(
        Outbox.workspace_id == workspace_id,
        Outbox.target_kind == "person",
        Outbox.target_id == str(member_id),
        col(Outbox.state).in_((HELD, PENDING, SENDING)),
    )
    return len((await session.exec(query)).all())


async def drop_messages_to(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Deletes every outbox row addressed to the member: nothing more goes to someone forgotten.

    Sent rows go too: their words are erased already, but they still say when Tend wrote to whom.
    """
    result = await session.exec(
        delete(Outbox)
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
            await session.exec(delete(Member).where(col(Member.id) == member_id))
    except IntegrityError:
        await session.exec(
            update(Member)
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
