"""Which team a stress report keeps, when the reporter is in more than one: their first team (the one
created first), only when that team alone is big enough. The team and its size are read in one
statement (``storage.stress.first_team_and_size``); each team's size counts only its own people."""

from __future__ import annotations

from storage.db import Database
from storage.models import StressReport, Team
from tests.scenario import Scenario
from tests.test_stress_reports import ANA, BO, KIM, LEE, MAX, REPORT, rows
from tests.test_stress_reports import s as s  # the fixture: ana admin, bojana reports, five people


async def teams_kept(s: Scenario, database: Database) -> list[str | None]:
    """The team name each report kept, oldest report first."""
    names = {team.id: team.name for team in await rows(database, Team)}
    reports = sorted(await rows(database, StressReport), key=lambda report: report.id or 0)
    return [names.get(report.team_id) for report in reports]


async def test_the_first_team_is_kept_only_if_big_enough_alone(s: Scenario, database: Database) -> None:
    await s.command(ANA, "tend team create core")  # the first team: bojana and three others
    await s.command(ANA, f"tend team add core <@{BO}|bojana> <@{KIM}|kim> <@{LEE}|lee> <@{MAX}|max>")
    await s.command(ANA, "tend team create everyone")  # the second: all five
    await s.command(ANA, f"tend team add everyone <@{ANA}|ana> <@{BO}|bojana> <@{KIM}|kim> <@{LEE}|lee>")
    await s.command(ANA, f"tend team add everyone <@{MAX}|max>")
    answer = await s.submit(BO, "stress.report", {**REPORT, "support": "count"})
    assert "your team" not in answer  # core has 4, below the minimum group size of 5
    await s.command(ANA, f"tend team add core <@{ANA}|ana>")  # core now has 5
    answer = await s.submit(BO, "stress.report", {**REPORT, "support": "count"})
    assert "your team" in answer
    assert await teams_kept(s, database) == [None, "core"]
