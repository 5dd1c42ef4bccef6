"""/tend index and /tend index export end to end: permissions, cards, suppression, CSV and the chart."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from adapters.console.render import render_card
from bot.clock import FixedClock
from bot.engine import Engine
from bot.scheduler import Scheduler
from practices import charts, signals
from practices import compassion_index as practice
from practices.compassion_index_maths import DEFAULT_WEIGHTS
from practices.messages import Facts, Fine, Image, Reply, marked
from storage import signals as signal_store
from storage.models import Member, Team, Workspace
from tests.scenario import Scenario

START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # a Tuesday in 2026-W48
LAST_WEEK = "2026-W47"

# platform: U2 (manager) .. U8, 7 people; design: U9 (manager) .. U14, 6 people; tiny: U15, U16.
TEAMS = {"platform": range(2, 9), "design": range(9, 15), "tiny": range(15, 17)}


def mention(n: int) -> str:
    return f"<@U{n}|p{n}>"


async def known(s: Scenario) -> None:
    """Everyone who joined so far was looked up on the platform: they count as people."""
    async with s.database.session() as session:
        for member in (await session.exec(select(Member).where(Member.is_bot == False))).all():  # noqa: E712
            member.profile_known = True
            session.add(member)


@pytest.fixture
async def s(database) -> Scenario:
    scenario = Scenario(database, START)
    await scenario.join("U1", "ada", admin=True)  # a Slack admin, so the Tend admin; in no team
    for n in range(2, 18):  # U17 is in no team either
        await scenario.join(f"U{n}", f"p{n}")
    await known(scenario)
    for name, people in TEAMS.items():
        await scenario.command("U1", f"tend team create {name} #C-{name}")
        await scenario.command("U1", f"tend team add {name} " + " ".join(mention(n) for n in people))
    await scenario.command("U1", f"tend team manager platform {mention(2)}")
    await scenario.command("U1", f"tend team manager design {mention(9)}")
    await scenario.command("U1", f"tend team manager tiny {mention(15)}")
    return scenario


async def ids(s: Scenario) -> tuple[int, dict[str, int]]:
    async with s.database.session() as session:
        workspace = (await session.exec(select(Workspace))).one()
        teams = {team.name: team.id for team in (await session.exec(select(Team))).all()}
    return workspace.organization_id, teams


async def bump(s: Scenario, team: str | None, week: str, kind: str, count: int = 1, value: float = 0.0):
    org, teams = await ids(s)
    async with s.database.session() as session:
        await signal_store.bump(
            session, org, teams[team] if team else 0, week, kind, count=count, value=value
        )


def moment_in(week: str) -> datetime:
    """Wednesday noon of an ISO week such as ``2026-W47``."""
    year, number = week.split("-W")
    return datetime.fromisocalendar(int(year), int(number), 3).replace(hour=12, tzinfo=UTC)


async def contributors(s: Scenario, team: str | None, week: str, family: str, users: list[str]) -> None:
    """These people acted in the team that week, counted as the practices count them."""
    org, teams = await ids(s)
    async with s.database.session() as session:
        members = {m.platform_user_id: m.id for m in (await session.exec(select(Member))).all()}
        for user in users:
            await signals.contributed(
                session, signals.sealing.PROCESS_KEY, org, teams[team] if team else None,
                moment_in(week), family, members[user],  # type: ignore[arg-type]
            )  # fmt: skip


EXAMPLE_GIVERS = ["U2", "U3", "U4", "U5", "U6", "U7"]
EXAMPLE_MANAGERS = ["U2", "U3", "U4", "U5", "U6"]


async def example_week(s: Scenario, team: str, week: str = LAST_WEEK) -> None:
    """A week like docs/index.md's: 6 people gave 6 shout-outs, 5 managers had 1:1 nudges, 5 support
    requests, two check-ins answered by 6 people each."""
    for kind, count, value in [
        ("shoutout_given", 6, 0.0),
        ("shoutout_contagion", 3, 0.0),
        ("nudge_sent", 4, 0.0),
        ("nudge_done", 3, 0.0),
        ("stress_support_requested", 5, 0.0),
        ("stress_supported", 3, 0.0),
        ("stress_unsupported", 2, 0.0),
        ("opener_occurrence", 2, 0.0),
        ("opener_answer", 12, 42.0),
    ]:
        await bump(s, team, week, kind, count, value)
    await contributors(s, team, week, "shoutout", EXAMPLE_GIVERS)
    await contributors(s, team, week, "nudge", EXAMPLE_MANAGERS)


def png_header(path: str) -> bytes:
    return Path(path).read_bytes()[:8]


def card(s: Scenario):
    [reply] = [a for a in s.last_answers if isinstance(a, Reply)]
    return reply.card


def facts(s: Scenario) -> dict[str, str]:
    [block] = [b for b in card(s).blocks if isinstance(b, Facts)]
    return {fact.label: fact.value for fact in block.facts}


# --- permissions -------------------------------------------------------------------------------------


async def test_people_who_are_neither_admin_nor_manager_get_a_friendly_refusal(s):
    assert await s.command("U3", "tend index") == marked(practice.NOT_ALLOWED)
    assert await s.command("U3", "tend index platform") == marked(practice.NOT_ALLOWED)
    assert await s.command("U3", "tend index export") == marked(practice.ONLY_ADMINS_EXPORT)


async def test_a_manager_sees_their_own_team_and_no_other(s):
    await example_week(s, "platform")
    answer = await s.command("U2", "tend index")
    assert card(s).title == "Compassion Index: platform"
    assert "in week 2026-W47" in answer
    answer = await s.command("U2", "tend index design")
    assert (
        answer == "You can see the index of the teams you manage: platform. Example: `/tend index platform 8`"
    )
    assert await s.command("U2", "tend index export") == marked(practice.ONLY_ADMINS_EXPORT)


async def test_an_unknown_team_gets_an_example(s):
    answer = await s.command("U1", "tend index nowhere")
    assert "couldn't find a team called “nowhere”" in answer and "`/tend index platform 8`" in answer


# --- the card ----------------------------------------------------------------------------------------


async def test_admin_sees_a_team_card_with_components_trends_and_the_support_callout(s):
    await bump(s, "platform", "2026-W46", "shoutout_given", 14)  # 2 per person the week before
    await bump(s, "platform", "2026-W46", "nudge_sent", 4)
    await bump(s, "platform", "2026-W46", "nudge_done", 1)
    await contributors(s, "platform", "2026-W46", "shoutout", [f"U{n}" for n in TEAMS["platform"]])
    await contributors(s, "platform", "2026-W46", "nudge", EXAMPLE_MANAGERS)
    await example_week(s, "platform")
    answer = await s.command("U1", "tend index platform 4")
    # team of 7: supportive 6/7 per person (score 6/14), participation 12/14, unanswered 2 of 5
    index = 100 * (0.25 * 6 / 14 + 0.2 * 0.75 + 0.15 * 12 / 14 + 0.1 * 0.625 + 0.2 * 0.6 + 0.1 * 1.0)
    assert f"*{index:.1f}* / 100 ↑ in week 2026-W47" in answer
    shown = facts(s)
    assert shown["Shout-outs per person"] == "0.86 per person ↓"  # 6/7, down from 2.00
    assert shown["1:1 follow-through"] == "75% ↑"  # from 25%
    assert shown["Opener participation"] == "86%"  # 12 / (2 × 7); no earlier week to compare
    assert shown["Opener mean score"] == "3.5 of 5"
    assert shown["Support requests left unanswered"] == "40%"
    assert "5 people asked for support in week 2026-W47 and fewer than 5 got none within 48 hours." in answer
    assert "last 4 weeks (oldest first): – · – ·" in answer
    assert "Formula v2.1" in card(s).blocks[-1].text


async def test_the_organisation_is_the_default_for_admins(s):
    answer = await s.command("U1", "tend index")
    assert card(s).title == "Compassion Index: the organisation"
    assert "No figures for week 2026-W47 yet" in answer


async def test_a_team_below_the_minimum_is_hidden_with_the_reason(s):
    await example_week(s, "tiny")
    answer = await s.command("U1", "tend index tiny")
    assert "Hidden: fewer than 5 people in tiny; hidden to keep answers anonymous." in answer
    assert not any(isinstance(b, Facts | Image) for b in card(s).blocks)
    assert "asked for support" not in answer
    assert await s.command("U15", "tend index") == answer  # its manager sees no more than an admin


async def test_no_allowed_query_reveals_the_two_person_team(s):
    """Teams of 7, 6 and 2, everyone thanking: the organisation and each team, as an admin asks; only
    7 and 6 show (the organisation minus them would be the two)."""
    for team, people in TEAMS.items():
        await bump(s, team, LAST_WEEK, "shoutout_given", 10 * len(people))
        await contributors(s, team, LAST_WEEK, "shoutout", [f"U{n}" for n in people])
    shown = {}
    for target in [None, *TEAMS]:
        await s.command("U1", "tend index" + (f" {target}" if target else ""))
        lines = [f for b in card(s).blocks if isinstance(b, Facts) for f in b.facts]
        shown[target] = any(f.label == "Shout-outs per person" and f.value[0].isdigit() for f in lines)
    assert shown == {None: False, "platform": True, "design": True, "tiny": False}


async def test_the_organisation_shows_once_the_hidden_remainder_meets_the_minimum(s):
    for n in range(18, 21):
        await s.join(f"U{n}", f"p{n}")  # 3 more people in no team
    await known(s)
    await bump(s, "platform", LAST_WEEK, "shoutout_given", 7)
    await contributors(s, "platform", LAST_WEEK, "shoutout", [f"U{n}" for n in TEAMS["platform"]])
    await bump(s, None, LAST_WEEK, "shoutout_given", 3)
    await contributors(s, None, LAST_WEEK, "shoutout", ["U1", "U17", "U18", "U19"])
    await s.command("U1", "tend index")
    assert facts(s)["Shout-outs per person"].startswith("hidden: fewer than 5 people gave shout-outs outside")
    await contributors(s, None, LAST_WEEK, "shoutout", ["U20"])  # the remainder now rests on 5 givers
    await s.command("U1", "tend index")
    assert facts(s)["Shout-outs per person"] == "0.50 per person"  # 10 / 20 people


async def test_this_weeks_signals_appear_once_the_week_is_over(s):
    for n in range(3, 8):
        await s.command(f"U{n}", f"kudos {mention(n + 1)} thanks for the review", place="C-platform")
    answer = await s.command("U2", "tend index")
    assert "No figures for week 2026-W47 yet" in answer
    s.clock.set(START + timedelta(days=6))  # Monday of 2026-W49
    answer = await s.command("U2", "tend index")
    assert "in week 2026-W48" in answer
    assert facts(s)["Shout-outs per person"] == "0.71 per person"  # 5 shout-outs, 7 people


async def test_the_chart_is_a_non_empty_png_attached_as_an_image(s):
    await example_week(s, "platform")
    await s.command("U1", "tend index platform 6")
    [image] = [b for b in card(s).blocks if isinstance(b, Image)]
    assert image.path is not None and image.url.startswith("file://")
    assert png_header(image.path) == b"\x89PNG\r\n\x1a\n"  # the file exists and is a non-empty PNG
    assert "2026-W42 to 2026-W47" in image.alt


async def test_each_chart_gets_an_unguessable_name_that_says_nothing_about_whom_it_shows(s):
    await example_week(s, "platform")
    names = []
    for _ in range(2):
        await s.command("U1", "tend index platform 6")
        [image] = [b for b in card(s).blocks if isinstance(b, Image)]
        assert image.path is not None
        names.append(Path(image.path).name)
    assert names[0] != names[1]  # the same question twice: two names, neither derivable from the other
    for name in names:
        assert charts.is_chart_name(name)
        assert "platform" not in name and "W47" not in name and "team" not in name


def test_a_charts_name_is_its_token_alone(tmp_path):
    token = "Zq3_-" + "x" * 17  # what secrets.token_urlsafe(16) gives: 22 URL-safe characters
    assert charts.chart_path(token, tmp_path) == tmp_path / f"index-{token}.png"
    assert charts.new_chart_path(tmp_path) != charts.new_chart_path(tmp_path)
    for bad in ("../../../etc/pass", "short", "x" * 21 + "/", "x" * 23):
        with pytest.raises(ValueError):
            charts.chart_path(bad, tmp_path)


def chart_written(folder: Path, when: datetime, token: str | None = None) -> Path:
    """A chart file whose last write was at ``when`` (os.utime: no waiting for time to pass)."""
    path = charts.chart_path(token, folder) if token else charts.new_chart_path(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"\x89PNG\r\n\x1a\n")
    os.utime(path, (when.timestamp(), when.timestamp()))
    return path


def test_charts_older_than_a_day_are_deleted_and_nothing_else(tmp_path):
    now = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    old = chart_written(tmp_path, now - timedelta(days=1, seconds=1))
    fresh = chart_written(tmp_path, now - timedelta(hours=23))
    other = tmp_path / "notes.png"  # an old PNG that is not a chart: not ours to delete
    other.write_bytes(b"keep")
    os.utime(other, (0, 0))
    assert charts.purge_old_charts(tmp_path, now) == 1
    assert not old.exists() and fresh.exists() and other.exists()
    assert charts.purge_old_charts(tmp_path / "never-created", now) == 0


async def test_the_schedulers_hourly_purge_deletes_old_charts(database, tmp_path):
    clock = FixedClock(START)
    scheduler = Scheduler(database, clock, charts=tmp_path)
    old = chart_written(tmp_path, START - timedelta(days=2))
    fresh = chart_written(tmp_path, START - timedelta(hours=23, minutes=45))
    await scheduler.tick()
    assert not old.exists() and fresh.exists()
    clock.advance(timedelta(minutes=30))  # ``fresh`` is now over a day old, but the purge is hourly
    await scheduler.tick()
    assert fresh.exists()
    clock.advance(timedelta(minutes=30))
    await scheduler.tick()
    assert not fresh.exists()


async def test_the_console_prints_where_the_chart_is(s):
    await example_week(s, "platform")
    await s.command("U1", "tend index platform 6")
    [image] = [b for b in card(s).blocks if isinstance(b, Image)]
    assert image.path is not None
    assert f"{image.alt}] {image.path}" in render_card(card(s))  # a path the person can open


# --- the weights in use --------------------------------------------------------------------------------

ADMIN_WEIGHTS = {**DEFAULT_WEIGHTS, "supportive": 0.5, "contagion": 0.0}


def with_weights(s: Scenario, weights: dict[str, float]) -> None:
    s.engine = Engine(s.database, s.clock, {"slack": s.sender}, index_weights=weights)


async def test_default_weights_add_nothing_to_the_card_or_the_export(s):
    with_weights(s, dict(DEFAULT_WEIGHTS))
    await example_week(s, "platform")
    await s.command("U1", "tend index platform 4")
    footer = card(s).blocks[-1]
    assert isinstance(footer, Fine) and "Formula v2.1" in footer.text
    assert "Weights" not in card(s).fallback
    await s.command("U1", "tend index export")
    [table, note] = card(s).blocks
    assert "Weights" not in note.text
    assert {row["weights"] for row in csv.DictReader(io.StringIO(table.text))} == {""}


async def test_weights_set_by_an_admin_are_named_on_the_card_and_in_the_export(s):
    with_weights(s, ADMIN_WEIGHTS)
    await example_week(s, "platform")
    await s.command("U1", "tend index platform 4")
    footer = card(s).blocks[-1]
    assert isinstance(footer, Fine) and "Formula v2.1" in footer.text
    assert (
        "Weights set by your admin: supportive=0.5, follow_through=0.2, participation=0.15, mood=0.1, "
        "unsupported=0.2, contagion=0, connection=0.1;" in footer.text
    )
    await s.command("U1", "tend index tiny")  # a hidden team's card names them too: same footer
    assert "Weights set by your admin" in card(s).blocks[-1].text
    await s.command("U1", "tend index export")
    [table, note] = card(s).blocks
    assert "Weights set by your admin: supportive=0.5" in note.text
    rows = list(csv.DictReader(io.StringIO(table.text)))
    expected = (
        "supportive=0.5,follow_through=0.2,participation=0.15,mood=0.1,unsupported=0.2,"
        "contagion=0,connection=0.1"
    )
    assert {row["weights"] for row in rows} == {expected}  # every row carries them, ready to paste back


# --- export ------------------------------------------------------------------------------------------


async def test_export_is_a_csv_with_the_same_suppression(s):
    await example_week(s, "platform")
    await bump(s, "tiny", LAST_WEEK, "shoutout_given", 3)
    await contributors(s, "tiny", LAST_WEEK, "shoutout", ["U15"])
    await s.command("U1", "tend index export")
    [table, note] = card(s).blocks
    assert "CSV" in note.text
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert len(rows) == 4 * 12  # the organisation and three teams, 12 finished weeks each
    by_group = {(row["group"], row["week"]): row for row in rows}
    platform = by_group[("platform", LAST_WEEK)]
    assert platform["people"] == "7" and platform["follow_through"] == "0.750"
    assert platform["support_requested"] == "5" and platform["formula_version"] == "2.1"
    assert platform["support_unanswered"] == "fewer than 5"
    tiny = by_group[("tiny", LAST_WEEK)]
    assert tiny["index"] == tiny["supportive"] == tiny["support_requested"] == tiny["people"] == ""
    assert "fewer than 5 people in tiny" in tiny["hidden"]
    org = by_group[("the organisation", LAST_WEEK)]
    assert org["people"] == "17" and org["follow_through"] == "0.750"  # tiny had no 1:1s: nothing to hide
    assert org["supportive"] == "" and "supportive: " in org["hidden"] and "subtraction" in org["hidden"]


async def test_a_manager_of_several_teams_is_asked_to_name_one(s):
    await s.command("U1", f"tend team manager design {mention(2)}")
    answer = await s.command("U2", "tend index")
    assert answer == "Name one of the teams you manage: design, platform. Example: `/tend index design 8`"
    await s.command("U2", "tend index design 1")
    assert card(s).title == "Compassion Index: design"
    assert "Index, last week (oldest first)" in card(s).fallback


async def test_sizes_counted_in_the_database_match_the_sizes_counted_from_member_sets(s):
    """The card counts people in SQL; the export and the maths tests count sets. Both must agree, and
    neither counts bots, deactivated accounts or accounts the platform never described."""
    await s.join("B1", "deploybot", is_bot=True)
    await s.command("U1", f"tend team add design {mention(2)} <@B1|deploybot>")  # overlap, and a bot refused
    await s.join("U18", "gone")
    await s.join("U19", "unknown")
    await s.command("U1", f"tend team add design {mention(18)} {mention(19)}")
    async with s.database.session() as session:
        for member in (await session.exec(select(Member))).all():
            if member.platform_user_id in ("U18", "U19"):
                member.deactivated = member.platform_user_id == "U18"
                member.profile_known = member.platform_user_id == "U18"
                session.add(member)
    org, teams = await ids(s)
    async with s.database.session() as session:
        workspace = (await session.exec(select(Workspace))).one()
        everyone = await practice.store.organization_people(session, org)
        team_people = await practice.store.team_people(session, org)
        ctx = practice.PracticeContext(session=session, workspace=workspace, actor=None, now=START)  # type: ignore[arg-type]
        ctx.min_group_size = 5
        assert len(everyone) == 17 and len(team_people[teams["design"]]) == 6  # U18, U19 are not people
        for asked in (None, [teams["design"]], [teams["tiny"]], [teams["platform"], teams["design"]]):
            counted = await practice._sizes(ctx, asked)
            from_sets = practice.maths.sizes_from_sets(asked, team_people, everyone)
            expected = (from_sets.organization, 0) if asked is None else (0, from_sets.union)
            assert (counted.organization, counted.union) == expected  # what each group needs
            assert dict(counted.teams) == dict(from_sets.teams)


async def test_an_unreadable_chart_folder_does_not_stop_the_scheduler(database, tmp_path, caplog):
    not_a_folder = tmp_path / "charts"
    not_a_folder.write_text("a file where the folder should be")
    scheduler = Scheduler(database, FixedClock(START), charts=not_a_folder)
    with caplog.at_level("WARNING", logger="tend.scheduler"):
        await scheduler.tick()  # returns: rituals keep firing
    assert any(r.getMessage() == "old index charts not purged" for r in caplog.records)


async def test_the_organisations_one_query_read_matches_the_counters_read_row_by_row(s):
    """The organisation's card sums every team's counters in SQL; the export reads them row by row.
    Both must give the same counters and the same standing for every team."""
    await example_week(s, "platform")
    await example_week(s, "design", "2026-W46")
    await bump(s, None, LAST_WEEK, "opener_answer", 6, 25.0)
    await bump(s, "tiny", LAST_WEEK, "stress_support_requested", 2)
    await contributors(s, None, LAST_WEEK, "shoutout", ["U1", "U17"])
    org, _ = await ids(s)
    weeks = ["2026-W46", LAST_WEEK]
    async with s.database.session() as session:
        rows = await practice.store.team_week_counters(
            session, org, weeks, practice.maths.KINDS, practice.maths.VALUED
        )
        one_query, standings = practice.maths.organization_rollups(rows, practice.store.ALL_TEAMS)
        by_row = practice.maths.rollup(await practice.store.signals_for_weeks(session, org, weeks))
    for week in weeks:
        expected = practice.maths.counters_for(by_row, None, week)
        found = one_query[(practice.store.ALL_TEAMS, week)]
        assert {k: v for k, v in found.items() if k in practice.maths.KINDS} == {
            k: v for k, v in expected.items() if k in practice.maths.KINDS
        }
    assert standings == practice.maths.standings_from(by_row)
    assert standings[(signals.WHOLE_ORGANISATION, LAST_WEEK)][1] == 8  # 6 givers + U1 + U17, once each
