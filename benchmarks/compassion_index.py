"""How long one Compassion Impact Index query takes, at full size and at one tenth.

    .venv/bin/python benchmarks/compassion_index.py                      # SQLite (a temporary file)
    .venv/bin/python benchmarks/compassion_index.py --postgres postgresql://postgres@127.0.0.1:5432/test

Full size (issue 5): 10,000 members in 200 teams, 52 weeks of signals rolled up from at least
1,000,000 practice actions. The actions are drawn here and rolled up in memory into the same
(organisation, team, week, kind) counters the practices write with ``storage.signals.bump``, and the
distinct people behind each team's shout-outs and 1:1 nudges into ``contributor`` rows and their
counters, as ``practices.signals.contributed`` writes them (each team has one manager, so 1:1
follow-through is pooled over the organisation every week); the index only ever reads those.
Printed per size: the organisation query and one team query, each as "figures" (the reads plus the
maths, which is what the target is about: under 100 ms per organisation query at full size) and as
the whole card with its PNG chart, and how many of the organisation's last week's components the
privacy rule let through (so a run that hides everything cannot pass for a fast one).
"""

from __future__ import annotations

import asyncio
import random
import statistics
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.databases import arguments, postgres_url, sqlite_url
from practices import compassion_index
from practices import compassion_index_maths as maths
from practices.practice import PracticeContext
from practices.signals import WHOLE_ORGANISATION, iso_week
from storage.db import Database
from storage.migrate import upgrade
from storage.models import Contributor, Member, Organization, Signal, Team, TeamMembership, Workspace

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
KINDS = (
    "shoutout_given",
    "shoutout_contagion",
    "nudge_sent",
    "nudge_done",
    "opener_answer",
    "opener_occurrence",
    "stress_reported",
    "stress_support_requested",
    "stress_supported",
    "stress_unsupported",
)


FAMILY_OF = {"shoutout_given": "shoutout", "nudge_sent": "nudge", "nudge_done": "nudge"}


def rolled_up_signals(
    members: int, teams: int, weeks: int, actions: int, seed: int = 7
) -> tuple[list[dict], list[dict], int]:
    """``actions`` random practice actions rolled up into counters, and the distinct people behind
    shout-outs (a random member of the team) and nudges (the team's manager); returns the counter rows,
    the contributor rows and the total."""
    rng, pick = random.Random(seed), random.Random(seed + 1)  # the counters as before people were drawn
    counts: Counter[tuple[int, str, str]] = Counter()
    sums: Counter[tuple[int, str, str]] = Counter()
    acted: set[tuple[int, str, str, int]] = set()
    week_names = [iso_week(NOW - timedelta(weeks=w)) for w in range(weeks)]
    for _ in range(actions):
        key = (rng.randint(1, teams), rng.choice(week_names), rng.choice(KINDS))
        counts[key] += 1
        if key[2] == "opener_answer":
            sums[key] += rng.randint(1, 5)
        if (family := FAMILY_OF.get(key[2])) is not None:
            team, week = key[0], key[1]
            # member i is in team 1 + (i - 1) % teams, and member ``team`` is its manager
            who = team if family == "nudge" else team + teams * pick.randrange(members // teams)
            acted.add((team, week, family, who))
    # Each person counts once per team, and once for the whole organisation (team -1).
    acted |= {(WHOLE_ORGANISATION, week, family, who) for _, week, family, who in acted}
    for team, week, family, _ in acted:
        counts[(team, week, f"contributor_{family}")] += 1
    contributors = [
        {"organization_id": 1, "team_id": team, "week": week, "family": family, "key": f"{who:x}-{week}"}
        for team, week, family, who in acted
    ]
    rows = [
        {
            "organization_id": 1,
            "team_id": team,
            "week": week,
            "kind": kind,
            "count": count,
            "value_sum": float(sums[(team, week, kind)]),
        }
        for (team, week, kind), count in counts.items()
    ]
    return rows, contributors, actions  # the counters also hold the contributor counts


async def seed(database: Database, members: int, teams: int, weeks: int, actions: int) -> int:
    async with database.session() as session:
        session.add(Organization(id=1, name="Bench", created_at=NOW))
        await session.flush()
        session.add(
            Workspace(id=1, organization_id=1, platform="console", external_id="bench", created_at=NOW)
        )
    people = [
        {
            "id": i,
            "workspace_id": 1,
            "platform_user_id": f"u{i}",
            "display_name": f"person {i}",
            "time_zone": "UTC",
            "work_days": "mon,tue,wed,thu,fri",
            "work_start": "09:00",
            "work_end": "17:30",
            "role": "admin" if i == 1 else "member",
            "is_bot": False,
            "is_support": False,
            "profile_known": True,
            "created_at": NOW,
        }
        for i in range(1, members + 1)
    ]
    team_rows = [
        {"id": t, "workspace_id": 1, "name": f"team-{t}", "created_at": NOW} for t in range(1, teams + 1)
    ]
    memberships = [
        {"team_id": 1 + (i - 1) % teams, "member_id": i, "is_manager": i <= teams}
        for i in range(1, members + 1)
    ]
    signals, contributors, total = rolled_up_signals(members, teams, weeks, actions)
    async with database.engine.begin() as connection:
        for table, rows in (
            (Member, people),
            (Team, team_rows),
            (TeamMembership, memberships),
            (Signal, signals),
            (Contributor, contributors),
        ):
            for start in range(0, len(rows), 5_000):
                await connection.execute(insert(table), rows[start : start + 5_000])
    if not database.is_sqlite:
        # Vacuumed as autovacuum keeps a live database, so index-only scans need no heap visits.
        async with database.engine.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text("VACUUM ANALYZE"))
    return total


async def figures_only(ctx: PracticeContext, team_id: int | None) -> list[maths.WeekFigures]:
    """The reads and the maths of one ``/tend index`` query, without drawing the chart."""
    week_list = compassion_index.finished_weeks(ctx.now.date(), compassion_index.DEFAULT_WEEKS + 1)
    _, figures = await compassion_index.group_figures(ctx, "x", [team_id] if team_id else None, week_list)
    return figures


async def timed(make: Callable[[], Awaitable[object]], repeats: int = 7) -> float:
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        await make()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


async def measure(url: str, label: str, scale: float) -> None:
    members, teams, actions = int(10_000 * scale), max(int(200 * scale), 2), int(1_000_000 * scale)
    await upgrade(url)
    database = Database(url)
    try:
        total = await seed(database, members, teams, 52, actions)
        async with database.session() as session:
            workspace = await session.get(Workspace, 1)
            admin = await session.get(Member, 1)
            assert workspace is not None and admin is not None
            ctx = PracticeContext(session=session, workspace=workspace, actor=admin, now=NOW)
            latest = (await figures_only(ctx, None))[-1]
            released = sum(1 for figure in latest.figures.values() if figure.raw is not None)
            org_fig = await timed(lambda: figures_only(ctx, None))
            team_fig = await timed(lambda: figures_only(ctx, 7))
            org_card = await timed(lambda: compassion_index.show(ctx, None, 12), repeats=3)
            team_card = await timed(lambda: compassion_index.show(ctx, "team-7", 12), repeats=3)
        print(
            f"{label:10} {members:>6,} members {teams:>3} teams {total:>9,} actions | figures: organisation "
            f"{org_fig:6.1f} ms, team {team_fig:6.1f} ms | card with chart: organisation {org_card:6.1f} ms, "
            f"team {team_card:6.1f} ms | {released} of {len(maths.COMPONENTS)} components shown"
        )
    finally:
        await database.dispose()


async def main() -> None:
    args = arguments(__doc__)
    for scale in (0.1, 1.0):
        async with sqlite_url() as url:
            await measure(url, "SQLite", scale)
        if args.postgres:
            async with postgres_url(args.postgres) as url:
                await measure(url, "PostgreSQL", scale)


if __name__ == "__main__":
    asyncio.run(main())
