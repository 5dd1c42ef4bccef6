"""The index against an attacker: no figure may rest on fewer than min_group_size people, directly or by
subtraction.

The attacker has a database dump (so the public shout-outs and who runs 1:1s), every card and CSV row
Tend shows, the list of members and teams, and may be in a team. Each test plays one attack: it reads
what Tend releases, computes what subtraction yields, and checks that nothing pins fewer than 5 people.
End-to-end tests run on SQLite and PostgreSQL; the rule itself is also checked as pure functions.
"""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from alembic import command
from sqlalchemy import text
from sqlmodel import col, select

from practices import compassion_index as practice
from practices import compassion_index_maths as maths
from practices import signals
from practices.messages import Facts, Reply
from storage import signals as signal_store
from storage.compassion_index import signals_for_weeks
from storage.db import Database
from storage.migrate import alembic_config, upgrade
from storage.models import Contributor, Member, Shoutout, Team, TeamMembership, Workspace
from tests.scenario import Scenario
from tests.test_one_on_ones import nudges

MIN = 5
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday of 2026-W48
LAST_WEEK, THIS_WEEK = "2026-W47", "2026-W48"
IN_LAST_WEEK = datetime(2026, 11, 18, 11, 0, tzinfo=UTC)  # Wednesday of 2026-W47
ORGANISATION = practice.ORGANISATION

# platform: U2 (manager) .. U8, 7 people; design: U9 (manager) .. U14, 6 people; tiny: U15, U16.
# U1 (the admin) and U17 are in no team.
TEAMS = {"platform": range(2, 9), "design": range(9, 15), "tiny": range(15, 17)}


def mention(n: int | str) -> str:
    user = n if isinstance(n, str) else f"U{n}"
    return f"<@{user}|{user.lower()}>"


async def set_flags(s: Scenario, users: list[str], **values: bool) -> None:
    """What the platform told Tend about these accounts (looked up, deactivated, a bot)."""
    async with s.database.session() as session:
        query = select(Member).where(col(Member.platform_user_id).in_(users))
        for member in (await session.exec(query)).all():
            for name, value in values.items():
                setattr(member, name, value)
            session.add(member)


async def person(s: Scenario, user: str) -> None:
    """A human whose profile the platform gave Tend."""
    await s.join(user, user.lower())
    await set_flags(s, [user], profile_known=True)


@pytest.fixture
async def s(database) -> Scenario:
    scenario = Scenario(database, START, min_group_size=MIN)
    for n in range(1, 18):
        await person(scenario, f"U{n}")
    await scenario.platform_admin("U1")
    for name, people in TEAMS.items():
        await scenario.command("U1", f"tend team create {name} #C-{name}")
        await scenario.command("U1", f"tend team add {name} " + " ".join(mention(n) for n in people))
        await scenario.command("U1", f"tend team manager {name} {mention(people[0])}")
    return scenario


async def ids(s: Scenario) -> tuple[int, dict[str, int], dict[str, int]]:
    """The organisation id, team ids by name and member ids by platform id."""
    async with s.database.session() as session:
        workspace = (await session.exec(select(Workspace))).one()
        teams = {team.name: team.id or 0 for team in (await session.exec(select(Team))).all()}
        members = {m.platform_user_id: m.id or 0 for m in (await session.exec(select(Member))).all()}
    return workspace.organization_id, teams, members


async def bump(s: Scenario, team: str | None, kind: str, count: int = 1, week: str = LAST_WEEK) -> None:
    """A counter as a practice records it (stress reports and check-ins are recorded by their own)."""
    org, teams, _ = await ids(s)
    async with s.database.session() as session:
        await signal_store.bump(session, org, teams[team] if team else 0, week, kind, count=count)


async def thanks(s: Scenario, givers: list[str], team: str, when: datetime = IN_LAST_WEEK) -> None:
    """Each giver thanks the next person in the team's channel, at ``when``."""
    back = s.clock.now()
    s.clock.set(when)
    for giver in givers:
        await s.command(giver, f"kudos {mention('U1')} thanks for the help", place=f"C-{team}")
    s.clock.set(back)


async def one_on_ones(s: Scenario, manager: str, team: str, sent: int, done: int) -> None:
    """A manager's 1:1 nudges last week, recorded as practices.one_on_ones records them."""
    org, teams, members = await ids(s)
    async with s.database.session() as session:
        await signals.record(session, org, teams[team], IN_LAST_WEEK, "nudge_sent", count=sent)
        await signals.record(session, org, teams[team], IN_LAST_WEEK, "nudge_done", count=done)
        await signals.contributed(
            session, signals.sealing.PROCESS_KEY, org, teams[team], IN_LAST_WEEK, "nudge", members[manager]
        )


def card(s: Scenario):
    [reply] = [a for a in s.last_answers if isinstance(a, Reply)]
    return reply.card


def facts(s: Scenario) -> dict[str, str]:
    blocks = [b for b in card(s).blocks if isinstance(b, Facts)]
    return {fact.label: fact.value for block in blocks for fact in block.facts}


async def export(s: Scenario, week: str = LAST_WEEK) -> dict[str, dict[str, str]]:
    """The admin's CSV export: group → its row for ``week``."""
    await s.command("U1", "tend index export")
    rows = csv.DictReader(io.StringIO(card(s).blocks[0].text))
    return {row["group"]: row for row in rows if row["week"] == week}


def number(value: str) -> float | None:
    return float(value) if value and value[0].isdigit() else None


def readable(figure: str) -> bool:
    """A fact line that carries a figure (not "no data", not "hidden: …")."""
    return figure != practice.NO_COMPONENT_DATA and not figure.startswith("hidden")


def subtract(rows: dict[str, dict[str, str]], column: str, per_person: bool = False) -> float | None:
    """The organisation minus every team shown on its own: what subtraction leaves. None if the
    organisation's figure is hidden. Per-person figures are turned back into counts with the people
    column, as the attacker would."""

    def amount(row: dict[str, str]) -> float | None:
        value = number(row[column])
        if value is None or not per_person:
            return value
        people = number(row["people"])
        return None if people is None else value * people

    total = amount(rows[ORGANISATION])
    if total is None:
        return None
    shown = [amount(row) for group, row in rows.items() if group != ORGANISATION]
    return round(total - sum(v for v in shown if v is not None), 1)


# --- 1. answers are not people --------------------------------------------------------------------


async def tap_every_weekday(s: Scenario, user: str, place: str) -> None:
    """A daily check-in in ``place`` for the five weekdays of last week; only ``user`` answers."""
    s.clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))  # Monday of 2026-W47
    await s.command("U1", f"tend ritual add opener <#{place}|{place}> mon,tue,wed,thu,fri 09:00 UTC")
    for day in range(5):
        s.clock.set(datetime(2026, 11, 16 + day, 9, 5, tzinfo=UTC))
        await s.tick()
        post = s.sender.posts(place)[-1]
        answer = next(b for b in post.card.buttons if b.action == "opener.answer")
        await s.click(user, "opener.answer", answer.value, post.ref, place=place)
        s.clock.set(datetime(2026, 11, 16 + day, 21, 10, tzinfo=UTC))
        await s.tick()  # closes the check-in: its answers become counters
    s.clock.set(START)


async def test_one_person_answering_five_check_ins_unlocks_no_opener_figure(s):
    await tap_every_weekday(s, "U3", "C-platform")
    await s.command("U1", "tend index platform")
    shown = facts(s)
    assert shown["Opener participation"].startswith("hidden: no check-in that week had 5 or more answers")
    assert shown["Opener mean score"].startswith("hidden")
    rows = await export(s)
    assert rows["platform"]["mood"] == rows[ORGANISATION]["mood"] == ""
    assert rows["platform"]["participation"] == rows[ORGANISATION]["participation"] == ""


async def test_check_in_answers_counted_before_the_upgrade_stay_hidden(empty_database_url):
    """Before migration 0004 every check-in's answers were counted, so five of one person's answers
    looked like five people; those counters are never shown again, and a downgrade gets them back."""
    config = alembic_config(empty_database_url)
    await asyncio.to_thread(command.upgrade, config, "0003")
    database = Database(empty_database_url)
    try:
        async with database.session() as session:
            await session.exec(
                text("INSERT INTO organization (id, name, created_at) VALUES (1, 'Acme', '2026-11-01')")  # type: ignore[call-overload]
            )
            for kind, count, value in [("opener_answer", 5, 20.0), ("opener_occurrence", 5, 0.0)]:
                await session.exec(
                    text(  # type: ignore[call-overload]
                        "INSERT INTO signal (organization_id, team_id, week, kind, count, value_sum) "
                        f"VALUES (1, 7, '{LAST_WEEK}', '{kind}', {count}, {value})"
                    )
                )
        await upgrade(empty_database_url)
        async with database.session() as session:
            rollups = maths.rollup(await signals_for_weeks(session, 1, [LAST_WEEK]))
        evidence = maths.Evidence(maths.standings_from(rollups), {7: 8})
        group = maths.Group("platform", frozenset({7}), 8)
        counters = maths.counters_for(rollups, [7], LAST_WEEK)
        week = maths.Policy(MIN).week_figures(group, counters, evidence, LAST_WEEK, THIS_WEEK)
        assert "mood" not in week.figures or week.figures["mood"].raw is None
        assert week.figures["participation"].raw is None
        await asyncio.to_thread(command.downgrade, config, "0003")
        async with database.session() as session:
            rows = (await session.exec(text("SELECT kind, count, value_sum FROM signal ORDER BY kind"))).all()  # type: ignore[call-overload]
        assert [tuple(row) for row in rows] == [("opener_answer", 5, 20.0), ("opener_occurrence", 5, 0.0)]
    finally:
        await database.dispose()


# --- 2. only people count, and only the people of that week -------------------------------------------

PADDING = ["a bot", "a deactivated account", "an account never looked up", "a real new person"]


async def pad(s: Scenario, team: str, how: str) -> None:
    """A manager makes a team of 4 look like 5 today."""
    if how == "a bot":
        await s.join("B1", "deploybot", is_bot=True)  # /tend team add refuses bots; the row is forced
        _, teams, members = await ids(s)
        async with s.database.session() as session:
            session.add(TeamMembership(team_id=teams[team], member_id=members["B1"]))
        return
    await person(s, "U30")
    if how == "a deactivated account":
        await set_flags(s, ["U30"], deactivated=True)
    elif how == "an account never looked up":
        await set_flags(s, ["U30"], profile_known=False)
    await s.command("U1", f"tend team add {team} {mention('U30')}")


@pytest.mark.parametrize("how", PADDING)
async def test_padding_a_team_of_four_reveals_nothing_of_last_week(s, how):
    four = [f"U{n}" for n in range(20, 24)]
    for user in four:
        await person(s, user)
    await s.command("U1", "tend team create four #C-four")
    await s.command("U1", "tend team add four " + " ".join(mention(u) for u in four))
    await s.command("U1", f"tend team manager four {mention('U20')}")
    await thanks(s, four, "four")  # all four gave shout-outs last week
    await one_on_ones(s, "U20", "four", sent=3, done=2)
    await bump(s, "four", "opener_occurrence", 2)
    await bump(s, "four", "opener_answer_few", 8)  # all four answered both check-ins
    await pad(s, "four", how)

    answer = await s.command("U1", "tend index four 1")
    assert [label for label, figure in facts(s).items() if readable(figure)] == []
    assert "/ 100" not in answer  # no index either
    row = (await export(s))["four"]
    assert all(row[c] == "" for c in ("index", *maths.COMPONENTS, "support_requested"))


async def test_a_person_joining_counts_from_the_week_they_act_in(s):
    """A team of 4 gains a fifth: last week stays hidden; the week all five act is shown once it ends."""
    four = [f"U{n}" for n in range(20, 24)]
    for user in [*four, "U24"]:
        await person(s, user)
    await s.command("U1", "tend team create four #C-four")
    await s.command("U1", "tend team add four " + " ".join(mention(u) for u in four))
    await thanks(s, four, "four")
    await s.command("U1", f"tend team add four {mention('U24')}")  # joins this week
    await s.command("U1", "tend index four 1")
    assert facts(s)["Shout-outs per person"].startswith("hidden: fewer than 5 people gave shout-outs")
    await thanks(s, [*four, "U24"], "four", when=START)
    s.clock.set(START + timedelta(days=7))  # 2026-W49: this week is over
    await s.command("U1", "tend index four 1")
    assert facts(s)["Shout-outs per person"] == "1.00 per person"  # 5 shout-outs, 5 people


async def test_a_person_leaving_hides_the_team_and_subtraction_still_rests_on_five(s):
    five = [f"U{n}" for n in range(20, 25)]
    for user in five:
        await person(s, user)
    await s.command("U1", "tend team create five #C-five")
    await s.command("U1", "tend team add five " + " ".join(mention(u) for u in five))
    for team, people in TEAMS.items():
        await thanks(s, [f"U{n}" for n in people], team)
    await thanks(s, five, "five")
    await s.command("U1", "tend index five 1")
    assert facts(s)["Shout-outs per person"] == "1.00 per person"
    await s.command("U1", f"tend team remove five {mention('U24')}")  # U24 leaves the team
    answer = await s.command("U1", "tend index five 1")
    assert "Hidden: fewer than 5 people in five" in answer  # even the week when they were five
    rows = await export(s)
    # The organisation is shown: what subtraction leaves is the 7 shout-outs of tiny and five together,
    # from 7 different people (the one who left among them), never five's four alone.
    assert subtract(rows, "supportive", per_person=True) == 7


# --- 3. the organisation minus its teams ---------------------------------------------------------------


async def test_subtraction_never_isolates_a_small_teams_shout_outs(s):
    """Teams of 7 and 6 all give thanks; in tiny one person does; 5 people in no team do nothing."""
    for n in range(18, 21):
        await person(s, f"U{n}")  # people outside the visible teams: U1, U17, U18-U20 and tiny's 2
    await thanks(s, [f"U{n}" for n in TEAMS["platform"]], "platform")
    await thanks(s, [f"U{n}" for n in TEAMS["design"]], "design")
    await thanks(s, ["U15", "U15", "U15"], "tiny")  # three shout-outs, one person
    rows = await export(s)
    assert number(rows["platform"]["supportive"]) and number(rows["design"]["supportive"])
    for column in ("supportive", "contagion"):
        assert subtract(rows, column, per_person=column == "supportive") is None, column
    await s.command("U1", "tend index")
    assert facts(s)["Shout-outs per person"].startswith(
        "hidden: fewer than 5 people gave shout-outs outside the teams shown on their own"
    )


async def test_subtraction_never_isolates_the_person_in_no_team_who_asked_for_support(s):
    """One request in platform was answered; the one from the person in no team was not."""
    for n in range(18, 21):
        await person(s, f"U{n}")
    await bump(s, "platform", "stress_support_requested")
    await bump(s, "platform", "stress_supported")
    await bump(s, None, "stress_support_requested")
    await bump(s, None, "stress_unsupported")
    rows = await export(s)
    for column in ("support_requested", "support_unanswered", "unsupported"):
        assert [row[column] for row in rows.values()] == [""] * len(rows), column
    for target in ["", " platform", " design"]:
        answer = await s.command("U1", "tend index" + target + " 1")
        assert "asked for support" not in answer


async def test_a_team_with_one_manager_never_shows_that_managers_own_rate(s):
    """Platform's manager ran 1:1s, and five people thanked someone. The dump shows the shout-outs."""
    await thanks(s, ["U3", "U4", "U5", "U6", "U7"], "platform")
    await one_on_ones(s, "U2", "platform", sent=4, done=3)
    await s.command("U1", "tend index platform 1")
    shown = facts(s)
    assert shown["1:1 follow-through"].startswith("hidden: fewer than 5 managers had 1:1 nudges")
    async with s.database.session() as session:
        public = len((await session.exec(select(Shoutout))).all())  # what the dump tells the attacker
    per_person = float(shown["Shout-outs per person"].split()[0])
    assert round(per_person * 7 - public) == 0  # nothing but the public shout-outs is in it
    rows = await export(s)
    assert rows[ORGANISATION]["follow_through"] == ""  # the organisation has one manager with 1:1s too


async def test_five_managers_make_follow_through_readable(s):
    for team in ("platform", "design"):
        await thanks(s, [f"U{n}" for n in TEAMS[team]], team)
    managers = ["U2", "U3", "U4", "U5", "U6"]
    for manager in managers:
        await one_on_ones(s, manager, "platform", sent=2, done=1)
    await s.command("U1", "tend index platform 1")
    assert facts(s)["1:1 follow-through"] == "50%"


# --- 4. small counts are never written as numbers ----------------------------------------------------


async def test_a_count_below_the_minimum_is_written_as_fewer_than_five(s):
    await bump(s, "platform", "stress_support_requested", 7)
    await bump(s, "platform", "stress_supported", 5)
    await bump(s, "platform", "stress_unsupported", 2)
    answer = await s.command("U1", "tend index platform 1")
    assert "7 people asked for support in week 2026-W47 and fewer than 5 got none within 48 hours." in answer
    row = (await export(s))["platform"]
    assert (row["support_requested"], row["support_unanswered"]) == ("7", "fewer than 5")


async def test_one_request_is_never_written_in_words(s):
    await bump(s, "platform", "stress_support_requested")
    await bump(s, "platform", "stress_unsupported")
    answer = await s.command("U1", "tend index platform 1")
    assert "1 person" not in answer and "asked for support" not in answer
    assert facts(s)["Support requests left unanswered"].startswith("hidden: fewer than 5 support requests")
    row = (await export(s))["platform"]
    assert row["support_requested"] == row["support_unanswered"] == ""


# --- what is stored to count people ---------------------------------------------------------------------


async def test_contributors_are_counted_once_and_stored_without_who_they_are(s):
    await thanks(s, ["U3", "U3", "U4"], "platform")
    await thanks(s, ["U3"], "platform", when=START)
    _, _, members = await ids(s)
    async with s.database.session() as session:
        stored = (await session.exec(select(Contributor))).all()
    rows = [row for row in stored if row.team_id != signals.WHOLE_ORGANISATION]
    assert sorted((row.week, row.family) for row in rows) == [
        (LAST_WEEK, "shoutout"),
        (LAST_WEEK, "shoutout"),
        (THIS_WEEK, "shoutout"),
    ]
    assert len({row.key for row in rows}) == 3  # U3's key changes with the week: weeks cannot be linked
    for row in stored:
        assert row.key not in {str(members["U3"]), str(members["U4"]), "U3", "U4"}
    # Each person also counts once for the whole organisation, under the same key.
    whole = {(row.week, row.key) for row in stored if row.team_id == signals.WHOLE_ORGANISATION}
    assert whole == {(row.week, row.key) for row in rows}


async def test_a_managers_done_and_skipped_look_the_same_in_what_is_stored(s):
    """Pressing Done or Skipped both count the manager once; the row never tells which."""
    s.clock.set(datetime(2026, 11, 16, 8, 0, tzinfo=UTC))
    await s.command("U2", f"tend 1on1 add {mention('U3')} wed 10:00")
    await s.command("U2", f"tend 1on1 add {mention('U4')} thu 10:00")
    for moment in ("2026-11-17 10:00", "2026-11-18 09:00", "2026-11-18 10:00", "2026-11-19 09:00"):
        s.clock.set(datetime.fromisoformat(moment).replace(tzinfo=UTC))
        await s.tick()
    first, second = nudges(s, "U2")
    await s.click("U2", "1on1.done", first.card.buttons[0].value)
    await s.click("U2", "1on1.skipped", second.card.buttons[1].value)
    async with s.database.session() as session:
        rows = (await session.exec(select(Contributor))).all()
    assert sorted((row.week, row.family, row.team_id) for row in rows) == [
        (LAST_WEEK, "nudge", signals.WHOLE_ORGANISATION),
        (LAST_WEEK, "nudge", (await ids(s))[1]["platform"]),
    ]


# --- the rule as pure functions ---------------------------------------------------------------------------

A, B, C = 1, 2, 3


def evidence_of(rows: dict[int, dict[str, int]], sizes: dict[int, int]) -> maths.Evidence:
    rollups = {
        (team, LAST_WEEK): {kind: maths.Tally(count) for kind, count in kinds.items()}
        for team, kinds in rows.items()
    }
    return maths.Evidence(maths.standings_from(rollups), sizes)


ORG = maths.Group(ORGANISATION, None, 30)
POLICY = maths.Policy(MIN)


def shoutouts(givers: int, given: int | None = None) -> dict[str, int]:
    return {"shoutout_given": given or givers, "contributor_shoutout": givers}


def test_the_organisation_is_shown_when_what_subtraction_leaves_has_no_data():
    evidence = evidence_of({A: shoutouts(7), B: shoutouts(6), C: {}}, {A: 7, B: 6, C: 2})
    assert POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown


def test_the_organisation_is_hidden_when_a_hidden_team_is_all_that_subtraction_leaves():
    evidence = evidence_of({A: shoutouts(7), B: shoutouts(6), C: shoutouts(1, 3)}, {A: 7, B: 6, C: 2})
    release = POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS)
    assert not release.shown and release.hidden is not None and "subtraction" in release.hidden


def test_a_small_team_with_enough_people_acting_in_it_may_be_pooled():
    """Tiny has 2 people, but 5 others thanked people in its channel: the pool rests on 5."""
    evidence = evidence_of({A: shoutouts(7), C: shoutouts(5)}, {A: 7, C: 2})
    assert POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown


def test_pools_of_several_hidden_teams_are_counted_as_distinct_people():
    """Three hidden teams with 2 givers each: 6 people, or 2 if the same two acted in all three."""
    rows = {A: shoutouts(7), B: shoutouts(2), C: shoutouts(2), 0: shoutouts(2)}
    evidence = evidence_of(rows, {A: 7, B: 2, C: 2})
    [pool] = POLICY.pools(ORG, evidence, [LAST_WEEK])
    assert pool.teams == frozenset({B, C, 0}) and pool.shown == frozenset({A}) and pool.family == "shoutout"
    for distinct, shown in [(6, True), (2, False)]:
        evidence.pooled = {pool: distinct}
        assert POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown is shown
    evidence.pooled = {}
    assert not POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown  # unknown: hidden


def test_support_figures_need_five_requests_and_none_looks_like_too_few():
    """Saying "no data" for a week without requests would tell "hidden" weeks had one to four."""
    team = maths.Group("a", frozenset({A}), 7)
    too_few = "fewer than 5 support requests that week; hidden to keep them anonymous"
    for requests in (0, 1, 4):
        kinds = {"stress_support_requested": requests} if requests else {"shoutout_given": 1}
        release = POLICY.release(team, evidence_of({A: kinds}, {A: 7}), LAST_WEEK, THIS_WEEK, maths.SUPPORT)
        assert release == maths.Release(False, too_few)
    evidence = evidence_of({A: {"stress_support_requested": 5}}, {A: 7})
    assert POLICY.release(team, evidence, LAST_WEEK, THIS_WEEK, maths.SUPPORT).shown


def whole(givers: int) -> dict[str, int]:
    """The organisation's own count: each person once, whatever teams they acted in."""
    return {"contributor_shoutout": givers}


def test_the_organisations_own_count_settles_a_pool_without_counting_it():
    """With no team shown on its own, the pool is everyone: the organisation's own count is exact."""
    rows = {A: shoutouts(4), B: shoutouts(3), signals.WHOLE_ORGANISATION: whole(4)}
    evidence = evidence_of(rows, {A: 7, B: 6})
    assert POLICY.pools(ORG, evidence, [LAST_WEEK]) == []
    assert not POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown  # the same 4
    rows[signals.WHOLE_ORGANISATION] = whole(7)
    evidence = evidence_of(rows, {A: 7, B: 6})
    assert POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown


def test_the_organisations_own_count_bounds_what_subtraction_leaves():
    """12 people in all, 7 of them in the shown team: at least 5 acted outside it."""
    rows = {A: shoutouts(7), B: shoutouts(3), C: shoutouts(3), signals.WHOLE_ORGANISATION: whole(12)}
    evidence = evidence_of(rows, {A: 7, B: 2, C: 2})
    assert POLICY.pools(ORG, evidence, [LAST_WEEK]) == []
    assert POLICY.release(ORG, evidence, LAST_WEEK, THIS_WEEK, maths.SHOUTOUTS).shown
    rows[signals.WHOLE_ORGANISATION] = whole(10)  # B's and C's people may be A's: count them
    evidence = evidence_of(rows, {A: 7, B: 2, C: 2})
    [pool] = POLICY.pools(ORG, evidence, [LAST_WEEK])
    assert pool.teams == frozenset({B, C})


def test_the_organisations_support_figures_never_tell_whether_anyone_outside_the_shown_teams_asked():
    """Were the organisation shown whenever nobody outside the shown teams asked, a hidden one would
    say that someone there had (the person in no team, say). Both read alike; 5 requests show it."""
    seen = []
    for outside in (0, 2, 5):
        rows = {A: {"stress_support_requested": 6}, 0: {"stress_support_requested": outside}}
        release = POLICY.release(ORG, evidence_of(rows, {A: 7}), LAST_WEEK, THIS_WEEK, maths.SUPPORT)
        seen.append(release)
    assert seen[0] == seen[1] and not seen[0].shown and "outside the teams shown" in (seen[0].hidden or "")
    assert seen[2].shown
    pair = maths.Group("a and b", frozenset({A, B}), 13)
    for b_requests in (0, 2):
        rows = {A: {"stress_support_requested": 6}, B: {"stress_support_requested": b_requests}}
        evidence = evidence_of(rows, {A: 7, B: 6})
        assert not POLICY.release(pair, evidence, LAST_WEEK, THIS_WEEK, maths.SUPPORT).shown
