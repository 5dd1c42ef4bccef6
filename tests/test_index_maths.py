"""The index formula and its privacy rules, as pure functions (the worked example is docs/index.md's)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import pytest

from practices import index_maths as maths

WEEK, CURRENT = "2026-W47", "2026-W48"
TEAM = 10
MIN = 5


@dataclass
class Row:
    """Stands in for storage.models.Signal."""

    team_id: int
    week: str
    kind: str
    count: int
    value_sum: float = 0.0


# The worked example of docs/index.md: a team of 8 people, one finished week.
EXAMPLE = [
    Row(TEAM, WEEK, "shoutout_given", 6),
    Row(TEAM, WEEK, "shoutout_contagion", 3),
    Row(TEAM, WEEK, "nudge_sent", 4),
    Row(TEAM, WEEK, "nudge_done", 3),
    Row(TEAM, WEEK, "stress_support_requested", 2),
    Row(TEAM, WEEK, "stress_supported", 1),
    Row(TEAM, WEEK, "stress_unsupported", 1),
    Row(TEAM, WEEK, "opener_occurrence", 2),
    Row(TEAM, WEEK, "opener_answer", 12, 42.0),
]
EIGHT = {TEAM: set(range(1, 9))}


def team_group(people=EIGHT, team=TEAM):
    return maths.group_for("platform", [team], people, set().union(*people.values()), MIN)


def test_the_worked_example_of_the_docs():
    rollups = maths.rollup(EXAMPLE)
    raw = maths.raw_components(maths.counters_for(rollups, [TEAM], WEEK), 8)
    assert raw == {
        "supportive": 1.25,
        "follow_through": 0.75,
        "participation": 0.75,
        "mood": 3.5,
        "unsupported": 0.5,
        "contagion": 0.5,
    }
    scores = {name: maths.normalise(name, value) for name, value in raw.items()}
    assert scores == {
        "supportive": 0.625,
        "follow_through": 0.75,
        "participation": 0.75,
        "mood": 0.625,
        "unsupported": 0.5,
        "contagion": 1.0,
    }
    week = maths.week_figures(team_group(), rollups, WEEK, CURRENT, MIN)
    assert week.index == pytest.approx(68.125)
    assert f"{week.index:.1f}" == "68.1"
    assert (week.support_requested, week.support_unanswered) == (2, 1)
    assert maths.INDEX_VERSION == "1.0"


def test_a_component_without_data_is_left_out_and_the_weights_renormalised():
    rows = [row for row in EXAMPLE if not row.kind.startswith("nudge")]
    week = maths.week_figures(team_group(), maths.rollup(rows), WEEK, CURRENT, MIN)
    assert "follow_through" not in week.figures
    assert week.figures["supportive"].raw == 7 / 8  # 6 shout-outs + 1 supported request, 8 people
    # supportive now 7/16: (0.25*7/16 + 0.15*0.75 + 0.1*0.625 + 0.2*0.5 + 0.1*1) / 0.8
    assert week.index == pytest.approx(100 * (0.25 * 7 / 16 + 0.1125 + 0.0625 + 0.1 + 0.1) / 0.8)
    assert week.index == pytest.approx(60.546875)  # as in docs/index.md
    assert f"{week.index:.1f}" == "60.5"


def test_no_data_at_all_gives_no_index():
    week = maths.week_figures(team_group(), {}, WEEK, CURRENT, MIN)
    assert week.index is None and week.figures == {} and week.hidden is None
    assert maths.combine({}) is None


def test_normalised_scores_stay_between_0_and_1():
    assert maths.normalise("supportive", 9.0) == 1.0
    assert maths.normalise("mood", 1.0) == 0.0
    assert maths.normalise("mood", 5.0) == 1.0
    assert maths.normalise("unsupported", 0.0) == 1.0
    assert maths.normalise("contagion", 0.25) == 0.5


def test_trend_arrows():
    assert maths.trend(60, 50) == "↑"
    assert maths.trend(40, 50) == "↓"
    assert maths.trend(50, 50) == "→"
    assert maths.trend(50, None) == ""


def test_custom_weights_change_the_index():
    rollups = maths.rollup(EXAMPLE)
    only_contagion = {name: 0.0 for name in maths.COMPONENTS} | {"contagion": 1.0}
    week = maths.week_figures(team_group(), rollups, WEEK, CURRENT, MIN, only_contagion)
    assert week.index == 100.0


# --- privacy ---------------------------------------------------------------------------------------


def test_a_team_below_the_minimum_is_hidden_with_the_reason():
    small = {TEAM: {1, 2, 3, 4}}
    group = team_group(small)
    week = maths.week_figures(group, maths.rollup(EXAMPLE), WEEK, CURRENT, MIN)
    assert week.index is None and week.figures == {} and week.support_requested is None
    assert week.hidden == "fewer than 5 people in platform; hidden to keep answers anonymous"


def test_opener_figures_need_enough_answers():
    rows = [row for row in EXAMPLE if row.kind != "opener_answer"] + [
        Row(TEAM, WEEK, "opener_answer", 4, 16.0)
    ]
    week = maths.week_figures(team_group(), maths.rollup(rows), WEEK, CURRENT, MIN)
    for name in ("participation", "mood"):
        figure = week.figures[name]
        assert figure.raw is None and figure.score is None
        assert figure.hidden == "fewer than 5 answers; hidden to keep answers anonymous"
    shown = {n: f.score for n, f in week.figures.items() if f.score is not None}
    assert week.index == maths.combine(shown)  # the index never carries a hidden figure


def test_stress_figures_wait_until_the_week_is_over():
    rows = [Row(r.team_id, CURRENT, r.kind, r.count, r.value_sum) for r in EXAMPLE]
    week = maths.week_figures(team_group(), maths.rollup(rows), CURRENT, CURRENT, MIN)
    assert week.figures["unsupported"].hidden == maths.WEEK_OPEN
    assert week.support_requested is None and week.support_unanswered is None
    assert week.figures["supportive"].raw == 9 / 8  # the supported request is not counted yet


def test_the_trend_series_is_the_data_behind_the_chart():
    rows = [*EXAMPLE, Row(TEAM, "2026-W46", "shoutout_given", 8)]
    weeks = maths.series(team_group(), maths.rollup(rows), ["2026-W46", WEEK], CURRENT, MIN)
    lines = maths.trend_lines(weeks)
    assert lines["supportive"] == [50.0, 62.5]
    assert lines["follow_through"] == [None, 75.0]
    assert lines["index"][1] == pytest.approx(68.125)


# --- complementary suppression: the subtraction attack ----------------------------------------------

A, B, C = 1, 2, 3
SIZES = {A: 7, B: 6, C: 2}


def people_of(sizes, extra_without_team=0):
    found, next_id = {}, 1
    for team, size in sizes.items():
        found[team] = set(range(next_id, next_id + size))
        next_id += size
    everyone = set(range(1, next_id + extra_without_team))
    return found, everyone


def rank(vectors):
    rows = [[Fraction(x) for x in v] for v in vectors]
    result, column = 0, 0
    width = len(rows[0]) if rows else 0
    while result < len(rows) and column < width:
        pivot = next((i for i in range(result, len(rows)) if rows[i][column] != 0), None)
        if pivot is None:
            column += 1
            continue
        rows[result], rows[pivot] = rows[pivot], rows[result]
        for i in range(len(rows)):
            if i != result and rows[i][column] != 0:
                factor = rows[i][column] / rows[result][column]
                rows[i] = [a - factor * b for a, b in zip(rows[i], rows[result], strict=True)]
        result += 1
        column += 1
    return result


def visible_queries(sizes, extra_without_team=0):
    """Which allowed queries (organisation, each team, each pair) are shown, as team indicator vectors."""
    team_people, everyone = people_of(sizes, extra_without_team)
    teams = list(sizes)
    queries = [None] + [[t] for t in teams] + [list(p) for p in combinations(teams, 2)]
    rows = [Row(t, WEEK, "shoutout_given", 10 * t) for t in teams]
    shown = []
    for query in queries:
        group = maths.group_for("g", query, team_people, everyone, MIN)
        week = maths.week_figures(group, maths.rollup(rows), WEEK, CURRENT, MIN)
        if week.hidden is None:
            assert week.figures["supportive"].raw is not None
            members = teams if query is None else query
            shown.append([1 if t in members else 0 for t in teams])
        else:
            assert week.index is None and week.figures == {}
    return shown


def revealed(shown, team_index, width):
    """True when the team's own figures are a linear combination of the figures shown."""
    target = [1 if i == team_index else 0 for i in range(width)]
    return bool(shown) and rank([*shown, target]) == rank(shown)


def test_teams_of_7_6_and_2_never_reveal_the_2_person_team():
    shown = visible_queries(SIZES)
    # Only team A, team B and the pair A+B may be shown; the organisation and any pair with C hide.
    assert sorted(shown) == sorted([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    assert not revealed(shown, 2, 3)  # no sequence of these queries yields team C
    assert revealed(shown, 0, 3)  # (sanity: the check itself can see a revealed team)


def test_the_organisation_reason_names_the_subtraction_risk():
    team_people, everyone = people_of(SIZES)
    group = maths.group_for("the organisation", None, team_people, everyone, MIN)
    assert group.hidden is not None and "worked out by subtraction" in group.hidden
    assert group.hidden.endswith("hidden to keep answers anonymous")


def test_the_organisation_shows_when_the_hidden_remainder_meets_the_minimum():
    # 2 people in team C and 3 in no team: subtracting the shown teams yields a pool of 5.
    team_people, everyone = people_of(SIZES, extra_without_team=3)
    assert maths.group_for("org", None, team_people, everyone, MIN).hidden is None
    shown = visible_queries(SIZES, extra_without_team=3)
    assert [1, 1, 1] in shown
    # Subtraction now gives C + the people in no team, whose counters live under team 0, so C alone
    # stays out of reach: with team 0 as its own column, C's vector is still not in the span.
    widened = [[*v, 1 if v == [1, 1, 1] else 0] for v in shown]
    assert not revealed(widened, 2, 4)


def test_two_small_hidden_teams_together_below_the_minimum_keep_the_organisation_hidden():
    team_people, everyone = people_of({A: 7, B: 2, C: 2})
    assert maths.group_for("org", None, team_people, everyone, MIN).hidden is not None
    team_people, everyone = people_of({A: 7, B: 3, C: 3})
    assert maths.group_for("org", None, team_people, everyone, MIN).hidden is None


def test_an_organisation_below_the_minimum_is_hidden():
    team_people, everyone = people_of({A: 4})
    group = maths.group_for("the organisation", None, team_people, everyone, MIN)
    assert group.hidden == "fewer than 5 people in the organisation; hidden to keep answers anonymous"
