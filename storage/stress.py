"""Anonymous stress reports and their support relays.

A report row never holds who wrote it. The relay is the only link back to an author, so every
change that two people (or two replicas) could make at once is a compare-and-set: the first
supporter to answer wins, and an overdue request is flagged exactly once. The ORM's
``synchronize_session`` keeps rows already loaded in the session in step with these updates.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, bindparam, delete, update
from sqlalchemy.orm import aliased
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Member, Outbox, StressRelay, StressReport, TeamMembership, Workspace
from storage.organisation import sibling_workspaces
from storage.outbox import HELD, PENDING, SENDING

STALL_KEY = "support-stall"  # outbox keys of the admins' "the rota has no one available" notes


async def add_report(session: AsyncSession, report: StressReport) -> StressReport:
    """Stores a report and returns it with its id (needed to open a relay in the same transaction)."""
    session.add(report)
    await session.flush()
    return report


async def get_report(session: AsyncSession, report_id: int) -> StressReport | None:
    return await session.get(StressReport, report_id)


def _people_in(team_id: ColumnElement[int] | int) -> SelectOfScalar[int]:
    """Counts the people in the team who could have written a report: bots, deactivated and never
    looked-up accounts are not people a report could hide among."""
    return (
        select(func.count())
        .select_from(TeamMembership)
        .join(Member, col(Member.id) == col(TeamMembership.member_id))
        .where(
            col(TeamMembership.team_id) == team_id,
            col(Member.is_bot).is_(False),
            col(Member.deactivated).is_(False),
            col(Member.profile_known).is_(True),
        )
    )


async def team_size(session: AsyncSession, team_id: int) -> int:
    """People in the team who could have written a report (``_people_in``)."""
    return int((await session.exec(_people_in(team_id))).one())


def _first_team_and_size() -> SelectOfScalar[tuple[int, int]]:
    mine = aliased(TeamMembership)
    size = _people_in(mine.team_id).scalar_subquery()
    query = select(mine.team_id, size).where(mine.member_id == bindparam("member_id"))
    return query.order_by(col(mine.team_id)).limit(1)  # type: ignore[return-value]


# Built once: constructing a statement like this costs more CPU than running it (in-process, 400
# lookups: 0.92 ms each built per call, 0.27 ms prebuilt, SQLite; PostgreSQL 0.83 -> 0.19 ms).
FIRST_TEAM_AND_SIZE = _first_team_and_size()


async def first_team_and_size(session: AsyncSession, member_id: int) -> tuple[int, int] | None:
    """The member's first team (the lowest id, as ``org_teams.teams_of`` lists them) and its
    ``team_size``, in one statement instead of two; None when they are in no team."""
    row = (await session.exec(FIRST_TEAM_AND_SIZE, params={"member_id": member_id})).first()
    return (int(row[0]), int(row[1])) if row is not None else None


async def support_members(session: AsyncSession, workspace_id: int) -> list[Member]:
    """The people on the support rota of a workspace's organisation (every linked workspace: a Teams
    person's request reaches Slack supporters too), by name; bots never answer support requests."""
    query = (
        select(Member)
        .where(
            col(Member.workspace_id).in_(sibling_workspaces(workspace_id)),
            col(Member.is_support).is_(True),
            col(Member.is_bot).is_(False),
            col(Member.deactivated).is_(False),
        )
        .order_by(col(Member.display_name), col(Member.id))
    )
    return list((await session.exec(query)).all())


async def add_relay(session: AsyncSession, relay: StressRelay) -> None:
    session.add(relay)
    await session.flush()


async def get_relay(session: AsyncSession, token: str) -> StressRelay | None:
    if not token:
        return None
    return await session.get(StressRelay, token)


async def claim_relay(session: AsyncSession, token: str, supporter_seal: str) -> bool:
    """Makes this supporter (their sealed id) the one who answers; False when someone else already did."""
    result = await session.exec(
        update(StressRelay)
        .where(col(StressRelay.token) == token, col(StressRelay.supporter_seal).is_(None))
        .values(supporter_seal=supporter_seal, answered=True)
    )
    return bool(result.rowcount == 1)


async def set_report_state(
    session: AsyncSession, report_id: int, state: str, *, only_from: tuple[str, ...]
) -> bool:
    """Moves a report's support state if it is still in one of ``only_from``; True when this call did."""
    result = await session.exec(
        update(StressReport)
        .where(col(StressReport.id) == report_id, col(StressReport.support_state).in_(only_from))
        .values(support_state=state)
    )
    return bool(result.rowcount == 1)


async def delete_relay(session: AsyncSession, token: str) -> bool:
    """Deletes the link to the author; True when this call deleted it."""
    result = await session.exec(delete(StressRelay).where(col(StressRelay.token) == token))
    return bool(result.rowcount == 1)


async def overdue_relays(session: AsyncSession, now: datetime) -> list[tuple[StressRelay, StressReport]]:
    """Requests nobody answered in time and not flagged yet (the report still says ``requested``)."""
    query = (
        select(StressRelay, StressReport)
        .join(StressReport, col(StressReport.id) == col(StressRelay.report_id))
        .where(
            col(StressRelay.answered).is_(False),
            col(StressRelay.support_due_at) <= now,
            StressReport.support_state == "requested",
        )
        .order_by(col(StressRelay.support_due_at))
    )
    return [(relay, report) for relay, report in (await session.exec(query)).all()]


async def all_relays(session: AsyncSession) -> list[StressRelay]:
    """Every open relay (a short list: each lives 30 days at most); who is in one is sealed, so the
    data-rights tools open each to find a person's."""
    return list((await session.exec(select(StressRelay).order_by(col(StressRelay.expires_at)))).all())


async def release_supporter(session: AsyncSession, token: str) -> bool:
    """The supporter leaves (forget-me): the conversation waits for someone else on the rota."""
    result = await session.exec(
        update(StressRelay).where(col(StressRelay.token) == token).values(supporter_seal=None)
    )
    return bool(result.rowcount == 1)


async def delete_expired_relays(session: AsyncSession, now: datetime) -> int:
    result = await session.exec(delete(StressRelay).where(col(StressRelay.expires_at) <= now))
    return int(result.rowcount or 0)


async def workspace_of_member(session: AsyncSession, member_id: int | None) -> Workspace | None:
    if member_id is None:
        return None
    member = await session.get(Member, member_id)
    return await session.get(Workspace, member.workspace_id) if member is not None else None


async def waiting_talks(session: AsyncSession) -> list[StressRelay]:
    """Open requests to talk that nobody on the rota is answering (never answered, or released)."""
    query = (
        select(StressRelay)
        .where(StressRelay.kind == "talk", col(StressRelay.supporter_seal).is_(None))
        .order_by(col(StressRelay.support_due_at))
    )
    return list((await session.exec(query)).all())


def stall_key(workspace_id: int, day: str, admin_id: int) -> str:
    return f"{STALL_KEY}:{workspace_id}:{day}:{admin_id}"


async def admins_told_since(session: AsyncSession, workspace_id: int, since: datetime) -> bool:
    """Whether a "rota has no one available" note for this workspace was queued since ``since`` or
    still waits to be sent: the admins hear it at most once a day."""
    query = select(Outbox.id).where(
        Outbox.workspace_id == workspace_id,
        col(Outbox.idempotency_key).startswith(f"{STALL_KEY}:{workspace_id}:", autoescape=True),
        (col(Outbox.created_at) >= since) | col(Outbox.state).in_((PENDING, HELD, SENDING)),
    )
    return (await session.exec(query.limit(1))).first() is not None


async def set_support(session: AsyncSession, members: Iterable[Member], on: bool) -> None:
    """Puts people on the support rota, or takes them off it."""
    for member in members:
        member.is_support = on
        session.add(member)
