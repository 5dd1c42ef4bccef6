"""Compassion ambassadors: the network, its monthly digest (totals, suppressed), its space."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from bot.events import MemberSeen
from practices.ambassadors import DigestFigures, digest_card
from practices.messages import plain
from storage.db import Database
from tests.helpers import at
from tests.scenario import Scenario

MONDAY = at("2025-03-03 09:00")


def text(card: object) -> str:
    """Everything a card says, small print included, as plain text."""
    blocks = getattr(card, "blocks", ())
    return "\n".join([getattr(card, "title", "")] + [plain(b.text) for b in blocks if hasattr(b, "text")])


def figures(**changes: object) -> DigestFigures:
    base = {
        "people": 40,
        "requested": 6,
        "unanswered": 2,
        "requested_before": 3,
        "unanswered_before": 1,
        "quiet_teams": ("platform",),
        "waiting": 0,
    }
    return DigestFigures(**{**base, **changes})  # type: ignore[arg-type]


def test_the_digest_shows_totals_only_above_the_minimum_group_size() -> None:
    shown = text(digest_card(figures(), "2025-04", 5, "C9"))
    assert "Support requests left unanswered: 2 of 6 in the last 4 weeks." in shown
    assert "3" not in shown.split("weeks.")[0].split("of 6")[1]  # the window before had 3: not shown
    assert "Teams with no shout-out for 4 weeks: platform." in shown
    assert "Coordinate with the other ambassadors in #C9." in shown
    assert "nothing about a team or group smaller than 5 people" in shown

    few = text(digest_card(figures(requested=4, unanswered=4), "2025-04", 5, None))
    assert "fewer than 5 in the last 4 weeks, so no figure is shown" in few
    assert "4 of" not in few
    assert "No shared space yet" in few

    small = text(digest_card(figures(people=4), "2025-04", 5, None))
    assert "fewer than 5 people Tend knows, so no figures are shown" in small
    assert "platform" not in small and "of 6" not in small


def test_pods_that_did_not_meet_are_shown_only_from_the_minimum_number_of_pods() -> None:
    assert "Compassion pods that did not meet: 2 of 6 formed in the last 4 weeks." in text(
        digest_card(figures(pods_formed=6, pods_met=4), "m", 5, None)
    )
    few = text(digest_card(figures(pods_formed=3, pods_met=1), "m", 5, None))
    assert "fewer than 5 formed in the last 4 weeks, so no figure is shown" in few and "2 of 3" not in few


def test_newcomers_waiting_are_counted_only_from_the_minimum() -> None:
    assert "Newcomers waiting for a culture carrier: 6." in text(
        digest_card(figures(waiting=6), "m", 5, None)
    )
    some = text(digest_card(figures(waiting=2), "m", 5, None))
    assert (
        "Some newcomers are waiting for a culture carrier." in some
        and "2" not in some.split("carrier.")[0][-5:]
    )
    assert "welcome a newcomer: you're eligible as a culture carrier" in some


# --- the flow, on each database -------------------------------------------------------------------------


async def organisation(database: Database) -> Scenario:
    """Ana (admin); alpha has 5 people and no shout-outs, beta 4 and none, gamma 5 and one shout-out."""
    s = Scenario(database, MONDAY)
    await s.join("UADMIN", "ana", "Europe/London", admin=True)
    teams = {"alpha": 5, "beta": 4, "gamma": 5}
    for team, size in teams.items():
        people = [f"U{team[:2].upper()}{n}" for n in range(size)]
        for user in people:
            await s.join(user, user.lower(), "Europe/London")
        await s.command("UADMIN", f"tend team create {team} <#C{team}>")
        await s.command("UADMIN", f"tend team add {team} " + " ".join(f"<@{user}>" for user in people))
    thanked = await s.command("UGA0", "kudos <@UGA1> thanks for pairing on the release", place="Cgamma")
    assert "will also get a private note" in thanked
    return s


def digests(s: Scenario, user: str) -> list[str]:
    return [text(sent.card) for sent in s.sender.directs(user) if "ambassadors' digest" in sent.card.title]


async def test_a_monthly_digest_reaches_each_ambassador_privately_once_in_their_working_hours(
    database: Database,
) -> None:
    s = await organisation(database)
    await s.join("UAMB", "kim", "America/New_York")
    assert "will get the monthly ambassadors' digest" in await s.command(
        "UADMIN", "tend ambassadors add <@UAMB>"
    )
    assert "shared space is now" in await s.command(
        "UADMIN", "tend ambassadors space here", place="Cambassadors"
    )
    await s.tick()
    assert digests(s, "UAMB") == []  # 04:00 in New York: March's digest waits for her morning
    await s.run_until(at("2025-03-03 15:00"), step=timedelta(hours=1))
    first = s.sender.directs("UAMB")
    assert len(digests(s, "UAMB")) == 1  # March's, when she became one

    s.clock.set(at("2025-04-01 00:00"))  # a new month: 20:00 in New York, after hours
    await s.tick()
    assert len(digests(s, "UAMB")) == 1
    await s.run_until(at("2025-04-01 14:00"), step=timedelta(hours=1))
    [april] = [
        sent for sent in s.sender.directs("UAMB") if sent.card.title == "Your ambassadors' digest for 2025-04"
    ]
    assert april.at is not None
    local = april.at.astimezone(ZoneInfo("America/New_York"))
    assert 9 <= local.hour < 17
    assert len(s.sender.directs("UAMB")) == len(first) + 1  # once, however many ticks

    said = text(april.card)
    assert "Teams with no shout-out for 4 weeks: alpha." in said  # 5 people, no shout-out
    assert "beta" not in said  # 4 people: never named, whatever it did
    assert "gamma" not in said  # thanked someone
    assert "Coordinate with the other ambassadors in #Cambassadors." in said
    for user in ("UAL0", "UBE0", "UGA0", "ual0", "ube0", "uga1", "kim", "ana"):
        assert user not in said  # no person is named


async def test_only_admins_name_ambassadors_and_ambassadors_see_their_network(database: Database) -> None:
    s = Scenario(database, MONDAY)
    await s.join("UADMIN", "ana", "Europe/London", admin=True)
    await s.join("UKIM", "kim", "Europe/London")
    await s.join("UBO", "bo", "Europe/London")
    assert "Only a Tend admin can do that" in await s.command("UBO", "tend ambassadors add <@UBO>")
    assert "Only Tend admins and ambassadors" in await s.command("UBO", "tend ambassadors list")
    await s.command("UADMIN", "tend ambassadors add <@UKIM>")
    [welcome] = s.sender.directs("UKIM")
    assert welcome.card.title == "You're a compassion ambassador"
    listing = await s.command("UKIM", "tend ambassadors list")
    assert "Ambassadors: @kim." in listing and "No shared space yet" in listing
    assert "Example: `/tend ambassadors space here`" in await s.command("UADMIN", "tend ambassadors space")
    assert "won't get the ambassadors' digest" in await s.command("UADMIN", "tend ambassadors remove <@UKIM>")
    assert "wasn't an ambassador" in await s.command("UADMIN", "tend ambassadors remove <@UKIM>")


async def test_an_ambassador_is_eligible_to_welcome_a_newcomer(database: Database) -> None:
    s = Scenario(database, MONDAY)
    await s.join("UADMIN", "ana", "Europe/London", admin=True)
    await s.join("UKIM", "kim", "Europe/London")
    await s.command("UADMIN", "tend ambassadors add <@UKIM>")
    s.clock.advance(timedelta(minutes=1))
    s.names["UNEW"] = "noa"
    origin = s.origin("UNEW", None, tz="Europe/Berlin")
    await s._handle(MemberSeen(origin, display_name="noa", time_zone="Europe/Berlin", joined=True))
    [intro] = s.sender.directs("UNEW")
    assert "@kim is one of the people here who help newcomers" in intro.card.fallback
    assert "Compassion ambassadors are eligible too (1)" in await s.command("UADMIN", "tend carriers list")


async def test_export_shows_the_ambassador_role_and_forget_me_removes_it(database: Database) -> None:
    s = Scenario(database, MONDAY)
    await s.join("UADMIN", "ana", "Europe/London", admin=True)
    await s.join("UKIM", "kim", "Europe/London")
    await s.command("UADMIN", "tend ambassadors add <@UKIM>")
    await s.tick()  # March's digest
    mine = await s.command("UKIM", "tend export-my-data")
    assert "*Compassion ambassadors*\nYou are a compassion ambassador." in mine
    assert "Monthly digests sent to you: 2025-03" in mine
    assert '"ambassador": true' in mine
    asked = await s.command("UKIM", "tend forget-me")
    assert "compassion ambassador role" in asked and "ambassador digests sent: 1" in asked
    await s.command("UKIM", "tend forget-me confirm")
    assert "No ambassadors yet" in await s.command("UADMIN", "tend ambassadors list")
