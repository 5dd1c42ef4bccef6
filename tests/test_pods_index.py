"""The index's "connection" component (compassion pods that met): the docs' worked example, and the
suppression rule (an organisation figure only, resting on at least the minimum number of pods)."""

from __future__ import annotations

import pytest

from practices import compassion_index_maths as maths
from tests.test_index_maths import CURRENT, EXAMPLE, MIN, POLICY, TEAM, WEEK, Row

PEOPLE = 20  # the docs' team is the whole organisation here


def organisation_week(rows: list[Row]):
    rollups = maths.rollup(rows)
    group = maths.Group("the organisation", None, PEOPLE)
    evidence = maths.Evidence(maths.standings_from(rollups), {TEAM: PEOPLE})
    return POLICY.week_figures(group, maths.counters_for(rollups, None, WEEK), evidence, WEEK, CURRENT)


def pods(formed: int, met: int) -> list[Row]:
    return [Row(0, WEEK, "pod_formed", formed), Row(0, WEEK, "pod_met", met)]  # team 0: pods are cross-team


def test_the_worked_example_of_the_docs_adds_pods_that_met_to_the_organisation():
    week = organisation_week(EXAMPLE + pods(5, 4))
    connection = week.figures["connection"]
    assert (connection.raw, connection.score) == (pytest.approx(0.8), pytest.approx(0.8))
    # The organisation never shows the support figure on its own (docs/index.md, rule 3), so:
    # (0.705 - 0.16 + 0.10 × 0.8) / (1.0 - 0.2 + 0.10), as in docs/index.md
    assert week.figures["unsupported"].raw is None
    assert week.index == pytest.approx(100 * (0.705 - 0.16 + 0.08) / 0.9)
    assert f"{week.index:.1f}" == "69.4"
    assert maths.INDEX_VERSION == "2.1"


def test_fewer_pods_than_the_minimum_hide_the_component_and_leave_the_rest_as_before():
    week = organisation_week(EXAMPLE + pods(MIN - 1, MIN - 1))
    connection = week.figures["connection"]
    assert connection.raw is None and connection.score is None
    assert (
        connection.hidden == "fewer than 5 pods formed that week; hidden so that no one pod's meeting shows"
    )
    assert week.index == pytest.approx(68.125)  # left out, not counted as 0: as with no pods at all


def test_a_team_card_never_shows_pods_which_belong_to_no_team():
    rollups = maths.rollup(EXAMPLE + pods(8, 8))
    group = maths.Group("platform", frozenset({TEAM}), PEOPLE)
    evidence = maths.Evidence(maths.standings_from(rollups), {TEAM: PEOPLE})
    week = POLICY.week_figures(group, maths.counters_for(rollups, [TEAM], WEEK), evidence, WEEK, CURRENT)
    assert "connection" not in week.figures
    assert week.index == pytest.approx(70.5)
