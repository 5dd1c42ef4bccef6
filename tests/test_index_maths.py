"""The index formula and its privacy rules, as pure functions (the worked example is docs/index.md's)."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from itertools import combinations

import pytest

from practices import compassion_index_maths as maths
from practices import signals

WEEK, CURRENT = "2026-W47", "2026-W48"
TEAM = 10
MIN = 5
POLICY = maths.Policy(MIN)


@dataclass
class Row:
    """Stands in for storage.models.Signal."""

    team_id: int
    week: str
    kind: str
    count: int
    value_sum: float = 0.0


# The worked example of docs/index.md: a team of 20 people with five team leads, one finished week.
EXAMPLE = [
    Row(TEAM, WEEK, "shoutout_given", 26),
    Row(TEAM, WEEK, "contributor_shoutout", 9),  # given by 9 people
    Row(TEAM, WEEK, "shoutout_contagion", 13),
    Row(TEAM, WEEK, "nudge_sent", 10),
    Row(TEAM, WEEK, "nudge_done", 8),
    Row(TEAM, WEEK, "contributor_nudge", 5),  # 5 managers had 1:1 nudges
    Row(TEAM, WEEK, "stress_support_requested", 5),
    Row(TEAM, WEEK, "stress_supported", 4),
    Row(TEAM, WEEK, "stress_unsupported", 1),
    Row(TEAM, WEEK, "opener_occurrence", 4),
    Row(TEAM, WEEK, "opener_answer", 30, 105.0),  # three check-ins answered by 12, 10 and 8 people
    Row(TEAM, WEEK, "opener_answer_few", 2),  # the fourth, by 2: counted, its scores never kept
]
PEOPLE = 20


def team_week(rows: list[Row], week: str = WEEK, current: str = CURRENT, people: int = PEOPLE):
    rollups = maths.rollup(rows)
    group = maths.Group("platform", frozenset({TEAM}), people)
    evidence = maths.Evidence(maths.standings_from(rollups), {TEAM: people})
    return POLICY.week_figures(group, maths.counters_for(rollups, [TEAM], week), evidence, week, current)


def test_the_worked_example_of_the_docs():
    rollups = maths.rollup(EXAMPLE)
    raw = maths.raw_components(maths.counters_for(rollups, [TEAM], WEEK), PEOPLE)
    assert raw == {
        "supportive": 1.3,
        "follow_through": 0.8,
        "participation": 0.4,
        "mood": 3.5,
        "unsupported": 0.2,
        "contagion": 0.5,
    }
    scores = {name: maths.normalise(name, value) for name, value in raw.items()}
    assert scores == pytest.approx(
        {
            "supportive": 0.65,
            "follow_through": 0.8,
            "participation": 0.4,
            "mood": 0.625,
            "unsupported": 0.8,
            "contagion": 1.0,
        }
    )
    week = team_week(EXAMPLE)
    assert all(figure.raw is not None for figure in week.figures.values())
    assert week.index == pytest.approx(70.5)
    assert f"{week.index:.1f}" == "70.5"
    assert (week.support_requested, week.support_unanswered) == (5, 1)
    assert maths.INDEX_VERSION == "2.1"


def test_with_one_manager_follow_through_is_hidden_and_the_weights_renormalised():
    rows = [Row(TEAM, WEEK, r.kind, 1) if r.kind == "contributor_nudge" else r for r in EXAMPLE]
    week = team_week(rows)
    assert week.figures["follow_through"].raw is None
    assert week.figures["follow_through"].hidden == (
        "fewer than 5 managers had 1:1 nudges that week; hidden so that it is never one manager's own rate"
    )
    # (0.25*0.65 + 0.15*0.4 + 0.1*0.625 + 0.2*0.8 + 0.1*1.0) / 0.8, as in docs/index.md
    assert week.index == pytest.approx(100 * (0.1625 + 0.06 + 0.0625 + 0.16 + 0.1) / 0.8)
    assert week.index == pytest.approx(68.125)
    assert f"{week.index:.1f}" == "68.1"


def test_a_component_without_data_is_left_out():
    rows = [row for row in EXAMPLE if not row.kind.startswith(("nudge", "contributor_nudge"))]
    week = team_week(rows)
    assert "follow_through" not in week.figures
    assert week.index == pytest.approx(68.125)  # the same weights are left as with follow-through hidden


def test_no_data_at_all_gives_no_index():
    week = team_week([])
    assert week.index is None and week.hidden is None
    assert set(week.figures) == {"unsupported"}  # "no requests" reads like "too few": see the privacy tests
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
    group = maths.Group("platform", frozenset({TEAM}), PEOPLE)
    evidence = maths.Evidence(maths.standings_from(rollups), {TEAM: PEOPLE})
    [week] = POLICY.series(group, rollups, evidence, [WEEK], CURRENT, only_contagion)
    assert week.index == 100.0


def test_the_contributor_counters_are_the_ones_practices_record():
    assert maths.SHOUTOUTS.amount == signals.contributor_kind(maths.SHOUTOUTS.family or "")
    assert maths.ONE_ON_ONES.amount == signals.contributor_kind(maths.ONE_ON_ONES.family or "")
    assert {m.family for m in maths.MEASURES if m.family} == set(signals.KEPT_FAMILIES)
    assert maths.WHOLE_ORGANISATION == signals.WHOLE_ORGANISATION


# --- privacy ---------------------------------------------------------------------------------------


def test_a_team_below_the_minimum_is_hidden_with_the_reason():
    group = maths.group_for("platform", [TEAM], {TEAM: {1, 2, 3, 4}}, {1, 2, 3, 4, 5}, MIN)
    assert group.hidden == "fewer than 5 people in platform; hidden to keep answers anonymous"
    rollups = maths.rollup(EXAMPLE)
    evidence = maths.Evidence(maths.standings_from(rollups), {TEAM: 4})
    [week] = POLICY.series(group, rollups, evidence, [WEEK], CURRENT)
    assert week.index is None and week.figures == {} and week.support_requested is None
    assert week.hidden == group.hidden


def test_opener_figures_need_a_check_in_that_five_people_answered():
    """Five answers from one person on five check-ins are recorded as answers of small check-ins."""
    rows = [r for r in EXAMPLE if not r.kind.startswith("opener")] + [
        Row(TEAM, WEEK, "opener_occurrence", 5),
        Row(TEAM, WEEK, "opener_answer_few", 5),
    ]
    week = team_week(rows)
    for name in ("participation", "mood"):
        figure = week.figures[name]
        assert figure.raw is None and figure.score is None
        assert (
            figure.hidden == "no check-in that week had 5 or more answers; hidden to keep answers anonymous"
        )
    shown = {n: f.score for n, f in week.figures.items() if f.score is not None}
    assert week.index == maths.combine(shown)  # the index never carries a hidden figure


def test_shout_out_figures_need_five_people_giving_them():
    rows = [Row(TEAM, WEEK, r.kind, 4) if r.kind == "contributor_shoutout" else r for r in EXAMPLE]
    week = team_week(rows)
    for name in ("supportive", "contagion"):
        assert week.figures[name].hidden == (
            "fewer than 5 people gave shout-outs that week; hidden to keep them anonymous"
        )


def test_stress_figures_wait_until_the_week_is_over():
    rows = [Row(r.team_id, CURRENT, r.kind, r.count, r.value_sum) for r in EXAMPLE]
    week = team_week(rows, week=CURRENT)
    assert week.figures["unsupported"].hidden == maths.WEEK_OPEN
    assert week.support_requested is None and week.support_unanswered is None
    assert week.figures["supportive"].raw == 26 / 20  # shout-outs are shown at once


def test_the_trend_series_is_the_data_behind_the_chart():
    rows = [
        *EXAMPLE,
        Row(TEAM, "2026-W46", "shoutout_given", 20),
        Row(TEAM, "2026-W46", "contributor_shoutout", 5),
    ]
    rollups = maths.rollup(rows)
    group = maths.Group("platform", frozenset({TEAM}), PEOPLE)
    evidence = maths.Evidence(maths.standings_from(rollups), {TEAM: PEOPLE})
    weeks = POLICY.series(group, rollups, evidence, ["2026-W46", WEEK], CURRENT)
    lines = maths.trend_lines(weeks)
    assert lines["supportive"] == [50.0, 65.0]
    assert lines["follow_through"] == [None, 80.0]
    assert lines["index"][1] == pytest.approx(70.5)


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


def everyone_thanked(sizes, extra_without_team=0):
    """Each person gave two shout-outs in their own team; people in no team gave theirs under team 0."""
    rows = [
        Row(t, WEEK, kind, n)
        for t, size in sizes.items()
        for kind, n in (("shoutout_given", 2 * size), ("contributor_shoutout", size))
    ]
    if extra_without_team:
        rows += [
            Row(0, WEEK, "shoutout_given", 2 * extra_without_team),
            Row(0, WEEK, "contributor_shoutout", extra_without_team),
        ]
    return rows


def visible_queries(sizes, extra_without_team=0, pooled=None):
    """Which allowed queries (organisation, each team, each pair) show the shout-out figure, as team
    indicator vectors."""
    team_people, everyone = people_of(sizes, extra_without_team)
    teams = list(sizes)
    queries = [None] + [[t] for t in teams] + [list(p) for p in combinations(teams, 2)]
    rollups = maths.rollup(everyone_thanked(sizes, extra_without_team))
    shown = []
    for query in queries:
        group = maths.group_for("g", query, team_people, everyone, MIN)
        evidence = maths.Evidence(maths.standings_from(rollups), {t: len(p) for t, p in team_people.items()})
        evidence.pooled = {pool: pooled for pool in POLICY.pools(group, evidence, [WEEK])} if pooled else {}
        [week] = POLICY.series(group, rollups, evidence, [WEEK], CURRENT)
        figure = week.figures.get("supportive")
        if figure is not None and figure.raw is not None:
            members = teams if query is None else query
            shown.append([1 if t in members else 0 for t in teams])
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
    assert group.hidden is None  # the organisation is shown; its shout-out figure is not
    rollups = maths.rollup(everyone_thanked(SIZES))
    evidence = maths.Evidence(maths.standings_from(rollups), SIZES)
    [week] = POLICY.series(group, rollups, evidence, [WEEK], CURRENT)
    reason = week.figures["supportive"].hidden
    assert reason is not None and "worked out by subtraction" in reason
    assert reason.endswith("hidden to keep them anonymous")


def test_the_organisation_shows_when_the_hidden_remainder_rests_on_five_people():
    # 2 people in team C and 3 in no team gave shout-outs: subtracting the shown teams yields 5 givers.
    shown = visible_queries(SIZES, extra_without_team=3, pooled=5)
    assert [1, 1, 1] in shown
    # Subtraction now gives C + the people in no team, whose counters live under team 0, so C alone
    # stays out of reach: with team 0 as its own column, C's vector is still not in the span.
    widened = [[*v, 1 if v == [1, 1, 1] else 0] for v in shown]
    assert not revealed(widened, 2, 4)
    # Had the same 2 people given every one of those shout-outs, the pool would be 2: hidden.
    assert [1, 1, 1] not in visible_queries(SIZES, extra_without_team=3, pooled=2)


def test_people_in_no_team_who_did_nothing_do_not_unlock_the_organisation():
    """Before, 5 people outside the shown teams were enough, even if only one of them acted."""
    assert [1, 1, 1] not in visible_queries(SIZES, extra_without_team=0)
    team_people, everyone = people_of(SIZES, extra_without_team=10)
    assert maths.group_for("org", None, team_people, everyone, MIN).hidden is None


def test_two_small_hidden_teams_together_below_the_minimum_keep_the_organisation_hidden():
    assert [1, 1, 1] not in visible_queries({A: 7, B: 2, C: 2})
    assert [1, 1, 1] in visible_queries({A: 7, B: 3, C: 3}, pooled=6)


def test_an_organisation_below_the_minimum_is_hidden():
    team_people, everyone = people_of({A: 4})
    group = maths.group_for("the organisation", None, team_people, everyone, MIN)
    assert group.hidden == "fewer than 5 people in the organisation; hidden to keep answers anonymous"
