"""Index rules, called directly with no database: who may see which team, and that nothing resting on
fewer people than the minimum is shown, on the card or in the export."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date

from practices import compassion_index
from practices import compassion_index_maths as maths
from practices.messages import Card, Facts, Fine, Outcome, Reply, Text, plain
from storage.models import Team

PLATFORM, DATA, WEB = (
    Team(id=n, workspace_id=1, name=name) for n, name in ((1, "platform"), (2, "data"), (3, "web"))
)
TEAMS = [PLATFORM, DATA, WEB]
SETTINGS = compassion_index.IndexSettings(min_group_size=5)


def words(card: Card) -> str:
    return "\n".join(plain(block.text) for block in card.blocks if isinstance(block, (Text, Fine)))


def said(outcome: object) -> str:
    assert isinstance(outcome, Outcome)
    (reply,) = outcome.intents
    assert isinstance(reply, Reply)
    return words(reply.card)


def test_someone_who_manages_no_team_is_refused_even_naming_one():
    assert said(compassion_index.choose_team(False, TEAMS, set(), None, None)) == plain(
        compassion_index.NOT_ALLOWED
    )
    assert said(compassion_index.choose_team(False, TEAMS, set(), "data", DATA)) == plain(
        compassion_index.NOT_ALLOWED
    )


def test_a_manager_sees_their_team_by_default_and_only_theirs():
    assert compassion_index.choose_team(False, TEAMS, {1}, None, None) is PLATFORM
    assert compassion_index.choose_team(False, TEAMS, {1}, "platform", PLATFORM) is PLATFORM
    refused = said(compassion_index.choose_team(False, TEAMS, {1}, "data", DATA))
    assert "teams you manage: platform" in refused and "/tend index platform 8" in refused


def test_a_manager_of_two_teams_is_asked_which():
    asked = said(compassion_index.choose_team(False, TEAMS, {1, 3}, None, None))
    assert "Name one of the teams you manage: platform, web" in asked


def test_an_admin_sees_the_organisation_or_any_team_and_a_typo_gets_an_example():
    assert compassion_index.choose_team(True, TEAMS, set(), None, None) is None
    assert compassion_index.choose_team(True, TEAMS, set(), "data", DATA) is DATA
    missing = said(compassion_index.choose_team(True, TEAMS, set(), "dta", None))
    assert "couldn't find a team called “dta”" in missing and "/tend team list" in missing


def test_the_index_covers_finished_weeks_only():
    wednesday = date(2026, 11, 25)  # in 2026-W48
    assert compassion_index.finished_weeks(wednesday, 2) == ["2026-W46", "2026-W47"]


@dataclass
class Row:
    """Stands in for a stored weekly signal."""

    team_id: int
    week: str
    kind: str
    count: int
    value_sum: float = 0.0


def figures_for(people: int) -> tuple[maths.Group, list[maths.WeekFigures]]:
    """Two finished weeks of a team of ``people``, in the second of which 5 of them gave 10 shout-outs."""
    rows = [Row(1, "2026-W47", "shoutout_given", 10), Row(1, "2026-W47", "contributor_shoutout", 5)]
    sizes = maths.Sizes(0, {1: people}, people)
    group = maths.group_from_sizes("platform", [1], sizes, 5)
    rollups = maths.rollup(rows)
    evidence = maths.Evidence(maths.standings_from(rollups), {1: people})
    weeks = ["2026-W46", "2026-W47"]
    return group, maths.Policy(5).series(group, rollups, evidence, weeks, "2026-W48", maths.DEFAULT_WEIGHTS)


def test_a_team_below_the_minimum_shows_only_why_it_is_hidden():
    group, weeks = figures_for(4)
    card = compassion_index.index_card(SETTINGS, "platform", weeks, 1)
    assert "Hidden: fewer than 5 people in platform" in words(card)
    assert not any(isinstance(block, Facts) for block in card.blocks)  # no figure at all
    rows = list(csv.reader(io.StringIO(compassion_index.csv_text([("platform", group, weeks)], 5))))
    assert rows[0] == list(compassion_index.CSV_COLUMNS)
    assert all(row[2] == "" and row[3] == "" and "fewer than 5 people" in row[-1] for row in rows[1:])


def test_a_team_at_the_minimum_gets_its_card():
    _, weeks = figures_for(5)
    card = compassion_index.index_card(SETTINGS, "platform", weeks, 1)
    assert "Hidden" not in words(card)
    (facts,) = [block for block in card.blocks if isinstance(block, Facts)]
    assert plain(facts.facts[0].value).startswith("2.00 per person")


def test_support_counts_below_the_minimum_are_never_numbers():
    week = maths.WeekFigures("2026-W47", 61.0, {}, support_requested=3, support_unanswered=1)
    text = words(compassion_index.index_card(SETTINGS, "platform", [week], 1))
    assert (
        "fewer than 5 people asked for support in week 2026-W47 and fewer than 5 got none within 48 hours"
        in text
    )
    row = compassion_index.csv_rows("platform", maths.Group("platform", frozenset({1}), 20), [week], 5)[0]
    assert row[compassion_index.CSV_COLUMNS.index("support_requested")] == "fewer than 5"


def test_changed_weights_are_named_on_the_card_and_the_export():
    _, weeks = figures_for(5)
    assert "Weights set by your admin" not in words(
        compassion_index.index_card(SETTINGS, "platform", weeks, 1)
    )
    custom = {**maths.DEFAULT_WEIGHTS, "supportive": 0.5}
    changed = compassion_index.IndexSettings(min_group_size=5, index_weights=custom)
    assert "Weights set by your admin: " in words(compassion_index.index_card(changed, "platform", weeks, 1))
    assert "supportive=0.5" in words(compassion_index.export_card("week,group\n", custom))
