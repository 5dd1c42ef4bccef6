"""Culture carriers for newcomers: the choice of carrier (pure), then the whole flow on each platform."""

from __future__ import annotations

import json
from datetime import date, time, timedelta
from zoneinfo import ZoneInfo

from adapters.console.repl import build_console
from bot.clock import FixedClock, ShiftedClock
from bot.engine import Engine
from bot.events import MemberSeen
from practices.carrier_choice import Candidate, Newcomer, choose_carrier, weekly_overlap
from practices.hours import WorkingHours
from storage import carriers as carrier_store
from storage.db import Database
from storage.identity import find_member
from storage.models import NewcomerPairing
from tests import test_msteams, test_slack
from tests.fakes import Sent
from tests.helpers import at
from tests.scenario import Scenario
from tests.test_slack_events import post_event
from tests.test_slack_home import user_event

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")
ON = date(2026, 12, 7)


def hours(zone: str = "Europe/London", start: int = 9, end: int = 17) -> WorkingHours:
    return WorkingHours(zone, WEEKDAYS, time(start), time(end))


def newcomer(teams: tuple[int, ...] = (1,), zone: str = "Europe/London") -> Newcomer:
    return Newcomer(100, frozenset(teams), hours(zone))


def carrier(
    member_id: int,
    teams: tuple[int, ...] = (2,),
    load: int = 0,
    cap: int = 3,
    zone: str = "Europe/London",
    available: bool = True,
) -> Candidate:
    return Candidate(member_id, frozenset(teams), hours(zone), load, cap, available)


def test_a_carrier_from_another_team_is_preferred() -> None:
    assert choose_carrier(newcomer((1,)), [carrier(1, (1,)), carrier(2, (2,))], ON) == 2


def test_the_least_loaded_carrier_is_chosen_and_a_full_one_never() -> None:
    assert choose_carrier(newcomer(), [carrier(1, load=2), carrier(2, load=1)], ON) == 2
    assert choose_carrier(newcomer(), [carrier(1, load=3, cap=3)], ON) is None
    # the same team beats a full carrier from another team
    assert choose_carrier(newcomer((1,)), [carrier(1, (2,), load=3, cap=3), carrier(2, (1,))], ON) == 2


def test_load_counts_relative_to_the_cap() -> None:
    assert choose_carrier(newcomer(), [carrier(1, load=1, cap=2), carrier(2, load=2, cap=8)], ON) == 2


def test_nobody_out_of_office_or_paused_and_never_the_newcomer_themself() -> None:
    assert choose_carrier(newcomer(), [carrier(1, available=False)], ON) is None
    assert choose_carrier(newcomer(), [carrier(100)], ON) is None


def test_overlapping_working_hours_beat_another_team_and_a_lighter_load() -> None:
    far = carrier(1, (2,), load=0, zone="Pacific/Auckland")
    near = carrier(2, (1,), load=2, zone="Europe/Paris")
    assert choose_carrier(newcomer((1,)), [far, near], ON) == 2
    # with nobody overlapping, someone still welcomes them
    assert choose_carrier(newcomer((1,)), [far], ON) == 1


def test_weekly_overlap_is_measured_in_each_persons_own_zone() -> None:
    london, paris = hours("Europe/London"), hours("Europe/Paris")
    assert weekly_overlap(london, london, ON) == timedelta(hours=40)
    assert weekly_overlap(london, paris, ON) == timedelta(hours=35)  # Paris is an hour ahead
    assert weekly_overlap(london, hours("Pacific/Auckland"), ON) == timedelta(0)


def test_ties_are_deterministic_and_spread_across_equal_carriers() -> None:
    equal = [carrier(member_id) for member_id in range(1, 6)]
    first = choose_carrier(newcomer(), equal, ON)
    assert first == choose_carrier(newcomer(), list(reversed(equal)), ON)
    chosen = {choose_carrier(Newcomer(n, frozenset(), hours()), equal, ON) for n in range(100, 140)}
    assert len(chosen) > 1  # not always the lowest id


# --- the flow, on each database -------------------------------------------------------------------------

MONDAY = at("2025-03-03 09:00")  # 09:00 in London and UTC; 10:00 in Berlin


async def newcomer_joins(s: Scenario, user: str, name: str, tz: str = "Europe/Berlin") -> None:
    """The platform says someone joined (Slack ``team_join``, Teams ``membersAdded``)."""
    s.names[user] = name
    await s._handle(MemberSeen(s.origin(user, None, tz=tz), display_name=name, time_zone=tz, joined=True))


async def with_carriers(
    database: Database, *carriers: tuple[str, str, str], cap: int | None = None
) -> Scenario:
    s = Scenario(database, MONDAY)
    await s.join("UADMIN", "ana", "Europe/London", admin=True)
    for user, name, tz in carriers:
        await s.join(user, name, tz)
    mentions = " ".join(f"<@{user}>" for user, _, _ in carriers)
    answer = await s.command("UADMIN", f"tend carriers add {mentions}" + (f" cap {cap}" if cap else ""))
    assert "will welcome newcomers" in answer
    s.sender.sent.clear()  # the carriers' welcome notes
    s.clock.advance(timedelta(minutes=1))  # 09:01: past the pacing of the welcome notes
    return s


def local_hour(sent: Sent, tz: str) -> float:
    assert sent.at is not None
    moment = sent.at.astimezone(ZoneInfo(tz))
    return moment.hour + moment.minute / 60


async def pairing_of(database: Database, user: str) -> NewcomerPairing | None:
    async with database.session() as session:
        newcomer = await find_member(session, 1, user)
        assert newcomer is not None and newcomer.id is not None
        return await carrier_store.pairing_of_newcomer(session, newcomer.id)


async def test_a_newcomer_is_paired_and_both_are_introduced_privately_in_their_own_working_hours(
    database: Database,
) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"))
    s.clock.set(at("2025-03-03 18:00"))  # 18:00 in London, 19:00 in Tokyo... evening for everyone
    await newcomer_joins(s, "UNEW", "noa", tz="Asia/Tokyo")
    assert s.sender.directs() == []  # nobody is written to in the evening

    await s.run_until(at("2025-03-04 10:00"), step=timedelta(minutes=30))
    [to_newcomer] = s.sender.directs("UNEW")
    [to_carrier] = s.sender.directs("UCY")
    assert to_newcomer.card.title == "Welcome! Meet your culture carrier"
    assert "@cy is one of the people here who help newcomers" in to_newcomer.card.fallback
    assert to_carrier.card.title == "A newcomer to welcome"
    assert "@noa just joined, and you're their culture carrier" in to_carrier.card.fallback
    assert 9 <= local_hour(to_newcomer, "Asia/Tokyo") < 17.5
    assert 9 <= local_hour(to_carrier, "Europe/London") < 17.5

    await newcomer_joins(s, "UNEW", "noa", tz="Asia/Tokyo")  # told again (a redelivery): nothing new
    await s.advance(hours=1)
    assert len(s.sender.directs("UNEW")) == 1 and len(s.sender.directs("UCY")) == 1


async def test_check_ins_come_at_1_4_and_12_weeks_in_working_hours_and_either_of_them_can_end_them(
    database: Database,
) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"))
    await newcomer_joins(s, "UNEW", "noa")
    assert len(s.sender.directs("UNEW")) == 1  # the introduction: 10:00 in Berlin
    pairing = await pairing_of(database, "UNEW")
    assert pairing is not None

    s.clock.set(at("2025-03-10 08:59"))  # six days and 23:59 on: nothing yet
    await s.tick()
    assert len(s.sender.directs("UNEW")) == 1
    s.clock.set(at("2025-03-10 09:01"))
    await s.tick()
    [checkin] = s.sender.directs("UNEW")[1:]
    [carrier_checkin] = s.sender.directs("UCY")[1:]
    assert checkin.card.title == "How is settling in going?"
    assert "It's been about a week since you joined" in checkin.card.fallback
    assert "since @noa joined. How is it going from your side?" in carrier_checkin.card.fallback
    assert [b.label for b in checkin.card.buttons] == [
        "Going well",
        "Could use a hand",
        "End these check-ins",
    ]

    s.clock.advance(timedelta(minutes=10))  # they read it a little later
    well = checkin.card.buttons[0]
    assert "Glad to hear it" in await s.click("UNEW", well.action, well.value, direct=True)
    assert "Glad to hear it" in await s.click("UCY", well.action, well.value, direct=True)  # counted once
    hand = checkin.card.buttons[1]
    assert "I've asked @cy to reach out" in await s.click("UNEW", hand.action, hand.value, direct=True)
    [note] = s.sender.directs("UCY")[2:]
    assert "@noa could use a hand settling in" in note.card.fallback
    assert "only" in await s.click("UOTHER", well.action, well.value, direct=True)  # not theirs

    s.clock.set(at("2025-03-31 20:00"))  # four weeks on, in the evening: held until the morning
    await s.tick()
    assert len(s.sender.directs("UNEW")) == 2
    s.clock.set(at("2025-04-01 07:00"))  # 09:00 in Berlin (summer time), 08:00 in London
    await s.tick()
    [second] = s.sender.directs("UNEW")[2:]
    assert "about 4 weeks since you joined" in second.card.fallback
    assert 9 <= local_hour(second, "Europe/Berlin") < 17.5
    assert len(s.sender.directs("UCY")) == 3  # the carrier's waits for 09:00 in London
    s.clock.set(at("2025-04-01 08:00"))
    await s.tick()
    [carrier_second] = s.sender.directs("UCY")[3:]
    assert 9 <= local_hour(carrier_second, "Europe/London") < 17.5

    end = carrier_checkin.card.buttons[2]
    assert "no more settling-in check-ins" in await s.click("UCY", end.action, end.value, direct=True)
    assert "already ended" in await s.click("UNEW", end.action, end.value, direct=True)
    s.clock.set(at("2025-05-27 09:00"))  # twelve weeks: nothing more
    await s.tick()
    assert len(s.sender.directs("UNEW")) == 3 and len(s.sender.directs("UCY")) == 4

    coverage = await s.command("UADMIN", "tend carriers list")
    assert (
        "1 newcomer(s) paired (0 now), 0 waiting for a carrier; 1 of 2 check-ins answered; 1 ended early"
        in (coverage)
    )


async def test_the_last_check_in_ends_the_pairing_and_frees_the_carrier(database: Database) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"))
    await newcomer_joins(s, "UNEW", "noa")
    for day in ("2025-03-10", "2025-03-31", "2025-05-26"):
        s.clock.set(at(f"{day} 10:00"))
        await s.tick()
    texts = [sent.card.fallback for sent in s.sender.directs("UNEW")]
    assert [t for t in texts if "since you joined" in t] == [
        t for t in texts if any(w in t for w in ("about a week", "about 4 weeks", "about 12 weeks"))
    ]
    assert len(texts) == 4  # the introduction and three check-ins
    s.clock.set(at("2025-08-25 10:00"))
    await s.tick()
    assert len(s.sender.directs("UNEW")) == 4
    assert "@cy: 0 of 3 newcomers now" in await s.command("UADMIN", "tend carriers list")


async def test_a_carriers_cap_is_respected_and_a_waiting_newcomer_is_paired_when_one_is_added(
    database: Database,
) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"), cap=1)
    await newcomer_joins(s, "UNEW", "noa")
    await newcomer_joins(s, "UNEW2", "eli")
    assert len(s.sender.directs("UCY")) == 1  # one newcomer: the cap
    assert s.sender.directs("UNEW2") == []
    listing = await s.command("UADMIN", "tend carriers list")
    assert "cy: 1 of 1 newcomers now" in listing
    assert "1 newcomer(s) paired (1 now), 1 waiting for a carrier" in listing

    await s.join("UDI", "di", "Europe/Paris")
    answer = await s.command("UADMIN", "tend carriers add <@UCY> <@UDI>")  # cy keeps her cap of 1
    assert "@cy and @di will welcome newcomers, each up to their own cap" in answer
    assert "1 newcomer(s) who were waiting now have a carrier" in answer
    [intro] = s.sender.directs("UNEW2")
    assert "@di is one of the people here" in intro.card.fallback


async def test_a_newcomer_left_waiting_for_weeks_counts_as_never_paired(database: Database) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"), cap=1)
    await newcomer_joins(s, "UNEW", "noa")
    await newcomer_joins(s, "UNEW2", "eli")  # cy is full: eli waits
    s.clock.set(at("2025-04-01 10:00"))  # four weeks on
    await s.tick()
    await s.join("UDI", "di", "Europe/Paris")
    answer = await s.command("UADMIN", "tend carriers add <@UDI>")
    assert "were waiting" not in answer  # too late to be welcomed as a newcomer
    assert s.sender.directs("UNEW2") == []
    listing = await s.command("UADMIN", "tend carriers list")
    assert "0 waiting for a carrier" in listing and "1 never paired" in listing


async def test_nobody_out_of_office_or_paused_is_given_a_newcomer(database: Database) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"), ("UDI", "di", "Europe/London"))
    assert "paused" in (await s.command("UCY", "tend pause until 2025-04-01")).lower()
    for n in range(3):
        await newcomer_joins(s, f"UNEW{n}", f"new{n}")
    listing = await s.command("UADMIN", "tend carriers list")
    assert "@cy: 0 of 3 newcomers now" in listing and "@di: 3 of 3 newcomers now" in listing


async def test_only_admins_name_carriers_and_see_coverage_which_never_shows_content(
    database: Database,
) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"))
    await s.join("UBO", "bo", "Europe/London")
    for line in ("tend carriers list", "tend carriers add <@UBO>", "tend carriers remove <@UCY>"):
        assert "Only a Tend admin can do that" in await s.command("UBO", line)
    await newcomer_joins(s, "UNEW", "noa")
    s.clock.set(at("2025-03-10 10:00"))
    await s.tick()
    [checkin] = s.sender.directs("UNEW")[1:]
    hand = checkin.card.buttons[1]
    s.clock.advance(timedelta(minutes=10))
    await s.click("UNEW", hand.action, hand.value, direct=True)
    listing = await s.command("UADMIN", "tend carriers list")
    assert "1 of 1 check-ins answered" in listing
    assert "noa" not in listing and "hand" not in listing.lower()  # totals only: no newcomer, no answer


async def test_mistakes_get_an_example(database: Database) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"))
    assert "Example: `/tend carriers add @sam cap 2`" in await s.command(
        "UADMIN", "tend carriers add <@UCY> cap lots"
    )
    assert "Example: `/tend carriers list`" in await s.command("UADMIN", "tend carriers hire <@UCY>")
    assert "Example: `/tend carriers add @sam`" in await s.command("UADMIN", "tend carriers add")
    assert "wasn't a culture carrier" in await s.command("UADMIN", "tend carriers remove <@UADMIN>")
    assert "won't be given new newcomers" in await s.command("UADMIN", "tend carriers remove <@UCY>")


async def test_export_shows_the_pairing_and_the_carrier_role_and_forget_me_removes_them(
    database: Database,
) -> None:
    s = await with_carriers(database, ("UCY", "cy", "Europe/London"))
    await newcomer_joins(s, "UNEW", "noa")
    mine = await s.command("UCY", "tend export-my-data")
    assert (
        "*Culture carriers: welcoming newcomers*\nYou are a culture carrier, up to 3 newcomers at a time."
        in mine
    )
    assert "Welcoming @noa since 2025-03-03: 0 of 0 check-ins answered" in mine
    assert '"role": "carrier"' in mine and '"with": "@noa"' in mine
    theirs = await s.command("UNEW", "tend export-my-data")
    assert "Welcomed by @cy since 2025-03-03" in theirs and '"role": "newcomer"' in theirs

    asked = await s.command("UCY", "tend forget-me")
    assert "newcomer pairings: 1" in asked and "culture carrier role" in asked
    await s.command("UCY", "tend forget-me confirm")
    assert "0 newcomer(s) paired" in await s.command("UADMIN", "tend carriers list")
    assert "No culture carriers yet" in await s.command("UADMIN", "tend carriers list")
    assert await pairing_of(database, "UNEW") is None
    assert "Welcomed by" not in await s.command("UNEW", "tend export-my-data")


# --- through the real adapters ----------------------------------------------------------------------------

slack = test_slack.slack  # Tend's server with Bolt, signed requests, a fake Web API
teams = test_msteams.teams  # the real CloudAdapter against a fake Bot Connector


async def test_slack_team_join_pairs_the_newcomer_and_each_is_introduced_in_their_working_hours(
    slack: test_slack.Slack,
) -> None:
    slack.fake.set_user("U2", "bo", "Europe/London")
    await slack.command("/tend", "carriers add <@U2|bo>")  # U1, Slack's owner, is a Tend admin
    await slack.settle()
    await slack.engine.delivery.deliver_due()
    await slack.fake.wait_for(test_slack.posts_in("DU2", "You're a culture carrier"))
    slack.clock.advance(timedelta(seconds=2))  # past the outbox's pacing to Bo

    # Monday 10:00 UTC: 10:00 in London, 19:00 in Tokyo.
    joined = user_event("team_join", "U9", "Dee", "Asia/Tokyo")
    assert (await post_event(slack, joined)).status == 200
    await slack.settle()
    await slack.engine.delivery.deliver_due()
    [to_bo] = await slack.fake.wait_for(test_slack.posts_in("DU2", "A newcomer to welcome"))
    assert "<@U9> just joined" in json.dumps(to_bo.args["blocks"])  # a real mention
    assert test_slack.posts_in("DU9")(slack.fake.calls) == []  # evening in Tokyo: it waits

    slack.clock.set(at("2025-03-04 00:30"))  # 09:30 on Tuesday in Tokyo
    await slack.engine.delivery.deliver_due()
    [to_dee] = await slack.fake.wait_for(test_slack.posts_in("DU9", "Meet your culture carrier"))
    assert "<@U2> is one of the people here" in json.dumps(to_dee.args["blocks"])
    test_slack.assert_valid_sent([to_bo, to_dee])

    assert (await post_event(slack, joined)).status == 200  # Slack sends it again: no second pairing
    await slack.settle()
    slack.clock.advance(timedelta(hours=1))
    await slack.engine.delivery.deliver_due()
    assert len(test_slack.posts_in("DU2", "A newcomer to welcome")(slack.fake.calls)) == 1


async def test_teams_members_added_pairs_the_newcomer_and_waits_for_their_time_zone(
    teams: test_msteams.Teams,
) -> None:
    await test_msteams.installed_by(teams)  # Ana installs Tend: its admin
    await teams.say("<at>Tend</at> tend help", mentions=(test_msteams.BOT,))
    await teams.say(test_msteams.BO_WRITES, user=test_msteams.BO, mentions=(test_msteams.BOT,))  # Bo's zone
    await teams.say(
        "<at>Tend</at> tend carriers add <at>Bo</at>", mentions=(test_msteams.BOT, test_msteams.BO)
    )
    bo_chat = f"a:personal-{test_msteams.BO['id']}"
    await teams.connector.wait_for(test_msteams.sends_to(bo_chat, "You're a culture carrier"))
    teams.clock.advance(timedelta(seconds=2))

    dee = {"id": "29:dee", "name": "Dee", "aadObjectId": "aad-dee"}
    added = teams.activity(type="conversationUpdate", membersAdded=[dee])
    added["channelData"].update(
        {"team": {"id": test_msteams.CHANNEL, "name": "Team"}, "eventType": "teamMemberAdded"}
    )
    assert (await teams.post(added)).status == 200
    await teams.adapter.drain()
    await teams.engine.delivery.deliver_due()
    [to_bo] = await teams.connector.wait_for(test_msteams.sends_to(bo_chat, "A newcomer to welcome"))
    assert "Dee" in json.dumps(to_bo.body)
    dee_chat = f"a:personal-{dee['id']}"
    # Teams never said which zone Dee is in: her introduction waits rather than go at a guessed hour.
    assert test_msteams.sends_to(dee_chat)(teams.connector.calls) == []

    await teams.say(test_msteams.BO_WRITES, user=dee, mentions=(test_msteams.BOT,))  # her zone arrives
    teams.clock.advance(timedelta(seconds=2))
    await teams.engine.delivery.deliver_due()
    [to_dee] = await teams.connector.wait_for(test_msteams.sends_to(dee_chat, "Meet your culture carrier"))
    assert "Bo" in json.dumps(to_dee.body)
    test_msteams.assert_valid_sent([to_bo, to_dee])


async def test_on_the_console_a_new_name_is_a_newcomer_welcomed_by_a_carrier(database: Database) -> None:
    screen: list[str] = []
    clock = FixedClock(at("2026-12-07 10:00"))  # Monday: 10:00 in London, 11:00 in Berlin
    engines: list[Engine] = []

    async def on_time_moved() -> None:
        await engines[0].delivery.deliver_due()

    def make_engine(sender: object) -> Engine:
        engines.append(Engine(database, clock, {"console": sender}))  # type: ignore[dict-item]
        return engines[0]

    session = build_console(make_engine, ShiftedClock(clock), screen.append, on_time_moved)
    await session.start()
    await session.handle_line("/tend carriers add @ed")  # ana, the console's admin
    await session.handle_line("/wait 10m")
    screen.clear()
    await session.handle_line("/as zoe")
    await session.handle_line("/wait 10m")
    out = "\n".join(screen)
    assert "zoe joined the workspace" in out
    assert "[private message to @ed]" in out and "@zoe just joined, and you're their culture carrier" in out
    # Tend has not learned zoe's time zone: her introduction waits until it does.
    assert "[private message to @zoe]" not in out
    await session.handle_line("/tend settings tz Europe/Paris")
    await session.handle_line("/wait 10m")
    out = "\n".join(screen)
    assert "[private message to @zoe]" in out and "@ed is one of the people here" in out
