"""Queries for culture carriers and their newcomer pairings.

Every lookup takes the workspace id, so an id clicked in one workspace never reaches a pairing of
another. Ending a pairing and counting an answered check-in are compare-and-sets, so two taps (or two
replicas handling the same tap) count once.
"""

from __future__ import annotations

from datetime import datetime
from typing import NamedTuple

from sqlalchemy import delete, update
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Carrier, Member, NewcomerPairing, TeamMembership, Workspace


async def carriers_in(session: AsyncSession, workspace_id: int) -> list[tuple[Carrier, Member]]:
    query = (
        select(Carrier, Member)
        .join(Member, col(Member.id) == col(Carrier.member_id))
        .where(Carrier.workspace_id == workspace_id)
        .order_by(col(Member.display_name), col(Member.id))
    )
    return [(carrier, member) for carrier, member in (await session.exec(query)).all()]


async def find_carrier(session: AsyncSession, workspace_id: int, member_id: int) -> Carrier | None:
    query = select(Carrier).where(Carrier.workspace_id == workspace_id, Carrier.member_id == member_id)
    return (await session.exec(query)).first()


async def remove_carrier(session: AsyncSession, workspace_id: int, member_id: int) -> bool:
    result = await session.exec(
        delete(Carrier).where(col(Carrier.workspace_id) == workspace_id, col(Carrier.member_id) == member_id)
    )
    return bool(result.rowcount)


async def loads(session: AsyncSession, workspace_id: int) -> dict[int, int]:
    """Carrier member id → newcomers they welcome now (pairings not ended)."""
    query = (
        select(col(NewcomerPairing.carrier_id), func.count())
        .where(
            NewcomerPairing.workspace_id == workspace_id,
            col(NewcomerPairing.ended_at).is_(None),
            col(NewcomerPairing.carrier_id).is_not(None),
        )
        .group_by(col(NewcomerPairing.carrier_id))
    )
    rows = (await session.exec(query)).all()
    return {int(member_id): int(count) for member_id, count in rows if member_id is not None}


async def team_ids_of(session: AsyncSession, member_ids: list[int]) -> dict[int, set[int]]:
    """Member id → the teams they belong to (people in no team are left out)."""
    if not member_ids:
        return {}
    query = select(TeamMembership.member_id, TeamMembership.team_id).where(
        col(TeamMembership.member_id).in_(member_ids)
    )
    found: dict[int, set[int]] = {}
    for member_id, team_id in (await session.exec(query)).all():
        found.setdefault(member_id, set()).add(team_id)
    return found


async def pairing_of_newcomer(session: AsyncSession, member_id: int) -> NewcomerPairing | None:
    query = select(NewcomerPairing).where(NewcomerPairing.newcomer_id == member_id)
    return (await session.exec(query)).first()


async def pairing_in_workspace(
    session: AsyncSession, workspace_id: int, pairing_id: int
) -> NewcomerPairing | None:
    query = select(NewcomerPairing).where(
        NewcomerPairing.id == pairing_id, NewcomerPairing.workspace_id == workspace_id
    )
    return (await session.exec(query)).first()


async def waiting(session: AsyncSession, workspace_id: int, since: datetime) -> list[NewcomerPairing]:
    """Newcomers who joined since ``since`` while no carrier was free, oldest first."""
    query = (
        select(NewcomerPairing)
        .where(
            NewcomerPairing.workspace_id == workspace_id,
            col(NewcomerPairing.carrier_id).is_(None),
            col(NewcomerPairing.ended_at).is_(None),
            col(NewcomerPairing.started_at) >= since,
        )
        .order_by(col(NewcomerPairing.started_at), col(NewcomerPairing.id))
    )
    return list((await session.exec(query)).all())


async def due_checkins(session: AsyncSession, now: datetime, limit: int = 500) -> list[NewcomerPairing]:
    """Pairings whose next check-in is due, across every workspace, oldest due first."""
    query = (
        select(NewcomerPairing)
        .where(
            col(NewcomerPairing.next_checkin_at) <= now,
            col(NewcomerPairing.ended_at).is_(None),
            col(NewcomerPairing.carrier_id).is_not(None),
        )
        .order_by(col(NewcomerPairing.next_checkin_at), col(NewcomerPairing.id))
        .limit(limit)
    )
    return list((await session.exec(query)).all())


async def advance_checkin(
    session: AsyncSession, pairing_id: int, expected: int, next_at: datetime | None
) -> bool:
    """Moves a pairing past check-in ``expected``; True only for the caller that moved it."""
    result = await session.exec(
        update(NewcomerPairing)
        .where(col(NewcomerPairing.id) == pairing_id, col(NewcomerPairing.next_checkin) == expected)
        .values(
            next_checkin=expected + 1,
            next_checkin_at=next_at,
            checkins_sent=NewcomerPairing.checkins_sent + 1,
        )
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def count_answer(session: AsyncSession, pairing_id: int, checkin: int) -> bool:
    """Counts check-in ``checkin`` (1-based) as answered once, whoever of the two answers first."""
    result = await session.exec(
        update(NewcomerPairing)
        .where(col(NewcomerPairing.id) == pairing_id, col(NewcomerPairing.last_answered) < checkin)
        .values(last_answered=checkin, checkins_answered=NewcomerPairing.checkins_answered + 1)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def end_pairing(session: AsyncSession, pairing_id: int, by: str, now: datetime) -> bool:
    """True only for the caller that ended it; no check-in is due after."""
    result = await session.exec(
        update(NewcomerPairing)
        .where(col(NewcomerPairing.id) == pairing_id, col(NewcomerPairing.ended_at).is_(None))
        .values(ended_at=now, ended_by=by, next_checkin_at=None)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def give_up_waiting(session: AsyncSession, before: datetime, now: datetime) -> int:
    """Newcomers who waited since before ``before`` for a carrier stop waiting (``ended_by`` unpaired)."""
    result = await session.exec(
        update(NewcomerPairing)
        .where(
            col(NewcomerPairing.carrier_id).is_(None),
            col(NewcomerPairing.ended_at).is_(None),
            col(NewcomerPairing.started_at) < before,
        )
        .values(ended_at=now, ended_by="unpaired")
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)


class Coverage(NamedTuple):
    """What admins see: counts over the workspace's pairings, never who or what was said."""

    paired: int  # newcomers who got a carrier
    active: int  # pairings still running
    waiting: int  # newcomers still waiting for a carrier
    checkins_sent: int
    checkins_answered: int
    ended_early: int  # ended by the newcomer or the carrier before the last check-in
    unpaired: int = 0  # joined when no carrier was free, and none was added within weeks


async def coverage(session: AsyncSession, workspace_id: int) -> Coverage:
    query = select(NewcomerPairing).where(NewcomerPairing.workspace_id == workspace_id)
    rows = list((await session.exec(query)).all())
    return Coverage(
        paired=sum(1 for row in rows if row.carrier_id is not None),
        active=sum(1 for row in rows if row.carrier_id is not None and row.ended_at is None),
        waiting=sum(1 for row in rows if row.carrier_id is None and row.ended_at is None),
        checkins_sent=sum(row.checkins_sent for row in rows),
        checkins_answered=sum(row.checkins_answered for row in rows),
        ended_early=sum(1 for row in rows if row.ended_by in ("newcomer", "carrier")),
        unpaired=sum(1 for row in rows if row.ended_by == "unpaired"),
    )


async def pairings_of(session: AsyncSession, member_id: int) -> list[NewcomerPairing]:
    """Every pairing naming the person, as newcomer or carrier (their data export)."""
    query = (
        select(NewcomerPairing)
        .where(
            (col(NewcomerPairing.newcomer_id) == member_id) | (col(NewcomerPairing.carrier_id) == member_id)
        )
        .order_by(col(NewcomerPairing.id))
    )
    return list((await session.exec(query)).all())


async def forget(session: AsyncSession, member_id: int) -> tuple[int, bool]:
    """Forget-me: the pairings naming the person and their carrier role go. (pairings, was a carrier)"""
    pairings = await session.exec(
        delete(NewcomerPairing).where(
            (col(NewcomerPairing.newcomer_id) == member_id) | (col(NewcomerPairing.carrier_id) == member_id)
        )
    )
    carrier = await session.exec(delete(Carrier).where(col(Carrier.member_id) == member_id))
    return int(pairings.rowcount or 0), bool(carrier.rowcount)


async def save_all(session: AsyncSession, carriers: tuple[Carrier, ...]) -> None:
    """Carriers named or given a new cap, written before waiting newcomers are paired with them."""
    session.add_all(carriers)
    await session.flush()


async def save_pairing(session: AsyncSession, pairing: NewcomerPairing) -> None:
    """Flushed at once, so the next choice of carrier sees this one's new load."""
    session.add(pairing)
    await session.flush()


async def workspace_of(session: AsyncSession, pairing: NewcomerPairing) -> Workspace | None:
    return await session.get(Workspace, pairing.workspace_id)
