"""The Compassion Impact Index as pure functions: signal rollups in, privacy-checked weekly figures out.

Nothing here reads the database or the clock; ``practices.index`` hands in the rollups, who is in
which team and the current ISO week. Every figure anyone can read (the card, the chart data, the
CSV export) comes out of ``week_figures``, the one place the privacy rules are applied. The formula
is documented, with a worked example that the tests check, in docs/index.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

INDEX_VERSION = "1.0"

# The components, in the order they are shown, and how people read them.
COMPONENTS: tuple[str, ...] = (
    "supportive",
    "follow_through",
    "participation",
    "mood",
    "unsupported",
    "contagion",
)
LABELS: dict[str, str] = {
    "supportive": "Supportive interactions per person",
    "follow_through": "1:1 follow-through",
    "participation": "Opener participation",
    "mood": "Opener mean score",
    "unsupported": "Support requests left unanswered",
    "contagion": "Compassion contagion",
}

# Weights of the normalised components. They will become settings (one value per component); until
# then these defaults apply everywhere. Components without data are left out and the rest renormalised.
DEFAULT_WEIGHTS: dict[str, float] = {
    "supportive": 0.25,
    "follow_through": 0.20,
    "participation": 0.15,
    "mood": 0.10,
    "unsupported": 0.20,
    "contagion": 0.10,
}
SUPPORTIVE_TARGET = 2.0  # supportive interactions per person per week that score full marks
CONTAGION_TARGET = 0.5  # one shout-out in two passed on within a week scores full marks
MOOD_LOWEST, MOOD_HIGHEST = 1.0, 5.0  # the opener's weather scale

OPENER_COMPONENTS = frozenset({"participation", "mood"})
STRESS_COMPONENTS = frozenset({"unsupported"})
STRESS_KINDS = frozenset(
    {"stress_reported", "stress_support_requested", "stress_supported", "stress_unsupported"}
)

# --- why a figure is hidden (what people read) -----------------------------------------------------
TOO_FEW_PEOPLE = "fewer than {minimum} people in {name}; hidden to keep answers anonymous"
TOO_FEW_ANSWERS = "fewer than {minimum} answers; hidden to keep answers anonymous"
SMALL_REMAINDER = (
    "fewer than {minimum} people outside the teams shown on their own, so a small team's figures could "
    "be worked out by subtraction; hidden to keep answers anonymous"
)
SMALL_TEAM_INSIDE = (
    "includes a team of fewer than {minimum} people whose figures could be worked out by subtraction; "
    "hidden to keep answers anonymous"
)
WEEK_OPEN = "stress figures appear once the week is over"


class SignalRow(Protocol):
    """What the maths needs of ``storage.models.Signal``."""

    team_id: int
    week: str
    kind: str
    count: int
    value_sum: float


@dataclass(frozen=True)
class Tally:
    count: int = 0
    value_sum: float = 0.0


Counters = Mapping[str, Tally]  # signal kind → its summed counters, for one group and one week
Rollups = Mapping[tuple[int, str], Counters]  # (team id, ISO week) → counters


def rollup(rows: Iterable[SignalRow]) -> dict[tuple[int, str], dict[str, Tally]]:
    """Signal rows keyed by (team, week) then kind; repeated rows are summed."""
    found: dict[tuple[int, str], dict[str, Tally]] = {}
    for row in rows:
        kinds = found.setdefault((row.team_id, row.week), {})
        old = kinds.get(row.kind, Tally())
        kinds[row.kind] = Tally(old.count + row.count, old.value_sum + row.value_sum)
    return found


def counters_for(rollups: Rollups, team_ids: Collection[int] | None, week: str) -> dict[str, Tally]:
    """One group's counters for one week; ``None`` means the whole organisation, team 0 included."""
    total: dict[str, Tally] = {}
    for (team_id, bucket), kinds in rollups.items():
        if bucket != week or (team_ids is not None and team_id not in team_ids):
            continue
        for kind, tally in kinds.items():
            old = total.get(kind, Tally())
            total[kind] = Tally(old.count + tally.count, old.value_sum + tally.value_sum)
    return total


def _count(counters: Counters, kind: str) -> int:
    return counters[kind].count if kind in counters else 0


def raw_components(counters: Counters, people: int) -> dict[str, float]:
    """Each component that has data, as its plain value (a rate, a mean, a count per person)."""

    def n(kind: str) -> int:
        return _count(counters, kind)

    found: dict[str, float] = {}
    supportive_kinds = ("shoutout_given", "nudge_done", "stress_supported")
    if people > 0 and any(kind in counters for kind in supportive_kinds):
        found["supportive"] = sum(n(kind) for kind in supportive_kinds) / people
    if n("nudge_sent") > 0:
        found["follow_through"] = n("nudge_done") / n("nudge_sent")
    if n("opener_occurrence") > 0 and people > 0:
        found["participation"] = n("opener_answer") / (n("opener_occurrence") * people)
    if n("opener_answer") > 0:
        found["mood"] = counters["opener_answer"].value_sum / n("opener_answer")
    if n("stress_support_requested") > 0:
        found["unsupported"] = n("stress_unsupported") / n("stress_support_requested")
    if n("shoutout_given") > 0:
        found["contagion"] = n("shoutout_contagion") / n("shoutout_given")
    return found


def normalise(name: str, raw: float) -> float:
    """A component on 0–1, where 1 is best (so fewer unanswered requests scores higher)."""
    if name == "supportive":
        value = raw / SUPPORTIVE_TARGET
    elif name == "mood":
        value = (raw - MOOD_LOWEST) / (MOOD_HIGHEST - MOOD_LOWEST)
    elif name == "unsupported":
        value = 1.0 - raw
    elif name == "contagion":
        value = raw / CONTAGION_TARGET
    else:
        value = raw
    return min(1.0, max(0.0, value))


def combine(scores: Mapping[str, float], weights: Mapping[str, float] = DEFAULT_WEIGHTS) -> float | None:
    """0–100: the weighted mean of the normalised components present; None when none is."""
    present = {name: weights.get(name, 0.0) for name in scores if weights.get(name, 0.0) > 0}
    total = sum(present.values())
    if total <= 0:
        return None
    return 100.0 * sum(weight * scores[name] for name, weight in present.items()) / total


def trend(current: float | None, previous: float | None) -> str:
    """↑ ↓ → versus the previous week; empty when either week has no figure."""
    if current is None or previous is None:
        return ""
    if abs(current - previous) < 1e-9:
        return "→"
    return "↑" if current > previous else "↓"


# --- privacy ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Who a figure is about: a set of teams, or the organisation (``team_ids`` None)."""

    name: str
    team_ids: frozenset[int] | None
    people: int
    hidden: str | None = None  # why every figure of this group is hidden, if it is


@dataclass(frozen=True)
class Sizes:
    """Group sizes as the privacy rule needs them (the database counts them, or ``sizes_from_sets``).

    ``teams`` holds each team's number of people; ``outside_shown`` the people of the organisation in
    no team that is shown on its own; ``union`` the distinct people of the teams asked about.
    """

    organization: int
    teams: Mapping[int, int]
    outside_shown: int
    union: int


def shown_on_their_own(team_sizes: Mapping[int, int], minimum: int) -> list[int]:
    return [team_id for team_id, size in team_sizes.items() if size >= minimum]


def sizes_from_sets(
    team_ids: Collection[int] | None,
    team_people: Mapping[int, Collection[int]],
    organization_people: Collection[int],
    minimum: int,
) -> Sizes:
    teams = {team_id: len(set(people)) for team_id, people in team_people.items()}
    shown: set[int] = set().union(*(set(team_people[t]) for t in shown_on_their_own(teams, minimum)))
    union: set[int] = set().union(*(set(team_people.get(t, ())) for t in (team_ids or ())))
    return Sizes(len(set(organization_people)), teams, len(set(organization_people) - shown), len(union))


def group_for(
    name: str,
    team_ids: Collection[int] | None,
    team_people: Mapping[int, Collection[int]],
    organization_people: Collection[int],
    minimum: int,
) -> Group:
    """``group_from_sizes`` for people given as sets of member ids."""
    return group_from_sizes(
        name, team_ids, sizes_from_sets(team_ids, team_people, organization_people, minimum), minimum
    )


def group_from_sizes(name: str, team_ids: Collection[int] | None, sizes: Sizes, minimum: int) -> Group:
    """Sizes a group and decides whether it may be shown at all, including complementary suppression.

    A team (or set of teams) needs ``minimum`` people. A set of several teams that holds a small team
    is hidden, because subtracting the other teams would reveal it. The organisation is shown while
    any team is hidden only if the people outside the teams shown on their own number ``minimum``
    or more: then the only thing subtraction yields is that pooled remainder.
    """
    if team_ids is None:
        people = sizes.organization
        if people < minimum:
            return Group(name, None, people, TOO_FEW_PEOPLE.format(minimum=minimum, name=name))
        if any(size < minimum for size in sizes.teams.values()) and sizes.outside_shown < minimum:
            return Group(name, None, people, SMALL_REMAINDER.format(minimum=minimum))
        return Group(name, None, people)
    ids = frozenset(team_ids)
    if sizes.union < minimum:
        return Group(name, ids, sizes.union, TOO_FEW_PEOPLE.format(minimum=minimum, name=name))
    if len(ids) > 1 and any(sizes.teams.get(t, 0) < minimum for t in ids):
        return Group(name, ids, sizes.union, SMALL_TEAM_INSIDE.format(minimum=minimum))
    return Group(name, ids, sizes.union)


@dataclass(frozen=True)
class Figure:
    """One component for one group and week: its value and score, or why it is hidden."""

    name: str
    raw: float | None
    score: float | None
    hidden: str | None = None


@dataclass(frozen=True)
class WeekFigures:
    """Everything readable about one group in one ISO week; hidden parts are already blanked."""

    week: str
    index: float | None
    figures: dict[str, Figure] = field(default_factory=dict)
    hidden: str | None = None
    support_requested: int | None = None
    support_unanswered: int | None = None


def week_figures(
    group: Group,
    rollups: Rollups,
    week: str,
    current_week: str,
    minimum: int,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> WeekFigures:
    """The one read path: computes a group's week and blanks whatever the privacy rules hide.

    Hidden group → nothing. Opener figures need ``minimum`` answers. Stress figures (and the support
    counted among supportive interactions) only once the ISO week is over. The index is built from
    the figures shown, so it never carries a hidden one.
    """
    if group.hidden is not None:
        return WeekFigures(week, None, {}, group.hidden)
    counters = counters_for(rollups, group.team_ids, week)
    week_over = week < current_week
    if not week_over:
        counters = {kind: tally for kind, tally in counters.items() if kind not in STRESS_KINDS}
    answers = _count(counters, "opener_answer")
    figures: dict[str, Figure] = {}
    for name, raw in raw_components(counters, group.people).items():
        if name in OPENER_COMPONENTS and answers < minimum:
            figures[name] = Figure(name, None, None, TOO_FEW_ANSWERS.format(minimum=minimum))
        else:
            figures[name] = Figure(name, raw, normalise(name, raw))
    if not week_over:
        for name in STRESS_COMPONENTS:
            figures[name] = Figure(name, None, None, WEEK_OPEN)
    scores = {name: f.score for name, f in figures.items() if f.score is not None}
    requested = unanswered = None
    if week_over:
        requested = (
            counters["stress_support_requested"].count if "stress_support_requested" in counters else 0
        )
        unanswered = counters["stress_unsupported"].count if "stress_unsupported" in counters else 0
    ordered = {name: figures[name] for name in COMPONENTS if name in figures}
    return WeekFigures(week, combine(scores, weights), ordered, None, requested, unanswered)


def series(
    group: Group,
    rollups: Rollups,
    weeks: list[str],
    current_week: str,
    minimum: int,
    weights: Mapping[str, float] = DEFAULT_WEIGHTS,
) -> list[WeekFigures]:
    """Weeks oldest first, each through ``week_figures``."""
    return [week_figures(group, rollups, week, current_week, minimum, weights) for week in weeks]


def trend_lines(weeks: list[WeekFigures]) -> dict[str, list[float | None]]:
    """The data behind the trend chart: the index and each component score ×100 per week (None = gap)."""
    lines: dict[str, list[float | None]] = {"index": [w.index for w in weeks]}
    for name in COMPONENTS:
        lines[name] = [
            None if (f := w.figures.get(name)) is None or f.score is None else 100.0 * f.score for w in weeks
        ]
    return lines
