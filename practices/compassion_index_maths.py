"""The Compassion Impact Index as pure functions: signal rollups in, privacy-checked weekly figures out.

Nothing here reads the database or the clock; ``practices.compassion_index`` hands in the rollups, who is in
which team, what the privacy rule weighs (``Evidence``) and the current ISO week. Every figure anyone
can read (the card, the chart data, the CSV export) comes out of ``Policy.series``, the one place the
privacy rules are applied. The formula is documented, with a worked example that the tests check, in
docs/index.md.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from practices.privacy_policy import shows

INDEX_VERSION = "2.1"

# The components, in the order they are shown, and how people read them.
COMPONENTS: tuple[str, ...] = (
    "supportive",
    "follow_through",
    "participation",
    "mood",
    "unsupported",
    "contagion",
    "connection",
)
LABELS: dict[str, str] = {
    "supportive": "Shout-outs per person",
    "follow_through": "1:1 follow-through",
    "participation": "Opener participation",
    "mood": "Opener mean score",
    "unsupported": "Support requests left unanswered",
    "contagion": "Compassion contagion",
    "connection": "Pods that met",
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
    "connection": 0.10,
}
SUPPORTIVE_TARGET = 2.0  # shout-outs per person per week that score full marks
CONTAGION_TARGET = 0.5  # one shout-out in two passed on within a week scores full marks
MOOD_LOWEST, MOOD_HIGHEST = 1.0, 5.0  # the opener's weather scale

# --- why a figure is hidden (what people read) -----------------------------------------------------
TOO_FEW_PEOPLE = "fewer than {minimum} people in {name}; hidden to keep answers anonymous"
SMALL_TEAM_INSIDE = (
    "includes a team of fewer than {minimum} people whose figures could be worked out by subtraction; "
    "hidden to keep answers anonymous"
)
WEEK_OPEN = "stress figures appear once the week is over"
SUBTRACTION = ", so a small team's figure could be worked out by subtraction"
FEW_GIVERS = "fewer than {minimum} people gave shout-outs{where}{why}; hidden to keep them anonymous"
FEW_MANAGERS = (
    "fewer than {minimum} managers had 1:1 nudges{where}{why}; hidden so that it is never one manager's "
    "own rate"
)
FEW_ANSWERS = "no check-in{where} had {minimum} or more answers{why}; hidden to keep answers anonymous"
FEW_REQUESTS = "fewer than {minimum} support requests{where}{why}; hidden to keep them anonymous"
FEW_PODS = "fewer than {minimum} pods formed{where}{why}; hidden so that no one pod's meeting shows"
THAT_WEEK = " that week"
OUTSIDE = " outside the teams shown on their own"


class SignalRow(Protocol):
    """What the maths needs of ``storage.models.Signal`` (read-only, so a named tuple row fits too)."""

    @property
    def team_id(self) -> int: ...
    @property
    def week(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def count(self) -> int: ...
    @property
    def value_sum(self) -> float: ...


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
    if people > 0 and n("shoutout_given") > 0:
        found["supportive"] = n("shoutout_given") / people
    if n("nudge_sent") > 0:
        found["follow_through"] = n("nudge_done") / n("nudge_sent")
    if n("opener_occurrence") > 0 and people > 0:
        answered = n("opener_answer") + n("opener_answer_few")
        found["participation"] = answered / (n("opener_occurrence") * people)
    if n("opener_answer") > 0:
        found["mood"] = counters["opener_answer"].value_sum / n("opener_answer")
    if n("stress_support_requested") > 0:
        found["unsupported"] = n("stress_unsupported") / n("stress_support_requested")
    if n("shoutout_given") > 0:
        found["contagion"] = n("shoutout_contagion") / n("shoutout_given")
    if n("pod_formed") > 0:  # pods that met, counted in the week their round was formed
        found["connection"] = n("pod_met") / n("pod_formed")
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


# --- who a figure is about -------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    """Who a figure is about: a set of teams, or the organisation (``team_ids`` None)."""

    name: str
    team_ids: frozenset[int] | None
    people: int
    hidden: str | None = None  # why every figure of this group is hidden, if it is


@dataclass(frozen=True)
class Sizes:
    """Group sizes in people (the database counts them, or ``sizes_from_sets``).

    ``teams`` holds each team's number of people; ``union`` the distinct people of the teams asked about.
    Only what the group asked about needs is counted: the organisation's size for the organisation.
    """

    organization: int
    teams: Mapping[int, int]
    union: int


def sizes_from_sets(
    team_ids: Collection[int] | None,
    team_people: Mapping[int, Collection[int]],
    organization_people: Collection[int],
) -> Sizes:
    teams = {team_id: len(set(people)) for team_id, people in team_people.items()}
    union: set[int] = set().union(*(set(team_people.get(t, ())) for t in (team_ids or ())))
    return Sizes(len(set(organization_people)), teams, len(union))


def group_for(
    name: str,
    team_ids: Collection[int] | None,
    team_people: Mapping[int, Collection[int]],
    organization_people: Collection[int],
    minimum: int,
) -> Group:
    """``group_from_sizes`` for people given as sets of member ids."""
    sizes = sizes_from_sets(team_ids, team_people, organization_people)
    return group_from_sizes(name, team_ids, sizes, minimum)


def group_from_sizes(name: str, team_ids: Collection[int] | None, sizes: Sizes, minimum: int) -> Group:
    """Sizes a group and decides whether it may be shown at all.

    A team (or set of teams, or the organisation) needs ``minimum`` people. A set of several teams that
    holds a small team is hidden, because subtracting the other teams would reveal it. Whether each
    figure of a group that may be shown is released is ``Policy``'s decision, per week.
    """
    if team_ids is None:
        people = sizes.organization
        if not shows(people, minimum):
            return Group(name, None, people, TOO_FEW_PEOPLE.format(minimum=minimum, name=name))
        return Group(name, None, people)
    ids = frozenset(team_ids)
    if not shows(sizes.union, minimum):
        return Group(name, ids, sizes.union, TOO_FEW_PEOPLE.format(minimum=minimum, name=name))
    if len(ids) > 1 and any(not shows(sizes.teams.get(t, 0), minimum) for t in ids):
        return Group(name, ids, sizes.union, SMALL_TEAM_INSIDE.format(minimum=minimum))
    return Group(name, ids, sizes.union)


# --- what each figure rests on ---------------------------------------------------------------------


@dataclass(frozen=True)
class Measure:
    """Counters released together, and what they must rest on before anyone may read them.

    A group has data for the measure when any of ``kinds`` was counted. ``amount`` is the counter the
    minimum applies to: distinct contributors of ``family`` (pooled over several teams they are not a
    sum, since one person can act in two teams), or a plain count when ``family`` is None.
    """

    name: str
    kinds: tuple[str, ...]
    amount: str
    family: str | None
    few: str  # why it is hidden: FEW_GIVERS and the like
    after_week: bool = False
    private: bool = False  # "none" is reported like "too few": that there were some is itself private


SHOUTOUTS = Measure(
    "shoutouts",
    ("shoutout_given", "shoutout_contagion"),
    "contributor_shoutout",
    "shoutout",
    FEW_GIVERS,
)
ONE_ON_ONES = Measure(
    "one_on_ones",
    ("nudge_sent", "nudge_done", "nudge_skipped"),
    "contributor_nudge",
    "nudge",
    FEW_MANAGERS,
)
OPENERS = Measure(
    "openers",
    ("opener_occurrence", "opener_answer", "opener_answer_few"),
    "opener_answer",
    None,
    FEW_ANSWERS,
)
SUPPORT = Measure(
    "support",
    ("stress_support_requested", "stress_supported", "stress_unsupported"),
    "stress_support_requested",
    None,
    FEW_REQUESTS,
    after_week=True,
    private=True,
)
# Compassion pods are cross-team, so their counters sit in team 0 and only the organisation shows them.
PODS = Measure("pods", ("pod_formed", "pod_met"), "pod_formed", None, FEW_PODS)
MEASURES: tuple[Measure, ...] = (SHOUTOUTS, ONE_ON_ONES, OPENERS, SUPPORT, PODS)
MEASURE_OF: dict[str, Measure] = {
    "supportive": SHOUTOUTS,
    "contagion": SHOUTOUTS,
    "follow_through": ONE_ON_ONES,
    "participation": OPENERS,
    "mood": OPENERS,
    "unsupported": SUPPORT,
    "connection": PODS,
}
# What the policy reads per team and week, in this order: each measure's data, then its amount.
EVIDENCE_COLUMNS: tuple[tuple[str, ...], ...] = tuple(
    column for measure in MEASURES for column in (measure.kinds, (measure.amount,))
)
Standing = tuple[int, ...]  # one team's week as EVIDENCE_COLUMNS sums
# The team id under which each person is counted once for the whole organisation (practices.signals).
WHOLE_ORGANISATION = -1
Standings = Mapping[tuple[int, str], Standing]  # (team id, ISO week) → its standing; team 0 included


# Every counter the index reads, and those whose value sums it reads: what the organisation's one
# query per card asks for, per team and week.
KINDS: tuple[str, ...] = tuple(
    dict.fromkeys(
        [
            "shoutout_given",
            "shoutout_contagion",
            "nudge_sent",
            "nudge_done",
            "opener_occurrence",
            "opener_answer",
            "opener_answer_few",
            "stress_support_requested",
            "stress_unsupported",
            *(kind for column in EVIDENCE_COLUMNS for kind in column),
        ]
    )
)
VALUED: tuple[str, ...] = ("opener_answer",)


class TeamWeekRow(Protocol):
    """What the maths needs of ``storage.compassion_index.TeamWeek``: a team's week, one column per kind."""

    @property
    def team_id(self) -> int: ...
    @property
    def week(self) -> str: ...
    @property
    def counts(self) -> tuple[int, ...]: ...  # in KINDS order
    @property
    def value_sums(self) -> tuple[float, ...]: ...  # in VALUED order


def organization_rollups(rows: Iterable[TeamWeekRow], team_id: int) -> tuple[Rollups, Standings]:
    """The organisation's counters per week (under ``team_id``) and every team's standing, from one
    row per team and week (thousands of rows per card, so the sums are taken column by column)."""
    positions = [[KINDS.index(kind) for kind in column] for column in EVIDENCE_COLUMNS]
    by_week: dict[str, list[TeamWeekRow]] = {}
    for row in rows:
        by_week.setdefault(row.week, []).append(row)
    rollups: dict[tuple[int, str], dict[str, Tally]] = {}
    standings: dict[tuple[int, str], Standing] = {}
    for week, found in by_week.items():
        columns = list(zip(*(row.counts for row in found), strict=True))  # one per kind, a value per team
        evidence = [
            columns[at[0]] if len(at) == 1 else list(map(sum, zip(*(columns[i] for i in at), strict=True)))
            for at in positions
        ]
        teams = [(row.team_id, week) for row in found]
        standings.update(zip(teams, zip(*evidence, strict=True), strict=True))
        sums = [sum(column) for column in zip(*(row.value_sums for row in found), strict=True)]
        values = dict(zip(VALUED, sums, strict=True))
        rollups[(team_id, week)] = {
            kind: Tally(total, values.get(kind, 0.0))
            for kind, total in zip(KINDS, map(sum, columns), strict=True)
            if total
        }
    return rollups, standings


# Where each measure's two columns start in a Standing.
_AT: dict[str, int] = {measure.name: 2 * number for number, measure in enumerate(MEASURES)}


def _position(measure: Measure) -> int:
    return _AT[measure.name]


def standing_of(counters: Counters) -> Standing:
    """EVIDENCE_COLUMNS summed from one team's counters (the database sums them the same way)."""
    return tuple(sum(_count(counters, kind) for kind in kinds) for kinds in EVIDENCE_COLUMNS)


def standings_from(rollups: Rollups) -> dict[tuple[int, str], Standing]:
    return {bucket: standing_of(counters) for bucket, counters in rollups.items()}


class Pool(NamedTuple):
    """Teams whose distinct contributors of ``family`` must be counted together for one week.

    ``teams`` are the group's teams with data not shown on their own (team 0 included); ``shown`` the
    group's teams shown on their own. For the whole organisation (``organization``), the same people
    are every team's but the shown ones', since only teams with data have contributors.
    """

    week: str
    family: str
    teams: frozenset[int]
    shown: frozenset[int]
    organization: bool


class Split(NamedTuple):
    """A group's teams shown on their own for a measure, and the rest with data: (team, amount)."""

    shown: frozenset[int]
    rest: tuple[tuple[int, int], ...]


@dataclass
class Evidence:
    """What the policy weighs: per team and week its standing, team sizes, and pooled remainders.

    ``standings`` must cover the same counters as the group's rollups (for the organisation: every
    team, team 0 included). ``pooled`` holds the distinct people of the pools ``Policy.pools`` asked
    for; a pool missing from it is taken as too small.
    """

    standings: Standings
    sizes: Mapping[int, int]
    pooled: Mapping[Pool, int] = field(default_factory=dict)
    by_week: dict[str, list[tuple[int, Standing]]] = field(init=False, repr=False)
    splits: dict[tuple[int, frozenset[int] | None, str], dict[str, Split]] = field(
        init=False, repr=False, default_factory=dict
    )  # the policy's own work, done once per group and week

    def standing_amount(self, team_id: int, week: str, measure: Measure) -> int:
        standing = self.standings.get((team_id, week))
        return standing[_position(measure) + 1] if standing else 0

    def __post_init__(self) -> None:
        self.by_week = {}
        for (team_id, week), standing in self.standings.items():
            self.by_week.setdefault(week, []).append((team_id, standing))


@dataclass(frozen=True)
class Release:
    """Whether one measure of a group may be read in one week; ``hidden`` says why not (None: no data)."""

    shown: bool
    hidden: str | None = None


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


# --- the policy --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The one suppression rule every figure, chart and export goes through.

    Each measure of a group is released for a week when it rests on at least ``minimum`` people (or
    support requests) and no small part of it can be worked out by subtraction: the group's teams that
    pass on their own are shown; what is left (hidden teams, team 0) must have no data for the measure,
    or pass the minimum pooled. The figure of a group with a hidden remainder is hidden.
    """

    minimum: int

    def reason(self, measure: Measure, outside: bool) -> str:
        """Why the measure is hidden: too little of it in the group, or in what subtraction would leave."""
        where, why = (OUTSIDE, SUBTRACTION) if outside else (THAT_WEEK, "")
        return measure.few.format(minimum=self.minimum, where=where, why=why)

    def passes(self, amount: int) -> bool:
        return shows(amount, self.minimum)

    def split(self, group: Group, evidence: Evidence, week: str, measure: Measure) -> Split:
        """The group's teams shown on their own for the measure (enough people in the team, data, and
        the minimum met), and the rest that has data."""
        key = (self.minimum, group.team_ids, week)
        found = evidence.splits.get(key)
        if found is None:
            found = evidence.splits[key] = self._splits(group, evidence, week)
        return found[measure.name]

    def _splits(self, group: Group, evidence: Evidence, week: str) -> dict[str, Split]:
        columns = [(measure.name, _position(measure)) for measure in MEASURES]
        shown: dict[str, list[int]] = {name: [] for name, _ in columns}
        rest: dict[str, list[tuple[int, int]]] = {name: [] for name, _ in columns}
        minimum, sizes, inside = self.minimum, evidence.sizes, group.team_ids
        for team_id, standing in evidence.by_week.get(week, ()):
            if team_id == WHOLE_ORGANISATION or (inside is not None and team_id not in inside):
                continue
            big = team_id != 0 and sizes.get(team_id, 0) >= minimum
            for name, at in columns:
                if standing[at] <= 0:
                    continue
                if big and standing[at + 1] >= minimum:
                    shown[name].append(team_id)
                else:
                    rest[name].append((team_id, standing[at + 1]))
        return {name: Split(frozenset(shown[name]), tuple(rest[name])) for name, _ in columns}

    def _pooled(
        self, group: Group, evidence: Evidence, week: str, measure: Measure, split: Split
    ) -> bool | None:
        """Whether the rest passes pooled, from the teams' own amounts and, for the organisation, its
        own count of distinct people; None when only counting the pool's people can tell."""
        amounts = [amount for _, amount in split.rest]
        if measure.family is None:
            return self.passes(sum(amounts))
        if any(self.passes(amount) for amount in amounts):
            return True  # the pool holds at least that team's people
        if not self.passes(sum(amounts)):
            return False  # even if nobody acted in two of its teams
        if group.team_ids is None and (whole := evidence.standings.get((WHOLE_ORGANISATION, week))):
            people = whole[_position(measure) + 1]  # everyone of the family, each once
            if not split.shown:
                return self.passes(people)  # the pool is the whole organisation
            shown = sum(evidence.standing_amount(team, week, measure) for team in split.shown)
            if self.passes(people - shown):
                return True  # people outside the shown teams, even if all of those acted elsewhere too
        return None

    def pools(self, group: Group, evidence: Evidence, weeks: Iterable[str]) -> list[Pool]:
        """The remainders whose distinct contributors must be counted before ``series`` can decide."""
        if group.hidden is not None:
            return []
        found: list[Pool] = []
        for week in weeks:
            for measure in MEASURES:
                if measure.family is None:
                    continue
                split = self.split(group, evidence, week, measure)
                if split.rest and self._pooled(group, evidence, week, measure, split) is None:
                    teams = frozenset(team_id for team_id, _ in split.rest)
                    found.append(Pool(week, measure.family, teams, split.shown, group.team_ids is None))
        return found

    def release(
        self, group: Group, evidence: Evidence, week: str, current_week: str, measure: Measure
    ) -> Release:
        if measure.after_week and week >= current_week:
            return Release(False, WEEK_OPEN)
        split = self.split(group, evidence, week, measure)
        if not split.shown and not split.rest:
            return Release(False, self.reason(measure, False) if measure.private else None)
        if not split.rest:
            # A private measure's "nothing outside the shown teams" must read like "too little there":
            # the organisation shown only when nobody outside asked would tell when someone did.
            covered = group.team_ids is not None and split.shown >= group.team_ids
            if not measure.private or covered:
                return Release(True)
            return Release(False, self.reason(measure, True))
        passes = self._pooled(group, evidence, week, measure, split)
        if passes is None:
            assert measure.family is not None
            teams = frozenset(team_id for team_id, _ in split.rest)
            pool = Pool(week, measure.family, teams, split.shown, group.team_ids is None)
            passes = self.passes(evidence.pooled.get(pool, 0))
        return Release(True) if passes else Release(False, self.reason(measure, bool(split.shown)))

    def week_figures(
        self,
        group: Group,
        counters: Counters,
        evidence: Evidence,
        week: str,
        current_week: str,
        weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    ) -> WeekFigures:
        """A group's week with whatever the rule hides blanked; the index is built from what is shown."""
        if group.hidden is not None:
            return WeekFigures(week, None, {}, group.hidden)
        releases = {m.name: self.release(group, evidence, week, current_week, m) for m in MEASURES}
        raw = raw_components(counters, group.people)
        figures: dict[str, Figure] = {}
        for name in COMPONENTS:
            release = releases[MEASURE_OF[name].name]
            if release.shown and name in raw:
                figures[name] = Figure(name, raw[name], normalise(name, raw[name]))
            elif release.hidden is not None:
                figures[name] = Figure(name, None, None, release.hidden)
        scores = {name: f.score for name, f in figures.items() if f.score is not None}
        requested = unanswered = None
        if releases[SUPPORT.name].shown:
            requested = _count(counters, "stress_support_requested")
            unanswered = _count(counters, "stress_unsupported")
        return WeekFigures(week, combine(scores, weights), figures, None, requested, unanswered)

    def series(
        self,
        group: Group,
        rollups: Rollups,
        evidence: Evidence,
        weeks: list[str],
        current_week: str,
        weights: Mapping[str, float] = DEFAULT_WEIGHTS,
    ) -> list[WeekFigures]:
        """Weeks oldest first, each through ``week_figures``: the one read path."""
        return [
            self.week_figures(
                group, counters_for(rollups, group.team_ids, week), evidence, week, current_week, weights
            )
            for week in weeks
        ]


def trend_lines(weeks: list[WeekFigures]) -> dict[str, list[float | None]]:
    """The data behind the trend chart: the index and each component score ×100 per week (None = gap)."""
    lines: dict[str, list[float | None]] = {"index": [w.index for w in weeks]}
    for name in COMPONENTS:
        lines[name] = [
            None if (f := w.figures.get(name)) is None or f.score is None else 100.0 * f.score for w in weeks
        ]
    return lines
