"""Reads for the Compassion Impact Index: signal rollups and who is in which group, per organisation.

The index reports on teams across every workspace of one organisation, so these queries take the
organisation id; they return plain ids and counters, and the privacy rules are applied by
``practices.compassion_index_maths`` on top of them.

A group's people are the humans Tend knows: not bots, not deactivated accounts, and only accounts
whose profile the platform gave Tend (``profile_known``). Anything else could pad a small team.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, NamedTuple

from sqlalchemy import literal, union_all
from sqlalchemy import select as select_columns
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.models import Contributor, Member, Signal, Team, TeamMembership, Workspace


class SignalRow(NamedTuple):
    """One counter as the index reads it."""

    team_id: int
    week: str
    kind: str
    count: int  # type: ignore[assignment]  # the column's name; it hides tuple.count, which nothing calls
    value_sum: float


# A SignalRow's columns: more than SQLModel's select() types, so SQLAlchemy's own reads them.
_SIGNAL_ROW = (
    col(Signal.team_id),
    col(Signal.week),
    col(Signal.kind),
    col(Signal.count),
    col(Signal.value_sum),
)


async def signals_for_weeks(session: AsyncSession, organization_id: int, weeks: list[str]) -> list[SignalRow]:
    """Every counter of the organisation in the given ISO weeks (all teams, and team 0 = no team).

    Plain rows, not ORM objects: an organisation query reads tens of thousands of counters, and
    building an identity-mapped object for each cost most of the query's time.
    """
    if not weeks:
        return []
    query = select_columns(*_SIGNAL_ROW).where(
        col(Signal.organization_id) == organization_id, col(Signal.week).in_(weeks)
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


def _is_person() -> tuple[Any, ...]:
    """Who counts as a person in a group (see the module docstring)."""
    return (
        col(Member.is_bot).is_(False),
        col(Member.deactivated).is_(False),
        col(Member.profile_known).is_(True),
    )


async def organization_people(session: AsyncSession, organization_id: int) -> set[int]:
    """Ids of the people in every workspace of the organisation."""
    query = (
        select(Member.id)
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, *_is_person())
    )
    return {int(member_id) for member_id in (await session.exec(query)).all() if member_id is not None}


async def team_people(session: AsyncSession, organization_id: int) -> dict[int, set[int]]:
    """Team id → ids of the people in it, for every team of the organisation."""
    query = (
        select(TeamMembership.team_id, TeamMembership.member_id)
        .join(Team, col(Team.id) == col(TeamMembership.team_id))
        .join(Workspace, col(Workspace.id) == col(Team.workspace_id))
        .join(Member, col(Member.id) == col(TeamMembership.member_id))
        .where(Workspace.organization_id == organization_id, *_is_person())
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
    where = (col(Signal.organization_id) == organization_id, col(Signal.week).in_(weeks))
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
    rows = select_columns(*_SIGNAL_ROW).where(*where, col(Signal.team_id).in_(team_ids))
    found = await (await session.connection()).execute(rows)
    return [SignalRow(*row) for row in found.all()]


def _people_of(organization_id: int) -> SelectOfScalar[int | None]:
    """The people of the organisation's workspaces, as a subquery of ids."""
    return (
        select(col(Member.id))
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, *_is_person())
    )


async def team_sizes(session: AsyncSession, organization_id: int) -> dict[int, int]:
    """Team id → number of people in it (teams with nobody in them are left out, as in ``team_people``)."""
    query = (
        select(TeamMembership.team_id, func.count())
        .join(Member, col(Member.id) == col(TeamMembership.member_id))
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, *_is_person())
        .group_by(col(TeamMembership.team_id))
    )
    result = await (await session.connection()).execute(query)
    return {int(team_id): int(size) for team_id, size in result.all()}


async def people_counts(session: AsyncSession, organization_id: int) -> tuple[int, dict[int, int]]:
    """The organisation's number of people and each team's (as ``team_sizes``), in one round trip."""
    teams = (
        select(TeamMembership.team_id, func.count())
        .join(Member, col(Member.id) == col(TeamMembership.member_id))
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, *_is_person())
        .group_by(col(TeamMembership.team_id))
    )
    everyone = (
        select(literal(ALL_TEAMS), func.count())
        .select_from(Member)
        .join(Workspace, col(Workspace.id) == col(Member.workspace_id))
        .where(Workspace.organization_id == organization_id, *_is_person())
    )
    result = await (await session.connection()).execute(union_all(teams, everyone))
    sizes = {int(team_id): int(size) for team_id, size in result.all()}
    return sizes.pop(ALL_TEAMS, 0), sizes


async def organization_size(session: AsyncSession, organization_id: int) -> int:
    query = select(func.count()).select_from(_people_of(organization_id).subquery())
    return int((await session.exec(query)).one())


async def people_in(session: AsyncSession, organization_id: int, team_ids: list[int]) -> int:
    """Distinct people across the given teams."""
    query = select(func.count(func.distinct(TeamMembership.member_id))).where(
        col(TeamMembership.team_id).in_(team_ids),
        col(TeamMembership.member_id).in_(_people_of(organization_id)),
    )
    return int((await session.exec(query)).one())


class TeamWeek(NamedTuple):
    """One team's counters for one week, one column per kind asked for."""

    team_id: int
    week: str
    counts: tuple[int, ...]
    value_sums: tuple[float, ...]


def _team_week_sql(kinds: int, valued: int) -> str:
    """``team_week_counters`` as PostgreSQL text: $1 the organisation, $2 the weeks, then the kinds."""
    counts = [f"coalesce(sum(count) FILTER (WHERE kind = ${3 + i}), 0)" for i in range(kinds)]
    sums = [f"coalesce(sum(value_sum) FILTER (WHERE kind = ${3 + kinds + i}), 0.0)" for i in range(valued)]
    return (
        f"SELECT team_id, week, {', '.join([*counts, *sums])} FROM signal "
        "WHERE organization_id = $1 AND week = ANY($2::varchar[]) GROUP BY week, team_id"
    )


async def team_week_counters(
    session: AsyncSession,
    organization_id: int,
    weeks: list[str],
    kinds: Sequence[str],
    valued: Sequence[str] = (),
) -> list[TeamWeek]:
    """Per team (team 0 included) and week: the count of each of ``kinds`` and the value sum of each of
    ``valued``, summed in the database.

    One row per team and week instead of one per counter: the organisation's totals and what the
    privacy rule weighs for every team come from one pass over the weeks' counters, read from the
    covering (organisation, week, …) index alone. On SQLite that index is named: the planner otherwise
    walks every week of the organisation. On PostgreSQL the rows come straight from asyncpg, with one
    statement text whatever the weeks (SQLAlchemy's rows cost about a quarter of the query there).
    """
    if not weeks or not kinds:
        return []
    connection = await session.connection()
    width = 2 + len(kinds)
    if connection.dialect.name == "postgresql":
        raw = await connection.get_raw_connection()
        sql = _team_week_sql(len(kinds), len(valued))
        # asyncpg's own connection (PostgreSQL only, so never None here); its types are not published.
        found = await raw.driver_connection.fetch(sql, organization_id, weeks, *kinds, *valued)  # type: ignore[union-attr]
        return [TeamWeek(row[0], row[1], tuple(row[2:width]), tuple(row[width:])) for row in found]
    # FILTER (SQLite 3.30 or later, as RETURNING needs 3.35): about half the time of CASE on SQLite.
    counts = [func.coalesce(func.sum(Signal.count).filter(col(Signal.kind) == kind), 0) for kind in kinds]
    sums = [
        func.coalesce(func.sum(Signal.value_sum).filter(col(Signal.kind) == kind), 0.0) for kind in valued
    ]
    columns: list[Any] = [col(Signal.team_id), col(Signal.week), *counts, *sums]  # as many as kinds asked
    query = (
        select_columns(*columns)
        .with_hint(Signal, "INDEXED BY ix_signal_org_week", "sqlite")
        .where(col(Signal.organization_id) == organization_id, col(Signal.week).in_(weeks))
        .group_by(col(Signal.week), col(Signal.team_id))
    )
    result = await connection.execute(query)
    # Sums of whole numbers come back as int and of value sums as float.
    return [TeamWeek(row[0], row[1], tuple(row[2:width]), tuple(row[width:])) for row in result.all()]


async def distinct_contributors(
    session: AsyncSession,
    organization_id: int,
    family: str,
    pools: Mapping[str, tuple[Collection[int], bool]],
) -> dict[str, int]:
    """Week → distinct people of ``family`` across a set of teams, for each week asked.

    ``pools`` maps a week to (team ids, inside): with ``inside`` the teams listed, otherwise every team
    but those listed (whichever list is shorter). One query for all the weeks.
    """
    if not pools:
        return {}
    queries = []
    for week, (team_ids, inside) in pools.items():
        teams = list(team_ids)
        query = select(Contributor.week, func.count(func.distinct(Contributor.key))).where(
            Contributor.organization_id == organization_id,
            Contributor.week == week,
            Contributor.family == family,
            Contributor.team_id >= 0,  # not the rows counting each person once for the organisation
        )
        if inside:
            query = query.where(col(Contributor.team_id).in_(teams))
        elif teams:
            query = query.where(col(Contributor.team_id).not_in(teams))
        queries.append(query.group_by(Contributor.week))
    weekly = union_all(*queries)  # one index range per week, not a filter over all of them
    result = await (await session.connection()).execute(weekly)
    found = {week: int(count) for week, count in result.all()}
    return {week: found.get(week, 0) for week in pools}
