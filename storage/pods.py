"""Queries for compassion pods: programmes, people's choices, rounds, pods and "did your pod meet?".

Every lookup a command or a tap reaches takes the workspace id, so an id typed or clicked in one
workspace never reaches another's programme or pod. Marking a round nudged or asked is a
compare-and-set, so two scheduler processes queue each message once.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    Member,
    Outbox,
    Pod,
    PodAnswer,
    PodMember,
    PodParticipant,
    PodProgramme,
    PodRound,
    Ritual,
    Team,
    TeamMembership,
    Workspace,
)

GROUP = "group"  # the outbox target kind of a gathered pod (bot.delivery.GROUP)


async def add_programme(session: AsyncSession, ritual: Ritual, programme: PodProgramme) -> PodProgramme:
    session.add(ritual)
    await session.flush()
    assert ritual.id is not None
    programme.ritual_id = ritual.id
    session.add(programme)
    await session.flush()
    return programme


async def programmes_in(session: AsyncSession, workspace_id: int) -> list[PodProgramme]:
    query = (
        select(PodProgramme).where(PodProgramme.workspace_id == workspace_id).order_by(col(PodProgramme.id))
    )
    return list((await session.exec(query)).all())


async def programme_in(session: AsyncSession, workspace_id: int, programme_id: int) -> PodProgramme | None:
    query = select(PodProgramme).where(
        PodProgramme.id == programme_id, PodProgramme.workspace_id == workspace_id
    )
    return (await session.exec(query)).first()


async def programme_of_ritual(session: AsyncSession, ritual_id: int) -> PodProgramme | None:
    return (await session.exec(select(PodProgramme).where(PodProgramme.ritual_id == ritual_id))).first()


async def participants(session: AsyncSession, programme_id: int) -> dict[int, PodParticipant]:
    query = select(PodParticipant).where(PodParticipant.programme_id == programme_id)
    return {p.member_id: p for p in (await session.exec(query)).all()}


async def participant(
    session: AsyncSession, programme_id: int, member_id: int, now: datetime
) -> PodParticipant:
    """The person's row in the programme, made (opted in, nothing skipped) if they have none yet."""
    query = select(PodParticipant).where(
        PodParticipant.programme_id == programme_id, PodParticipant.member_id == member_id
    )
    found = (await session.exec(query)).first()
    if found is None:
        found = PodParticipant(programme_id=programme_id, member_id=member_id, updated_at=now)
    return found


async def participations_of(
    session: AsyncSession, member_id: int
) -> list[tuple[PodProgramme, PodParticipant]]:
    query = (
        select(PodProgramme, PodParticipant)
        .join(PodParticipant, col(PodParticipant.programme_id) == col(PodProgramme.id))
        .where(PodParticipant.member_id == member_id)
        .order_by(col(PodProgramme.id))
    )
    return [(programme, row) for programme, row in (await session.exec(query)).all()]


async def channel_team_members(session: AsyncSession, workspace_id: int, place_id: str) -> list[Member]:
    """The people of the team(s) whose channel is ``place_id``: who a channel programme includes."""
    query = (
        select(Member)
        .join(TeamMembership, col(TeamMembership.member_id) == col(Member.id))
        .join(Team, col(Team.id) == col(TeamMembership.team_id))
        .where(Team.workspace_id == workspace_id, Team.channel_id == place_id)
        .order_by(col(Member.id))
        .distinct()
    )
    return list((await session.exec(query)).all())


async def has_channel_team(session: AsyncSession, workspace_id: int, place_id: str) -> bool:
    query = select(Team.id).where(Team.workspace_id == workspace_id, Team.channel_id == place_id)
    return (await session.exec(query)).first() is not None


async def members_by_id(session: AsyncSession, workspace_id: int, member_ids: list[int]) -> dict[int, Member]:
    if not member_ids:
        return {}
    query = select(Member).where(Member.workspace_id == workspace_id, col(Member.id).in_(member_ids))
    return {m.id: m for m in (await session.exec(query)).all() if m.id is not None}


async def team_of(session: AsyncSession, member_ids: list[int], place_id: str) -> dict[int, int]:
    """Member id → the team pods mix them by: their lowest-id team other than the one whose channel the
    programme runs in (everyone shares that one), else that one."""
    if not member_ids:
        return {}
    query = (
        select(TeamMembership.member_id, TeamMembership.team_id, Team.channel_id)
        .join(Team, col(Team.id) == col(TeamMembership.team_id))
        .where(col(TeamMembership.member_id).in_(member_ids))
        .order_by(col(TeamMembership.team_id))
    )
    own: dict[int, int] = {}
    shared: dict[int, int] = {}
    for member, team, channel in (await session.exec(query)).all():
        (shared if channel == place_id else own).setdefault(int(member), int(team))
    return {**shared, **own}


async def recent_partners(session: AsyncSession, programme_id: int, rounds: int) -> dict[int, set[int]]:
    """Member id → the people they shared a pod with in the programme's last ``rounds`` rounds."""
    last = (
        select(PodRound.id)
        .where(PodRound.programme_id == programme_id)
        .order_by(col(PodRound.number).desc())
        .limit(rounds)
    )
    query = (
        select(PodMember.pod_id, PodMember.member_id)
        .join(Pod, col(Pod.id) == col(PodMember.pod_id))
        .where(col(Pod.round_id).in_(last))
    )
    by_pod: dict[int, list[int]] = defaultdict(list)
    for pod_id, member_id in (await session.exec(query)).all():
        by_pod[pod_id].append(member_id)
    partners: dict[int, set[int]] = defaultdict(set)
    for people in by_pod.values():
        for person in people:
            partners[person].update(p for p in people if p != person)
    return dict(partners)


async def last_round_number(session: AsyncSession, programme_id: int) -> int:
    query = select(func.max(PodRound.number)).where(PodRound.programme_id == programme_id)
    return int((await session.exec(query)).first() or 0)


async def add_round(
    session: AsyncSession, pod_round: PodRound, pods: list[tuple[int, tuple[int, ...]]]
) -> list[Pod]:
    """The round and its pods ((teams mixed, member ids) each), in one flush."""
    session.add(pod_round)
    await session.flush()
    assert pod_round.id is not None
    made = [Pod(round_id=pod_round.id, teams=teams) for teams, _ in pods]
    session.add_all(made)
    await session.flush()
    for pod, (_, people) in zip(made, pods, strict=True):
        assert pod.id is not None
        session.add_all(PodMember(pod_id=pod.id, member_id=m) for m in people)
    await session.flush()
    return made


async def pods_of_round(session: AsyncSession, round_id: int) -> list[tuple[Pod, list[int]]]:
    query = (
        select(Pod, PodMember.member_id)
        .join(PodMember, col(PodMember.pod_id) == col(Pod.id))
        .where(Pod.round_id == round_id)
        .order_by(col(Pod.id), col(PodMember.member_id))
    )
    found: dict[int, tuple[Pod, list[int]]] = {}
    for pod, member_id in (await session.exec(query)).all():
        assert pod.id is not None
        found.setdefault(pod.id, (pod, []))[1].append(member_id)
    return list(found.values())


async def rounds_due(
    session: AsyncSession, now: datetime, step: str, limit: int = 200
) -> list[tuple[Workspace, PodProgramme, PodRound]]:
    """Rounds of running programmes whose mid-round nudge (``step`` "nudge") or end ("ask") is due."""
    when, done = (
        (PodRound.nudge_at, PodRound.nudged) if step == "nudge" else (PodRound.ends_at, PodRound.asked)
    )
    query = (
        select(Workspace, PodProgramme, PodRound)
        .join(PodProgramme, col(PodProgramme.id) == col(PodRound.programme_id))
        .join(Workspace, col(Workspace.id) == col(PodProgramme.workspace_id))
        .where(
            col(when) <= now,
            col(done).is_(False),
            col(Workspace.active).is_(True),
            PodProgramme.state == "active",
        )
        .order_by(col(PodRound.id))
        .limit(limit)
    )
    return [(w, p, r) for w, p, r in (await session.exec(query)).all()]


async def mark(session: AsyncSession, round_id: int, step: str) -> bool:
    """Marks the round nudged or asked; True only for the one caller that did."""
    name = "nudged" if step == "nudge" else "asked"
    column = col(PodRound.nudged) if step == "nudge" else col(PodRound.asked)
    result = await session.exec(
        update(PodRound)
        .where(col(PodRound.id) == round_id, column.is_(False))
        .values({name: True})
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount == 1)


async def close_open_rounds(session: AsyncSession, programme_id: int) -> None:
    """A stopped programme's rounds send nothing more."""
    await session.exec(
        update(PodRound)
        .where(col(PodRound.programme_id) == programme_id)
        .values(nudged=True, asked=True)
        .execution_options(synchronize_session=False)
    )


async def pod_in_workspace(
    session: AsyncSession, workspace_id: int, pod_id: int
) -> tuple[Pod, PodRound, PodProgramme] | None:
    query = (
        select(Pod, PodRound, PodProgramme)
        .join(PodRound, col(PodRound.id) == col(Pod.round_id))
        .join(PodProgramme, col(PodProgramme.id) == col(PodRound.programme_id))
        .where(Pod.id == pod_id, PodProgramme.workspace_id == workspace_id)
    )
    row = (await session.exec(query)).first()
    return None if row is None else (row[0], row[1], row[2])


async def is_in_pod(session: AsyncSession, pod_id: int, member_id: int) -> bool:
    query = select(PodMember.pod_id).where(PodMember.pod_id == pod_id, PodMember.member_id == member_id)
    return (await session.exec(query)).first() is not None


async def answer(session: AsyncSession, pod_id: int, member_id: int, met: bool, now: datetime) -> bool:
    """Records the person's answer; True when it is their first (a second tap changes nothing)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = (
        insert(PodAnswer)
        .values(pod_id=pod_id, member_id=member_id, met=met, answered_at=now)
        .on_conflict_do_nothing(index_elements=["pod_id", "member_id"])
    )
    result = await session.exec(statement)
    return bool(result.rowcount)


async def pod_met_before(session: AsyncSession, pod_id: int, member_id: int) -> bool:
    """Whether someone else in the pod already said it met (the pod counts once)."""
    query = select(PodAnswer.member_id).where(
        PodAnswer.pod_id == pod_id, col(PodAnswer.met).is_(True), PodAnswer.member_id != member_id
    )
    return (await session.exec(query)).first() is not None


async def pods_of(
    session: AsyncSession, member_id: int
) -> list[tuple[PodProgramme, PodRound, Pod, list[int]]]:
    """The person's pods, newest first, with everyone in each (for their data export)."""
    mine = select(PodMember.pod_id).where(PodMember.member_id == member_id)
    query = (
        select(PodProgramme, PodRound, Pod, PodMember.member_id)
        .join(PodRound, col(PodRound.programme_id) == col(PodProgramme.id))
        .join(Pod, col(Pod.round_id) == col(PodRound.id))
        .join(PodMember, col(PodMember.pod_id) == col(Pod.id))
        .where(col(Pod.id).in_(mine))
        .order_by(col(PodRound.formed_at).desc(), col(Pod.id), col(PodMember.member_id))
    )
    found: dict[int, tuple[PodProgramme, PodRound, Pod, list[int]]] = {}
    for programme, pod_round, pod, other in (await session.exec(query)).all():
        assert pod.id is not None
        found.setdefault(pod.id, (programme, pod_round, pod, []))[3].append(other)
    return list(found.values())


async def answers_of(session: AsyncSession, member_id: int) -> dict[int, bool]:
    query = select(PodAnswer.pod_id, PodAnswer.met).where(PodAnswer.member_id == member_id)
    return {pod_id: met for pod_id, met in (await session.exec(query)).all()}


async def forget(session: AsyncSession, member_id: int) -> tuple[int, int, int]:
    """Forget-me: the person's pod memberships, answers and choices go. (pods, answers, programmes)."""
    answers = await session.exec(delete(PodAnswer).where(col(PodAnswer.member_id) == member_id))
    pods = await session.exec(delete(PodMember).where(col(PodMember.member_id) == member_id))
    chosen = await session.exec(delete(PodParticipant).where(col(PodParticipant.member_id) == member_id))
    return int(pods.rowcount), int(answers.rowcount), int(chosen.rowcount)


async def withdraw_group_messages(session: AsyncSession, workspace_id: int, member_id: int) -> int:
    """Forget-me: outbox rows gathering a pod that includes the person (their ids are the row's target,
    their platform id waits in its payload) go, waiting or sent."""
    query = select(Outbox).where(Outbox.workspace_id == workspace_id, Outbox.target_kind == GROUP)
    dropped = 0
    for row in (await session.exec(query)).all():
        if str(member_id) in row.target_id.split(","):
            await session.delete(row)
            dropped += 1
    return dropped


async def counts_of(session: AsyncSession, member_id: int) -> tuple[int, int, int]:
    """What ``forget`` would remove, counted."""
    pods = select(func.count()).select_from(PodMember).where(PodMember.member_id == member_id)
    answers = select(func.count()).select_from(PodAnswer).where(PodAnswer.member_id == member_id)
    chosen = select(func.count()).select_from(PodParticipant).where(PodParticipant.member_id == member_id)
    return (
        int((await session.exec(pods)).one()),
        int((await session.exec(answers)).one()),
        int((await session.exec(chosen)).one()),
    )


async def ritual_of(session: AsyncSession, programme: PodProgramme) -> Ritual | None:
    """The ritual that forms the programme's rounds."""
    return await session.get(Ritual, programme.ritual_id)


async def save_state(session: AsyncSession, programme: PodProgramme, ritual: Ritual | None) -> None:
    """A paused, resumed or stopped programme and its ritual; a stopped one's open rounds close."""
    session.add(programme)
    if ritual is not None:
        session.add(ritual)
    if programme.state == "stopped":
        assert programme.id is not None
        await close_open_rounds(session, programme.id)
    await session.flush()


async def save_participant(session: AsyncSession, row: PodParticipant) -> None:
    session.add(row)


async def flush(session: AsyncSession) -> None:
    await session.flush()
