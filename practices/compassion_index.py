"""The Compassion Impact Index: ``/tend index [team] [weeks]`` and ``/tend index export``.

Admins see any team or the whole organisation; managers see the teams they manage; everyone else
gets a friendly refusal. Figures come from the weekly signal rollups only, and every figure passes
through ``index_maths.Policy``, which hides whatever rests on fewer than ``ctx.min_group_size``
people, directly or by subtraction. Reports cover finished ISO weeks, so stress figures are complete.
No count below the minimum is ever written as a number: it reads "fewer than 5".
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Protocol

from practices import compassion_index_maths as maths
from practices import privacy_policy
from practices.charts import new_chart_path, write_chart
from practices.grammar import PERSONAL_AND_TEAM, Result, Token, Topic, Usage, UsageError, only, shown
from practices.messages import (
    Block,
    Card,
    Example,
    Fact,
    Facts,
    Fine,
    Image,
    Outcome,
    Reply,
    Said,
    Text,
    compose,
)
from practices.org_teams import team_name
from practices.practice import SUPPORT_WINDOW, Practice, PracticeContext
from practices.privacy_policy import DEFAULT_MIN_GROUP_SIZE
from storage import compassion_index as store
from storage.models import Team
from storage.org_teams import team_by_name

DEFAULT_WEEKS = 12
EXAMPLE = "/tend index platform 8"
# --- what people read (one place, to review and translate) ---------------------------------------
NOT_ALLOWED = compose(
    "The index is for Tend admins and team managers; ask one of them to share it with you. "
    "Type {example} to see who the admins are.",
    example=Example("/tend admin list"),
)
ONLY_ADMINS_EXPORT = compose(
    "Only a Tend admin can export the index. Type {example} to see who the admins are.",
    example=Example("/tend admin list"),
)
PICK_A_TEAM = "Name one of the teams you manage: {teams}. Example: {example}"
NOT_YOUR_TEAM = "You can see the index of the teams you manage: {teams}. Example: {example}"
TEAM_EXAMPLE = "/tend index {team} 8"
NO_SUCH_TEAM = "I couldn't find a team called “{name}”. Type {list} to see them. Example: {example}"
TEAM_LIST = "/tend team list"
ORGANISATION = "the organisation"
TITLE = "Compassion Index: {name}"
HEADLINE = "*{index}* / 100 {arrow} in week {week}"
NO_DATA = (
    "No figures for week {week} yet: the index fills in as people use shout-outs, 1:1 nudges and "
    "meeting openers."
)
HIDDEN = "Hidden: {reason}."
NO_COMPONENT_DATA = "no data"
HIDDEN_FACT = "hidden: {reason}"
CALLOUT_SUPPORT = (
    "{requested} asked for support in week {week} and {unanswered} got none within {hours} hours."
)
HISTORY = "Index, last {weeks} (oldest first): {values}"
FOOTER = (
    "Aggregates only: figures resting on fewer than {minimum} people (or support requests) are hidden. "
    "Formula v{version}, explained in docs/index.md."
)
WEIGHTS_NOTE = (
    "Weights set by your admin: {weights}; compare only with figures computed with the same weights."
)
CHART_ALT = "Compassion Index and its components for {name}, weeks {first} to {last}"
CHART_AXIS = "score (100 = best)"
EXPORT_TITLE = "Compassion Index export"
EXPORT_NOTE = (
    "CSV, one row per group and week, formula v{version}; hidden figures are blank with the reason. "
    "Copy it into a spreadsheet."
)
EXPORT_WEIGHTS_COLUMN = "weights"  # blank with the default weights
GAP = "–"


# --- rules: pure, called by tests with no database ----------------------------------------------------


def week_of(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def finished_weeks(today: date, count: int) -> list[str]:
    """The ``count`` ISO weeks before the current one, oldest first."""
    monday = today - timedelta(days=today.weekday())
    return [week_of(monday - timedelta(weeks=back)) for back in range(count, 0, -1)]


def custom_weights(weights: Mapping[str, float]) -> bool:
    """Whether an admin changed the weights (TEND_INDEX_WEIGHTS), so the figures say so."""
    return any(abs(weights.get(name, 0.0) - maths.DEFAULT_WEIGHTS[name]) > 1e-12 for name in maths.COMPONENTS)


def weights_text(weights: Mapping[str, float]) -> str:
    """Every weight in the setting's own syntax, so it can be compared or copied."""
    return ",".join(f"{name}={weights.get(name, 0.0):g}" for name in maths.COMPONENTS)


def weights_note(weights: Mapping[str, float]) -> str:
    """The footer line naming the weights in use; empty with the defaults (nothing to warn about).

    Two organisations' indexes are only comparable under the same weights, so a changed set is shown.
    """
    if not custom_weights(weights):
        return ""
    return WEIGHTS_NOTE.format(weights=weights_text(weights).replace(",", ", "))


def show_value(name: str, raw: float) -> str:
    if name == "supportive":
        return f"{raw:.2f} per person"
    if name == "mood":
        return f"{raw:.1f} of 5"
    return f"{round(100 * raw)}%"


def show_index(value: float | None) -> str:
    return GAP if value is None else f"{value:.1f}"


def count_text(count: int, minimum: int) -> str:
    """A count as people read it: below the minimum it is never a number (a small count can name)."""
    return privacy_policy.count_text(count, minimum)


def people(count: int, minimum: int) -> str:
    if not privacy_policy.shows(count, minimum):
        return f"{count_text(count, minimum)} people"
    return "1 person" if count == 1 else f"{count} people"


def figure_line(name: str, latest: maths.WeekFigures, previous: maths.WeekFigures | None) -> str:
    figure = latest.figures.get(name)
    if figure is None:
        return NO_COMPONENT_DATA
    if figure.raw is None:
        return HIDDEN_FACT.format(reason=figure.hidden)
    before = previous.figures.get(name) if previous is not None else None
    arrow = maths.trend(figure.raw, before.raw if before is not None else None)
    return f"{show_value(name, figure.raw)} {arrow}".rstrip()


class Settings(Protocol):
    """What a card needs from the settings (a ``PracticeContext`` has all three)."""

    @property
    def min_group_size(self) -> int: ...
    @property
    def index_weights(self) -> Mapping[str, float]: ...
    @property
    def support_window(self) -> timedelta: ...


@dataclass(frozen=True)
class IndexSettings:
    """The settings as plain values, for calling the rules without a context."""

    min_group_size: int = DEFAULT_MIN_GROUP_SIZE
    index_weights: Mapping[str, float] = field(default_factory=lambda: dict(maths.DEFAULT_WEIGHTS))
    support_window: timedelta = SUPPORT_WINDOW


def index_card(
    ctx: Settings, name: str, weeks: list[maths.WeekFigures], count: int, chart: Image | None = None
) -> Card:
    """The card for one group: ``weeks`` oldest first, the last ``count`` shown, the one before for trends."""
    footer_text = FOOTER.format(minimum=ctx.min_group_size, version=maths.INDEX_VERSION)
    note = weights_note(ctx.index_weights)
    footer = Fine(f"{footer_text} {note}" if note else footer_text)
    title = TITLE.format(name=name)
    latest = weeks[-1]
    if latest.hidden is not None:
        return Card(title=title, blocks=(Text(HIDDEN.format(reason=latest.hidden)), footer))
    previous = weeks[-2] if len(weeks) > 1 else None
    blocks: list[Block] = []
    if latest.index is None:
        blocks.append(Text(NO_DATA.format(week=latest.week)))
    else:
        arrow = maths.trend(latest.index, previous.index if previous is not None else None)
        headline = HEADLINE.format(index=show_index(latest.index), arrow=arrow, week=latest.week)
        blocks.append(Text(" ".join(headline.split())))
    facts = tuple(Fact(maths.LABELS[c], figure_line(c, latest, previous)) for c in maths.COMPONENTS)
    blocks.append(Facts(facts))
    if latest.support_requested:
        hours = round(ctx.support_window.total_seconds() / 3600)
        callout = CALLOUT_SUPPORT.format(
            requested=people(latest.support_requested, ctx.min_group_size),
            week=latest.week,
            unanswered=count_text(latest.support_unanswered or 0, ctx.min_group_size),
            hours=hours,
        )
        blocks.append(Text(callout))
    shown = weeks[-count:]
    values = " · ".join(show_index(w.index) for w in shown)
    span = "week" if len(shown) == 1 else f"{len(shown)} weeks"
    blocks.append(Text(HISTORY.format(weeks=span, values=values)))
    if chart is not None:
        blocks.append(chart)
    blocks.append(footer)
    return Card(title=title, blocks=tuple(blocks))


def _names(teams: list[Team]) -> str:
    return ", ".join(team.name for team in teams)


def _example(team: Team) -> Example:
    return Example(TEAM_EXAMPLE.format(team=team.name))


def choose_team(
    is_admin: bool, teams: list[Team], managed_ids: Collection[int], name: str | None, named: Team | None
) -> Team | Outcome | None:
    """Who may see what: the team asked about (None = the organisation), or the refusal to send.

    Admins see any team or the organisation; a manager sees the teams they manage (the only one by
    default); anyone else is refused. ``named`` is the team called ``name``, if there is one."""
    managed = [team for team in teams if team.id in managed_ids]
    if not is_admin and not managed:
        return Outcome.reply(NOT_ALLOWED)
    if name is None:
        if is_admin:
            return None
        if len(managed) == 1:
            return managed[0]
        return Outcome.reply(compose(PICK_A_TEAM, teams=_names(managed), example=_example(managed[0])))
    team = named
    if team is None:
        found = compose(NO_SUCH_TEAM, name=Said(name), list=Example(TEAM_LIST), example=Example(EXAMPLE))
        return Outcome.reply(found)
    if not is_admin and team.id not in managed_ids:
        return Outcome.reply(compose(NOT_YOUR_TEAM, teams=_names(managed), example=_example(managed[0])))
    return team


PoolQuestions = dict[str, dict[maths.Pool, tuple[frozenset[int], bool]]]


def pool_questions(
    policy: maths.Policy, group: maths.Group, evidence: maths.Evidence, weeks: list[str]
) -> PoolQuestions:
    """The remainders the policy cannot judge from each team's own count, by family: for each, the
    teams whose distinct people to count and whether they are the pool's own (True) or the teams
    outside it (for the organisation, those outside are usually fewer to name)."""
    by_family: PoolQuestions = {}
    for pool in policy.pools(group, evidence, weeks):
        inside = not (pool.organization and len(pool.shown) < len(pool.teams))
        by_family.setdefault(pool.family, {})[pool] = (pool.teams, True) if inside else (pool.shown, False)
    return by_family


CSV_COLUMNS = (
    "week",
    "group",
    "people",
    "index",
    *maths.COMPONENTS,
    "support_requested",
    "support_unanswered",
    "formula_version",
    EXPORT_WEIGHTS_COLUMN,
    "hidden",
)


def csv_rows(
    name: str, group: maths.Group, weeks: list[maths.WeekFigures], minimum: int, weights: str = ""
) -> list[list[str]]:
    """One group's rows: blanks where figures are hidden or missing, the reasons in the last column.

    Counts below ``minimum`` read "fewer than 5", as on the card. ``weights`` is ``weights_text`` when
    an admin changed them, else blank.
    """

    def count(value: int | None) -> str:
        return "" if value is None else count_text(value, minimum)

    rows: list[list[str]] = []
    for week in weeks:
        reasons = [week.hidden] if week.hidden else []
        values: list[str] = []
        for component in maths.COMPONENTS:
            figure = week.figures.get(component)
            if figure is not None and figure.hidden:
                reasons.append(f"{component}: {figure.hidden}")
            values.append("" if figure is None or figure.raw is None else f"{figure.raw:.3f}")
        rows.append(
            [
                week.week,
                name,
                "" if week.hidden else count(group.people),
                "" if week.index is None else f"{week.index:.1f}",
                *values,
                count(week.support_requested),
                count(week.support_unanswered),
                maths.INDEX_VERSION,
                weights,
                "; ".join(dict.fromkeys(reasons)),
            ]
        )
    return rows


def csv_text(
    tables: Sequence[tuple[str, maths.Group, list[maths.WeekFigures]]], minimum: int, weights: str = ""
) -> str:
    """The export: the header, then each group's rows (``csv_rows``), in the order given."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for name, group, figures in tables:
        writer.writerows(csv_rows(name, group, figures, minimum, weights))
    return buffer.getvalue()


def export_card(table: str, weights: Mapping[str, float]) -> Card:
    """The CSV and what it is, naming the weights when an admin changed them."""
    note = EXPORT_NOTE.format(version=maths.INDEX_VERSION)
    if changed := weights_note(weights):
        note = f"{note} {changed}"
    return Card(title=EXPORT_TITLE, blocks=(Text(table), Fine(note)))


# --- the chart (optional: only when matplotlib is installed) ------------------------------------------


def draw_chart(name: str, weeks: list[maths.WeekFigures], path: Path) -> Image | None:
    """A PNG of the index and its components (the data is ``maths.trend_lines``); None without matplotlib.

    matplotlib is imported here, lazily, and draws on an Agg canvas: Tend starts without it, never
    needs a display, and the caller runs this in a worker thread so the event loop keeps answering.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    lines = maths.trend_lines(weeks)
    labels = [w.week for w in weeks]
    positions = list(range(len(labels)))
    figure = Figure(figsize=(8, 4), dpi=100)
    FigureCanvasAgg(figure)  # the Agg canvas, without pyplot's global state (safe in a worker thread)
    axes = figure.subplots()
    for key, values in lines.items():
        points = [float("nan") if v is None else v for v in values]
        label = "Index" if key == "index" else maths.LABELS[key]
        axes.plot(positions, points, marker="o", linewidth=2.5 if key == "index" else 1, label=label)
    axes.set_xticks(positions, labels)
    axes.set_ylim(0, 100)
    axes.set_ylabel(CHART_AXIS)
    axes.set_title(TITLE.format(name=name))
    axes.tick_params(axis="x", labelrotation=45, labelsize=7)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    written = write_chart(path, lambda at: figure.savefig(at, format="png"))
    alt = CHART_ALT.format(name=name, first=labels[0], last=labels[-1])
    return Image(url=written.as_uri(), alt=alt, path=str(written))


# --- storage shells: load, call the rules, write ------------------------------------------------------


async def _groups_data(ctx: PracticeContext) -> tuple[dict[int, set[int]], set[int]]:
    organization_id = ctx.workspace.organization_id
    return (
        await store.team_people(ctx.session, organization_id),
        await store.organization_people(ctx.session, organization_id),
    )


async def _sizes(ctx: PracticeContext, team_ids: list[int] | None) -> maths.Sizes:
    """The sizes the privacy rule needs, counted in the database (no member ids are loaded); only
    those the group asked about needs (one team's people are its size)."""
    organization_id = ctx.workspace.organization_id
    if team_ids is None:
        organization, teams = await store.people_counts(ctx.session, organization_id)
        return maths.Sizes(organization, teams, 0)
    teams = await store.team_sizes(ctx.session, organization_id)
    if len(team_ids) == 1:
        return maths.Sizes(0, teams, teams.get(team_ids[0], 0))
    return maths.Sizes(0, teams, await store.people_in(ctx.session, organization_id, team_ids))


async def _organisation_data(
    ctx: PracticeContext, weeks: list[str], sizes: Mapping[int, int]
) -> tuple[maths.Rollups, maths.Evidence]:
    """The organisation's counters and every team's standing, from one query: a row per team and week."""
    rows = await store.team_week_counters(
        ctx.session, ctx.workspace.organization_id, weeks, maths.KINDS, maths.VALUED
    )
    rollups, standings = maths.organization_rollups(rows, store.ALL_TEAMS)
    return rollups, maths.Evidence(standings, sizes)


async def _count_pools(
    ctx: PracticeContext, policy: maths.Policy, group: maths.Group, evidence: maths.Evidence, weeks: list[str]
) -> None:
    """Counts the distinct people of the remainders ``pool_questions`` names."""
    by_family = pool_questions(policy, group, evidence, weeks)
    pooled = dict(evidence.pooled)
    for family, pools in by_family.items():
        by_week = {pool.week: asked for pool, asked in pools.items()}
        counted = await store.distinct_contributors(
            ctx.session, ctx.workspace.organization_id, family, by_week
        )
        pooled.update({pool: counted[pool.week] for pool in pools})
    evidence.pooled = pooled


async def _rollups(ctx: PracticeContext, weeks: list[str]) -> maths.Rollups:
    return maths.rollup(await store.signals_for_weeks(ctx.session, ctx.workspace.organization_id, weeks))


def _current_week(ctx: PracticeContext) -> str:
    return week_of(ctx.now.date())


async def _choose_team(ctx: PracticeContext, name: str | None) -> Team | Outcome | None:
    """The team asked about (None = the organisation), or the refusal to send instead."""
    managed_ids = await store.managed_team_ids(ctx.session, ctx.actor_id)
    teams = await store.organization_teams(ctx.session, ctx.workspace.organization_id)
    named = await team_by_name(ctx.session, ctx.workspace_id, name) if name is not None else None
    return choose_team(ctx.is_admin, teams, managed_ids, name, named)


async def group_figures(
    ctx: PracticeContext, name: str, ids: list[int] | None, weeks: list[str]
) -> tuple[maths.Group, list[maths.WeekFigures]]:
    """One group's weeks through the policy: the reads and the maths of a card, without the chart."""
    sizes = await _sizes(ctx, ids)
    group = maths.group_from_sizes(name, ids, sizes, ctx.min_group_size)
    if ids is None:
        rollups, evidence = await _organisation_data(ctx, weeks, sizes.teams)
    else:
        counters = await store.group_counters(ctx.session, ctx.workspace.organization_id, weeks, ids)
        rollups = maths.rollup(counters)
        evidence = maths.Evidence(maths.standings_from(rollups), sizes.teams)
    policy = maths.Policy(ctx.min_group_size)
    await _count_pools(ctx, policy, group, evidence, weeks)
    return group, policy.series(group, rollups, evidence, weeks, _current_week(ctx), ctx.index_weights)


async def show(ctx: PracticeContext, team: str | None, weeks: int | None) -> Outcome:
    """The index card for a team or the organisation, over ``weeks`` finished weeks (default 12)."""
    chosen = await _choose_team(ctx, team)
    if isinstance(chosen, Outcome):
        return chosen
    count = weeks or DEFAULT_WEEKS
    week_list = finished_weeks(ctx.now.date(), count + 1)  # one more, for the first week's trend
    if chosen is None:
        name, ids = ORGANISATION, None
    else:
        assert chosen.id is not None
        name, ids = chosen.name, [chosen.id]
    group, figures = await group_figures(ctx, name, ids, week_list)
    chart = None
    if group.hidden is None:
        path = new_chart_path()
        chart = await asyncio.to_thread(draw_chart, name, figures[-count:], path)  # off the event loop
    return Outcome((Reply(index_card(ctx, name, figures, count, chart)),))


async def export_table(ctx: PracticeContext, weeks: int = DEFAULT_WEEKS) -> str:
    """The organisation and every team, ``weeks`` finished weeks, as CSV text."""
    week_list = finished_weeks(ctx.now.date(), weeks)
    team_people, organization_people = await _groups_data(ctx)
    rollups = await _rollups(ctx, week_list)
    sizes = {team_id: len(people) for team_id, people in team_people.items()}
    evidence = maths.Evidence(maths.standings_from(rollups), sizes)
    policy = maths.Policy(ctx.min_group_size)
    weights = weights_text(ctx.index_weights) if custom_weights(ctx.index_weights) else ""
    groups: list[tuple[str, list[int] | None]] = [(ORGANISATION, None)]
    for team in await store.organization_teams(ctx.session, ctx.workspace.organization_id):
        assert team.id is not None
        groups.append((team.name, [team.id]))
    tables: list[tuple[str, maths.Group, list[maths.WeekFigures]]] = []
    for name, ids in groups:
        group = maths.group_for(name, ids, team_people, organization_people, ctx.min_group_size)
        await _count_pools(ctx, policy, group, evidence, week_list)
        figures = policy.series(group, rollups, evidence, week_list, _current_week(ctx), ctx.index_weights)
        tables.append((name, group, figures))
    return csv_text(tables, ctx.min_group_size, weights)


async def export(ctx: PracticeContext) -> Outcome:
    """The aggregate table as CSV for admins, with the same suppression as the card.

    The CSV travels as the text of a Reply card for now; adapters will attach it as a file later.
    """
    if not ctx.is_admin:
        return Outcome.reply(ONLY_ADMINS_EXPORT)
    return Outcome((Reply(export_card(await export_table(ctx), ctx.index_weights)),))


# --- the words: /tend index, its parser and its help ---------------------------------------------------

INDEX_EXAMPLE = "/tend index platform 8"


@dataclass(frozen=True)
class IndexShow:
    team: str | None = None
    weeks: int | None = None

    async def run(self, ctx: PracticeContext) -> Outcome:
        return await show(ctx, self.team, self.weeks)


@dataclass(frozen=True)
class IndexExport:
    async def run(self, ctx: PracticeContext) -> Outcome:
        return await export(ctx)


def parse_index(text: str, args: list[Token]) -> Result:
    if args and args[0].word == "export":
        return only(IndexExport, "index export")(text, args[1:])
    team: str | None = None
    weeks: int | None = None
    for t in args:
        if t.word in ("week", "weeks"):
            continue
        if re.fullmatch(r"[0-9]+", t.raw) and weeks is None:
            weeks = int(t.raw) if len(t.raw) < 4 else 0
            if not 1 <= weeks <= 52:
                return UsageError(f"Weeks must be between 1 and 52, not {shown(t.raw)}.", INDEX_EXAMPLE)
        elif team is None:
            name = team_name([t], INDEX_EXAMPLE)
            if isinstance(name, UsageError):
                return name
            team = name
        else:
            msg = f"“/tend index” takes one team and a number of weeks; “{shown(t.raw)}” is extra."
            return UsageError(msg, INDEX_EXAMPLE)
    return IndexShow(team, weeks)


TOPIC = Topic(
    "index",
    "the team compassion index, from aggregates only",
    "A weekly index per team built from counts, never per person, and only for groups of at least "
    "five people. Managers see their teams; admins see all and can export.",
    (
        Usage(
            "/tend index", "[team] [weeks]", "the index card and its chart", INDEX_EXAMPLE, PERSONAL_AND_TEAM
        ),
        Usage("/tend index export", "", "the figures as CSV (admins)", "/tend index export"),
    ),
)

PRACTICE = Practice(name="index", order=50, commands={"index": parse_index}, topics=(TOPIC,))
