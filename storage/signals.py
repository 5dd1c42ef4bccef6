"""Aggregated counters: one row per (organisation, team, ISO week, kind), bumped atomically.

An upsert (``INSERT ... ON CONFLICT DO UPDATE``) lets two replicas bump the same counter at once
without losing a count; it runs in the caller's transaction, so a practice action and its signal
land together or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import bindparam, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Contributor, Signal


def _add_contributor(insert: Callable[[type[Contributor]], Any]) -> Any:
    # One row of bound values sent for each team (SQLAlchemy makes it one statement): built once and
    # cached once compiled, which a multi-row ``values([...])`` never is.
    return (
        insert(Contributor)
        .values(
            organization_id=bindparam("organization_id"),
            team_id=bindparam("team"),
            week=bindparam("week"),
            family=bindparam("family"),
            key=bindparam("key"),
        )
        .on_conflict_do_nothing(index_elements=["organization_id", "week", "family", "team_id", "key"])
        .returning(col(Contributor.team_id))
    )


def _bump(insert: Callable[[type[Signal]], Any]) -> Any:
    statement = insert(Signal).values(
        organization_id=bindparam("organization_id"),
        team_id=bindparam("team"),
        week=bindparam("week"),
        kind=bindparam("kind"),
        count=bindparam("count"),
        value_sum=bindparam("value"),
    )
    return statement.on_conflict_do_update(
        index_elements=["organization_id", "team_id", "week", "kind"],
        set_={
            "count": Signal.count + statement.excluded.count,
            "value_sum": Signal.value_sum + statement.excluded.value_sum,
        },
    )


# Every shout-out (and every counted act) runs these: built once, by dialect (key: is it PostgreSQL),
# since building a statement costs SQLAlchemy more CPU than running it (docs/architecture.md, issue 18).
ADD_CONTRIBUTOR = {True: _add_contributor(pg_insert), False: _add_contributor(sqlite_insert)}
BUMP = {True: _bump(pg_insert), False: _bump(sqlite_insert)}  # one row, or many in one executemany


async def bump(
    session: AsyncSession,
    organization_id: int,
    team_id: int,
    week: str,
    kind: str,
    *,
    count: int = 1,
    value: float = 0.0,
) -> None:
    params = {
        "organization_id": organization_id,
        "team": team_id,
        "week": week,
        "kind": kind,
        "count": count,
        "value": value,
    }
    await session.exec(BUMP[session.get_bind().dialect.name == "postgresql"], params=params)


async def add_contributor(
    session: AsyncSession, organization_id: int, teams: Sequence[int], week: str, family: str, key: str
) -> list[int]:
    """Adds one person (as a keyed digest) to each of ``teams``' contributors, in one statement; returns
    the teams where they were not counted already.

    ``INSERT ... ON CONFLICT DO NOTHING RETURNING``: of two transactions adding the same person at once,
    exactly one inserts each row, so a count bumped only for the teams returned stays the number of
    distinct people.
    """
    if not teams:
        return []
    statement = ADD_CONTRIBUTOR[session.get_bind().dialect.name == "postgresql"]
    params = [
        {"organization_id": organization_id, "team": team, "week": week, "family": family, "key": key}
        for team in teams
    ]
    result = await session.exec(statement, params=params)
    return [int(team) for (team,) in result.all()]


async def bump_many(
    session: AsyncSession, organization_id: int, week: str, counts: Sequence[tuple[int, str, int]]
) -> None:
    """``bump`` for each (team, kind, count), in one call: one round trip, not one each. Each
    (team, kind) at most once: the database applies one statement's rows to one counter only once."""
    if not counts:
        return
    statement = BUMP[session.get_bind().dialect.name == "postgresql"]
    params = [
        {
            "organization_id": organization_id,
            "week": week,
            "team": team,
            "kind": kind,
            "count": count,
            "value": 0.0,
        }
        for team, kind, count in counts
    ]
    await session.exec(statement, params=params)


async def has_contributor(
    session: AsyncSession, organization_id: int, team_id: int, week: str, family: str, keys: list[str]
) -> bool:
    """Whether one of ``keys`` (the same person's digest under earlier keys) is counted already."""
    if not keys:
        return False
    query = select(Contributor.id).where(
        Contributor.organization_id == organization_id,
        Contributor.team_id == team_id,
        Contributor.week == week,
        Contributor.family == family,
        col(Contributor.key).in_(keys),
    )
    return (await session.exec(query.limit(1))).first() is not None


async def contributor_weeks(session: AsyncSession, organization_id: int) -> list[str]:
    query = select(Contributor.week).where(Contributor.organization_id == organization_id).distinct()
    return list((await session.exec(query)).all())


async def delete_contributors(session: AsyncSession, organization_id: int, keys: list[str]) -> int:
    """Forget-me: a person's digests go; the distinct-people counts they added stay, like all totals."""
    if not keys:
        return 0
    result = await session.exec(
        delete(Contributor).where(
            col(Contributor.organization_id) == organization_id, col(Contributor.key).in_(keys)
        )
    )
    return int(result.rowcount or 0)


async def read(session: AsyncSession, organization_id: int, week: str | None = None) -> list[Signal]:
    query = select(Signal).where(Signal.organization_id == organization_id)
    if week is not None:
        query = query.where(Signal.week == week)
    return list((await session.exec(query)).all())
